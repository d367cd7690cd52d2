"""Languages as data: ``runners/<language>.yaml`` parsed into frozen dataclasses.

Every runner file is checked on load; an unknown or missing key is an error naming
the file, the key and the fix. Adding a language never needs a Python change.
"""

from __future__ import annotations

import functools
import glob
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import yaml

from .sandbox import JAIL_WORKDIR
from .errors import RunnerError, ToolchainMissingError, UnknownLanguageError
from .verdicts import Verdict

#: Environment variable naming extra folders of runner YAML files (``os.pathsep``-separated).
RUNNERS_PATH_ENV = "AGNOSTICS_RUNNERS_PATH"

_jinja = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


@dataclass(frozen=True)
class Limits:
    """Per-language adjustments to a job's limits."""

    time_factor: float = 1.0          # multiply the job's CPU time limit (slow runtimes)
    extra_time_s: float = 0.0         # add to it (start-up cost paid on every test)
    extra_memory_mb: int = 0          # add to the job's memory limit (runtime overhead)
    compile_time_s: float = 30.0      # CPU time for the compile step
    compile_memory_mb: int = 2048     # memory for the compile step
    processes: int = 64               # processes + threads inside the jail (cgroup pids)
    open_files: int = 256
    file_size_mb: int = 64
    stack_mb: int = 256
    rlimit_as: bool = True            # False for runtimes that reserve huge virtual memory


#: What a found entry point may be: it becomes part of a file name and of command lines.
_ENTRY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True)
class EntryPoint:
    """How to find a program's entry point (a class or module name the toolchain wants).

    ``patterns`` are regular expressions with one group, tried in order on the program's
    source; the first group matched is the entry, else ``default``. The entry is the
    template variable ``{{ entry }}`` of ``source_file``, ``compile``, ``run`` and ``zygote``.
    """

    patterns: tuple[str, ...]
    default: str
    source_template: str  # the runner's ``source_file`` before rendering

    def find(self, code: str) -> str:
        for pattern in self.patterns:
            match = re.search(pattern, code)
            if match and match.group(1) and _ENTRY_RE.fullmatch(match.group(1)):
                return match.group(1)
        return self.default


@dataclass(frozen=True)
class SelfTest:
    """A small program with its tests and the verdict it must get."""

    name: str
    code: str
    expect: Verdict
    tests: tuple[tuple[str, str], ...] = ()
    compare: str = "lines"
    time_limit_s: float = 2.0


@dataclass(frozen=True)
class Runner:
    """How to compile and run programs of one language inside the sandbox."""

    name: str
    display_name: str
    source_file: str
    run: str
    version: str
    executables: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    fence_tags: tuple[str, ...] = ()
    compile: str | None = None
    zygote: str | None = None  # a pre-started runtime that forks each test (see ag_eval/supervisor/zygote.c)
    packages: tuple[str, ...] = ()
    prompt_hint: str = ""
    env: tuple[tuple[str, str], ...] = ()
    mounts: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    selftests: tuple[SelfTest, ...] = ()
    entry_point: EntryPoint | None = None
    entry: str = ""  # the entry point the commands are rendered for (the default until for_program)
    path: str = ""

    # ---- templating -------------------------------------------------------------------
    def for_program(self, code: str) -> "Runner":
        """This runner with ``source_file`` and commands named after the program's entry point
        (itself when the runner has no ``entry_point``)."""
        if self.entry_point is None:
            return self
        entry = self.entry_point.find(code)
        return self if entry == self.entry else _with_entry(self, entry)

    def compile_argv(self) -> list[str] | None:
        return list(_argv(self.compile, self.source_file, self.entry)) if self.compile else None

    def run_argv(self) -> list[str]:
        return list(_argv(self.run, self.source_file, self.entry))

    def zygote_argv(self) -> list[str] | None:
        return list(_argv(self.zygote, self.source_file, self.entry)) if self.zygote else None

    @property
    def compiled(self) -> bool:
        return self.compile is not None

    # ---- toolchain ----------------------------------------------------------------------
    def missing_executables(self) -> list[str]:
        return [exe for exe in self.executables if _which(exe) is None]

    @property
    def installed(self) -> bool:
        return not self.missing_executables()

    def require_installed(self) -> None:
        missing = self.missing_executables()
        if missing:
            pkgs = " ".join(self.packages) or "its toolchain"
            raise ToolchainMissingError(
                f"{self.display_name} toolchain not found ({', '.join(missing)} missing); "
                f"install it with `apt-get install {pkgs}` (or `agnostics languages install {self.name}`)."
            )

    def detect_version(self) -> str | None:
        if not self.installed:
            return None
        try:
            out = subprocess.run(shlex.split(self.version), capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        text = (out.stdout or out.stderr).strip()
        return text.splitlines()[0].strip() if text else None

    def host_mounts(self) -> list[str]:
        """Read-only mounts this language needs beyond the sandbox's base set (existing ones only;
        shell-style globs such as ``/opt/julia-*`` are expanded)."""
        found: list[str] = []
        for m in self.mounts:
            paths = sorted(glob.glob(m)) if glob.has_magic(m) else [m]
            found += [p for p in paths if os.path.exists(p) and p not in found]
        return found


def _context(source_file: str, entry: str = "") -> dict[str, str]:
    context = {"source": source_file, "stem": Path(source_file).stem, "workdir": JAIL_WORKDIR,
               "binary": f"{JAIL_WORKDIR}/main", "zygote_lib": "/.agnostics/libagzygote.so"}
    if entry:  # only runners with an entry_point may use {{ entry }}
        context["entry"] = entry
    return context


@functools.lru_cache(maxsize=256)
def _argv(template: str, source_file: str, entry: str = "") -> tuple[str, ...]:
    """A command template rendered for the jail (rendered once: verifying calls it per program)."""
    return tuple(_resolve(shlex.split(_jinja.from_string(template).render(**_context(source_file, entry)))))


@functools.lru_cache(maxsize=256)
def _with_entry(runner: Runner, entry: str) -> Runner:
    source_file = _jinja.from_string(runner.entry_point.source_template).render(entry=entry)
    return replace(runner, source_file=source_file, entry=entry)


def _resolve(argv: list[str]) -> list[str]:
    """nsjail executes without a PATH search: make the program an absolute path."""
    if argv and not argv[0].startswith("/"):
        found = _which(argv[0])
        if found:
            argv = [found, *argv[1:]]
    return argv


@functools.lru_cache(maxsize=None)
def _which(exe: str) -> str | None:
    if os.path.isabs(exe):
        return exe if os.access(exe, os.X_OK) else None
    return shutil.which(exe, path=os.environ.get("PATH", "") + os.pathsep + "/usr/local/bin:/usr/bin:/bin")


# ---- parsing -----------------------------------------------------------------------------
_REQUIRED = ("name", "source_file", "run", "version", "executables")
_TOP_KEYS = {f.name for f in fields(Runner)} - {"path", "selftests", "entry"} | {"selftest"}
_LIMIT_KEYS = {f.name for f in fields(Limits)}
_SELFTEST_KEYS = {"name", "code", "expect", "tests", "compare", "time_limit_s"}
_ENTRY_KEYS = {"pattern", "default"}


def _parse_entry_point(data: dict, where: str) -> EntryPoint | None:
    raw = data.get("entry_point")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise RunnerError(f"{where}: 'entry_point' must be a mapping with 'pattern' and 'default'.")
    bad = set(raw) - _ENTRY_KEYS
    if bad:
        raise RunnerError(f"{where}: unknown key 'entry_point.{sorted(bad)[0]}'; valid keys are "
                          f"{', '.join(sorted(_ENTRY_KEYS))}.")
    patterns = _as_tuple(raw.get("pattern"), "entry_point.pattern", where)
    if not patterns:
        raise RunnerError(f"{where}: 'entry_point.pattern' is missing; give a regular expression "
                          "(or a list of them) with one group that captures the entry point's name.")
    for pattern in patterns:
        try:
            groups = re.compile(pattern).groups
        except re.error as exc:
            raise RunnerError(f"{where}: entry_point pattern {pattern!r} is not a regular expression ({exc}).") from None
        if groups != 1:
            raise RunnerError(f"{where}: entry_point pattern {pattern!r} has {groups} groups; "
                              "it needs exactly one, capturing the name.")
    default = raw.get("default")
    if not isinstance(default, str) or not _ENTRY_RE.fullmatch(default):
        raise RunnerError(f"{where}: 'entry_point.default' must be a name of letters, digits and _ "
                          f"(got {default!r}); it is used when no pattern matches.")
    uses = [key for key in ("source_file", "compile", "run", "zygote")
            if isinstance(data.get(key), str) and re.search(r"\{\{-?\s*entry\b", data[key])]
    if not uses:
        raise RunnerError(f"{where}: 'entry_point' is set but no template uses {{{{ entry }}}}; "
                          "use it in source_file, compile or run, or remove entry_point.")
    return EntryPoint(patterns=patterns, default=default, source_template=data["source_file"])


def _as_tuple(value: Any, key: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise RunnerError(f"{where}: '{key}' must be a string or a list of strings.")


def parse_runner(data: Any, where: str) -> Runner:
    """Validate one runner mapping (from YAML) and build its :class:`Runner`."""
    if not isinstance(data, dict):
        raise RunnerError(f"{where}: a runner file must be a YAML mapping (name, source_file, run, ...).")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise RunnerError(f"{where}: unknown key {sorted(unknown)[0]!r}; valid keys are {', '.join(sorted(_TOP_KEYS))}.")
    for key in _REQUIRED:
        if not data.get(key):
            raise RunnerError(f"{where}: required key {key!r} is missing or empty.")
    for key in ("name", "source_file", "run", "version"):
        if not isinstance(data[key], str):
            raise RunnerError(f"{where}: {key!r} must be a string.")
    if data.get("compile") is not None and not isinstance(data["compile"], str):
        raise RunnerError(f"{where}: 'compile' must be a command string (or absent for interpreted languages).")
    if data.get("zygote") is not None and not isinstance(data["zygote"], str):
        raise RunnerError(f"{where}: 'zygote' must be a command string (or absent).")
    entry_point = _parse_entry_point(data, where)
    entry = entry_point.default if entry_point else ""
    try:
        source_file = _jinja.from_string(data["source_file"]).render(**({"entry": entry} if entry else {}))
    except jinja2.TemplateError as exc:
        raise RunnerError(f"{where}: the 'source_file' template does not render ({exc}); it may use "
                          "{{ entry }} only, and only with an entry_point.") from None
    for key in ("run", "compile", "zygote"):
        if data.get(key):
            try:
                _jinja.from_string(data[key]).render(**_context(source_file, entry))
            except jinja2.TemplateError as exc:
                raise RunnerError(f"{where}: the {key!r} template does not render ({exc}); "
                                  "it may use {{ source }}, {{ stem }}, {{ workdir }} and {{ binary }} "
                                  "(and {{ entry }} with an entry_point).") from None
    raw_limits = data.get("limits") or {}
    if not isinstance(raw_limits, dict):
        raise RunnerError(f"{where}: 'limits' must be a mapping.")
    bad = set(raw_limits) - _LIMIT_KEYS
    if bad:
        raise RunnerError(f"{where}: unknown key 'limits.{sorted(bad)[0]}'; valid keys are {', '.join(sorted(_LIMIT_KEYS))}.")
    try:
        limits = Limits(**{k: type(getattr(Limits, k))(v) for k, v in raw_limits.items()})
    except (TypeError, ValueError) as exc:
        raise RunnerError(f"{where}: bad value in 'limits' ({exc}).") from None
    env = data.get("env") or {}
    if not isinstance(env, dict):
        raise RunnerError(f"{where}: 'env' must be a mapping of variable to value.")
    selftests = []
    for i, st in enumerate(data.get("selftest") or []):
        swhere = f"{where}: selftest[{i}]"
        if not isinstance(st, dict):
            raise RunnerError(f"{swhere} must be a mapping with name, code, expect and tests.")
        bad = set(st) - _SELFTEST_KEYS
        if bad:
            raise RunnerError(f"{swhere}: unknown key {sorted(bad)[0]!r}; valid keys are {', '.join(sorted(_SELFTEST_KEYS))}.")
        try:
            expect = Verdict(st.get("expect", "pass"))
        except ValueError:
            raise RunnerError(f"{swhere}: expect={st.get('expect')!r} is not a verdict.") from None
        tests = tuple((str(t.get("input", "")), str(t.get("output", ""))) for t in st.get("tests") or [{"input": "", "output": ""}])
        selftests.append(SelfTest(
            name=str(st.get("name", f"case{i}")), code=str(st.get("code", "")), expect=expect, tests=tests,
            compare=str(st.get("compare", "lines")), time_limit_s=float(st.get("time_limit_s", 2.0)),
        ))
    name = data["name"]
    return Runner(
        name=name,
        display_name=str(data.get("display_name") or name),
        source_file=source_file,
        run=data["run"],
        version=data["version"],
        executables=_as_tuple(data["executables"], "executables", where),
        aliases=_as_tuple(data.get("aliases"), "aliases", where),
        fence_tags=_as_tuple(data.get("fence_tags"), "fence_tags", where) or (name,),
        compile=data.get("compile"),
        zygote=data.get("zygote"),
        packages=_as_tuple(data.get("packages"), "packages", where),
        prompt_hint=str(data.get("prompt_hint") or "").strip(),
        env=tuple((str(k), str(v)) for k, v in env.items()),
        mounts=_as_tuple(data.get("mounts"), "mounts", where),
        limits=limits,
        selftests=tuple(selftests),
        entry_point=entry_point,
        entry=entry,
        path=where,
    )


def load_runner_file(path: str | os.PathLike) -> Runner:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RunnerError(f"{path}: not valid YAML ({exc}); fix the file's syntax.") from None
    runner = parse_runner(data, str(path))
    if runner.name != path.stem:
        raise RunnerError(f"{path}: name {runner.name!r} must match the file name {path.stem!r}.")
    return runner


def default_runner_dirs() -> list[Path]:
    """Shipped runners (installed package data, or the repository's ``runners/``) plus $AGNOSTICS_RUNNERS_PATH."""
    dirs: list[Path] = []
    try:
        shipped = Path(str(resources.files("agnostics.runners")))
        if shipped.is_dir():
            dirs.append(shipped)
    except ModuleNotFoundError:
        pass
    repo = Path(__file__).resolve().parent.parent / "runners"
    if repo.is_dir() and all(repo.resolve() != d.resolve() for d in dirs):
        dirs.append(repo)
    for extra in filter(None, os.environ.get(RUNNERS_PATH_ENV, "").split(os.pathsep)):
        dirs.append(Path(extra))
    return dirs


class RunnerRegistry:
    """All runners found in a list of folders, addressable by name or alias."""

    def __init__(self, runners: list[Runner]):
        self._by_name: dict[str, Runner] = {}
        self._by_alias: dict[str, Runner] = {}
        for r in runners:
            self._by_name[r.name] = r  # later folders override earlier ones
        for r in self._by_name.values():
            for key in (r.name, *r.aliases, *r.fence_tags):
                self._by_alias.setdefault(key.lower(), r)
        for r in self._by_name.values():
            self._by_alias[r.name.lower()] = r

    @classmethod
    def from_dirs(cls, dirs: list[Path] | None = None) -> "RunnerRegistry":
        runners = []
        for d in dirs if dirs is not None else default_runner_dirs():
            for path in sorted(Path(d).glob("*.yaml")):
                runners.append(load_runner_file(path))
        return cls(runners)

    def get(self, language: str) -> Runner:
        runner = self._by_alias.get(str(language).strip().lower())
        if runner is None:
            raise UnknownLanguageError(
                f"unknown language {language!r}; known languages: {', '.join(self.names())} "
                f"(add one with a runners/<name>.yaml file)."
            )
        return runner

    def __contains__(self, language: str) -> bool:
        return str(language).strip().lower() in self._by_alias

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def __iter__(self):
        return iter(sorted(self._by_name.values(), key=lambda r: r.name))

    def __len__(self) -> int:
        return len(self._by_name)


@functools.lru_cache(maxsize=1)
def _default_registry() -> RunnerRegistry:
    return RunnerRegistry.from_dirs()


def get_registry(reload: bool = False) -> RunnerRegistry:
    if reload:
        _default_registry.cache_clear()
    return _default_registry()


def get_runner(language: str) -> Runner:
    return get_registry().get(language)
