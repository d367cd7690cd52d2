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
    """``--executor``, ``--ray-address``, ``--no-dedupe``, ``--cache-dir``, ``--verifier-url`` and
    ``--verifier-token-file``: where and how jobs are judged."""
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
        click.option("--verifier-url", default=None, metavar="URL",
                     help="Judge on a verifier service (`agnostics serve`) at this base URL instead of here, "
                          "e.g. http://verifier.internal:8080 (default: $AGNOSTICS_VERIFIER_URL); --workers is "
                          "then the jobs kept in flight there."),
        click.option("--verifier-token-file", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="File holding the verifier service's token (default: $AGNOSTICS_VERIFIER_TOKEN)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command
