"""Household form: the draft a surveyor fills at the doorstep, validated by the domain, saved by the store.

Built for few taps: the head of household is member 1 (typing the head's name
names that member), a new household starts surveyed with one member, "Đủ 4"
sets every check that applies to a member at once, a reason is offered only
for a check that is not met, and checks that do not apply at the member's age
are not asked. "Đã lưu" is set only after the store committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from ntm_field.domain.codes import CHECK_VALUES, COVERED_VALUE, Check
from ntm_field.domain.indicators import MIN_AGE
from ntm_field.domain.records import label_code
from ntm_field.domain.validation import Problem, ValidationError, validate_document
from ntm_field.store import LocalStore
from ntm_field.ui.i18n import I18n, field_label
from ntm_field.ui.models.base import Observable

NOTICE_VERSION = "2024-04"


@dataclass
class MemberDraft:
    id: str
    full_name: str = ""
    birth_year: str = ""
    presence: str = "resident"
    checks: dict[str, str] = field(default_factory=lambda: {c.value: "unknown" for c in Check})
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
        self.layout = 0  # bumped when the form's shape changes (members, checks shown): views rebuild then
        self.saved = False
        self.failure: str | None = None
        self.server_problem: str | None = None
        self.new_household("")

    # ----- loading ------------------------------------------------------------------------

    def new_household(self, hamlet_code: str) -> None:
        self.household_id = self._new_id()
        self.is_new = True
        self.hamlet_code = hamlet_code
        self.head_name = self.house_no = self.address = self.note = ""
        self.visit_status = "surveyed"
        self.consent = False
        self.follow_up_due = self.follow_up_note = ""
        self.surveyed_on: date = self._clock().date()
        self.surveyed_on_text = self.surveyed_on.isoformat()
        self.members = [MemberDraft(id=self._member_id())]
        self._reset()

    @property
    def label_code(self) -> str:
        """The short code printed on the household's label."""
        return label_code(self.hamlet_code, self.household_id)

    def load(self, household_id: str) -> bool:
        household = self.store.get(household_id)
        if household is None:
            self.failure = self.i18n.t("form.not_found")
            self.changed()
            return False
        doc = household.to_document()
        self.household_id, self.is_new = household.id, False
        self.hamlet_code, self.head_name = doc["hamlet_code"], doc["head_name"]
        self.house_no, self.address, self.note = doc["house_no"], doc["address"], doc["note"]
        self.visit_status, self.consent = doc["visit_status"], doc["consent"]["given"]
        self.surveyed_on = household.surveyed_on
        self.surveyed_on_text = self.surveyed_on.isoformat()
        follow_up = doc["follow_up"] or {}
        self.follow_up_due, self.follow_up_note = follow_up.get("due", ""), follow_up.get("note", "")
        self.members = [
            MemberDraft(id=m["id"], full_name=m["full_name"], birth_year=str(m["birth_year"]), presence=m["presence"],
                        checks={c.value: m[c.value] for c in Check}, reasons=dict(m["reasons"]),
                        assisted=list(m["assisted"]), note=m["note"])  # fmt: skip
            for m in doc["members"]
        ]
        self._reset()
        fix = next((f for f in self.store.needs_fix() if f.household_id == household_id), None)
        if fix is not None:
            self.server_problem = self.i18n.t("form.server_says", field=field_label(self.i18n, fix.error_field),
                                              message=fix.error_message)  # fmt: skip
        return True

    def _reset(self) -> None:
        self.errors, self.saved, self.failure, self.server_problem = {}, False, None, None
        self.layout += 1
        self.changed()

    # ----- editing ------------------------------------------------------------------------

    def set_surveyed_on(self, text: str) -> None:
        """The visit date (YYYY-MM-DD); kept as typed until it parses (ages count from its year)."""
        self.surveyed_on_text = text
        try:
            parsed = date.fromisoformat(text.strip())
        except ValueError:
            return
        reshaped = parsed.year != self.surveyed_on.year
        self.surveyed_on = parsed
        self._edited(reshaped=reshaped)

    def set_field(self, name: str, value) -> None:
        if name == "head_name" and self.members and self.members[0].full_name in ("", self.head_name):
            self.members[0].full_name = value  # the head is member 1 unless named otherwise
        setattr(self, name, value)
        self._edited(reshaped=name in ("visit_status", "consent"))

    def add_member(self) -> None:
        self.members.append(MemberDraft(id=self._member_id()))
        self._edited(reshaped=True)

    def remove_member(self, index: int) -> None:
        del self.members[index]
        self._edited(reshaped=True)

    def set_member(self, index: int, name: str, value: str) -> None:
        before = self.applicable(index)
        setattr(self.members[index], name, value)
        self._edited(reshaped=self.applicable(index) != before)

    def set_check(self, index: int, check: str, value: str) -> None:
        member = self.members[index]
        member.checks[check] = value
        if value in (COVERED_VALUE[Check(check)], "unknown"):
            member.reasons.pop(check, None)  # a reason is for a check that is not met (and is shown only then)
        self._edited()

    def all_covered(self, index: int) -> None:
        """"Đủ 4": every check that applies at the member's age is covered."""
        member = self.members[index]
        for check in self.applicable(index):
            member.checks[check.value] = COVERED_VALUE[check]
            member.reasons.pop(check.value, None)
        self._edited()

    def set_reason(self, index: int, check: str, reason: str | None) -> None:
        reasons = self.members[index].reasons
        if reason:
            reasons[check] = reason
        else:
            reasons.pop(check, None)
        self._edited()

    def toggle_assisted(self, index: int, code: str) -> None:
        assisted = self.members[index].assisted
        assisted.remove(code) if code in assisted else assisted.append(code)
        self._edited()

    def _edited(self, *, reshaped: bool = True) -> None:
        """Typing in a text field does not reshape the form (a rebuild would take the focus away)."""
        self.saved = False
        if reshaped:
            self.layout += 1
        self.changed()

    # ----- what to show ------------------------------------------------------------------

    def applicable(self, index: int) -> list[Check]:
        """Checks asked for the member: by age once the birth year is known (all four before)."""
        return self._applicable(self.members[index])

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

    def needs_reason(self, index: int, check: Check) -> bool:
        return self.members[index].checks[check.value] not in (COVERED_VALUE[check], "unknown")

    # ----- saving ------------------------------------------------------------------------

    def save(self) -> bool:
        """Validate and save; True once the store committed ("Đã lưu")."""
        self.errors, self.failure, self.saved = {}, None, False
        document, problems = self._document()
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
            self.saved, self.is_new, self.server_problem = True, False, None
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
                problems.append(Problem(f"members[{i}].birth_year", "form_birth_year"))
            applies = {c.value for c in self._applicable(m)}
            members.append({
                "id": m.id, "full_name": m.full_name.strip(), "birth_year": year or 0, "presence": m.presence,
                **{c: (v if c in applies else "unknown") for c, v in m.checks.items()},
                "reasons": {c: r for c, r in m.reasons.items() if c in applies}, "assisted": list(m.assisted),
                "note": m.note,
            })  # fmt: skip
        try:
            date.fromisoformat(self.surveyed_on_text.strip())
        except ValueError:
            problems.append(Problem("surveyed_on", "form_date"))
        follow_up = None
        if self.follow_up_due.strip():
            try:
                date.fromisoformat(self.follow_up_due.strip())
                follow_up = {"due": self.follow_up_due.strip(), "note": self.follow_up_note.strip()}
            except ValueError:
                problems.append(Problem("follow_up.due", "form_date"))
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


def _year(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) == 4 else None


def _translated(problems: list[Problem], i18n: I18n) -> list[Problem]:
    keys = {"form_birth_year": "form.birth_year_invalid", "form_date": "form.date_invalid"}
    out = []
    for problem in problems:
        if problem.code in keys:
            out.append(_Message(problem.field, i18n.t(keys[problem.code])))
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
