"""Unpack a downloaded tarball into a folder of the cache, all or nothing; unpack a submitted zip
within limits."""
from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from .errors import HomeworkError


def unpack(archive: Path, target: Path) -> int:
    """Unpack the .tar / .tgz `archive` into `target`, replacing what is there, and return the
    number of files. An archive whose members all sit in one top folder (flower_photos/...)
    gives that folder's content. Only plain files and folders are unpacked: a member that
    would land outside `target`, a link or a device file makes the whole archive refused,
    and a failure leaves `target` as it was."""
    archive, target = Path(archive), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".unpacking", dir=target.parent))
    try:
        count = _unpack_members(archive, staging)
        entries = list(staging.iterdir())
        content = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
        if target.exists():
            old = staging.with_name(staging.name + ".old")
            os.replace(target, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(content, target)
        return count
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _unpack_members(archive: Path, into: Path) -> int:
    count = 0
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                relative = PurePosixPath(member.name)
                if relative.is_absolute() or ".." in relative.parts:
                    raise HomeworkError(f"{archive}: member {member.name} would land outside the folder; not unpacked")
                destination = into.joinpath(*relative.parts) if relative.parts else into
                if member.isdir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    raise HomeworkError(f"{archive}: member {member.name} is a link or special file; not unpacked")
                destination.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                with source, open(destination, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
                count += 1
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise HomeworkError(f"{archive}: not a readable .tar/.tgz archive ({exc}); delete it and run again") from exc
    return count


def unpack_zip(archive: Path, into: Path, max_bytes: int, max_files: int) -> int:
    """Unpack the zip `archive` into the empty folder `into` and return the number of files. Refused
    in one line, with nothing kept: a member that would land outside `into`, a link, more than
    `max_files` files, or more than `max_bytes` unpacked (counted as it is written, whatever the
    zip's own header claims)."""
    archive, into = Path(archive), Path(into)
    count, written = 0, 0
    try:
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.infolist():
                relative = PurePosixPath(member.filename.replace("\\", "/"))
                if relative.is_absolute() or ".." in relative.parts or (relative.parts and ":" in relative.parts[0]):
                    raise HomeworkError(f"{archive}: member {member.filename} would land outside the folder; not unpacked")
                if stat.S_ISLNK(member.external_attr >> 16):
                    raise HomeworkError(f"{archive}: member {member.filename} is a link; not unpacked")
                destination = into.joinpath(*relative.parts) if relative.parts else into
                if member.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                count += 1
                if count > max_files:
                    raise HomeworkError(f"{archive}: more than {max_files:,} files; not unpacked")
                destination.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, open(destination, "wb") as out:
                    while True:
                        chunk = source.read(1 << 20)
                        if not chunk:
                            break
                        written += len(chunk)
                        if written > max_bytes:
                            raise HomeworkError(f"{archive}: unpacks to more than {max_bytes:,} bytes; not unpacked")
                        out.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, zlib.error, OSError, RuntimeError) as exc:
        raise HomeworkError(f"{archive}: not a readable zip ({exc})") from exc
    return count
