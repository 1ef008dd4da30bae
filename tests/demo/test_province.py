"""The demo province generator: valid documents, plausible figures, deterministic for a seed."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import replace
from datetime import date

from ntm_field.demo.province import CAMPAIGN_END, CAMPAIGN_START, generate_province
from ntm_field.domain.codes import VisitStatus
from ntm_field.domain.indicators import tally
from ntm_field.domain.units import parse_units_csv
from ntm_field.domain.validation import validate_document
from tests.demo.conftest import TODAY


def test_every_document_validates_including_both_sides_of_each_conflict(province):
    documents = [h.to_document() for h in province.households()]
    documents += [e.first.to_document() for e in province.edits] + [e.second.to_document() for e in province.edits]
    invalid = [(d["id"], problems) for d in documents if (problems := validate_document(d, today=TODAY))]
    assert invalid == []


def test_counts_are_in_range(province, unit_files):
    communes = {u.code for u in parse_units_csv(unit_files.units_2024) if str(u.level) == "commune"}
    per_commune = Counter(h.commune_code for h in province.hamlets)
    assert set(per_commune) == communes and len(communes) == 111
    assert all(3 <= n <= 6 for n in per_commune.values())
    assert all(10 <= h.expected_households <= 20 for h in province.hamlets)
    households = province.households()
    assert 3_000 <= len(households) <= 5_500
    assert all(1 <= len(h.members) <= 7 for h in households if h.visit_status is VisitStatus.SURVEYED)
    visited = Counter(h.hamlet_code for h in households)
    coverage = [visited[h.code] / h.expected_households for h in province.hamlets]
    assert max(coverage) <= 1 and min(coverage) >= 0.25
    statuses = Counter(h.visit_status for h in households)
    assert statuses[VisitStatus.SURVEYED] / len(households) > 0.8
    assert all(statuses[s] > 0 for s in VisitStatus)
    assert all(CAMPAIGN_START <= h.surveyed_on <= CAMPAIGN_END for h in households)
    assert 5 <= len(province.edits) <= 10


def test_the_figures_have_the_campaigns_shape(province):
    total = tally(province.households())
    assert total.cccd.rate > 0.85
    assert 0.4 < total.vneid.rate < total.cccd.rate and total.vneid.level1 > 0.1 * total.vneid.eligible
    assert 0.65 < total.smartphone.rate < 0.9
    assert total.sim.rate < min(total.cccd.rate, total.vneid.rate, total.smartphone.rate)
    urban = tally(h for h in province.households() if h.address.startswith(("Đường", "Quốc lộ")))
    rural = tally(h for h in province.households() if h.address.startswith("Tổ"))
    assert urban.smartphone.rate > rural.smartphone.rate and urban.vneid.rate > rural.vneid.rate
    members = [m for h in province.households() for m in h.members]
    assert sum(1 for m in members if m.assisted) > 0.05 * len(members)
    assert sum(1 for m in members if m.reasons) > 0.2 * len(members)
    assert sum(1 for h in province.households() if h.follow_up) > 0.1 * len(province.households())


def test_names_are_vietnamese_with_their_diacritics(province):
    consented = [h for h in province.households() if h.consent.given]
    names = [m.full_name for h in consented for m in h.members] + [h.head_name for h in consented]
    assert all(unicodedata.is_normalized("NFC", n) for n in names)
    with_marks = sum(1 for n in names if any(ord(c) > 127 for c in n))
    assert with_marks / len(names) > 0.9
    families = Counter(h.head_name.split()[0] for h in consented)
    assert families.most_common(1)[0][0] == "Nguyễn"
    assert families["Điểu"] > 0 and families["Thị"] > 0  # S'tiêng households
    for kind in ("Khu phố ", "Ấp ", "Thôn "):
        assert any(h.name.startswith(kind) for h in province.hamlets), kind
    thac_mo = [h.name for h in province.hamlets if h.commune_code == "25216"]
    # A household that did not consent carries no personal data (contract v1.1).
    for h in province.households():
        if not h.consent.given:
            assert h.head_name == h.address == h.note == "" and all(m.full_name == "" for m in h.members)
    assert all(name.startswith("Khu phố") for name in thac_mo)  # a phường's hamlets are khu phố


def test_the_same_seed_gives_the_same_province_and_another_seed_another(unit_files, province):
    again = generate_province(unit_files.units_2024, seed=2024, today=TODAY)
    assert again == province
    other = generate_province(unit_files.units_2024, seed=7, today=TODAY)
    assert [h.id for h in other.households()][:50] != [h.id for h in province.households()][:50]


def test_no_survey_is_dated_after_the_demos_clock(unit_files):
    early = generate_province(unit_files.units_2024, seed=1, today=date(2024, 5, 1))
    assert max(h.surveyed_on for h in early.households()) <= date(2024, 5, 1)


def test_each_conflict_changes_one_field_two_ways_from_the_same_household(province):
    for edit in province.edits:
        base = next(s.household for s in province.surveys if s.household.id == edit.first.id)
        assert edit.first != edit.second and base not in (edit.first, edit.second)
        assert replace(edit.first, updated_at=None) != replace(base, updated_at=None)
        assert edit.first_team != edit.second_team
        assert province.teams[edit.first_team].commune_code == province.teams[edit.second_team].commune_code
    assert sum(1 for e in province.edits if e.first.hamlet_code.startswith("25216-")) >= 3
