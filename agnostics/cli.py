"""The ``agnostics`` command. Thin: parse options, call a library function, print.

Each area owns its command group in its own module (``cli_*.py``); library exceptions
become one clear ``click.ClickException`` at this boundary.
"""

from __future__ import annotations

import logging

import click

from . import __version__
from .cli_common import AgnosticsGroup


@click.group(cls=AgnosticsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="agnostics")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Agnostics: post-train and evaluate code LLMs in any programming language."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _register() -> None:
    from .cli_verify import languages, verify, verify_batch

    main.add_command(languages)
    main.add_command(verify)
    main.add_command(verify_batch)
    # Areas added by later modules register here when present.
    import importlib

    for module, attr in (
        ("agnostics.cli_datasets", "datasets_group"),
        ("agnostics.cli_metric", "metric_group"),
        ("agnostics.cli_eval", "eval_command"),
        ("agnostics.cli_eval", "report_command"),
        ("agnostics.cli_train", "train_command"),
        ("agnostics.cli_demo", "demo_command"),
        ("agnostics.cli_serve", "serve_command"),
    ):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        main.add_command(getattr(mod, attr))


_register()
