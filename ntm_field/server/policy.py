"""Who may do what on which unit: the central endpoint's one access policy.

In the spirit of ODK Central's `auth.canOrReject`: the routes, the conflict resolver, the exports, the
figures, enrolment codes and the dashboard all ask here "may this device do ACTION on this unit or
household?", and a refusal is raised here, in the error catalogue (403 `forbidden`, 404 `unknown_unit`).
A write is checked against its *target*: the hamlet a household moves to (by a push or by a resolved
`hamlet_code`), every unit of a new enrolment code's scope.

Scope (the contract's "Roles and scope"): a token's scope is a list of units of the 2024 structure, and a
scope unit covers every unit under it; an admin's scope is everything. A unit of either structure may be
read when every one of its hamlets lies in the scope (a 2025 commune gathers hamlets of several 2024
communes). docs/server.md's table "Who may do what" is tested against RULES and GRANTS.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from ntm_field.domain.units import Level
from ntm_field.server import errors
from ntm_field.server.roles import ADMIN, LEADER, OFFICER, ROLES, SURVEYOR
from ntm_field.server.store import Device, UnitTree

OUTSIDE = "the unit is outside this token's scope"


class Action(StrEnum):
    """What a device asks to do."""

    PUSH = "push"
    PULL = "pull"
    READ_FIGURES = "read_figures"
    LIST_CONFLICTS = "list_conflicts"
    RESOLVE_CONFLICT = "resolve_conflict"
    EXPORT = "export"
    CREATE_CODE = "create_code"
    USE_DASHBOARD = "use_dashboard"


@dataclass(frozen=True)
class Rule:
    """Which roles may do an action, on which units (for the docs), and the 403 message for the others."""

    roles: frozenset[str]
    requests: str
    units: str
    refusal: str


RULES: dict[Action, Rule] = {
    Action.PUSH: Rule(
        frozenset({SURVEYOR, LEADER, ADMIN}), "`POST /api/v1/sync/push`",
        "the household's hamlet before and after the change (a move is a write to both)",
        "an officer does not write households",
    ),
    Action.PULL: Rule(frozenset(ROLES), "`GET /api/v1/sync/pull`", "the hamlets in scope", "pulls are for enrolled devices"),
    Action.READ_FIGURES: Rule(
        frozenset(ROLES), "`GET /api/v1/coverage`, `GET /api/v1/progress`", "a unit whose hamlets all lie in scope",
        "figures are for enrolled devices",
    ),
    Action.LIST_CONFLICTS: Rule(
        frozenset({LEADER, OFFICER, ADMIN}), "`GET /api/v1/conflicts`", "a unit whose hamlets all lie in scope",
        "conflicts are for leaders, officers and admins",
    ),
    Action.RESOLVE_CONFLICT: Rule(
        frozenset({LEADER, ADMIN}), "`POST /api/v1/conflicts/{id}/resolve`",
        "the household's hamlet, and the hamlet a resolved `hamlet_code` moves it to",
        "only a leader or an admin resolves conflicts",
    ),
    Action.EXPORT: Rule(
        frozenset({LEADER, OFFICER, ADMIN}), "`GET /api/v1/export`", "a unit whose hamlets all lie in scope",
        "exports are for leaders, officers and admins",
    ),
    Action.CREATE_CODE: Rule(
        frozenset({LEADER, ADMIN}), "`POST /api/v1/enrol-codes`", "every unit of the code's scope, each a known unit",
        "only a leader or an admin creates enrolment codes",
    ),
    Action.USE_DASHBOARD: Rule(
        frozenset({LEADER, OFFICER, ADMIN}), "the dashboard under `/`",
        "as the figures and exports; a household by its hamlet", "the dashboard is for officers, leaders and admins",
    ),
}  # fmt: skip

# The roles whose enrolment codes each role may create through the API. Admin codes come from the server's
# command line only (`ntm-field admin enrol-code`), which is not a device and does not ask this policy.
GRANTS: dict[str, tuple[str, ...]] = {LEADER: (SURVEYOR,), ADMIN: (SURVEYOR, LEADER, OFFICER)}

# What the command line acts as (exports): an admin without a token row, audited as "cli".
COMMAND_LINE = Device(id="cli", name="command line", role=ADMIN, scope=())


def can(device: Device, action: Action) -> bool:
    """Whether the device's role may do `action` at all (before any unit is looked at)."""
    return device.role in RULES[action].roles


def require(device: Device, action: Action) -> None:
    """403 `forbidden` unless the device's role may do `action`."""
    if not can(device, action):
        raise errors.Forbidden(RULES[action].refusal)


def everywhere(device: Device) -> bool:
    """Whether the device's scope is every unit, whatever its scope list says (an admin's)."""
    return device.role == ADMIN


def within(device: Device, code: str, tree: UnitTree) -> bool:
    """Whether the unit `code` of the 2024 structure lies in the device's scope: it or a unit above it is
    one of the scope's units. The one scope test of the server."""
    return everywhere(device) or not set(tree.ancestors(code)).isdisjoint(device.scope)


def hamlets_in_scope(device: Device, tree: UnitTree) -> list[str]:
    """Every hamlet `within` the device's scope (what it pulls)."""
    if everywhere(device):
        return sorted(code for code, unit in tree.units.items() if unit.level is Level.HAMLET)
    return sorted(_scope_hamlets(device, tree))


def _scope_hamlets(device: Device, tree: UnitTree) -> set[str]:
    """The hamlets `within` a scope found from the scope down: the hamlets under its units (what `within`
    finds from a hamlet up; tests/server/test_policy.py checks that the two agree). Twenty times faster
    than `within` per hamlet for a province's ~1,000 hamlets."""
    return {hamlet for code in device.scope for hamlet in tree.hamlets_under(code)}


def require_hamlet(device: Device, action: Action, code: str, tree: UnitTree, *, field: str | None) -> None:
    """`action` on a household of hamlet `code` (a write: the hamlet it is in, or the one it moves to):
    404 `unknown_unit` when no such hamlet is known, 403 `forbidden` outside the scope."""
    require(device, action)
    unit = tree.units.get(code)
    if unit is None or unit.level is not Level.HAMLET:
        raise errors.UnknownUnit(f"hamlet {code} is not known", field=field)
    if not within(device, code, tree):
        raise errors.Forbidden("the hamlet is outside this token's scope", field=field)


def require_unit(device: Device, action: Action, hamlets: Collection[str], tree: UnitTree) -> None:
    """`action` on a unit (of either structure) holding `hamlets`: every one of them must be `within` the
    scope; a unit without hamlets only for an admin."""
    require(device, action)
    if everywhere(device):
        return
    if not hamlets or not _scope_hamlets(device, tree).issuperset(hamlets):
        raise errors.Forbidden(OUTSIDE, field="unit")


def require_known(codes: Iterable[str], known: Collection[str], *, field: str) -> None:
    """404 `unknown_unit` naming the first code that is not a known unit."""
    for code in codes:
        if code not in known:
            raise errors.UnknownUnit(f"unknown unit {code}", field=field)


def require_code(device: Device, role: str, scope: list[str], tree: UnitTree, known: Collection[str]) -> None:
    """Creating an enrolment code for `role` on `scope`, checked as a write to every unit of the scope: the
    role must be one the device may grant, each unit known and `within` the device's scope."""
    require(device, Action.CREATE_CODE)
    granted = GRANTS.get(device.role, ())
    if role not in granted:
        raise errors.Forbidden(
            f"this token creates codes for {', '.join(granted)} only; admin codes come from the server's command line",
            field="role",
        )
    require_known(scope, known, field="scope")
    if not all(within(device, code, tree) for code in scope):
        raise errors.Forbidden("the scope is outside this token's own", field="scope")


__all__ = [
    "Action", "RULES", "GRANTS", "COMMAND_LINE", "can", "require", "everywhere", "within", "hamlets_in_scope", "require_hamlet",
    "require_unit", "require_known", "require_code",
]  # fmt: skip
