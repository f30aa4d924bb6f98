"""Typed errors shared by every layer.

Each error carries a message written for a person (it ends up in the UI as is) and, for HTTP
errors, the status code. Callers decide what to do next by the error's class:

- ``AuthenticationError`` / ``ForbiddenError``: ask for (another) API key.
- ``NotFoundError``: the scan, user or asset does not exist (or is not ready yet).
- ``RateLimitedError`` / ``ServerError`` / ``NetworkError``: transient, offer Retry.
- ``BadResponseError``: the server answered something we cannot read.
- ``AssetDownloadError``: a pre-signed asset URL failed (expired, refused, truncated).
- ``MeshLoadError``: a file is not a mesh we can show; the message names the file and the reason.
"""

from __future__ import annotations


class ScanViewerError(Exception):
    """Base of every error the app turns into words for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class PrismApiError(ScanViewerError):
    """An error talking to the Prism Hosted API (or the local stand-in server)."""

    def __init__(self, message: str, status: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.url = url

    @property
    def transient(self) -> bool:
        """True when trying again later may succeed."""
        return False


class BadRequestError(PrismApiError):
    """400: the server rejected our parameters."""


class AuthenticationError(PrismApiError):
    """401: the API key is missing or wrong."""


class ForbiddenError(PrismApiError):
    """403: the key may not see this resource."""


class NotFoundError(PrismApiError):
    """404: unknown scan, user or asset (or not available yet)."""


class RateLimitedError(PrismApiError):
    """429: too many requests; ``retry_after`` is the server's hint in seconds, if any."""

    def __init__(
        self, message: str, status: int | None = 429, url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status, url)
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        return True


class ServerError(PrismApiError):
    """5xx: the server failed."""

    @property
    def transient(self) -> bool:
        return True


class NetworkError(PrismApiError):
    """No HTTP answer at all: connection refused, DNS failure, timeout, connection reset."""

    @property
    def transient(self) -> bool:
        return True


class BadResponseError(PrismApiError):
    """The server answered, but not with something we can read (not JSON, wrong shape)."""


class AssetDownloadError(ScanViewerError):
    """Downloading an asset from its (pre-signed) URL failed."""

    def __init__(self, message: str, status: int | None = None, expired: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.expired = expired


class MeshLoadError(ScanViewerError):
    """A file could not be loaded as a mesh; the message names the file and the reason."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
