"""Errors a user of the training tools can cause; each message names the thing and the fix."""

from __future__ import annotations

from ag_eval.errors import AgnosticsError


class TrainError(AgnosticsError):
    """Training cannot start or go on (missing extra, bad model path, empty dataset)."""


class RecipeError(TrainError):
    """A recipe file or a command-line override is malformed."""


class RewardError(TrainError):
    """A reward function name or option is unknown or invalid."""
