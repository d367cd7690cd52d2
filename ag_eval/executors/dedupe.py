"""Identical jobs judged once: one judgment shared by every copy of a job.

Evaluation at the paper's protocol (20 samples at temperature 0.2) and GRPO groups hold
many byte-identical programs. Two jobs are the same when they agree on everything a
verdict depends on -- the key, :func:`job_key`:

- the runner: its name, its whole definition (commands, environment, limit adjustments)
  and the toolchain's version (what its ``version`` command prints);
- the program (after extraction from a completion: two answers that differ only in prose
  around the same code block are the same program);
- the tests (inputs and expected outputs, in order), the comparison mode, the time and
  memory limits, the mode (``stdio`` / ``exit_code``);
- how the batch judges (``fail_fast``, the kind of sandbox).

The job id is not part of it. Within a batch, the first copy is judged; every other copy
gets that result under its own id with ``reused: true`` (``Result.reused``). A copy that
arrives while the first is still running waits for it; a finished judgment is kept for
the next :data:`KEEP` distinct jobs (a later copy is judged again: slower, never wrong).

With a cache folder, judgments also outlive the batch: one JSON file per key
(``<folder>/<2 hex>/<key>.json``), written atomically, read by any later run with the same
folder. ``sandbox_error`` results are never kept or cached (the verifier's failure says
nothing about the program); copies already waiting on one get it.

Nondeterministic programs (randomness, time, races, reading uninitialised memory) are
judged once for all their copies: the copies share the first run's verdict instead of
drawing their own. Turn sharing off (``dedupe=False``, ``--no-dedupe``) to run every copy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import AgnosticsError
from ..extract import extract_code
from ..jobs import Job, Result, job_id
from ..runners import get_registry
from ..verdicts import Verdict
from .base import IDLE, numbered

logger = logging.getLogger(__name__)

#: Finished judgments kept in memory for later copies in the same batch.
KEEP = 2048
#: Bumped when the key or the cached result's form changes, so an old cache folder is not misread.
KEY_VERSION = 1


_versions: dict[tuple[str, str], str] = {}


def _toolchain_version(runner) -> str:
    """What the runner's version command prints, asked once per process."""
    key = (runner.name, runner.version)
    if key not in _versions:
        _versions[key] = runner.detect_version() or ""
    return _versions[key]


def job_key(job: Job | dict, *, salt: str = "") -> str | None:
    """The sharing key of a job (a hex digest), or None when it cannot be judged (the job is
    then judged alone and gets its own error)."""
    try:
        job = job if isinstance(job, Job) else Job.from_dict(job)
        runner = get_registry().get(job.language)
    except AgnosticsError:
        return None
    code = job.code if job.code is not None else extract_code(job.completion, runner)
    if code is None or not code.strip():
        return None  # no program: judged at once, nothing to share
    fields = {
        "v": KEY_VERSION, "runner": repr(runner), "toolchain": _toolchain_version(runner),
        "code": code, "tests": [[t.input, t.output] for t in job.tests], "compare": job.compare,
        "time_limit_s": job.time_limit_s, "memory_limit_mb": job.memory_limit_mb, "mode": job.mode, "salt": salt,
    }
    if job.compile_time_s is not None:  # absent otherwise: keys made before it existed still match
        fields["compile_time_s"] = job.compile_time_s
    text = json.dumps(fields, sort_keys=True)  # lone surrogates become \\u escapes: any text has a key
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class ResultCache:
    """Judgments in a folder, content-addressed by :func:`job_key`."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder).expanduser()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AgnosticsError(f"result cache folder {self.folder} cannot be made ({exc.strerror}); "
                                 "give a writable folder or leave the cache out.") from None

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> Result | None:
        try:
            return Result.from_dict(json.loads(self._path(key).read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("ignoring an unreadable cached result %s (%s)", self._path(key), exc)
            return None

    def put(self, key: str, result: Result) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(result.to_dict(include_code=True), f)
            os.replace(tmp, path)
        except (OSError, UnicodeEncodeError) as exc:
            logger.warning("could not cache a result in %s (%s)", path.parent, exc)


def reused(result: Result, new_id: str) -> Result:
    """A copy of ``result`` for another job with the same key."""
    return replace(result, id=new_id, reused=True, tests=list(result.tests))


@dataclass
class Dedupe:
    """Share judgments among identical jobs of a batch (and, with ``cache_dir``, across runs).

    ``salt`` names how the batch judges (``fail_fast``, sandbox kind): part of every key."""

    salt: str = ""
    cache_dir: str | os.PathLike | None = None
    keep: int = KEEP

    def apply(self, jobs: Iterable[Any],
              run: Callable[[Iterable[Any]], Iterator[tuple[int | None, Result]]]) -> Iterator[tuple[int | None, Result]]:
        """``run`` judges a stream of jobs; what it is given is ``jobs`` without the copies."""
        cache = ResultCache(self.cache_dir) if self.cache_dir is not None else None
        ready: list[tuple[int, Result]] = []           # copies answered without judging, to hand out
        firsts: dict[int, tuple[int, str | None]] = {}  # index given to run -> (index in jobs, key)
        waiting: dict[str, list[tuple[int, str]]] = {}  # key in flight -> copies (index in jobs, id)
        kept: OrderedDict[str, Result] = OrderedDict()
        inner = 0

        def unique() -> Iterator[Any]:
            nonlocal inner
            for index, job in numbered(jobs):
                if job is IDLE:
                    yield IDLE
                    continue
                key = None if isinstance(job, BaseException) else job_key(job, salt=self.salt)
                if key is not None:
                    if key in waiting:
                        waiting[key].append((index, job_id(job, index)))
                        continue
                    hit = kept.get(key) or (cache.get(key) if cache is not None else None)
                    if hit is not None:
                        ready.append((index, reused(hit, job_id(job, index))))
                        yield IDLE  # lets the executor hand control back, so the copy goes out now
                        continue
                    waiting[key] = []
                firsts[inner] = (index, key)
                inner += 1
                yield job

        for got, result in run(unique()):
            while ready:
                yield ready.pop(0)
            if result is IDLE:
                yield None, IDLE
                continue
            index, key = firsts.pop(got)
            yield index, result
            if key is None:
                continue
            for copy_index, copy_id in waiting.pop(key, []):
                yield copy_index, reused(result, copy_id)
            if result.verdict is not Verdict.SANDBOX_ERROR:
                kept[key] = result
                if len(kept) > self.keep:
                    kept.popitem(last=False)
                if cache is not None and not result.reused:
                    cache.put(key, result)
        while ready:
            yield ready.pop(0)
