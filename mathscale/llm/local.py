"""The embedded model: a llama.cpp server started as a child process on a free loopback port.

:class:`LocalServer` is a context manager: it starts ``python -m llama_cpp.server``,
waits until the server answers, and stops it when the block ends, also on errors and
Ctrl-C. On Linux the child is also told to die with its parent, so a killed mathscale
process never leaves a server behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from mathscale.errors import MathscaleError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class LocalServer:
    """A llama.cpp OpenAI-compatible server for one GGUF model.

    >>> with LocalServer(path, alias="qwen2.5-coder-0.5b") as server:   # doctest: +SKIP
    ...     print(server.base_url)        # http://127.0.0.1:PORT/v1
    """

    def __init__(self, model_path: Path, alias: str, *, threads: int = 0, context: int = 4096,
                 parallel: int = 1, start_timeout_s: float = 300.0):  # fmt: skip
        self.model_path = Path(model_path)
        self.alias = alias
        self.threads = threads or os.cpu_count() or 1
        self.context = context
        self.parallel = parallel
        self.start_timeout_s = start_timeout_s
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LocalServer:
        try:
            import llama_cpp.server  # noqa: F401  (only to fail early with a clear message)
        except ImportError:
            raise MathscaleError(
                "the embedded model needs llama-cpp-python: pip install 'mathscale[local]' "
                "(or set llm.base_urls / OPENAI_BASE_URL to use an endpoint)"
            ) from None
        if not self.model_path.is_file():
            raise MathscaleError(f"{self.model_path}: model file does not exist")
        self.port = free_port()
        self._log = tempfile.NamedTemporaryFile(prefix="mathscale-llama-", suffix=".log", delete=False)
        cmd = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model_path), "--model_alias", self.alias,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_threads", str(self.threads), "--n_ctx", str(self.context),
        ]  # fmt: skip
        log.info("starting embedded llama.cpp server: %s", " ".join(cmd))
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )  # fmt: skip
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise MathscaleError(
                    f"the embedded llama.cpp server exited with status {self._proc.returncode} "
                    f"while loading {self.model_path}: {self._log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.25)
        raise MathscaleError(
            f"the embedded llama.cpp server did not answer within {self.start_timeout_s:.0f} s: {self._log_tail()}"
        )

    def _log_tail(self, lines: int = 3) -> str:
        if self._log is None:
            return ""
        text = Path(self._log.name).read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(no output)"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._log.name)
            self._log = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
