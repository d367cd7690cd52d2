"""OpenAI-compatible HTTP backend: ``vllm serve``, TGI, llama.cpp, SGLang or a hosted API.

Chat prompts go to ``POST {base}/chat/completions``, raw prompts (MultiPL-E completion
style) to ``POST {base}/completions``. At most ``concurrency`` requests are in flight; a
connection error, HTTP 429 or 5xx is retried with exponential backoff (honouring
``Retry-After``). ``n`` samples are asked for in one request; when a server returns fewer
choices (or ``use_n`` is off) the rest are asked for again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any
from urllib.parse import urlsplit

from ag_eval.retry import RETRY_STATUS, Backoff, RetriesExhausted, TryAgain, call_with_retries, retry_after_s

from ..config import EvalConfig
from ..errors import BackendError
from .base import GenRequest, SamplingSpec

logger = logging.getLogger(__name__)

#: The longest wait before a retry, asked for by the server (``Retry-After``) or not.
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

        def attempt() -> list[str]:
            self.stats["requests"] += 1
            try:
                resp = self.client.post(path, json=body)
            except httpx.TransportError as exc:
                raise TryAgain(f"{type(exc).__name__}: {exc}") from None
            if resp.status_code == 200:
                return _texts(resp.json(), chat=req.messages is not None)
            problem = f"HTTP {resp.status_code}: {resp.text[:200]}"
            if resp.status_code not in RETRY_STATUS:
                raise BackendError(f"{self.base_url}{path} refused the request ({problem}); check --model, "
                                   "--base-url and the API key.")
            raise TryAgain(problem, retry_after_s(resp.headers.get("retry-after")))

        def log(retry: int, problem: str, wait_s: float) -> None:
            self.stats["retries"] += 1
            logger.warning("%s%s: %s; retry %d in %.1fs", self.base_url, path, problem, retry, wait_s)

        backoff = Backoff(first_s=self.retry_wait_s, max_s=MAX_WAIT_S, max_retry_after_s=MAX_WAIT_S)
        try:
            return call_with_retries(attempt, retries=self.max_retries, backoff=backoff, on_retry=log)
        except RetriesExhausted as exc:
            raise BackendError(f"{self.base_url}{path} kept failing after {exc.attempts} tries ({exc.problem}); "
                               "check that the server is up, or raise --max-retries.") from None

    def close(self) -> None:
        self.client.close()


def _texts(data: dict, *, chat: bool) -> list[str]:
    choices = sorted(data.get("choices") or [], key=lambda c: c.get("index", 0))
    if chat:
        return [((c.get("message") or {}).get("content") or "") for c in choices]
    return [c.get("text") or "" for c in choices]
