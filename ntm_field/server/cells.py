"""Export cells a spreadsheet never runs (contract v1.1, "Consent and personal data").

A member named `=HYPERLINK("http://x","y")` or `+cmd|' /C calc'!A0` is data typed on a phone; opened in a
spreadsheet, a cell that begins like a formula would run. Such text gets a leading `'`, so it reads as
the text it is; numbers stay numbers (a negative figure is not text and is never changed).
"""

from __future__ import annotations

from typing import Any

# What spreadsheets read as the start of a formula or a DDE command (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """`value` as an export cell: text that begins like a formula with a leading `'`, anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
