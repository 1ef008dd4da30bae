"""The device's record of edits waiting for the server, and the server's answers.

Lifecycle of a change: `pending` (saved, not yet acknowledged) → `synced`
(the server stored it: applied, merged, conflict or duplicate) or `rejected`
(kept on the device with the server's reason until the household is edited,
which `supersedes` it with a new change).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class ChangeState(StrEnum):
    PENDING = "pending"
    SYNCED = "synced"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


class ResultStatus(StrEnum):
    """Per-change statuses of the push endpoint (fixed by the contract)."""

    APPLIED = "applied"
    MERGED = "merged"
    CONFLICT = "conflict"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"

    @property
    def stored(self) -> bool:
        """The server holds this change (so the device must not send it again)."""
        return self is not ResultStatus.REJECTED


@dataclass(frozen=True, slots=True)
class OutboxChange:
    """One edit of one household, as it will be pushed."""

    seq: int
    change_id: str
    household_id: str
    base_rev: int | None
    deleted: bool
    document: dict[str, Any] | None
    created_at: datetime

    def to_wire(self) -> dict[str, Any]:
        """The change object of the push request."""
        return {
            "change_id": self.change_id,
            "id": self.household_id,
            "base_rev": self.base_rev,
            "deleted": self.deleted,
            "data": self.document,
        }


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """The server's answer for one change."""

    change_id: str
    status: ResultStatus
    rev: int | None = None
    error_code: str | None = None
    error_field: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class RejectedChange:
    """A change the server refused, waiting on the device for a fix."""

    change_id: str
    household_id: str
    error_code: str
    error_field: str | None
    error_message: str
    settled_at: datetime
