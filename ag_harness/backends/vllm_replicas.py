"""vLLM engines in replica processes: one per group of GPUs, dealt chunks of requests.

Each replica is a non-daemonic process started with ``spawn`` (vLLM's engine starts its own
child processes, which a daemonic process may not have, and CUDA cannot be used after a
fork). A replica sees only its GPUs through ``CUDA_VISIBLE_DEVICES`` and leads its own process
group, so the engine core and GPU workers it starts can be ended with it.

Nothing is left behind: a finished run stops every replica, which shuts its engine down; an
error, an abandoned generator or Ctrl-C sends SIGTERM (the replica shuts its engine down), then
SIGKILL to the whole process group after a grace period. A replica also ends its group when
this process dies, and reports and ends its group when its engine core process dies, since
vLLM's ``generate`` can wait forever for an engine core that was killed outright.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from multiprocessing import connection
from multiprocessing.util import Finalize
from typing import Any

from ..errors import BackendError

logger = logging.getLogger(__name__)

STOP_GRACE_S = 30  # a replica shutting its engine down after a finished run
ABORT_GRACE_S = 10  # after SIGTERM, before SIGKILL of the replica's process group
REPORT_GRACE_S = 5  # an engine core died: time for the replica's own error to arrive first


def describe_exit(code: int | None) -> str:
    if code is None:
        return "is still running"
    if code < 0:
        try:
            return f"was killed by signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def gpu_label(gpus: str | None) -> str:
    if gpus is None:
        return "the visible GPUs"
    return f"GPUs {gpus}" if "," in gpus else f"GPU {gpus}"


def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)


def _kill_own_group() -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _watch_parent() -> None:
    """End this replica's whole process group if the evaluating process dies."""
    parent = mp.parent_process()
    if parent is None:
        return

    def watch():
        connection.wait([parent.sentinel])
        _kill_own_group()

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _watch_engine_cores(send, closing: threading.Event, reported: threading.Event) -> None:
    """Report and end the replica when one of its engine core processes dies while in use."""
    children = mp.active_children()
    if not children:
        return  # the engine core runs in this process (VLLM_ENABLE_V1_MULTIPROCESSING=0)

    def watch():
        while not closing.is_set():
            dead = connection.wait([c.sentinel for c in children], timeout=1.0)
            if not dead or closing.is_set():
                continue
            if reported.wait(REPORT_GRACE_S) or closing.is_set():
                return
            child = next(c for c in children if c.sentinel in dead)
            child.join(1)
            send(("error", f"its engine core process {child.name} (pid {child.pid}) {describe_exit(child.exitcode)}"))
            _kill_own_group()

    threading.Thread(target=watch, daemon=True, name="engine-core-watch").start()


def _stop_children() -> None:
    for child in mp.active_children():
        child.terminate()
        child.join(ABORT_GRACE_S)
        if child.is_alive():
            child.kill()
            child.join()


def replica_main(gpus: str | None, engine_args: dict[str, Any], template_kwargs: dict[str, Any], conn) -> None:
    """A replica: build the engine on ``gpus``, answer chunks until told to stop, shut the engine down."""
    os.setpgrp()
    if gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus
    signal.signal(signal.SIGTERM, _raise_exit)
    lock, closing, reported = threading.Lock(), threading.Event(), threading.Event()

    def send(message) -> None:
        with lock:
            conn.send(message)

    _watch_parent()
    engine = None
    try:
        from .vllm_engine import VLLMEngine

        engine = VLLMEngine(engine_args, template_kwargs)
        _watch_engine_cores(send, closing, reported)
        send(("ready", None))
        while True:
            kind, payload = conn.recv()
            if kind == "stop":
                break
            requests, sampling = payload
            send(("done", engine.run(requests, sampling)))
    except (SystemExit, EOFError):
        pass
    except BaseException as exc:  # reported to the evaluating process, which raises it
        logger.exception("vLLM engine on %s failed", gpu_label(gpus))
        try:
            send(("error", f"{type(exc).__name__}: {exc}"))
        except OSError:
            pass
        reported.set()
    finally:
        closing.set()
        if engine is not None:
            engine.close()
        _stop_children()


class _Replica:
    def __init__(self, ctx, rank: int, gpus: str | None, engine_args: dict, template_kwargs: dict):
        self.gpus = gpus
        self.conn, child_conn = ctx.Pipe()
        self.proc = ctx.Process(target=replica_main, name=f"vllm-replica-{rank}", daemon=False,
                                args=(gpus, engine_args, template_kwargs, child_conn))
        self.proc.start()
        child_conn.close()
        self.ready = False
        self.busy = False

    def failure(self, what: str, starting: bool) -> BackendError:
        if starting:
            return BackendError(f"the vLLM engine on {gpu_label(self.gpus)} failed to start ({what}); check the model "
                                "name, --gpu-memory-utilization and --max-model-len, and that the GPUs are free.")
        return BackendError(f"the vLLM engine on {gpu_label(self.gpus)} failed while generating ({what}); the other "
                            "engines were stopped and the completions generated so far are kept: check the GPU "
                            "(nvidia-smi) and memory settings, then rerun the same command to resume.")

    def receive(self):
        """The replica's next message, or an error message if it died without one."""
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            self.proc.join(REPORT_GRACE_S)
            return ("error", f"its process {self.proc.name} {describe_exit(self.proc.exitcode)}")


def _end(replicas: list[_Replica], graceful: bool) -> None:
    """Stop replicas (``graceful``: ask, else SIGTERM), then SIGKILL whatever is left of their groups."""
    for r in replicas:
        if r.proc.is_alive():
            if graceful:
                try:
                    r.conn.send(("stop", None))
                except OSError:
                    r.proc.terminate()
            else:
                r.proc.terminate()
    for r in replicas:
        r.proc.join(STOP_GRACE_S if graceful else ABORT_GRACE_S)
        if r.proc.is_alive():
            logger.warning("vLLM replica on %s did not stop; killing it", gpu_label(r.gpus))
            r.proc.kill()
            r.proc.join()
        try:
            os.killpg(r.proc.pid, signal.SIGKILL)  # engine processes the replica left behind
        except (ProcessLookupError, PermissionError):
            pass
        r.conn.close()


class ReplicaPool:
    """One vLLM engine per GPU group, each in its own process, kept between ``map`` calls."""

    def __init__(self, gpu_groups: Sequence[str | None], engine_args: dict[str, Any], template_kwargs: dict[str, Any]):
        ctx = mp.get_context("spawn")
        self.replicas: list[_Replica] = []
        # Runs at interpreter exit before multiprocessing joins its children, which would wait forever.
        self._finalizer = Finalize(self, _end, args=(self.replicas, False), exitpriority=10)
        for rank, gpus in enumerate(gpu_groups):
            self.replicas.append(_Replica(ctx, rank, gpus, engine_args, template_kwargs))
        self._started = False

    def _wait_until_ready(self) -> None:
        waiting = list(self.replicas)
        while waiting:
            ready = connection.wait([r.conn for r in waiting] + [r.proc.sentinel for r in waiting])
            for r in list(waiting):
                if r.conn in ready or r.proc.sentinel in ready:
                    kind, payload = r.receive()
                    if kind != "ready":
                        raise r.failure(payload, starting=True)
                    r.ready = True
                    waiting.remove(r)
        self._started = True

    def map(self, chunks: Sequence[list], sampling) -> Iterator[tuple[int, list[str]]]:
        """Results of every chunk, as they finish; any replica failing raises :class:`BackendError`."""
        try:
            if not self._started:
                self._wait_until_ready()
            pending = deque(chunks)
            for r in self.replicas:
                self._give(r, pending, sampling)
            while any(r.busy for r in self.replicas):
                busy = [r for r in self.replicas if r.busy]
                ready = connection.wait([r.conn for r in busy] + [r.proc.sentinel for r in self.replicas])
                for r in self.replicas:
                    if not (r.conn in ready or r.proc.sentinel in ready):
                        continue
                    kind, payload = r.receive()
                    if kind != "done":
                        raise r.failure(payload, starting=False)
                    r.busy = False
                    self._give(r, pending, sampling)
                    yield from payload
        except BaseException:  # an engine failed, the consumer stopped, or Ctrl-C: stop every replica now
            self.close(graceful=False)
            raise

    @staticmethod
    def _give(replica: _Replica, pending: deque, sampling) -> None:
        if pending:
            replica.conn.send(("chunk", (pending.popleft(), sampling)))
            replica.busy = True

    def close(self, graceful: bool = True) -> None:
        if self._finalizer.still_active():
            self._finalizer.cancel()
            _end(self.replicas, graceful)
