"""Atomic writes and content hashes: a kill mid-write never leaves a half file behind."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Union

PathLike = Union[str, os.PathLike]


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results and reports are for sharing
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: PathLike, data: bytes, durable: bool = True) -> None:
    """durable=False skips fsync: still atomic (no half file under the final name), for
    cache entries that carry their own checksum and are cheap to rebuild."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())


def rename_into_place(finished: PathLike, path: PathLike) -> None:
    """Move a file written under another name (a download's .part) to `path` in one rename,
    after its bytes are on disk, so `path` is either absent or complete."""
    with open(finished, "rb+") as handle:
        os.fsync(handle.fileno())
    os.chmod(finished, 0o666 & ~_umask())
    os.replace(finished, path)


def write_text(path: PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: PathLike, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_tree(root: PathLike, files: Iterable[Path] = ()) -> str:
    """Hash of a folder's files (relative names and contents), independent of where it lives."""
    root = Path(root)
    chosen = sorted(files) if files else sorted(p for p in root.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for path in chosen:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(sha256_file(path).encode())
    return digest.hexdigest()
