"""The vLLM backend drives vLLM's offline API, checked against the stand-in ``vllm`` (standin/):
requests become vLLM's inputs, engines live in replica processes that are never left behind."""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from ag_harness import BackendError, EvalConfig
from ag_harness.backends import GenRequest, SamplingSpec

from .standin import HERE as STANDIN
from .standin import standin_model, standin_vllm  # noqa: F401 (fixtures)
from .test_vllm_data_parallel import assert_gone, records


def test_requests_become_sampling_params_and_token_prompts(standin_vllm, standin_model, tmp_path):
    from ag_harness.backends.vllm_backend import VLLMBackend

    log = tmp_path / "requests.jsonl"
    cfg = EvalConfig(model=standin_model(record=str(log)), dataset="d", languages=["lua"], out_dir="o", seed=3,
                     chat_template_kwargs={"enable_thinking": False})
    backend = VLLMBackend.from_config(cfg)
    assert backend.dp == 1 and backend.engine_args == {"model": cfg.model, "tensor_parallel_size": 1, "seed": 3,
                                                       "dtype": "auto", "gpu_memory_utilization": 0.9}
    reqs = [GenRequest(index=0, n=3, messages=[{"role": "user", "content": "hi"}], seed=11),
            GenRequest(index=1, n=2, text="local function f(x)\n", stop=["\nprint"], seed=12)]
    try:
        out = dict(backend.generate(reqs, SamplingSpec(temperature=0.2, top_p=0.95, max_new_tokens=64)))
    finally:
        backend.close()
    assert [len(out[0]), len(out[1])] == [3, 2]
    assert [t.splitlines()[1] for t in out[0]] == ["# gpu 0 sample 0", "# gpu 0 sample 1", "# gpu 0 sample 2"]
    assert all("print" not in t for t in out[1])  # cut at the stop string
    chat, raw = records(log)
    rendered = "".join(map(chr, chat["prompt_token_ids"]))
    assert rendered == ("<|im_start|>system\nenable_thinking=False<|im_end|>\n"
                        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")  # no second BOS token
    assert raw["prompt_token_ids"][0] == 1  # a text prompt is tokenized by vLLM, with its BOS token
    assert chat["sampling_params"] == {"n": 3, "temperature": 0.2, "top_p": 0.95, "max_tokens": 64, "stop": [],
                                       "seed": 11}
    assert raw["sampling_params"]["stop"] == ["\nprint"] and raw["sampling_params"]["seed"] == 12
    assert_gone({chat["pid"]})


def test_greedy_asks_once_and_repeats(standin_vllm, standin_model, tmp_path):
    from ag_harness.backends.vllm_backend import VLLMBackend

    log = tmp_path / "requests.jsonl"
    backend = VLLMBackend({"model": standin_model(record=str(log)), "tensor_parallel_size": 1})
    try:
        out = dict(backend.generate([GenRequest(index=0, n=4, text="x")], SamplingSpec(0.0, 0.95, 200)))
    finally:
        backend.close()
    assert out == {0: ["```python\n# gpu 0 sample 0\nprint(0)\n```"] * 4}
    assert [r["sampling_params"]["n"] for r in records(log)] == [1]  # vLLM refuses n > 1 when greedy


def test_engines_are_kept_between_calls_and_stopped_by_close(standin_vllm, standin_model, tmp_path):
    from ag_harness.backends.vllm_backend import VLLMBackend

    log = tmp_path / "requests.jsonl"
    backend = VLLMBackend({"model": standin_model(record=str(log)), "tensor_parallel_size": 1})
    for i in range(2):
        assert len(list(backend.generate([GenRequest(index=i, n=1, text="x")], SamplingSpec(0.2, 0.95, 8)))) == 1
    assert len({r["pid"] for r in records(log)}) == 1  # one engine served both calls
    backend.close()
    assert multiprocessing.active_children() == []
    assert_gone({r["pid"] for r in records(log)})


def test_an_abandoned_generation_stops_the_engines(standin_vllm, standin_model, tmp_path, monkeypatch):
    from ag_harness.backends.vllm_backend import VLLMBackend

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    log = tmp_path / "requests.jsonl"
    backend = VLLMBackend({"model": standin_model(record=str(log), delay_s=0.2), "tensor_parallel_size": 1},
                          data_parallel_size=2)
    results = backend.generate([GenRequest(index=i, n=1, text="x") for i in range(8)], SamplingSpec(0.2, 0.95, 8))
    next(results)
    results.close()  # the consumer stopped (an exception in its loop, say)
    assert multiprocessing.active_children() == []
    assert_gone({r["pid"] for r in records(log)})
    backend.close()


def test_the_engine_core_may_run_in_the_replica(standin_vllm, standin_model, tmp_path, monkeypatch):
    from ag_harness.backends.vllm_backend import VLLMBackend

    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    log = tmp_path / "requests.jsonl"
    backend = VLLMBackend({"model": standin_model(record=str(log)), "tensor_parallel_size": 1})
    try:
        assert len(list(backend.generate([GenRequest(index=0, n=2, text="x")], SamplingSpec(0.2, 0.95, 8)))) == 1
        [replica] = backend._pool.replicas
        assert records(log)[0]["pid"] == replica.proc.pid
    finally:
        backend.close()


def test_too_many_gpus_asked_is_refused(standin_vllm):
    from ag_harness.backends.vllm_backend import VLLMBackend

    cfg = EvalConfig(model="m", dataset="d", languages=["lua"], out_dir="o", data_parallel_size=2)
    with pytest.raises(BackendError, match="needs 2 GPUs but 1 are visible"):
        VLLMBackend.from_config(cfg)
    backend = VLLMBackend({"model": "m", "tensor_parallel_size": 1}, data_parallel_size=2)
    with pytest.raises(BackendError, match="needs 2 GPUs but 1 are visible"):
        list(backend.generate([GenRequest(index=0, n=1, text="x")], SamplingSpec(0.2, 0.95, 8)))
    assert multiprocessing.active_children() == []


def test_ctrl_c_leaves_no_process_behind(standin_model, tmp_path):
    """SIGINT to the foreground process group, as a terminal sends it, mid-generation on two engines."""
    log = tmp_path / "requests.jsonl"
    model = standin_model(record=str(log), delay_s=0.5)
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(STANDIN)!r})
        from ag_harness.backends import GenRequest, SamplingSpec
        from ag_harness.backends.vllm_backend import VLLMBackend

        if __name__ == "__main__":
            backend = VLLMBackend({{"model": {model!r}, "tensor_parallel_size": 1}}, data_parallel_size=2)
            for i, _ in enumerate(backend.generate([GenRequest(index=i, n=1, text="x") for i in range(40)],
                                                   SamplingSpec(0.2, 0.95, 8))):
                if i == 0:
                    print(*[r.proc.pid for r in backend._pool.replicas], flush=True)
        """)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "0,1"}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path, start_new_session=True)
    try:
        replicas = [int(p) for p in proc.stdout.readline().split()]
        assert len(replicas) == 2, proc.stderr.read()
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "KeyboardInterrupt" in proc.stderr.read()
    assert_gone(set(replicas) | {r["pid"] for r in records(log)})


def test_the_standin_refuses_an_engine_in_a_daemonic_process(standin_vllm, standin_model):
    """As with vLLM: its engine core is a child process, which a daemonic process may not have."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_build_engine, args=(standin_model(), child), daemon=True)
    proc.start()
    proc.join(60)
    assert parent.recv() == "AssertionError: daemonic processes are not allowed to have children"


def _build_engine(model, conn):
    from vllm import LLM

    try:
        LLM(model)
        conn.send("built")
    except BaseException as exc:
        conn.send(f"{type(exc).__name__}: {exc}")


def test_the_standin_validates_like_vllm(standin_vllm, monkeypatch):
    from vllm import LLM, SamplingParams

    for bad, message in [({"n": 0}, "n must be at least 1"), ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"),
                         ({"temperature": 2.5}, r"temperature must be in \[0, 2\]"),
                         ({"max_tokens": 0}, "max_tokens must be at least 1"),
                         ({"n": 2, "temperature": 0.0}, "n must be 1 when using greedy sampling"),
                         ({"stop": [""]}, "stop cannot contain an empty string")]:
        with pytest.raises(ValueError, match=message):
            SamplingParams(**bad)
    assert SamplingParams(stop="x", seed=-1).stop == ["x"] and SamplingParams(seed=-1).seed is None
    with pytest.raises(ValueError, match=r"Tensor parallel size \(2\) cannot be larger than the number of available"):
        LLM("m", tensor_parallel_size=2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    with pytest.raises(RuntimeError, match="Failed to infer device type"):
        LLM("m")


def test_the_standin_returns_vllm_shaped_outputs(standin_vllm, standin_model):
    from vllm import LLM, SamplingParams

    llm = LLM(standin_model(reply="abc STOP def"))
    try:
        [a, b] = llm.generate(["hi", {"prompt_token_ids": [104, 105]}],
                              [SamplingParams(n=2, temperature=0.7, max_tokens=2), SamplingParams(stop=["STOP"])],
                              use_tqdm=False)
        [c] = llm.chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=100))
    finally:
        llm.llm_engine.engine_core.shutdown()
    assert (a.request_id, a.prompt, a.prompt_token_ids, a.finished) == ("0", "hi", [1, 104, 105], True)
    assert [(o.index, o.text, list(o.token_ids), o.finish_reason) for o in a.outputs] == [
        (0, "ab", [97, 98], "length"), (1, "ab", [97, 98], "length")]
    assert (b.prompt, b.outputs[0].text, b.outputs[0].finish_reason, b.outputs[0].stop_reason) == (
        None, "abc ", "stop", "STOP")
    assert c.outputs[0].text == "abc STOP def" and c.prompt_token_ids[:12] == [ord(ch) for ch in "<|im_start|>"]
