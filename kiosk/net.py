"""HTTP POST under one overall deadline, for the kiosk's two network clients: the speech layer
(Azure text-to-speech and recognition) and the verdict hook (the host).

The deadline is enforced on the socket itself: the connect, the TLS handshake, the send and
every single read get only the time that is left of it. A host that accepts and never
answers, or trickles its headers a byte at a time, therefore cannot hold a request past its
deadline. ``post`` starts no thread and closes its socket before it returns, whatever happens.
No proxy is consulted (environment proxies must neither see nor divert what the kiosk sends)
and a redirect is returned as its status, never followed.

Host names are the one thing a socket timeout cannot bound (``getaddrinfo`` blocks): they are
looked up by one resolver thread for the whole process and cached, and a request waits for
its lookup only as long as its deadline allows.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import io
import ipaddress
import queue
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# A 10 s prompt at 24 kHz 16-bit mono is 480 KB; a 60 s recognition answer is a few KB.
MAX_BODY_BYTES = 8 * 1024 * 1024
RESOLVE_TTL_S = 300.0
READ_CHUNK = 65536


class TransportError(RuntimeError):
    """The host could not be reached, or its answer was cut off, oversized or malformed."""


class TransportTimeout(TransportError):
    """The overall deadline of a request passed (connect, DNS, TLS, send or any read)."""


class Deadline:
    """A point in time; ``left()`` is what remains of it and raises TransportTimeout once it has
    passed, so every blocking call can be given exactly the time that is left."""

    def __init__(self, seconds: float, what: str = "request", clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.what = what
        self._clock = clock
        self._start = clock()

    def elapsed(self) -> float:
        return self._clock() - self._start

    def left(self) -> float:
        remaining = self.seconds - self.elapsed()
        if remaining <= 0:
            raise TransportTimeout(f"{self.what}: no complete answer within {self.seconds:.2f} s")
        return remaining


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed_s: float
    # The body's length was announced (Content-Length or chunked) and all of it arrived. A body
    # that simply ends with the connection cannot be told from one that was cut off.
    length_checked: bool


class _DeadlineReader(io.RawIOBase):
    """Socket reads for http.client's parser, each bounded by what is left of the deadline.

    http.client sets one socket timeout per request; a server that sends a byte just before
    each timeout would keep it reading for ever. Here each recv gets only the time left."""

    def __init__(self, sock: socket.socket, deadline: Deadline):
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self._sock.settimeout(self._deadline.left())
        try:
            return self._sock.recv_into(buffer)
        except TimeoutError as exc:
            raise TransportTimeout(
                f"{self._deadline.what}: no complete answer within {self._deadline.seconds:.2f} s"
            ) from exc


class _ReaderSocket:
    """What http.client.HTTPResponse needs of a socket: makefile()."""

    def __init__(self, sock: socket.socket, deadline: Deadline):
        self._reader: io.BufferedReader[_DeadlineReader] = io.BufferedReader(
            _DeadlineReader(sock, deadline), READ_CHUNK
        )

    def makefile(self, *_args, **_kwargs) -> io.BufferedReader[_DeadlineReader]:
        return self._reader


class _Resolver:
    """Looks host names up on one daemon thread, caches them, never blocks past a deadline."""

    def __init__(self, ttl_s: float = RESOLVE_TTL_S):
        self.ttl_s = ttl_s
        self._cache: dict[tuple[str, int], tuple[float, list]] = {}
        self._pending: dict[tuple[str, int], concurrent.futures.Future] = {}
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def resolve(self, host: str, port: int, deadline: Deadline) -> list:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:  # a literal address: no lookup, nothing can block
            return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
        key = (host, port)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > time.monotonic():
                return hit[1]
            future = self._pending.get(key)
            if future is None:  # one lookup per host at a time, however many requests wait
                future = self._pending[key] = concurrent.futures.Future()
                self._queue.put((key, future))
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="net-resolver", daemon=True)
                    self._thread.start()
        try:
            return future.result(timeout=deadline.left())
        except concurrent.futures.TimeoutError as exc:
            raise TransportTimeout(
                f"{deadline.what}: looking up {host} took longer than {deadline.seconds:.2f} s"
            ) from exc
        except OSError as exc:
            raise TransportError(f"{deadline.what}: cannot resolve {host}: {exc}") from exc

    def _run(self) -> None:
        while True:
            key, future = self._queue.get()
            try:
                infos = socket.getaddrinfo(key[0], key[1], type=socket.SOCK_STREAM)
            except Exception as exc:  # handed to every waiting request
                future.set_exception(exc)
            else:
                with self._lock:
                    self._cache[key] = (time.monotonic() + self.ttl_s, infos)
                future.set_result(infos)
            finally:
                with self._lock:
                    self._pending.pop(key, None)


_RESOLVER = _Resolver()
_TLS: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    global _TLS
    if _TLS is None:
        _TLS = ssl.create_default_context()
    return _TLS


def _connect(host: str, port: int, tls: bool, deadline: Deadline) -> socket.socket:
    last: Exception | None = None
    for family, kind, proto, _name, address in _RESOLVER.resolve(host, port, deadline):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(deadline.left())
            sock.connect(address)
            if tls:
                sock = _tls_context().wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
                sock.settimeout(deadline.left())
                sock.do_handshake()  # one call, bounded as a whole by the timeout
            return sock
        except Exception as exc:
            sock.close()
            if isinstance(exc, TransportTimeout):
                raise
            last = exc
    raise last if last is not None else TransportError(f"no address for {host}")


def _request_bytes(method: str, parts: urllib.parse.SplitResult, headers: Mapping[str, str], body: bytes) -> bytes:
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}", "Connection: close"]
    for name, value in headers.items():
        if any(c in f"{name}{value}" for c in "\r\n\0"):
            raise ValueError(f"header {name!r} holds a line break")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def post(
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    timeout_s: float,
    max_body: int = MAX_BODY_BYTES,
    user_agent: str = "kiosk",
) -> Response:
    """POST ``body`` and read the whole answer within ``timeout_s`` seconds, all included.

    Raises TransportTimeout when the deadline passes, TransportError when the host cannot
    be reached or the answer is cut off (shorter than its Content-Length, an unfinished chunk)
    or larger than ``max_body``. HTTP error statuses are returned, not raised.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError(f"not an http(s) URL: {url!r}")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    where = f"{parts.hostname}:{port}"
    deadline = Deadline(timeout_s, where)
    request = _request_bytes("POST", parts, dict({"User-Agent": user_agent}, **headers), body)
    sock: socket.socket | None = None
    try:
        sock = _connect(parts.hostname, port, tls, deadline)
        sock.settimeout(deadline.left())
        sock.sendall(request)  # since Python 3.5 the timeout bounds the whole sendall
        response = http.client.HTTPResponse(_ReaderSocket(sock, deadline), method="POST")  # type: ignore[arg-type]
        try:
            response.begin()
            announced = response.length
            length_checked = bool(response.chunked) or announced is not None
            if announced is not None and announced > max_body:
                raise TransportError(f"{where}: answer of {announced} bytes is over the {max_body} byte limit")
            chunks: list[bytes] = []
            received = 0
            while chunk := response.read(READ_CHUNK):
                received += len(chunk)
                if received > max_body:
                    raise TransportError(f"{where}: answer is over the {max_body} byte limit")
                chunks.append(chunk)
            if announced is not None and received != announced:
                raise TransportError(f"{where}: answer cut off after {received} of {announced} bytes")
            return Response(
                response.status, dict(response.getheaders()), b"".join(chunks), deadline.elapsed(), length_checked
            )
        finally:
            response.close()
    except TransportError:
        raise
    except TimeoutError as exc:  # connect or send ran out of time
        raise TransportTimeout(f"{where}: no complete answer within {timeout_s:.2f} s") from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise TransportError(f"{where}: {type(exc).__name__}: {exc}") from exc
    finally:
        if sock is not None:
            sock.close()


__all__ = ["MAX_BODY_BYTES", "Deadline", "Response", "TransportError", "TransportTimeout", "post"]
