"""Errors a user can cause. Each message names the thing and the fix."""

from __future__ import annotations


class AgnosticsError(Exception):
    """Base class for errors meant to be shown to a user as one clear sentence."""


class RunnerError(AgnosticsError):
    """A runner YAML file is malformed."""


class UnknownLanguageError(AgnosticsError):
    """No runner is registered under the requested name or alias."""


class ToolchainMissingError(AgnosticsError):
    """The language is known but its compiler or interpreter is not installed."""


class JobError(AgnosticsError):
    """A verification job is malformed (bad JSON, missing field, bad value)."""


class SandboxUnavailableError(AgnosticsError):
    """nsjail cannot start on this host."""
