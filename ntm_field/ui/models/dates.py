"""Dates as a Vietnamese reader writes them: dd/mm/yyyy on screen, ISO on the wire.

Typing still works in either form (12/4/2024, 12-04-2024, 2024-04-12); a date picker fills the same text.
"""

from __future__ import annotations

import re
from datetime import date

_DAY_FIRST = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_date(text: str) -> date | None:
    """The date in `text` (dd/mm/yyyy or yyyy-mm-dd), or None when it is not a whole, real date."""
    text = text.strip()
    if match := _DAY_FIRST.fullmatch(text):
        day, month, year = (int(g) for g in match.groups())
    elif match := _ISO.fullmatch(text):
        year, month, day = (int(g) for g in match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def show_date(value: date | str | None) -> str:
    """dd/mm/yyyy (an ISO string is converted; anything else is shown as it is)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        parsed = parse_date(value)
        return show_date(parsed) if parsed else value
    return f"{value.day:02d}/{value.month:02d}/{value.year}"
