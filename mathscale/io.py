"""JSON-lines reading and writing that never loses or half-writes data.

- :func:`read_jsonl` / :func:`read_records` report ``file:line`` and the bad field;
- :class:`JsonlWriter` appends one flushed line per record, and on opening repairs a
  torn last line left by a killed process, so a rerun can resume; a write that fails for
  want of room is cut back to the last whole line and becomes one error line
  ("disk full writing FILE; free space and rerun to resume");
- :func:`atomic_write` writes whole files through a temporary name and a rename (a full
  disk leaves the old file and that same error);
- :func:`done_ids` tells a resuming stage which records already exist.

Output folders are created as needed, by the writers, when they first write.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from mathscale.errors import DataError, MathscaleError
from mathscale.records import Record

R = TypeVar("R", bound=Record)


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[str, Any]]:
    """Yield ``("file:line", object)`` for each non-blank line; bad JSON raises DataError."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise MathscaleError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise MathscaleError(f"{path}: is a folder, expected a JSON-lines file") from None
    except OSError as exc:
        raise MathscaleError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        for lineno, line in decoded_lines(handle, path):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None


def decoded_lines(handle: IO[bytes], path: str | os.PathLike[str]) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of a binary file's lines, decoded as UTF-8 (a BOM is dropped).

    Bytes that are not UTF-8 raise DataError naming the file, the line and the byte offset,
    where Python's own error names only a position in an internal buffer.
    """
    offset = 0
    for lineno, raw in enumerate(handle, 1):
        try:
            text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(not_utf8(path, lineno, offset + exc.start, raw[exc.start])) from None
        offset += len(raw)
        yield lineno, text


def not_utf8(path: str | os.PathLike[str], lineno: int, offset: int, byte: int) -> str:
    """The message for a file that is not UTF-8 text."""
    return (f"{path}:{lineno}: not UTF-8 text (byte 0x{byte:02x} at byte offset {offset}); "
            f"save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)")  # fmt: skip


def read_records(path: str | os.PathLike[str], record: type[R], *, allow_empty: bool = False) -> Iterator[R]:
    """Yield typed records from a JSONL file; the first bad line raises DataError."""
    empty = True
    for where, obj in read_jsonl(path):
        empty = False
        yield record.from_json(obj, where)
    if empty and not allow_empty:
        raise DataError(f"{path}: the file holds no records")


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """Fail early (before any work) when an output cannot be written where asked.

    Missing folders on the way are fine (the writers create them when they first write, so a
    command that fails before that leaves nothing behind); a file in their place, or a folder
    that cannot be written, is an error now.
    """
    path = Path(path)
    if path.is_dir():
        raise MathscaleError(f"{path}: is a folder; give a file name for the output")
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise MathscaleError(f"{path}: {existing} is a file, so folder {path.parent} cannot be created")
    if not os.access(existing, os.W_OK):
        raise MathscaleError(f"{path}: folder {existing} is not writable")
    return path


def make_parent(path: str | os.PathLike[str]) -> Path:
    """Create the folder ``path`` goes in (and those above it) when missing; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def side_file(out: Path, suffix: str) -> Path:
    """A file written beside an output: ``concepts.jsonl`` -> ``concepts<suffix>``."""
    return out.with_name(out.name[: -len(out.suffix)] + suffix if out.suffix else out.name + suffix)


def repair_torn_tail(path: Path) -> int:
    """Cut a last line that lacks its newline (a write interrupted by a kill).

    Returns the number of bytes removed. Complete lines are never touched.
    """
    if not path.exists():
        return 0
    with path.open("rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return 0
        # Walk back to the previous newline in blocks.
        pos = size
        while pos > 0:
            start = max(0, pos - 65536)
            handle.seek(start)
            block = handle.read(pos - start)
            cut = block.rfind(b"\n")
            if cut >= 0:
                keep = start + cut + 1
                break
            pos = start
        else:
            keep = 0
        handle.truncate(keep)
        return size - keep


class JsonlWriter:
    """Append records to a JSONL file, one flushed line each; safe to resume.

    >>> with JsonlWriter("out.jsonl") as out:   # doctest: +SKIP
    ...     out.write(record)
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False):
        self.path = make_parent(path)
        self.fsync = fsync
        self.repaired_bytes = repair_torn_tail(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        self.written = 0

    def write(self, record: Record | dict[str, Any]) -> None:
        """Append one whole line; a write that fails (disk full) is cut back to the last whole line."""
        data = record.to_json() if isinstance(record, Record) else record
        line = (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8")
        end = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view) :]
            if self.fsync:
                os.fsync(self._fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, end)
            raise _write_error(self.path, exc) from None
        self.written += 1

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it over ``path`` only on success."""
    path = make_parent(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; give it the usual permissions
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from None
        raise


def _write_error(path: Path, exc: OSError) -> OSError | MathscaleError:
    """A full disk becomes its one-line error (what was written before stays whole); others pass."""
    from mathscale.ownership import disk_full_error

    return disk_full_error(path, exc) or exc


@functools.cache
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write a whole file so that readers see the old content or the new, never a part."""
    with atomic_open(path, "wb" if isinstance(data, bytes) else "w") as handle:
        handle.write(data)


def atomic_write_json(path: str | os.PathLike[str], data: Any) -> None:
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def complete_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` for each complete, non-blank line; a torn last line (no newline,
    left by a killed writer) ends the iteration. JsonlWriter cuts such a line on opening."""
    with Path(path).open("rb") as handle:
        for lineno, line in decoded_lines(handle, path):
            if not line.endswith("\n"):
                break
            if line.strip():
                yield lineno, line


def done_ids(path: str | os.PathLike[str], key: str = "id") -> set[Any]:
    """Values of ``key`` already written to ``path`` (empty when it does not exist yet).

    A torn last line (from a killed writer) is ignored here; JsonlWriter cuts it.
    """
    path = Path(path)
    if not path.exists():
        return set()
    done = set()
    for lineno, line in complete_lines(path):
        try:
            done.add(json.loads(line)[key])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise DataError(f"{path}:{lineno}: no {key!r} field; is this the output of the same command?") from None
    return done
