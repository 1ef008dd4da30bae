"""The seeded demo province on the server: open conflicts, and the same provincial totals under the
2024 and the 2025 structures, equal to a brute-force count over the generated documents."""

from __future__ import annotations

import json

from ntm_field.domain.codes import Check
from ntm_field.domain.indicators import tally_household, tally
from ntm_field.server.conflicts import list_conflicts
from ntm_field.server.coverage import coverage_report
from ntm_field.server.store import Device

ADMIN = Device(id="admin", name="admin", role="admin", scope=())


def _totals(report: dict) -> dict:
    """The provincial figures that must not depend on the structure (names and codes aside)."""
    households = dict(report["households"])
    return {"households": households, "indicators": report["indicators"], "fully": report["fully_covered_households"]}


def test_the_server_holds_every_household_and_the_conflicts_are_open(seeded, province):
    store, report = seeded
    assert (report.households, report.conflicts) == (len(province.households()), len(province.edits))
    with store.backend.transaction() as tx:
        stored = {row[0]: json.loads(row[1]) for row in tx.all("SELECT id, document FROM households")}
        devices = tx.one("SELECT COUNT(DISTINCT device_id) FROM households")[0]
    assert stored == {h.id: h.to_document() for h in province.households()}
    assert devices == len(province.teams) > 100  # households carry their team device's id
    conflicts = list_conflicts(store, sorted(store.tree("2024").hamlets_under("70")))
    assert len(conflicts) == len(province.edits)
    assert {c["household_id"] for c in conflicts} == {e.first.id for e in province.edits}
    assert all(c["status"] == "open" and len({v["device_id"] for v in c["values"]}) == 2 for c in conflicts)
    assert sum(1 for c in conflicts if c["hamlet_code"].startswith("25216-")) >= 3
    fields = {c["field"].rsplit(".", 1)[-1] for c in conflicts}
    assert {"head_name", "smartphone", "house_no", "birth_year", "follow_up", "full_name"} <= fields


def test_the_2025_structure_gives_the_same_provincial_totals_as_2024(seeded):
    store, _ = seeded
    under_2024 = coverage_report(store, ADMIN, unit="70", structure="2024")
    under_2025 = coverage_report(store, ADMIN, unit="75", structure="2025")
    assert under_2025["unit"]["code"] == "75" and under_2024["unit"]["code"] == "70"
    assert _totals(under_2025) == _totals(under_2024)
    # and each structure's children add up to the province
    for report in (under_2024, under_2025):
        assert sum(c["households"]["surveyed"] for c in report["children"]) == report["households"]["surveyed"]
        assert sum(c["indicators"]["sim"]["covered"] for c in report["children"]) == report["indicators"]["sim"]["covered"]
    assert len(under_2024["children"]) == 11 and len(under_2025["children"]) < 111


def test_the_provincial_totals_equal_a_brute_force_count(seeded, province):
    store, _ = seeded
    report = coverage_report(store, ADMIN, unit="70", structure="2024")
    households = province.households()
    expected = tally(households)
    assert expected == sum((tally_household(h) for h in households), start=type(expected)())
    assert report["households"]["surveyed"] == expected.surveyed
    assert report["households"]["expected"] == sum(h.expected_households for h in province.hamlets)
    for status in ("absent", "refused", "moved", "vacant"):
        assert report["households"][status] == sum(1 for h in households if h.visit_status == status)
    assert report["fully_covered_households"] == expected.fully_covered
    for check in Check:
        figure, got = expected.figure(check), report["indicators"][check.value]
        assert (got["covered"], got["eligible"], got["unknown"]) == (figure.covered, figure.eligible, figure.unknown)
        assert got.get("level1", 0) == figure.level1
