"""Invented Vietnamese names for the demo province (seeded; no real person's data).

Family names follow their rough frequencies in southern Vietnam (Nguyễn about a third);
S'tiêng households, numerous in Bình Phước's northern districts, are named the S'tiêng way:
"Điểu" before a man's name and "Thị" before a woman's, with no middle name.
"""

from __future__ import annotations

import random

# (family name, weight in per mille)
FAMILY: tuple[tuple[str, int], ...] = (
    ("Nguyễn", 310), ("Trần", 110), ("Lê", 95), ("Phạm", 70), ("Huỳnh", 40), ("Hoàng", 25), ("Phan", 45),
    ("Võ", 40), ("Vũ", 20), ("Đặng", 20), ("Bùi", 20), ("Đỗ", 14), ("Hồ", 13), ("Ngô", 13), ("Dương", 10),
    ("Lý", 5), ("Trương", 12), ("Đinh", 8), ("Mai", 6), ("Lâm", 6), ("Cao", 5), ("Đoàn", 6), ("Trịnh", 4),
)  # fmt: skip
MALE_MIDDLE = ("Văn",) * 12 + ("Đức", "Minh", "Quốc", "Hữu", "Thanh", "Công", "Ngọc", "Hoàng", "Tấn", "Anh")
FEMALE_MIDDLE = ("Thị",) * 14 + ("Ngọc", "Thanh", "Thu", "Kim", "Bảo", "Mỹ", "Hồng", "Diệu")
MALE_GIVEN = (
    "Hùng", "Dũng", "Tuấn", "Minh", "Hải", "Nam", "Sơn", "Long", "Phúc", "Khoa", "Đức", "Thắng", "Trung",
    "Hiếu", "Tài", "Lộc", "Quang", "Bình", "Cường", "Tâm", "Huy", "Khánh", "Phong", "Việt", "Toàn", "Nghĩa",
    "Thịnh", "Đạt", "Hoàng", "An", "Lực", "Tùng", "Vinh", "Hòa", "Thuận", "Trọng", "Kiên", "Bảo", "Khôi", "Đông",
)  # fmt: skip
FEMALE_GIVEN = (
    "Lan", "Hoa", "Hương", "Thảo", "Trang", "Mai", "Hạnh", "Nhung", "Yến", "Linh", "Ngọc", "Hằng", "Thủy",
    "Phương", "Dung", "Hà", "Nga", "Vân", "Loan", "Oanh", "Tuyết", "Xuân", "Diễm", "Nhi", "Vy", "Ánh", "Thư",
    "Hiền", "My", "Quyên", "Trinh", "Liên", "Cúc", "Đào", "Huệ", "Bích", "Tâm", "Giang", "Châu", "Khuê",
)  # fmt: skip
STIENG_MALE = ("Ré", "Lực", "Mách", "Xiêm", "Bình", "Dũng", "Thanh", "Khải", "Hinh", "Lên", "Điều", "Tốt", "Brơi", "Lam")
STIENG_FEMALE = ("Bé", "Thu", "Nhung", "Lanh", "Bình", "Hoa", "Sa", "Mai", "Nhiên", "Thêm", "Rết", "Ngơn")

_FAMILY_NAMES = [name for name, _ in FAMILY]
_FAMILY_WEIGHTS = [weight for _, weight in FAMILY]


def family_name(rng: random.Random) -> str:
    return rng.choices(_FAMILY_NAMES, _FAMILY_WEIGHTS)[0]


def kinh_name(rng: random.Random, family: str, *, male: bool) -> str:
    """A Kinh name: family, middle and given name ("Nguyễn Thị Lan")."""
    middle = rng.choice(MALE_MIDDLE if male else FEMALE_MIDDLE)
    given = rng.choice(MALE_GIVEN if male else FEMALE_GIVEN)
    return f"{family} {middle} {given}"


def stieng_name(rng: random.Random, *, male: bool) -> str:
    """A S'tiêng name: "Điểu Ré" for a man, "Thị Bé" for a woman."""
    return f"Điểu {rng.choice(STIENG_MALE)}" if male else f"Thị {rng.choice(STIENG_FEMALE)}"


def person_name(rng: random.Random, *, male: bool) -> str:
    """Any Kinh name (for the surveyors' devices)."""
    return kinh_name(rng, family_name(rng), male=male)
