"""The server's error catalogue: raised anywhere, turned into HTTP answers only at the edge."""

from __future__ import annotations


class ApiError(Exception):
    """An error with the contract's shape: HTTP status, snake_case code, message, field."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class InvalidToken(ApiError):
    """Missing, unknown or malformed bearer token."""

    status, code = 401, "invalid_token"


class TokenExpired(ApiError):
    """The token's validity ended."""

    status, code = 401, "token_expired"


class DeviceRevoked(ApiError):
    """The device was revoked: it must wipe its local data."""

    status, code = 401, "device_revoked"


class Forbidden(ApiError):
    """A known token without the right for this action or unit."""

    status, code = 403, "forbidden"


class UnknownUnit(ApiError):
    """A unit code the server does not know."""

    status, code = 404, "unknown_unit"


class InvalidCode(ApiError):
    """Unknown, used-up or expired enrolment code (no hint which)."""

    status, code = 400, "invalid_code"


class Invalid(ApiError):
    """A request value breaks the contract."""

    status, code = 422, "invalid"


class NotOpen(ApiError):
    """The conflict is not open any more."""

    status, code = 409, "not_open"


class UnitsRefused(Exception):
    """A units or mapping file was refused as a whole (message names the line)."""
