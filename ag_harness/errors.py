"""Errors of the evaluation harness a user can cause; each names the problem and the fix."""

from __future__ import annotations

from ag_eval.errors import AgnosticsError


class EvalError(AgnosticsError):
    """An evaluation run is misconfigured (bad option, unusable output folder, unknown language)."""


class BackendError(EvalError):
    """A generation backend cannot start or keeps failing (missing package, bad endpoint)."""
