"""What can go wrong talking to the central endpoint, classified by what the device should do.

- `Transient` (offline, timeout, server busy or failing): try again later, with backoff.
- `AuthFailed`: the token is dead; stop and tell the user (`revoked`: wipe the device's data).
- `Refused`: the server refused the whole request (a 4xx): stop and report, never loop.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of every sync failure; `code` is a stable snake_case name the UI translates."""

    code = "sync_error"


class Transient(SyncError):
    """Worth retrying later; `retry_after` is the server's hint in seconds, when it gave one."""

    code = "transient"

    def __init__(self, detail: str, *, retry_after: float | None = None):
        super().__init__(detail)
        self.retry_after = retry_after


class Offline(Transient):
    """No usable connection: refused, dropped, timed out, TLS failed (a captive portal), or not our server."""

    code = "offline"


class ServerBusy(Transient):
    """The server answered 429, 408 or 5xx (503 `overloaded`: it applied nothing; retry after `retry_after`)."""

    code = "server_busy"


class AuthFailed(SyncError):
    """401: the token is unknown, expired, or its device was revoked (`error_code` from the server)."""

    code = "auth_failed"

    def __init__(self, error_code: str, detail: str = ""):
        super().__init__(detail or error_code)
        self.error_code = error_code

    @property
    def revoked(self) -> bool:
        return self.error_code == "device_revoked"


class Refused(SyncError):
    """A 4xx for the whole request (nothing applied): bad request, forbidden, too large, bad code."""

    code = "refused"

    def __init__(self, status: int, error_code: str, detail: str = "", field: str | None = None):
        super().__init__(detail or error_code)
        self.status, self.error_code, self.field = status, error_code, field


class BadReply(SyncError):
    """The server's answer does not follow the contract (e.g. results that do not match the batch)."""

    code = "bad_reply"


class Cancelled(SyncError):
    """The user cancelled the sync."""

    code = "cancelled"
