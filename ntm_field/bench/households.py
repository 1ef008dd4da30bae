"""Invented but realistic households for benchmarks (seeded: the same seed, the same data)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

from ntm_field.domain.codes import Presence, VisitStatus
from ntm_field.domain.records import Consent, Household, Member

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
          "Hồ", "Ngô", "Dương", "Lý", "Điểu", "Thị", "Lâm", "Trịnh"]  # fmt: skip
MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Ngọc", "Quốc", "Thanh", "Đức", "Hoàng", "Kim"]
GIVEN = ["Đức", "Hồng", "Bình", "Lan", "Hoa", "Tuấn", "Ánh", "Việt", "Dũng", "Hương", "Phúc", "Thảo",
         "Hải", "Nam", "Trang", "Sơn", "Yến", "Khoa", "Nhung", "Lộc", "Điệp", "Đạt", "Mai", "Quân"]  # fmt: skip
ICT = timezone(timedelta(hours=7))


def full_name(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def generate(count: int, *, seed: int, hamlets: int = 100, commune: str = "25216") -> Iterator[Household]:
    """`count` surveyed households spread over `hamlets` hamlets of one commune."""
    rng = random.Random(seed)
    surveyed_on = date(2024, 4, 12)
    for n in range(count):
        size = rng.choice([1, 2, 3, 4, 4, 5, 6])
        members = tuple(
            Member(
                id=f"m{i}",
                full_name=full_name(rng),
                birth_year=rng.randint(1940, 2023),
                presence=Presence.RESIDENT,
                cccd=rng.choice(["yes", "yes", "no", "unknown"]),
                vneid=rng.choice(["level2", "level1", "no"]),
                smartphone=rng.choice(["yes", "yes", "no"]),
                sim=rng.choice(["signature", "owner", "no"]),
            )
            for i in range(size)
        )
        yield Household(
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            hamlet_code=f"{commune}-{n % hamlets + 1:02d}",
            head_name=members[0].full_name,
            visit_status=VisitStatus.SURVEYED,
            surveyed_on=surveyed_on,
            house_no=str(n // hamlets + 1),
            consent=Consent(given=True, notice_version="2024-04"),
            members=members,
            updated_at=datetime(2024, 4, 12, 9, 0, tzinfo=ICT),
        )
