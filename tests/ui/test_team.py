"""The leader's screens' view-model against a real server: figures computed on the phone equal the
server's and a brute-force count; the conflict inbox resolves through the API; a new member's QR enrols."""

from __future__ import annotations

import io
import json
import random
from dataclasses import replace
from datetime import datetime

import zxingcpp
from PIL import Image

from ntm_field.bench.households import generate
from ntm_field.domain.codes import Check, Presence, VisitStatus
from ntm_field.store import LocalStore
from ntm_field.sync.enrol import enrol_device
from ntm_field.sync.leader import LeaderClient
from ntm_field.sync.transport import Transport
from ntm_field.ui.i18n import I18n, field_name
from ntm_field.ui.models.team import TeamModel
from tests.conftest import ICT, FakeClock
from tests.sync.conftest import database_url, make_device, server, server_rows  # noqa: F401  (fixtures)

HAMLETS = ("25216-01", "25216-02", "25216-03")
MIN_AGE = {"cccd": 14, "vneid": 14, "smartphone": 15, "sim": 18}
COVERED = {"cccd": "yes", "vneid": "level2", "smartphone": "yes", "sim": "signature"}


def varied_households(count: int, seed: int):
    """Generated households with every visit status and members who moved out or died."""
    rng = random.Random(seed)
    for household in generate(count, seed=seed, hamlets=3, commune="25216"):
        members = tuple(
            replace(m, presence=rng.choice([Presence.RESIDENT] * 6 + [Presence.AWAY, Presence.MOVED_OUT, Presence.DECEASED]))
            for m in household.members
        )
        status = rng.choice([VisitStatus.SURVEYED] * 7 + [VisitStatus.ABSENT, VisitStatus.REFUSED, VisitStatus.VACANT])
        yield replace(household, members=members, visit_status=status)


def brute_force(documents: list[dict]) -> dict:
    """PRODUCT.md's definitions, counted the long way over the documents."""
    out = {"surveyed": 0, "fully": 0, **{c: [0, 0, 0] for c in MIN_AGE}, "level1": 0}
    for doc in documents:
        if doc["visit_status"] != "surveyed":
            continue
        out["surveyed"] += 1
        year = int(doc["surveyed_on"][:4])
        eligible_any, all_covered = False, True
        for m in doc["members"]:
            if m["presence"] in ("moved_out", "deceased"):
                continue
            for check, age in MIN_AGE.items():
                if year - m["birth_year"] < age:
                    continue
                eligible_any = True
                out[check][1] += 1
                if m[check] == COVERED[check]:
                    out[check][0] += 1
                else:
                    all_covered = False
                if m[check] == "unknown":
                    out[check][2] += 1
                if check == "vneid" and m[check] == "level1":
                    out["level1"] += 1
        out["fully"] += int(eligible_any and all_covered)
    return out


def team_model(device, sync_now=lambda: None) -> TeamModel:
    return TeamModel(device.store, I18n("vi"), client=LeaderClient(device.store, connect=device.connect),
                     clock=device.clock, sync_now=sync_now)  # fmt: skip


def test_the_leaders_hamlet_figures_equal_the_servers_and_a_brute_force_count(server, make_device):
    surveyor = make_device(server, scope="25216")
    surveyor.store.save_many(varied_households(240, seed=7))
    assert surveyor.sync().ok
    leader = make_device(server, scope="25216", role="leader")
    assert leader.sync().ok

    model = team_model(leader)
    assert model.is_leader
    model.refresh()
    assert [h.code for h in model.hamlets] == list(HAMLETS)
    with Transport(server.url, leader.store.enrolment().token) as api:
        for figures in model.hamlets:
            served = api.coverage(figures.code)
            documents = [h.to_document() for h in surveyor.store.households(figures.code)]
            brute = brute_force(documents)
            assert figures.surveyed == served["households"]["surveyed"] == brute["surveyed"] > 0
            assert figures.tally.fully_covered == served["fully_covered_households"] == brute["fully"]
            for status in ("absent", "refused", "moved", "vacant"):
                assert figures.visits[status] == served["households"][status]
            assert figures.expected == served["households"]["expected"]
            for check in MIN_AGE:
                mine = figures.tally.figure(Check(check))
                theirs = served["indicators"][check]
                assert (mine.covered, mine.eligible, mine.unknown) == (theirs["covered"], theirs["eligible"], theirs["unknown"])
                assert [mine.covered, mine.eligible, mine.unknown] == brute[check]
            assert figures.tally.vneid.level1 == served["indicators"]["vneid"]["level1"] == brute["level1"]
    # Progress per team member: every surveyed household came from the surveyor's phone.
    assert [(p.surveyor, p.surveyed) for p in model.surveyors] == [("phone 1", sum(h.surveyed for h in model.hamlets))]


def test_the_leader_resolves_a_conflict_and_the_server_records_the_resolution(server, make_device):
    first = make_device(server, scope="25216")
    household = next(generate(1, seed=3, hamlets=1, commune="25216"))
    first.store.save(household)
    assert first.sync().ok
    second = make_device(server, scope="25216")
    assert second.sync().ok
    first.store.save(replace(household, house_no="12A"))
    second.store.save(replace(second.store.get(household.id), house_no="12B"))
    assert first.sync().ok and second.sync().counts()["conflicts"] == 1

    leader = make_device(server, scope="25216", role="leader")
    assert leader.sync().ok
    synced = []
    model = team_model(leader, sync_now=lambda: synced.append(leader.sync()))
    model.load_conflicts()
    [row] = model.conflicts
    assert row.field == "Số nhà" and household.head_name in row.household
    assert sorted(option.text for option in row.options) == ["12A", "12B"]
    choice = next(i for i, option in enumerate(row.options) if option.text == "12A")
    model.resolve(row.id, choice)

    assert model.conflicts == [] and "12A" not in (model.message or "") and model.message
    assert server_rows(server, "SELECT status FROM conflicts WHERE id = ?", [row.id]) == [("resolved",)]
    # The server's history of the household ends with the leader's resolution, by the leader's device.
    [(status, device_id, document)] = server_rows(
        server, "SELECT status, device_id, document FROM revisions WHERE household_id = ? ORDER BY rev DESC LIMIT 1",
        [household.id],
    )
    assert (status, device_id) == ("resolved", leader.store.enrolment().device_id) and '"house_no":"12A"' in document
    assert synced and synced[0].ok
    assert leader.store.get(household.id).house_no == "12A"
    # Resolving it again is refused by the server and said in words, not a crash.
    model.conflicts = [row]
    model.resolve(row.id, choice)
    assert model.message == I18n("vi").t("team.not_open")


def test_a_new_members_qr_holds_an_enrolment_link_that_enrols(server, make_device, tmp_path):
    leader = make_device(server, scope="25216", role="leader")
    model = team_model(leader)
    model.refresh()
    model.new_invite("25216-02")
    assert model.invite is not None and model.invite.scope == ("25216-02",)
    assert model.invite_expires() == datetime.fromisoformat(model.invite.expires).astimezone(ICT).strftime("%d/%m/%Y")
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(model.invite_png)))
    assert decoded.text == model.invite.link and model.invite.code in decoded.text

    # The link alone enrols a fresh phone (what scanning the QR in the enrol screen does).
    fresh = LocalStore.open(tmp_path / "new" / "ntm-field.db", clock=FakeClock(), new_id=lambda: "x")
    try:
        granted = enrol_device(fresh, decoded.text, clock=FakeClock(), connect=leader.connect)
        assert (granted.role, granted.scope) == ("surveyor", ("25216-02",))
    finally:
        fresh.close()


def test_a_surveyor_cannot_open_the_leader_screens_and_an_offline_leader_is_told_so(server, make_device):
    surveyor = make_device(server, scope="25216")
    assert not team_model(surveyor).is_leader
    leader = make_device(server, scope="25216", role="leader")
    leader.url = "http://127.0.0.1:9"  # nothing listens there
    model = team_model(leader)
    model.load_conflicts()
    assert model.message == I18n("vi").t("team.offline") and not model.conflicts_loaded


def crossed_house_numbers(server, make_device):
    """phone 1 writes 12A and phone 2 writes 12B on the same household: one open conflict."""
    first, second = make_device(server, scope="25216"), make_device(server, scope="25216")
    household = next(generate(1, seed=3, hamlets=1, commune="25216"))
    first.store.save(household)
    assert first.sync().ok and second.sync().ok
    first.store.save(replace(household, house_no="12A"))
    second.store.save(replace(second.store.get(household.id), house_no="12B"))
    assert first.sync().ok and second.sync().counts()["conflicts"] == 1
    return household


def test_each_competing_value_says_which_device_sent_it_when_and_from_which_revision(server, make_device):
    crossed_house_numbers(server, make_device)
    leader = make_device(server, scope="25216", role="leader")
    model = team_model(leader)
    model.load_conflicts()
    [row] = model.conflicts
    [(competing,)] = server_rows(server, "SELECT competing FROM conflicts")
    names = dict(server_rows(server, "SELECT id, name FROM devices"))
    stored = json.loads(competing)
    assert [(o.text, o.device, o.rev) for o in row.options] == [(v["value"], names[v["device_id"]], v["rev"]) for v in stored]
    assert [o.device for o in row.options] == ["phone 1", "phone 2"] and row.options[0].rev < row.options[1].rev
    for option, value in zip(row.options, stored):
        arrived = datetime.fromisoformat(value["received_at"]).astimezone(ICT)  # the leader's phone is at +07:00
        assert option.when == arrived.strftime("%d/%m/%Y %H:%M")
        assert option.source(I18n("vi")) == f"{option.device} · {option.when} · bản {option.rev}"


def test_choosing_a_value_asks_first_naming_the_value_kept_and_only_confirming_resolves(server, make_device):
    household = crossed_house_numbers(server, make_device)
    leader = make_device(server, scope="25216", role="leader")
    assert leader.sync().ok  # the leader's phone holds the household: the question names its head
    model = team_model(leader)
    model.load_conflicts()
    [row] = model.conflicts
    keep = next(i for i, o in enumerate(row.options) if o.text == "12B")

    choice = model.choose(row.id, keep)
    assert model.choice == choice and choice.confirm == "Giữ: 12B"
    assert "Giữ: 12B" in choice.body and "Bị thay: 12A" in choice.body and "phone 2" in choice.body
    assert household.head_name in choice.body and "Số nhà" in choice.body
    assert server_rows(server, "SELECT status FROM conflicts") == [("open",)]  # nothing sent yet
    model.cancel_choice()
    assert model.choice is None and server_rows(server, "SELECT status FROM conflicts") == [("open",)]
    model.confirm_choice()  # nothing picked: nothing happens
    assert server_rows(server, "SELECT status FROM conflicts") == [("open",)]

    assert model.choose(row.id, 7) is None and model.choose("no-such-conflict", 0) is None
    model.choose(row.id, keep)
    model.confirm_choice()
    assert model.choice is None and model.conflicts == []
    assert server_rows(server, "SELECT status FROM conflicts") == [("resolved",)]
    [(document,)] = server_rows(server, "SELECT document FROM households WHERE id = ?", [household.id])
    assert json.loads(document)["house_no"] == "12B"


def test_a_check_is_named_in_words_in_the_question(server, make_device):
    first, second = make_device(server, scope="25216"), make_device(server, scope="25216")
    household = next(generate(1, seed=8, hamlets=1, commune="25216"))
    first.store.save(household)
    assert first.sync().ok and second.sync().ok
    member = household.members[0]

    def with_phone(h, value: str):
        return replace(h, members=(replace(h.members[0], smartphone=value), *h.members[1:]))

    assert member.smartphone == "yes"
    first.store.save(with_phone(household, "unknown"))
    second.store.save(with_phone(second.store.get(household.id), "no"))  # a phone can be lost: not monotone
    assert first.sync().ok and second.sync().counts()["conflicts"] == 1

    leader = make_device(server, scope="25216", role="leader")
    assert leader.sync().ok
    model = team_model(leader)
    model.load_conflicts()
    [row] = model.conflicts
    vi = I18n("vi")
    assert row.field == f"{member.full_name} · {field_name(vi, 'smartphone')}"
    words = {vi.value("smartphone", "unknown"), vi.value("smartphone", "no")}
    assert {o.text for o in row.options} == words and not words & {"unknown", "no"}
    choice = model.choose(row.id, next(i for i, o in enumerate(row.options) if o.value == "no"))
    assert choice.confirm == f"Giữ: {vi.value('smartphone', 'no')}"


def test_the_inbox_loads_once_at_a_time_and_a_later_load_finds_new_conflicts(server, make_device):
    leader = make_device(server, scope="25216", role="leader")
    model = team_model(leader)
    assert model.begin_loading() and not model.begin_loading()  # the screen opening and a tap: one fetch
    model.load_conflicts()
    assert not model.conflicts_loading and model.conflicts == [] and model.message == I18n("vi").t("team.conflicts_none")
    crossed_house_numbers(server, make_device)
    assert model.begin_loading()
    model.load_conflicts()
    assert len(model.conflicts) == 1 and model.message is None
