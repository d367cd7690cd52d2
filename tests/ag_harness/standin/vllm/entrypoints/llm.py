"""``LLM``: the offline entry point (upstream's ``vllm/entrypoints/llm.py``)."""

import itertools
from collections.abc import Sequence

from vllm import envs
from vllm.outputs import CompletionOutput, RequestOutput
from vllm.sampling_params import SamplingParams
from vllm.tokenizer import StandinTokenizer
from vllm.v1.engine.core import EngineCoreRequest
from vllm.v1.engine.core_client import make_client

ENGINE_ARGS = {"tokenizer", "tensor_parallel_size", "dtype", "seed", "gpu_memory_utilization", "max_model_len",
               "trust_remote_code", "enforce_eager", "revision", "quantization", "max_num_seqs",
               "data_parallel_size", "disable_log_stats", "enable_prefix_caching"}


class LLMEngine:
    """The front end: tokenizer, and the client of the engine core."""

    def __init__(self, engine_kwargs: dict, multiprocess_mode: bool):
        self.tokenizer = StandinTokenizer()
        self.engine_core = make_client(multiprocess_mode, engine_kwargs)


class LLM:
    def __init__(self, model: str, *, tensor_parallel_size: int = 1, dtype: str = "auto", seed: int | None = 0,
                 gpu_memory_utilization: float = 0.9, **kwargs):
        unknown = sorted(set(kwargs) - ENGINE_ARGS)
        if unknown:
            raise TypeError(f"EngineArgs.__init__() got an unexpected keyword argument '{unknown[0]}'")
        if not 0 < gpu_memory_utilization <= 1:
            raise ValueError(f"GPU memory utilization must be within (0, 1]. Got {gpu_memory_utilization}.")
        devices = [d for d in (envs.CUDA_VISIBLE_DEVICES or "").split(",") if d.strip()]
        if not devices:
            raise RuntimeError("Failed to infer device type: no GPU is visible (CUDA_VISIBLE_DEVICES unset or empty).")
        if tensor_parallel_size > len(devices):
            raise ValueError(f"Tensor parallel size ({tensor_parallel_size}) cannot be larger than the number of "
                             f"available GPUs ({len(devices)}).")
        engine_kwargs = {"model": model, "seed": seed, "tensor_parallel_size": tensor_parallel_size, "dtype": dtype}
        self.llm_engine = LLMEngine(engine_kwargs, envs.VLLM_ENABLE_V1_MULTIPROCESSING)
        self.request_counter = itertools.count()

    def get_tokenizer(self) -> StandinTokenizer:
        return self.llm_engine.tokenizer

    def generate(self, prompts, sampling_params: SamplingParams | Sequence[SamplingParams] | None = None, *,
                 use_tqdm: bool = True, lora_request=None) -> list[RequestOutput]:
        if isinstance(prompts, (str, dict)):
            prompts = [prompts]
        if sampling_params is None:
            sampling_params = SamplingParams()
        if isinstance(sampling_params, SamplingParams):
            sampling_params = [sampling_params] * len(prompts)
        elif len(sampling_params) != len(prompts):
            raise ValueError("The lengths of prompts and sampling_params must be the same.")
        tokenizer = self.get_tokenizer()
        core = self.llm_engine.engine_core
        pending: dict[str, tuple[str | None, list[int]]] = {}
        for prompt, params in zip(prompts, sampling_params):
            if isinstance(prompt, str):
                prompt = {"prompt": prompt}
            text = prompt.get("prompt")
            token_ids = prompt["prompt_token_ids"] if "prompt_token_ids" in prompt else tokenizer.encode(text)
            request_id = str(next(self.request_counter))
            pending[request_id] = (text, list(token_ids))
            core.add_request(EngineCoreRequest(request_id, list(token_ids), params))
        finished: list[RequestOutput] = []
        while len(finished) < len(pending):
            out = core.get_output()
            text, token_ids = pending[out.request_id]
            samples = [CompletionOutput(index=i, text=t, token_ids=ids, cumulative_logprob=None, logprobs=None,
                                        finish_reason=finish, stop_reason=stop)
                       for i, (t, ids, finish, stop) in enumerate(out.samples)]
            finished.append(RequestOutput(out.request_id, text, token_ids, None, samples, finished=True))
        return sorted(finished, key=lambda o: int(o.request_id))

    def chat(self, messages, sampling_params=None, *, use_tqdm: bool = True, chat_template_kwargs: dict | None = None,
             add_generation_prompt: bool = True) -> list[RequestOutput]:
        conversations = [messages] if messages and isinstance(messages[0], dict) else messages
        tokenizer = self.get_tokenizer()
        prompts = [{"prompt_token_ids": tokenizer.apply_chat_template(c, tokenize=True,
                                                                      add_generation_prompt=add_generation_prompt,
                                                                      **(chat_template_kwargs or {}))}
                   for c in conversations]
        return self.generate(prompts, sampling_params, use_tqdm=use_tqdm)
