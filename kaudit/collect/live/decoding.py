"""Decoding list pages into the wire schema (kaudit.model.wire).

Decoding dominates a collection: a 5,000-pod list is ~18 MB of JSON, more than
half of it managedFields and container specs the audit never reads. msgspec
decodes the pages straight into the wire types, skipping every field they do not
declare without building it: about six times faster than json.loads, and far
less memory. tests/cluster/test_live_decoding.py checks that this builds the same
objects as parsing the JSON first and converting it (the manifests' path).
"""

from __future__ import annotations

import functools
import json
from typing import Any, Generic, TypeVar

import msgspec

from kaudit.model import wire

W = TypeVar("W")


class ListDecoder(Generic[W]):
    """Decodes one kind's list pages (JSON bytes) into `wire.ObjectList`s of `item_type`."""

    def __init__(self, item_type: type[W], title: str | None = None) -> None:
        self.item_type = item_type
        self.title = title or item_type.__name__  # for messages: "Pods"
        # The parametrised list type, built at run time (one per kind).
        self._list_type: Any = wire.ObjectList[item_type]  # type: ignore[valid-type]
        self._decoder = _json_decoder(self._list_type)

    def decode(self, body: bytes) -> wire.ObjectList[W]:
        """Raises msgspec.ValidationError or DecodeError (both ValueErrors) on bad input."""
        page: wire.ObjectList[W] = self._decoder.decode(body)
        return page

    def decode_parsed(self, body: bytes) -> wire.ObjectList[W]:
        """The same through json.loads and a conversion, as manifests are read (slower)."""
        page: wire.ObjectList[W] = wire.from_mapping(json.loads(body), self._list_type)
        return page


@functools.cache
def _json_decoder(list_type: Any) -> msgspec.json.Decoder[Any]:
    """One decoder per kind (building one inspects the types; decoding is thread-safe).

    Not strict, as manifests are converted: a number sent as a string still decodes.
    """
    return msgspec.json.Decoder(list_type, strict=False)
