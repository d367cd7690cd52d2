"""transformers backend: batched ``generate`` on a CPU or one GPU.

Prompts are batched (``batch_size`` prompts per call, left-padded) and sampled
``num_return_sequences`` times each. Sampling is seeded per batch, so a run is
reproducible for the same batch size. Meant for small models and tests; use vLLM for
paper-scale runs.

The generation loop itself is public, for every caller that holds a model already
(training's pass@1 evaluation): :func:`generate_batch` for prompt texts,
:func:`generate_chats` for chat prompts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from ..config import EvalConfig
from ..errors import BackendError
from .base import GenRequest, SamplingSpec, render_chat

logger = logging.getLogger(__name__)


def generate_batch(model, tokenizer, prompts: Sequence[str], *, max_new_tokens: int, temperature: float = 0.0,
                   top_p: float = 1.0, num_samples: int = 1, add_special_tokens: bool = False,
                   stop: Sequence[str] = (), seed: int | None = None,
                   synced_gpus: bool | None = None) -> list[list[str]]:
    """``num_samples`` completions (text, special tokens removed) for each prompt text, in one
    left-padded ``model.generate`` call. Greedy (``temperature`` 0) decodes once per prompt and
    repeats the answer. ``add_special_tokens``: for raw prompts (a rendered chat has its own).
    ``seed`` seeds the sampling; ``synced_gpus`` goes to ``model.generate`` (None: transformers
    turns it on under ZeRO-3 or FSDP, where every rank must then make the same calls)."""
    import torch

    padding_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        enc = tokenizer(list(prompts), return_tensors="pt", padding=True, add_special_tokens=add_special_tokens)
    finally:
        tokenizer.padding_side = padding_side
    enc = enc.to(next(model.parameters()).device)
    greedy = temperature == 0
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens, "pad_token_id": pad}
    if greedy:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    else:
        kwargs.update(do_sample=True, temperature=temperature, top_p=top_p, num_return_sequences=num_samples)
    if stop:
        kwargs.update(stop_strings=list(stop), tokenizer=tokenizer)
    if synced_gpus is not None:
        kwargs["synced_gpus"] = synced_gpus
    if seed is not None:
        torch.manual_seed(seed)
    with torch.no_grad():
        out = model.generate(**enc, **kwargs)
    texts = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    if greedy:
        return [[text] * num_samples for text in texts]
    return [texts[i * num_samples:(i + 1) * num_samples] for i in range(len(prompts))]


def generate_chats(model, tokenizer, chats: Sequence[list[dict[str, str]]], *, batch_size: int = 8,
                   chat_template_kwargs: dict[str, Any] | None = None, **sampling: Any) -> list[list[str]]:
    """Completions for each chat prompt, ``batch_size`` prompts per :func:`generate_batch` call
    (its keyword arguments in ``sampling``), the assistant turn opened under the chat template."""
    out: list[list[str]] = []
    for start in range(0, len(chats), batch_size):
        texts = [render_chat(tokenizer, chat, chat_template_kwargs) for chat in chats[start:start + batch_size]]
        out += generate_batch(model, tokenizer, texts, **sampling)
    return out


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

    def _prompt(self, req: GenRequest) -> str:
        if req.messages is not None:
            return render_chat(self.tokenizer, req.messages, self.template_kwargs)
        return req.text or ""

    def generate(self, requests: Sequence[GenRequest], sampling: SamplingSpec) -> Iterator[tuple[int, list[str]]]:
        groups: dict[tuple, list[GenRequest]] = {}
        for req in requests:
            groups.setdefault((req.n, req.messages is None, tuple(req.stop)), []).append(req)
        for (n, raw, stop), reqs in groups.items():
            for start in range(0, len(reqs), self.batch_size):
                batch = reqs[start:start + self.batch_size]
                samples = generate_batch(self.model, self.tokenizer, [self._prompt(r) for r in batch],
                                         max_new_tokens=sampling.max_new_tokens, temperature=sampling.temperature,
                                         top_p=sampling.top_p, num_samples=n, add_special_tokens=raw, stop=stop,
                                         seed=batch[0].seed)
                for req, texts in zip(batch, samples):
                    yield req.index, texts

    def close(self) -> None:
        self.model = None
