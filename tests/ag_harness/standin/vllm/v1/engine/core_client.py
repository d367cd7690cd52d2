"""Clients of the engine core (upstream's ``vllm/v1/engine/core_client.py``, by pipes not ZMQ).

``SyncMPClient`` starts the core as a non-daemonic ``multiprocessing`` child named
``EngineCore_0`` with the start method of ``VLLM_WORKER_MULTIPROC_METHOD``, waits for its
ready message, reads outputs in a thread and watches the process in a monitor thread. The
monitor only marks the engine dead and shuts the client down: a request already waiting in
``get_output`` is not woken, as upstream.
"""

import multiprocessing
import queue
import threading
import weakref
from multiprocessing import connection

from vllm import envs
from vllm.logger import init_logger
from vllm.v1.engine.core import ENGINE_CORE_DEAD, EngineCore, run_engine_core
from vllm.v1.engine.exceptions import EngineDeadError

logger = init_logger(__name__)
SHUTDOWN_TIMEOUT_S = 5


class InprocClient:
    """The engine core in this process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``)."""

    def __init__(self, engine_kwargs: dict):
        self.engine_core = EngineCore(**engine_kwargs)
        self._outputs: list = []

    def add_request(self, request) -> None:
        self._outputs.append(self.engine_core.add_request(request))

    def get_output(self):
        return self._outputs.pop(0)

    def shutdown(self) -> None:
        pass


class _Resources:
    """Finaliser of a client: stop the core (SIGTERM, then SIGKILL after a grace period)."""

    def __init__(self, proc, input_conn):
        self.proc, self.input_conn = proc, input_conn
        self.engine_dead = False

    def __call__(self) -> None:
        self.engine_dead = True
        if self.proc.pid is None:  # never started
            self.input_conn.close()
            return
        try:
            self.input_conn.send(("shutdown", None))
        except OSError:
            pass
        self.input_conn.close()
        self.proc.join(SHUTDOWN_TIMEOUT_S)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(SHUTDOWN_TIMEOUT_S)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


class SyncMPClient:
    def __init__(self, engine_kwargs: dict):
        context = multiprocessing.get_context(envs.VLLM_WORKER_MULTIPROC_METHOD)
        core_input, self.input_conn = context.Pipe(duplex=False)
        output_conn, core_output = context.Pipe(duplex=False)
        proc = context.Process(target=run_engine_core, name="EngineCore_0",
                               kwargs={"engine_kwargs": engine_kwargs, "input_conn": core_input,
                                       "output_conn": core_output})
        self.resources = _Resources(proc, self.input_conn)
        self._finalizer = weakref.finalize(self, self.resources)
        proc.start()  # in a daemonic process: "daemonic processes are not allowed to have children"
        core_input.close()
        core_output.close()
        self._wait_for_ready(proc, output_conn)
        self.outputs_queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._process_outputs, args=(output_conn, self.outputs_queue, self.resources),
                         daemon=True, name="EngineCoreOutputQueueThread").start()
        self._start_engine_core_monitor(proc)

    def _wait_for_ready(self, proc, output_conn) -> None:
        ready = connection.wait([output_conn, proc.sentinel], timeout=envs.VLLM_ENGINE_READY_TIMEOUT_S)
        if not ready:
            self._finalizer()
            raise TimeoutError("Timed out waiting for engine core processes to start. Waited "
                               f"{envs.VLLM_ENGINE_READY_TIMEOUT_S}s (configured by VLLM_ENGINE_READY_TIMEOUT_S).")
        try:
            if output_conn in ready and output_conn.recv()[0] == "ready":
                return
        except EOFError:
            pass
        proc.join()
        self._finalizer()
        raise RuntimeError("Engine core initialization failed. See root cause above. "
                           f"Failed core proc(s): {{'{proc.name}': {proc.exitcode}}}")

    @staticmethod
    def _process_outputs(output_conn, outputs_queue, resources) -> None:
        try:
            while True:
                kind, payload = output_conn.recv()
                if kind == ENGINE_CORE_DEAD:
                    resources.engine_dead = True
                    outputs_queue.put_nowait(EngineDeadError())
                    return
                outputs_queue.put_nowait(payload)
        except (EOFError, OSError):
            return  # the core is gone; the monitor thread handles it

    def _start_engine_core_monitor(self, proc) -> None:
        self_ref = weakref.ref(self)

        def monitor_engine_cores():
            connection.wait([proc.sentinel])
            client = self_ref()
            if not client or not client._finalizer.alive or client.resources.engine_dead:
                return
            client.resources.engine_dead = True
            logger.warning("[shutdown] MPClient: engine core exited unexpectedly; starting cleanup")
            client.shutdown()

        threading.Thread(target=monitor_engine_cores, daemon=True, name="MPClientEngineMonitor").start()

    def ensure_alive(self) -> None:
        if self.resources.engine_dead:
            raise EngineDeadError()

    def add_request(self, request) -> None:
        self.ensure_alive()
        try:
            self.input_conn.send(("add", request))
        except OSError:
            raise EngineDeadError(suppress_context=True) from None

    def get_output(self):
        output = self.outputs_queue.get()
        if isinstance(output, Exception):
            raise output from None
        return output

    def shutdown(self) -> None:
        self._finalizer()


def make_client(multiprocess_mode: bool, engine_kwargs: dict):
    return SyncMPClient(engine_kwargs) if multiprocess_mode else InprocClient(engine_kwargs)
