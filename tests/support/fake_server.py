"""A scriptable OpenAI-compatible server on loopback, for fault injection and benchmarks.

It answers ``GET /v1/models``, ``POST /v1/chat/completions`` and ``POST /v1/completions``
(raw-text prompts) over real sockets with HTTP/1.1 keep-alive, instantly unless told otherwise. Faults are chosen per request,
deterministically from a seed: ``429`` (with Retry-After), ``500``, ``401`` (a key revoked
while the run goes on; set ``api_key`` for one that is refused everywhere), ``slow`` (sleeps
past the client's timeout), ``garbage`` (a 200 whose body is not JSON), ``truncated``
(a well-formed reply whose content is cut-off JSON), ``drop`` (closes the connection).
Like the real service it refuses, on every route, a request without its ``api_key`` (when
one is set: HTTP 401, OpenAI's ``invalid_api_key`` error) and a completion for a model it
does not serve (HTTP 404, ``model_not_found``).

In tests::

    with FakeServer(faults={"429": 0.1, "garbage": 0.1}) as server:
        ...  # point LLMConfig(base_urls=[server.base_url]) at it
    server.counts   # Counter of what it answered

As a process (for benchmarks), from the repository root: ``python -m tests.support.fake_endpoint --port 8765``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from mathscale.llm.sections import format_sections, heading

FAULTS = ("429", "500", "401", "slow", "garbage", "truncated", "drop")

Responder = Callable[[dict[str, Any]], str]


def default_responder(request: dict[str, Any]) -> str:
    # A text completion (``prompt`` instead of ``messages``) gets the same kind of answer.
    """A JSON answer echoing how many messages the request had."""
    return json.dumps({"solution": "2 + 2 = 4", "answer": "4", "messages": len(request.get("messages", []))})


_WORDS = ("apple river lamp garden pencil orbit maple cloud engine violin marble ticket canyon "
          "harbor lantern meadow pepper quartz saddle tunnel walnut yacht zebra bridge candle desk "
          "falcon glacier hammer island jacket kettle ladder mirror needle ocean parcel rabbit").split()


def qa_fields(request: dict[str, Any]) -> dict[str, str]:
    """A distinct question, solution and answer per distinct request (for generation tests).

    Words and numbers are drawn from a hash of the messages, so the same request always
    gets the same reply and different requests get clearly different questions.
    """
    digest = hashlib.sha256(json.dumps(request.get("messages", []), sort_keys=True).encode()).digest()
    rng = random.Random(digest)
    words = " ".join(rng.choice(_WORDS) for _ in range(12))
    a, b = rng.randint(2, 99), rng.randint(2, 99)
    return {
        "question": f"A collector files {a} cards about {words} and then {b} more. How many cards are filed?",
        "solution": f"The collector files {a} cards and then {b} more, so {a} + {b} = {a + b} cards in all.",
        "answer": str(a + b),
    }


def reply_as_asked(request: dict[str, Any], fields: dict[str, str]) -> str:
    """``fields`` the way the request's prompt asks for them, as a model follows it: tagged
    sections when the last message shows their headings (``### Question``), else JSON."""
    messages = request.get("messages") or [{}]
    asked = str(messages[-1].get("content", ""))
    if all(heading(name) in asked for name in fields):
        return format_sections(fields)
    return json.dumps(fields)


def qa_responder(request: dict[str, Any]) -> str:
    """:func:`qa_fields` in the format the request asks for."""
    return reply_as_asked(request, qa_fields(request))


def concepts_responder(request: dict[str, Any]) -> str:
    """A concept extraction: one topic and two knowledge points (for ``graph extract``)."""
    return json.dumps({"topics": ["Arithmetic"], "knowledge_points": ["Addition", "Counting objects"]})


RESPONDERS = {"default": default_responder, "qa": qa_responder, "concepts": concepts_responder}


class FakeServer:
    def __init__(self, *, faults: dict[str, float] | None = None, seed: int = 0, model: str = "fake-model",
                 responder: Responder = default_responder, slow_s: float = 5.0, latency_s: float = 0.0,
                 port: int = 0, api_key: str | None = None):  # fmt: skip
        unknown = set(faults or {}) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {FAULTS}")
        self.faults = dict(faults or {})
        self.model = model
        self.responder = responder
        self.slow_s = slow_s
        self.latency_s = latency_s  # added to every chat reply, to mimic a real model
        self.port = port
        self.api_key = api_key  # when set, a request without "Authorization: Bearer <api_key>" gets 401
        self.counts: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def check(self, path: str, request: Any) -> tuple[int, dict[str, Any]] | None:
        """(HTTP status, error object) for a request the server refuses, else None.

        This one refuses a body that is not a JSON object and a model it does not serve
        (as OpenAI and vLLM do, with 404); the OpenAI-strict test double in ``tests/``
        checks every parameter as OpenAI's API does.
        """
        if not isinstance(request, dict):
            return 400, {"message": "the body is not a JSON object", "type": "invalid_request_error"}
        if request.get("model") != self.model:
            return 404, {"message": f"The model `{request.get('model')}` does not exist or you do not have access to it.",
                         "type": "invalid_request_error", "code": "model_not_found"}  # fmt: skip
        return None

    def _pick_fault(self) -> str:
        roll = self._rng.random()
        for fault, share in self.faults.items():
            if roll < share:
                return fault
            roll -= share
        return "ok"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                body = await reader.readexactly(int(headers.get("content-length", 0) or 0))
                if not self._authorized(headers):
                    self.counts["unauthorized"] += 1
                    _write(writer, 401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                                   "code": "invalid_api_key"}})  # fmt: skip
                    await writer.drain()
                    continue
                if not await self._respond(method, path, body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _authorized(self, headers: dict[str, str]) -> bool:
        return self.api_key is None or headers.get("authorization") == f"Bearer {self.api_key}"

    async def _respond(self, method: str, path: str, body: bytes, writer: asyncio.StreamWriter) -> bool:
        """Write one response; False closes the connection."""
        if method == "GET" and path.rstrip("/").endswith("/models"):
            self.counts["models"] += 1
            _write(writer, 200, {"object": "list", "data": [{"id": self.model, "object": "model"}]})
            return True
        if method != "POST" or not path.endswith("/completions"):
            _write(writer, 404, {"error": {"message": f"no route {method} {path}"}})
            return True
        chat = path.endswith("/chat/completions")
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = None
        refusal = self.check(path, request)
        if refusal is not None:
            self.counts["refused"] += 1
            _write(writer, refusal[0], {"error": refusal[1]})
            return True
        fault = self._pick_fault()
        self.counts[fault] += 1
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if fault == "429":
            _write(writer, 429, {"error": {"message": "rate limited", "type": "rate_limit"}}, {"Retry-After": "0"})
        elif fault == "500":
            _write(writer, 500, {"error": {"message": "internal error"}})
        elif fault == "401":
            _write(writer, 401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                           "code": "invalid_api_key"}})  # fmt: skip
        elif fault == "garbage":
            _write_raw(writer, 200, b"<html>upstream proxy error</html>", "text/html")
        elif fault == "drop":
            return False
        else:
            if fault == "slow":
                await asyncio.sleep(self.slow_s)
            content = self.responder(request)
            if fault == "truncated":
                content = content[: max(1, len(content) // 2)]
            _write(writer, 200, _completion(self.model, content) if chat else _text_completion(self.model, content))
        await writer.drain()
        return True

    async def _serve(self, started: threading.Event | None = None) -> None:
        """Serve until :meth:`__exit__` (or forever when run as a process)."""
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, backlog=1024)
        self.port = server.sockets[0].getsockname()[1]
        if started:
            started.set()
        await self._stop.wait()
        server.close()
        handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    def __enter__(self) -> FakeServer:
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            self._loop.run_until_complete(self._serve(started))
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fake-openai", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop and self._stop and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(timeout=10)


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _text_completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "cmpl-fake",
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _write(writer: asyncio.StreamWriter, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    _write_raw(writer, status, json.dumps(payload).encode(), "application/json", headers)


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}


def _write_raw(writer: asyncio.StreamWriter, status: int, body: bytes, ctype: str,
               headers: dict[str, str] | None = None) -> None:  # fmt: skip
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}Connection: keep-alive\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + body)
