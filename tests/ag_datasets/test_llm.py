"""The LLM path against a local server that answers like an OpenAI-compatible endpoint."""

import hashlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ag_datasets.build import build_dataset
from ag_datasets.convert import SourceTask
from ag_datasets.convert import llm as llm_module
from ag_datasets.convert.llm import LLMConverter, parse_answer
from ag_datasets.errors import LLMError
from ag_datasets.report import BuildReport

from .conftest import mbpp_rows, write_jsonl

CHAIN_ANSWER = {
    "title": "Longest chain of pairs",
    "statement": (
        "Given n pairs (a, b), find the longest chain in input order where each pair's a is greater "
        "than the previous pair's b.\n\n## Input format\n\nA line with n, then n lines each with a and b.\n\n"
        "## Output format\n\nPrint the length of the longest chain.\n"
    ),
    "tests": [
        {"input": "4\n5 24\n15 25\n27 40\n50 60\n", "output": "3\n"},
        {"input": "4\n1 2\n3 4\n5 6\n7 8\n", "output": "4\n"},
        {"input": "5\n19 10\n11 12\n13 14\n15 16\n31 54\n", "output": "5\n"},
    ],
    "solution": (
        "import sys\n"
        "data = sys.stdin.read().split()\n"
        "n = int(data[0])\n"
        "pairs = [(int(data[1 + 2 * i]), int(data[2 + 2 * i])) for i in range(n)]\n"
        "best = [1] * n\n"
        "for i in range(1, n):\n"
        "    for j in range(i):\n"
        "        if pairs[i][0] > pairs[j][1] and best[i] < best[j] + 1:\n"
        "            best[i] = best[j] + 1\n"
        "print(max(best))\n"
    ),
    "compare": "tokens",
}


def answer_for(user: str) -> str:
    if "max_chain_length" in user:
        return "Here it is.\n\n```json\n" + json.dumps(CHAIN_ANSWER) + "\n```\n"
    if "echo_word" in user:
        return "```json\n" + json.dumps({**CHAIN_ANSWER, "title": "Echo", "tests": [{"input": "hi\n", "output": "hi\n"}],
                                         "solution": "print(input())\n"}) + "\n```"
    return "Sorry, I cannot help with that."


class FakeOpenAI:
    """A /v1/chat/completions endpoint in a thread; counts requests by content."""

    def __init__(self, fail_first: int = 0, retry_after: str | None = None):
        self.seen = Counter()
        self.fail_first = fail_first
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.lock:
                    if outer.fail_first > 0:
                        outer.fail_first -= 1
                        self.send_response(503)
                        if retry_after is not None:
                            self.send_header("Retry-After", retry_after)
                        self.end_headers()
                        return
                    outer.seen[hashlib.sha256(body).hexdigest()] += 1
                payload = json.loads(body)
                assert self.path == "/v1/chat/completions" and payload["model"] == "fake-model"
                content = answer_for(payload["messages"][-1]["content"])
                reply = json.dumps({"id": "x", "object": "chat.completion", "model": payload["model"],
                                    "choices": [{"index": 0, "finish_reason": "stop",
                                                 "message": {"role": "assistant", "content": content}}]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply.encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def requests(self) -> int:
        return sum(self.seen.values())

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    s = FakeOpenAI()
    yield s
    s.close()


def task(name, source_id):
    return SourceTask(source="mbpp", source_id=source_id, text=f"Write a function {name} (variant {source_id}).",
                      code=f"def {name}(x):\n    return x\n", tests=[f"assert {name}('a') == 'a'"])


def converter(server, tmp_path, **kw):
    return LLMConverter(base_url=server.base_url, model="fake-model", api_key="", cache_dir=tmp_path / "llm",
                        retry_base_s=0.01, **kw)


def test_answers_become_problems_and_bad_answers_are_dropped_with_a_reason(server, tmp_path):
    good, bad = converter(server, tmp_path).convert([task("echo_word", "1"), task("other", "2")])
    assert good.ok and good.problem.provenance.converter == "llm" and good.problem.provenance.model == "fake-model"
    assert good.problem.tests == [{"input": "hi\n", "output": "hi\n"}] and good.solution == "print(input())\n"
    assert not bad.ok and bad.reason == "llm_bad_answer"


def test_a_crash_and_rerun_sends_no_request_twice(server, tmp_path, monkeypatch):
    tasks = [task("echo_word", str(i)) for i in range(4)]
    real = llm_module.parse_answer
    calls = {"n": 0}

    def crashing(content):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated crash")
        return real(content)

    monkeypatch.setattr(llm_module, "parse_answer", crashing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        converter(server, tmp_path, concurrency=1).convert(tasks)
    before = server.requests
    assert before >= 2
    monkeypatch.setattr(llm_module, "parse_answer", real)
    again = converter(server, tmp_path, concurrency=2)
    results = again.convert(tasks)
    assert all(r.ok for r in results)
    assert set(server.seen.values()) == {1} and server.requests == 4  # each distinct request sent once
    third = converter(server, tmp_path)
    third.convert(tasks)
    assert third.client.requests_sent == 0 and server.requests == 4


def test_server_errors_are_retried(tmp_path):
    s = FakeOpenAI(fail_first=2)
    try:
        [conv] = converter(s, tmp_path).convert([task("echo_word", "1")])
        assert conv.ok
    finally:
        s.close()


def test_the_servers_retry_after_is_waited_for(tmp_path):
    s = FakeOpenAI(fail_first=1, retry_after="1")
    try:
        started = time.monotonic()
        [conv] = converter(s, tmp_path).convert([task("echo_word", "1")])
        assert conv.ok and time.monotonic() - started >= 1.0  # not the 0.01 s backoff of retry_base_s
    finally:
        s.close()


def test_progress_shows_one_bar_for_the_conversion(server, tmp_path, capsys):
    converter(server, tmp_path, progress=True).convert([task("echo_word", "1"), task("echo_word", "2")])
    err = capsys.readouterr().err
    assert "LLM conversion (fake-model)" in err and "2/2" in err


def test_an_endpoint_that_stays_down_is_reported_per_problem(tmp_path):
    conv = LLMConverter(base_url="http://127.0.0.1:9/v1", model="m", cache_dir=tmp_path, max_retries=1,
                        retry_base_s=0.01, timeout_s=2).convert([task("echo_word", "1")])[0]
    assert conv.reason == "llm_request_failed" and "failed 2 times" in conv.detail


def test_a_missing_model_is_a_clear_error(monkeypatch):
    for var in ("AGNOSTICS_LLM_MODEL", "OPENAI_MODEL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(LLMError, match="--llm-model"):
        LLMConverter()


def test_answers_are_checked_for_format_sections():
    with pytest.raises(llm_module.BadAnswer, match="Input format"):
        parse_answer(json.dumps({**CHAIN_ANSWER, "statement": "no sections"}))
    assert parse_answer("```json\n" + json.dumps(CHAIN_ANSWER) + "\n```")["compare"] == "tokens"


def test_both_converters_rescue_what_the_mechanical_one_refuses(server, tmp_path, sandbox):
    source = write_jsonl(tmp_path / "mbpp.jsonl", mbpp_rows([2, 601]))  # 601 builds Pair objects
    folder = build_dataset("ag-mbpp-x", source=str(source), converter="both", out_dir=tmp_path / "out", workers=2,
                           llm={"base_url": server.base_url, "model": "fake-model", "cache_dir": tmp_path / "llm"})
    report = BuildReport.load(folder)
    assert report.kept == 2 and report.kept_by_converter == {"mechanical": 1, "llm": 1}
    assert server.requests == 1
    card = (folder / "README.md").read_text()
    assert "fake-model" in card
