"""A team leader's calls to the central endpoint: the conflict inbox, resolutions, and enrolment codes
for new team members. Each call is one request with the device's token; failures are the sync errors
(`Offline`, `ServerBusy`, `AuthFailed`, `Refused`), translated by the view-model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ntm_field.domain.device import Enrolment
from ntm_field.store import LocalStore
from ntm_field.sync.engine import TransportFactory
from ntm_field.sync.errors import AuthFailed, BadReply
from ntm_field.sync.transport import Transport


@dataclass(frozen=True, slots=True)
class CompetingValue:
    """One side of a conflict: the value, the device that sent it (its name from the `include=device`
    extension, empty from a server without it), the revision that stored it and when it arrived."""

    value: Any
    device_id: str
    rev: int
    received_at: str
    device_name: str = ""


@dataclass(frozen=True, slots=True)
class Conflict:
    id: str
    household_id: str
    hamlet_code: str
    field: str  # e.g. `house_no`, `members[id=k3v9q2xa].full_name`, `deleted`
    values: tuple[CompetingValue, ...]


@dataclass(frozen=True, slots=True)
class Invite:
    """An enrolment code for a new team member, and the link its QR code holds."""

    code: str
    link: str
    scope: tuple[str, ...]
    expires: str


class LeaderClient:
    """The leader's online actions for the device enrolled in `store`."""

    def __init__(self, store: LocalStore, *, connect: TransportFactory = Transport):
        self.store = store
        self.connect = connect

    def conflicts(self) -> list[Conflict]:
        """Open conflicts of every unit of the leader's scope, oldest first."""
        enrolment = self._enrolment()
        found: dict[str, Conflict] = {}
        with self.connect(enrolment.server, enrolment.token) as transport:
            for unit in enrolment.scope:
                for item in _list(transport.conflicts(unit), "conflicts"):
                    conflict = _conflict(item)
                    found.setdefault(conflict.id, conflict)
        return list(found.values())

    def resolve(self, conflict_id: str, value: Any) -> int:
        """Resolve with `value` (one of the competing values); returns the new revision."""
        enrolment = self._enrolment()
        with self.connect(enrolment.server, enrolment.token) as transport:
            reply = transport.resolve(conflict_id, value)
        if not isinstance(reply.get("rev"), int):
            raise BadReply("not a resolution answer")
        return reply["rev"]

    def invite(self, scope: list[str], *, days: int = 7) -> Invite:
        """A single-use surveyor code for `scope` (units within the leader's)."""
        enrolment = self._enrolment()
        with self.connect(enrolment.server, enrolment.token) as transport:
            reply = transport.enrol_code(role="surveyor", scope=scope, uses=1, expires_in_days=days)
        try:
            return Invite(code=str(reply["code"]), link=str(reply["link"]), scope=tuple(reply["scope"]),
                          expires=str(reply["expires"]))  # fmt: skip
        except (KeyError, TypeError):
            raise BadReply("not an enrolment code answer") from None

    def _enrolment(self) -> Enrolment:
        enrolment = self.store.enrolment()
        if enrolment is None:
            raise AuthFailed("not_enrolled")
        return enrolment


def _list(reply: dict, key: str) -> list:
    items = reply.get(key)
    if not isinstance(items, list):
        raise BadReply(f"no {key} list")
    return items


def _conflict(item: Any) -> Conflict:
    try:
        return Conflict(
            id=str(item["id"]),
            household_id=str(item["household_id"]),
            hamlet_code=str(item["hamlet_code"]),
            field=str(item["field"]),
            values=tuple(
                CompetingValue(v["value"], str(v.get("device_id") or ""), int(v.get("rev") or 0),
                               str(v.get("received_at") or ""), str(v.get("device_name") or ""))  # fmt: skip
                for v in item["values"]
            ),
        )
    except (KeyError, TypeError, ValueError):
        raise BadReply("not a conflict") from None
