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


def executor_options(command):
    """``--executor``, ``--ray-address``, ``--no-dedupe`` and ``--cache-dir``: where and how jobs are judged."""
    from ag_eval.executors.plan import EXECUTORS

    options = [
        click.option("--executor", type=click.Choice(list(EXECUTORS)), default="local", show_default=True,
                     help="Where programs run: local (threads, or verifier processes on many cores), threads, "
                          "processes, or ray (a Ray cluster)."),
        click.option("--ray-address", default=None,
                     help="With --executor ray: the cluster to join, e.g. auto or ray://HOST:10001 "
                          "(default: $RAY_ADDRESS, else a local Ray)."),
        click.option("--no-dedupe", is_flag=True,
                     help="Judge every copy of an identical program (default: judged once, the copies marked reused)."),
        click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
                     help="A folder where judgments are kept and reused by later runs (content-addressed)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command
