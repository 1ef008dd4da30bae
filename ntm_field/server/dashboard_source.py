"""What the officer dashboard reads, in process: the functions the API routes call, behind one object.

The dashboard (ntm_field/ui/dashboard) runs in the server process and never speaks HTTP to it: each
method here authenticates the session's token again, as every API request does (a revoked or expired
token is refused at the next action, not at the next sign-in), asks the same access policy, and returns
what the matching route returns, so a figure on screen is by construction the API's. Errors are the
server's catalogue (`errors.ApiError`, with a `.code`); the dashboard turns them into its own words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ntm_field.domain.records import Household
from ntm_field.domain.units import Level
from ntm_field.server import errors, policy, reports
from ntm_field.server.coverage import coverage_report, scoped_unit
from ntm_field.server.policy import Action
from ntm_field.server.progress import progress_report
from ntm_field.server.store import Device, ServerStore


class RoleNotAllowed(errors.Forbidden):
    """A known token whose role has no dashboard (a surveyor's)."""

    code = "role_not_allowed"


class HouseholdNotFound(errors.ApiError):
    """No such household, or not in the token's scope (the same answer: no hint which)."""

    status, code = 404, "household_not_found"


@dataclass(frozen=True)
class Session:
    """A dashboard sign-in: the device as it was at sign-in (for who is signed in) and its token, kept in
    the server's memory for this browser session only, never shown or logged."""

    device: Device
    token: str = field(repr=False)


@dataclass(frozen=True)
class HouseholdView:
    household: Household
    hamlet_name: str


class DashboardSource:
    """The dashboard's reads, each one call into the functions behind `/api/v1/*`."""

    def __init__(self, store: ServerStore):
        self.store = store

    def sign_in(self, token: str) -> Session:
        """A session for the token; a surveyor's token is refused (`role_not_allowed`)."""
        session = Session(self._device(token.strip()), token.strip())
        self.store.audit(session.device.id, "dashboard.sign_in", None, {"role": session.device.role})
        return session

    def _device(self, token: str) -> Device:
        """The token's device as it is now (401 when unknown, expired or revoked), if it may use the dashboard."""
        if not token or len(token) > 200:
            raise errors.InvalidToken("a token is required")
        device = self.store.authenticate(token)
        if not policy.can(device, Action.USE_DASHBOARD):
            raise RoleNotAllowed(policy.RULES[Action.USE_DASHBOARD].refusal)
        return device

    def start_unit(self, session: Session, structure: str) -> str:
        """Where the drill-down starts: the token's scope unit in 2024 (an admin's: the province); in
        2025 the highest unit of that structure holding the scope that the token may read whole."""
        return self._start_unit(self._device(session.token), structure)

    def _start_unit(self, device: Device, structure: str) -> str:
        trees = {s: self.store.tree(s) for s in ("2024", "2025")}
        if structure == "2024" and device.scope:
            return device.scope[0]
        provinces = sorted(c for c, u in trees[structure].units.items() if u.level is Level.PROVINCE)
        if policy.everywhere(device) or not device.scope:
            if not provinces:
                raise errors.UnknownUnit(f"no {structure} units are loaded", field="unit")
            return provinces[0]
        mapping = self.store.mapping()
        candidates: list[str] = []
        for hamlet in sorted(trees["2024"].hamlets_under(device.scope[0])):
            old_commune = trees["2024"].units[hamlet].parent_code or ""
            new_commune = mapping.get(old_commune, old_commune)
            chain = list(reversed(trees["2025"].ancestors(new_commune)))  # province first
            candidates += [code for code in chain if code not in candidates]
        candidates.sort(key=lambda code: trees["2025"].units[code].level is not Level.PROVINCE)
        for code in candidates:
            try:
                scoped_unit(self.store, device, unit=code, structure=structure)
                return code
            except errors.Forbidden:
                continue
        # No unit of that structure lies wholly in the scope (a 2024 commune merged with others): its
        # hamlets, reported in either structure, are what the token may read; start at the first.
        hamlets = sorted(trees["2024"].hamlets_under(device.scope[0]))
        if not hamlets:
            raise errors.Forbidden(f"no unit of the {structure} structure lies in this token's scope")
        return hamlets[0]

    def trail(self, session: Session, unit: str, structure: str) -> list[tuple[str, str]]:
        """(code, name) from the drill-down's start down to `unit`, for the breadcrumbs."""
        device = self._device(session.token)
        rollup, code, _ = scoped_unit(self.store, device, unit=unit, structure=structure)
        start = self._start_unit(device, structure)
        mapping = self.store.mapping() if structure == "2025" else {}
        chain: list[tuple[str, str]] = []
        while code and code not in (c for c, _ in chain):
            found = rollup.unit(code)
            if found is None:
                break
            chain.append((code, found.name))
            if code == start:
                break
            parent = found.parent_code or ""
            if found.level is Level.HAMLET and structure == "2025":
                parent = mapping.get(parent, parent)
            code = parent
        chain.reverse()
        if chain and chain[0][0] != start:  # the start is not above: show from the unit itself
            chain = chain[-1:]
        return chain

    def coverage(self, session: Session, unit: str | None, structure: str | None) -> dict:
        """What `GET /api/v1/coverage?unit=…&structure=…` answers."""
        return coverage_report(self.store, self._device(session.token), unit=unit, structure=structure)

    def progress(self, session: Session, unit: str | None, structure: str | None) -> dict:
        """What `GET /api/v1/progress?unit=…&structure=…` answers."""
        return progress_report(self.store, self._device(session.token), unit=unit, structure=structure)

    def export(self, session: Session, unit: str | None, fmt: str, kind: str) -> reports.ExportFile:
        """What `GET /api/v1/export?unit=…&format=…&kind=…` answers (the same function, audited the same way)."""
        return reports.export_file(self.store, self._device(session.token), unit=unit, format=fmt, kind=kind)

    def household(self, session: Session, household_id: str) -> HouseholdView:
        """The current revision of one household in the token's scope (a label's QR opens it)."""
        device = self._device(session.token)
        with self.store.backend.read() as tx:
            row = tx.one(
                "SELECT hamlet_code, document FROM households WHERE id = ? AND deleted = 0", [household_id.strip()]
            )
        tree = self.store.tree("2024")
        if row is None:
            raise HouseholdNotFound("no such household in this token's scope")
        hamlet_code, document = row
        try:
            policy.require_hamlet(device, Action.USE_DASHBOARD, hamlet_code, tree, field=None)
        except (errors.Forbidden, errors.UnknownUnit):
            raise HouseholdNotFound("no such household in this token's scope") from None
        self.store.audit(device.id, "dashboard.household", household_id, None)
        hamlet = tree.units.get(hamlet_code)
        return HouseholdView(Household.from_document(json.loads(document)), hamlet.name if hamlet else hamlet_code)


__all__ = ["DashboardSource", "Session", "HouseholdView", "HouseholdNotFound", "RoleNotAllowed"]
