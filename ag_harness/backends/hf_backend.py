"""transformers backend: batched ``generate`` on a CPU or one GPU.

Prompts are batched (``batch_size`` prompts per call, left-padded) and sampled
``num_return_sequences`` times each. Sampling is seeded per batch, so a run is
reproducible for the same batch size. Meant for small models and tests; use vLLM for
paper-scale runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from ..config import EvalConfig
from ..errors import BackendError
from .base import GenRequest, SamplingSpec, render_chat

logger = logging.getLogger(__name__)


class TransformersBackend:
    name = "transformers"

    def __init__(self, model, tokenizer, *, batch_size: int = 8, template_kwargs: dict[str, Any] | None = None,
                 model_name: str = ""):
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.template_kwargs = template_kwargs or {}
        self.model_name = model_name
        self.device = str(model.device)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"

    @classmethod
    def from_config(cls, cfg: EvalConfig) -> "TransformersBackend":
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise BackendError("the transformers backend needs torch and transformers; "
                               "install them with `pip install 'agnostics[train]'`.") from None
        device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            tokenizer = AutoTokenizer.from_pretrained(cfg.model)
            model = AutoModelForCausalLM.from_pretrained(cfg.model, dtype=cfg.dtype)
        except OSError as exc:
            raise BackendError(f"cannot load model {cfg.model} ({exc.__class__.__name__}); give a local model folder "
                               "or a Hub id that is cached or reachable.") from None
        model.to(device).eval()
        logger.info("transformers: %s on %s", cfg.model, device)
        return cls(model, tokenizer, batch_size=cfg.batch_size, template_kwargs=cfg.chat_template_kwargs,
                   model_name=cfg.model)

    def describe(self) -> dict[str, Any]:
        import transformers

        return {"backend": self.name, "transformers": transformers.__version__, "device": self.device,
                "batch_size": self.batch_size}

    def _prompt(self, req: GenRequest) -> tuple[str, bool]:
        if req.messages is not None:
            return render_chat(self.tokenizer, req.messages, self.template_kwargs), False
        return req.text or "", True

    def generate(self, requests: Sequence[GenRequest], sampling: SamplingSpec) -> Iterator[tuple[int, list[str]]]:
        groups: dict[tuple, list[GenRequest]] = {}
        for req in requests:
            groups.setdefault((req.n, req.messages is None, tuple(req.stop)), []).append(req)
        for (n, raw, stop), reqs in groups.items():
            for start in range(0, len(reqs), self.batch_size):
                batch = reqs[start:start + self.batch_size]
                texts = self._generate_batch(batch, n, raw, list(stop), sampling)
                for i, req in enumerate(batch):
                    yield req.index, texts[i * n:(i + 1) * n]

    def _generate_batch(self, batch: list[GenRequest], n: int, raw: bool, stop: list[str],
                        sampling: SamplingSpec) -> list[str]:
        import torch

        prompts = [self._prompt(r)[0] for r in batch]
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=raw).to(self.model.device)
        greedy = sampling.temperature == 0
        kwargs: dict[str, Any] = {"max_new_tokens": sampling.max_new_tokens,
                                  "pad_token_id": self.tokenizer.pad_token_id}
        if greedy:
            kwargs["do_sample"] = False
        else:
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p,
                          num_return_sequences=n)
        if stop:
            kwargs.update(stop_strings=stop, tokenizer=self.tokenizer)
        if batch[0].seed is not None:
            torch.manual_seed(batch[0].seed)
        with torch.inference_mode():
            out = self.model.generate(**enc, **kwargs)
        texts = self.tokenizer.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        if greedy:  # one greedy answer per prompt, repeated n times
            texts = [t for t in texts for _ in range(n)]
        return texts

    def close(self) -> None:
        self.model = None
