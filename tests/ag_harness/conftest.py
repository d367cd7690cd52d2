import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data"
MULTIPLE = DATA / "multiple"


class ScriptedBackend:
    """A backend that answers from a function of (request, sample number), counting calls."""

    name = "scripted"

    def __init__(self, answer):
        self.answer = answer
        self.calls = 0
        self.requests = []

    def generate(self, requests, sampling):
        self.calls += 1
        for req in requests:
            self.requests.append(req)
            yield req.index, [self.answer(req, i) for i in range(req.n)]

    def describe(self):
        return {"backend": self.name}

    def close(self):
        pass


@pytest.fixture
def scripted():
    return ScriptedBackend


@pytest.fixture(scope="session")
def small_ag_mbpp_x(tmp_path_factory):
    """Ag-MBPP-X built (convert + validate in the sandbox) from the first four MBPP test tasks."""
    from ag_datasets.build import build_dataset
    from ag_datasets.sources.mbpp import shipped_path

    tmp = tmp_path_factory.mktemp("ag-mbpp-x")
    rows = [json.loads(line) for line in shipped_path().read_text(encoding="utf-8").splitlines() if line.strip()]
    source = tmp / "mbpp.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows if 11 <= r["task_id"] <= 14), encoding="utf-8")
    return build_dataset("ag-mbpp-x", source=str(source), out_dir=tmp / "ag-mbpp-x", workers=2)


@pytest.fixture
def io_problems(tmp_path):
    """Three stdin/stdout problem rows in a JSONL file."""
    rows = [
        {"problem_id": "toy/sum", "title": "Sum", "statement": "SUM: read two integers and print their sum.",
         "tests": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 7\n", "output": "12\n"}]},
        {"problem_id": "toy/reverse", "title": "Reverse", "statement": "REVERSE: read a line and print it reversed.",
         "tests": [{"input": "abc\n", "output": "cba\n"}]},
        {"problem_id": "toy/largest", "title": "Largest", "statement": "LARGEST: print the largest integer of the line.",
         "tests": [{"input": "1 5 3\n", "output": "5\n"}]},
    ]
    path = tmp_path / "toy.jsonl"
    path.write_text("".join(json.dumps({**r, "compare": "lines", "time_limit_s": 5.0, "memory_limit_mb": 512}) + "\n"
                            for r in rows), encoding="utf-8")
    return path
