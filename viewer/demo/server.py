"""A local HTTP server that answers like the Prism Hosted API, plus a second "S3" listener for assets.

Threading and teardown: each listener is a ``ThreadingHTTPServer`` (HTTP/1.1 keep-alive, one daemon
thread per connection) served by its own thread. ``stop()`` stops both accept loops, shuts down every
open connection so idle keep-alive threads end, joins all threads and closes the sockets.

API listener (``base_url``): GET only, ``authorization: Bearer <key>`` required (401 Nest-style body
otherwise), ``Content-Type: application/json;v=1``, Nest-style 400/404 bodies with a message array.
Asset listener (``asset_base_url``): pre-signed URLs ``/<scanId>/<filename>?X-Expires=&X-Signature=``
(see ``signing.py``); S3-style XML errors: 403 expired/tampered, 400 when an Authorization header is
sent, 404 for an unknown key. Files are streamed, never read whole.

``faults`` injects failures for tests, for real over HTTP (status, headers, delay, truncation).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Literal, Mapping
from urllib.parse import parse_qs, quote, unquote, urlsplit

from viewer.demo.scan_store import ASSET_FILES, ASSET_TYPES, ScanSnapshot, ScanStore
from viewer.demo.signing import CursorCodec, UrlCheck, UrlSigner, new_secret

log = logging.getLogger(__name__)

#: The key the demo server accepts unless another is given.
DEMO_API_KEY = "scan-viewer-demo-key"
JSON_TYPE = "application/json;v=1"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
UNIT_SYSTEMS = ("metric", "imperial")
ORDERS = ("asc", "desc")

#: Content types by file extension, for the asset listener.
CONTENT_TYPES: Mapping[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".obj": "model/obj",
    ".mtl": "model/mtl",
    ".ply": "application/octet-stream",
    ".mp4": "video/mp4",
}

FaultTarget = Literal["api", "assets", "both"]


# --------------------------------------------------------------------------- fault injection


@dataclass
class Fault:
    """One injected failure; see ``FaultInjector.add``."""

    pattern: re.Pattern[str]
    status: int | None
    times: int | None
    headers: Mapping[str, str]
    body: bytes | str | Mapping[str, Any] | None
    delay_s: float
    truncate_to: int | None
    target: FaultTarget
    hits: int = 0


class FaultInjector:
    """Failures to inject into matching requests, consumed in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        path_regex: str,
        status: int | None = 500,
        *,
        times: int | None = 1,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | Mapping[str, Any] | None = None,
        delay_s: float = 0.0,
        truncate_to: int | None = None,
        target: FaultTarget = "both",
    ) -> Fault:
        """Make the next ``times`` requests (None: all) whose path matches ``path_regex`` misbehave.

        - ``status``: answer with this status and ``body`` (default: the listener's usual error
          body) instead of the real response; ``None`` keeps the real response.
        - ``headers``: extra headers on the answer (e.g. ``{"Retry-After": "1"}``).
        - ``delay_s``: wait this long before answering.
        - ``truncate_to``: announce the full ``Content-Length`` but send only this many body bytes,
          then close the connection.
        - ``target``: ``"api"``, ``"assets"`` or ``"both"`` listeners. The regex is searched in the
          request path (without the query string).
        """
        fault = Fault(re.compile(path_regex), status, times, dict(headers or {}), body, delay_s,
                      truncate_to, target)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, listener: Literal["api", "assets"], path: str) -> Fault | None:
        """The first live fault matching this request, counting the hit."""
        with self._lock:
            for fault in self._faults:
                if fault.target not in (listener, "both") or not fault.pattern.search(path):
                    continue
                fault.hits += 1
                if fault.times is not None and fault.hits >= fault.times:
                    self._faults.remove(fault)
                return fault
        return None


# --------------------------------------------------------------------------- responses


@dataclass
class _Response:
    status: int
    content_type: str
    body: bytes = b""
    file: Path | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return self.file.stat().st_size if self.file is not None else len(self.body)


def _json(status: int, payload: Any) -> _Response:
    return _Response(status, JSON_TYPE, json.dumps(payload).encode("utf-8"))


def nest_error(status: int, message: str | list[str] | None = None) -> _Response:
    """The body NestJS sends for an HttpException: ``{statusCode, message, error}``."""
    phrase = HTTPStatus(status).phrase
    return _json(status, {"statusCode": status, "message": phrase if message is None else message, "error": phrase})


def s3_error(status: int, code: str, message: str) -> _Response:
    request_id = uuid.uuid4().hex[:16].upper()
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>scan-viewer-demo</HostId></Error>"
    )
    return _Response(status, "application/xml", xml.encode("utf-8"))


def _fault_response(fault: Fault, listener: str) -> _Response:
    assert fault.status is not None
    if fault.body is None:
        if listener == "api":
            return nest_error(fault.status)
        return s3_error(fault.status, "InjectedFault", HTTPStatus(fault.status).phrase)
    if isinstance(fault.body, Mapping):
        return _json(fault.status, fault.body)
    body = fault.body.encode("utf-8") if isinstance(fault.body, str) else fault.body
    return _Response(fault.status, JSON_TYPE if listener == "api" else "application/xml", body)


class _BadRequest(Exception):
    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


# --------------------------------------------------------------------------- listeners


class _Listener(ThreadingHTTPServer):
    """ThreadingHTTPServer that remembers its connections and threads so it can end them."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], app: "PrismStandInServer") -> None:
        self.app = app
        self._open: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._track_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._track_lock:
            self._open.add(request)
            self._handler_threads.add(threading.current_thread())
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._track_lock:
                self._open.discard(request)
                self._handler_threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a cancelled download) is normal: log it quietly."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            log.debug("client %s went away: %s", client_address, error)
            return
        log.exception("error while answering %s", client_address)

    def end_connections(self, timeout_s: float = 5.0) -> None:
        with self._track_lock:
            connections, threads = list(self._open), list(self._handler_threads)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(timeout_s)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections close after this many seconds
    listener: Literal["api", "assets"]
    server: _Listener

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (BaseHTTPRequestHandler's name)
        log.debug("%s %s", self.listener, format % args)

    @property
    def app(self) -> "PrismStandInServer":
        return self.server.app

    def _serve(self, head: bool) -> None:
        path = urlsplit(self.path).path
        fault = self.app.faults.take(self.listener, path)
        if self.app.latency_ms > 0:
            time.sleep(self.app.latency_ms / 1000.0)
        if fault is not None and fault.delay_s > 0:
            time.sleep(fault.delay_s)
        if fault is not None and fault.status is not None:
            response = _fault_response(fault, self.listener)
        else:
            try:
                response = self.respond()
            except Exception:
                log.exception("%s %s failed", self.command, self.path)
                response = nest_error(500) if self.listener == "api" else s3_error(500, "InternalError", "Internal Error")
        if fault is not None:
            response.headers.update(fault.headers)
        try:
            self._send(response, head=head, truncate_to=None if fault is None else fault.truncate_to)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("client went away during %s %s", self.command, self.path)
            self.close_connection = True

    def _send(self, response: _Response, *, head: bool, truncate_to: int | None) -> None:
        length = response.length
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(length))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if head or response.status == HTTPStatus.NOT_MODIFIED:
            return
        budget = length if truncate_to is None else min(truncate_to, length)
        if response.file is None:
            self.wfile.write(response.body[:budget])
            sent = budget
        else:
            with response.file.open("rb") as stream:
                sent = self._copy(stream, budget)
        if sent < length:  # truncated on purpose, or the file shrank: the client must notice
            self.wfile.flush()
            self.close_connection = True

    def _copy(self, stream: Any, budget: int) -> int:
        """Stream up to ``budget`` bytes in chunks; returns how many were sent."""
        sent = 0
        while sent < budget:
            chunk = stream.read(min(256 * 1024, budget - sent))
            if not chunk:
                break
            self.wfile.write(chunk)
            sent += len(chunk)
        return sent

    def respond(self) -> _Response:
        """The answer to a GET or HEAD."""
        raise NotImplementedError

    def refuse_method(self) -> _Response:
        """The answer to any other method."""
        raise NotImplementedError

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head=True)

    def _other_method(self) -> None:
        self.close_connection = True  # a request body, if any, is left unread
        self._send(self.refuse_method(), head=False, truncate_to=None)

    do_POST = do_PUT = do_PATCH = do_DELETE = _other_method


def _one(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


class _ApiHandler(_Handler):
    listener = "api"

    _ROUTES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
        (re.compile(pattern), name)
        for pattern, name in (
            (r"^/scans/?$", "list_scans"),
            (r"^/scans/([^/]+)/?$", "get_scan"),
            (r"^/scans/([^/]+)/scan-assets/?$", "get_scan_assets"),
            (r"^/scans/([^/]+)/asset-urls/?$", "get_asset_urls"),
            (r"^/scans/([^/]+)/asset-urls/([^/]+)/?$", "get_asset_url"),
            (r"^/scans/([^/]+)/measurements/?$", "get_measurements"),
            (r"^/users/([^/]+)/?$", "get_user"),
        )
    )

    def respond(self) -> _Response:
        parts = urlsplit(self.path)
        for pattern, name in self._ROUTES:
            match = pattern.match(parts.path)
            if match:
                break
        else:
            return nest_error(404, f"Cannot {self.command} {parts.path}")
        if not self._authorized():
            return nest_error(401)
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            self._check_headers()
            return getattr(self, name)(query, *(unquote(group) for group in match.groups()))
        except _BadRequest as exc:
            return nest_error(400, exc.messages)

    def refuse_method(self) -> _Response:
        # like Nest for a route it does not have: the stand-in only implements the viewer's GETs
        return nest_error(404, f"Cannot {self.command} {urlsplit(self.path).path}")

    def _authorized(self) -> bool:
        scheme, _, key = (self.headers.get("Authorization") or "").strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(key.strip().encode(), self.app.api_key.encode())

    def _check_headers(self) -> None:
        """Prism wants ``accept: application/json;v=1`` and ``content-type: application/json``:
        absent headers are fine, a different API version or body type is refused."""
        messages = []
        accept = self.headers.get("Accept") or ""
        version = re.search(r"application/json\s*;\s*v\s*=\s*([^,;\s]+)", accept)
        if version and version.group(1) != "1":
            messages.append(f"API version {version.group(1)} is not supported; use accept: application/json;v=1")
        content_type = self.headers.get("Content-Type")
        if content_type and not content_type.strip().lower().startswith("application/json"):
            messages.append("content-type must be application/json")
        if messages:
            raise _BadRequest(messages)

    # -- parameters

    @staticmethod
    def _unit_system(query: Mapping[str, list[str]], messages: list[str]) -> str:
        value = _one(query, "unit-system")
        if value is None:
            return "metric"
        if value not in UNIT_SYSTEMS:
            messages.append("unit-system must be one of the following values: metric, imperial")
            return "metric"
        return value

    def _units_only(self, query: Mapping[str, list[str]]) -> str:
        messages: list[str] = []
        unit_system = self._unit_system(query, messages)
        if messages:
            raise _BadRequest(messages)
        return unit_system

    def _snapshot(self, scan_id: str) -> ScanSnapshot | _Response:
        snapshot = self.app.store.snapshot(scan_id)
        if snapshot is None:
            return nest_error(404, f"Scan {scan_id} not found")
        return snapshot

    # -- endpoints

    def list_scans(self, query: Mapping[str, list[str]]) -> _Response:
        messages: list[str] = []
        unit_system = self._unit_system(query, messages)
        limit = DEFAULT_LIMIT
        raw_limit = _one(query, "limit")
        if raw_limit is not None:
            if not re.fullmatch(r"\d+", raw_limit.strip()):
                messages.append("limit must be an integer number")
            else:
                limit = int(raw_limit)
                if limit < 1:
                    messages.append("limit must not be less than 1")
                elif limit > MAX_LIMIT:
                    messages.append(f"limit must not be greater than {MAX_LIMIT}")
        order = _one(query, "order") or "desc"
        if order not in ORDERS:
            messages.append("order must be one of the following values: asc, desc")
        after: tuple[float, str] | None = None
        raw_cursor = _one(query, "cursor")
        if raw_cursor:
            payload = self.app.cursors.decode(raw_cursor)
            if payload is None or not isinstance(payload.get("t"), (int, float)) or not isinstance(payload.get("i"), str):
                messages.append("cursor is invalid")
            elif payload.get("o") != order:
                messages.append("cursor belongs to a listing in another order")
            else:
                after = (float(payload["t"]), payload["i"])
        user_token = _one(query, "userToken")
        alias = _one(query, "token")
        if user_token is not None and alias is not None and user_token != alias:
            messages.append("userToken and token must be the same when both are given")
        if messages:
            raise _BadRequest(messages)
        user_token = user_token if user_token is not None else alias
        if user_token is not None and user_token not in self.app.store.user_tokens:
            return nest_error(404, f"User {user_token} not found")

        scans = self.app.store.snapshots(user_token)
        if order == "desc":
            scans.reverse()
        if after is not None:
            if order == "asc":
                scans = [s for s in scans if (s.created_at, s.scan_id) > after]
            else:
                scans = [s for s in scans if (s.created_at, s.scan_id) < after]
        page, rest = scans[:limit], scans[limit:]
        cursor = None
        if rest:
            last = page[-1]
            cursor = self.app.cursors.encode({"t": last.created_at, "i": last.scan_id, "o": order})
        return _json(200, {"results": [s.scan_dto(unit_system) for s in page], "pageInfo": {"cursor": cursor}})

    def get_scan(self, query: Mapping[str, list[str]], scan_id: str) -> _Response:
        unit_system = self._units_only(query)
        snapshot = self._snapshot(scan_id)
        return snapshot if isinstance(snapshot, _Response) else _json(200, snapshot.scan_dto(unit_system))

    def get_scan_assets(self, query: Mapping[str, list[str]], scan_id: str) -> _Response:
        snapshot = self._snapshot(scan_id)
        return snapshot if isinstance(snapshot, _Response) else _json(200, snapshot.scan_assets_dto())

    def get_asset_urls(self, query: Mapping[str, list[str]], scan_id: str) -> _Response:
        snapshot = self._snapshot(scan_id)
        if isinstance(snapshot, _Response):
            return snapshot
        urls = {key: self._asset_url(scan_id, snapshot.assets[key]) for key in ASSET_FILES}
        return _json(200, urls)

    def get_asset_url(self, query: Mapping[str, list[str]], scan_id: str, asset_type: str) -> _Response:
        if asset_type not in ASSET_TYPES:
            raise _BadRequest([f"assetType must be one of the following values: {', '.join(ASSET_TYPES)}"])
        snapshot = self._snapshot(scan_id)
        if isinstance(snapshot, _Response):
            return snapshot
        url = self._asset_url(scan_id, snapshot.assets[ASSET_TYPES[asset_type]])
        if url is None:
            return nest_error(404, f"Asset {asset_type} of scan {scan_id} not found")
        return _json(200, url)

    def get_measurements(self, query: Mapping[str, list[str]], scan_id: str) -> _Response:
        unit_system = self._units_only(query)
        snapshot = self._snapshot(scan_id)
        if isinstance(snapshot, _Response):
            return snapshot
        measurements = snapshot.measurements_dto(unit_system)
        if measurements is None:
            return nest_error(404, f"Measurements of scan {scan_id} not found")
        return _json(200, measurements)

    def get_user(self, query: Mapping[str, list[str]], token: str) -> _Response:
        unit_system = self._units_only(query)
        user = self.app.store.user_dto(token, unit_system)
        return nest_error(404, f"User {token} not found") if user is None else _json(200, user)

    def _asset_url(self, scan_id: str, path: Path | None) -> str | None:
        if path is None:
            return None
        url_path = f"/{quote(scan_id, safe='')}/{quote(path.name, safe='')}"
        return f"{self.app.asset_base_url}{url_path}?{self.app.signer.sign(url_path).as_query()}"


class _AssetHandler(_Handler):
    listener = "assets"

    def refuse_method(self) -> _Response:
        return s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")

    def respond(self) -> _Response:
        parts = urlsplit(self.path)
        if self.headers.get("Authorization") is not None:
            return s3_error(400, "InvalidArgument",
                            "Only one auth mechanism allowed; only the X-Signature query parameter "
                            "or the Authorization header should be specified")
        query = parse_qs(parts.query)
        verdict = self.app.signer.check(parts.path, _one(query, "X-Expires"), _one(query, "X-Signature"))
        if verdict is UrlCheck.EXPIRED:
            return s3_error(403, "AccessDenied", "Request has expired")
        if verdict is UrlCheck.BAD_SIGNATURE:
            return s3_error(403, "SignatureDoesNotMatch",
                            "The request signature we calculated does not match the signature you provided.")
        segments = parts.path.split("/")
        snapshot = self.app.store.snapshot(unquote(segments[1])) if len(segments) == 3 else None
        path = snapshot.asset_path(unquote(segments[2])) if snapshot is not None else None
        if path is None:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        etag = f'"{self.app.etag(path)}"'
        headers = {"ETag": etag, "Last-Modified": formatdate(path.stat().st_mtime, usegmt=True)}
        content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        if self.headers.get("If-None-Match") == etag:
            return _Response(HTTPStatus.NOT_MODIFIED, content_type, headers=headers)
        return _Response(200, content_type, file=path, headers=headers)


# --------------------------------------------------------------------------- the server


class PrismStandInServer:
    """The API listener and the asset listener around one ``ScanStore``; see the module docstring."""

    def __init__(
        self,
        store: ScanStore,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        asset_port: int = 0,
        api_key: str = DEMO_API_KEY,
        url_ttl: float = 300.0,
        latency_ms: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.host = host
        self.api_key = api_key
        self.latency_ms = latency_ms
        self.faults = FaultInjector()
        secret = new_secret()
        self.signer = UrlSigner(secret, url_ttl, clock)
        self.cursors = CursorCodec(secret)
        self._ports = (port, asset_port)
        self._listeners: list[_Listener] = []
        self._threads: list[threading.Thread] = []
        self._etags: dict[tuple[Path, int, int], str] = {}
        self._etag_lock = threading.Lock()

    def start(self) -> "PrismStandInServer":
        """Bind both listeners and serve them in background threads; returns once listening."""
        if self._listeners:
            raise RuntimeError("server already started")
        self.store.restart_clock()
        try:
            for handler, port in ((_ApiHandler, self._ports[0]), (_AssetHandler, self._ports[1])):
                self._listeners.append(_Listener((self.host, port), handler, self))
        except OSError:
            self._close_listeners()
            raise
        for listener in self._listeners:
            thread = threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.1},
                                      name=f"prism-stand-in-{listener.server_address[1]}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("Prism stand-in serving %s (assets %s)", self.base_url, self.asset_base_url)
        return self

    def stop(self) -> None:
        """Stop both listeners, end open connections, join every thread and close the sockets."""
        for listener in self._listeners:
            listener.shutdown()
        for thread in self._threads:
            thread.join()
        for listener in self._listeners:
            listener.end_connections()
        self._close_listeners()
        self._threads.clear()

    def _close_listeners(self) -> None:
        for listener in self._listeners:
            listener.server_close()
        self._listeners.clear()

    def __enter__(self) -> "PrismStandInServer":
        return self.start() if not self._listeners else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _url(self, index: int) -> str:
        if not self._listeners:
            raise RuntimeError("server not started")
        host, port = self._listeners[index].server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return self._url(0)

    @property
    def asset_base_url(self) -> str:
        return self._url(1)

    def etag(self, path: Path) -> str:
        """MD5 of the file (like S3's ETag of a simple upload), computed once per file version."""
        stat = path.stat()
        key = (path, stat.st_size, stat.st_mtime_ns)
        with self._etag_lock:
            cached = self._etags.get(key)
        if cached is None:
            digest = hashlib.md5(usedforsecurity=False)
            with path.open("rb") as stream:
                for chunk in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(chunk)
            cached = digest.hexdigest()
            with self._etag_lock:
                self._etags[key] = cached
        return cached


def start_demo_server(seed: int = 0, *, dataset_root: Path | None = None, progress_seconds: float | None = None,
                      **server_options: Any) -> PrismStandInServer:
    """Ensure the demo data set for ``seed`` (cached) and start a server on it.

    ``server_options`` go to ``PrismStandInServer`` (host, port, api_key, url_ttl, latency_ms, clock).
    """
    # imported here: the body generator behind the data set is only needed for the demo scans
    from viewer.demo.dataset import ensure_demo_dataset

    store = ScanStore(ensure_demo_dataset(dataset_root, seed), progress_seconds=progress_seconds)
    return PrismStandInServer(store, **server_options).start()
