"""Enrolment as the API takes it: what an enrolment and a new code's request must hold, and the creation
of a code, checked by the access policy as a write to every unit of its scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ntm_field.server import errors, policy
from ntm_field.server.roles import ROLES
from ntm_field.server.store import Device, EnrolCode, ServerStore, UnitsSnapshot

MAX_TYPED_CODE = 200
MAX_DEVICE_NAME = 100


@dataclass(frozen=True)
class CodeRequest:
    """`POST /api/v1/enrol-codes`: a code for `role` on `scope`, `uses` devices, valid `days` days."""

    role: str
    scope: list[str]
    uses: int
    days: int

    @classmethod
    def from_body(cls, body: dict) -> CodeRequest:
        """The request, or 422 `invalid` naming the first field that breaks the contract."""
        role, scope = body.get("role"), body.get("scope")
        uses, days = body.get("uses", 1), body.get("expires_in_days", 7)
        if role not in ROLES:
            raise errors.Invalid(f"role must be one of {', '.join(ROLES)}", field="role")
        if not isinstance(scope, list) or not scope or not all(isinstance(c, str) for c in scope):
            raise errors.Invalid("scope must be a non-empty list of unit codes", field="scope")
        if type(uses) is not int or not 1 <= uses <= 1000:
            raise errors.Invalid("uses must be a whole number from 1 to 1000", field="uses")
        if type(days) is not int or not 1 <= days <= 90:
            raise errors.Invalid("expires_in_days must be a whole number from 1 to 90", field="expires_in_days")
        return cls(role, scope, uses, days)


def known_units(snapshot: UnitsSnapshot) -> set[str]:
    """The codes of every unit of both structures: what a code's scope may name."""
    return {code for tree in snapshot.trees.values() for code in tree.units}


def create_code(store: ServerStore, device: Device, request: CodeRequest) -> EnrolCode:
    """A new code, if the policy lets `device` grant its role on every unit of its scope."""
    snapshot = store.units_snapshot()
    policy.require_code(device, request.role, request.scope, snapshot.trees["2024"], known_units(snapshot))
    return store.create_enrol_code(
        role=request.role, scope=request.scope, uses=request.uses, expires_in=timedelta(days=request.days),
        created_by=device.id,
    )  # fmt: skip


def device_name(body: dict) -> str:
    """The name a device enrols with: text of at most 100 characters without control characters (PostgreSQL
    text cannot hold NUL); 422 `invalid` otherwise."""
    name = body.get("device_name", "")
    if not isinstance(name, str) or len(name) > MAX_DEVICE_NAME or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise errors.Invalid(
            f"device_name must be text of at most {MAX_DEVICE_NAME} characters, no control characters",
            field="device_name",
        )
    return name


def typed_code(body: dict) -> str:
    """The code as typed ("" when it is not text): judged, and counted as a guess, by the caller."""
    code: Any = body.get("code")
    return code if isinstance(code, str) else ""


def enrol_link(base_url: str, code: str) -> str:
    """The link an enrolment QR holds: the server's address and the code."""
    return f"{base_url.rstrip('/')}/enrol?code={code}"


__all__ = ["CodeRequest", "create_code", "device_name", "enrol_link", "known_units", "typed_code"]
