"""The device's enrolment: which server it talks to, as whom, for which units."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROLES = ("surveyor", "leader", "officer", "admin")


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the server granted this device. The token is a secret: it is never shown in a repr or a log."""

    server: str
    device_id: str
    token: str = field(repr=False)
    role: str
    scope: tuple[str, ...]
    enrolled_at: datetime
    device_name: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["scope"] = list(self.scope)
        data["enrolled_at"] = self.enrolled_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Enrolment:
        return cls(
            server=data["server"],
            device_id=data["device_id"],
            token=data["token"],
            role=data["role"],
            scope=tuple(data["scope"]),
            enrolled_at=datetime.fromisoformat(data["enrolled_at"]),
            device_name=data.get("device_name", ""),
        )


class EnrolLinkError(ValueError):
    """The text is neither an enrolment code nor an enrolment link."""


def parse_enrolment(text: str, server: str | None = None) -> tuple[str, str]:
    """(server address, code) from what the user typed or scanned.

    Accepts a bare code with a server address, or an enrolment link
    (`https://host/enrol?code=…`, as the QR codes carry), whose address wins.
    """
    text = text.strip()
    if "://" in text:
        parts = urlsplit(text)
        codes = parse_qs(parts.query).get("code", [])
        if parts.scheme not in ("http", "https") or not parts.netloc or len(codes) != 1 or not codes[0].strip():
            raise EnrolLinkError("not an enrolment link")
        path = parts.path.rsplit("/enrol", 1)[0] if parts.path.endswith("/enrol") else ""
        return f"{parts.scheme}://{parts.netloc}{path}", codes[0].strip()
    if not text:
        raise EnrolLinkError("empty code")
    if not server or not server.strip():
        raise EnrolLinkError("a code needs the server's address")
    return normalise_server(server), text


def normalise_server(server: str) -> str:
    """The server's base address without a trailing slash; a bare host gets https."""
    server = server.strip()
    if "://" not in server:
        server = f"https://{server}"
    return server.rstrip("/")
