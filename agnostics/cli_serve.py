"""`agnostics serve`: the verifier as an HTTP service (SandboxFusion's /run_code and /verify)."""

from __future__ import annotations

import ipaddress
import logging
import os
import stat
from pathlib import Path

import click


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name other than localhost may resolve to anything
        return False


def _read_token(path: str) -> str:
    file = Path(path)
    token = file.read_text(encoding="utf-8").strip()
    if not token:
        raise click.ClickException(f"the token file {path} is empty; write a long random token to it "
                                   f"(e.g. `openssl rand -hex 32 > {path}`).")
    if file.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH):
        click.echo(f"warning: {path} is readable by other users; `chmod 600 {path}` keeps the token private.", err=True)
    return token


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Programs judged at once (default: all cores).")
@click.option("--token-file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="File holding the bearer token every request but /health must send; required off loopback.")
@click.option("--max-body-mb", type=click.FloatRange(min=0, min_open=True), default=64, show_default=True,
              help="Largest request body; larger ones get 413.")
@click.option("--max-inflight", type=click.IntRange(min=1), default=None,
              help="Jobs accepted and not yet judged, beyond which requests get 429 (default: 64 x workers).")
@click.option("--shutdown-timeout", type=click.FloatRange(min=0), default=None,
              help="On SIGTERM/SIGINT, seconds to wait for requests in flight (default: until they finish).")
@click.option("--access-log", is_flag=True, help="Log every request.")
def serve_command(host: str, port: int, workers: int | None, token_file: str | None, max_body_mb: float,
                  max_inflight: int | None, shutdown_timeout: float | None, access_log: bool) -> None:
    """Serve the verifier over HTTP: SandboxFusion's POST /run_code, POST /verify, /health, /metrics."""
    try:
        import uvicorn

        from .serve import ServeConfig, create_app
    except ModuleNotFoundError as exc:
        raise click.ClickException(f"`agnostics serve` needs {exc.name}; install it with "
                                   "`pip install 'agnostics[serve]'`.") from None
    token = _read_token(token_file) if token_file else None
    if token is None and not _is_loopback(host):
        raise click.ClickException(f"refusing to listen on {host} without a token: anyone who reaches it could run "
                                   "programs here; give --token-file FILE, or listen on 127.0.0.1.")
    workers = workers or len(os.sched_getaffinity(0))
    config = ServeConfig(workers=workers, max_inflight=max_inflight or 64 * workers,
                         max_body_bytes=int(max_body_mb * 2**20), token=token)
    logging.getLogger("agnostics.serve").setLevel(min(logging.INFO, logging.getLogger().level or logging.INFO))
    uvicorn.run(create_app(config), host=host, port=port, access_log=access_log, log_level="info",
                timeout_graceful_shutdown=shutdown_timeout, server_header=False)
