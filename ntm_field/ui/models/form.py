"""Household form: what a surveyor fills at the doorstep, validated by the domain, saved by the store.

Built for few taps: the head of household is member 1 (typing the head's name
names that member), a new household starts surveyed with one member, "Đủ 4"
sets every check that applies to a member at once, a reason is offered for a
check that is not met (for an unanswered one: "declined" or "other"), and
checks that do not apply at the member's age are not asked. "Đã lưu" is set
only after the store committed.

Members are addressed by index (their place in the form) or by their id (what a
view holds: an index shifts when a member above is removed, an id does not).
Without the household's consent the form holds no personal data: names and
notes are cleared and refused (the contract's "Consent and personal data").
The whole state is a plain dict (`payload()` / `resume()`), kept as a draft.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from ntm_field.domain.codes import ANY_CHECK_REASONS, CHECK_VALUES, COVERED_VALUE, REASONS_FOR, UNKNOWN, Check
from ntm_field.domain.indicators import MIN_AGE
from ntm_field.domain.records import label_code
from ntm_field.domain.validation import Problem, ValidationError, validate_document
from ntm_field.store import HouseholdSummary, LocalStore
from ntm_field.ui.i18n import I18n, field_label
from ntm_field.ui.models.base import Observable
from ntm_field.ui.models.dates import parse_date, show_date

NOTICE_VERSION = "2024-04"
PAYLOAD_VERSION = 1

# Fields that hold personal data: empty, and not editable, without consent.
PERSONAL_FIELDS = ("head_name", "address", "note", "follow_up_note")
PERSONAL_MEMBER_FIELDS = ("full_name", "note")

Key = int | str  # a member's index in the form, or its id


@dataclass
class MemberDraft:
    id: str
    full_name: str = ""
    birth_year: str = ""
    presence: str = "resident"
    checks: dict[str, str] = field(default_factory=lambda: {c.value: UNKNOWN for c in Check})
    reasons: dict[str, str] = field(default_factory=dict)
    assisted: list[str] = field(default_factory=list)
    note: str = ""


class FormModel(Observable):
    def __init__(
        self,
        store: LocalStore,
        i18n: I18n,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        on_saved: Callable[[], None] = lambda: None,
    ):
        super().__init__()
        self.store, self.i18n, self._clock, self._new_id, self._on_saved = store, i18n, clock, new_id, on_saved
        self.errors: dict[str, str] = {}
        self.saved = False
        self.failure: str | None = None
        self.server_problem: str | None = None
        self.duplicate: HouseholdSummary | None = None  # another household with this house number
        self.removed: tuple[int, MemberDraft] | None = None  # the last member removed (undo)
        self.dirty = False  # changed since opened or saved: kept as a draft, asked about on leaving
        self.version = 0  # bumped by every change (a draft writer keeps the newest)
        self.new_household("")

    # ----- opening ------------------------------------------------------------------------

    def new_household(self, hamlet_code: str, household_id: str | None = None) -> None:
        """A fresh form; `household_id` (a UUID, e.g. from the /draft/ID route) names the household to be."""
        self.household_id = household_id if household_id and _is_uuid(household_id) else self._new_id()
        self.is_new = True
        self.hamlet_code = hamlet_code
        self.head_name = self.house_no = self.address = self.note = ""
        self.visit_status = "surveyed"
        self.consent = False
        self.follow_up_due = self.follow_up_note = ""
        self.surveyed_on: date = self._clock().date()
        self.surveyed_on_text = show_date(self.surveyed_on)
        self.members = [MemberDraft(id=self._member_id())]
        self.stored_house_no: str | None = None  # the number as saved (a duplicate warns when it changes)
        self._opened()

    @property
    def label_code(self) -> str:
        """The short code printed on the household's label."""
        return label_code(self.hamlet_code, self.household_id)

    def load(self, household_id: str) -> bool:
        """Open a stored household (its draft, when one is kept, is opened by `resume_draft`)."""
        household = self.store.get(household_id)
        if household is None:
            self.failure = self.i18n.t("form.not_found")
            self.changed()
            return False
        doc = household.to_document()
        self.household_id, self.is_new = household.id, False
        self.hamlet_code, self.head_name = doc["hamlet_code"], doc["head_name"]
        self.house_no, self.address, self.note = doc["house_no"], doc["address"], doc["note"]
        self.stored_house_no = doc["house_no"]
        self.visit_status, self.consent = doc["visit_status"], doc["consent"]["given"]
        self.surveyed_on = household.surveyed_on
        self.surveyed_on_text = show_date(self.surveyed_on)
        follow_up = doc["follow_up"] or {}
        self.follow_up_due, self.follow_up_note = show_date(follow_up.get("due", "")), follow_up.get("note", "")
        self.members = [
            MemberDraft(id=m["id"], full_name=m["full_name"], birth_year=str(m["birth_year"]), presence=m["presence"],
                        checks={c.value: m[c.value] for c in Check}, reasons=dict(m["reasons"]),
                        assisted=list(m["assisted"]), note=m["note"])  # fmt: skip
            for m in doc["members"]
        ]
        self._opened()
        fix = next((f for f in self.store.needs_fix() if f.household_id == household_id), None)
        if fix is not None:
            self.server_problem = self.i18n.t("form.server_says", field=field_label(self.i18n, fix.error_field),
                                              message=fix.error_message)  # fmt: skip
        return True

    def resume_draft(self, household_id: str) -> bool:
        """Open the draft kept for a household exactly as it was left; False when there is none."""
        payload = self.store.draft(household_id)
        if payload is None or not self.resume(payload):
            self.failure = self.i18n.t("form.not_found")
            self.changed()
            return False
        return True

    def payload(self) -> dict[str, Any]:
        """The form's whole state as plain data (what a draft keeps)."""
        names = ("household_id", "is_new", "hamlet_code", "head_name", "house_no", "address", "note",
                 "visit_status", "consent", "follow_up_due", "follow_up_note", "surveyed_on_text")  # fmt: skip
        state = {name: getattr(self, name) for name in names}
        return {"v": PAYLOAD_VERSION, **state, "surveyed_on": self.surveyed_on.isoformat(),
                "members": [asdict(m) for m in self.members]}  # fmt: skip

    def resume(self, payload: dict[str, Any]) -> bool:
        """Restore a `payload()`; False (and nothing changed) when it is not one this version wrote."""
        try:
            if payload.get("v") != PAYLOAD_VERSION:
                return False
            members = [MemberDraft(**m) for m in payload["members"]]
            surveyed_on = date.fromisoformat(payload["surveyed_on"])
            texts = {name: str(payload[name]) for name in ("household_id", "hamlet_code", "head_name", "house_no",
                     "address", "note", "visit_status", "follow_up_due", "follow_up_note", "surveyed_on_text")}  # fmt: skip
        except (KeyError, TypeError, ValueError):
            return False
        for name, value in texts.items():
            setattr(self, name, value)
        self.is_new, self.consent = bool(payload["is_new"]), bool(payload["consent"])
        stored = None if self.is_new else self.store.get(self.household_id)
        self.stored_house_no = stored.house_no if stored else None
        self.surveyed_on, self.members = surveyed_on, members
        self._opened()
        self.dirty = True  # a resumed draft is still unsaved work
        return True

    def _opened(self) -> None:
        self.errors, self.saved, self.failure, self.server_problem = {}, False, None, None
        self.duplicate, self.removed, self.dirty = None, None, False
        self.version += 1
        self.changed()

    # ----- editing ------------------------------------------------------------------------

    def set_surveyed_on(self, text: str) -> None:
        """The visit date (dd/mm/yyyy, or picked); kept as typed until it parses (ages count from its year)."""
        self.surveyed_on_text = text
        parsed = parse_date(text)
        if parsed is not None:
            self.surveyed_on = parsed
        self._edited()

    def pick_surveyed_on(self, picked: date) -> None:
        self.set_surveyed_on(show_date(picked))

    def pick_follow_up(self, picked: date) -> None:
        self.set_field("follow_up_due", show_date(picked))

    def set_field(self, name: str, value) -> None:
        if name == "consent":
            self.set_consent(bool(value))
            return
        if name in PERSONAL_FIELDS and not self.consent and value:
            return  # the view disables these fields without consent; nothing personal is kept
        if name == "head_name" and self.members and self.members[0].full_name in ("", self.head_name):
            self.members[0].full_name = value  # the head is member 1 unless named otherwise
        setattr(self, name, value)
        self._edited()

    def set_consent(self, given: bool) -> None:
        """Without consent the household carries no personal data: names and notes are cleared."""
        self.consent = given
        if not given:
            for name in PERSONAL_FIELDS:
                setattr(self, name, "")
            for member in self.members:
                for name in PERSONAL_MEMBER_FIELDS:
                    setattr(member, name, "")
            if self.removed:
                self.removed = None  # an undo would bring a name back
        self._edited()

    @property
    def holds_personal_data(self) -> bool:
        """Something that withdrawing consent would clear (the view asks first)."""
        return any(getattr(self, name).strip() for name in PERSONAL_FIELDS) or any(
            getattr(m, name).strip() for m in self.members for name in PERSONAL_MEMBER_FIELDS
        )

    def add_member(self) -> None:
        self.members.append(MemberDraft(id=self._member_id()))
        self._edited()

    def remove_member(self, key: Key) -> None:
        """Remove a member; `undo_remove` brings the last one removed back to its place."""
        index = self.index(key)
        if index is None:
            return
        self.removed = (index, self.members.pop(index))
        self._edited()

    def undo_remove(self, member_id: str | None = None) -> None:
        """Bring back the member removed last (only that one, when `member_id` names it)."""
        if self.removed is None or (member_id is not None and self.removed[1].id != member_id):
            return
        index, member = self.removed
        self.members.insert(min(index, len(self.members)), member)
        self.removed = None
        self._edited()

    def set_member(self, key: Key, name: str, value: str) -> None:
        member = self._member(key)
        if member is None or (name in PERSONAL_MEMBER_FIELDS and not self.consent and value):
            return
        setattr(member, name, value)
        self._edited()

    def set_check(self, key: Key, check: str, value: str) -> None:
        member = self._member(key)
        if member is None:
            return
        member.checks[check] = value
        if value == COVERED_VALUE[Check(check)] or member.reasons.get(check) not in self._reasons(check, value):
            member.reasons.pop(check, None)  # a reason fits a value: a met check has none
        self._edited()

    def all_covered(self, key: Key) -> None:
        """"Đủ 4": every check that applies at the member's age is covered."""
        member = self._member(key)
        if member is None:
            return
        for check in self._applicable(member):
            member.checks[check.value] = COVERED_VALUE[check]
            member.reasons.pop(check.value, None)
        self._edited()

    def set_reason(self, key: Key, check: str, reason: str | None) -> None:
        member = self._member(key)
        if member is None:
            return
        if reason:
            member.reasons[check] = reason
        else:
            member.reasons.pop(check, None)
        self._edited()

    def toggle_assisted(self, key: Key, code: str) -> None:
        member = self._member(key)
        if member is None:
            return
        assisted = member.assisted
        assisted.remove(code) if code in assisted else assisted.append(code)
        self._edited()

    def _edited(self) -> None:
        self.saved, self.dirty, self.duplicate = False, True, None
        self.version += 1
        self.changed()

    # ----- what to show ------------------------------------------------------------------

    def index(self, key: Key) -> int | None:
        if isinstance(key, int):
            return key if 0 <= key < len(self.members) else None
        return next((i for i, m in enumerate(self.members) if m.id == key), None)

    def _member(self, key: Key) -> MemberDraft | None:
        index = self.index(key)
        return None if index is None else self.members[index]

    def applicable(self, key: Key) -> list[Check]:
        """Checks asked for the member: by age once the birth year is whole (all four before)."""
        member = self._member(key)
        return [] if member is None else self._applicable(member)

    def _applicable(self, member: MemberDraft) -> list[Check]:
        if member.presence in ("moved_out", "deceased"):
            return []
        year = _year(member.birth_year)
        if year is None:
            return list(Check)
        return [check for check in Check if self.surveyed_on.year - year >= MIN_AGE[check]]

    def values(self, check: Check) -> tuple[str, ...]:
        """The buttons of a check, most covered first."""
        return tuple(reversed(CHECK_VALUES[check]))

    def needs_reason(self, key: Key, check: Check) -> bool:
        """A reason is offered for every check that is not met, an unanswered one included."""
        member = self._member(key)
        return member is not None and member.checks[check.value] != COVERED_VALUE[check]

    def reasons(self, key: Key, check: Check) -> tuple[str, ...]:
        """The reasons that fit the check and its value (a reason already recorded stays offered)."""
        member = self._member(key)
        if member is None:
            return ()
        offered = self._reasons(check.value, member.checks[check.value])
        current = member.reasons.get(check.value)
        return offered + ((current,) if current and current not in offered else ())

    @staticmethod
    def _reasons(check: str, value: str) -> tuple[str, ...]:
        if value == UNKNOWN:
            return tuple(r.value for r in ANY_CHECK_REASONS)
        return tuple(r.value for r in (*REASONS_FOR[Check(check)], *ANY_CHECK_REASONS))

    def field_order(self) -> list[str]:
        """Every field path in the order the form shows them (the first error is scrolled to)."""
        head = ["head_name", "house_no", "address", "visit_status", "surveyed_on", "consent"]
        members = []
        for i in range(len(self.members)):
            members += [f"members[{i}].{name}" for name in ("full_name", "birth_year", "presence")]
            for check in Check:
                members += [f"members[{i}].{check.value}", f"members[{i}].reasons.{check.value}"]
            members += [f"members[{i}].assisted", f"members[{i}].note"]
        return [*head, "members", *members, "follow_up.due", "follow_up.note", "note"]

    @property
    def first_error(self) -> str | None:
        order = {path: n for n, path in enumerate(self.field_order())}
        return min(self.errors, key=lambda path: order.get(path, len(order)), default=None)

    # ----- saving ------------------------------------------------------------------------

    def save(self, *, despite_duplicate: bool = False) -> bool:
        """Validate and save; True once the store committed ("Đã lưu"). A house number another household
        of the hamlet already has stops the save once (`duplicate`): save again with `despite_duplicate`."""
        self.errors, self.failure, self.saved, self.duplicate = {}, None, False, None
        document, problems = self._document()
        if not problems and not despite_duplicate and document["house_no"] not in ("", self.stored_house_no):
            self.duplicate = self.store.same_house_no(self.hamlet_code, document["house_no"],
                                                      other_than=self.household_id)  # fmt: skip
            if self.duplicate is not None:
                self.changed()
                return False
        if not problems:
            try:
                self.store.save_document(document)
            except ValidationError as error:
                problems = error.problems
        for problem in problems:
            self.errors.setdefault(problem.field, problem.message(self.i18n.lang).split(": ", 1)[-1])
        if self.errors:
            self.failure = self.i18n.t("form.errors", count=len(self.errors))
        else:
            self.saved, self.is_new, self.server_problem, self.dirty, self.removed = True, False, None, False, None
            self.stored_house_no = document["house_no"]
            self._on_saved()
        self.changed()
        return self.saved

    def _document(self) -> tuple[dict, list[Problem]]:
        problems: list[Problem] = []
        members = []
        drafts = self.members
        if self.visit_status != "surveyed":  # nobody met: an untouched member row is not a member
            drafts = [m for m in drafts if m.full_name.strip() or m.birth_year.strip()]
        for i, m in enumerate(drafts):
            year = _year(m.birth_year)
            if year is None:
                problems.append(Problem(f"members[{i}].birth_year", _year_problem(m.birth_year)))
            applies = {c.value for c in self._applicable(m)}
            members.append({
                "id": m.id, "full_name": m.full_name.strip(), "birth_year": year or 0, "presence": m.presence,
                **{c: (v if c in applies else UNKNOWN) for c, v in m.checks.items()},
                "reasons": {c: r for c, r in m.reasons.items() if c in applies}, "assisted": list(m.assisted),
                "note": m.note,
            })  # fmt: skip
        if parse_date(self.surveyed_on_text) is None:
            problems.append(Problem("surveyed_on", "form_date"))
        follow_up = None
        if self.follow_up_due.strip():
            due = parse_date(self.follow_up_due)
            if due is None:
                problems.append(Problem("follow_up.due", "form_date"))
            else:
                follow_up = {"due": due.isoformat(), "note": self.follow_up_note.strip()}
        document = {
            "id": self.household_id, "hamlet_code": self.hamlet_code, "house_no": self.house_no.strip(),
            "address": self.address.strip(), "head_name": self.head_name.strip(), "visit_status": self.visit_status,
            "surveyed_on": self.surveyed_on.isoformat(),
            "consent": {"given": bool(self.consent), "notice_version": NOTICE_VERSION},
            "follow_up": follow_up, "note": self.note.strip(), "members": members,
        }  # fmt: skip
        if problems:  # the form's own problems first; the domain's for the rest
            reported = {p.field for p in problems}
            problems += [p for p in validate_document(document, today=self._clock().date()) if p.field not in reported]
        return document, _translated(problems, self.i18n)

    def _member_id(self) -> str:
        # 8 hex digits that differ whenever the ids differ (a prefix of the id does not: counters, time-ordered ids)
        return hashlib.sha256(self._new_id().encode()).hexdigest()[:8]


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def _year(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) == 4 else None


def _year_problem(text: str) -> str:
    """Why a birth year is not a year yet: empty, a partial year ("2", "197"), or not digits."""
    text = text.strip()
    if not text:
        return "form_birth_year_empty"
    if text.isdigit() and len(text) < 4:
        return "form_birth_year_partial"
    return "form_birth_year"


_FORM_MESSAGES = {
    "form_birth_year": "form.birth_year_invalid",
    "form_birth_year_partial": "form.birth_year_partial",
    "form_birth_year_empty": "form.birth_year_empty",
    "form_date": "form.date_invalid",
}


def _translated(problems: list[Problem], i18n: I18n) -> list[Problem]:
    out = []
    for problem in problems:
        if problem.code in _FORM_MESSAGES:
            out.append(_Message(problem.field, i18n.t(_FORM_MESSAGES[problem.code])))
        else:
            out.append(problem)
    return out


@dataclass(frozen=True)
class _Message:
    """A form problem with its text already in the user's language."""

    field: str
    text: str

    def message(self, lang: str) -> str:
        return f"{self.field}: {self.text}"
