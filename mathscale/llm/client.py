"""The LLM client: bounded concurrency, retries, JSON or tagged-section output, cache and accounting.

Every stage builds :class:`Request` objects and gets one :class:`Result` back for each,
in completion order; a request that fails for good comes back with ``error`` set to a
reason (``http_429``, ``timeout``, ``parse`` …) and is counted — it never raises and
never disappears. A failure of the transport (``Result.pending``: 5xx, 429, timeouts,
dropped connections, a reply that is not an OpenAI body) is not an answer: callers keep
that work pending for a rerun, and it is never cached.

Some failures stop the command at once with :class:`EndpointError` instead, because every
further request would fail the same way: a rejected key (401/403), a model or route the
endpoint does not have (404), an endpoint that failed most of the last
``llm.breaker_window`` requests (the circuit breaker), and a teacher whose first
``llm.parse_guard`` replies could not be read in the asked form.

A request is a chat (``messages``, sent to ``/chat/completions``) or a raw-text prompt
(``completion_prompt``, sent to ``/completions`` with no template around it: what
evaluation needs to send a model exactly the prompt it was trained on). The request
bodies hold only parameters that OpenAI's API documents, so every OpenAI-compatible
server takes them; :func:`response_format` is the one place that says how JSON is asked for.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import email.utils
import itertools
import json
import logging
import os
import random
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import openai

from mathscale.errors import EndpointError, MathscaleError
from mathscale.llm.accounting import Usage
from mathscale.llm.cache import ResponseCache, cache_key
from mathscale.llm.config import LLMConfig, Price, price_for
from mathscale.llm.jsonparse import ReplyError, parse_json_reply, validate
from mathscale.llm.sections import heading, parse_sections
from mathscale.models.gguf import cache_root

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
TRANSPORT_ERRORS = {"timeout", "connection", "bad_response"}  # with http_<RETRYABLE_STATUS> and http_5xx


def is_transport(reason: str | None) -> bool:
    """Whether a failure reason is the transport's (the request may work when asked again),
    not the model's answer: ``http_500``, ``http_429``, ``timeout`` … yes; ``parse``,
    ``http_400`` no.

    >>> is_transport("http_503"), is_transport("timeout"), is_transport("parse")
    (True, True, False)
    """
    if reason is None:
        return False
    if reason in TRANSPORT_ERRORS:
        return True
    status = reason.removeprefix("http_")
    return reason.startswith("http_") and status.isdigit() and (int(status) in RETRYABLE_STATUS or int(status) >= 500)
LOCAL_TIMEOUT_S = 1800.0  # per request to the embedded server (see open_client)


@dataclass(frozen=True)
class Request:
    """One completion to make. ``schema`` (a JSON schema) asks for and validates JSON;
    ``sections`` (names) reads a reply in tagged sections instead (``### Question`` …,
    :mod:`mathscale.llm.sections`), with no ``response_format``; ``optional_sections``
    are read when the reply has them. Either way the parsed reply is
    ``Result.data``.

    Give ``messages`` for a chat completion, or ``completion_prompt`` (and no messages)
    for a raw-text completion; a schema or sections need a chat.
    """

    id: str
    messages: list[dict[str, str]]
    prompt: str = ""  # name/version of the prompt template; part of the cache key
    schema: dict[str, Any] | None = None
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)  # per-request temperature, max_tokens, stop …
    completion_prompt: str | None = None  # raw text for /completions instead of a chat
    sections: tuple[str, ...] = ()  # names of the tagged sections the reply must have
    optional_sections: tuple[str, ...] = ()  # and of those it may have

    def __post_init__(self) -> None:
        if self.completion_prompt is not None and (self.messages or self.schema is not None or self.sections):
            raise ValueError(f"request {self.id}: a raw-text completion takes no messages, no schema, no sections")
        if self.schema is not None and self.sections:
            raise ValueError(f"request {self.id}: a reply is JSON (schema) or tagged sections, not both")
        if self.optional_sections and not self.sections:
            raise ValueError(f"request {self.id}: optional sections need sections")


@dataclass
class Result:
    id: str
    text: str | None = None
    data: Any = None  # the parsed, validated JSON (or {name: text} of the sections) the request asked for
    error: str | None = None  # failure reason; None on success
    detail: str = ""
    cached: bool = False
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0  # the tokens of the cached answer when it was first asked
    cached_completion_tokens: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def pending(self) -> bool:
        """Failed in transport (after retries): no answer, so the work stays to be done."""
        return is_transport(self.error)


class ServerProcess(Protocol):
    """A server process mathscale started for an endpoint (:class:`~mathscale.llm.local.LocalServer`)."""

    def failure(self, doing: str = ..., wait_s: float = ...) -> str | None:
        """None while it runs; else one line saying how it ended and what to do."""


class _CallFailed(Exception):
    def __init__(self, reason: str, detail: str, retry: bool, retry_after: float | None = None):
        super().__init__(detail)
        self.reason, self.detail, self.retry, self.retry_after = reason, detail, retry, retry_after


class LLMClient:
    """Completions from one or more OpenAI-compatible endpoints serving the same model."""

    def __init__(self, cfg: LLMConfig, base_urls: list[str], model: str, api_key: str | None = None,
                 concurrency: int | None = None, *, server: ServerProcess | None = None, price: Price | None = None,
                 structured_output: str | None = None, completion_extra: dict[str, Any] | None = None):  # fmt: skip
        """``server``, ``price``, ``structured_output`` and ``completion_extra`` are the embedded
        model's (:func:`open_client`); by default: no server, ``llm.prices``, ``llm.structured_output``, none."""
        if not base_urls:
            raise MathscaleError("no endpoint: set llm.base_urls or OPENAI_BASE_URL")
        self.cfg = cfg
        self.concurrency = concurrency or cfg.concurrency
        self.model = model
        self.base_urls = list(base_urls)
        # How JSON is asked for (see response_format); the embedded llama.cpp server takes its own.
        self.structured_output: str = structured_output or cfg.structured_output
        # Extra fields for raw-text completions, so that a server decodes as OpenAI's API
        # does; the embedded llama.cpp server needs {"repeat_penalty": 1.0} (its default is
        # 1.1, which would make greedy evaluation differ from the hf backend's).
        self.completion_extra: dict[str, Any] = dict(completion_extra or {})
        self._api_key = api_key or "not-needed"
        self._endpoints: list[openai.AsyncOpenAI] = []
        self._cycle: Iterator[openai.AsyncOpenAI] | None = None
        self._cache = ResponseCache(_cache_path(cfg)) if cfg.cache else None
        self.usage = Usage(model=model, price=price if price is not None else price_for(cfg.prices, model))
        # The server process this client's endpoint runs in, when mathscale started it
        # (the embedded model): asked whether it died when a call fails (see _call).
        self.server: ServerProcess | None = server
        # The circuit breaker's window: for each of the last requests sent (not cached),
        # the failure text when it failed in transport after its retries, else None.
        self._recent: collections.deque[str | None] = collections.deque(maxlen=max(cfg.breaker_window, 1))
        self._replies = 0  # replies read (cached or not) and, of them, usable ones: the parse guard
        self._usable = 0
        # Called after each request is accounted (InvocationLog.tick keeps usage.json current).
        self.on_account: Callable[[], None] | None = None

    # -- endpoint handling -------------------------------------------------------------

    def _next_endpoint(self) -> openai.AsyncOpenAI:
        if not self._endpoints:  # created lazily, inside the running event loop
            self._endpoints = [
                openai.AsyncOpenAI(base_url=url, api_key=self._api_key, max_retries=0, timeout=self.cfg.timeout_s)
                for url in self.base_urls
            ]
            self._cycle = itertools.cycle(self._endpoints)
        assert self._cycle is not None
        return next(self._cycle)

    async def aclose(self) -> None:
        """Close the HTTP connections opened in the running event loop (call before it ends)."""
        await self._close_endpoints()

    async def _close_endpoints(self) -> None:
        for endpoint in self._endpoints:
            await endpoint.close()
        self._endpoints, self._cycle = [], None

    # -- one request -------------------------------------------------------------------

    def _key(self, request: Request) -> str:
        parts: dict[str, Any] = dict(
            model=self.model, messages=request.messages, params=self._params(request),
            seed=request.seed, prompt=request.prompt, schema=request.schema,
        )  # fmt: skip
        # Parts that older requests did not have join the key only when used, so the
        # requests that did not change (embedded model, chat) keep their cached answers.
        if request.schema is not None and self.structured_output != LLAMA_CPP_JSON:
            parts["structured_output"] = self.structured_output
        if request.completion_prompt is not None:
            parts["completion_prompt"] = request.completion_prompt
        if request.sections:
            parts["sections"] = list(request.sections)
        if request.optional_sections:
            parts["optional_sections"] = list(request.optional_sections)
        return cache_key(**parts)

    def _params(self, request: Request) -> dict[str, Any]:
        params = {"temperature": self.cfg.temperature, "max_tokens": self.cfg.max_tokens}
        params.update(request.params)
        return params

    async def complete(self, request: Request) -> Result:
        """One result for ``request``: from the cache, or from the endpoint with retries.

        A failed request comes back with ``Result.error`` set (``Result.pending`` when the
        transport failed); only a failure that every further request would share raises
        :class:`EndpointError`: the server process died, the key or model was refused
        (401/403/404), the circuit breaker or the parse guard tripped (:meth:`_watch`).
        """
        try:
            result = await self._complete(request)
        except (asyncio.CancelledError, EndpointError):
            raise
        except Exception as exc:  # a bug or an unforeseen reply must not end a million-request run
            log.exception("request %s failed unexpectedly", request.id)
            result = Result(request.id, error="client_error", detail=f"{type(exc).__name__}: {exc}"[:300])
        self._account(result)
        self._watch(result, request)
        return result

    def _watch(self, result: Result, request: Request) -> None:
        """The circuit breaker and the parse guard: stop the command when the endpoint has
        failed most recent requests, or when no reply so far could be read as asked."""
        cfg = self.cfg
        if not result.cached and cfg.breaker_window > 0:
            self._recent.append(f"{result.error}: {result.detail}" if result.pending else None)
            failed = [text for text in self._recent if text is not None]
            if len(self._recent) == cfg.breaker_window and len(failed) > cfg.breaker_share * cfg.breaker_window:
                raise EndpointError(
                    f"{', '.join(self.base_urls)}: {len(failed)} of the last {cfg.breaker_window} requests failed "
                    f"after {cfg.max_retries} retries each; the endpoint's last error: {failed[-1][:200]}. "
                    "The work they were for is pending, not lost: rerun the same command when the endpoint works"
                )  # fmt: skip
        if result.pending or not (request.schema is not None or request.sections):
            return
        self._replies += 1
        self._usable += result.ok
        if cfg.parse_guard > 0 and self._usable == 0 and self._replies >= cfg.parse_guard:
            form = ("the tagged sections " + ", ".join(heading(n) for n in request.sections) if request.sections
                    else "a JSON object with " + ", ".join((request.schema or {}).get("required", [])))  # fmt: skip
            cached = " (from the cache)" if result.cached else ""
            raise EndpointError(
                f"none of the first {self._replies} replies of {self.model} could be read as {form} "
                f"(prompt {request.prompt}); one reply{cached}: {(result.text or '')[:160]!r} ({result.detail[:100]}). "
                "Use a model or prompt that answers in that form; then rerun with llm.reask_unparsed=true, "
                "so the cached unreadable replies are asked again"
            )  # fmt: skip

    async def _complete(self, request: Request) -> Result:
        size = prompt_chars(request)
        if size > self.cfg.max_prompt_chars:  # never sent: no endpoint takes it, and it would cost a fortune
            return Result(request.id, error="prompt_too_long",
                          detail=f"the prompt has {size:,} characters, over llm.max_prompt_chars={self.cfg.max_prompt_chars:,}")  # fmt: skip
        key = self._key(request) if self._cache is not None else ""
        hit = self._cache.get(key) if self._cache is not None else None
        if hit is not None and "error" in hit and self.cfg.reask_unparsed:
            hit = None  # an unusable answer, asked again (the new answer replaces it in the cache)
        if hit is not None:
            result = Result(request.id, text=hit["text"], cached=True, cached_prompt_tokens=hit.get("prompt_tokens", 0),
                            cached_completion_tokens=hit.get("completion_tokens", 0))  # fmt: skip
            if "error" in hit:  # the model answered, but not usably: asking again gives the same
                result.error, result.detail = hit["error"], hit.get("detail", "")
            elif request.schema is not None or request.sections:
                result.data = _parse(hit["text"], request)
            return result

        result = Result(request.id)
        messages = request.messages
        try:
            result.text = await self._call_with_retries(request, messages, result)
            if request.schema is not None or request.sections:
                try:
                    result.data = _parse(result.text, request)
                except ReplyError as first_error:
                    if not self.cfg.json_repair:
                        raise
                    self.usage.repairs += 1
                    messages = [*messages, {"role": "assistant", "content": result.text or ""},
                                {"role": "user", "content": _repair_prompt(str(first_error), request)}]  # fmt: skip
                    result.text = await self._call_with_retries(request, messages, result)
                    result.data = _parse(result.text, request)
        except _CallFailed as exc:
            result.error, result.detail = exc.reason, exc.detail
            return result
        except ReplyError as exc:
            result.error, result.detail = "parse", str(exc)
        if self._cache is not None:  # answers, and unusable answers; never transport failures
            entry = {"text": result.text, "prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens}
            if result.error:
                entry.update(error=result.error, detail=result.detail)
            self._cache.put(key, entry)
        return result

    async def _call_with_retries(self, request: Request, messages: list[dict[str, str]], result: Result) -> str:
        for attempt in range(self.cfg.max_retries + 1):
            result.attempts += 1
            try:
                return await self._call(request, messages, result)
            except _CallFailed as exc:
                if not exc.retry or attempt == self.cfg.max_retries:
                    raise
                self.usage.retries += 1
                self.usage.retry_reasons[exc.reason] += 1
                delay = random.uniform(0, min(self.cfg.backoff_max_s, self.cfg.backoff_s * 2**attempt))
                if exc.retry_after is not None:
                    delay = max(delay, min(exc.retry_after, self.cfg.backoff_max_s))
                log.debug("request %s: %s, retrying in %.2f s", request.id, exc.reason, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def _body(self, request: Request, messages: list[dict[str, str]]) -> tuple[str, dict[str, Any]]:
        """The route and the JSON body of one call."""
        if request.completion_prompt is not None:
            body: dict[str, Any] = {"model": self.model, "prompt": request.completion_prompt,
                                    **self.completion_extra, **self._params(request)}  # fmt: skip
            route = "/completions"
        else:
            route = "/chat/completions"
            fmt = response_format(self.structured_output, request.schema, request.prompt)
            if fmt is not None and fmt["type"] == "json_object" and not mentions_json(messages):
                messages = [{"role": "system", "content": JSON_NOTE}, *messages]
            body = {"model": self.model, "messages": messages, **self._params(request)}
            if fmt is not None:
                body["response_format"] = fmt
        if request.seed is not None:
            body["seed"] = request.seed
        return route, body

    async def _call(self, request: Request, messages: list[dict[str, str]], result: Result) -> str:
        endpoint = self._next_endpoint()
        route, body = self._body(request, messages)
        self.usage.api_calls += 1
        try:
            # The raw POST skips the openai package's per-request walk over the typed
            # parameters and the typed reply: the same bytes on the wire, a fraction of
            # the CPU, which matters at thousands of requests per second.
            raw = await endpoint.post(route, body=body, cast_to=str)
        except openai.APITimeoutError:
            self._check_server()
            raise _CallFailed("timeout", f"no reply within {self.cfg.timeout_s:g} s", retry=True) from None
        except openai.APIConnectionError as exc:
            self._check_server()
            raise _CallFailed("connection", _safe(str(exc.__cause__ or exc), self._api_key), retry=True) from None
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status >= 500:
                self._check_server()
            if status in (401, 403, 404):
                raise EndpointError(self._refusal(endpoint, route, status, _safe(str(exc.message), self._api_key))) from None
            raise _CallFailed(
                f"http_{status}", _safe(str(exc.message), self._api_key),
                retry=status in RETRYABLE_STATUS, retry_after=_retry_after(exc.response.headers),
            ) from None  # fmt: skip
        return _content(raw, result)

    def _refusal(self, endpoint: openai.AsyncOpenAI, route: str, status: int, message: str) -> str:
        """One line for a refusal that every further request would get too."""
        url = str(endpoint.base_url).rstrip("/")
        if status in (401, 403):
            key = f"${self.cfg.api_key_env}" + ("" if os.environ.get(self.cfg.api_key_env) else " (not set)")
            return (f"{url}: HTTP {status}, the endpoint refused the API key from {key}: {message[:160]}; "
                    "set a valid key (or llm.api_key_env) and rerun: finished work is kept")  # fmt: skip
        if "model" in message.lower():
            return (f"{url}: HTTP 404, the endpoint has no model {self.model!r}: {message[:160]}; "
                    "set llm.model to one of the models its /v1/models lists")  # fmt: skip
        return f"{url}{route}: HTTP 404 ({message[:160]}); is llm.base_urls the endpoint's /v1 URL?"

    def _check_server(self) -> None:
        """Stop at once when the endpoint's server process has died: retrying a dead port
        only hides the crash. (A dropped connection can come a moment before the exit.)"""
        if self.server is not None and (failure := self.server.failure(wait_s=2.0)) is not None:
            raise EndpointError(failure)

    def _account(self, result: Result) -> None:
        usage = self.usage
        usage.requests += 1
        usage.cache_hits += result.cached
        usage.prompt_tokens += result.prompt_tokens
        usage.completion_tokens += result.completion_tokens
        usage.cached_prompt_tokens += result.cached_prompt_tokens
        usage.cached_completion_tokens += result.cached_completion_tokens
        if result.ok:
            usage.succeeded += 1
        else:
            usage.failures[result.error or "unknown"] += 1
        if self.on_account is not None:
            self.on_account()

    # -- batches -----------------------------------------------------------------------

    async def _batches(self, requests: Iterable[Request]) -> AsyncIterator[list[Result]]:
        """Results in completion order, at most ``self.concurrency`` requests in flight, every
        result that is ready handed over at once. ``requests`` is consumed lazily, so millions
        of requests need no memory up front."""
        # ``concurrency`` workers pull from one iterator and push into a queue: O(1) work
        # per request, where asyncio.wait over a set of tasks would cost O(concurrency).
        source = iter(requests)
        done: asyncio.Queue[Result | None] = asyncio.Queue(maxsize=self.concurrency)
        failures: list[BaseException] = []

        async def worker() -> None:
            try:
                for request in source:  # safe: workers share one thread, and next() never awaits
                    await done.put(await self.complete(request))
            except Exception as exc:  # raised by the request iterator, or EndpointError: re-raised below
                failures.append(exc)
            await done.put(None)

        workers = [asyncio.create_task(worker()) for _ in range(self.concurrency)]
        try:
            running = len(workers)
            while running:
                ready = [await done.get()]
                while not done.empty():
                    ready.append(done.get_nowait())
                running -= ready.count(None)
                batch = [r for r in ready if r is not None]
                if batch:
                    yield batch
                if failures:  # the request iterator raised, or the endpoint died: stop now
                    raise failures[0]
        finally:  # the consumer stopped early (error, Ctrl-C): cancel what is in flight
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    def run(self, requests: Iterable[Request], total: int | None = None, desc: str = "LLM") -> Iterator[Result]:
        """Results as they complete, with a progress bar: the batch interface of every command.

        (Async code with its own loop, like generation, awaits :meth:`complete` instead.)
        """
        from tqdm import tqdm

        if total is None and hasattr(requests, "__len__"):
            total = len(requests)  # type: ignore[arg-type]
        loop = asyncio.new_event_loop()
        batches = self._batches(requests)
        bar = tqdm(total=total, desc=desc, unit="req", disable=not self.cfg.progress, leave=False)
        try:
            while True:
                try:
                    batch = loop.run_until_complete(batches.__anext__())
                except StopAsyncIteration:
                    break
                bar.update(len(batch))
                if any(not r.ok for r in batch):
                    bar.set_postfix(failed=sum(self.usage.failures.values()), refresh=False)
                yield from batch
        finally:
            bar.close()
            # Ctrl-C or SIGTERM lands in whichever task is running: cancel what is left and
            # let it unwind, so the generator is not closed while it still runs.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            with contextlib.suppress(RuntimeError):  # already closed by its cancelled step
                loop.run_until_complete(batches.aclose())
            loop.run_until_complete(self._close_endpoints())
            loop.close()

    def complete_all(self, requests: Iterable[Request], desc: str = "LLM") -> list[Result]:
        """All results, in the order of ``requests``."""
        requests = list(requests)
        by_id = {r.id: r for r in self.run(requests, desc=desc)}
        return [by_id[r.id] for r in requests]

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()


LLAMA_CPP_JSON = "llama_cpp"  # llama-cpp-python's dialect, for the embedded server only
JSON_NOTE = "Reply with JSON."  # OpenAI refuses json_object unless the messages say "json"
_SCHEMA_NAME = re.compile(r"[^a-zA-Z0-9_-]+")


def response_format(mode: str, schema: dict[str, Any] | None, name: str = "") -> dict[str, Any] | None:
    """The ``response_format`` of a chat request that wants JSON matching ``schema``.

    >>> response_format("json_object", {"type": "object"})
    {'type': 'json_object'}
    >>> response_format("json_schema", {"type": "object"}, "solve.v1")["json_schema"]["name"]
    'solve_v1'
    """
    if schema is None or mode == "none":
        return None
    if mode == "json_object":
        return {"type": "json_object"}
    if mode == "json_schema":
        name = _SCHEMA_NAME.sub("_", name).strip("_")[:64] or "reply"
        return {"type": "json_schema", "json_schema": {"name": name, "schema": strict_schema(schema), "strict": True}}
    if mode == LLAMA_CPP_JSON:
        return {"type": "json_object", "schema": schema}
    raise MathscaleError(f"llm.structured_output: unknown mode {mode!r}; use json_object, json_schema or none")


# Keywords that strict structured outputs refuse on some models (fine-tuned ones, older
# snapshots); the client validates the reply against the full schema anyway.
_STRICT_DROPPED = {"minLength", "maxLength", "minItems", "maxItems", "pattern", "format", "minimum", "maximum"}


def strict_schema(schema: Any) -> Any:
    """``schema`` in the form OpenAI's strict mode requires: every object closed
    (``additionalProperties: false``) with all its properties required, and no keyword
    that strict mode may refuse. Type unions (``"type": ["string", "number"]``) stay.

    >>> strict_schema({"type": "object", "properties": {"a": {"type": "string", "minLength": 1}}})
    {'type': 'object', 'properties': {'a': {'type': 'string'}}, 'additionalProperties': False, 'required': ['a']}
    """
    if isinstance(schema, list):
        return [strict_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict_schema(v) for k, v in schema.items() if k not in _STRICT_DROPPED}
    if "properties" in schema:  # property names are not schemas: keep them all
        out["properties"] = {k: strict_schema(v) for k, v in schema["properties"].items()}
    if out.get("type") == "object" or "properties" in out:
        out["additionalProperties"] = False
        out["required"] = list(out.get("properties", {}))
    return out


def prompt_chars(request: Request) -> int:
    """The characters a request sends as its prompt (messages or raw text)."""
    if request.completion_prompt is not None:
        return len(request.completion_prompt)
    return sum(len(str(m.get("content", ""))) for m in request.messages)


def mentions_json(messages: list[dict[str, str]]) -> bool:
    return any("json" in str(m.get("content", "")).lower() for m in messages)


def _content(raw: str, result: Result) -> str:
    """The text of a chat or text completion body; token counts go into ``result``."""
    try:
        reply = json.loads(raw)
        usage = reply.get("usage") or {}
        result.prompt_tokens += int(usage.get("prompt_tokens") or 0)
        result.completion_tokens += int(usage.get("completion_tokens") or 0)
        choices = reply["choices"]
    except (ValueError, TypeError, AttributeError, KeyError):  # e.g. an HTML error page with status 200
        raise _CallFailed("bad_response", f"not an OpenAI reply: {raw[:80]!r}", retry=True) from None
    if not choices:
        raise _CallFailed("bad_response", "the reply has no choices", retry=True)
    try:
        choice = choices[0]
        text = choice["message"]["content"] if "message" in choice else choice["text"]
    except (TypeError, KeyError, IndexError):
        raise _CallFailed("bad_response", "the reply has no message", retry=True) from None
    if not isinstance(text, str):
        raise _CallFailed("bad_response", "the reply has no content", retry=True)
    return text


def _parse(text: str | None, request: Request) -> Any:
    if request.sections:
        return parse_sections(text or "", request.sections, request.optional_sections)
    data = parse_json_reply(text or "")
    validate(data, request.schema or {})
    return data


def _repair_prompt(error: str, request: Request) -> str:
    if request.sections:
        headings = ", ".join(heading(name) for name in (*request.sections, *request.optional_sections))
        return (f"Your reply could not be used: {error}. Reply again with the sections {headings}, "
                "each heading on a line of its own, and nothing else.")  # fmt: skip
    return (
        f"Your reply could not be used: {error}. Reply again with only one JSON object "
        "that has every required field, and nothing else."
    )


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    return None


def _safe(text: str, secret: str) -> str:
    """Error text with the API key masked (some servers echo headers back)."""
    if secret and secret != "not-needed":
        text = text.replace(secret, "***")
    return text[:300]


def _cache_path(cfg: LLMConfig) -> Path:
    return Path(cfg.cache_path).expanduser() if cfg.cache_path else cache_root() / "llm-cache.sqlite"


@contextlib.contextmanager
def open_client(cfg: LLMConfig) -> Iterator[LLMClient]:
    """An :class:`LLMClient` for the configured endpoints, or for the embedded model.

    With no endpoint configured this starts the llama.cpp server and stops it when the
    block ends (errors and Ctrl-C included). Unreachable endpoints fail here, before any
    work, with one line naming the URL.
    """
    from mathscale.llm.endpoints import discover_model, list_models, resolve_endpoints

    base_urls = resolve_endpoints(cfg)
    api_key = os.environ.get(cfg.api_key_env) or None
    with contextlib.ExitStack() as stack:
        if base_urls:
            for url in base_urls[1:]:
                list_models(url, api_key)  # fail now, not on the first request
            model = cfg.model or discover_model(base_urls[0], api_key)
            if cfg.model:
                list_models(base_urls[0], api_key)
            client = LLMClient(cfg, base_urls, model, api_key)
        elif cfg.local_engine == "vllm":
            from mathscale.llm.vllm_server import VLLMServer
            from mathscale.models.hub import model_folder

            model = Path(cfg.local_model).name if Path(cfg.local_model).expanduser().is_dir() else cfg.local_model
            server = stack.enter_context(VLLMServer(model_folder(cfg.local_model), alias=model,
                                                    max_model_len=cfg.local_context))  # fmt: skip
            # vLLM batches the requests in flight; an OpenAI server, structured_output as configured;
            # the embedded model costs nothing per token
            cfg = dataclasses.replace(cfg, timeout_s=max(cfg.timeout_s, LOCAL_TIMEOUT_S))
            client = LLMClient(cfg, [server.base_url], model, api_key, server=server, price=Price(0.0, 0.0))
        else:
            from mathscale.llm.local import LocalServer
            from mathscale.models.gguf import LOCAL_MODELS, resolve_model

            path = resolve_model(cfg.local_model)
            model = cfg.local_model if cfg.local_model in LOCAL_MODELS else path.stem
            server = stack.enter_context(
                LocalServer(path, alias=model, threads=cfg.local_threads, context=cfg.local_context)
            )
            # llama.cpp's Python server answers one request at a time: keep one queued so
            # it is never idle, and no more. It does not stop work on a request whose client
            # gave up, so a timeout would only queue the retry behind the abandoned request:
            # on this local server a slow reply means a busy CPU, and we wait for it. It takes
            # the schema its own way, and the embedded model costs nothing per token.
            cfg = dataclasses.replace(cfg, timeout_s=max(cfg.timeout_s, LOCAL_TIMEOUT_S))
            client = LLMClient(cfg, [server.base_url], model, api_key, concurrency=2, server=server, price=Price(0.0, 0.0),
                               structured_output=LLAMA_CPP_JSON if cfg.structured_output != "none" else None,
                               completion_extra={"repeat_penalty": 1.0})  # fmt: skip
        stack.callback(client.close)
        yield client
