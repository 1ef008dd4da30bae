"""Enrolment codes as people read them out, hear and type them.

A code is ten symbols of Crockford's base-32 alphabet, grouped `K7QM-4XRT-9B` (12 characters, 50 bits).
The alphabet has no I, L, O or U, so a code never shows a letter that looks like a digit; a reader who
still types O for 0, or I or L for 1, gets the right code. Case, dashes and spaces do not matter.
Making a code needs randomness: the caller passes `secrets.choice` (the domain does no I/O).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 10
GROUPS = (4, 4, 2)
PREFIX = 4  # symbols: wrong guesses are counted per prefix as well as per address
SEPARATORS = " -_.\t"
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def entropy_bits() -> float:
    """Bits of a code: length × log2(alphabet size)."""
    return LENGTH * math.log2(len(ALPHABET))


def new_code(choice: Callable[[Sequence[str]], str]) -> str:
    """A fresh code, grouped for reading out; `choice` is `secrets.choice`."""
    return grouped("".join(choice(ALPHABET) for _ in range(LENGTH)))


def grouped(symbols: str) -> str:
    parts, start = [], 0
    for size in GROUPS:
        parts.append(symbols[start : start + size])
        start += size
    return "-".join(part for part in parts if part)


def normalise(text: str) -> str:
    """What was typed, upper-cased, without separators, O/I/L read as 0/1/1 (not checked: see `is_code`)."""
    kept = "".join(ch for ch in text if ch not in SEPARATORS)
    return kept.upper().translate(_READ_AS)


def is_code(symbols: str) -> bool:
    """Whether normalised text is a well-formed code (a code made by `new_code`, or a wrong guess of one)."""
    return len(symbols) == LENGTH and all(ch in ALPHABET for ch in symbols)


def prefix(symbols: str) -> str:
    """The part of a normalised code that wrong guesses are counted by."""
    return symbols[:PREFIX]
