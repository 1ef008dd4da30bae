"""The household list's order and states in the store: house numbers in natural order, and each
household's state (draft, saved not sent, sent, needs fix, in conflict) filtered in SQL."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest
from sqlite_utils import Database

from ntm_field.domain.outbox import ChangeResult, ResultStatus
from ntm_field.store import LocalStore
from ntm_field.store.migrations import MIGRATIONS
from ntm_field.store.rows import household_row, house_sort_key
from tests.store.test_local_store import household

HAMLETS = ["25216-03"]


def test_house_numbers_sort_naturally():
    shuffled = ["24", "", "12B", "3", "12/3", "kiot 10", "12a", "100", "Kiốt 2", "03", "12", "A5"]
    assert sorted(shuffled, key=house_sort_key) == [
        "3", "03", "12", "12/3", "12a", "12B", "24", "100", "A5", "Kiốt 2", "kiot 10", "",
    ]  # fmt: skip


def test_the_list_orders_by_house_number_naturally_then_by_name(store):
    numbers = {1: "24", 2: "3", 3: "12A", 4: "12", 5: "", 6: "12", 7: "100"}
    heads = {4: "Trần Văn Bình", 6: "Lê Thị Mai"}
    for n, house_no in numbers.items():
        store.save(household(n, head=heads.get(n, f"Hộ {n}"), house_no=house_no))
    expected = ["3", "12", "12", "12A", "24", "100", ""]
    assert [r.house_no for r in store.list_households("25216-03")] == expected
    rows = store.browse(HAMLETS, limit=10)
    assert [r.house_no for r in rows] == expected
    assert [r.head_name for r in rows[1:3]] == ["Lê Thị Mai", "Trần Văn Bình"]
    assert [r.house_no for r in store.browse(HAMLETS, limit=3)] == expected[:3]  # cut in SQL after sorting
    assert [r.house_no for r in store.search("12", hamlet_codes=HAMLETS)] == ["12", "12", "12A"]


def test_the_list_is_read_in_index_order_without_sorting(store):
    """50,000 households stay fast: the ORDER BY … LIMIT walks the (hamlet, house_sort, name) index."""
    store.save(household(1))
    with store._connect() as db:
        plan = " ".join(row[3] for row in db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM households WHERE hamlet_code IN ('25216-03') "
            "ORDER BY hamlet_code, house_sort, head_name LIMIT 200"
        ))  # fmt: skip
    assert "idx_households_hamlet_code_house_sort_head_name" in plan and "TEMP B-TREE" not in plan, plan


def test_the_sort_key_migration_fills_in_households_saved_before_it(tmp_path, clock, new_id):
    path = tmp_path / "old.db"
    db = Database(path)
    MIGRATIONS.apply(db, stop_before="m0006_house_sort_and_conflicts")
    db.close()
    old = sqlite3.connect(path)
    for n, house_no in ((1, "24"), (2, "3"), (3, "12A"), (4, "12")):
        row = household_row(household(n, house_no=house_no), rev=None, base_document=None, sync_state="synced", now="x")
        del row["house_sort"]
        old.execute(f"INSERT INTO households ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    old.commit()
    old.close()
    reopened = LocalStore.open(path, clock=clock, new_id=new_id)
    try:
        assert [r.house_no for r in reopened.list_households("25216-03")] == ["3", "12", "12A", "24"]
    finally:
        reopened.close()


def _states(store: LocalStore) -> dict[str, list[str]]:
    return {state: [r.head_name for r in store.browse(HAMLETS, state=state)]
            for state in ("all", "draft", "pending", "synced", "rejected", "conflict")}  # fmt: skip


def _send(store: LocalStore, household_id: str, status: ResultStatus, rev: int | None = None) -> None:
    [change] = [c for c in store.outgoing(100) if c.household_id == household_id]
    store.mark_sent([change])
    store.record_results([ChangeResult(change.change_id, status, rev, *(("invalid", "data.house_no", "x")
                                                                         if status is ResultStatus.REJECTED else ()))])  # fmt: skip


def test_each_household_is_in_one_saved_state_and_a_draft_marks_unsaved_changes(store):
    names = ["An", "Bình", "Chi", "Dũng", "Em"]
    saved = {name: store.save(household(n, head=name)).household for n, name in enumerate(names, start=1)}
    _send(store, saved["Bình"].id, ResultStatus.APPLIED, rev=1)
    _send(store, saved["Chi"].id, ResultStatus.REJECTED)
    _send(store, saved["Dũng"].id, ResultStatus.CONFLICT, rev=2)
    _send(store, saved["Em"].id, ResultStatus.MERGED, rev=3)
    store.save_draft(saved["Em"].id, "25216-03", "Em", "5", {"editing": True})
    store.save_draft("00000000-0000-4000-8000-00000000beef", "25216-03", "Mới", "", {})  # a new household: not a row
    assert _states(store) == {
        "all": names, "draft": ["Em"], "pending": ["An"], "synced": ["Bình", "Em"], "rejected": ["Chi"],
        "conflict": ["Dũng"],
    }  # fmt: skip
    rows = {r.head_name: r for r in store.browse(HAMLETS)}
    assert [n for n, r in rows.items() if r.has_draft] == ["Em"]
    assert [n for n, r in rows.items() if r.in_conflict] == ["Dũng"]
    # saving the draft: the household is saved and not sent, its draft gone
    store.save(saved["Em"])
    assert _states(store)["draft"] == [] and _states(store)["pending"] == ["An", "Em"]


def test_a_conflict_lasts_until_a_newer_revision_arrives_or_the_household_is_edited(store):
    dung = store.save(household(1, head="Dũng")).household
    _send(store, dung.id, ResultStatus.CONFLICT, rev=2)
    store.apply_pulled([{"id": dung.id, "rev": 2, "deleted": False, "data": dung.to_document()}], cursor="c1")
    assert _states(store)["conflict"] == ["Dũng"]  # the conflict revision itself
    resolved = replace(dung, house_no="99").to_document()
    store.apply_pulled([{"id": dung.id, "rev": 3, "deleted": False, "data": resolved}], cursor="c2")
    assert _states(store)["conflict"] == [] and _states(store)["synced"] == ["Dũng"]

    _send_again = store.save(replace(dung, house_no="7"))
    assert _send_again.base_rev == 3
    _send(store, dung.id, ResultStatus.CONFLICT, rev=4)
    assert _states(store)["conflict"] == ["Dũng"]
    store.save(replace(dung, house_no="8"))  # edited again here: saved, not sent
    assert _states(store)["conflict"] == [] and _states(store)["pending"] == ["Dũng"]


@pytest.mark.parametrize("state", ["all", "draft", "pending", "synced", "rejected", "conflict"])
@pytest.mark.parametrize("only", ["all", "not_covered"])
def test_state_and_content_filters_combine(store, state, only):
    for n in range(1, 13):
        store.save(household(n, head=f"Hộ {n:02d}", house_no=str(13 - n)))
    for n in range(1, 13, 3):
        _send(store, f"00000000-0000-4000-8000-{n:012d}", [ResultStatus.APPLIED, ResultStatus.REJECTED,
                                                           ResultStatus.CONFLICT, ResultStatus.MERGED][n % 4], rev=n)  # fmt: skip
    for n in (2, 5):
        store.save_draft(f"00000000-0000-4000-8000-{n:012d}", "25216-03", "x", "", {})
    everything = store.browse(HAMLETS, limit=100)
    state_of = {
        "all": lambda r: True, "draft": lambda r: r.has_draft, "pending": lambda r: r.sync_state == "pending",
        "synced": lambda r: r.sync_state == "synced" and not r.in_conflict, "rejected": lambda r: r.sync_state == "rejected",
        "conflict": lambda r: r.in_conflict,
    }[state]  # fmt: skip
    content = {"all": lambda r: True, "not_covered": lambda r: r.visit_status == "surveyed" and not r.fully_covered}[only]
    expected = [r for r in everything if state_of(r) and content(r)]
    assert store.browse(HAMLETS, only=only, state=state, limit=100) == expected
