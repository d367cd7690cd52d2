"""`verify-batch`: JSONL jobs in, JSONL results out, streamed, resumable.

A malformed line becomes an error result for that line (verdict ``sandbox_error`` with
``error`` naming the line and the fix); the other jobs go on. A line without a usable id
(not JSON, no id, a duplicate id) is known as ``line-<number>``, a form no job id may take.
Rerunning with the same output file skips every id already there, error results included,
so a crash or Ctrl-C loses nothing and repeats nothing. A run holds a lock on its output
file: a second run on the same file is refused.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AgnosticsError, JobError
from .jobs import Job, Result
from .verdicts import Verdict

logger = logging.getLogger(__name__)

#: The ids of lines without a usable id; a job's own id may not take this form.
_LINE_ID = re.compile(r"line-[0-9]+")


class JobLineError(JobError):
    """A job line that could not be parsed; carries the id to report it under."""

    def __init__(self, message: str, job_id: str):
        super().__init__(message)
        self.job_id = job_id


@dataclass
class BatchSummary:
    total: int = 0
    skipped: int = 0
    reused: int = 0  # judgments shared with an identical job (see ag_eval.executors.dedupe)
    verdicts: Counter = field(default_factory=Counter)
    output: str = ""

    def format(self) -> str:
        parts = ", ".join(f"{v}: {n}" for v, n in sorted(self.verdicts.items()))
        shared = f" ({self.reused} shared with an identical job)" if self.reused else ""
        return (f"{self.total} job(s) judged{shared}, {self.skipped} already done (resumed) -> {self.output}"
                + (f"\n  {parts}" if parts else ""))


class IdSet:
    """A set of job ids in about 16 bytes each, whatever their length, so that a batch of
    millions of jobs keeps a small, nearly flat memory: 64-bit BLAKE2b digests in an
    open-addressing table. (Two distinct ids share a digest with odds of about n² / 2^65:
    1e-9 for 10 million jobs.)"""

    def __init__(self, ids=()):
        self._slots = array("Q", bytes(8 * 1024))
        self._n = 0
        for job_id in ids:
            self.add(job_id)

    @staticmethod
    def _digest(job_id: str) -> int:
        raw = hashlib.blake2b(job_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        return int.from_bytes(raw, "little") or 1  # 0 marks an empty slot

    def _find(self, digest: int) -> int:
        slots, mask = self._slots, len(self._slots) - 1
        i = digest & mask
        while slots[i] and slots[i] != digest:
            i = (i + 1) & mask
        return i

    def add(self, job_id: str) -> None:
        digest = self._digest(job_id)
        i = self._find(digest)
        if self._slots[i]:
            return
        self._slots[i] = digest
        self._n += 1
        if 2 * self._n > len(self._slots):
            old, self._slots = self._slots, array("Q", bytes(16 * len(self._slots)))
            for d in old:
                if d:
                    self._slots[self._find(d)] = d

    def __contains__(self, job_id: object) -> bool:
        return isinstance(job_id, str) and bool(self._slots[self._find(self._digest(job_id))])

    def __len__(self) -> int:
        return self._n


def finished_ids(output_path: str | os.PathLike) -> IdSet:
    """Ids already in a results file. A torn last line (crash mid-write) is cut off."""
    path = Path(output_path)
    if not path.exists():
        return IdSet()
    done = IdSet()
    good_end = 0
    with path.open("rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break
            try:
                done.add(str(json.loads(raw)["id"]))
            except (ValueError, KeyError, TypeError):
                logger.warning("ignoring an unreadable line in %s", path)
            good_end += len(raw)
    if good_end != path.stat().st_size:
        with path.open("r+b") as f:
            f.truncate(good_end)
    return done


def read_jobs(input_path: str | os.PathLike, skip: IdSet | set[str] = frozenset()) -> Iterator[Job | JobLineError]:
    """Jobs of a JSONL file, lazily; a bad line yields a JobLineError instead of stopping."""
    seen = IdSet()
    with open(input_path, encoding="utf-8", errors="surrogateescape") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            line_id = f"line-{lineno}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                if line_id not in skip:
                    yield JobLineError(f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno}); "
                                       "each line must be one JSON job object.", line_id)
                continue
            own_id = data.get("id") if isinstance(data, dict) else None
            job_id = line_id if own_id is None else str(own_id)
            if own_id is not None and _LINE_ID.fullmatch(job_id):
                if line_id not in skip:
                    yield JobLineError(f"line {lineno}: job id {job_id!r} has the form line-<number>, which is kept "
                                       "for the results of lines without a usable id; give the job another id.",
                                       line_id)
                continue
            if job_id in skip:
                continue
            if job_id in seen:
                if line_id not in skip:
                    yield JobLineError(f"line {lineno}: duplicate id {job_id!r}; give every job a unique id.", line_id)
                continue
            seen.add(job_id)
            try:
                yield Job.from_dict(data, default_id=line_id)
            except AgnosticsError as exc:
                yield JobLineError(f"line {lineno}: {exc}", job_id)


def run_batch(input_path: str | os.PathLike, output_path: str | os.PathLike, *, workers: int | None = None,
              fail_fast: bool = False, executor: str = "local", progress: bool = False, dedupe: bool = True,
              cache_dir: str | os.PathLike | None = None, verifier_url: str | None = None,
              verifier_token: str | None = None, **executor_options) -> BatchSummary:
    """Judge a JSONL batch, appending results to ``output_path`` as they finish.

    The output file is locked for the whole run: a second run on it raises AgnosticsError.
    ``executor``, ``dedupe``, ``cache_dir``, ``verifier_url``, ``verifier_token`` and
    ``executor_options`` (Ray's, e.g. ``address``) as :func:`ag_eval.engine.iter_verify`."""
    from .engine import iter_verify
    from .executors import choose_plan
    from .executors.remote import remote_verifier

    remote = remote_verifier(verifier_url, verifier_token, from_env=executor == "local")
    # a bad choice fails before the file is touched
    choose_plan(executor, workers, options=executor_options, remote=remote)
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    out = open(output_path, "a", encoding="utf-8")
    try:
        fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        out.close()
        raise AgnosticsError(f"{output_path} is being written by another verify-batch run (it holds the file's "
                             "lock); wait for that run to end, or write to another output file.") from None
    with out:  # the lock goes with the file when it is closed
        done = finished_ids(output_path)
        summary = BatchSummary(skipped=len(done), output=str(output_path))
        results = iter_verify(read_jobs(input_path, skip=done), workers=workers, fail_fast=fail_fast,
                              executor=executor, dedupe=dedupe, cache_dir=cache_dir, verifier_url=remote or "",
                              **executor_options)
        _write_results(results, out, summary, progress)
    return summary


def _write_results(results, out, summary: BatchSummary, progress: bool) -> None:
    from .progress import Progress

    bar = Progress({"verifying": None}) if progress else None
    try:
        for _, result in results:
            out.write(_json_line(result.to_dict()))
            out.flush()
            summary.total += 1
            summary.verdicts[result.verdict.value] += 1
            if result.reused:
                summary.reused += 1
            if bar is not None:
                bar.advance("verifying")
    finally:
        if bar is not None:
            bar.close()


def _json_line(row: dict) -> str:
    """One JSON line in UTF-8 text, or with \\u escapes where the row holds a lone surrogate
    (an id, say), which UTF-8 cannot carry: either way it reads back as the same row."""
    line = json.dumps(row, ensure_ascii=False)
    if not line.isascii():
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            line = json.dumps(row)
    return line + "\n"


def job_line_error_result(err: JobLineError) -> Result:
    return Result.failure(err.job_id, Verdict.SANDBOX_ERROR, str(err))
