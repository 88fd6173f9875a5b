"""Which endpoints to use, and a quick check that they answer before any work starts."""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request

from mathscale.errors import MathscaleError
from mathscale.llm.config import LLMConfig


def resolve_endpoints(cfg: LLMConfig) -> list[str]:
    """``llm.base_urls``, else ``$OPENAI_BASE_URL``, else [] (the embedded model)."""
    urls = [u.rstrip("/") for u in cfg.base_urls if u.strip()]
    if not urls and os.environ.get("OPENAI_BASE_URL"):
        urls = [os.environ["OPENAI_BASE_URL"].rstrip("/")]
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise MathscaleError(f"llm.base_urls: {url!r} is not an http(s) URL (expected e.g. http://host:8000/v1)")
    return urls


def discover_model(base_url: str, api_key: str | None, timeout_s: float = 10.0) -> str:
    """The first model an endpoint lists; also proves the endpoint is reachable."""
    models = list_models(base_url, api_key, timeout_s)
    if not models:
        raise MathscaleError(f"{base_url}: the endpoint lists no models; set llm.model to the model name")
    return models[0]


def list_models(base_url: str, api_key: str | None, timeout_s: float = 10.0) -> list[str]:
    """Model ids from ``GET {base_url}/models``; any failure is one clear MathscaleError."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    request = urllib.request.Request(f"{base_url}/models", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as reply:
            body = reply.read()
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise MathscaleError(
                f"{base_url}: the endpoint refused the API key (HTTP {exc.code}); check the key's variable"
            ) from None
        raise MathscaleError(f"{base_url}/models answered HTTP {exc.code}; set llm.model to the model name") from None
    except (TimeoutError, socket.timeout):
        raise MathscaleError(f"{base_url}: no answer within {timeout_s:g} s; is the server overloaded?") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise MathscaleError(
            f"{base_url}: cannot connect ({reason}); start the server or fix llm.base_urls / OPENAI_BASE_URL"
        ) from None
    try:
        return [m["id"] for m in json.loads(body).get("data", [])]
    except (ValueError, AttributeError, KeyError, TypeError):
        raise MathscaleError(f"{base_url}/models: not an OpenAI-compatible reply; is this the /v1 URL?") from None
