"""Content-addressed response cache in one SQLite file, shared safely by many processes.

The key is a SHA-256 over everything that determines a completion (model, messages,
sampling parameters, seed, prompt name/version, JSON schema). SQLite in WAL mode lets
several processes (shards on one machine) read and write the same file; a writer that
finds the database busy waits instead of failing.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from mathscale.errors import MathscaleError


def cache_key(**parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """``get(key) -> dict | None`` and ``put(key, value)`` on a SQLite file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        except (OSError, sqlite3.Error) as exc:  # before any request: nothing is lost
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise MathscaleError(f"{self.path}: cannot open the LLM response cache ({reason}); set llm.cache_path "
                                 "to a file in a writable folder (or MATHSCALE_CACHE to a writable folder), "
                                 "or llm.cache=false") from None  # fmt: skip

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        blob = json.dumps(value, ensure_ascii=False)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)", (key, blob))

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
