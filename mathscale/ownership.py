"""An output belongs to one run: the checks every writing command makes before its first write.

>>> with owned_output(out, inputs={"GRAPH": cfg.graph}, appended=[out]):   # doctest: +SKIP
...     ...  # read what an earlier run left, write

- an output that is one of the command's inputs (same file, by path or by inode) is refused;
- an exclusive lock (``fcntl.flock`` on a hidden ``.OUT.lock`` beside the output) is held while
  the command runs; a second process on the same output refuses at once, naming the holder's PID;
- a torn last line of an appended output (a write cut short by a kill or a full disk) is cut,
  and said so, before the command reads what the earlier run left;
- :func:`refuse_foreign` keeps a command from overwriting a file it did not write (``--force``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from mathscale.errors import MathscaleError


class OutputInUseError(MathscaleError):
    """Another process holds the output's lock."""


def lock_path(out: str | os.PathLike[str]) -> Path:
    """The lock file of an output (a file or a folder): ``dir/.NAME.lock``."""
    out = Path(out)
    return out.with_name(f".{out.name}.lock")


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when ``a`` and ``b`` name one file: the same resolved path, or the same inode (a hard link)."""
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return False


def refuse_inputs(out: str | os.PathLike[str], inputs: Mapping[str, Any], what: str = "--out") -> None:
    """Refuse an output that is one of the inputs (``{"GRAPH": path, ...}``; empty values are skipped)."""
    for name, paths in inputs.items():
        for path in paths if isinstance(paths, (list, tuple)) else [paths]:
            if path and same_file(out, path):
                raise MathscaleError(f"{what} {out}: is also the input {name} ({path}); writing it would destroy "
                                     f"the input; give {what} another file")  # fmt: skip


def refuse_foreign(out: Path, is_ours: Callable[[Path], bool], force: bool, what: str) -> None:
    """Refuse to replace an existing file that this command did not write, unless ``force``.

    ``is_ours(path)`` tells an earlier output of the same command (rerunning it replaces that);
    ``what`` names what the command writes, for the message.
    """
    if force or not out.exists() or out.is_dir() or out.stat().st_size == 0:
        return
    try:
        ours = is_ours(out)
    except (OSError, ValueError, UnicodeDecodeError):
        ours = False
    if not ours:
        raise MathscaleError(f"{out}: exists and does not hold {what}; this command would overwrite it: "
                             "give another --out, or --force to replace it")  # fmt: skip


@contextlib.contextmanager
def output_lock(out: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the exclusive lock of ``out`` for the ``with`` body; a second holder is refused with its PID.

    The lock file is removed on release. Removal is race-free: a process that locked a file
    which was then unlinked sees that the path no longer names its file and locks again.
    """
    path = lock_path(out)
    created = _make_folders(path.parent)
    try:
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                raise OutputInUseError(f"{out}: in use by another mathscale process (PID {holder}, lock {path}); "
                                       "wait for it to finish, or give another --out") from None  # fmt: skip
            try:
                if os.stat(fd).st_ino == os.stat(path).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)  # the holder before us removed the file we locked: lock the new one
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            os.close(fd)
    finally:
        for folder in created:  # folders made only for the lock go again when nothing was written in them
            with contextlib.suppress(OSError):
                folder.rmdir()


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and those above it; returns the ones created, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for each in reversed(missing):
        each.mkdir(exist_ok=True)
    return missing


@contextlib.contextmanager
def owned_output(out: str | os.PathLike[str], *, inputs: Mapping[str, Any] = {}, appended: Iterable[Path] = (),
                 also: Iterable[Path] = ()) -> Iterator[None]:  # fmt: skip
    """Refuse ``out`` (and the other outputs in ``also``) when it is an input, lock it, and cut a torn
    last line of each file in ``appended`` (outputs a rerun resumes), saying so."""
    from mathscale.io import repair_torn_tail

    out = Path(out)
    refuse_inputs(out, inputs)
    for other in also:
        refuse_inputs(other, {**inputs, "--out": out}, what=str(other))
    with output_lock(out):
        for path in appended:
            cut = repair_torn_tail(Path(path))
            if cut:
                print(f"{path}: cut a torn last line ({cut} bytes) left by an interrupted write; "
                      "its record is made again")  # fmt: skip
        yield


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, hex (what outputs record of their inputs)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # a write that failed for want of room


def disk_full_error(path: str | os.PathLike[str], exc: OSError) -> MathscaleError | None:
    """The one-line error for a write that ran out of room, or None for other OSErrors."""
    if exc.errno not in FULL:
        return None
    return MathscaleError(f"disk full writing {path} ({exc.strerror}); free space and rerun to resume")
