"""Run under ``accelerate launch --num_processes 2``: pass@1 over uneven shares with ``synced_gpus`` on.

With ZeRO-3 or FSDP transformers runs ``generate`` with ``synced_gpus=True``, whose every decoding
step is a collective. This script forces it on (gloo on the CPU) and evaluates rows that do not
divide evenly among the ranks, so ranks making different numbers of ``generate`` calls would
meet mismatched collectives. Rank 0 writes the summaries to ``argv[2]``.

    accelerate launch --multi_gpu --num_processes 2 distributed_eval.py MODEL_DIR OUT.json
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta


def main(model_dir: str, out_path: str) -> None:
    from accelerate import Accelerator
    from accelerate.utils import InitProcessGroupKwargs
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ag_train.evaluation import evaluate_pass_at_1

    # A mismatch fails within a minute instead of waiting for the default 30-minute timeout.
    accelerator = Accelerator(cpu=True, kwargs_handlers=[InitProcessGroupKwargs(timeout=timedelta(seconds=60))])
    assert accelerator.num_processes == 2, accelerator.state
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tests = [{"input": "1\n", "output": "2\n"}]
    rows = [{"problem_id": f"p{i}", "language": "python", "tests": tests,
             "prompt": [{"role": "user", "content": f"Print {i} in Python."}]} for i in range(3)]
    summaries = {}
    # 3 rows on 2 ranks (2 and 1 generate calls of one prompt), then 1 row on 2 ranks (1 and 0).
    for name, subset, batch_size in (("uneven", rows, 1), ("fewer_rows_than_ranks", rows[:1], 2)):
        summaries[name] = evaluate_pass_at_1(model, tokenizer, subset, max_new_tokens=4, batch_size=batch_size,
                                             accelerator=accelerator, synced_gpus=True, workers=1)
    if accelerator.is_main_process:
        with open(out_path, "w") as f:
            json.dump(summaries, f)
    accelerator.wait_for_everyone()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
