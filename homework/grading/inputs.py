"""Reading the files grading is handed (write-ups, answers.yaml, records, checks results) and
choosing where it writes: any file gives one line naming it and what is wrong."""
from __future__ import annotations

import codecs
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Iterable, Optional

from ..errors import HomeworkError

MAX_SUBMISSION_BYTES = 2 * 1024 * 1024  # a long write-up is ~50 KB; 2 MB leaves room for pasted logs
MAX_JSON_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 64

_MAGIC = {
    b"%PDF": "a PDF (export the write-up as Markdown or plain text)",
    b"PK\x03\x04": "a zip archive or a Word/ODF document (export it as Markdown or plain text)",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"{\\rtf": "an RTF document (export it as Markdown or plain text)",
    b"\xd0\xcf\x11\xe0": "an old Word document (export it as Markdown or plain text)",
}


class InputError(HomeworkError):
    pass


def read_text(path, what: str, limit: int = MAX_SUBMISSION_BYTES) -> str:
    """A text file's contents: UTF-8 (with or without a BOM) or UTF-16 with a BOM; anything else is refused."""
    path = Path(path)
    try:
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not a {what}")
        size = path.stat().st_size
        if size > limit:
            raise InputError(f"{path}: {size:,} bytes is over the {limit:,}-byte limit for a {what}")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    return decode(data, str(path), what)


def decode(data: bytes, source: str, what: str) -> str:
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            raise InputError(f"{source}: is {kind}, not a {what}")
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec)
            except UnicodeDecodeError as exc:
                raise InputError(f"{source}: starts like {codec} text but byte {exc.start} is not ({exc.reason})") from None
    if b"\x00" in data[:4096]:
        raise InputError(f"{source}: holds NUL bytes: binary, or UTF-16 without a byte-order mark; save the {what} as UTF-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                         f"save the {what} as UTF-8") from None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def read_json(path, what: str) -> Any:
    """JSON with no NaN/Infinity, bounded in size and nesting."""
    text = read_text(path, what, MAX_JSON_BYTES)
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise InputError(f"{path}: nested too deeply to be a {what}") from None
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON ({str(exc).splitlines()[0][:200]})") from None
    where = too_deep(doc)
    if where:
        raise InputError(f"{path}: nested more than {MAX_DEPTH} levels deep at {where}")
    return doc


def too_deep(value: Any, limit: int = MAX_DEPTH) -> str:
    """'' or the path where `value` nests deeper than `limit` (iterative: no recursion limit)."""
    stack = [(value, "", 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > limit:
            return where or "."
        if isinstance(item, dict):
            stack.extend((v, f"{where}.{k}", depth + 1) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(item))
    return ""


def finite_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # a 400-digit integer
        return False


def output_path(path, inputs: Iterable[Optional[os.PathLike]], what: str) -> Path:
    """Where to write `what`: never a directory, never one of the inputs."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give a file name for the {what}")
    if path.exists():
        for source in inputs:
            if source is not None and Path(source).exists() and os.path.samefile(path, source):
                raise InputError(f"{path}: is an input of this command; writing the {what} there would overwrite it")
    return path


def dumps(doc: Any) -> str:
    """JSON that every reader accepts (no NaN or Infinity)."""
    return json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n"


def read_yaml(text: str, source: str, what: str):
    """YAML as a careful reader takes it: a key given twice, a key that is a list or a mapping, and a
    key with a leading zero (read as octal) are refused, each in one line naming the file and line."""
    import yaml

    class UniqueKeys(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            where = f"{source}: line {key_node.start_mark.line + 1}"
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
                raise InputError(f"{where}: a key must be a plain name or number, not a {kind}")
            if key_node.tag.endswith(":int") and re.fullmatch(r"[+-]?0\d+", key_node.value):
                raise InputError(f"{where}: key '{key_node.value}' has a leading zero (YAML would read it as octal); "
                                 f"write {int(key_node.value, 10)}")
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise InputError(f"{where}: key '{key}' appears twice")
            seen.add(key)
        return loader.construct_mapping(node, deep=deep)

    UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    loader = None
    try:
        loader = UniqueKeys(text)  # the reader itself refuses control characters
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML ({' '.join(str(exc).split())[:300]})") from None
    except RecursionError:
        raise InputError(f"{source}: nested too deeply to be {what}") from None
    finally:
        if loader is not None:
            loader.dispose()
