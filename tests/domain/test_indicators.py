"""The indicator definition of PRODUCT.md ("Indicators"): properties, a brute-force oracle, boundaries."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntm_field.domain.codes import Check, Presence, VisitStatus
from ntm_field.domain.indicators import (
    Figure,
    Tally,
    eligible_checks,
    is_covered,
    tally,
    tally_household,
)
from ntm_field.domain.records import Household, Member
from tests.strategies import households

# Drawing one household from the shared strategy costs ~20 ms of CPU, so one property test draws
# households and checks everything that needs them; the Tally algebra runs on cheap generated tallies.
# This keeps the whole file under 15 s.
PROPERTY = settings(max_examples=200, deadline=None)
any_count = st.integers(min_value=0, max_value=10_000)
any_figure = st.builds(Figure, any_count, any_count, any_count, any_count)
any_tally = st.builds(Tally, any_count, any_count, any_count, any_figure, any_figure, any_figure, any_figure)

PARTS = ("covered", "eligible", "unknown", "level1")


# -- an oracle written straight from the PRODUCT.md table, sharing no code with the module --------


def brute_force(homes: list[Household]) -> dict[str, int]:
    counts = {"households": 0, "surveyed": 0, "fully_covered": 0}
    for name in ("cccd", "vneid", "smartphone", "sim"):
        for part in PARTS:
            counts[f"{name}.{part}"] = 0

    for home in homes:
        counts["households"] += 1
        if home.visit_status != "surveyed":
            continue
        counts["surveyed"] += 1
        has_eligible = False
        all_covered = True
        for m in home.members:
            if m.presence == "moved_out" or m.presence == "deceased":
                continue
            age = home.surveyed_on.year - m.birth_year
            eligible = []  # (indicator, value, covered)
            if age >= 14:
                eligible.append(("cccd", m.cccd, m.cccd == "yes"))
            if age >= 14:
                eligible.append(("vneid", m.vneid, m.vneid == "level2"))
            if age >= 15:
                eligible.append(("smartphone", m.smartphone, m.smartphone == "yes"))
            if age >= 18:
                eligible.append(("sim", m.sim, m.sim == "signature"))
            for name, value, covered in eligible:
                has_eligible = True
                counts[f"{name}.eligible"] += 1
                if covered:
                    counts[f"{name}.covered"] += 1
                else:
                    all_covered = False
                if value == "unknown":
                    counts[f"{name}.unknown"] += 1
                if name == "vneid" and value == "level1":
                    counts["vneid.level1"] += 1
        if has_eligible and all_covered:
            counts["fully_covered"] += 1
    return counts


def flatten(t: Tally) -> dict[str, int]:
    counts = {"households": t.households, "surveyed": t.surveyed, "fully_covered": t.fully_covered}
    for check in Check:
        for part in PARTS:
            counts[f"{check.value}.{part}"] = getattr(t.figure(check), part)
    return counts


# -- properties --------------------------------------------------------------------------------------


@PROPERTY
@given(st.lists(households(), max_size=2), st.data())
def test_tally_of_households_matches_a_plain_count_stays_in_bounds_and_adds_up(homes, data):
    t = tally(homes)
    assert flatten(t) == brute_force(homes)

    for check, figure in t.figures.items():
        assert 0 <= figure.covered <= figure.eligible
        assert 0 <= figure.unknown <= figure.eligible
        assert 0 <= figure.level1 <= figure.eligible
        if check is not Check.VNEID:
            assert figure.level1 == 0
        if figure.eligible == 0:
            assert figure.rate is None
        else:
            assert 0.0 <= figure.rate <= 1.0
    assert 0 <= t.fully_covered <= t.surveyed <= t.households == len(homes)

    split = data.draw(st.integers(min_value=0, max_value=len(homes)), label="split")
    a, b = homes[:split], homes[split:]
    assert tally(a + b) == tally(a) + tally(b)

    if homes:
        # What the server does per hamlet when the first household gets a new revision (here: the
        # content of the last one): add the new revision's tally, subtract the previous one's.
        counter = t + tally_household(homes[-1]) - tally_household(homes[0])
        assert counter == tally([homes[-1], *homes[1:]])


@PROPERTY
@given(any_tally, any_tally, any_tally)
def test_tally_addition_can_be_undone_and_regrouped(t, u, v):
    assert (t + u) - u == t
    assert t + u == u + t
    assert (t + u) + v == t + (u + v)
    assert t + Tally.zero() == t == Tally.zero() + t
    assert t - t == Tally.zero()


# -- examples ----------------------------------------------------------------------------------------


def person(birth_year: int, member_id: str = "m1", **values) -> Member:
    return Member(id=member_id, full_name="Nguyễn Văn Đức", birth_year=birth_year, **values)


def home(*people: Member, on: date = date(2024, 4, 12), status=VisitStatus.SURVEYED) -> Household:
    return Household(
        id="3b0f5a0e-8a4e-4f6e-9d61-2f0c7a1d9e55",
        hamlet_code="25216-03",
        head_name="Nguyễn Văn Đức",
        visit_status=status,
        surveyed_on=on,
        members=people,
    )


ALL_COVERED = {"cccd": "yes", "vneid": "level2", "smartphone": "yes", "sim": "signature"}


@pytest.mark.parametrize(
    ("check", "min_age"),
    [(Check.CCCD, 14), (Check.VNEID, 14), (Check.SMARTPHONE, 15), (Check.SIM, 18)],
)
def test_eligibility_starts_at_the_minimum_age_in_the_survey_year(check, min_age):
    surveyed_on = date(2024, 12, 31)
    just_old_enough = home(person(2024 - min_age, **ALL_COVERED), on=surveyed_on)
    one_year_short = home(person(2024 - min_age + 1, **ALL_COVERED), on=surveyed_on)

    assert tally_household(just_old_enough).figure(check) == Figure(covered=1, eligible=1)
    assert tally_household(one_year_short).figure(check) == Figure()
    assert check in eligible_checks(person(2024 - min_age), 2024)
    assert check not in eligible_checks(person(2024 - min_age + 1), 2024)


def test_age_counts_against_the_survey_year_not_today():
    # Born 2010: 13 in a 2023 survey, although older than 14 on any date this code runs.
    surveyed_in_2023 = home(person(2010, cccd="yes"), on=date(2023, 12, 31))
    assert tally_household(surveyed_in_2023).cccd == Figure()
    assert eligible_checks(person(2010), 2023) == frozenset()
    assert eligible_checks(person(2010), 2024) == {Check.CCCD, Check.VNEID}


@pytest.mark.parametrize("presence", [Presence.MOVED_OUT, Presence.DECEASED])
def test_members_moved_out_or_deceased_are_in_no_denominator(presence):
    gone = person(1970, presence=presence, **ALL_COVERED)
    assert eligible_checks(gone, 2024) == frozenset()
    t = tally_household(home(gone))
    assert all(figure == Figure() for figure in t.figures.values())
    assert t.fully_covered == 0


@pytest.mark.parametrize("presence", [Presence.RESIDENT, Presence.AWAY])
def test_members_resident_or_away_count(presence):
    assert eligible_checks(person(1970, presence=presence), 2024) == frozenset(Check)


@pytest.mark.parametrize("status", [s for s in VisitStatus if s is not VisitStatus.SURVEYED])
def test_households_not_surveyed_contribute_no_members(status):
    t = tally_household(home(person(1970, **ALL_COVERED), status=status))
    assert t == Tally(households=1)


def test_vneid_level1_is_counted_as_level1_not_covered():
    t = tally_household(home(person(1980, vneid="level1"), person(1990, "m2", vneid="level2")))
    assert t.vneid == Figure(covered=1, eligible=2, unknown=0, level1=1)
    assert t.vneid.rate == 0.5
    assert not is_covered(person(1980, vneid="level1"), Check.VNEID)
    assert t.fully_covered == 0


def test_unknown_values_are_counted_per_indicator():
    t = tally_household(home(person(1980, cccd="unknown", smartphone="no", sim="owner")))
    assert t.cccd == Figure(covered=0, eligible=1, unknown=1)
    assert t.smartphone == Figure(covered=0, eligible=1, unknown=0)
    assert t.sim == Figure(covered=0, eligible=1, unknown=0, level1=0)


def test_household_of_children_only_is_not_fully_covered():
    children = home(person(2015), person(2020, "m2"), on=date(2024, 4, 12))
    t = tally_household(children)
    assert t.surveyed == 1
    assert t.fully_covered == 0
    assert all(figure.rate is None for figure in t.figures.values())


def test_fully_covered_needs_every_eligible_member_covered_on_their_own_checks():
    # A 15-year-old is covered on cccd, vneid and smartphone; sim is not asked of them.
    teenager = person(2009, "m2", cccd="yes", vneid="level2", smartphone="yes", sim="no")
    adult = person(1980, **ALL_COVERED)
    assert tally_household(home(adult, teenager)).fully_covered == 1
    uncovered_adult = person(1985, "m3", **{**ALL_COVERED, "sim": "owner"})
    assert tally_household(home(adult, teenager, uncovered_adult)).fully_covered == 0


def test_rate_is_none_for_an_empty_denominator_and_a_fraction_otherwise():
    assert Figure().rate is None
    assert Figure(covered=0, eligible=0, unknown=0).rate is None
    assert Figure(covered=3, eligible=4).rate == 0.75
    assert tally([]) == Tally.zero()
    assert tally([]).figure(Check.SIM).rate is None


def test_figures_are_listed_in_the_campaign_order():
    assert list(Tally.zero().figures) == [Check.CCCD, Check.VNEID, Check.SMARTPHONE, Check.SIM]
