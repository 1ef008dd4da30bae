"""The server keeps its unit trees between requests and reads them again only when the units change,
also when another process (an `ntm-field admin units …` command) changes them."""

from __future__ import annotations

import itertools

from ntm_field.server.coverage import coverage_report
from ntm_field.server.db import open_backend
from ntm_field.server.store import Device, ServerStore
from tests.server.conftest import ENGINES, Clock

ADMIN = Device(id="admin", name="admin", role="admin", scope=())


def other_process_store(database_url: str) -> ServerStore:
    counter = itertools.count(1)
    return ServerStore(open_backend(database_url), clock=Clock(), new_id=lambda: f"other-{next(counter)}")


@ENGINES
def test_units_loaded_elsewhere_reach_a_server_that_has_them_cached(server_store, database_url):
    first = server_store.units_snapshot()
    assert server_store.units_snapshot() is first  # nothing changed: the same snapshot, no re-read
    before = coverage_report(server_store, ADMIN, unit="25217", structure="2024")
    assert [c["unit"]["code"] for c in before["children"]] == ["25217-01"]

    admin = other_process_store(database_url)
    try:
        admin.load_units("code,name,level,parent_code,expected_households\n25217-02,Khu phố 2,hamlet,25217,90\n")
    finally:
        admin.close()

    assert server_store.units_snapshot() is not first
    after = coverage_report(server_store, ADMIN, unit="25217", structure="2024")
    assert [c["unit"]["code"] for c in after["children"]] == ["25217-01", "25217-02"]
    assert after["households"]["expected"] == before["households"]["expected"] + 90


@ENGINES
def test_a_new_mapping_moves_the_2025_rollup(server_store, database_url):
    def hamlets_of(code: str) -> set[str]:
        report = coverage_report(server_store, ADMIN, unit=code, structure="2025")
        return {c["unit"]["code"] for c in report["children"] if c["unit"]["level"] == "hamlet"}

    assert "25216-01" in hamlets_of("25217") and "25216-01" not in hamlets_of("25195")
    admin = other_process_store(database_url)
    try:
        admin.load_mapping("old_code,new_code\n25216,25195\n")  # a correction of the mapping
    finally:
        admin.close()
    assert "25216-01" in hamlets_of("25195") and "25216-01" not in hamlets_of("25217")
