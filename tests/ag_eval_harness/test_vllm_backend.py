"""The vLLM backend drives vLLM's documented offline API (checked with a stand-in module)."""

import sys
import types

import pytest

from ag_eval.harness import EvalConfig
from ag_eval.harness.backends import GenRequest, SamplingSpec


class FakeTokenizer:
    chat_template = "chatml"

    def apply_chat_template(self, messages, tokenize, add_generation_prompt, **kwargs):
        assert tokenize is False and add_generation_prompt is True
        return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>" + str(kwargs)

    def encode(self, text, add_special_tokens):
        assert add_special_tokens is False  # the chat template already holds the special tokens
        return [ord(c) for c in text]


@pytest.fixture
def fake_vllm(monkeypatch):
    calls = {}

    class SamplingParams:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    class LLM:
        def __init__(self, **kw):
            calls["engine"] = kw

        def get_tokenizer(self):
            return FakeTokenizer()

        def generate(self, prompts, params, use_tqdm):
            calls.setdefault("generate", []).append((prompts, params))
            return [types.SimpleNamespace(outputs=[types.SimpleNamespace(text=f"{i}-{k}") for k in range(p.n)])
                    for i, p in enumerate(params)]

    module = types.ModuleType("vllm")
    module.LLM, module.SamplingParams, module.__version__ = LLM, SamplingParams, "0.0-test"
    monkeypatch.setitem(sys.modules, "vllm", module)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    return calls


def test_requests_become_sampling_params_and_token_prompts(fake_vllm):
    from ag_eval.harness.backends.vllm_backend import VLLMBackend

    cfg = EvalConfig(model="some/model", dataset="d", languages=["lua"], out_dir="o", seed=3,
                     chat_template_kwargs={"enable_thinking": False})
    backend = VLLMBackend.from_config(cfg)
    assert fake_vllm["engine"] == {"model": "some/model", "tensor_parallel_size": 1, "seed": 3, "dtype": "auto",
                                   "gpu_memory_utilization": 0.9}
    reqs = [GenRequest(index=0, n=3, messages=[{"role": "user", "content": "hi"}], seed=11),
            GenRequest(index=1, n=2, text="local function f(x)\n", stop=["\nlocal"], seed=12)]
    out = dict(backend.generate(reqs, SamplingSpec(temperature=0.2, top_p=0.95, max_new_tokens=64)))
    assert out == {0: ["0-0", "0-1", "0-2"], 1: ["1-0", "1-1"]}
    [(prompts, params)] = fake_vllm["generate"]
    assert prompts[0]["prompt_token_ids"][:6] == [ord(c) for c in "<user>"]
    assert "enable_thinking" in "".join(map(chr, prompts[0]["prompt_token_ids"]))
    assert prompts[1] == "local function f(x)\n"
    assert [(p.n, p.temperature, p.top_p, p.max_tokens, p.stop, p.seed) for p in params] == [
        (3, 0.2, 0.95, 64, None, 11), (2, 0.2, 0.95, 64, ["\nlocal"], 12)]


def test_greedy_asks_once_and_repeats(fake_vllm):
    from ag_eval.harness.backends.vllm_backend import VLLMBackend

    backend = VLLMBackend({"model": "m", "tensor_parallel_size": 1})
    out = dict(backend.generate([GenRequest(index=0, n=4, text="x")], SamplingSpec(0.0, 0.95, 8)))
    assert out == {0: ["0-0"] * 4}


def test_too_many_gpus_asked_is_refused(fake_vllm):
    from ag_eval.harness import BackendError
    from ag_eval.harness.backends.vllm_backend import VLLMBackend

    cfg = EvalConfig(model="m", dataset="d", languages=["lua"], out_dir="o", data_parallel_size=2)
    with pytest.raises(BackendError, match="needs 2 GPUs but 1 are visible"):
        VLLMBackend.from_config(cfg)
