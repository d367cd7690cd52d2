"""vLLM backend: the offline ``LLM`` engine, one replica per group of GPUs.

Chat prompts are rendered with the model's chat template and passed as token ids
(``{"prompt_token_ids": ...}``), raw prompts as text; each request gets its own
``SamplingParams(n=..., temperature=..., top_p=..., max_tokens=..., stop=..., seed=...)``, so
samples do not depend on batching. Requests go to the engine in chunks, so finished
chunks are verified while later ones generate.

Engines run in replica processes (:mod:`.vllm_replicas`), one per ``T`` GPUs (tensor parallel
size ``T``): with ``G`` visible GPUs, ``G // T`` engines by default (data parallel), each seeing
its own GPUs through ``CUDA_VISIBLE_DEVICES`` and dealt chunks as it finishes the last. The
engines are started on the first ``generate`` and kept until :meth:`VLLMBackend.close`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from ..config import EvalConfig
from ..errors import BackendError
from .base import GenRequest, SamplingSpec

logger = logging.getLogger(__name__)

from .vllm_engine import CHUNK, VLLMEngine, _require_vllm, visible_gpus  # noqa: F401  (VLLMEngine for callers)


class VLLMBackend:
    name = "vllm"

    def __init__(self, engine_args: dict[str, Any], *, data_parallel_size: int = 1,
                 template_kwargs: dict[str, Any] | None = None, chunk_size: int = CHUNK):
        _require_vllm()
        self.engine_args = engine_args
        self.template_kwargs = template_kwargs or {}
        self.chunk_size = chunk_size
        self.dp = data_parallel_size
        self._pool = None

    @classmethod
    def from_config(cls, cfg: EvalConfig) -> "VLLMBackend":
        _require_vllm()
        tp = cfg.tensor_parallel_size
        gpus = visible_gpus()
        dp = cfg.data_parallel_size or max(1, len(gpus) // tp)
        if dp * tp > max(1, len(gpus)):
            raise BackendError(f"data parallel {dp} x tensor parallel {tp} needs {dp * tp} GPUs but {len(gpus)} are "
                               "visible; lower --data-parallel-size or --tensor-parallel-size.")
        args: dict[str, Any] = {"model": cfg.model, "tensor_parallel_size": tp, "seed": cfg.seed, "dtype": cfg.dtype,
                                "gpu_memory_utilization": cfg.gpu_memory_utilization}
        if cfg.max_model_len:
            args["max_model_len"] = cfg.max_model_len
        return cls(args, data_parallel_size=dp, template_kwargs=cfg.chat_template_kwargs)

    def describe(self) -> dict[str, Any]:
        import vllm

        return {"backend": self.name, "vllm": vllm.__version__, "data_parallel_size": self.dp,
                "engine_args": self.engine_args}

    def gpu_groups(self) -> list[str | None]:
        """The ``CUDA_VISIBLE_DEVICES`` of each engine (None: none found here, the engine looks for itself)."""
        gpus = visible_gpus()
        tp = self.engine_args.get("tensor_parallel_size", 1)
        if not gpus and self.dp == 1:
            return [None]
        if len(gpus) < self.dp * tp:
            raise BackendError(f"data parallel {self.dp} x tensor parallel {tp} needs {self.dp * tp} GPUs but "
                               f"{len(gpus)} are visible; lower --data-parallel-size or --tensor-parallel-size.")
        return [",".join(gpus[rank * tp:(rank + 1) * tp]) for rank in range(self.dp)]

    def _chunks(self, requests: Sequence[GenRequest]) -> list[list[GenRequest]]:
        size = self.chunk_size if self.dp == 1 else max(1, min(self.chunk_size, -(-len(requests) // (self.dp * 4))))
        return [list(requests[i:i + size]) for i in range(0, len(requests), size)]

    def generate(self, requests: Sequence[GenRequest], sampling: SamplingSpec) -> Iterator[tuple[int, list[str]]]:
        if not requests:
            return
        from .vllm_replicas import ReplicaPool

        if self._pool is None:
            self._pool = ReplicaPool(self.gpu_groups(), self.engine_args, self.template_kwargs)
        pool = self._pool
        try:
            yield from pool.map(self._chunks(requests), sampling)
        except BaseException:
            self._pool = None  # the pool stopped its replicas; the next call starts new ones
            raise

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
