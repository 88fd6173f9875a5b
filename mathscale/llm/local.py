"""The embedded model: a llama.cpp server started as a child process on a free loopback port.

:class:`LocalServer` is a context manager: it starts ``python -m llama_cpp.server``,
waits until the server answers, sends it one warm-up completion (so a build that crashes
on this CPU is found before any real work is sent), and stops it when the block ends,
also on errors and Ctrl-C. On Linux the child is also told to die with its parent, so a
killed mathscale process never leaves a server behind.

A server that dies later is noticed by the client (:meth:`LocalServer.failure`), which
stops the command at once with how the process ended, the end of its log and the remedy.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.metadata
import importlib.util
import json
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

from mathscale.errors import EndpointError, MathscaleError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
# Signals by which a native build dies on instructions or memory it may not touch: the
# build, not the request, is at fault (see _remedy).
_CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGILL, signal.SIGBUS, signal.SIGFPE, signal.SIGABRT}
WARM_UP = {"prompt": "1 + 1 =", "max_tokens": 4, "temperature": 0.0}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def describe_exit(returncode: int) -> str:
    """``exited with status 1`` or ``exited on signal SIGSEGV (status -11)``.

    >>> describe_exit(-11)
    'exited on signal SIGSEGV (status -11)'
    """
    if returncode >= 0:
        return f"exited with status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"{-returncode}"
    return f"exited on signal {name} (status {returncode})"


def portable_reinstall() -> str:
    """The command that replaces the installed llama-cpp-python with a portable build."""
    try:
        version = importlib.metadata.version("llama_cpp_python")
    except importlib.metadata.PackageNotFoundError:
        version = ""
    pin = f"=={version}" if version else ""
    return (f"CMAKE_ARGS=\"-DGGML_NATIVE=OFF\" pip install --force-reinstall --no-cache-dir --no-deps "
            f"'llama-cpp-python{pin}'")  # fmt: skip


class LocalServer:
    """A llama.cpp OpenAI-compatible server for one GGUF model.

    >>> with LocalServer(path, alias="qwen2.5-coder-0.5b") as server:   # doctest: +SKIP
    ...     print(server.base_url)        # http://127.0.0.1:PORT/v1
    """

    what = "the embedded llama.cpp server"  # how errors name it (mathscale.llm.vllm_server.VLLMServer: vLLM)

    def __init__(self, model_path: Path, alias: str, *, threads: int = 0, context: int = 4096,
                 parallel: int = 1, start_timeout_s: float = 300.0):  # fmt: skip
        self.model_path = Path(model_path)
        self.alias = alias
        self.threads = threads or os.cpu_count() or 1
        self.context = context
        self.parallel = parallel
        self.start_timeout_s = start_timeout_s
        self.port = 0
        self.warm_up_s: float | None = None  # how long the warm-up completion took
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = None
        self._keep_log = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> LocalServer:
        if importlib.util.find_spec("llama_cpp") is None:  # not imported here: a native crash stays in the child
            raise MathscaleError(
                "the embedded model needs llama-cpp-python: pip install 'mathscale[local]' "
                "(or set llm.base_urls / OPENAI_BASE_URL to use an endpoint)"
            )
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
            self._warm_up()
        except BaseException:
            self.stop()
            raise
        log.info("embedded llama.cpp server ready (pid %s, warm-up %.2f s)", self.pid, self.warm_up_s)
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if (failure := self.failure(f"while loading {self.model_path.name}")) is not None:
                raise EndpointError(failure)
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.25)
        raise MathscaleError(
            f"{self.what} did not answer within {self.start_timeout_s:.0f} s: {self._log_tail()}"
        )

    def _warm_up(self) -> None:
        """One tiny completion, so that a build which cannot run on this CPU fails here."""
        started = time.monotonic()
        request = urllib.request.Request(
            f"{self.base_url}/completions", data=json.dumps({"model": self.alias, **WARM_UP}).encode(),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=self.start_timeout_s) as reply:
                reply.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            failure = self.failure("on its warm-up completion", wait_s=5.0)
            raise EndpointError(failure or f"{self.what} failed its warm-up completion: {exc}")
        self.warm_up_s = time.monotonic() - started

    def failure(self, doing: str = "while answering a request", wait_s: float = 0.0) -> str | None:
        """None while the server runs; once it has ended, one line: how, the end of its log,
        and what to do. ``wait_s`` gives a dying process that long to be reaped (a dropped
        connection can arrive a moment before the exit status)."""
        proc = self._proc
        if proc is None:
            return None
        if wait_s > 0:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=wait_s)
        if proc.poll() is None:
            return None
        self._keep_log = True
        log_name = self._log.name if self._log is not None else "(no log)"
        return (f"{self.what} ({self.alias}, pid {proc.pid}) {describe_exit(proc.returncode)} "
                f"{doing}; its log ends: {self._log_tail()} (whole log: {log_name}). {self._remedy(proc.returncode)}")  # fmt: skip

    def _remedy(self, returncode: int) -> str:
        uses_amx = "AMX_INT8 = 1" in self._log_text()
        if returncode < 0 and -returncode in {int(s) for s in _CRASH_SIGNALS}:
            why = ("a native crash is the llama.cpp build, not the request: a build for this CPU (llama.cpp's "
                   "default, GGML_NATIVE) uses instructions the CPU advertises but this machine may not let a "
                   "process run, such as AMX tiles in a VM or container")  # fmt: skip
            if uses_amx:
                why += " (this build uses AMX)"
            return (f"{why}. Reinstall it as a portable build: {portable_reinstall()}; "
                    "or set llm.base_urls to use an endpoint.")  # fmt: skip
        if returncode == -int(signal.SIGKILL):
            return "Something killed it (the kernel does when memory runs out: see dmesg); rerun to resume."
        return "Rerun to resume; set llm.base_urls to use an endpoint instead."

    def _log_text(self) -> str:
        if self._log is None:
            return ""
        return Path(self._log.name).read_text(errors="replace")

    def _log_tail(self, lines: int = 3) -> str:
        text = [line for line in self._log_text().strip().splitlines() if line.strip()]
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
            if not self._keep_log:  # a crashed server's log is named in the error: keep it
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._log.name)
            self._log = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
