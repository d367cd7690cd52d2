"""Evaluation with many identical samples: 20 byte-identical samples per problem vs. 1.

Runs ``ag_harness.run_eval`` (generation by a scripted backend that answers every sample
of a problem with the same fenced program, as a model at temperature 0.2 often does), over
generated problems with 10 tests each: 1 sample per problem, 20 with identical judgments
shared (the default), and 20 with ``dedupe=False``.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import workload

FENCE = {"lua": "lua", "python": "python", "ocaml": "ocaml", "fortran": "fortran", "r": "r"}


class SameAnswer:
    """A backend answering every sample of a problem with the problem's one program."""

    name = "scripted"

    def __init__(self, programs: dict[str, str], language: str):
        self.programs, self.language = programs, language

    def generate(self, requests, sampling):
        for req in requests:
            pid = re.search(r"PROBLEM ([\w-]+)", json.dumps(req.messages)).group(1)
            yield req.index, [f"```{FENCE[self.language]}\n{self.programs[pid]}```"] * req.n

    def describe(self):
        return {"backend": self.name}

    def close(self):
        pass


@dataclass
class EvalRun:
    language: str
    problems: int
    samples: int
    dedupe: bool
    wall_s: float
    judged: int
    reused: int


def run(language: str, problems: int, samples: int, dedupe: bool, workers: int) -> EvalRun:
    from ag_harness import EvalConfig, run_eval

    progs = workload.programs(language, problems, tests=10, seed=7)
    with tempfile.TemporaryDirectory(prefix="bench-dedupe-") as folder:
        rows = Path(folder) / "problems.jsonl"
        with rows.open("w") as f:
            for p in progs:
                f.write(json.dumps({"problem_id": p.job["id"], "title": p.job["id"],
                                    "statement": f"PROBLEM {p.job['id']}", "tests": p.job["tests"]}) + "\n")
        cfg = EvalConfig(model="scripted", dataset=str(rows), languages=[language], n_samples=samples,
                         out_dir=str(Path(folder) / "run"), workers=workers, dedupe=dedupe)
        start = time.perf_counter()
        run_eval(cfg, backend=SameAnswer({p.job["id"]: p.job["code"] for p in progs}, language))
        wall = time.perf_counter() - start
        session = json.loads((Path(folder) / "run" / "run.json").read_text())["sessions"][-1]
    reused = session.get("reused", 0)
    return EvalRun(language, problems, samples, dedupe, wall, problems * samples - reused, reused)
