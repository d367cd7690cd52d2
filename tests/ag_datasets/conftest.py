import json
from pathlib import Path

import pytest

from tests.conftest import require_language

DATA = Path(__file__).resolve().parent.parent / "data"
LCB_SAMPLE = DATA / "livecodebench" / "code_generation_lite.sample.jsonl"
CF_SAMPLE = DATA / "codeforces" / "codeforces.sample.jsonl"
CF_CRLF_SAMPLE = DATA / "codeforces" / "codeforces_crlf.sample.jsonl"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """No test writes to the user's cache."""
    monkeypatch.setenv("AGNOSTICS_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def sandbox():
    """Skip, with the reason, when Python programs cannot run in the sandbox here."""
    require_language("python")
    from ag_eval import Verdict, verify

    result = verify({"id": "probe", "language": "python", "code": "print(input())",
                     "tests": [{"input": "ok\n", "output": "ok\n"}]})
    if result.verdict is not Verdict.PASS:
        pytest.skip(f"the sandbox cannot run Python here ({result.verdict}: {result.error})")


def mbpp_rows(task_ids):
    from ag_datasets.sources.mbpp import shipped_path

    wanted = set(task_ids)
    rows = [json.loads(line) for line in shipped_path().read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if r["task_id"] in wanted]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
