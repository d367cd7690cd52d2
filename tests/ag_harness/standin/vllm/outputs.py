"""Request outputs with upstream's fields (``vllm/outputs.py``)."""

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class CompletionOutput:
    index: int
    text: str
    token_ids: Sequence[int]
    cumulative_logprob: float | None
    logprobs: list | None
    finish_reason: str | None = None  # "stop" (EOS or a stop string) or "length" (max_tokens)
    stop_reason: int | str | None = None  # the stop string that ended it; None for EOS or length
    lora_request: object | None = None

    def finished(self) -> bool:
        return self.finish_reason is not None


class RequestOutput:
    def __init__(self, request_id: str, prompt: str | None, prompt_token_ids: list[int] | None,
                 prompt_logprobs: list | None, outputs: list[CompletionOutput], finished: bool,
                 metrics: object | None = None, lora_request: object | None = None,
                 num_cached_tokens: int | None = None):
        self.request_id = request_id
        self.prompt = prompt
        self.prompt_token_ids = prompt_token_ids
        self.prompt_logprobs = prompt_logprobs
        self.outputs = outputs
        self.finished = finished
        self.metrics = metrics
        self.lora_request = lora_request
        self.num_cached_tokens = num_cached_tokens

    def __repr__(self) -> str:
        return (f"RequestOutput(request_id={self.request_id}, prompt={self.prompt!r}, "
                f"prompt_token_ids={self.prompt_token_ids}, outputs={self.outputs}, finished={self.finished})")
