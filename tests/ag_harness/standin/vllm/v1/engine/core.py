"""The engine core: the stand-in model, and the busy loop it runs in its own process.

As upstream's ``run_engine_core``: SIGTERM and SIGINT end the loop cleanly; a failure while
starting is logged and ends the process with status 1; a failure while running is logged and
reported to the client with a dead-engine message before the process exits.
"""

import json
import os
import random
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from vllm import envs
from vllm.logger import init_logger
from vllm.tokenizer import StandinTokenizer

logger = init_logger(__name__)

DEFAULT_REPLY = "```python\n# gpu {device} sample {sample}\nprint({number})\n```"
ENGINE_CORE_DEAD = "ENGINE_CORE_DEAD"


@dataclass
class EngineCoreRequest:
    request_id: str
    prompt_token_ids: list[int]
    sampling_params: object


@dataclass
class EngineCoreOutput:
    request_id: str
    samples: list[tuple[str, list[int], str, str | None]]  # text, token ids, finish reason, stop reason


def load_standin_config(model: str) -> dict:
    path = Path(model) / "config.json"
    return json.loads(path.read_text(encoding="utf-8")).get("standin", {}) if path.is_file() else {}


class EngineCore:
    """Loads the "model" on the visible GPUs and answers requests one at a time."""

    def __init__(self, model: str, seed: int | None = 0, **_engine_args):
        self.device = envs.CUDA_VISIBLE_DEVICES or ""
        self.config = load_standin_config(model)
        if self.config.get("fail_startup"):
            raise RuntimeError(f"CUDA out of memory while loading {model} on GPU(s) {self.device}.")
        self.tokenizer = StandinTokenizer()
        self.seed = seed or 0
        self.served = 0
        logger.info("engine core for %s ready on GPU(s) %s (pid %d)", model, self.device, os.getpid())

    def _maybe_die(self) -> None:
        die = self.config.get("die")
        if not die or str(die["device"]) != self.device or self.served < die["after_requests"]:
            return
        if die.get("how", "kill") == "kill":
            os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    def add_request(self, request: EngineCoreRequest) -> EngineCoreOutput:
        self._maybe_die()
        time.sleep(self.config.get("delay_s", 0))  # a slow model
        self.served += 1
        params = request.sampling_params
        if self.config.get("record"):
            fields = ("n", "temperature", "top_p", "max_tokens", "stop", "seed")
            line = {"device": self.device, "pid": os.getpid(), "prompt_token_ids": request.prompt_token_ids,
                    "sampling_params": {k: getattr(params, k) for k in fields}}
            with open(self.config["record"], "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
        greedy = params.temperature < 1e-5
        rng = random.Random(f"{params.seed}" if params.seed is not None else f"{self.seed}/{request.request_id}")
        template = self.config.get("reply", DEFAULT_REPLY)
        texts = [template.format(device=self.device, sample=k, number=0 if greedy else rng.randrange(100))
                 for k in range(params.n)]
        samples = [self._finish(text, params) for text in texts]
        return EngineCoreOutput(request.request_id, samples)

    def _finish(self, text: str, params) -> tuple[str, list[int], str, str | None]:
        finish, stop_reason = "stop", None
        hits = [(text.find(s), s) for s in params.stop if s in text]
        if hits:
            at, stop_reason = min(hits)
            text = text[:at + len(stop_reason)] if params.include_stop_str_in_output else text[:at]
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        if params.max_tokens is not None and len(ids) > params.max_tokens:
            ids, finish, stop_reason = ids[:params.max_tokens], "length", None
            text = self.tokenizer.decode(ids)
        return text, ids, finish, stop_reason


def run_engine_core(engine_kwargs: dict, input_conn, output_conn) -> None:
    """Main of the engine core process: build the core, say ready, serve until told to stop."""

    def signal_handler(signum, frame):
        raise SystemExit()

    signal.signal(signal.SIGTERM, signal_handler)
    signal.signal(signal.SIGINT, signal_handler)
    engine = None
    try:
        engine = EngineCore(**engine_kwargs)
        output_conn.send(("ready", None))
        while True:
            kind, payload = input_conn.recv()
            if kind == "shutdown":
                break
            output_conn.send(("outputs", engine.add_request(payload)))
    except (SystemExit, EOFError):
        logger.debug("EngineCore exiting.")
    except Exception:
        if engine is None:
            logger.exception("EngineCore failed to start.")
        else:
            logger.exception("EngineCore encountered a fatal error.")
            output_conn.send((ENGINE_CORE_DEAD, None))
        sys.exit(1)
