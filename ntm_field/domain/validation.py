"""Validation of a household document against the sync contract.

`validate_document` returns every problem it finds, each with the path of the
field (`members[2].vneid`) and a message in Vietnamese and English. Messages
name the field and the rule, never the value: values are personal data.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ntm_field.domain.codes import (
    CHECK_VALUES,
    COVERED_VALUE,
    Assistance,
    Check,
    Presence,
    Reason,
    VisitStatus,
)
from ntm_field.domain.records import MAX_MEMBER_ID, MAX_MEMBERS, MAX_NAME

MAX_HOUSE_NO = 40
MAX_ADDRESS = 200
MAX_NOTE = 1000
MAX_NOTICE_VERSION = 40
MIN_BIRTH_YEAR = 1900

HAMLET_CODE = re.compile(r"\d{5}-\d{2,3}")
# v1.1: ASCII letters, digits, _ and - only, so that a conflict path `members[id=…]` always parses back
MEMBER_ID = re.compile(r"[A-Za-z0-9_-]+")
# Code values as plain strings, computed once: Enum attribute access dominated validating a push.
_PRESENCES = [p.value for p in Presence]
_CHECK_CHOICES = [(check.value, list(CHECK_VALUES[check])) for check in Check]
_COVERED_BY_NAME = {check.value: COVERED_VALUE[check] for check in Check}
_REASONS = [r.value for r in Reason]
_ASSISTANCE = [a.value for a in Assistance]
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 controls but tab and newline, DEL, C1 controls

HOUSEHOLD_KEYS = {
    "id", "hamlet_code", "house_no", "address", "head_name", "visit_status", "surveyed_on",
    "consent", "follow_up", "note", "members", "updated_at",
}  # fmt: skip
REQUIRED_HOUSEHOLD_KEYS = ("id", "hamlet_code", "head_name", "visit_status", "surveyed_on", "members")
MEMBER_KEYS = {
    "id", "full_name", "birth_year", "presence", "cccd", "vneid", "smartphone", "sim",
    "reasons", "assisted", "note",
}  # fmt: skip
REQUIRED_MEMBER_KEYS = ("id", "full_name", "birth_year", "presence", "cccd", "vneid", "smartphone", "sim")

MESSAGES: dict[str, dict[str, str]] = {
    "out_of_scope": {"vi": "thôn/ấp không thuộc phạm vi của thiết bị này", "en": "is not a hamlet this device covers"},
    "not_object": {"vi": "phải là một đối tượng JSON", "en": "must be a JSON object"},
    "required": {"vi": "bắt buộc phải có", "en": "is required"},
    "unknown_key": {"vi": "trường không được phép", "en": "is not a field of the household document"},
    "not_string": {"vi": "phải là chuỗi ký tự", "en": "must be a string"},
    "not_integer": {"vi": "phải là số nguyên", "en": "must be a whole number"},
    "not_boolean": {"vi": "phải là đúng/sai", "en": "must be true or false"},
    "not_list": {"vi": "phải là danh sách", "en": "must be a list"},
    "empty": {"vi": "không được để trống", "en": "must not be empty"},
    "too_long": {"vi": "dài quá {max} ký tự", "en": "is longer than {max} characters"},
    "control_character": {"vi": "chứa ký tự điều khiển không hợp lệ", "en": "contains a control character"},
    "not_uuid": {"vi": "phải là mã UUID", "en": "must be a UUID"},
    "bad_hamlet_code": {
        "vi": "phải có dạng mã xã-số thôn, ví dụ 25216-03",
        "en": "must look like commune code-hamlet number, e.g. 25216-03",
    },
    "bad_value": {"vi": "giá trị không hợp lệ (cho phép: {allowed})", "en": "is not one of: {allowed}"},
    "bad_date": {"vi": "phải là ngày dạng YYYY-MM-DD", "en": "must be a date as YYYY-MM-DD"},
    "future_date": {"vi": "không được sau ngày {latest}", "en": "must not be after {latest}"},
    "bad_datetime": {
        "vi": "phải là thời điểm RFC 3339 có múi giờ",
        "en": "must be an RFC 3339 time with an offset",
    },
    "birth_year_range": {
        "vi": "phải từ {min} đến năm khảo sát {max}",
        "en": "must be between {min} and the survey year {max}",
    },
    "members_required": {
        "vi": "hộ đã khảo sát phải có ít nhất một thành viên",
        "en": "a surveyed household needs at least one member",
    },
    "too_many": {"vi": "nhiều nhất {max} mục", "en": "has more than {max} entries"},
    "bad_member_id": {
        "vi": "chỉ gồm chữ cái không dấu A–Z, a–z, chữ số 0–9, dấu _ và -",
        "en": "may hold only the letters A–Z a–z, the digits 0–9, _ and -",
    },
    "duplicate": {"vi": "bị trùng trong hộ", "en": "is used twice in the household"},
    "reason_for_met_check": {
        "vi": "chỉ ghi lý do cho tiêu chí chưa đạt",
        "en": "a reason is only for a check that is not met",
    },
    "personal_without_consent": {
        "vi": "hộ chưa đồng ý cung cấp thông tin: không được ghi họ tên, địa chỉ hay ghi chú",
        "en": "must be empty: the household did not consent to personal data",
    },
    "bad_house_no": {
        "vi": "Số nhà chỉ gồm chữ, số, khoảng trắng và các dấu / - . , ( ) # ' (không dùng biểu tượng cảm xúc hay ký hiệu khác)",
        "en": "House number may hold only letters, digits, spaces and / - . , ( ) # ' (no emoji or other symbols)",
    },
    "consent_version_required": {
        "vi": "cần ghi phiên bản thông báo đã đọc cho người dân",
        "en": "the version of the notice shown is required when consent is given",
    },
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a document: where (`field`), which rule (`code`)."""

    field: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "vi") -> str:
        """A one-line message naming the field, in 'vi' or 'en'."""
        template = MESSAGES[self.code].get(lang) or MESSAGES[self.code]["vi"]
        return f"{self.field}: {template.format(**self.params)}"


class ValidationError(ValueError):
    """A household document broke the contract; nothing of it was stored."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.message("en") for p in problems))


def validate_document(doc: Any, *, today: date | None) -> list[Problem]:
    """Every problem of a household document, in document order; [] when valid.

    `today` is the server's (or device's) date: `surveyed_on` may be at most one
    day after it. None skips that bound (re-checking the merge of two documents
    that were each checked against the date when they were written).
    """
    problems: list[Problem] = []
    if not isinstance(doc, dict):
        return [Problem("data", "not_object")]
    _check_keys(doc, "", HOUSEHOLD_KEYS, REQUIRED_HOUSEHOLD_KEYS, problems)

    if "id" in doc and _string(doc, "id", "id", problems, max_len=36):
        if not _is_uuid(doc["id"]):
            problems.append(Problem("id", "not_uuid"))
    if "hamlet_code" in doc and _string(doc, "hamlet_code", "hamlet_code", problems, max_len=20):
        if not HAMLET_CODE.fullmatch(doc["hamlet_code"]):
            problems.append(Problem("hamlet_code", "bad_hamlet_code"))
    for key, limit in (("house_no", MAX_HOUSE_NO), ("address", MAX_ADDRESS), ("note", MAX_NOTE)):
        if key in doc and _string(doc, key, key, problems, max_len=limit, allow_empty=True):
            if key == "house_no" and not is_house_no(doc[key]):
                problems.append(Problem("house_no", "bad_house_no"))
    consented = _consented(doc)
    if "head_name" in doc:
        _string(doc, "head_name", "head_name", problems, max_len=MAX_NAME, allow_empty=not consented)
    status_ok = "visit_status" in doc and _choice(
        doc, "visit_status", "visit_status", [s.value for s in VisitStatus], problems
    )
    survey_year = _survey_year(doc, today, problems)
    if "consent" in doc:
        _check_consent(doc["consent"], problems)
    if "follow_up" in doc and doc["follow_up"] is not None:
        _check_follow_up(doc["follow_up"], problems)
    if "updated_at" in doc and _string(doc, "updated_at", "updated_at", problems, max_len=40):
        if not _is_rfc3339(doc["updated_at"]):
            problems.append(Problem("updated_at", "bad_datetime"))
    if "members" in doc:
        members = doc["members"]
        if not isinstance(members, list):
            problems.append(Problem("members", "not_list"))
        else:
            if status_ok and doc["visit_status"] == VisitStatus.SURVEYED and not members:
                problems.append(Problem("members", "members_required"))
            elif len(members) > MAX_MEMBERS:  # past the bound, checking each member is work for nothing
                problems.append(Problem("members", "too_many", {"max": MAX_MEMBERS}))
            else:
                seen: set[str] = set()
                for index, member in enumerate(members):
                    _check_member(member, f"members[{index}]", survey_year, seen, problems, consented)
    if not consented:
        problems += _personal_data(doc)
    return problems


def _consented(doc: dict) -> bool:
    """False when the household did not consent (v1.1: then it holds no personal data, and the names
    may be empty). An absent `consent` is not consent: the record reads it as `given: false`, so a
    document without one that carried names would be stored as names without consent."""
    if "consent" not in doc:
        return False
    consent = doc["consent"]
    return not (isinstance(consent, dict) and consent.get("given") is False)


def _personal_data(doc: dict) -> list[Problem]:
    """Each personal field that is not empty in a household without consent, in document order."""
    found = [key for key in ("head_name", "address", "note") if _filled(doc.get(key))]
    follow_up = doc.get("follow_up")
    if isinstance(follow_up, dict) and _filled(follow_up.get("note")):
        found.append("follow_up.note")
    members = doc.get("members")
    for index, member in enumerate(members if isinstance(members, list) else []):
        if isinstance(member, dict):
            found += [f"members[{index}].{key}" for key in ("full_name", "note") if _filled(member.get(key))]
    return [Problem(path, "personal_without_consent") for path in found]


def _filled(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _check_member(
    member: Any, path: str, survey_year: int | None, seen: set[str], problems: list[Problem], consented: bool = True
) -> None:
    if not isinstance(member, dict):
        problems.append(Problem(path, "not_object"))
        return
    _check_keys(member, f"{path}.", MEMBER_KEYS, REQUIRED_MEMBER_KEYS, problems)
    if "id" in member and _string(member, "id", f"{path}.id", problems, max_len=MAX_MEMBER_ID):
        if not MEMBER_ID.fullmatch(member["id"]):
            problems.append(Problem(f"{path}.id", "bad_member_id"))
        elif member["id"] in seen:
            problems.append(Problem(f"{path}.id", "duplicate"))
        seen.add(member["id"])
    if "full_name" in member:
        _string(member, "full_name", f"{path}.full_name", problems, max_len=MAX_NAME, allow_empty=not consented)
    if "birth_year" in member:
        year = member["birth_year"]
        if type(year) is not int:  # bool is an int subclass: refuse it explicitly
            problems.append(Problem(f"{path}.birth_year", "not_integer"))
        elif survey_year is not None and not MIN_BIRTH_YEAR <= year <= survey_year:
            problems.append(
                Problem(f"{path}.birth_year", "birth_year_range", {"min": MIN_BIRTH_YEAR, "max": survey_year})
            )
    if "presence" in member:
        _choice(member, "presence", f"{path}.presence", _PRESENCES, problems)
    valid_checks = {
        name for name, allowed in _CHECK_CHOICES if name in member and _choice(member, name, f"{path}.{name}", allowed, problems)
    }
    if "reasons" in member:
        _check_reasons(member, path, valid_checks, problems)
    if "assisted" in member:
        _check_assisted(member["assisted"], f"{path}.assisted", problems)
    if "note" in member:
        _string(member, "note", f"{path}.note", problems, max_len=MAX_NOTE, allow_empty=True)


def _check_reasons(member: dict, path: str, valid_checks: set[str], problems: list[Problem]) -> None:
    reasons = member["reasons"]
    if not isinstance(reasons, dict):
        problems.append(Problem(f"{path}.reasons", "not_object"))
        return
    if len(reasons) > len(_COVERED_BY_NAME):  # at most one reason per check
        problems.append(Problem(f"{path}.reasons", "too_many", {"max": len(_COVERED_BY_NAME)}))
        return
    for key, value in reasons.items():
        where = f"{path}.reasons.{key}"
        if key not in _COVERED_BY_NAME:
            problems.append(Problem(where, "unknown_key"))
        elif not isinstance(value, str):
            problems.append(Problem(where, "not_string"))
        elif value not in _REASONS:
            problems.append(Problem(where, "bad_value", {"allowed": ", ".join(_REASONS)}))
        elif key in valid_checks and member[key] == _COVERED_BY_NAME[key]:
            problems.append(Problem(where, "reason_for_met_check"))


def _check_assisted(assisted: Any, path: str, problems: list[Problem]) -> None:
    """Each help code at most once, so at most as many items as there are codes: a longer list is
    refused before its items are looked at (100k repeats of one code cost no more than eight)."""
    if not isinstance(assisted, list):
        problems.append(Problem(path, "not_list"))
        return
    if len(assisted) > len(_ASSISTANCE):
        problems.append(Problem(path, "too_many", {"max": len(_ASSISTANCE)}))
        return
    seen: set[str] = set()
    for index, item in enumerate(assisted):
        where = f"{path}[{index}]"
        if not isinstance(item, str):
            problems.append(Problem(where, "not_string"))
        elif item not in _ASSISTANCE:
            problems.append(Problem(where, "bad_value", {"allowed": ", ".join(_ASSISTANCE)}))
        elif item in seen:
            problems.append(Problem(where, "duplicate"))
        else:
            seen.add(item)


def _check_consent(consent: Any, problems: list[Problem]) -> None:
    if not isinstance(consent, dict):
        problems.append(Problem("consent", "not_object"))
        return
    _check_keys(consent, "consent.", {"given", "notice_version"}, ("given", "notice_version"), problems)
    if "given" in consent and not isinstance(consent["given"], bool):
        problems.append(Problem("consent.given", "not_boolean"))
    if "notice_version" in consent and _string(
        consent, "notice_version", "consent.notice_version", problems, max_len=MAX_NOTICE_VERSION, allow_empty=True
    ):
        if consent.get("given") is True and not consent["notice_version"].strip():
            problems.append(Problem("consent.notice_version", "consent_version_required"))


def _check_follow_up(follow_up: Any, problems: list[Problem]) -> None:
    if not isinstance(follow_up, dict):
        problems.append(Problem("follow_up", "not_object"))
        return
    _check_keys(follow_up, "follow_up.", {"due", "note"}, ("due",), problems)
    if "due" in follow_up and _string(follow_up, "due", "follow_up.due", problems, max_len=10):
        if _parse_date(follow_up["due"]) is None:
            problems.append(Problem("follow_up.due", "bad_date"))
    if "note" in follow_up:
        _string(follow_up, "note", "follow_up.note", problems, max_len=MAX_NOTE, allow_empty=True)


def _survey_year(doc: dict, today: date | None, problems: list[Problem]) -> int | None:
    """The year ages are counted in, or None when `surveyed_on` is unusable."""
    if "surveyed_on" not in doc or not _string(doc, "surveyed_on", "surveyed_on", problems, max_len=10):
        return None
    surveyed_on = _parse_date(doc["surveyed_on"])
    if surveyed_on is None:
        problems.append(Problem("surveyed_on", "bad_date"))
        return None
    if today is None:
        return surveyed_on.year
    latest = date.fromordinal(today.toordinal() + 1)
    if surveyed_on > latest:
        problems.append(Problem("surveyed_on", "future_date", {"latest": latest.isoformat()}))
        return None
    return surveyed_on.year


def _check_keys(
    obj: dict, prefix: str, allowed: set[str], required: tuple[str, ...], problems: list[Problem]
) -> None:
    for key in required:
        if key not in obj:
            problems.append(Problem(f"{prefix}{key}", "required"))
    for key in obj:
        if key not in allowed:
            # the key itself is client text: name it only if it is a plain identifier
            shown = key if isinstance(key, str) and key.isidentifier() and len(key) <= 40 else "?"
            problems.append(Problem(f"{prefix}{shown}", "unknown_key"))


def _string(
    obj: dict, key: str, path: str, problems: list[Problem], *, max_len: int, allow_empty: bool = False
) -> bool:
    value = obj[key]
    if not isinstance(value, str):
        problems.append(Problem(path, "not_string"))
        return False
    if not allow_empty and not value.strip():
        problems.append(Problem(path, "empty"))
        return False
    if len(value) > max_len:
        problems.append(Problem(path, "too_long", {"max": max_len}))
        return False
    if _CONTROL.search(value):
        problems.append(Problem(path, "control_character"))
        return False
    return True


# What a house number may hold besides letters (any script) and digits: spaces and the punctuation
# addresses use ("12/3B", "Kiốt 5 (chợ)", "Lô A-12", "Số 7, Tổ 3", "#4", "12'"), typographic variants included.
HOUSE_NO_PUNCTUATION = frozenset(" /-\u2010\u2011\u2013.,()#'\u2019:&+_")
_VARIATION_SELECTORS = (range(0xFE00, 0xFE10), range(0xE0100, 0xE01F0))


def is_house_no(text: str) -> bool:
    """Letters of any script (Vietnamese with its marks, composed or not), digits, spaces and common
    punctuation only: emoji, symbols, keycaps and flags are refused. A combining mark is allowed only on a
    letter (so "1️⃣", a digit with an emoji selector and an enclosing keycap, is refused)."""
    after_letter = False
    for ch in text:
        category = unicodedata.category(ch)
        if category.startswith("L"):
            after_letter = True
        elif category in ("Mn", "Mc") and after_letter and not any(ord(ch) in r for r in _VARIATION_SELECTORS):
            continue
        elif category == "Nd" or category == "Zs" or ch in HOUSE_NO_PUNCTUATION:
            after_letter = False
        else:
            return False
    return True


def _choice(obj: dict, key: str, path: str, allowed: list[str], problems: list[Problem]) -> bool:
    value = obj[key]
    if not isinstance(value, str) or value not in allowed:
        problems.append(Problem(path, "bad_value", {"allowed": ", ".join(allowed)}))
        return False
    return True


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower() and len(value) == 36
    except ValueError:
        return False


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse_date(value: str) -> date | None:
    # fromisoformat alone also takes week dates and compact forms: the wire allows YYYY-MM-DD only
    if not ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _is_rfc3339(value: str) -> bool:
    # fromisoformat alone also takes offsets with seconds and other ISO forms RFC 3339 does not allow
    if not RFC3339.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
