"""The options of one evaluation run, with the paper's protocol as defaults.

Every choice that can change a score is a field here, is checked on construction and is
written to ``DIR/run.json``; a rerun into the same folder must agree on the fields in
:data:`GENERATION_KEYS` (otherwise its samples would not be comparable).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from ag_eval.executors.plan import EXECUTORS

from .errors import EvalError

BACKENDS = ("vllm", "transformers", "openai")
FORMATS = ("auto", "agnostics", "multiple")
MULTIPLE_STYLES = ("completion", "chat")

#: Fields that shape the samples: a resumed run must use the same values.
GENERATION_KEYS = (
    "model", "dataset", "config", "split", "temperature", "top_p", "max_new_tokens", "system_prompt",
    "prompt_template", "prompt_hint", "multiple_style", "chat_template_kwargs",
)


@dataclass
class EvalConfig:
    """One ``agnostics eval`` run. Defaults follow the Agnostics paper's protocol."""

    model: str
    dataset: str
    out_dir: str
    languages: list[str] = field(default_factory=list)
    config: str | None = None
    split: str = "test"
    backend: str = "vllm"
    n_samples: int = 20
    temperature: float = 0.2
    top_p: float = 0.95
    max_new_tokens: int = 1024
    system_prompt: str | None = None
    chat_template_kwargs: dict[str, Any] = field(default_factory=dict)
    prompt_template: str | None = None
    prompt_hint: bool = False
    limit: int | None = None
    seed: int = 0
    format: str = "auto"
    multiple_style: str = "completion"
    workers: int | None = None
    retry_sandbox_errors: bool = True
    # where and how samples are verified (not generation keys: a rerun may switch)
    executor: str = "local"
    ray_address: str | None = None
    dedupe: bool = True                # identical programs of a run judged once (see ag_eval.executors.dedupe)
    cache_dir: str | None = None       # a folder where judgments outlive the run
    verifier_url: str | None = None    # a verifier service to judge on (default: $AGNOSTICS_VERIFIER_URL)
    verifier_token_file: str | None = None  # the file holding its token (default: $AGNOSTICS_VERIFIER_TOKEN)
    # transformers
    batch_size: int = 8
    device: str | None = None
    dtype: str = "auto"
    # vLLM
    tensor_parallel_size: int = 1
    data_parallel_size: int | None = None
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None
    # OpenAI-compatible HTTP
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    concurrency: int = 16
    max_retries: int = 6
    retry_wait_s: float = 1.0
    request_timeout_s: float = 600.0
    use_n: bool = True

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise EvalError(f"backend {self.backend!r} is unknown; use one of {', '.join(BACKENDS)}.")
        if self.format not in FORMATS:
            raise EvalError(f"format {self.format!r} is unknown; use one of {', '.join(FORMATS)}.")
        if self.multiple_style not in MULTIPLE_STYLES:
            raise EvalError(f"MultiPL-E style {self.multiple_style!r} is unknown; use one of {', '.join(MULTIPLE_STYLES)}.")
        if self.executor not in EXECUTORS:
            raise EvalError(f"executor {self.executor!r} is unknown; use --executor local (this machine's sandbox: "
                            "threads, or processes on many cores; or force --executor threads / processes) "
                            "or --executor ray (a Ray cluster).")
        if self.ray_address and self.executor != "ray":
            raise EvalError(f"ray_address={self.ray_address!r} is only used by the Ray executor; "
                            "add --executor ray or drop --ray-address.")
        if self.verifier_url and self.executor != "local":
            raise EvalError(f"--verifier-url sends samples to the service at {self.verifier_url}, and --executor "
                            f"{self.executor} judges them here; drop one of them.")
        if self.cache_dir and not self.dedupe:
            raise EvalError("cache_dir shares judgments, which dedupe=False (--no-dedupe) turns off; drop one of them.")
        if self.n_samples < 1:
            raise EvalError(f"samples={self.n_samples} must be at least 1 (the paper uses 20).")
        if self.temperature < 0:
            raise EvalError(f"temperature={self.temperature} must be 0 (greedy) or more (the paper uses 0.2).")
        if not 0 < self.top_p <= 1:
            raise EvalError(f"top_p={self.top_p} must be in (0, 1] (the paper uses 0.95).")
        if self.max_new_tokens < 1:
            raise EvalError(f"max_new_tokens={self.max_new_tokens} must be at least 1 (the paper uses 1024).")
        if self.limit is not None and self.limit < 1:
            raise EvalError(f"limit={self.limit} must be a positive number of problems (or left out for all).")
        if self.batch_size < 1 or self.concurrency < 1:
            raise EvalError("batch size and concurrency must be at least 1.")
        if self.tensor_parallel_size < 1 or (self.data_parallel_size is not None and self.data_parallel_size < 1):
            raise EvalError("tensor and data parallel sizes must be at least 1.")
        if self.max_retries < 0 or self.retry_wait_s < 0:
            raise EvalError("max_retries and retry_wait_s must not be negative.")
        self.languages = list(dict.fromkeys(self.languages))
        if self.backend == "openai":
            self.base_url = self.base_url or os.environ.get("OPENAI_BASE_URL")
            self.api_key = self.api_key or os.environ.get("OPENAI_API_KEY")
            if not self.base_url:
                raise EvalError("the openai backend needs an endpoint; pass --base-url URL or set OPENAI_BASE_URL.")

    def to_dict(self) -> dict[str, Any]:
        """The options as recorded in run.json (the API key is never written, only whether one was set)."""
        data = asdict(self)
        data["api_key"] = "set" if self.api_key else None
        return data
