"""The server store's contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import copy
import json
import random
from dataclasses import replace
from datetime import date, timedelta

import pytest

from ntm_field.bench.households import generate
from ntm_field.domain.indicators import tally
from ntm_field.domain.records import Household
from ntm_field.domain.units import UnitsFileError
from ntm_field.server import errors
from ntm_field.server.changes import pull, push_change
from ntm_field.server.coverage import coverage_report
from ntm_field.server.store import COUNTER_COLUMNS, Device
from tests.server.conftest import ENGINES, HAMLETS_CSV

TODAY = date(2024, 4, 12)


def _surveyor(store, scope=("25216",)) -> Device:
    code = store.create_enrol_code(role="surveyor", scope=scope, uses=1, expires_in=timedelta(days=1), created_by="t")
    device, _ = store.enrol(code.code, "phone")
    return device


def _push(store, device, change):
    return push_change(store, device, copy.deepcopy(change), hamlets=store.tree("2024"), today=TODAY)


def _change(household: Household, change_id: str, base_rev=None, deleted=False):
    return {"change_id": change_id, "id": household.id, "base_rev": base_rev, "deleted": deleted,
            "data": None if deleted else household.to_document()}  # fmt: skip


def _households(n, seed=1):
    hamlets = ["25216-01", "25216-02", "25216-03"]
    return [replace(h, hamlet_code=hamlets[i % 3]) for i, h in enumerate(generate(n, seed=seed))]


@ENGINES
def test_migrations_apply_once(server_store):
    assert server_store.migrate() == []


@ENGINES
def test_units_load_by_structure_and_refuse_bad_files_whole(server_store):
    tree = server_store.tree("2024")
    levels = [str(u.level) for u in tree.units.values()]
    assert (levels.count("province"), levels.count("district"), levels.count("commune")) == (1, 11, 111)
    assert levels.count("hamlet") == 4
    assert len(server_store.tree("2025").units) == 41
    assert len(server_store.mapping()) == 111
    # 25195 names another unit in 2025: both structures hold it, each with its own name
    assert server_store.tree("2024").units["25195"].name != server_store.tree("2025").units["25195"].name
    bad = HAMLETS_CSV + "25216-09,Khu phố 9,hamlet,99999,\n"
    with pytest.raises(UnitsFileError) as refused:
        server_store.load_units(bad)
    assert refused.value.line == 6
    assert "25216-09" not in server_store.tree("2024").units
    server_store.load_units(HAMLETS_CSV)  # reloading the same file is harmless


@ENGINES
def test_enrolment_codes_are_used_up_and_expire(server_store):
    code = server_store.create_enrol_code(role="surveyor", scope=["25216-01"], uses=1,
                                          expires_in=timedelta(days=1), created_by="t")  # fmt: skip
    device, token = server_store.enrol(code.code, "phone")
    assert server_store.authenticate(token) == device
    with pytest.raises(errors.InvalidCode):
        server_store.enrol(code.code, "second phone")
    late = server_store.create_enrol_code(role="surveyor", scope=["25216-01"], uses=5,
                                          expires_in=timedelta(minutes=1), created_by="t")  # fmt: skip
    server_store.clock.now += timedelta(minutes=2)
    with pytest.raises(errors.InvalidCode):
        server_store.enrol(late.code, "phone")
    with pytest.raises(errors.InvalidCode):
        server_store.enrol("made-up", "phone")
    assert len(token) >= 43  # 256 random bits, url-safe


@ENGINES
def test_tokens_are_stored_hashed_and_revocation_is_final(server_store):
    code = server_store.create_enrol_code(role="leader", scope=["25216"], uses=1, expires_in=timedelta(days=1),
                                          created_by="t")  # fmt: skip
    device, token = server_store.enrol(code.code, "phone")
    with server_store.backend.transaction() as tx:
        stored = [row[0] for row in tx.all("SELECT token_hash FROM devices")]
        codes = [row[0] for row in tx.all("SELECT code_hash FROM enrol_codes")]
    assert token not in stored and code.code not in codes
    assert server_store.revoke(device.id)
    with pytest.raises(errors.DeviceRevoked):
        server_store.authenticate(token)
    with pytest.raises(errors.InvalidToken):
        server_store.authenticate("nope")
    assert not server_store.revoke("no-such-device")


@ENGINES
def test_push_applies_then_answers_duplicate_and_refuses_reuse(server_store):
    device = _surveyor(server_store)
    household = _households(1)[0]
    first = _push(server_store, device, _change(household, "c-1"))
    assert first["status"] == "applied" and first["rev"] >= 1
    again = _push(server_store, device, _change(household, "c-1"))
    assert (again["status"], again["rev"]) == ("duplicate", first["rev"])
    other = replace(household, head_name="Lê Văn Bình")
    reused = _push(server_store, device, _change(other, "c-1"))
    assert (reused["status"], reused["error"]["code"]) == ("rejected", "change_id_reused")
    assert pull(server_store, ["25216-01"], after=0, limit=10)["changes"][0]["data"] == household.to_document()


@ENGINES
def test_rejections_store_nothing(server_store):
    device = _surveyor(server_store, scope=("25216-01",))
    household = replace(_households(1)[0], hamlet_code="25216-01")
    forged = _change(household, "c-forged")
    forged["data"]["rev"] = 99
    outside = _change(replace(household, hamlet_code="25216-02"), "c-outside")
    unknown = _change(replace(household, hamlet_code="25216-77"), "c-unknown")
    wrong_id = _change(household, "c-wrong-id")
    wrong_id["id"] = "4b0f5a0e-8a4e-4f6e-9d61-2f0c7a1d9e55"
    results = [_push(server_store, device, c) for c in (forged, outside, unknown, wrong_id)]
    assert [(r["status"], r["error"]["code"]) for r in results] == [
        ("rejected", "invalid"), ("rejected", "forbidden_hamlet"), ("rejected", "unknown_hamlet"), ("rejected", "invalid"),
    ]  # fmt: skip
    assert results[0]["error"]["field"] == "data.rev"
    with server_store.backend.transaction() as tx:
        assert tx.one("SELECT count(*) FROM households")[0] == 0
        assert tx.one("SELECT count(*) FROM changes")[0] == 0
    # a rejected change is judged afresh when resent
    assert _push(server_store, device, _change(household, "c-forged"))["status"] == "applied"


@ENGINES
def test_concurrent_edits_merge_or_conflict_and_keep_every_value(server_store):
    a, b = _surveyor(server_store), _surveyor(server_store)
    base = _households(1)[0]
    rev = _push(server_store, a, _change(base, "c-0"))["rev"]
    by_a = replace(base, head_name="Trần Văn A")
    by_b = replace(base, house_no="99")
    assert _push(server_store, a, _change(by_a, "c-a", base_rev=rev))["status"] == "applied"
    merged = _push(server_store, b, _change(by_b, "c-b", base_rev=rev))
    assert merged["status"] == "merged"
    stored = pull(server_store, ["25216-01"], after=0, limit=10)["changes"][0]["data"]
    assert (stored["head_name"], stored["house_no"]) == ("Trần Văn A", "99")

    clash = _push(server_store, b, _change(replace(by_b, head_name="Phạm Văn B"), "c-b2", base_rev=rev))
    assert clash["status"] == "conflict"
    with server_store.backend.transaction() as tx:
        rows = tx.all("SELECT field, competing, status FROM conflicts")
    fields = {row[0] for row in rows}
    assert "head_name" in fields
    competing = json.loads(next(r[1] for r in rows if r[0] == "head_name"))
    assert {c["value"] for c in competing} == {"Trần Văn A", "Phạm Văn B"}
    assert pull(server_store, ["25216-01"], after=0, limit=10)["changes"][0]["data"]["head_name"] == "Phạm Văn B"


@ENGINES
def test_monotone_checks_take_the_more_covered_value(server_store):
    a, b = _surveyor(server_store), _surveyor(server_store)
    base = _households(1)[0]
    first = base.members[0]
    base = replace(base, members=(replace(first, cccd="no", reasons={}), *base.members[1:]))
    rev = _push(server_store, a, _change(base, "c-0"))["rev"]
    yes = replace(base, members=(replace(base.members[0], cccd="yes"), *base.members[1:]))
    unknown = replace(base, members=(replace(base.members[0], cccd="unknown"), *base.members[1:]))
    _push(server_store, a, _change(yes, "c-a", base_rev=rev))
    assert _push(server_store, b, _change(unknown, "c-b", base_rev=rev))["status"] == "merged"
    stored = pull(server_store, ["25216-01"], after=0, limit=1)["changes"][0]["data"]
    assert stored["members"][0]["cccd"] == "yes"


HOUSEHOLDS = COUNTER_COLUMNS.index("households")


@ENGINES
def test_deletions_leave_the_figures_and_reach_pull(server_store):
    device = _surveyor(server_store)
    household = _households(1)[0]
    rev = _push(server_store, device, _change(household, "c-0"))["rev"]
    assert server_store.counters(["25216-01"])["25216-01"][HOUSEHOLDS] == 1
    gone = _push(server_store, device, _change(household, "c-del", base_rev=rev, deleted=True))
    assert gone["status"] == "applied"
    assert server_store.counters(["25216-01"])["25216-01"][HOUSEHOLDS] == 0
    [change] = pull(server_store, ["25216-01"], after=rev, limit=10)["changes"]
    assert (change["deleted"], change["data"]) == (True, None)


@ENGINES
def test_a_deletion_concurrent_with_an_edit_is_a_conflict_and_the_household_stays(server_store):
    a, b = _surveyor(server_store), _surveyor(server_store)
    household = _households(1)[0]
    rev = _push(server_store, a, _change(household, "c-0"))["rev"]
    _push(server_store, a, _change(replace(household, note="sửa"), "c-edit", base_rev=rev))
    result = _push(server_store, b, _change(household, "c-del", base_rev=rev, deleted=True))
    assert result["status"] == "conflict"
    [change] = pull(server_store, ["25216-01"], after=result["rev"] - 1, limit=10)["changes"]
    assert change["deleted"] is False and change["data"]["note"] == "sửa"
    with server_store.backend.transaction() as tx:
        assert tx.one("SELECT field FROM conflicts")[0] == "deleted"


@ENGINES
def test_pull_pages_see_every_household_once_in_scope_only(server_store):
    device = _surveyor(server_store)
    batch = _households(12)
    for i, household in enumerate(batch):
        _push(server_store, device, _change(household, f"c-{i}"))
    seen, cursor_rev, pages = [], 0, 0
    from ntm_field.server.changes import decode_cursor

    while True:
        page = pull(server_store, ["25216-01", "25216-02"], after=cursor_rev, limit=3)
        seen += [c["id"] for c in page["changes"]]
        cursor_rev = decode_cursor(page["cursor"])
        pages += 1
        if not page["has_more"]:
            break
    expected = [h.id for h in batch if h.hamlet_code in ("25216-01", "25216-02")]
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
    assert pull(server_store, ["25216-01"], after=cursor_rev, limit=3)["changes"] == []


@ENGINES
def test_counters_always_equal_a_recompute_and_a_brute_force_count(server_store):
    rng = random.Random(5)
    device = _surveyor(server_store)
    batch = _households(60, seed=9)
    revs = {}
    for i, household in enumerate(batch):
        revs[household.id] = _push(server_store, device, _change(household, f"c-{i}"))["rev"]
    # edits, hamlet moves and deletions
    current = {h.id: h for h in batch}
    for step in range(40):
        household = current[rng.choice(list(current))]
        if step % 7 == 0:
            _push(server_store, device, _change(household, f"d-{step}", base_rev=revs[household.id], deleted=True))
            del current[household.id]
            continue
        edited = replace(household, hamlet_code=rng.choice(["25216-01", "25216-02", "25216-03"]),
                         members=household.members[: rng.randint(1, len(household.members))])  # fmt: skip
        revs[household.id] = _push(server_store, device, _change(edited, f"e-{step}", base_rev=revs[household.id]))["rev"]
        current[household.id] = edited
    hamlets = ["25216-01", "25216-02", "25216-03"]
    live = server_store.counters(hamlets)
    server_store.recompute()
    assert server_store.counters(hamlets) == live
    for hamlet in hamlets:
        expected = tally(h for h in current.values() if h.hamlet_code == hamlet)
        live_named = dict(zip(COUNTER_COLUMNS, live[hamlet]))
        assert live_named["households"] == expected.households
        assert live_named["fully_covered"] == expected.fully_covered
        assert live_named["sim_covered"] == expected.sim.covered
        assert live_named["vneid_level1"] == expected.vneid.level1
    report = coverage_report(server_store, device, unit="25216", structure=None)
    total = tally(current.values())
    assert report["indicators"]["cccd"]["eligible"] == total.cccd.eligible
    assert report["households"]["expected"] is None  # 25216-03 has no target
    assert [c["unit"]["code"] for c in report["children"]] == hamlets


@ENGINES
def test_two_valid_edits_that_merge_into_an_invalid_household_become_a_conflict(server_store):
    a, b = _surveyor(server_store), _surveyor(server_store)
    household = _households(1)[0]
    two = replace(household, members=household.members[:2]) if len(household.members) >= 2 else None
    if two is None:
        from ntm_field.domain.records import Member

        two = replace(household, members=(household.members[0], Member(id="m9", full_name="Lê Thị Hoa", birth_year=1990)))
    rev = _push(server_store, a, _change(two, "c-0"))["rev"]
    _push(server_store, a, _change(replace(two, members=two.members[:1]), "c-a", base_rev=rev))
    result = _push(server_store, b, _change(replace(two, members=two.members[1:]), "c-b", base_rev=rev))
    assert result["status"] == "conflict"
    stored = pull(server_store, ["25216-01"], after=0, limit=10)["changes"][0]["data"]
    assert [m["id"] for m in stored["members"]] == [two.members[1].id]  # the pushed version, valid
    with server_store.backend.transaction() as tx:
        field, competing = tx.one("SELECT field, competing FROM conflicts")
    assert field == "members"
    assert [[m["id"] for m in v["value"]] for v in json.loads(competing)] == [[two.members[0].id], [two.members[1].id]]


@ENGINES
def test_the_audit_log_is_append_only(server_store):
    from ntm_field.server.db import DatabaseError

    server_store.audit("tester", "export", "25216", {"format": "csv"})
    for statement in ("UPDATE audit SET actor = 'someone else'", "DELETE FROM audit"):
        with pytest.raises(DatabaseError):
            with server_store.backend.transaction() as tx:
                tx.execute(statement)
    assert [e[3] for e in server_store.audit_entries()][-1] == "export"
