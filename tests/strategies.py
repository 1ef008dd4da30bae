"""Hypothesis strategies for valid domain records, shared by the property tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from hypothesis import strategies as st

from ntm_field.domain.codes import (
    CHECK_VALUES,
    COVERED_VALUE,
    Assistance,
    Check,
    Presence,
    Reason,
    VisitStatus,
)
from ntm_field.domain.records import Consent, FollowUp, Household, Member

VIETNAMESE_NAMES = [
    "Nguyễn Văn Đức",
    "Trần Thị Hồng",
    "Lê Văn Bình",
    "Phạm Thị Lan",
    "Điểu Thị Hoa",
    "Hoàng Minh Tuấn",
    "Vũ Thị Ánh",
    "Đặng Quốc Việt",
]

ICT = timezone(timedelta(hours=7))

names = st.one_of(
    st.sampled_from(VIETNAMESE_NAMES),
    st.from_regex(r"[abcdeđươăâêôơĐÂÊ]{1,8}( [abcdeđươăâêôơĐÂÊ]{1,8}){0,2}", fullmatch=True),
)
member_ids = st.text(alphabet="abcdefghjkmnpqrstuvwxyz23456789", min_size=8, max_size=8)
check_values = {check: st.sampled_from(CHECK_VALUES[check]) for check in Check}
reason_codes = st.sampled_from([str(r) for r in Reason])
assistance = st.lists(st.sampled_from([str(a) for a in Assistance]), max_size=3, unique=True).map(
    lambda items: tuple(sorted(items))
)
presences = st.sampled_from(list(Presence))
follow_ups = st.one_of(
    st.none(), st.builds(FollowUp, due=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 6, 30)),
                         note=st.sampled_from(["", "quay lại buổi tối"]))
)  # fmt: skip
survey_dates = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 6, 30))
timestamps = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 6, 30), timezones=st.just(ICT)
).map(lambda d: d.replace(microsecond=0))


@st.composite
def members(draw, *, member_id: str | None = None, max_birth_year: int = 2024) -> Member:
    """A valid member; `member_id` pins the id (for matching across versions)."""
    checks = {check.value: draw(check_values[check]) for check in Check}
    unmet = [c.value for c in Check if checks[c.value] != COVERED_VALUE[c]]
    reasons = {check: draw(reason_codes) for check in unmet if draw(st.booleans())}
    return Member(
        id=member_id or draw(member_ids),
        full_name=draw(names),
        birth_year=draw(st.integers(min_value=1920, max_value=max_birth_year)),
        presence=draw(presences),
        reasons=reasons,
        assisted=draw(assistance),
        note=draw(st.sampled_from(["", "gọi lại sau"])),
        **checks,
    )


@st.composite
def households(draw, *, hamlet_code: str = "25216-03", min_members: int = 0) -> Household:
    """A valid household: a surveyed one has at least one member, ids unique."""
    surveyed_on = draw(survey_dates)
    status = draw(st.sampled_from(list(VisitStatus)))
    lower = max(min_members, 1 if status is VisitStatus.SURVEYED else 0)
    ids = draw(st.lists(member_ids, min_size=lower, max_size=6, unique=True))
    people = tuple(draw(members(member_id=i, max_birth_year=surveyed_on.year)) for i in ids)
    follow_up = draw(follow_ups)
    consent = Consent(given=draw(st.booleans()), notice_version="2024-04")
    if not consent.given:  # without consent a household carries no personal data (contract v1.1)
        people = tuple(replace(m, full_name="", note="") for m in people)
        follow_up = follow_up and replace(follow_up, note="")
    return Household(
        id=str(draw(st.uuids(version=4))),
        hamlet_code=hamlet_code,
        head_name=(people[0].full_name if people else draw(names)) if consent.given else "",
        visit_status=status,
        surveyed_on=surveyed_on,
        house_no=draw(st.sampled_from(["", "12", "7A", "105/3"])),
        address=draw(st.sampled_from(["", "Tổ 3", "Ấp Phước Thiện"])) if consent.given else "",
        consent=consent,
        follow_up=follow_up,
        note="",
        members=people,
        updated_at=draw(timestamps),
    )
