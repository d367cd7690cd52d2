"""What every generation backend shares: requests, sampling settings, the protocol, chat rendering."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..config import EvalConfig
from ..errors import EvalError


@dataclass
class GenRequest:
    """``n`` samples for one prompt: chat ``messages`` or a raw ``text`` prompt."""

    index: int
    n: int
    messages: list[dict[str, str]] | None = None
    text: str | None = None
    stop: list[str] = field(default_factory=list)
    seed: int | None = None


@dataclass(frozen=True)
class SamplingSpec:
    temperature: float
    top_p: float
    max_new_tokens: int

    @classmethod
    def from_config(cls, cfg: EvalConfig) -> "SamplingSpec":
        return cls(temperature=cfg.temperature, top_p=cfg.top_p, max_new_tokens=cfg.max_new_tokens)


class Backend(Protocol):
    name: str

    def generate(self, requests: Sequence[GenRequest], sampling: SamplingSpec) -> Iterator[tuple[int, list[str]]]:
        ...

    def describe(self) -> dict[str, Any]:
        ...

    def close(self) -> None:
        ...


def render_chat(tokenizer, messages: list[dict[str, str]], template_kwargs: dict[str, Any] | None = None) -> str:
    """The prompt text of a chat under the tokenizer's chat template, with the assistant turn opened."""
    if not getattr(tokenizer, "chat_template", None):
        raise EvalError("the model's tokenizer has no chat template; use a chat/instruct model, give it a template, "
                        "or evaluate MultiPL-E with --multiple-style completion.")
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **(template_kwargs or {}))
