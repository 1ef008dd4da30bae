"""The few labels the browser tests interpret, read from the app's own catalogue (ntm_field/ui/i18n.py)
in both languages, so a reworded label follows the catalogue instead of breaking a test."""

from __future__ import annotations

import re
from functools import cache

from ntm_field.domain.codes import CHECK_VALUES, Check
from ntm_field.ui.i18n import CATALOG, LANGUAGES, I18n


__all__ = ["CATALOG", "answer_of", "answer_sets", "answers", "check_names", "match", "member_number", "search", "texts"]


def template(key: str, lang: str) -> re.Pattern:
    """A catalogue entry as a regular expression: `{n}` matches a number, any other field some text."""
    parts = [p for p in re.split(r"(\{\w+\})", CATALOG[key][lang]) if p]

    def piece(i: int, p: str) -> str:
        if not p.startswith("{"):
            return re.escape(p)
        if p == "{n}":
            return r"(?P<n>\d+)"
        return rf"(?P<{p[1:-1]}>.+{'' if i == len(parts) - 1 else '?'})"  # a last field runs to the line's end

    return re.compile("".join(piece(i, p) for i, p in enumerate(parts)))


@cache
def patterns(key: str) -> tuple[re.Pattern, ...]:
    """The entry's patterns in every language (none when the catalogue no longer has it)."""
    return tuple(template(key, lang) for lang in LANGUAGES) if key in CATALOG else ()


def match(key: str, text: str) -> re.Match | None:
    """The catalogue entry `key` in either language matching the whole of `text`."""
    for pattern in patterns(key):
        found = pattern.fullmatch(text.strip())
        if found:
            return found
    return None


def search(key: str, text: str) -> re.Match | None:
    """The catalogue entry `key` found anywhere in `text`."""
    for pattern in patterns(key):
        found = pattern.search(text)
        if found:
            return found
    return None


def texts(key: str, **params) -> tuple[str, ...]:
    """The entry in every language."""
    return tuple(I18n(lang).t(key, **params) for lang in LANGUAGES)


# Labels that carry a member's number: a control holding one belongs to that member's card.
MEMBER_KEYS = ("form.full_name", "form.birth_year", "form.all_covered", "form.remove_member")


def member_number(name: str) -> tuple[str, int] | None:
    """("form.full_name", 3) for «Họ tên thành viên 3», else None."""
    for key in MEMBER_KEYS:
        found = match(key, name)
        if found:
            return key, int(found.group("n"))
    return None


@cache
def answers() -> dict[str, dict[str, str]]:
    """{check: {button label: value}} for every check's answer buttons, in both languages."""
    out: dict[str, dict[str, str]] = {}
    for check in Check:
        labels: dict[str, str] = {}
        for lang in LANGUAGES:
            i18n = I18n(lang)
            for value in CHECK_VALUES[check]:
                labels[i18n.value_short(check.value, value)] = value
                labels[i18n.value(check.value, value)] = value
        out[check.value] = labels
    return out


@cache
def check_names() -> dict[str, str]:
    """{label of a check in either language: check}."""
    return {I18n(lang).check(c.value): c.value for lang in LANGUAGES for c in Check}


def answer_of(name: str) -> list[tuple[str, str]]:
    """Every (check, value) an answer button's name can mean: «Đã có» → [("cccd", "yes")]; a name that
    also says its check («CCCD gắn chip: Đã có») → that check only."""
    for label, check in check_names().items():
        if label in name:
            rest = name.replace(label, " ")
            for button, value in sorted(answers()[check].items(), key=lambda kv: -len(kv[0])):
                if re.search(rf"(^|\W){re.escape(button)}($|\W)", rest):
                    return [(check, value)]
    return [(check, labels[name.strip()]) for check, labels in answers().items() if name.strip() in labels]


def answer_sets() -> dict[str, frozenset[str]]:
    """{check: the set of its buttons' short labels} per language (one set per check and language)."""
    out = {}
    for check in Check:
        for lang in LANGUAGES:
            i18n = I18n(lang)
            out[f"{check.value}/{lang}"] = frozenset(i18n.value_short(check.value, v) for v in CHECK_VALUES[check])
    return out
