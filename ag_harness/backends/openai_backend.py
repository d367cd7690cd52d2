"""OpenAI-compatible HTTP backend: ``vllm serve``, TGI, llama.cpp, SGLang or a hosted API.

Chat prompts go to ``POST {base}/chat/completions``, raw prompts (MultiPL-E completion
style) to ``POST {base}/completions``. At most ``concurrency`` requests are in flight; a
connection error, HTTP 429 or 5xx is retried with exponential backoff (honouring
``Retry-After``). ``n`` samples are asked for in one request; when a server returns fewer
choices (or ``use_n`` is off) the rest are asked for again.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any
from urllib.parse import urlsplit

from ..config import EvalConfig
from ..errors import BackendError
from .base import GenRequest, SamplingSpec

logger = logging.getLogger(__name__)

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
MAX_WAIT_S = 60.0


def normalise_base_url(url: str) -> str:
    """``http://host:8000`` -> ``http://host:8000/v1``; a URL with a path is kept as given."""
    url = url.rstrip("/")
    return url + "/v1" if urlsplit(url).path in ("", "/") else url


class OpenAIBackend:
    name = "openai"

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, concurrency: int = 16,
                 max_retries: int = 6, retry_wait_s: float = 1.0, timeout_s: float = 600.0, use_n: bool = True,
                 chat_template_kwargs: dict[str, Any] | None = None, seed: bool = True):
        import httpx

        self.base_url = normalise_base_url(base_url)
        self.model = model
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.retry_wait_s = retry_wait_s
        self.use_n = use_n
        self.chat_template_kwargs = chat_template_kwargs or {}
        self.send_seed = seed
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s,
                                   limits=httpx.Limits(max_connections=concurrency))
        self.stats = {"requests": 0, "retries": 0}

    @classmethod
    def from_config(cls, cfg: EvalConfig) -> "OpenAIBackend":
        return cls(cfg.base_url or "", cfg.model, api_key=cfg.api_key, concurrency=cfg.concurrency,
                   max_retries=cfg.max_retries, retry_wait_s=cfg.retry_wait_s, timeout_s=cfg.request_timeout_s,
                   use_n=cfg.use_n, chat_template_kwargs=cfg.chat_template_kwargs)

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "base_url": self.base_url, "concurrency": self.concurrency, "use_n": self.use_n,
                **self.stats}

    def generate(self, requests: Sequence[GenRequest], sampling: SamplingSpec) -> Iterator[tuple[int, list[str]]]:
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="ag-openai") as pool:
            pending = {}
            queue = list(requests)
            while queue or pending:
                while queue and len(pending) < self.concurrency * 2:
                    req = queue.pop(0)
                    pending[pool.submit(self._samples, req, sampling)] = req
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    req = pending.pop(fut)
                    try:
                        texts = fut.result()
                    except BaseException:
                        for other in pending:
                            other.cancel()
                        raise
                    yield req.index, texts

    def _samples(self, req: GenRequest, sampling: SamplingSpec) -> list[str]:
        texts: list[str] = []
        attempt = 0
        while len(texts) < req.n:
            want = req.n - len(texts) if self.use_n else 1
            seed = None if req.seed is None or not self.send_seed else req.seed + attempt
            got = self._request(req, sampling, want, seed)
            if not got:
                raise BackendError(f"{self.base_url} answered with no choices; check that the server serves {self.model}.")
            texts.extend(got[:want])
            attempt += 1
        return texts

    def _payload(self, req: GenRequest, sampling: SamplingSpec, n: int, seed: int | None) -> tuple[str, dict]:
        body: dict[str, Any] = {"model": self.model, "n": n, "temperature": sampling.temperature,
                                "top_p": sampling.top_p, "max_tokens": sampling.max_new_tokens}
        if req.stop:
            body["stop"] = req.stop[:4]  # the OpenAI API takes at most four; the rest are cut after
        if seed is not None:
            body["seed"] = seed
        if req.messages is not None:
            body["messages"] = req.messages
            if self.chat_template_kwargs:
                body["chat_template_kwargs"] = self.chat_template_kwargs
            return "/chat/completions", body
        body["prompt"] = req.text or ""
        return "/completions", body

    def _request(self, req: GenRequest, sampling: SamplingSpec, n: int, seed: int | None) -> list[str]:
        import httpx

        path, body = self._payload(req, sampling, n, seed)
        for attempt in range(self.max_retries + 1):
            self.stats["requests"] += 1
            retry_after = None
            try:
                resp = self.client.post(path, json=body)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code == 200:
                    return _texts(resp.json(), chat=req.messages is not None)
                problem = f"HTTP {resp.status_code}: {resp.text[:200]}"
                if resp.status_code not in RETRY_STATUS:
                    raise BackendError(f"{self.base_url}{path} refused the request ({problem}); check --model, "
                                       "--base-url and the API key.")
                retry_after = _retry_after(resp.headers.get("retry-after"))
            if attempt == self.max_retries:
                raise BackendError(f"{self.base_url}{path} kept failing after {self.max_retries + 1} tries ({problem}); "
                                   "check that the server is up, or raise --max-retries.")
            wait_s = retry_after if retry_after is not None else \
                min(MAX_WAIT_S, self.retry_wait_s * 2 ** attempt) * (0.5 + random.random() / 2)
            self.stats["retries"] += 1
            logger.warning("%s%s: %s; retry %d in %.1fs", self.base_url, path, problem, attempt + 1, wait_s)
            time.sleep(wait_s)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.client.close()


def _retry_after(value: str | None) -> float | None:
    try:
        return min(MAX_WAIT_S, max(0.0, float(value))) if value is not None else None
    except ValueError:
        return None


def _texts(data: dict, *, chat: bool) -> list[str]:
    choices = sorted(data.get("choices") or [], key=lambda c: c.get("index", 0))
    if chat:
        return [((c.get("message") or {}).get("content") or "") for c in choices]
    return [c.get("text") or "" for c in choices]
