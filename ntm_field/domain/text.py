"""Text folding for search: diacritics and case ignored, `đ` read as `d`."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Fold Vietnamese text for matching: 'Nguyễn Văn Đức' → 'nguyen van duc'.

    `đ` is a letter of its own in Unicode (not d plus a mark), so it is mapped
    by hand before the combining marks are stripped.
    """
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())
