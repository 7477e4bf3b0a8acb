"""Raw JSON GETs to the API server: retries, status handling and the Secrets guard.

The requests go through the urllib3 pool that the official `kubernetes` client
configures from the kubeconfig (TLS, proxies); the credentials' headers are
asked for before every request, so exec and OIDC plugins can refresh them.
"""

from __future__ import annotations

import json
import posixpath
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from kaudit.collect.source import DEFAULT_TIMEOUT
from kaudit.errors import ClusterError, InputError

DEFAULT_RETRY_BUDGET = 30.0  # seconds, per request, spent retrying 429/5xx
MAX_WORKERS = 8  # concurrent list requests of one collection
_READ_CHUNK = 1 << 16

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class Forbidden(Exception):
    """403 (or 404 for a missing API) on one kind: recorded as a warning, not fatal."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Expired(Exception):
    """410 Gone: the continue token outlived etcd's compaction; the list restarts."""


class DeadlineExceeded(ClusterError):
    """The collection's total deadline (--timeout) passed."""

    def __init__(self, server: str, total: float) -> None:
        super().__init__(
            f"no complete answer from {server} within --timeout {total:g}s: "
            "the API server is too slow or not answering"
        )


@dataclass
class RawClient:
    """Raw JSON GETs through the kubernetes client's configured urllib3 pool."""

    configuration: Any  # kubernetes.client.Configuration
    pool: Any  # urllib3.PoolManager (or ProxyManager) with the kubeconfig's TLS settings
    timeout: float  # seconds for one whole request (--request-timeout)
    retry_budget: float
    # time.monotonic() at which the whole collection gives up (--timeout), and that total.
    deadline: float | None = None
    total_timeout: float = DEFAULT_TIMEOUT
    requests_made: int = 0
    # Set once the server has answered: from then on a refused connection is a
    # restarting server, worth retrying; before, it is the wrong address.
    answered: bool = False
    # Page requests run here while the listing threads decode (one collection's pool).
    prefetch: ThreadPoolExecutor | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def server(self) -> str:
        return str(self.configuration.host)

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "kaudit"}
        # auth_settings() runs the refresh hook of exec/OIDC credentials when set.
        for setting in self.configuration.auth_settings().values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[setting["key"]] = setting["value"]
        return headers

    def get(self, path: str, query: Mapping[str, str] | None = None) -> Any:
        """GET `path` and return the decoded JSON."""
        return self.decode(path, self.get_bytes(path, query), json.loads)

    def decode(self, path: str, body: bytes, decode: Callable[[bytes], T]) -> T:
        """`body` through `decode`, a decoding failure reported as a ClusterError."""
        try:
            return decode(body)
        except msgspec.ValidationError as error:
            raise ClusterError(
                f"{self.server}{path}: unexpected object in the answer: {error}"
            ) from None
        except ValueError:
            raise ClusterError(
                f"{self.server}{path} did not answer with JSON (is this a Kubernetes API server?)"
            ) from None

    def start_deadline(self, total: float) -> None:
        """Give the whole collection `total` seconds from now."""
        self.total_timeout = total
        self.deadline = time.monotonic() + total

    def remaining(self) -> float:
        """Seconds left before the deadline; DeadlineExceeded once it has passed."""
        if self.deadline is None:
            return float("inf")
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded(self.server, self.total_timeout)
        return left

    def get_bytes(self, path: str, query: Mapping[str, str] | None = None) -> bytes:
        """GET `path` and return the body, retrying 429/5xx within the budget.

        One request, from connecting to the last byte of the body, takes at most
        --request-timeout, and never ends after the collection's deadline.
        """
        refuse_secrets(path)
        import urllib3

        url = self.server.rstrip("/") + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        retry_deadline = time.monotonic() + self.retry_budget
        attempt = 0
        while True:
            attempt += 1
            with self._lock:
                self.requests_made += 1
            limit = min(self.timeout, self.remaining())
            ends = time.monotonic() + limit
            try:
                response = self.pool.request(
                    "GET",
                    url,
                    headers=self._headers(),
                    timeout=urllib3.Timeout(connect=limit, read=limit),
                    retries=False,
                    preload_content=False,
                )
                try:
                    data = _read_body(response, ends)
                except BaseException:
                    response.close()  # unread bytes are left: the connection is not reused
                    raise
                finally:
                    response.release_conn()
            except urllib3.exceptions.HTTPError as error:
                if limit < self.timeout and time.monotonic() >= ends:
                    raise DeadlineExceeded(self.server, self.total_timeout) from None
                # A dropped connection is worth another try, and so is a refused one
                # once the server has answered (it is restarting). A timeout is not:
                # --request-timeout bounds each request. (NewConnectionError
                # subclasses ConnectTimeoutError: test it first.)
                refused = isinstance(error, urllib3.exceptions.NewConnectionError)
                retryable = isinstance(error, urllib3.exceptions.ProtocolError) or (
                    refused and self.answered
                )
                if retryable and self._sleep_before_retry(attempt, retry_deadline, None):
                    continue
                raise ClusterError(self._describe_connection_error(error)) from None
            self.answered = True
            status = int(response.status)
            if 200 <= status < 300:
                return data
            if status in RETRY_STATUSES and self._sleep_before_retry(
                attempt, retry_deadline, response.headers.get("Retry-After")
            ):
                continue
            self._raise_for_status(status, path, data)

    def _sleep_before_retry(self, attempt: int, deadline: float, retry_after: str | None) -> bool:
        """Exponential backoff with jitter (or the server's Retry-After), inside the budget."""
        # Jitter from the OS, not the shared `random` state that other code may seed.
        delay = min(5.0, 0.2 * 2 ** (attempt - 1)) * random.SystemRandom().uniform(0.8, 1.2)
        if retry_after and retry_after.isdigit():
            delay = min(float(retry_after), 10.0)
        if time.monotonic() + delay > min(deadline, self.deadline or deadline):
            return False
        time.sleep(delay)
        return True

    def _raise_for_status(self, status: int, path: str, body: bytes) -> None:
        message = status_message(body)
        if status == 401:
            raise ClusterError(
                f"{self.server} rejected the credentials (401 Unauthorized): "
                "the token or certificate is invalid or expired"
            )
        if status in (403, 404):
            raise Forbidden(status, message or ("forbidden" if status == 403 else "not found"))
        if status == 410:
            raise Expired(message)
        raise ClusterError(f"{self.server}{path}: HTTP {status}: {message or 'no details'}")

    def _describe_connection_error(self, error: Exception) -> str:
        import urllib3

        reason = str(getattr(error, "reason", None) or error)
        if isinstance(error, urllib3.exceptions.SSLError):
            return f"TLS handshake with {self.server} failed: {reason}"
        # NewConnectionError subclasses ConnectTimeoutError: test it first.
        if isinstance(error, urllib3.exceptions.NewConnectionError):
            errno_text = re.findall(r"\[Errno -?\d+\] ([^)\]]+)", reason)
            cause = errno_text[-1].strip() if errno_text else reason
            return f"cannot reach {self.server}: {cause}"
        if isinstance(error, urllib3.exceptions.ConnectTimeoutError):
            return f"cannot reach {self.server}: no answer within {self.timeout:g}s"
        if isinstance(error, urllib3.exceptions.ReadTimeoutError):
            return f"{self.server} did not answer within {self.timeout:g}s (--request-timeout)"
        return f"cannot reach {self.server}: {reason}"


def _read_body(response: Any, ends: float) -> bytes:
    """The whole body, by the chunk, within `ends` (time.monotonic()).

    urllib3's read timeout applies to each socket read: a server sending one byte
    a second never trips it. Each read here waits at most what is left of the
    request's time, and the time is checked after each chunk.
    """
    import urllib3

    chunks: list[bytes] = []
    while True:
        left = ends - time.monotonic()
        if left <= 0:
            raise urllib3.exceptions.ReadTimeoutError(None, "", "read timed out")  # type: ignore[arg-type]
        sock = getattr(response.connection, "sock", None)
        if sock is not None:
            sock.settimeout(left)
        chunk = response.read1(_READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def refuse_secrets(path: str) -> None:
    """A promise to users: kaudit never reads Secrets, whatever the path decodes to.

    The API server percent-decodes and resolves a path before routing it, so the
    check runs on the decoded, normalised form, segment by segment.
    """
    decoded = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
    normalised = posixpath.normpath("/" + decoded)
    if "secrets" in normalised.split("/"):
        raise InputError(f"refusing to request {path[:200]!r}: kaudit never reads Secrets")


def api_path(*segments: str) -> str:
    """A request path from segments, each percent-quoted (no '/', '?', '#' or '%' passes)."""
    return "".join("/" + urllib.parse.quote(segment, safe="") for segment in segments)


def status_message(body: bytes) -> str:
    """The `message` of a metav1.Status body, or the start of a non-JSON body."""
    try:
        decoded = json.loads(body)
    except ValueError:
        return body[:200].decode(errors="replace").strip()
    if isinstance(decoded, dict):
        return str(decoded.get("message") or "")
    return ""
