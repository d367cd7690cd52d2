"""`agnostics serve`: the verifier over HTTP, speaking SandboxFusion's ``/run_code`` and the
project's own job contract (``/verify``, ``/verify/stream``). See docs/serving.md."""

from .app import ServeConfig, create_app

__all__ = ["ServeConfig", "create_app"]
