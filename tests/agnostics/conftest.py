"""A real `agnostics serve` on a free loopback port, in a subprocess, for the tests of the HTTP service."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    token: str | None
    log: Path

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def post(self, path: str, timeout: float = 60, **kwargs) -> "httpx.Response":
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return httpx.post(self.url + path, headers=headers, timeout=timeout, **kwargs)

    def get(self, path: str, **kwargs) -> "httpx.Response":
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return httpx.get(self.url + path, headers=headers, timeout=30, **kwargs)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


def start_server(tmp: Path, *args: str, token: str | None = None, port: int | None = None) -> Server:
    port = port or free_port()
    argv = [sys.executable, "-m", "agnostics", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    if token:
        token_file = tmp / f"token-{port}"
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
        argv += ["--token-file", str(token_file)]
    log = tmp / f"serve-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    server = Server(proc, f"http://127.0.0.1:{port}", token, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"agnostics serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(server.url + "/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"agnostics serve did not answer /health within 60 s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    """Start servers for a module; every one is stopped at its end."""
    started: list[Server] = []

    def start(*args: str, token: str | None = None, port: int | None = None) -> Server:
        server = start_server(tmp_path_factory.mktemp("serve"), *args, token=token, port=port)
        started.append(server)
        return server

    yield start
    for server in started:
        try:
            server.stop()
        except subprocess.TimeoutExpired:
            server.stop(signal.SIGKILL)
