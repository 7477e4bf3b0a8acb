"""Paging: every item of a list, page after page, the next page on its way while
the current one is decoded.

Each list has a page fetcher in a thread of its own that requests the pages one
after the other and hands the bodies over through a short queue; the listing
thread decodes them into the wire types and builds the model objects.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import msgspec

from kaudit.collect.live.client import Expired, RawClient
from kaudit.collect.live.decoding import ListDecoder
from kaudit.errors import ClusterError, InputError
from kaudit.model import wire

T = TypeVar("T")
W = TypeVar("W")


# The API server writes a list's metadata (with the continue token) before its items.
_CONTINUE_TOKEN = re.compile(rb'"continue":"([^"]*)"')
_HEAD = 4096


def _peek_continue(body: bytes) -> str:
    match = _CONTINUE_TOKEN.search(body, 0, _HEAD)
    return match.group(1).decode() if match else ""


def _continue_token(page: wire.ObjectList[Any]) -> str:
    return (page.metadata.continue_ if page.metadata else None) or ""


def list_all(
    client: RawClient,
    path: str,
    page_size: int,
    query: Mapping[str, str],
    decoder: ListDecoder[W],
    build: Callable[[W], T],
) -> list[T]:
    """Every item of a list, built into model objects page by page.

    The next page is requested while this one is parsed: its continue token is
    read from the head of the body, and checked against the parsed metadata.
    A 410 on a continue token means the list's snapshot was compacted away:
    the list restarts from scratch.
    """
    for _ in range(3):
        try:
            return _list_pipelined(client, path, page_size, query, decoder, build)
        except Expired:
            continue
    raise ClusterError(f"{client.server}{path}: the list kept expiring (410 Gone) while paging")


def _list_pipelined(
    client: RawClient,
    path: str,
    page_size: int,
    query: Mapping[str, str],
    decoder: ListDecoder[W],
    build: Callable[[W], T],
) -> list[T]:
    def params(token: str) -> dict[str, str]:
        result = dict(query)
        if page_size > 0:
            result["limit"] = str(page_size)
        if token:
            result["continue"] = token
        return result

    def decode(body: bytes) -> wire.ObjectList[W]:
        try:
            return decoder.decode(body)
        except msgspec.ValidationError as error:
            raise _schema_error(client, path, decoder, error) from None

    def build_all(page: wire.ObjectList[W]) -> Iterator[T]:
        for item in page.items or ():
            try:
                yield build(item)
            except (ValueError, TypeError, InputError) as error:
                raise _schema_error(client, path, decoder, error) from None

    built: list[T] = []
    with contextlib.ExitStack() as stack:
        prefetch = client.prefetch or stack.enter_context(
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="kaudit-page")
        )
        fetcher = _PageFetcher(client, path, params)
        stack.callback(fetcher.stop)  # on any exit, so the fetcher never waits forever
        fetcher.future = prefetch.submit(fetcher.run)
        for body, peeked in fetcher.pages():
            page = client.decode(path, body, decode)
            del body
            built.extend(build_all(page))
            token = _continue_token(page)
            if token != peeked:
                # The token was not where we looked: go on page by page, no prefetch.
                fetcher.stop()
                while token:
                    body = client.get_bytes(path, params(token))
                    page = client.decode(path, body, decode)
                    built.extend(build_all(page))
                    token = _continue_token(page)
                break
    return built


def _schema_error(
    client: RawClient, path: str, decoder: ListDecoder[Any], error: Exception
) -> ClusterError:
    """A list page the API server would never send: one line naming the kind."""
    detail = " ".join(str(error).split())[:300]
    return ClusterError(
        f"cannot read {decoder.title} from {client.server}{path}: "
        f"the answer does not match the {decoder.title} list schema: {detail}"
    )


class _PageFetcher:
    """Fetches a list's pages one after the other in its own thread, handing the
    bodies over through a short queue: the next request leaves as soon as a body
    has arrived, without waiting for the listing thread to decode it."""

    _DONE = object()

    def __init__(
        self, client: RawClient, path: str, params: Callable[[str], dict[str, str]]
    ) -> None:
        self._client = client
        self._path = path
        self._params = params
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=3)  # bounds memory
        self._stopped = threading.Event()
        self.future: Future[None] | None = None

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        token = ""
        try:
            while not self._stopped.is_set():
                body = self._client.get_bytes(self._path, self._params(token))
                token = _peek_continue(body)
                self._put((body, token))
                if not token:
                    break
        except BaseException as error:  # handed to the listing thread, raised there
            self._put(error)
            return
        self._put(self._DONE)

    def _put(self, item: Any) -> None:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def pages(self) -> Iterator[tuple[bytes, str]]:
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                # A fetcher cancelled before it ran (the collection is being torn
                # down after an error) would otherwise leave us waiting forever.
                if self.future is None or not self.future.done() or not self._queue.empty():
                    continue
                raise ClusterError(f"{self._client.server}{self._path}: listing stopped") from None
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
