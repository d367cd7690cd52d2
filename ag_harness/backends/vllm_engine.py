"""One vLLM engine (the offline ``LLM``) and the code that turns requests into its inputs;
run in replica processes (:mod:`.vllm_replicas`) by the vLLM backend (:mod:`.vllm_backend`)."""

from __future__ import annotations

import gc
import os
from collections.abc import Sequence
from typing import Any

from ..errors import BackendError
from .base import GenRequest, SamplingSpec, render_chat

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


class VLLMEngine:
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

    def close(self) -> None:
        """Shut the engine down, so that its engine core and GPU workers exit now."""
        llm, self.llm = self.llm, None
        if llm is None:
            return
        core = getattr(llm.llm_engine, "engine_core", None)
        shutdown = getattr(llm, "shutdown", None) or getattr(core, "shutdown", None)
        if shutdown is not None:
            shutdown()
        del llm
        gc.collect()
