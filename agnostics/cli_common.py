"""Shared CLI plumbing: turn library errors into one clear message."""

from __future__ import annotations

import click

from ag_eval.errors import AgnosticsError


class AgnosticsGroup(click.Group):
    """A click group whose commands report :class:`AgnosticsError` as a one-line error."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AgnosticsError as exc:
            raise click.ClickException(str(exc)) from None
