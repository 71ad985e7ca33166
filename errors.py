"""The one error model: what services, dependencies and tasks raise, whatever calls them.

A `ServiceError` carries its HTTP status and any headers to answer with; the app turns it into
`{"detail": ...}` with both, so code outside the routes never needs FastAPI's HTTPException. Whether
trying again later may help is a type too: an error that may pass is also a `Transient`.
"""

from __future__ import annotations

from collections.abc import Mapping


class ServiceError(Exception):
    """A request that cannot be carried out; `status` is the HTTP status to answer with, `headers` go with it."""

    status = 400

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.headers: dict[str, str] = dict(headers or {})


class NotFound(ServiceError):
    """The thing asked for does not exist."""

    status = 404


class Conflict(ServiceError):
    """The request clashes with the current state."""

    status = 409


class Invalid(ServiceError):
    """The request's content is unacceptable."""

    status = 422


class Forbidden(ServiceError):
    """The user may not do this to this object."""

    status = 403


class TooLarge(ServiceError):
    """The upload is over the size limit."""

    status = 413


class Unsupported(ServiceError):
    """The upload's type is not accepted."""

    status = 415


class Unauthorized(ServiceError):
    """The request carries no credentials, or ones that are not accepted; says which scheme to use (WWW-Authenticate)."""

    status = 401

    def __init__(self, detail: str, *, scheme: str = "Bearer"):
        super().__init__(detail, headers={"WWW-Authenticate": scheme})


class Gone(ServiceError):
    """The thing existed but was withdrawn on purpose."""

    status = 410


class ServiceUnavailable(ServiceError):
    """The database or the broker cannot be reached for now; the client should retry after `retry_after_s`."""

    status = 503

    def __init__(self, detail: str, *, retry_after_s: int = 5):
        super().__init__(detail, headers={"Retry-After": str(retry_after_s)})
        self.retry_after_s = retry_after_s


class Transient(Exception):
    """Marker base of errors that may pass if the same work is tried again later (retried, not failed).

    Mixed into the error classes that are transient (e.g. `TransientEngineError`); ask with isinstance.
    """
