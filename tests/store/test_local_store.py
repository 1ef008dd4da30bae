"""The local store on a real SQLite file: save, list, search, outbox, results."""

from __future__ import annotations

import random
import sqlite3
import threading
from dataclasses import replace
from datetime import date

import pytest
from sqlite_utils import Database

from ntm_field.bench.households import generate
from ntm_field.domain.codes import Check, Presence, VisitStatus
from ntm_field.domain.indicators import tally
from ntm_field.domain.outbox import ChangeResult, ChangeState, ResultStatus
from ntm_field.domain.records import Consent, FollowUp, Household, Member
from ntm_field.domain.validation import ValidationError
from ntm_field.store import LocalStore
from ntm_field.store.migrations import MIGRATIONS
from ntm_field.store.rows import household_row


def household(n: int = 1, *, head: str = "Nguyễn Văn Đức", hamlet: str = "25216-03", **changes) -> Household:
    members = (
        Member(id="a1", full_name=head, birth_year=1968, cccd="yes", vneid="level2", smartphone="yes", sim="signature"),
        Member(id="a2", full_name="Trần Thị Hồng", birth_year=1972, cccd="yes", vneid="level1", smartphone="no",
               sim="owner", reasons={"vneid": "DATA_MISMATCH"}),
        Member(id="a3", full_name="Nguyễn Minh Khoa", birth_year=2015),
    )  # fmt: skip
    base = Household(
        id=f"00000000-0000-4000-8000-{n:012d}",
        hamlet_code=hamlet,
        head_name=head,
        visit_status=VisitStatus.SURVEYED,
        surveyed_on=date(2024, 4, 12),
        house_no=str(n),
        consent=Consent(given=True, notice_version="2024-04"),
        members=members,
    )
    return replace(base, **changes)


def test_save_returns_the_stored_household_stamped_with_the_device_time(store, clock):
    saved = store.save(household())
    assert saved.household.updated_at == clock.now
    assert store.get(saved.household.id) == saved.household
    assert saved.base_rev is None


def test_a_save_writes_household_members_and_one_outbox_entry(store):
    saved = store.save(household())
    counts = store.counts()
    assert (counts["households"], counts["members"], counts["outbox_pending"]) == (1, 3, 1)
    [change] = store.pending_changes()
    assert change.change_id == saved.change_id
    assert change.document == saved.household.to_document()
    assert change.to_wire() == {
        "change_id": saved.change_id, "id": saved.household.id, "base_rev": None, "deleted": False,
        "data": saved.household.to_document(),
    }  # fmt: skip


def test_editing_before_sending_replaces_the_unsent_change(store):
    first = store.save(household())
    fewer = replace(first.household, members=first.household.members[:1])
    second = store.save(fewer)
    assert store.counts()["members"] == 1
    # one change goes out, carrying both edits; the first is kept as superseded
    assert [c.change_id for c in store.pending_changes()] == [second.change_id]
    assert store.counts()["outbox_superseded"] == 1
    assert store.outgoing(10)[0].document["members"] == [m.to_document() for m in fewer.members]


def test_pending_changes_come_oldest_first(store):
    ids = [store.save(household(n)).change_id for n in (5, 2, 9, 1)]
    assert [c.change_id for c in store.pending_changes()] == ids
    assert [c.change_id for c in store.pending_changes(limit=2)] == ids[:2]


def test_listing_a_hamlet_gives_the_four_check_summary(store):
    store.save(household(1))
    store.save(household(2, hamlet="25216-04"))
    [row] = store.list_households("25216-03")
    # adults: a1 covered on all four; a2 cccd only. a3 (9 years old) is eligible for nothing.
    assert row.covered == {Check.CCCD: (2, 2), Check.VNEID: (1, 2), Check.SMARTPHONE: (1, 2), Check.SIM: (1, 2)}
    assert row.fully_covered is False
    assert row.members == 3
    assert row.label_code == "25216-03/000000"
    assert row.sync_state == ChangeState.PENDING


def test_fully_covered_household_is_flagged(store):
    covered = Member(id="b1", full_name="Lê Văn Bình", birth_year=1980, cccd="yes", vneid="level2",
                     smartphone="yes", sim="signature")  # fmt: skip
    store.save(household(3, members=(covered,), head="Lê Văn Bình"))
    [row] = store.list_households("25216-03")
    assert row.fully_covered is True


@pytest.mark.parametrize("query", ["nguyen van duc", "DUC", "Nguyễn Văn Đức", "đức", "van  duc", "NGUYEN"])
def test_search_ignores_diacritics_case_and_d(store, query):
    store.save(household(1))
    store.save(household(2, head="Phạm Thị Lan", members=()  , visit_status=VisitStatus.ABSENT))
    found = store.search(query)
    assert [h.head_name for h in found] == ["Nguyễn Văn Đức"]


def test_search_finds_members_house_numbers_and_label_codes(store):
    store.save(household(1))
    store.save(household(77, head="Phạm Thị Lan", members=(), visit_status=VisitStatus.ABSENT))
    assert [h.house_no for h in store.search("minh khoa")] == ["1"]  # a member, not the head
    assert [h.house_no for h in store.search("77")] == ["77"]  # short term: LIKE path
    assert [h.house_no for h in store.search("25216-03/000000000077"[:15])] == ["1", "77"]
    assert store.search("lan 77")[0].head_name == "Phạm Thị Lan"
    assert store.search("nobody") == []
    assert store.search("   ") == []


def test_search_can_be_limited_to_hamlets_and_quotes_are_harmless(store):
    store.save(household(1))
    store.save(household(2, hamlet="25216-04"))
    assert {h.hamlet_code for h in store.search("duc")} == {"25216-03", "25216-04"}
    assert [h.hamlet_code for h in store.search("duc", hamlet_codes=["25216-04"])] == ["25216-04"]
    assert store.search('duc" OR "x') == []
    assert store.search("50%_") == []


def test_search_follows_an_edit(store):
    saved = store.save(household(1))
    store.save(replace(saved.household, head_name="Hoàng Minh Tuấn", members=saved.household.members[1:]))
    assert store.search("nguyen van duc") == []
    assert [h.head_name for h in store.search("tuan")] == ["Hoàng Minh Tuấn"]


def test_results_mark_changes_synced_with_the_server_revision(store):
    first = store.save(household(1))
    second = store.save(household(2))
    store.record_results([
        ChangeResult(first.change_id, ResultStatus.APPLIED, rev=4),
        ChangeResult(second.change_id, ResultStatus.DUPLICATE, rev=2),
    ])  # fmt: skip
    assert store.pending_changes() == []
    assert {h.sync_state for h in store.list_households("25216-03")} == {ChangeState.SYNCED}
    # the next edit is based on the revision the server gave
    assert store.save(first.household).base_rev == 4


def test_recording_the_same_results_twice_changes_nothing(store):
    saved = store.save(household(1))
    result = [ChangeResult(saved.change_id, ResultStatus.APPLIED, rev=3)]
    store.record_results(result)
    store.record_results([ChangeResult(saved.change_id, ResultStatus.REJECTED, error_code="invalid")])
    assert store.needs_fix() == []
    assert store.counts()["outbox_synced"] == 1


def test_a_rejected_change_waits_in_needs_fix_until_the_household_is_edited(store):
    bad = store.save(household(1))
    good = store.save(household(2))
    store.record_results([
        ChangeResult(bad.change_id, ResultStatus.REJECTED, error_code="invalid", error_field="members[1].vneid",
                     error_message="members[1].vneid: is not one of: level2, level1, no, unknown"),
        ChangeResult(good.change_id, ResultStatus.APPLIED, rev=1),
    ])  # fmt: skip
    [fix] = store.needs_fix()
    assert (fix.household_id, fix.error_field) == (bad.household.id, "members[1].vneid")
    assert store.pending_changes() == []  # out of the queue: it does not block the others
    rows = {h.id: h.sync_state for h in store.list_households("25216-03")}
    assert rows == {bad.household.id: ChangeState.REJECTED, good.household.id: ChangeState.SYNCED}
    assert store.get(bad.household.id) == bad.household  # the data stays on the device

    fixed = store.save(bad.household)
    assert store.needs_fix() == []
    assert [c.change_id for c in store.pending_changes()] == [fixed.change_id]


def test_a_store_works_from_many_threads(store):
    errors = []

    def work(offset: int) -> None:
        try:
            for n in range(offset, offset + 20):
                store.save(household(n))
                store.search("duc")
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i * 100,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.counts()["households"] == 80


def test_reopening_a_store_keeps_everything_and_applies_no_migration_twice(tmp_path, clock, new_id):
    first = LocalStore.open(tmp_path / "s.db", clock=clock, new_id=new_id)
    saved = first.save(household(1))
    first.close()
    again = LocalStore.open(tmp_path / "s.db", clock=clock, new_id=new_id)
    assert again.get(saved.household.id) == saved.household
    conn = sqlite3.connect(tmp_path / "s.db")
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")]
    assert names == sorted(set(names)) and len(names) >= 1
    conn.close()
    again.close()


def test_an_invalid_household_object_is_refused_and_nothing_is_stored(store):
    with pytest.raises(ValidationError) as refused:
        store.save(household(1, members=(Member(id="x", full_name="", birth_year=1800),)))
    assert [p.field for p in refused.value.problems] == ["members[0].full_name", "members[0].birth_year"]
    assert store.counts()["households"] == 0


def test_save_many_is_all_or_nothing(store):
    broken = household(3, head_name="")
    with pytest.raises(ValidationError):
        store.save_many([household(1), household(2), broken])
    assert store.counts()["households"] == 0
    assert store.save_many([household(1), household(2)]) == 2


def test_follow_up_and_presence_are_kept(store):
    h = household(4, follow_up=FollowUp(due=date(2024, 5, 2), note="quay lại buổi tối"))
    h = replace(h, members=(replace(h.members[0], presence=Presence.AWAY),))
    store.save(h)
    [row] = store.list_households("25216-03")
    assert row.follow_up_due == "2024-05-02"
    assert store.get(h.id).members[0].presence is Presence.AWAY


def test_units_load_into_the_store_all_or_nothing(store):
    good = "code,name,level,parent_code,expected_households\n70,Tỉnh Bình Phước,province,,\n"
    store.load_units(good)
    assert set(store.units()) == {"70"}
    from ntm_field.domain.units import UnitsFileError

    bad = good + "688,Thị xã Phước Long,district,70,\n25216,Phường Thác Mơ,commune,999,\n"
    with pytest.raises(UnitsFileError):
        store.load_units(bad)
    assert set(store.units()) == {"70"}


def test_search_puts_the_name_typed_in_order_first_and_respects_the_limit(store):
    scattered = household(1, head="Trần Văn Đức", members=(
        Member(id="c1", full_name="Trần Văn Đức", birth_year=1970),
        Member(id="c2", full_name="Nguyễn Thị Lan", birth_year=1975),
    ))  # fmt: skip
    store.save(scattered)
    store.save(household(2, hamlet="25216-04"))  # Nguyễn Văn Đức, in a later hamlet
    found = store.search("nguyen van duc")
    assert [h.head_name for h in found] == ["Nguyễn Văn Đức", "Trần Văn Đức"]
    assert len(store.search("nguyen van duc", limit=1)) == 1
    for n in range(3, 13):
        store.save(household(n))
    assert len(store.search("duc", limit=5)) == 5
    assert len(store.search("duc")) == 12


def test_saves_reach_the_database_file_by_background_checkpoints(store, tmp_path):
    """The WAL is folded into the main file while the store stays open, without a save paying for it."""
    import shutil
    import time

    for n in range(30):
        store.save(household(n))
    deadline = time.monotonic() + 10
    copied = 0
    while time.monotonic() < deadline:
        snapshot = tmp_path / "snapshot.db"
        shutil.copy(store.path, snapshot)  # the main file alone, without its WAL
        conn = sqlite3.connect(snapshot)
        try:
            copied = conn.execute("SELECT count(*) FROM households").fetchone()[0]
        except sqlite3.DatabaseError:
            copied = 0
        finally:
            conn.close()
        snapshot.unlink()
        if copied == 30:
            break
        time.sleep(0.2)
    assert copied == 30


def _varied(count: int, seed: int) -> list[Household]:
    rng = random.Random(seed)
    out = []
    for h in generate(count, seed=seed, hamlets=2, commune="25216"):
        members = tuple(replace(m, presence=rng.choice(list(Presence))) for m in h.members)
        out.append(replace(h, members=members, visit_status=rng.choice([VisitStatus.SURVEYED] * 4 + list(VisitStatus))))
    return out


def test_hamlet_figures_are_the_domains_tally_of_its_households(store):
    store.save_many(_varied(300, seed=5))
    for hamlet in ("25216-01", "25216-02"):
        visits, figures = store.hamlet_figures(hamlet)
        households = store.households(hamlet)
        assert figures == tally(households) and figures.surveyed > 0 and figures.vneid.level1 > 0
        assert visits == {s: sum(str(h.visit_status) == s for h in households) for s in visits}


def test_the_quality_counts_migration_fills_in_households_saved_before_it(tmp_path, clock, new_id):
    path = tmp_path / "old.db"
    db = Database(path)
    MIGRATIONS.apply(db, stop_before="m0004_quality_counts")
    db.close()
    # A store of the previous version: its rows have no unknown/level-1 columns yet.
    old = sqlite3.connect(path)
    households = _varied(50, seed=9)
    for h in households:
        row = {k: v for k, v in household_row(h, rev=None, base_document=None, sync_state="synced", now="2024-04-12")
               .items() if not k.endswith("_unknown") and k not in ("vneid_level1", "house_sort")}  # fmt: skip
        old.execute(f"INSERT INTO households ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    old.commit()
    old.close()

    reopened = LocalStore.open(path, clock=clock, new_id=new_id)
    try:
        for hamlet in ("25216-01", "25216-02"):
            _, figures = reopened.hamlet_figures(hamlet)
            assert figures == tally(h for h in households if h.hamlet_code == hamlet)
    finally:
        reopened.close()


@pytest.mark.parametrize("only", ["all", "not_visited", "follow_up", "not_covered", "needs_fix"])
def test_browse_filters_and_cuts_in_sql_what_a_scan_of_every_row_keeps(store, only):
    households = _varied(240, seed=11)
    households = [replace(h, follow_up=FollowUp(date(2024, 5, 2), "")) if i % 5 == 0 else h for i, h in enumerate(households)]
    store.save_many(households)
    rejected = households[3]
    [change] = [c for c in store.pending_changes() if c.household_id == rejected.id]
    store.record_results([ChangeResult(change.change_id, ResultStatus.REJECTED, None, "invalid", "house_no", "x")])
    keep = {
        "all": lambda r: True,
        "not_visited": lambda r: r.visit_status != "surveyed",
        "follow_up": lambda r: r.follow_up_due is not None,
        "not_covered": lambda r: r.visit_status == "surveyed" and not r.fully_covered,
        "needs_fix": lambda r: r.sync_state == ChangeState.REJECTED,
    }[only]
    scanned = [r for code in ("25216-01", "25216-02") for r in store.list_households(code) if keep(r)]
    assert store.browse(["25216-01", "25216-02"], only=only, limit=1000) == scanned and scanned
    assert store.browse(["25216-01", "25216-02"], only=only, limit=3) == scanned[:3]
