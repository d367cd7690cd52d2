"""Generation backends: vLLM (offline engine), transformers, and any OpenAI-compatible endpoint.

Each takes a list of :class:`GenRequest` and yields ``(request_index, completions)`` as
requests finish, so verification can start while the rest is still generating.
"""

from __future__ import annotations

from ..config import EvalConfig
from ..errors import EvalError
from .base import Backend, GenRequest, SamplingSpec, render_chat

__all__ = ["Backend", "GenRequest", "SamplingSpec", "render_chat", "get_backend"]


def get_backend(cfg: EvalConfig) -> Backend:
    """The backend named by ``cfg.backend``, started (model loaded, client ready)."""
    if cfg.backend == "transformers":
        from .hf_backend import TransformersBackend

        return TransformersBackend.from_config(cfg)
    if cfg.backend == "vllm":
        from .vllm_backend import VLLMBackend

        return VLLMBackend.from_config(cfg)
    if cfg.backend == "openai":
        from .openai_backend import OpenAIBackend

        return OpenAIBackend.from_config(cfg)
    raise EvalError(f"backend {cfg.backend!r} is unknown; use vllm, transformers or openai.")
