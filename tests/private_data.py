"""Personal data that no other test shares, and a search for it in files and logs.

Each value is a Vietnamese phrase (with diacritics) ending in a fresh random marker: finding the marker
finds the value in any encoding (UTF-8, JSON `\\u` escapes, the store's folded search text).
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

from ntm_field.domain.codes import VisitStatus
from ntm_field.domain.records import Consent, FollowUp, Household, Member

NAMES = ("Nguyễn Thị Ánh", "Trần Văn Đức", "Lê Hoàng Yến", "Phạm Quốc Tuấn", "Đặng Thị Hồng")
NOTES = ("hẹn quay lại buổi tối", "chủ hộ đi làm rẫy", "ghi chú riêng tư")


class PersonalData:
    """Makes unique names and notes, remembers them, and finds them again."""

    def __init__(self) -> None:
        self.values: list[str] = []

    def text(self, phrase: str) -> str:
        value = f"{phrase} {uuid.uuid4().hex[:12]}"
        self.values.append(value)
        return value

    def name(self, n: int = 0) -> str:
        return self.text(NAMES[n % len(NAMES)])

    def note(self, n: int = 0) -> str:
        return self.text(NOTES[n % len(NOTES)])

    def secret(self, value: str) -> str:
        """Remember a value made elsewhere (a token) to be searched for too."""
        self.values.append(value)
        return value

    def household(self, hamlet_code: str, n: int, *, surveyed_on: date = date(2024, 4, 12)) -> Household:
        """A surveyed household with consent whose every free-text field is a unique value."""
        head = self.name(n)
        return Household(
            id=str(uuid.uuid4()), hamlet_code=hamlet_code, head_name=head, visit_status=VisitStatus.SURVEYED,
            surveyed_on=surveyed_on, house_no=str(n + 1), address=self.text("Tổ dân phố"),
            consent=Consent(given=True, notice_version="2024-04"),
            follow_up=FollowUp(due=date(2024, 5, 2), note=self.note(n)), note=self.note(n + 1),
            members=(Member(id="m1", full_name=head, birth_year=1968, note=self.note(n + 2)),
                     Member(id="m2", full_name=self.name(n + 1), birth_year=1995)),
        )  # fmt: skip

    def found_in(self, data: bytes) -> list[str]:
        """The remembered values present in `data`, as UTF-8 or by their marker alone."""
        return [v for v in self.values if v.encode() in data or _marker(v).encode() in data]

    def found_in_folder(self, folder: Path) -> dict[str, list[str]]:
        """{file name: values found} over every byte of every file under `folder`."""
        found = {}
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            hits = self.found_in(path.read_bytes())
            if hits:
                found[str(path.relative_to(folder))] = hits
        return found


def _marker(value: str) -> str:
    return value.rsplit(" ", 1)[-1]
