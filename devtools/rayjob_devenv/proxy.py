"""Test plumbing between clients and the local Ray head.

* :class:`ForwardProxy`: an HTTP forward proxy used as ``HTTP_PROXY=http://127.0.0.1:<port>``. It routes
  ``host:port`` of absolute-form requests (``GET http://x-head-svc.ns.svc.cluster.local:8265/p HTTP/1.1``)
  through a route table of (regex on ``host:port``, target ``host:port``), so in-cluster service names
  reach the local Ray head with no test-only switch in production code. Unknown hosts get a 502.
* :class:`TcpRelay`: a plain TCP forwarder that can be cut at will (a dashboard dying mid-job).

Both run in background threads on free loopback ports; ``stop()`` closes every socket they opened.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import http.server
import re
import socket
import sys
import threading
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
UPSTREAM_TIMEOUT = 60.0
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    target: str  # host:port

    @classmethod
    def of(cls, pattern: str | re.Pattern[str], target: str) -> Route:
        return cls(re.compile(pattern) if isinstance(pattern, str) else pattern, target)


@dataclass(frozen=True)
class Seen:
    """One request the proxy handled (for assertions)."""

    method: str
    host: str
    path: str
    status: int


class QuietServer(http.server.ThreadingHTTPServer):
    """A threading HTTP server that does not print a traceback when a peer hangs up mid-request."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the other end went away (a test cut it, or it was done): nothing to report
        super().handle_error(request, client_address)


class _Server(QuietServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins the handler threads

    def __init__(self, proxy: ForwardProxy) -> None:
        self.proxy = proxy
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        with self.connections_lock:
            for connection in list(self.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections are closed after this
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are recorded in :attr:`ForwardProxy.seen` instead."""

    def do_CONNECT(self) -> None:
        self._reply_text(501, "rayjob-devenv proxy: CONNECT (https) is not supported\n")

    def do_GET(self) -> None:
        self._forward()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _forward(self) -> None:
        hostport, path = self._target()
        target = self.server.proxy.route(hostport)
        if target is None:
            routes = ", ".join(route.pattern.pattern for route in self.server.proxy.routes) or "none"
            self._record(hostport, path, 502)
            self._reply_text(502, f"rayjob-devenv proxy: no route for {hostport!r} (routes: {routes})\n")
            return
        body = self._read_body()
        upstream = _split_hostport(target)
        connection = http.client.HTTPConnection(*upstream, timeout=UPSTREAM_TIMEOUT)
        try:
            response = self._send_upstream(connection, path, body, hostport)
        except OSError as error:
            connection.close()
            self._record(hostport, path, 502)
            self._reply_text(502, f"rayjob-devenv proxy: {hostport} → {target}: {error}\n")
            return
        self._record(hostport, path, response.status)  # before the client can see the answer
        try:
            self._relay_response(response)
        finally:
            response.close()
            connection.close()

    def _target(self) -> tuple[str, str]:
        """(host:port, origin-form path) from an absolute-form request line, else from Host."""
        if "://" in self.path:
            parsed = urllib.parse.urlsplit(self.path)
            netloc, path = parsed.netloc, parsed.path or "/"
            if parsed.query:
                path += "?" + parsed.query
        else:
            netloc, path = self.headers.get("Host", ""), self.path
        host, port = _split_hostport(netloc)
        return f"{host.lower()}:{port}", path

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return _read_chunked(self.rfile)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def _send_upstream(
        self, connection: http.client.HTTPConnection, path: str, body: bytes | None, hostport: str
    ) -> http.client.HTTPResponse:
        connection.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
        dropped = _connection_tokens(self.headers.get_all("Connection") or [])
        for name, value in self.headers.items():
            lowered = name.lower()
            if lowered not in HOP_BY_HOP and lowered not in dropped and lowered not in ("content-length", "expect"):
                connection.putheader(name, value)
        if "Host" not in self.headers:
            connection.putheader("Host", hostport)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        return connection.getresponse()

    def _relay_response(self, response: http.client.HTTPResponse) -> None:
        self.close_connection = self._client_wants_close()
        has_body = self.command != "HEAD" and response.status not in (204, 304) and response.status >= 200
        length = response.getheader("Content-Length")
        chunked = has_body and length is None
        self.send_response_only(response.status, response.reason)
        dropped = _connection_tokens(response.headers.get_all("Connection") or [])
        for name, value in response.headers.items():
            lowered = name.lower()
            if lowered not in HOP_BY_HOP and lowered not in dropped:
                self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close" if self.close_connection else "keep-alive")
        self.end_headers()
        if has_body:
            self._stream(response, chunked=chunked)
        self.wfile.flush()

    def _stream(self, response: http.client.HTTPResponse, *, chunked: bool) -> None:
        while data := response.read1(CHUNK):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            self.wfile.flush()
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _client_wants_close(self) -> bool:
        tokens = _connection_tokens(self.headers.get_all("Connection") or [])
        tokens |= _connection_tokens(self.headers.get_all("Proxy-Connection") or [])
        return "close" in tokens or (self.request_version == "HTTP/1.0" and "keep-alive" not in tokens)

    def _reply_text(self, status: int, text: str) -> None:
        data = text.encode("utf-8")
        self.close_connection = self._client_wants_close()
        self.send_response_only(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close" if self.close_connection else "keep-alive")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def _record(self, hostport: str, path: str, status: int) -> None:
        self.server.proxy.seen.append(Seen(self.command, hostport, path, status))


def _split_hostport(netloc: str, default_port: int = 80) -> tuple[str, int]:
    host, separator, port = netloc.rpartition(":")
    if not separator or not port.isdigit():
        return netloc.strip("[]"), default_port
    return host.strip("[]"), int(port)


def _connection_tokens(values: Iterable[str]) -> set[str]:
    return {token.strip().lower() for value in values for token in value.split(",") if token.strip()}


def _read_chunked(stream: Any) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int(stream.readline().split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while stream.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        parts.append(stream.read(size))
        stream.readline()


class ForwardProxy:
    """An HTTP forward proxy on ``127.0.0.1:<free port>``; ``with ForwardProxy(routes) as proxy: ...``."""

    def __init__(self, routes: Iterable[tuple[str | re.Pattern[str], str]] = ()) -> None:
        self._routes = [Route.of(pattern, target) for pattern, target in routes]
        self._lock = threading.Lock()
        self.seen: collections.deque[Seen] = collections.deque(maxlen=10_000)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def routes(self) -> list[Route]:
        with self._lock:
            return list(self._routes)

    def add_route(self, pattern: str | re.Pattern[str], target: str) -> None:
        with self._lock:
            self._routes.append(Route.of(pattern, target))

    def prepend_route(self, pattern: str | re.Pattern[str], target: str) -> Route:
        """Route ``pattern`` first (before every other route); returns it for :meth:`remove_route`."""
        route = Route.of(pattern, target)
        with self._lock:
            self._routes.insert(0, route)
        return route

    def remove_route(self, route: Route) -> None:
        with self._lock:
            if route in self._routes:
                self._routes.remove(route)

    def route(self, hostport: str) -> str | None:
        """The target for ``host:port`` (first full match wins), or None."""
        return next((route.target for route in self.routes if route.pattern.fullmatch(hostport)), None)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ForwardProxy:
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="rayjob-devenv-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        server.shutdown()
        server.cut_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> ForwardProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class TcpRelay:
    """Forwards every TCP connection on ``127.0.0.1:<free port>`` to ``target``; :meth:`cut` closes
    everything (listener included), as if the server had died."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._spawn(self._accept_loop)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads = [alive for alive in self._threads if alive.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            self._spawn(self._relay, client, upstream)

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        backwards = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        backwards.start()
        _pump(client, upstream)
        backwards.join()
        with self._lock:
            self._sockets.difference_update((client, upstream))
        client.close()
        upstream.close()

    def cut(self) -> None:
        """Close the listener and every relayed connection; later connects are refused."""
        self._closed.set()
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=5)
        for sock in sockets:
            sock.close()
        self._listener.close()

    def __enter__(self) -> TcpRelay:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.cut()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    source.settimeout(None)
    try:
        while data := source.recv(CHUNK):
            sink.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
