"""Errors a user of the dataset tools can cause; each message names the thing and the fix."""

from __future__ import annotations

from ag_eval.errors import AgnosticsError


class DatasetError(AgnosticsError):
    """A dataset folder, row or name is unusable."""


class SourceError(DatasetError):
    """A source dataset (local file or Hub id) cannot be read or has the wrong layout."""


class LLMError(DatasetError):
    """The OpenAI-compatible endpoint is misconfigured or keeps failing."""


class PublishError(DatasetError):
    """A dataset folder cannot be uploaded to the Hub."""
