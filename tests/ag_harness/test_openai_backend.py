"""The OpenAI-compatible backend against a local server that fails, throttles, then answers."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from ag_harness import BackendError, EvalConfig, run_eval
from ag_harness.backends.openai_backend import normalise_base_url

RIGHT = {
    "SUM": "```python\na, b = map(int, input().split())\nprint(a + b)\n```",
    "REVERSE": "Sure.\n```python\nprint(input()[::-1])\n```",
}
WRONG = {
    "SUM": "```python\nprint(0)\n```",
    "LARGEST": "```python\nprint(min(map(int, input().split())))\n```",
}


class Endpoint:
    """An OpenAI-like /v1/chat/completions: the 1st request gets HTTP 500, the 2nd 429, then answers."""

    def __init__(self, all_right=False):
        self.log = []
        self.all_right = all_right
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with endpoint.lock:
                    endpoint.log.append((self.path, body))
                    count = len(endpoint.log)
                if count == 1:
                    return self._send(500, {"error": {"message": "engine overloaded"}})
                if count == 2:
                    return self._send(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
                if self.path != "/v1/chat/completions" or body["model"] == "no-such-model":
                    return self._send(404, {"error": {"message": f"model {body['model']} does not exist"}})
                self._send(200, endpoint.reply(body))

            def _send(self, status, payload, headers=None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reply(self, body):
        prompt = body["messages"][-1]["content"]
        kind = next(k for k in ("SUM", "REVERSE", "LARGEST") if k in prompt)
        if self.all_right:
            texts = [RIGHT.get(kind, "```python\nprint(max(map(int, input().split())))\n```")] * body["n"]
        elif kind == "SUM":  # one right, one wrong
            texts = [RIGHT["SUM"], WRONG["SUM"]][: body["n"]]
        elif kind == "REVERSE":  # a server that ignores n: one choice per request
            texts = [RIGHT["REVERSE"]]
        else:  # no code at all, then a wrong program
            texts = ["I cannot solve this.", WRONG["LARGEST"]][: body["n"]]
        return {"id": "x", "object": "chat.completion", "model": body["model"],
                "choices": [{"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
                            for i, t in enumerate(texts)]}

    def close(self):
        self.server.shutdown()


@pytest.fixture
def endpoint():
    ep = Endpoint()
    yield ep
    ep.close()


def config(io_problems, out, url, **kw):
    return EvalConfig(model="served-model", dataset=str(io_problems), languages=["python"], backend="openai",
                      base_url=url, api_key="secret", n_samples=2, out_dir=str(out), retry_wait_s=0.01,
                      concurrency=2, workers=2, **kw)


def test_pass_at_1_is_exact_after_an_error_and_a_retry(tmp_path, io_problems, endpoint, requires):
    requires("python")
    summary = run_eval(config(io_problems, tmp_path / "run", endpoint.url))
    [result] = summary["results"]
    assert result["pass@1"] == pytest.approx(0.5)  # sum 1/2, reverse 2/2, largest 0/2
    assert result["problems"] == 3 and result["samples"] == 6
    assert {k: v for k, v in result["verdicts"].items() if v} == {"pass": 3, "wrong_output": 2, "no_code": 1}
    statuses = [path for path, _ in endpoint.log]
    assert len(statuses) >= 5  # 500 and 429 were retried; reverse was asked twice (the server ignores n)
    reverse_calls = [b for _, b in endpoint.log[2:] if "REVERSE" in b["messages"][-1]["content"]]
    assert [b["n"] for b in reverse_calls] == [2, 1]
    first = endpoint.log[0][1]
    assert (first["temperature"], first["top_p"], first["max_tokens"]) == (0.2, 0.95, 1024)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["config"]["api_key"] == "set" and "secret" not in (tmp_path / "run" / "run.json").read_text()
    assert run["sessions"][-1]["backend"]["retries"] == 2


def test_a_refused_request_names_the_endpoint(tmp_path, io_problems, endpoint, requires):
    requires("python")
    cfg = config(io_problems, tmp_path / "run", endpoint.url)
    cfg.model = "no-such-model"
    with pytest.raises(BackendError, match="refused the request"):
        run_eval(cfg)


def test_cli_eval_then_report_shows_the_delta(tmp_path, io_problems, requires):
    requires("python")
    from agnostics.cli import main

    runner = CliRunner()
    outs = []
    for all_right in (False, True):
        ep = Endpoint(all_right=all_right)
        out = tmp_path / f"run-{all_right}"
        try:
            res = runner.invoke(main, ["eval", "--model", "served-model", "--dataset", str(io_problems), "-l", "python",
                                       "--backend", "openai", "--base-url", ep.url, "-n", "2", "--out", str(out),
                                       "--retry-wait", "0.01", "--workers", "2", "--no-progress"])
        finally:
            ep.close()
        assert res.exit_code == 0, res.output
        assert "| toy | python | 3 | 2 |" in res.output
        outs.append(out)
    res = runner.invoke(main, ["report", *map(str, outs), "--label", "base", "--label", "tuned", "--out", str(tmp_path / "cmp")])
    assert res.exit_code == 0, res.output
    assert "| toy | python | 50.0" in res.output and "+50.0" in res.output
    assert (tmp_path / "cmp" / "report.png").stat().st_size > 0


def test_base_url_gets_v1_when_it_has_no_path():
    assert normalise_base_url("http://localhost:8000") == "http://localhost:8000/v1"
    assert normalise_base_url("https://api.example.com/v1/") == "https://api.example.com/v1"


def test_missing_endpoint_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    from ag_harness import EvalError

    with pytest.raises(EvalError, match="--base-url"):
        EvalConfig(model="m", dataset="d", out_dir="o", backend="openai")
