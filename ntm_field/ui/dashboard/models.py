"""The officer dashboard's view-models: plain Python, no flet. A test builds them on a real server store.

`DashboardModel` is one browser session: who signed in, which structure, the language, and the
screens it can produce (`open_unit`, `open_household`, `export`). Views turn the dataclasses
below into controls; every number they show was formatted here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from ntm_field.domain.codes import Check
from ntm_field.domain.indicators import eligible_checks
from ntm_field.ui.i18n import CATALOG, I18n

log = logging.getLogger("ntm_field.dashboard")

STRUCTURES = ("2024", "2025")
CHECKS = tuple(Check)
EXPORTS = {  # button → (format, kind)
    "members_csv": ("csv", "members"),
    "coverage_csv": ("csv", "coverage"),
    "xlsx": ("xlsx", "members"),
}


class Source(Protocol):
    """What the dashboard reads (ntm_field.server.dashboard_source.DashboardSource in the server).

    `sign_in` gives a session (its `.device` says who signed in); every other call takes it and checks
    its token again. Failures are exceptions with a `.code` (the API's error codes): `invalid_token`,
    `token_expired`, `device_revoked`, `role_not_allowed` (these end the session), `forbidden`,
    `unknown_unit`, `household_not_found`."""

    def sign_in(self, token: str) -> Any: ...
    def start_unit(self, session: Any, structure: str) -> str: ...
    def trail(self, session: Any, unit: str, structure: str) -> list[tuple[str, str]]: ...
    def coverage(self, session: Any, unit: str | None, structure: str | None) -> dict: ...
    def progress(self, session: Any, unit: str | None, structure: str | None) -> dict: ...
    def export(self, session: Any, unit: str | None, fmt: str, kind: str) -> Any: ...
    def household(self, session: Any, household_id: str) -> Any: ...


# A token refused with one of these no longer opens anything: the session is signed out.
SIGNED_OUT = ("invalid_token", "token_expired", "device_revoked", "role_not_allowed")


class DashboardError(Exception):
    """A failure already put in the user's words (never a traceback)."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message, self.code = message, code


# ----- routes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    kind: str  # "home" (start unit), "unit", "household", "sign_in", "enrol"
    code: str = ""
    structure: str = "2024"


def parse_route(route: str | None) -> Route:
    """`/unit/CODE?structure=2025`, `/household/ID`, `/sign-in`; anything else is the start unit."""
    parts = urlsplit(route or "/")
    structure = parse_qs(parts.query).get("structure", ["2024"])[0]
    structure = structure if structure in STRUCTURES else "2024"
    path = parts.path.rstrip("/")
    if path.startswith("/unit/") and path.removeprefix("/unit/"):
        return Route("unit", path.removeprefix("/unit/"), structure)
    if path.startswith("/household/") and path.removeprefix("/household/"):
        return Route("household", path.removeprefix("/household/"), structure)
    if path == "/sign-in":
        return Route("sign_in", "", structure)
    if path == "/enrol":  # an enrolment link opened in a browser: it belongs in the field app
        return Route("enrol", "", structure)
    return Route("home", "", structure)


def unit_route(code: str, structure: str) -> str:
    return f"/unit/{code}?structure={structure}"


# ----- figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    covered: int
    eligible: int
    unknown: int
    rate: float | None
    level1: int | None = None  # vneid only


@dataclass(frozen=True)
class UnitRow:
    """One unit's figures as the coverage report gives them."""

    code: str
    name: str
    level: str
    expected: int | None
    surveyed: int
    visits: dict[str, int]
    indicators: dict[str, Indicator]
    fully_covered: int

    @classmethod
    def from_report(cls, report: dict) -> UnitRow:
        households = report["households"]
        return cls(
            code=report["unit"]["code"], name=report["unit"]["name"], level=report["unit"]["level"],
            expected=households["expected"], surveyed=households["surveyed"],
            visits={k: households[k] for k in ("absent", "refused", "moved", "vacant")},
            indicators={
                c.value: Indicator(f["covered"], f["eligible"], f["unknown"], f["rate"], f.get("level1"))
                for c in CHECKS for f in [report["indicators"][c.value]]
            },
            fully_covered=report["fully_covered_households"],
        )  # fmt: skip


@dataclass(frozen=True)
class ProgressDay:
    date: str
    surveyed: int
    covered: dict[str, tuple[int, int]]  # check → (covered, eligible)


@dataclass(frozen=True)
class UnitScreen:
    structure: str
    unit: UnitRow
    children: list[UnitRow]
    trail: list[tuple[str, str]]  # (code, name), start first, this unit last
    days: list[ProgressDay]
    drillable: bool  # whether children are units one can open (hamlets have none)


@dataclass(frozen=True)
class MemberLine:
    name: str
    birth_year: int
    presence: str
    checks: dict[str, str]  # check → value label, or "không áp dụng" at the member's age


@dataclass(frozen=True)
class HouseholdScreen:
    id: str
    label_code: str
    hamlet: str
    house_no: str
    address: str
    head_name: str
    visit_status: str
    surveyed_on: str
    members: list[MemberLine] = field(default_factory=list)


# ----- the session -------------------------------------------------------------------------


class DashboardModel:
    """One browser session of the dashboard (its sign-in lives and dies with the session)."""

    def __init__(self, source: Source, i18n: I18n | None = None):
        self.source = source
        self.i18n = i18n or I18n("vi")
        self.session: Any = None  # the source's session: every read checks its token again
        self.device: Any = None  # who signed in (role, scope), for the header
        self.structure = "2024"
        self.pending_route: str | None = None  # where to go after signing in (a label's /household/ID)

    @property
    def signed_in(self) -> bool:
        return self.device is not None

    def role_label(self) -> str:
        return self.i18n.t(f"dash.role.{self.device.role}") if self.device else ""

    def who(self) -> str:
        """Who is signed in: role and scope (never the token)."""
        if self.device is None:
            return ""
        scope = ", ".join(self.device.scope) or self.i18n.t("dash.scope_all")
        return self.i18n.t("dash.signed_in_as", role=self.role_label(), scope=scope)

    # sign-in ----------------------------------------------------------------------------------

    def sign_in(self, token: str) -> str | None:
        """None when signed in, else the message to show (wrong token, surveyor token, …)."""
        if not token.strip():
            return self.i18n.t("dash.error.token_required")
        try:
            self.session = self.source.sign_in(token)
        except Exception as error:  # noqa: BLE001 — every failure becomes a sentence, never a traceback
            self.sign_out()
            return self._message(error)
        self.device = self.session.device
        return None

    def sign_out(self) -> None:
        self.session = self.device = None

    def after_sign_in(self) -> str:
        """The route to open once signed in: what was asked for first, else the start unit."""
        route, self.pending_route = self.pending_route, None
        return route or unit_route(self.start_unit(self.structure), self.structure)

    def start_unit(self, structure: str) -> str:
        return self._call(self.source.start_unit, structure)

    # screens ------------------------------------------------------------------------------------

    def open_unit(self, code: str | None, structure: str) -> UnitScreen:
        """The unit's figures, its children's, the breadcrumbs and the daily progress (slow: call
        it off the UI loop)."""
        self.structure = structure if structure in STRUCTURES else "2024"
        code = code or self.start_unit(self.structure)
        report = self._call(self.source.coverage, code, self.structure)
        series = self._call(self.source.progress, code, self.structure)
        trail = self._call(self.source.trail, code, self.structure)
        unit = UnitRow.from_report(report)
        children = [UnitRow.from_report(child) for child in report.get("children", [])]
        days = [
            ProgressDay(d["date"], d["surveyed"], {c.value: (d[c.value]["covered"], d[c.value]["eligible"]) for c in CHECKS})
            for d in series["days"]
        ]
        return UnitScreen(self.structure, unit, children, trail, days, drillable=unit.level != "hamlet")

    def switch_structure(self, structure: str) -> str:
        """The route that restarts the drill-down in the other structure."""
        structure = structure if structure in STRUCTURES else "2024"
        return unit_route(self.start_unit(structure), structure)

    def open_household(self, household_id: str) -> HouseholdScreen:
        found = self._call(self.source.household, household_id)
        h, t = found.household, self.i18n.t
        members = []
        for m in h.members:
            eligible = eligible_checks(m, h.survey_year)
            checks = {
                c.value: self.i18n.value(c.value, m.check(c)) if c in eligible else t("dash.household.not_applicable")
                for c in CHECKS
            }
            members.append(MemberLine(m.full_name, m.birth_year, self.i18n.presence(str(m.presence)), checks))
        return HouseholdScreen(
            id=h.id, label_code=h.label_code, hamlet=f"{found.hamlet_name} ({h.hamlet_code})", house_no=h.house_no or "—",
            address=h.address or "—", head_name=h.head_name, visit_status=self.i18n.visit_status(str(h.visit_status)),
            surveyed_on=h.surveyed_on.isoformat(), members=members,
        )  # fmt: skip

    def export(self, unit: str, button: str) -> tuple[str, bytes]:
        """(file name, bytes) of one export button for the unit (slow: off the UI loop)."""
        fmt, kind = EXPORTS[button]
        exported = self._call(self.source.export, unit, fmt, kind)
        return exported.file_name, exported.content

    # formatting (every figure with its denominator; never a bare percentage) ----------------------

    def households_text(self, row: UnitRow) -> str:
        expected = "—" if row.expected is None else self.number(row.expected)
        return self.i18n.t("dash.cell.households", surveyed=self.number(row.surveyed), expected=expected)

    def indicator_text(self, figure: Indicator) -> str:
        return self.i18n.t("dash.cell.indicator", covered=self.number(figure.covered), eligible=self.number(figure.eligible),
                           rate=self.i18n.percent(figure.rate))  # fmt: skip

    def indicator_detail(self, check: str, figure: Indicator) -> str:
        if check == Check.VNEID.value:
            return self.i18n.t("dash.cell.vneid_detail", level1=self.number(figure.level1 or 0),
                               unknown=self.number(figure.unknown))  # fmt: skip
        return self.i18n.t("dash.cell.unknown", unknown=self.number(figure.unknown))

    def visits_text(self, row: UnitRow) -> str:
        return self.i18n.t("dash.visits", **{visit: self.number(n) for visit, n in row.visits.items()})

    def level_label(self, level: str) -> str:
        return self.i18n.t(f"dash.level.{level}")

    def day_text(self, day: ProgressDay) -> list[str]:
        return [day.date, self.number(day.surveyed),
                *(f"{self.number(day.covered[c.value][0])}/{self.number(day.covered[c.value][1])}" for c in CHECKS)]

    def number(self, value: int) -> str:
        """A count with its thousands grouped as the reader writes them: 10.340 (vi), 10,340 (en)."""
        grouped = f"{value:,}"
        return grouped.replace(",", ".") if self.i18n.lang == "vi" else grouped

    # errors -----------------------------------------------------------------------------------

    def _call(self, method, *args):
        """`method(session, *args)`; a refused token signs the session out (the message says so)."""
        if self.session is None:
            raise DashboardError(self.i18n.t("dash.error.sign_in_first"), "signed_out")
        try:
            return method(self.session, *args)
        except DashboardError:
            raise
        except Exception as error:  # noqa: BLE001
            code = getattr(error, "code", None)
            if code in SIGNED_OUT:
                self.sign_out()
                raise DashboardError(self.i18n.t("dash.signed_out", reason=self._message(error)), code) from None
            raise DashboardError(self._message(error), code) from None

    def _message(self, error: Exception) -> str:
        code = getattr(error, "code", None)
        key = f"dash.error.{code}"
        if isinstance(code, str) and key in CATALOG:
            return self.i18n.t(key)
        # the type only: messages of database errors can quote personal data
        log.error("dashboard: unexpected %s", type(error).__name__)
        return self.i18n.t("dash.error.other")


__all__ = ["DashboardModel", "DashboardError", "Route", "parse_route", "unit_route", "UnitRow", "UnitScreen"]
