"""Reading manifest files into Kubernetes objects: as kubectl reads them, but bounded.

What kubectl accepts is accepted: UTF-8 with or without a byte-order mark, UTF-16
with one, multi-document YAML, a JSON value or a stream of them, `kind: List` (also
nested) and typed lists (`PodList`, ...) whose items carry no `kind`, and the bare
`=` scalar that YAML 1.1 would otherwise reserve.

What an attacker could use to hang or crash the reader is refused with one line
naming the file (the bounds are `kaudit.parsing`'s). Nothing is dropped silently: every document is an object, a list of objects, or an
error.
"""

from __future__ import annotations

import codecs
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kaudit.errors import InputError
from kaudit.model import Origin
from kaudit.parsing import json_values, yaml_documents

STDIN = "-"
STDIN_NAME = "<stdin>"

# Lists inside lists deeper than this are not something kubectl output produces.
MAX_LIST_NESTING = 16


@dataclass(frozen=True, slots=True)
class Document:
    """One Kubernetes object read from a file, with where it came from."""

    raw: Mapping[str, Any]
    origin: Origin

    @property
    def kind(self) -> str:
        return str(self.raw.get("kind") or "")

    @property
    def api_version(self) -> str:
        value = self.raw.get("apiVersion")
        return value if isinstance(value, str) else ""

    @property
    def name(self) -> str:
        meta = self.raw.get("metadata")
        return str(meta.get("name") or "") if isinstance(meta, Mapping) else ""


def display_name(file: str) -> str:
    return STDIN_NAME if file == STDIN else file


def read_bytes(file: str) -> bytes:
    try:
        if file == STDIN:
            # A text stream without a byte buffer (an embedding program's) is UTF-8.
            stream = getattr(sys.stdin, "buffer", None)
            return stream.read() if stream is not None else sys.stdin.read().encode()
        return Path(file).read_bytes()
    except OSError as exc:
        raise InputError(f"{file}: cannot read: {exc.strerror or exc}") from None


def decode_text(data: bytes, file: str) -> str:
    """Text from bytes the way kubectl takes it: a BOM decides UTF-8 or UTF-16."""
    if data.startswith(codecs.BOM_UTF8):
        encoding, data = "utf-8", data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"  # the codec reads and drops the BOM
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{display_name(file)}: cannot read: not valid {encoding.upper()} text "
            f"(byte {exc.start})"
        ) from None


def read_documents(file: str, text: str | None = None) -> Iterator[Document]:
    """Every object in one file (or stdin), with lists unpacked."""
    if text is None:
        text = decode_text(read_bytes(file), file)
    shown = display_name(file)
    if file.lower().endswith(".json") or text.lstrip().startswith(("{", "[")):
        # JSON, or kubectl -o json output on stdin. A .yaml file that merely starts
        # with a flow mapping and is not JSON is read as YAML.
        values = json_values(shown, text, strict=file.lower().endswith(".json"))
        if values is not None:
            for line, value in values:
                yield from _objects(shown, value, Origin(shown, line, 0), None, 0)
            return
    yield from _yaml_documents(shown, text)


def _yaml_documents(file: str, text: str) -> Iterator[Document]:
    for index, document in enumerate(yaml_documents(text, file)):
        origin = Origin(file, document.line, index)
        lines = document.item_lines
        item_line = lines.__getitem__ if lines is not None else None
        yield from _objects(file, document.value, origin, item_line, 0)


# --- objects and lists ---------------------------------------------------------------------


def _objects(
    file: str,
    data: Any,
    origin: Origin,
    item_line: Callable[[int], int] | None,
    depth: int,
) -> Iterator[Document]:
    if data is None:  # an empty document, e.g. a trailing `---`
        return
    if not isinstance(data, Mapping):
        raise InputError(f"{origin}: expected a Kubernetes object, found {_type_name(data)}")
    kind = data.get("kind")
    if not isinstance(kind, str) or not kind:
        raise InputError(f"{origin}: document has no kind")
    if not kind.endswith("List") or "items" not in data:
        yield Document(data, origin)
        return
    items = data["items"]
    if items is None:
        return
    if not isinstance(items, list):
        raise InputError(f"{origin}: {kind} items must be a list, found {_type_name(items)}")
    if depth >= MAX_LIST_NESTING:
        raise InputError(f"{origin}: lists nested more than {MAX_LIST_NESTING} deep")
    # A typed list (PodList) gives its items their kind and apiVersion, as the API does.
    item_kind = kind.removesuffix("List") if kind != "List" else None
    for index, item in enumerate(items):
        line = item_line(index) if item_line else origin.line
        item_origin = Origin(file, line, origin.document)
        if not isinstance(item, Mapping):
            raise InputError(f"{item_origin}: list item is not an object")
        if item_kind and not item.get("kind"):
            item = {"kind": item_kind, "apiVersion": data.get("apiVersion"), **item}
        if not item.get("kind"):
            raise InputError(f"{item_origin}: list item has no kind")
        nested_lines = _nested_item_lines(item_line, index)
        yield from _objects(file, item, item_origin, nested_lines, depth + 1)


def _nested_item_lines(
    item_line: Callable[[int], int] | None, index: int
) -> Callable[[int], int] | None:
    # Lines of a list inside a list are not tracked: its items take the line of the
    # inner list, which is where a reader looks first.
    if item_line is None:
        return None
    line = item_line(index)
    return lambda _: line


def _type_name(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
