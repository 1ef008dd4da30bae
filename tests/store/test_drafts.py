"""Drafts in the local store: kept, listed newest first, replaced, discarded, deleted by a save of their
household, never in the outbox, gone with a wipe, and durable once `save_draft` returns (SIGKILL)."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ntm_field.domain.device import Enrolment
from ntm_field.domain.validation import ValidationError
from ntm_field.store import DraftSummary, LocalStore
from tests.conftest import ICT
from tests.store.kill_loop import run_and_kill
from tests.store.test_local_store import household

ROOT = Path(__file__).resolve().parents[2]
NEW_ID = "00000000-0000-4000-8000-00000000beef"


def payload(**extra) -> dict:
    """A form's state as the form model might give it: the store keeps it as it is."""
    return {"head_name": "Nguyễn Văn Đức", "members": [{"full_name": "Nguyễn Văn Đức", "birth_year": "19"}], **extra}


def test_a_draft_is_kept_as_given_and_listed(store, clock):
    store.save_draft(NEW_ID, "25216-03", "Nguyễn Văn Đức", "12A", payload(nested={"a": [1, None, True]}))
    assert store.draft(NEW_ID) == payload(nested={"a": [1, None, True]})
    assert store.drafts() == [
        DraftSummary(household_id=NEW_ID, hamlet_code="25216-03", head_name="Nguyễn Văn Đức", house_no="12A",
                     updated_at=clock.now, is_new=True)
    ]  # fmt: skip
    assert store.draft("00000000-0000-4000-8000-000000000001") is None


def test_saving_a_draft_again_replaces_it(store, clock):
    store.save_draft(NEW_ID, "25216-03", "", "", payload())
    clock.advance(minutes=3)
    store.save_draft(NEW_ID, "25216-03", "Trần Thị Hồng", "7", payload(head_name="Trần Thị Hồng"))
    [summary] = store.drafts()
    assert (summary.head_name, summary.house_no, summary.updated_at) == ("Trần Thị Hồng", "7", clock.now)
    assert store.draft(NEW_ID)["head_name"] == "Trần Thị Hồng"


def test_drafts_come_newest_first_and_say_whether_the_household_was_ever_saved(store, clock):
    saved = store.save(household(1)).household
    store.save_draft(saved.id, saved.hamlet_code, saved.head_name, saved.house_no, payload())
    clock.advance(minutes=1)
    store.save_draft(NEW_ID, "25216-01", "", "", payload())
    clock.advance(minutes=1)
    store.save_draft(saved.id, saved.hamlet_code, saved.head_name, saved.house_no, payload(note="later"))
    assert [(d.household_id, d.is_new) for d in store.drafts()] == [(saved.id, False), (NEW_ID, True)]


def test_discarding_a_draft_keeps_the_saved_household(store):
    saved = store.save(household(1)).household
    store.save_draft(saved.id, saved.hamlet_code, saved.head_name, saved.house_no, payload())
    store.discard_draft(saved.id)
    store.discard_draft(saved.id)  # twice: nothing to do
    assert store.drafts() == [] and store.draft(saved.id) is None
    assert store.get(saved.id) == saved


def test_saving_the_household_deletes_its_draft_and_only_its_own(store):
    first, second = household(1), household(2)
    for h in (first, second):
        store.save_draft(h.id, h.hamlet_code, h.head_name, h.house_no, payload())
    store.save(first)
    assert [d.household_id for d in store.drafts()] == [second.id]
    store.save_document(second.to_document())
    assert store.drafts() == []


def test_a_save_that_fails_keeps_the_draft(store):
    bad = household(1, head_name="")
    store.save_draft(bad.id, bad.hamlet_code, "", bad.house_no, payload())
    with pytest.raises(ValidationError):
        store.save(bad)
    assert store.draft(bad.id) == payload()


def test_a_save_of_many_deletes_their_drafts(store):
    batch = [household(n) for n in (1, 2)]
    for h in batch:
        store.save_draft(h.id, h.hamlet_code, h.head_name, h.house_no, payload())
    store.save_many(batch)
    assert store.drafts() == []


def test_a_draft_never_enters_the_outbox(store):
    store.save_draft(NEW_ID, "25216-03", "Nguyễn Văn Đức", "1", payload())
    saved = store.save(household(1))
    store.save_draft(saved.household.id, "25216-03", "Nguyễn Văn Đức", "1", payload())
    assert [c.change_id for c in store.outgoing(100)] == [saved.change_id]  # the save's change only
    assert store.pending_count() == 1 and store.counts()["households"] == 1


def test_a_store_with_only_drafts_has_nothing_outgoing(store):
    for n in range(5):
        store.save_draft(str(uuid.UUID(int=n + 100)), "25216-03", f"Hộ {n}", str(n), payload())
    assert store.outgoing(100) == [] and store.pending_changes() == [] and store.pending_count() == 0
    assert store.counts()["households"] == 0


def test_a_wipe_deletes_the_drafts(store):
    store.save_draft(NEW_ID, "25216-03", "Nguyễn Văn Đức", "1", payload())
    store.wipe()
    assert store.drafts() == [] and store.draft(NEW_ID) is None


def test_enrolling_elsewhere_deletes_the_drafts(store):
    granted = Enrolment(server="https://a.example.vn", device_id="d1", token="t", role="surveyor",
                        scope=("25216",), enrolled_at=datetime(2024, 4, 1, tzinfo=ICT))  # fmt: skip
    store.enrol(granted, [])
    store.save_draft(NEW_ID, "25216-03", "Nguyễn Văn Đức", "1", payload())
    store.enrol(replace(granted, scope=("25217",)), [])
    assert store.drafts() == []


def test_a_payload_must_be_a_dict(store):
    with pytest.raises(TypeError):
        store.save_draft(NEW_ID, "25216-03", "", "", ["not", "a", "dict"])  # type: ignore[arg-type]
    assert store.drafts() == []


def test_a_draft_survives_reopening(tmp_path, clock, new_id):
    path = tmp_path / "store.db"
    first = LocalStore.open(path, clock=clock, new_id=new_id)
    first.save_draft(NEW_ID, "25216-03", "Nguyễn Văn Đức", "1", payload())
    first.close()
    again = LocalStore.open(path, clock=clock, new_id=new_id)
    try:
        assert again.draft(NEW_ID) == payload()
    finally:
        again.close()


# ----- durability ---------------------------------------------------------------------------


def _run_and_kill(store_path: Path, seed: int, rng: random.Random) -> list[tuple[str, int]]:
    lines = run_and_kill("tests.store.draft_loop", store_path, seed, rng, within=0.2)
    return [(household_id, int(step)) for household_id, step in lines]


@pytest.mark.slow
def test_every_draft_confirmed_before_sigkill_is_there_after_restart(tmp_path, long_mode):
    """The form keeps its draft on every change: each `save_draft` that returned must be found, with its
    payload, in the store reopened after the process was killed (the last confirmed version or a later one)."""
    rng = random.Random(20250102)
    store_path = tmp_path / "device" / "store.db"
    latest: dict[str, int] = {}
    for kill in range(100 if long_mode else 12):
        for household_id, step in _run_and_kill(store_path, seed=kill, rng=rng):
            latest[household_id] = step
        store = LocalStore.open(store_path, clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
        try:
            for household_id, step in latest.items():
                kept = store.draft(household_id)
                assert kept is not None, household_id
                assert kept["step"] >= step and kept["members"] == [{"birth_year": str(kept["step"])}]
            assert store.outgoing(1000) == []
        finally:
            store.close()
    assert len(latest) > 12  # the children did write drafts before being killed
