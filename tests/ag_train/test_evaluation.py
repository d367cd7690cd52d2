"""pass@1 evaluation during training: shares among ranks, with every rank in step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ag_train.evaluation import share_rows

WORKER = Path(__file__).with_name("distributed_eval.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("n, world", [(0, 2), (1, 2), (3, 2), (4, 2), (5, 3), (2, 8)])
def test_every_rank_gets_the_same_number_of_rows_and_each_real_row_once(n, world):
    rows = [{"problem_id": str(i)} for i in range(n)]
    shares = [share_rows(rows, rank, world) for rank in range(world)]
    assert len({len(padded) for padded, _ in shares}) == 1
    real = [r["problem_id"] for padded, count in shares for r in padded[:count]]
    assert sorted(real) == sorted(r["problem_id"] for r in rows)


def test_uneven_rows_under_synced_generation_on_two_processes(tiny_model, tmp_path):
    """Two gloo ranks with synced_gpus forced on, as under ZeRO-3 or FSDP: unequal generate() calls
    would pair one rank's decoding all_reduce with the other's gather and hang."""
    out = tmp_path / "summaries.json"
    accelerate = Path(sys.executable).with_name("accelerate")
    command = [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0",
               str(WORKER), str(tiny_model), str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"evaluation on two ranks hung (generate calls out of step):\n{output[-3000:]}")
    assert process.returncode == 0, output[-3000:]
    summaries = json.loads(out.read_text())
    # Every real row was judged exactly once; the padding rows were dropped.
    assert summaries["uneven"]["problems"] == {"python": 3}
    assert summaries["fewer_rows_than_ranks"]["problems"] == {"python": 1}
    assert sum(summaries["uneven"]["verdicts"].values()) == 3
