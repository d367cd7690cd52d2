#!/usr/bin/env bash
# One-shot set-up on a Debian/Ubuntu machine: system packages, a virtualenv with the
# package and its extras, and every language toolchain the runners name. Idempotent.
#   VENV=.venv EXTRAS=train,dev LANGUAGES="lua python" bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
EXTRAS="${EXTRAS:-train,dev}"
LANGUAGES="${LANGUAGES:-}"          # empty: every language with Debian packages
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"   # taken only when no torch is installed yet

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

apt_install() {
  # install only what is missing, so a warm machine pays nothing
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: apt-get install ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

if command -v apt-get >/dev/null 2>&1; then
  apt_install python3 python3-venv python3-dev gcc make
else
  echo "setup: apt-get not found; install python3 (>= 3.11), venv and the language toolchains yourself." >&2
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip >/dev/null
if [[ ",$EXTRAS," == *",train,"* ]] && ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  echo "setup: installing $TORCH_SPEC"
  $PIP install -q "$TORCH_SPEC"
fi
echo "setup: installing agnostics[$EXTRAS]"
$PIP install -q -e ".[$EXTRAS]"

if command -v apt-get >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  PKGS="$("$VENV/bin/agnostics" languages install --print-only $LANGUAGES)"
  # shellcheck disable=SC2086
  [ -n "$PKGS" ] && apt_install $PKGS
fi
echo "setup: done"
