"""A generated demo province: Bình Phước's real communes, invented hamlets, households and a few conflicts.

Pure and seeded: the same units text, seed and `today` give the same province, with no I/O
and no clock or id factory of its own (ids come from the seeded generator). The figures are
scaled down (10–25 expected households per hamlet instead of a few hundred) so the demo
starts in seconds, but their shape is the campaign's: urban communes ahead, some communes
lagging, CCCD near 90%+, VNeID level 2 behind with many at level 1, smartphones 70–85%,
SIMs with a digital signature lowest.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone

from ntm_field.demo import names
from ntm_field.demo.conflicts import ConcurrentEdit, concurrent_edits
from ntm_field.domain.codes import COVERED_VALUE, Check, Presence, VisitStatus
from ntm_field.domain.records import Consent, FollowUp, Household, Member
from ntm_field.domain.units import Level, Unit, hamlet_code, parse_units_csv

CAMPAIGN_START = date(2024, 4, 4)  # Plan 128/KH-UBND: 90 days, 04/4–03/7/2024
CAMPAIGN_END = date(2024, 7, 3)
NOTICE_VERSION = "2024-04"
ICT = timezone(timedelta(hours=7))
FOCUS_COMMUNE = "25216"  # Phường Thác Mơ: the demo devices' commune
# Districts where S'tiêng (and other minority) households are numerous; Bù Đăng's villages are "thôn".
MINORITY_DISTRICTS = frozenset({"691", "692", "693", "694", "696", "698"})
THON_DISTRICTS = frozenset({"696"})
HAMLET_WORDS = (
    "Tân Lập", "Tân Hòa", "Phú Thịnh", "Bình Thuận", "Thuận Phú", "Hưng Phát", "Đồng Tâm", "Suối Đá", "Sóc Lớn",
    "Bàu Nghé", "Cây Điệp", "Tân Phước", "Phước Yên", "Thạch Màng", "Bình Minh", "Tân Hiệp", "Hòa Lộc",
    "An Thịnh", "Tân Định", "Thanh Sơn", "Đắk Son", "Bù Tam", "Bù Lạch", "Đức Lập", "Tân Lợi", "Sóc Bom Bo",
)  # fmt: skip
STREETS = ("Đường Lê Quý Đôn", "Đường Nguyễn Huệ", "Đường Hùng Vương", "Đường Trần Hưng Đạo", "Đường Phú Riềng Đỏ",
           "Đường Lý Thường Kiệt", "Đường 6 tháng 1", "Đường Nguyễn Chí Thanh", "Quốc lộ 14")  # fmt: skip
FOLLOW_UP_NOTES = ("quay lại buổi tối", "hướng dẫn kích hoạt VNeID mức 2", "hẹn làm CCCD tại công an xã",
                   "chờ con về cài ứng dụng", "hỗ trợ đăng ký chữ ký số", "hẹn cuối tuần")  # fmt: skip
VISITS = ((VisitStatus.SURVEYED, 860), (VisitStatus.ABSENT, 65), (VisitStatus.VACANT, 30),
          (VisitStatus.MOVED, 25), (VisitStatus.REFUSED, 20))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Hamlet:
    code: str
    name: str
    commune_code: str
    expected_households: int


@dataclass(frozen=True, slots=True)
class Team:
    """A surveyor's device of a commune team (scope: the commune)."""

    device_name: str
    commune_code: str


@dataclass(frozen=True, slots=True)
class Survey:
    """A household as a team member's device first pushes it."""

    team: int
    household: Household


@dataclass(frozen=True)
class DemoProvince:
    seed: int
    today: date
    hamlets: tuple[Hamlet, ...]
    teams: tuple[Team, ...]
    surveys: tuple[Survey, ...]
    edits: tuple[ConcurrentEdit, ...]

    def hamlets_csv(self) -> str:
        """The hamlets as a units CSV (2024 structure: each hamlet's parent is its 2024 commune)."""
        lines = ["code,name,level,parent_code,expected_households"]
        lines += [f"{h.code},{h.name},hamlet,{h.commune_code},{h.expected_households}" for h in self.hamlets]
        return "\n".join(lines) + "\n"

    def households(self) -> list[Household]:
        """Every household as the server ends up storing it (the later edit of each conflict wins until resolved)."""
        latest = {edit.second.id: edit.second for edit in self.edits}
        return [latest.get(s.household.id, s.household) for s in self.surveys]


def generate_province(
    units_csv: str, *, seed: int = 2024, today: date, households_per_hamlet: tuple[int, int] = (10, 20),
    conflicts: int = 8,
) -> DemoProvince:  # fmt: skip
    """The demo province for the 2024 units in `units_csv` (surveys dated no later than `today`)."""
    rng = random.Random(seed)
    units = parse_units_csv(units_csv)
    communes = [u for u in units if u.level is Level.COMMUNE]
    last_day = min(CAMPAIGN_END, today)
    hamlets: list[Hamlet] = []
    teams: list[Team] = []
    surveys: list[Survey] = []
    team_of_commune: dict[str, list[int]] = {}
    for commune in communes:
        profile = _Profile.of(rng, commune)
        own = _hamlets(rng, commune, profile, households_per_hamlet)
        hamlets += own
        team_of_commune[commune.code] = []
        for _ in range(1 if len(own) <= 3 else 2):
            team_of_commune[commune.code].append(len(teams))
            teams.append(Team(names.person_name(rng, male=rng.random() < 0.4), commune.code))
        for index, hamlet in enumerate(own):
            team = team_of_commune[commune.code][index % len(team_of_commune[commune.code])]
            visited = round(hamlet.expected_households * rng.uniform(*profile.visit_coverage))
            house = 0
            for _ in range(visited):
                house += rng.randint(1, 6)
                when = _survey_day(rng, last_day)
                surveys.append(Survey(team, _household(rng, hamlet, profile, when, house)))
    edits = concurrent_edits(rng, surveys, team_of_commune, conflicts, focus=FOCUS_COMMUNE)
    return DemoProvince(seed, today, tuple(hamlets), tuple(teams), tuple(surveys), tuple(edits))


@dataclass(frozen=True, slots=True)
class _Profile:
    urban: bool
    district: str
    minority: float  # share of S'tiêng households
    lag: float  # subtracted from every check's rate (a lagging commune: 0.08–0.18)
    visit_coverage: tuple[float, float]

    @classmethod
    def of(cls, rng: random.Random, commune: Unit) -> _Profile:
        urban = commune.name.startswith(("Phường", "Thị trấn"))
        district = commune.parent_code or ""
        lagging = rng.random() < 0.15
        minority = 0.0 if urban else (rng.uniform(0.05, 0.3) if district in MINORITY_DISTRICTS else 0.02)
        return cls(
            urban=urban, district=district, minority=minority,
            lag=rng.uniform(0.08, 0.18) if lagging else rng.uniform(-0.03, 0.04),
            visit_coverage=(0.3, 0.55) if lagging else (0.4, 0.95),
        )  # fmt: skip


def _hamlets(rng: random.Random, commune: Unit, profile: _Profile, per_hamlet: tuple[int, int]) -> list[Hamlet]:
    count = rng.randint(3, 6)
    if profile.urban:
        style = "Khu phố" if commune.name.startswith("Phường") or rng.random() < 0.7 else "Tổ dân phố"
        labels = [f"{style} {n}" for n in range(1, count + 1)]
    else:
        word = "Thôn" if profile.district in THON_DISTRICTS else "Ấp"
        if rng.random() < 0.5:
            labels = [f"{word} {n}" for n in range(1, count + 1)]
        else:
            labels = [f"{word} {place}" for place in rng.sample(HAMLET_WORDS, count)]
    return [
        Hamlet(hamlet_code(commune.code, n), label, commune.code, rng.randint(*per_hamlet))
        for n, label in enumerate(labels, start=1)
    ]


def _survey_day(rng: random.Random, last_day: date) -> date:
    span = max(0, (last_day - CAMPAIGN_START).days)
    # most households in the first weeks of the peak campaign, a tail of revisits after
    return min(last_day, CAMPAIGN_START + timedelta(days=int(rng.triangular(0, span, span * 0.25))))


def _household(rng: random.Random, hamlet: Hamlet, profile: _Profile, when: date, house: int) -> Household:
    status = rng.choices([s for s, _ in VISITS], [w + (40 if s is VisitStatus.ABSENT and profile.lag > 0.05 else 0)
                                                   for s, w in VISITS])[0]  # fmt: skip
    stieng = rng.random() < profile.minority
    people = _family(rng, when.year, stieng)
    members = tuple(_member(rng, profile, when.year, person, head=i == 0) for i, person in enumerate(people))
    house_no = f"{house}/{rng.randint(1, 9)}" if rng.random() < 0.15 else str(house)
    address = rng.choice(STREETS) if profile.urban else f"Tổ {rng.randint(1, 8)}"
    updated_at = datetime(when.year, when.month, when.day, rng.randint(7, 18), rng.randint(0, 59), tzinfo=ICT)
    base = Household(
        id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), hamlet_code=hamlet.code, head_name=people[0][0],
        visit_status=status, surveyed_on=when, house_no=house_no, address=address, updated_at=updated_at,
    )  # fmt: skip
    if status is not VisitStatus.SURVEYED:
        follow_up = None
        if status is VisitStatus.ABSENT and rng.random() < 0.8:
            follow_up = FollowUp(when + timedelta(days=rng.randint(2, 7)), "")
        # Nobody consented: the household carries no personal data (contract v1.1), so no name, address,
        # note or follow-up note; the house number finds it again.
        consent = Consent(False, NOTICE_VERSION if status is VisitStatus.REFUSED else "")
        return replace(base, consent=consent, follow_up=follow_up, head_name="", address="", note="")
    follow_up = None
    pending = any(
        m.cccd == "no" or m.vneid == "level1" or m.smartphone == "no" for m in members if when.year - m.birth_year >= 14
    )
    if pending and rng.random() < 0.35:
        follow_up = FollowUp(when + timedelta(days=rng.randint(5, 21)), rng.choice(FOLLOW_UP_NOTES))
    return replace(base, consent=Consent(True, NOTICE_VERSION), follow_up=follow_up, members=members)


def _family(rng: random.Random, year: int, stieng: bool) -> list[tuple[str, int, bool]]:
    """(name, birth year, male) of each member, head first: a couple, children, sometimes grandparents."""
    size = rng.choices(range(1, 8), [8, 15, 20, 27, 16, 9, 5])[0]

    taken: set[str] = set()

    def name(family: str, male: bool) -> str:
        for _ in range(20):  # two members of one household are not given the same name
            chosen = names.stieng_name(rng, male=male) if stieng else names.kinh_name(rng, family, male=male)
            if chosen not in taken:
                break
        taken.add(chosen)
        return chosen

    head_male = rng.random() < 0.72
    head_age = int(rng.triangular(24, 85, 44))
    head_family = names.family_name(rng)
    people = [(name(head_family, head_male), year - head_age, head_male)]
    father_family = head_family if head_male else names.family_name(rng)
    if size >= 2 and rng.random() < (0.85 if head_age < 75 else 0.5):
        spouse_age = max(18, head_age + (-rng.randint(0, 8) if head_male else rng.randint(0, 8)))
        people.append((name(names.family_name(rng), not head_male), year - spouse_age, not head_male))
    if len(people) < size and head_age <= 60 and rng.random() < 0.25:
        elder_age = min(95, head_age + rng.randint(20, 32))
        elder_male = rng.random() < 0.35
        elder_family = head_family if elder_male else names.family_name(rng)
        people.append((name(elder_family, elder_male), year - elder_age, elder_male))
    if head_age >= 58 and len(people) < size and rng.random() < 0.6:
        child_age = rng.randint(max(18, head_age - 38), head_age - 20)
        people.append((name(father_family, True), year - child_age, True))
        while len(people) < size:
            male = rng.random() < 0.5
            people.append((name(father_family, male), year - rng.randint(0, max(0, child_age - 19)), male))
    while len(people) < size:
        male = rng.random() < 0.5
        people.append((name(father_family, male), year - rng.randint(0, max(0, min(head_age - 18, 40))), male))
    return people


def _member(rng: random.Random, profile: _Profile, year: int, person: tuple[str, int, bool], *, head: bool) -> Member:
    full_name, birth_year, _ = person
    age = year - birth_year
    member_id = "".join(rng.choices("abcdefghijkmnpqrstuvwxyz23456789", k=8))
    presence = Presence.RESIDENT
    if not head:
        roll = rng.random()
        if roll < 0.015 and age >= 60:
            presence = Presence.DECEASED
        elif roll < 0.04:
            presence = Presence.MOVED_OUT
        elif roll < 0.14 and 18 <= age <= 45:
            presence = Presence.AWAY
    if presence in (Presence.DECEASED, Presence.MOVED_OUT):
        return Member(member_id, full_name, birth_year, presence)
    values = _checks(rng, profile, age, away=presence is Presence.AWAY)
    reasons = _reasons(rng, values, age, away=presence is Presence.AWAY)
    assisted = _assisted(rng, values) if age >= 14 and rng.random() < 0.18 else ()
    return Member(member_id, full_name, birth_year, presence, **values, reasons=reasons, assisted=assisted)


def _checks(rng: random.Random, profile: _Profile, age: int, *, away: bool) -> dict[str, str]:
    unknown = 0.2 if away else 0.015
    if age < 14:
        return {"cccd": "yes" if rng.random() < 0.2 else "no", "vneid": "no",
                "smartphone": "yes" if age >= 12 and rng.random() < 0.3 else "no", "sim": "no"}  # fmt: skip
    lag, elderly = profile.lag, age >= 65
    p_cccd = (0.97 if profile.urban else 0.935) - lag - (0.05 if age >= 75 else 0)
    p_level2 = ((0.8 if profile.urban else 0.68) - 1.5 * lag) * (0.55 if elderly else 0.8 if age < 18 else 1)
    p_phone = ((0.9 if profile.urban else 0.8) - lag) * (0.45 if elderly else 0.8 if age >= 60 else 1)
    p_signature = ((0.36 if profile.urban else 0.24) - lag) * (0.4 if elderly else 1)

    def pick(covered: float, rest: tuple[str, ...], weights: tuple[float, ...]) -> str:
        if rng.random() < unknown:
            return "unknown"
        if rng.random() < covered:
            return "covered"
        return rng.choices(rest, weights)[0]

    cccd = pick(p_cccd, ("no",), (1,))
    vneid = pick(p_level2, ("level1", "no"), (0.6, 0.4)) if cccd == "covered" else rng.choice(("no", "unknown"))
    phone = pick(p_phone, ("no",), (1,))
    if age < 18:
        sim = pick(0.02, ("owner", "no"), (0.2, 0.8))
    else:
        sim = pick(p_signature if phone == "covered" else 0.03, ("owner", "no"), (0.7, 0.3))
    chosen = {"cccd": cccd, "vneid": vneid, "smartphone": phone, "sim": sim}
    return {check: COVERED_VALUE[Check(check)] if value == "covered" else value for check, value in chosen.items()}


def _reasons(rng: random.Random, values: dict[str, str], age: int, *, away: bool) -> dict[str, str]:
    reasons: dict[str, str] = {}
    for check, value in values.items():
        if value in ("unknown", COVERED_VALUE[Check(check)]) or rng.random() > 0.65:
            continue
        if age < 14 or (check == "sim" and age < 18):
            reasons[check] = "UNDER_AGE"
            continue
        options = ["OTHER", "NOT_INTERESTED"]
        options += ["ELDERLY_OR_ILL"] * 3 if age >= 65 else []
        options += ["AWAY_WORKING"] * 3 if away else []
        options += {
            "cccd": ["DATA_MISMATCH"] * 2,
            "vneid": ["DATA_MISMATCH"] * 2 + (["NO_SMARTPHONE"] * 3 if values["smartphone"] != "yes" else []),
            "smartphone": ["USES_2G_ONLY"] * 3 + ["NO_PHONE", "CANNOT_AFFORD"],
            "sim": (["SIM_NOT_OWNER"] * 4 if value == "no" else ["CANNOT_AFFORD"])
            + (["NO_SMARTPHONE"] * 2 if values["smartphone"] != "yes" else []),
        }[check]
        reasons[check] = rng.choice(options)
    return reasons


def _assisted(rng: random.Random, values: dict[str, str]) -> tuple[str, ...]:
    help_given = {
        "cccd_application": values["cccd"] == "no",
        "vneid_level1_activated": values["vneid"] == "level1",
        "vneid_level2_guided": values["vneid"] == "level2",
        "sim_registered": values["sim"] in ("owner", "signature"),
        "signature_issued": values["sim"] == "signature",
        "smartphone_supported": values["smartphone"] == "yes",
        "app_guidance": values["smartphone"] == "yes",
    }
    options = [name for name, fits in help_given.items() if fits]
    return tuple(rng.sample(options, min(len(options), rng.randint(1, 2)))) if options else ()
