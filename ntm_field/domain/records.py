"""Household and member records: the unit of sync, as plain immutable dataclasses.

`Household.to_document()` gives the wire document of the sync contract and
`Household.from_document()` reads one back; a document from outside must pass
`validation.validate_document` first (from_document trusts its input).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ntm_field.domain.codes import Check, Presence, VisitStatus

MAX_MEMBERS = 30
MAX_NAME = 80
MAX_MEMBER_ID = 40


@dataclass(frozen=True, slots=True)
class Consent:
    given: bool
    notice_version: str


@dataclass(frozen=True, slots=True)
class FollowUp:
    due: date
    note: str = ""


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    full_name: str
    birth_year: int
    presence: Presence = Presence.RESIDENT
    cccd: str = "unknown"
    vneid: str = "unknown"
    smartphone: str = "unknown"
    sim: str = "unknown"
    reasons: dict[str, str] = field(default_factory=dict)
    assisted: tuple[str, ...] = ()
    note: str = ""

    def check(self, check: Check) -> str:
        """The member's value for one of the four checks."""
        return getattr(self, check.value)

    def to_document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "full_name": self.full_name,
            "birth_year": self.birth_year,
            "presence": str(self.presence),
            "cccd": self.cccd,
            "vneid": self.vneid,
            "smartphone": self.smartphone,
            "sim": self.sim,
            "reasons": dict(self.reasons),
            "assisted": list(self.assisted),
            "note": self.note,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Member:
        return cls(
            id=doc["id"],
            full_name=doc["full_name"],
            birth_year=doc["birth_year"],
            presence=Presence(doc["presence"]),
            cccd=doc["cccd"],
            vneid=doc["vneid"],
            smartphone=doc["smartphone"],
            sim=doc["sim"],
            reasons=dict(doc.get("reasons") or {}),
            assisted=tuple(doc.get("assisted") or ()),
            note=doc.get("note", ""),
        )


@dataclass(frozen=True, slots=True)
class Household:
    id: str
    hamlet_code: str
    head_name: str
    visit_status: VisitStatus
    surveyed_on: date
    house_no: str = ""
    address: str = ""
    consent: Consent = Consent(given=False, notice_version="")
    follow_up: FollowUp | None = None
    note: str = ""
    members: tuple[Member, ...] = ()
    updated_at: datetime | None = None

    @property
    def label_code(self) -> str:
        """The short code printed on the household's label, e.g. `25216-03/3B0F5A`.

        Derived from the id so that every device and the server agree on it
        without coordination (devices create households offline).
        """
        return label_code(self.hamlet_code, self.id)

    @property
    def survey_year(self) -> int:
        """Ages are counted against the year the household was surveyed."""
        return self.surveyed_on.year

    def to_document(self) -> dict[str, Any]:
        doc = {
            "id": self.id,
            "hamlet_code": self.hamlet_code,
            "house_no": self.house_no,
            "address": self.address,
            "head_name": self.head_name,
            "visit_status": str(self.visit_status),
            "surveyed_on": self.surveyed_on.isoformat(),
            "consent": {"given": self.consent.given, "notice_version": self.consent.notice_version},
            "follow_up": (
                None
                if self.follow_up is None
                else {"due": self.follow_up.due.isoformat(), "note": self.follow_up.note}
            ),
            "note": self.note,
            "members": [member.to_document() for member in self.members],
        }
        if self.updated_at is not None:
            doc["updated_at"] = self.updated_at.isoformat()
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Household:
        consent = doc.get("consent") or {"given": False, "notice_version": ""}
        follow_up = doc.get("follow_up")
        return cls(
            id=doc["id"],
            hamlet_code=doc["hamlet_code"],
            house_no=doc.get("house_no", ""),
            address=doc.get("address", ""),
            head_name=doc["head_name"],
            visit_status=VisitStatus(doc["visit_status"]),
            surveyed_on=date.fromisoformat(doc["surveyed_on"]),
            consent=Consent(given=consent["given"], notice_version=consent["notice_version"]),
            follow_up=(
                None
                if follow_up is None
                else FollowUp(due=date.fromisoformat(follow_up["due"]), note=follow_up.get("note", ""))
            ),
            note=doc.get("note", ""),
            members=tuple(Member.from_document(m) for m in doc["members"]),
            updated_at=(
                datetime.fromisoformat(doc["updated_at"]) if doc.get("updated_at") else None
            ),
        )


def label_code(hamlet_code: str, household_id: str) -> str:
    """A household's short label code: its hamlet and the first six hex digits of its id."""
    return f"{hamlet_code}/{household_id.replace('-', '')[:6].upper()}"
