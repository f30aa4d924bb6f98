"""Client for Prism's Hosted API (and the local stand-in server, which speaks the same contract).

Rules that are easy to break:
- The API key is sent only to the API's own origin. Asset URLs are pre-signed URLs on another host
  (S3 for Prism); they get no ``Authorization`` header, not even from ``~/.netrc`` (S3 refuses a
  request that carries a second authentication mechanism).
- Only GETs are retried (they are idempotent): on connection errors and timeouts, 429 and 5xx, with
  backoff from ``RetryPolicy`` and the server's ``Retry-After``. The sleep is injectable.
- One ``requests.Session`` per thread: the client is shared by the GUI's worker threads.
- Everything that leaves this module is a typed ``PrismApiError`` / ``AssetDownloadError``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import quote, urlsplit

import requests
import urllib3

from viewer import __version__
from viewer.api.retry import RETRYABLE_STATUSES, RetryPolicy, parse_retry_after
from viewer.core.errors import (
    AssetDownloadError,
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    ForbiddenError,
    NetworkError,
    NotFoundError,
    PrismApiError,
    RateLimitedError,
    ServerError,
)
from viewer.core.models import (
    AssetType,
    AssetUrls,
    Measurements,
    Scan,
    ScanAssets,
    ScanPage,
    UnitSystem,
    User,
)

log = logging.getLogger(__name__)

PRODUCTION_URL = "https://api.hosted.prismlabs.tech"
SANDBOX_URL = "https://sandbox-api.hosted.prismlabs.tech"

#: The most scans one ``GET /scans`` may ask for.
MAX_PAGE_SIZE = 100

#: (connect, read) seconds.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)
DOWNLOAD_CHUNK = 256 * 1024


class _NoAuth(requests.auth.AuthBase):
    """Explicitly no authentication: stops requests from adding credentials from ``~/.netrc``."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        return request


class _BearerAuth(requests.auth.AuthBase):
    def __init__(self, key: str) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["authorization"] = f"Bearer {self._key}"
        return request

    def __repr__(self) -> str:  # never show the key in logs or tracebacks
        return "_BearerAuth(<hidden>)"


def _error_message(response: requests.Response) -> str:
    """The human part of a Nest-style error body (``message`` string or list), else the reason."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, list):
            message = "; ".join(str(m) for m in message)
        if isinstance(message, str) and message:
            return message
    return response.reason or f"HTTP {response.status_code}"


def error_for_response(response: requests.Response) -> PrismApiError:
    """Turn a non-2xx API response into the typed error the caller acts on."""
    status = response.status_code
    detail = _error_message(response)
    url = response.url
    if status == 400:
        return BadRequestError(f"The server rejected the request: {detail}.", status, url)
    if status == 401:
        return AuthenticationError(
            "The API key was not accepted (401). Check the key for this server.", status, url)
    if status == 403:
        return ForbiddenError(f"This API key may not see that ({detail}).", status, url)
    if status == 404:
        return NotFoundError(f"Not found: {detail}.", status, url)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        wait = f" Try again in {retry_after:.0f} s." if retry_after is not None else ""
        return RateLimitedError(f"Too many requests to the server.{wait}", status, url, retry_after)
    if status >= 500:
        return ServerError(f"The server failed ({status}): {detail}.", status, url)
    return BadResponseError(f"Unexpected answer from the server ({status}): {detail}.", status, url)


@dataclass(frozen=True)
class Download:
    """An open asset download: ``total`` bytes expected (None if the server did not say)."""

    response: requests.Response
    total: int | None
    etag: str | None
    content_type: str | None

    def chunks(self, size: int = DOWNLOAD_CHUNK) -> Iterator[bytes]:
        received = 0
        try:
            for chunk in self.response.iter_content(size):
                received += len(chunk)
                yield chunk
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise AssetDownloadError(
                f"The download broke off after {received} bytes ({type(exc).__name__}).") from exc
        finally:
            self.response.close()
        if self.total is not None and received != self.total:
            raise AssetDownloadError(
                f"The download was cut short: {received} of {self.total} bytes arrived.")

    def close(self) -> None:
        self.response.close()


class PrismClient:
    """Typed access to the Hosted API's read endpoints and to asset downloads."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        user_token_param: str = "userToken",
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"Base URL must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._auth = _BearerAuth(api_key)
        self.user_token_param = user_token_param
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        #: monotonic time until which transient failures are not retried (see RetryPolicy.fail_fast_s)
        self._fail_fast_until = 0.0
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PrismClient({self.base_url!r})"

    # -- plumbing -----------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = f"scan-viewer/{__version__}"
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def _with_retries(self, what: str, send: Callable[[], requests.Response]) -> requests.Response:
        """Call ``send`` until it gives a non-retryable answer or the policy says stop."""
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                response = send()
            except requests.Timeout as exc:
                error: PrismApiError = NetworkError(f"{what}: the server did not answer in time.")
                cause: BaseException = exc
            except requests.ConnectionError as exc:
                error = NetworkError(f"{what}: cannot reach the server ({_short(exc)}).")
                cause = exc
            except requests.RequestException as exc:
                raise NetworkError(f"{what}: {_short(exc)}") from exc
            else:
                if response.status_code not in RETRYABLE_STATUSES:
                    self._fail_fast_until = 0.0
                    return response
                error = error_for_response(response)
                cause = None
                if isinstance(error, RateLimitedError):
                    retry_after = error.retry_after
                response.close()
            failing = time.monotonic() < self._fail_fast_until
            delay = None if failing else self.retry.delay(attempt, retry_after)
            if delay is None:
                if not failing:
                    self._fail_fast_until = time.monotonic() + self.retry.fail_fast_s
                if cause is not None:
                    raise error from cause
                raise error
            log.info("%s failed (%s); retry %d in %.2f s", what, error, attempt, delay)
            self._sleep(delay)

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> requests.Response:
        """A GET on the API with the key, retried; returns a 2xx response or raises."""
        url = self.base_url + path
        clean = {k: v for k, v in (params or {}).items() if v is not None}

        def send() -> requests.Response:
            return self._session().get(
                url, params=clean, auth=self._auth, timeout=self.timeout,
                headers={"accept": "application/json;v=1", "content-type": "application/json"},
                allow_redirects=False,
            )

        response = self._with_retries(f"GET {path}", send)
        if not 200 <= response.status_code < 300:
            with response:
                raise error_for_response(response)
        return response

    def _get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        with self._get(path, params) as response:
            try:
                return response.json()
            except ValueError as exc:
                raise BadResponseError(
                    f"GET {path}: the server's answer is not JSON ({response.text.strip()[:80]!r}).",
                    response.status_code, response.url) from exc

    # -- endpoints ----------------------------------------------------------------------------

    def list_scans_page(
        self,
        user_token: str | None = None,
        *,
        limit: int = 20,
        cursor: str | None = None,
        order: str = "desc",
        unit_system: UnitSystem | None = None,
    ) -> ScanPage:
        """One page of ``GET /scans`` (never asks for more than 100)."""
        if order not in ("asc", "desc"):
            raise ValueError(f"order must be 'asc' or 'desc', not {order!r}")
        params: dict[str, Any] = {
            "limit": max(1, min(int(limit), MAX_PAGE_SIZE)),
            "cursor": cursor,
            "order": order,
            "unit-system": unit_system.value if unit_system else None,
        }
        if user_token:
            params[self.user_token_param] = user_token
        return ScanPage.parse(self._get_json("/scans", params))

    def iter_scan_pages(
        self,
        user_token: str | None = None,
        *,
        page_size: int = 20,
        order: str = "desc",
        unit_system: UnitSystem | None = None,
    ) -> Iterator[ScanPage]:
        """Pages following ``pageInfo.cursor`` until it is null or a page comes back empty."""
        cursor: str | None = None
        seen_cursors: set[str] = set()
        while True:
            page = self.list_scans_page(
                user_token, limit=page_size, cursor=cursor, order=order, unit_system=unit_system)
            if page.results:
                yield page
            if not page.results or page.cursor is None:
                return
            if page.cursor in seen_cursors:
                raise BadResponseError("The server returned the same page cursor twice.")
            seen_cursors.add(page.cursor)
            cursor = page.cursor

    def iter_scans(self, user_token: str | None = None, **kwargs: Any) -> Iterator[Scan]:
        for page in self.iter_scan_pages(user_token, **kwargs):
            yield from page.results

    def get_scan(self, scan_id: str, unit_system: UnitSystem | None = None) -> Scan:
        return Scan.parse(self._get_json(
            f"/scans/{_segment(scan_id)}",
            {"unit-system": unit_system.value if unit_system else None}))

    def get_scan_assets(self, scan_id: str) -> ScanAssets:
        return ScanAssets.parse(self._get_json(f"/scans/{_segment(scan_id)}/scan-assets"))

    def get_asset_urls(self, scan_id: str) -> AssetUrls:
        return AssetUrls.parse(self._get_json(f"/scans/{_segment(scan_id)}/asset-urls"))

    def get_asset_url(self, scan_id: str, asset: AssetType) -> str:
        """One asset's URL. The body may be a JSON string or raw text: both are accepted."""
        with self._get(f"/scans/{_segment(scan_id)}/asset-urls/{asset.value}") as response:
            text = response.text.strip()
            status, url = response.status_code, response.url
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        if isinstance(value, Mapping):  # tolerate {"url": "..."}
            value = value.get("url")
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise NotFoundError(f"The scan has no {asset.value} asset.", status, url)
        return value

    def get_measurements(self, scan_id: str, unit_system: UnitSystem = UnitSystem.METRIC) -> Measurements:
        data = self._get_json(
            f"/scans/{_segment(scan_id)}/measurements", {"unit-system": unit_system.value})
        return Measurements.parse(data, unit_system)

    def get_user(self, token: str, unit_system: UnitSystem | None = None) -> User:
        return User.parse(self._get_json(
            f"/users/{_segment(token)}",
            {"unit-system": unit_system.value if unit_system else None}))

    # -- asset downloads ----------------------------------------------------------------------

    def open_download(self, url: str) -> Download:
        """Start downloading a pre-signed asset URL, without the API key.

        Retries like a GET (connection errors, 429, 5xx). 403 means expired or refused: the caller
        should fetch fresh URLs once and try again.
        """
        what = f"Download of {urlsplit(url).path.rsplit('/', 1)[-1] or 'asset'}"

        def send() -> requests.Response:
            return self._session().get(url, stream=True, timeout=self.timeout, auth=_NoAuth())

        try:
            response = self._with_retries(what, send)
        except PrismApiError as exc:
            raise AssetDownloadError(str(exc), exc.status) from exc
        if response.status_code == 403:
            response.close()
            raise AssetDownloadError(
                f"{what}: the link has expired or was refused (403).", 403, expired=True)
        if not 200 <= response.status_code < 300:
            status = response.status_code
            response.close()
            raise AssetDownloadError(f"{what}: the file server answered {status}.", status)
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        return Download(response, total, response.headers.get("ETag"),
                        response.headers.get("Content-Type"))


def _segment(value: str) -> str:
    return quote(value, safe="")


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 160 else text[:157] + "..."
