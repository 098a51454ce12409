"""Unpack a downloaded tarball into a folder of the cache, all or nothing."""
from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
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
