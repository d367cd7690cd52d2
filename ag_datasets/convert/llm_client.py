"""A small OpenAI-compatible chat client with a content-addressed disk cache.

Every answer is written to ``<cache_dir>/<key[:2]>/<key>.json`` (atomically) the moment
it arrives, keyed by the hash of the model, the messages and the sampling settings. A
rerun therefore sends no request whose answer is already on disk, and a crash loses
only the requests in flight.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from ag_eval.retry import RETRY_STATUS, Backoff, RetriesExhausted, TryAgain, call_with_retries, retry_after_s

from ..errors import LLMError

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MODEL_ENV = ("AGNOSTICS_LLM_MODEL", "OPENAI_MODEL")


def default_cache_dir() -> Path:
    base = os.environ.get("AGNOSTICS_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "agnostics")
    return Path(base) / "llm"


class ChatClient:
    """``chat(messages) -> str`` against ``{base_url}/chat/completions``, cached on disk."""

    def __init__(self, *, base_url: str | None = None, model: str | None = None, api_key: str | None = None,
                 cache_dir: str | Path | None = None, temperature: float = 0.0, max_tokens: int = 4096,
                 timeout_s: float = 300.0, max_retries: int = 5, retry_base_s: float = 1.0):
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.model = model or next((os.environ[e] for e in MODEL_ENV if os.environ.get(e)), None)
        if not self.model:
            raise LLMError("no LLM model given; pass --llm-model (or set AGNOSTICS_LLM_MODEL) to convert with an LLM.")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.retry_base_s = retry_base_s
        self._local = threading.local()
        self.requests_sent = 0

    # ---- cache ---------------------------------------------------------------------------
    def _payload(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        return {"model": self.model, "messages": messages, "temperature": self.temperature,
                "max_tokens": self.max_tokens}

    def key(self, messages: list[dict[str, str]]) -> str:
        blob = json.dumps(self._payload(messages), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.cache_dir / key[:2] / f"{key}.json"

    def cached(self, messages: list[dict[str, str]]) -> str | None:
        path = self._path(self.key(messages))
        try:
            return json.loads(path.read_text(encoding="utf-8"))["content"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            return None

    def _store(self, key: str, messages: list[dict[str, str]], content: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"model": self.model, "messages": messages, "content": content}, f, ensure_ascii=False)
        os.replace(tmp, path)

    # ---- HTTP ----------------------------------------------------------------------------
    def _client(self):
        import httpx

        client = getattr(self._local, "client", None)
        if client is None:
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            client = httpx.Client(base_url=self.base_url, headers=headers, timeout=self.timeout_s)
            self._local.client = client
        return client

    def chat(self, messages: list[dict[str, str]]) -> str:
        """The assistant's answer, from the cache or from one (retried) request."""
        key = self.key(messages)
        hit = self.cached(messages)
        if hit is not None:
            return hit
        content = self._request(messages)
        self._store(key, messages, content)
        return content

    def _request(self, messages: list[dict[str, str]]) -> str:
        import httpx

        def attempt() -> str:
            self.requests_sent += 1
            try:
                resp = self._client().post("/chat/completions", json=self._payload(messages))
            except httpx.TransportError as exc:
                raise TryAgain(f"{type(exc).__name__}: {exc}") from None
            if resp.status_code in RETRY_STATUS:
                raise TryAgain(f"HTTP {resp.status_code}", retry_after_s(resp.headers.get("retry-after")))
            if resp.status_code >= 400:
                raise LLMError(
                    f"the LLM endpoint {self.base_url} answered HTTP {resp.status_code} ({resp.text[:200]}); "
                    "check --llm-base-url, --llm-model and OPENAI_API_KEY."
                )
            try:
                return resp.json()["choices"][0]["message"]["content"] or ""
            except (ValueError, KeyError, IndexError, TypeError):
                raise TryAgain("a response without choices[0].message.content") from None

        def log(retry: int, problem: str, wait_s: float) -> None:
            logger.info("retrying LLM request in %.1fs (%s)", wait_s, problem)

        try:
            return call_with_retries(attempt, retries=self.max_retries, backoff=Backoff(first_s=self.retry_base_s),
                                     on_retry=log)
        except RetriesExhausted as exc:
            raise LLMError(
                f"the LLM endpoint {self.base_url} failed {exc.attempts} times ({exc.problem}); "
                "check that it is up, then rerun (finished answers are cached)."
            ) from None
