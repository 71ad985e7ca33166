"""Errors that services raise and the API turns into `{"detail": ...}` with a 4xx status."""

from __future__ import annotations


class ServiceError(Exception):
    """A request that cannot be carried out; `status` is the HTTP status to answer with."""

    status = 400

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


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
