"""`agnostics serve` over real HTTP on loopback: SandboxFusion's /run_code (through the
`sandbox-fusion` client itself and as verl posts it), /verify, /verify/stream, auth,
bad input, back-pressure, 64 concurrent clients and graceful shutdown."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.programs import SLOW_TO_COMPILE, TMP_FLOOD

PY_SUM = "a, b = map(int, input().split())\nprint(a + b)\n"
LUA_SUM = "local a, b = io.read('n', 'n')\nprint(a + b)\n"
BASH_SUM = "read a b\necho $((a + b))\n"
CASES = [("1 2\n", "3"), ("40 2\n", "42"), ("-5 5\n", "0")]
SLEEPY_PY = "import time\ntime.sleep({s})\nprint('{tag}')\n"


@pytest.fixture(scope="module")
def open_server(serve):
    """No token, loopback: what the sandbox-fusion client (which sends no header) talks to."""
    return serve("--workers", "2", "--max-inflight", "256")


@pytest.fixture(scope="module")
def guarded_server(serve):
    """A token, a small body limit and a small in-flight limit."""
    return serve("--workers", "2", "--max-inflight", "2", "--max-body-mb", "0.05", token="s3cret-token-for-tests")


# ---- SandboxFusion /run_code -----------------------------------------------------------------


@pytest.mark.parametrize("language,code", [("python", PY_SUM), ("lua", LUA_SUM), ("bash", BASH_SUM)])
def test_sandbox_fusion_client_runs_each_case_and_stdout_matches(open_server, requires, language, code):
    from sandbox_fusion import RunCodeRequest, RunStatus, run_code

    requires(language)
    for stdin, expected in CASES:  # as verl does: one request per test case, stdout compared by the client
        resp = run_code(RunCodeRequest(code=code, language=language, stdin=stdin, run_timeout=5, compile_timeout=5),
                        endpoint=open_server.url, max_attempts=1)
        assert resp.status == RunStatus.Success, resp
        assert resp.compile_result is None
        assert resp.run_result.status == "Finished" and resp.run_result.return_code == 0
        assert resp.run_result.stdout.rstrip("\n") == expected
        assert resp.files == {}


def test_runtime_error_is_failed_with_exit_code_and_stderr(open_server, requires):
    from sandbox_fusion import RunCodeRequest, RunStatus, run_code

    requires("python")
    resp = run_code(RunCodeRequest(code="print('before')\n1/0\n", language="python"), endpoint=open_server.url,
                    max_attempts=1)
    assert resp.status == RunStatus.Failed
    assert resp.run_result.status == "Finished" and resp.run_result.return_code == 1
    assert resp.run_result.stdout == "before\n" and "ZeroDivisionError" in resp.run_result.stderr


def test_timeout_is_failed_with_time_limit_exceeded(open_server, requires):
    from sandbox_fusion import RunCodeRequest, RunStatus, run_code

    requires("lua")
    resp = run_code(RunCodeRequest(code="while true do end", language="lua", run_timeout=1), endpoint=open_server.url,
                    max_attempts=1)
    assert resp.status == RunStatus.Failed
    assert resp.run_result.status == "TimeLimitExceeded"


@pytest.mark.parametrize("language,code,memory,verdict", [
    ("python", "x = bytearray(400 * 2**20)\nprint(len(x))\n", 64, "memory_limit"),
    ("python", "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n", None, "output_limit"),
])
def test_memory_and_output_limits_are_failed_and_named(open_server, requires, language, code, memory, verdict):
    requires(language)
    body = {"code": code, "language": language, "run_timeout": 5, **({"memory_limit_MB": memory} if memory else {})}
    answer = open_server.post("/run_code", json=body).json()
    assert answer["status"] == "Failed" and f"verdict {verdict}" in answer["message"], answer
    assert answer["run_result"]["status"] in ("Finished", "Error") and answer["run_result"]["return_code"] != 0


def test_compiled_language_reports_compile_result_and_compile_error(open_server, requires):
    from sandbox_fusion import RunCodeRequest, RunStatus, run_code

    requires("cpp")
    ok = run_code(RunCodeRequest(code="#include <cstdio>\nint main(){int a,b;scanf(\"%d %d\",&a,&b);printf(\"%d\\n\",a+b);}",
                                 language="cpp", stdin="2 3\n"), endpoint=open_server.url, max_attempts=1)
    assert ok.status == RunStatus.Success and ok.run_result.stdout == "5\n"
    assert ok.compile_result.status == "Finished" and ok.compile_result.return_code == 0
    bad = run_code(RunCodeRequest(code="int main( { return 0; }", language="cpp"), endpoint=open_server.url,
                   max_attempts=1)
    assert bad.status == RunStatus.Failed and bad.run_result is None
    assert bad.compile_result.status == "Finished" and bad.compile_result.return_code != 0
    assert "error" in bad.compile_result.stderr


def test_compile_timeout_is_the_compile_steps_limit(open_server, requires):
    from sandbox_fusion import RunCodeRequest, RunStatus, run_code

    requires("cpp")
    resp = run_code(RunCodeRequest(code=SLOW_TO_COMPILE, language="cpp", compile_timeout=1), endpoint=open_server.url,
                    max_attempts=1)
    assert resp.status == RunStatus.Failed and resp.run_result is None, resp
    assert resp.compile_result.status == "TimeLimitExceeded" and resp.message == "compile time limit", resp
    assert resp.compile_result.execution_time < 2 * 1 + 1.5  # the request's limit, not the runner's (30 s)


def test_verl_payload_is_answered_with_the_fields_verl_reads(open_server, requires):
    requires("python")
    payload = json.dumps({"compile_timeout": 10, "run_timeout": 10, "code": PY_SUM, "stdin": "20 22\n",
                          "language": "python", "files": {}, "fetch_files": [], "memory_limit_MB": 1024})
    r = httpx.post(open_server.url + "/run_code", content=payload, timeout=30,
                   headers={"Content-Type": "application/json", "Accept": "application/json"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "Success" and body["compile_result"] is None
    run = body["run_result"]
    assert run["status"] == "Finished" and run["return_code"] == 0 and run["stdout"] == "42\n"
    assert isinstance(run["execution_time"], float) and run["stderr"] == ""


def test_sandbox_fusion_language_names_are_aliases(open_server, requires):
    requires("javascript")
    r = open_server.post("/run_code", json={"code": "console.log('hi')", "language": "nodejs"})
    assert r.status_code == 200 and r.json()["run_result"]["stdout"] == "hi\n"


def test_long_stdout_and_stderr_come_back_whole(open_server, requires):
    """verl compares run_result.stdout itself: a long output cut short would score a right program as wrong."""
    requires("python")
    code = "import sys\nprint('é' * 5000)\nprint(''.join(str(i % 10) for i in range(300000)))\nsys.stderr.write('w' * 4000)\n"
    r = open_server.post("/run_code", json={"code": code, "language": "python"})
    body = r.json()
    assert r.status_code == 200 and body["status"] == "Success", body["message"]
    expected = "é" * 5000 + "\n" + "".join(str(i % 10) for i in range(300000)) + "\n"
    assert body["run_result"]["stdout"] == expected
    assert body["run_result"]["stderr"] == "w" * 4000


# ---- /verify and /verify/stream -------------------------------------------------------------


def test_verify_one_job_gives_the_verify_batch_result(open_server, requires):
    requires("lua")
    r = open_server.post("/verify", json={"id": "p1", "language": "lua", "code": LUA_SUM,
                                          "tests": [{"input": i, "output": o} for i, o in CASES]})
    assert r.status_code == 200
    result = r.json()
    assert result["id"] == "p1" and result["verdict"] == "pass" and result["passed"] == result["total"] == 3
    assert set(result) >= {"compile", "tests", "language", "time_s"}


def test_verify_batch_bad_job_fails_only_itself(open_server, requires):
    requires("lua")
    jobs = [{"id": "good", "language": "lua", "code": LUA_SUM, "tests": [{"input": "1 1", "output": "2"}]},
            "not a job",
            {"id": "klingon", "language": "klingon", "code": "x", "tests": [{"input": "", "output": ""}]},
            {"id": "wrong", "language": "lua", "code": "print(7)", "tests": [{"input": "1 1", "output": "2"}]},
            {"id": "limits", "language": "lua", "code": "print(1)", "tests": [], "time_limit_s": "5"}]
    r = open_server.post("/verify", json={"jobs": jobs})
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["id"] for x in results] == ["good", "job-1", "klingon", "wrong", "limits"]
    assert [x["verdict"] for x in results] == ["pass", "sandbox_error", "sandbox_error", "wrong_output", "sandbox_error"]
    assert "unknown language" in results[2]["error"]


def test_verify_stream_sends_results_as_they_finish(open_server, requires):
    requires("python")
    requires("lua")
    lines = [json.dumps({"id": "slow", "language": "python", "code": SLEEPY_PY.format(s=1.5, tag="slow"),
                         "tests": [{"input": "", "output": "slow"}]}),
             "{not json",
             *(json.dumps({"id": f"fast{i}", "language": "lua", "code": f"print({i})",
                           "tests": [{"input": "", "output": str(i)}]}) for i in range(4))]
    order = []
    with httpx.stream("POST", open_server.url + "/verify/stream", content="\n".join(lines) + "\n", timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
        for line in r.iter_lines():
            if line:
                order.append(json.loads(line))
    assert len(order) == 6
    by_id = {x["id"]: x for x in order}
    assert by_id["line-2"]["verdict"] == "sandbox_error" and "not valid JSON" in by_id["line-2"]["error"]
    assert all(by_id[f"fast{i}"]["verdict"] == "pass" for i in range(4)) and by_id["slow"]["verdict"] == "pass"
    assert order[-1]["id"] == "slow"  # finished last, sent last: nothing waited for it


def test_verify_stream_takes_a_jobs_object_too(open_server, requires):
    requires("lua")
    jobs = [{"id": str(i), "language": "lua", "code": f"print({i})", "tests": [{"input": "", "output": str(i)}]}
            for i in range(3)]
    r = open_server.post("/verify/stream", json={"jobs": jobs})
    got = [json.loads(line) for line in r.text.splitlines()]
    assert sorted(x["id"] for x in got) == ["0", "1", "2"] and {x["verdict"] for x in got} == {"pass"}


# ---- health, metrics --------------------------------------------------------------------------


def test_health_lists_languages_and_toolchains(open_server):
    body = httpx.get(open_server.url + "/health", timeout=10).json()
    assert body["status"] == "ok" and body["version"]
    assert "lua" in body["languages"] and isinstance(body["languages"]["lua"]["installed"], bool)
    assert body["sandbox_fusion_languages"]["nodejs"] == "javascript"


def test_metrics_count_requests_verdicts_and_latency(open_server, requires):
    requires("lua")
    open_server.post("/run_code", json={"code": "print(1)", "language": "lua"})
    text = open_server.get("/metrics").text
    assert 'agnostics_requests_total{code="200",endpoint="/run_code"}' in text
    passed = [l for l in text.splitlines() if l.startswith('agnostics_verdicts_total{verdict="pass"}')]
    assert passed and float(passed[0].split()[-1]) >= 1
    assert 'agnostics_request_latency_seconds_bucket{endpoint="/run_code",le="0.5"}' in text
    assert "agnostics_inflight_jobs 0.0" in text


def _metric(text: str, name: str) -> float:
    return float(next(l for l in text.splitlines() if l.startswith(name + " ")).split()[-1])


def test_metrics_count_jail_starts_and_restarts(serve, requires):
    """A program that poisons its warm jail mid-program: the poisoned jail and its replacement are counted."""
    requires("python")
    server = serve("--workers", "1")
    flood = TMP_FLOOD
    r = server.post("/verify", json={"id": "f", "language": "python", "code": flood, "time_limit_s": 5,
                                     "memory_limit_mb": 1024, "tests": [{"input": "", "output": "done"}] * 2})
    assert r.json()["verdict"] == "pass", r.json()
    text = server.get("/metrics").text
    assert _metric(text, "agnostics_jails_started_total") == 2
    assert _metric(text, "agnostics_jails_restarted_total") == 1
    assert _metric(text, "agnostics_jails_poisoned_total") == 2
    assert _metric(text, "agnostics_jails_discarded_total") == 1
    assert _metric(text, "agnostics_reruns_total") == 0  # it printed and ended: nothing waited


# ---- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("body,needle", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    (b"[1, 2]", "JSON object"),
    (json.dumps({"code": "print(1)", "language": "python", "files": {"a.txt": "aGk="}}).encode(), "'files' is not supported"),
    (json.dumps({"code": "print(1)", "language": "python", "fetch_files": ["out.txt"]}).encode(), "'fetch_files' is not supported"),
    (json.dumps({"code": "print(1)", "language": "python", "extra_args": 1}).encode(), "unknown field"),
    (json.dumps({"code": "print(1)", "language": "klingon"}).encode(), "known languages: "),
    (json.dumps({"code": "def test(): pass", "language": "pytest"}).encode(), "test-framework mode"),
    (json.dumps({"language": "python"}).encode(), "'code'"),
    (json.dumps({"code": "print(1)", "language": "python", "run_timeout": "ten"}).encode(), "run_timeout"),
    (json.dumps({"code": "print(1)", "language": "python", "memory_limit_MB": 4}).encode(), "memory_limit_MB"),
])
def test_bad_run_code_request_is_400_with_the_reason(open_server, body, needle):
    r = httpx.post(open_server.url + "/run_code", content=body, timeout=30)
    assert r.status_code == 400 and needle in r.json()["error"], r.text


def test_bad_verify_request_is_400_and_service_keeps_serving(open_server):
    for body in (b"42", json.dumps({"id": "x", "language": "klingon", "code": "x", "tests": [{"input": ""}]}).encode(),
                 json.dumps({"jobs": "nope"}).encode(), json.dumps({"id": "x", "language": "lua"}).encode()):
        assert httpx.post(open_server.url + "/verify", content=body, timeout=30).status_code == 400
    assert httpx.get(open_server.url + "/health", timeout=10).status_code == 200


# ---- auth, limits, back-pressure ------------------------------------------------------------


def test_token_is_required_except_for_health(guarded_server):
    url = guarded_server.url
    assert httpx.get(url + "/health", timeout=10).status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token-for-tests"}):
        r = httpx.post(url + "/run_code", json={"code": "print(1)", "language": "lua"}, headers=headers, timeout=10)
        assert r.status_code == 401 and "Authorization: Bearer" in r.json()["error"]
        assert httpx.get(url + "/metrics", headers=headers, timeout=10).status_code == 401
    assert guarded_server.get("/metrics").status_code == 200


def test_body_over_the_limit_is_413(guarded_server):
    r = guarded_server.post("/run_code", json={"code": "x" * 100_000, "language": "lua"})
    assert r.status_code == 413 and "--max-body-mb" in r.json()["error"]


def test_more_jobs_than_max_inflight_is_429_with_retry_after(guarded_server, requires):
    requires("python")
    slow = {"language": "python", "code": SLEEPY_PY.format(s=1.5, tag="z"), "tests": [{"input": "", "output": "z"}]}
    assert guarded_server.post("/verify", json={"jobs": [slow] * 3}).status_code == 413  # can never fit
    batch = {}
    worker = threading.Thread(target=lambda: batch.setdefault("r", guarded_server.post("/verify", json={"jobs": [slow] * 2})))
    worker.start()
    deadline = time.monotonic() + 10
    while httpx.get(guarded_server.url + "/health", timeout=10).json()["inflight"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    r = guarded_server.post("/run_code", json={"code": "print(1)", "language": "python"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    worker.join()
    assert [x["verdict"] for x in batch["r"].json()["results"]] == ["pass", "pass"]  # the held jobs were not harmed
    assert guarded_server.post("/run_code", json={"code": "print(1)", "language": "python"}).json()["status"] == "Success"


def test_binding_off_loopback_without_a_token_is_refused():
    out = subprocess.run([sys.executable, "-m", "agnostics", "serve", "--host", "0.0.0.0", "--port", "1"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "without a token" in out.stderr and "--token-file" in out.stderr


# ---- concurrency and shutdown ---------------------------------------------------------------


def test_64_concurrent_clients_each_get_their_own_answer(open_server, requires):
    requires("lua")

    def one(i: int) -> tuple[int, dict]:
        r = httpx.post(open_server.url + "/run_code", timeout=120,
                       json={"code": "print(io.read('n') * 3)", "language": "lua", "stdin": f"{i}\n"})
        return i, r.json()

    with ThreadPoolExecutor(64) as pool:
        answers = list(pool.map(one, range(64)))
    assert all(body["status"] == "Success" and body["run_result"]["stdout"] == f"{3 * i}\n" for i, body in answers)


def test_sigterm_finishes_jobs_in_flight_then_exits(serve, requires):
    requires("python")
    server = serve("--workers", "2")
    got = {}

    def call() -> None:
        got["r"] = httpx.post(server.url + "/run_code", timeout=60,
                              json={"code": SLEEPY_PY.format(s=1.5, tag="done"), "language": "python"})

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 10
    while httpx.get(server.url + "/health", timeout=10).json()["inflight"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.proc.send_signal(signal.SIGTERM)
    caller.join(60)
    assert got["r"].status_code == 200
    body = got["r"].json()
    assert body["status"] == "Success" and body["run_result"]["stdout"] == "done\n"
    assert server.proc.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once done
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/health", timeout=5)
