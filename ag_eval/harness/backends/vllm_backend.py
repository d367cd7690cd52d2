"""vLLM backend: the offline ``LLM`` engine, one replica per group of GPUs.

Chat prompts are rendered with the model's chat template and passed as token ids
(``{"prompt_token_ids": ...}``), raw prompts as text; each request gets its own
``SamplingParams(n=..., temperature=..., top_p=..., max_tokens=..., stop=..., seed=...)``, so
samples do not depend on batching. Requests go to the engine in chunks, so finished
chunks are verified while later ones generate.

Data parallel: with ``G`` visible GPUs and tensor parallel size ``T``, ``G // T``
independent engines run in worker processes (each sees its own ``T`` GPUs through
``CUDA_VISIBLE_DEVICES``) and take chunks from a shared queue.
"""

from __future__ import annotations

import logging
import os
import queue as queue_mod
from collections.abc import Iterator, Sequence
from typing import Any

from ..config import EvalConfig
from ..errors import BackendError
from . import GenRequest, SamplingSpec, render_chat

logger = logging.getLogger(__name__)

CHUNK = 256
_MISSING = ("vLLM is not installed; install it on a GPU machine with `pip install 'agnostics[vllm]'`, "
            "or use --backend transformers (CPU or one GPU) or --backend openai (a running server).")


def _require_vllm():
    try:
        import vllm  # noqa: F401
    except ImportError:
        raise BackendError(_MISSING) from None


def visible_gpus() -> list[str]:
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d for d in env.split(",") if d.strip()]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        return []


class _Engine:
    """One vLLM engine and the code that turns requests into its inputs."""

    def __init__(self, engine_args: dict[str, Any], template_kwargs: dict[str, Any]):
        from vllm import LLM

        self.llm = LLM(**engine_args)
        self.tokenizer = self.llm.get_tokenizer()
        self.template_kwargs = template_kwargs

    def run(self, requests: Sequence[GenRequest], sampling: SamplingSpec) -> list[tuple[int, list[str]]]:
        from vllm import SamplingParams

        prompts: list[Any] = []
        params = []
        for req in requests:
            if req.messages is not None:
                text = render_chat(self.tokenizer, req.messages, self.template_kwargs)
                prompts.append({"prompt_token_ids": self.tokenizer.encode(text, add_special_tokens=False)})
            else:
                prompts.append(req.text or "")
            greedy = sampling.temperature == 0  # one greedy answer, repeated n times below
            params.append(SamplingParams(n=1 if greedy else req.n, temperature=sampling.temperature,
                                         top_p=1.0 if greedy else sampling.top_p, max_tokens=sampling.max_new_tokens,
                                         stop=req.stop or None, seed=req.seed))
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        results = []
        for req, out in zip(requests, outputs):
            texts = [o.text for o in out.outputs]
            results.append((req.index, texts * req.n if len(texts) == 1 and req.n > 1 else texts))
        return results


def _worker(gpus: str, engine_args: dict, template_kwargs: dict, sampling: SamplingSpec, tasks, results) -> None:
    """A data-parallel replica: build an engine on ``gpus``, answer chunks until told to stop."""
    os.environ["CUDA_VISIBLE_DEVICES"] = gpus
    try:
        engine = _Engine(engine_args, template_kwargs)
        while True:
            chunk = tasks.get()
            if chunk is None:
                break
            results.put(("ok", engine.run(chunk, sampling)))
    except BaseException as exc:  # reported to the parent, which raises it
        results.put(("error", f"{type(exc).__name__}: {exc}"))
    results.put(("done", gpus))


class VLLMBackend:
    name = "vllm"

    def __init__(self, engine_args: dict[str, Any], *, data_parallel_size: int = 1,
                 template_kwargs: dict[str, Any] | None = None, chunk_size: int = CHUNK):
        _require_vllm()
        self.engine_args = engine_args
        self.template_kwargs = template_kwargs or {}
        self.chunk_size = chunk_size
        self.dp = data_parallel_size
        self._engine = _Engine(engine_args, self.template_kwargs) if self.dp == 1 else None

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

    def _chunks(self, requests: Sequence[GenRequest]) -> list[list[GenRequest]]:
        size = self.chunk_size if self.dp == 1 else max(1, min(self.chunk_size, -(-len(requests) // (self.dp * 4))))
        return [list(requests[i:i + size]) for i in range(0, len(requests), size)]

    def generate(self, requests: Sequence[GenRequest], sampling: SamplingSpec) -> Iterator[tuple[int, list[str]]]:
        if self._engine is not None:
            for chunk in self._chunks(requests):
                yield from self._engine.run(chunk, sampling)
            return
        yield from self._generate_parallel(requests, sampling)

    def _generate_parallel(self, requests, sampling) -> Iterator[tuple[int, list[str]]]:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        tasks, results = ctx.Queue(), ctx.Queue()
        gpus = visible_gpus()
        tp = self.engine_args["tensor_parallel_size"]
        procs = []
        for rank in range(self.dp):
            group = ",".join(gpus[rank * tp:(rank + 1) * tp])
            proc = ctx.Process(target=_worker, args=(group, self.engine_args, self.template_kwargs, sampling, tasks, results),
                               daemon=True)
            proc.start()
            procs.append(proc)
        for chunk in self._chunks(requests):
            tasks.put(chunk)
        for _ in procs:
            tasks.put(None)
        finished = 0
        try:
            while finished < len(procs):
                try:
                    kind, payload = results.get(timeout=30)
                except queue_mod.Empty:
                    if not any(p.is_alive() for p in procs):
                        raise BackendError("every vLLM worker exited without finishing; see the log above.") from None
                    continue
                if kind == "ok":
                    yield from payload
                elif kind == "error":
                    raise BackendError(f"a vLLM worker failed ({payload}); check the model, GPUs and memory settings.")
                else:
                    finished += 1
        finally:
            for proc in procs:
                if proc.is_alive():
                    proc.terminate()
                proc.join(timeout=30)

    def close(self) -> None:
        self._engine = None
