"""Contract v1.1 rules of the household document and the cost of checking one.

- Member ids are 1–40 characters of `A–Z a–z 0–9 _ -` (a `]` made conflict paths no resolve accepts).
- Without consent, each personal field the contract lists is refused alone, by its path.
- Validation time grows linearly with the body: time per item at n and 16n items (CPU time), measured in the same run
  (a quadratic duplicate check of `assisted` took 17 s over HTTP for 100k repeats of one code).
"""

from __future__ import annotations

import copy
import gc
import re
import time

import pytest

from ntm_field.domain.codes import Assistance
from ntm_field.domain.validation import validate_document
from tests.domain.test_validation import TODAY, valid_document

# ----- member ids ------------------------------------------------------------------------

MEMBER_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")  # the contract's rule, written out here on purpose


@pytest.mark.parametrize("member_id", ["a", "p7r2m4wz", "M_1-2", "Z" * 40, "0123456789", "_-_"])
def test_member_ids_of_the_allowed_characters_pass(member_id):
    doc = valid_document()
    doc["members"][1]["id"] = member_id
    assert validate_document(doc, today=TODAY) == []


@pytest.mark.parametrize(
    "member_id", ["a]b", "a[b", "a=b", "a.b", "a b", "Đức", "ａ", "١٢", "a\tb", "x/y", "id=1", "Z" * 41, ""]
)
def test_other_member_ids_are_refused_naming_the_member(member_id):
    doc = valid_document()
    doc["members"][1]["id"] = member_id
    problems = validate_document(doc, today=TODAY)
    assert [p.field for p in problems] == ["members[1].id"], problems
    assert problems[0].code in ("bad_member_id", "too_long", "empty")


def test_the_field_apps_member_ids_follow_the_rule(store, clock):
    """The form makes a member id from the injected id factory (8 hex digits of a hash of it): whatever
    the factory gives, even text that breaks the rule, the id follows it. The bench's households too."""
    from ntm_field.bench.households import generate  # the only test here that needs these layers
    from ntm_field.ui.i18n import I18n
    from ntm_field.ui.models.form import FormModel

    odd_ids = iter(["a]b", "Đức 1", "x" * 100, "", *map(str, range(100))])
    model = FormModel(store, I18n(), clock=clock, new_id=lambda: next(odd_ids))
    for _ in range(30):
        model.add_member()
    ids = [m.id for m in model.members]
    assert len(set(ids)) == len(ids) and all(MEMBER_ID.fullmatch(i) for i in ids), ids
    generated = [m.id for h in generate(50, seed=1) for m in h.members]
    assert all(MEMBER_ID.fullmatch(i) for i in generated)


# ----- consent ----------------------------------------------------------------------------

NO_CONSENT = {"given": False, "notice_version": ""}
# The personal fields of contract v1.1 ("Consent and personal data"), each with a way to fill it.
PERSONAL_FIELDS = {
    "head_name": lambda d: d.update(head_name="Nguyễn Văn Đức"),
    "address": lambda d: d.update(address="Tổ 3"),
    "note": lambda d: d.update(note="có người già"),
    "follow_up.note": lambda d: d.update(follow_up={"due": "2024-05-02", "note": "gọi anh Đức"}),
    "members[0].full_name": lambda d: d["members"][0].update(full_name="Lê Văn Bình"),
    "members[1].note": lambda d: d["members"][1].update(note="đi làm xa"),
}


def anonymous() -> dict:
    """The contract's household without consent: every personal field empty."""
    doc = valid_document()
    doc.update(consent=NO_CONSENT, head_name="", address="", note="", follow_up={"due": "2024-05-02", "note": ""})
    for member in doc["members"]:
        member.update(full_name="", note="")
    return doc


def test_a_household_without_consent_and_without_personal_data_passes():
    assert validate_document(anonymous(), today=TODAY) == []


@pytest.mark.parametrize("field", PERSONAL_FIELDS)
def test_each_personal_field_is_refused_without_consent(field):
    doc = anonymous()
    PERSONAL_FIELDS[field](doc)
    problems = validate_document(doc, today=TODAY)
    assert [(p.field, p.code) for p in problems] == [(field, "personal_without_consent")]
    assert "Đức" not in problems[0].message("vi") + problems[0].message("en")  # never the value


@pytest.mark.parametrize("field", PERSONAL_FIELDS)
def test_each_personal_field_is_allowed_with_consent(field):
    doc = anonymous()
    doc["consent"] = {"given": True, "notice_version": "2024-04"}
    doc["head_name"] = "Nguyễn Văn Đức"  # names are required once consent is given
    for member in doc["members"]:
        member["full_name"] = "Lê Văn Bình"
    PERSONAL_FIELDS[field](doc)
    assert validate_document(doc, today=TODAY) == []


# ----- linear time ------------------------------------------------------------------------


def _member(doc: dict) -> dict:
    return doc["members"][0]


# Body shapes that grow with n; each is invalid in a way that makes validation look at what grew.
SHAPES = {
    "one help code repeated": lambda d, n: _member(d).update(assisted=[Assistance.APP_GUIDANCE.value] * n),
    "distinct unknown help codes": lambda d, n: _member(d).update(assisted=[f"code{i}" for i in range(n)]),
    "help codes of wrong types": lambda d, n: _member(d).update(assisted=[[i] for i in range(n)]),
    "unknown reason keys": lambda d, n: _member(d).update(reasons={f"k{i}": "OTHER" for i in range(n)}),
    "many members": lambda d, n: d.update(members=[{**_member(d), "id": f"m{i}"} for i in range(n)]),
    "many members without consent": lambda d, n: d.update(
        consent=NO_CONSENT, members=[{**_member(d), "id": f"m{i}"} for i in range(n)]
    ),
    "members sharing one id": lambda d, n: d.update(members=[_member(d)] * n),
    "unknown household keys": lambda d, n: d.update({f"k{i}": i for i in range(n)}),
    "unknown member keys": lambda d, n: _member(d).update({f"k{i}": i for i in range(n)}),
    "a long name": lambda d, n: d.update(head_name="Đ" * (20 * n)),
    "a long note of control characters": lambda d, n: d.update(note="\x01" * (20 * n)),
}
N = 2_000  # items at the small size; the large one has GROWTH times as many
GROWTH = 16
SLACK = 5.0  # time per item may grow by this factor from n to 16n (a quadratic check grows by 16)


def _seconds(doc: dict) -> float:
    """CPU seconds of this process (not wall time: other jobs on the machine do not count), no GC pause."""
    gc.disable()
    try:
        started = time.process_time()
        validate_document(doc, today=TODAY)
        return time.process_time() - started
    finally:
        gc.enable()


@pytest.mark.parametrize("shape", SHAPES)
def test_validation_time_grows_linearly_with_the_body(shape):
    small, large = copy.deepcopy(valid_document()), copy.deepcopy(valid_document())
    SHAPES[shape](small, N)
    SHAPES[shape](large, GROWTH * N)
    assert validate_document(large, today=TODAY), "the shape must be invalid"
    # interleaved, best of several: what is left of a busy machine slows both sizes alike
    best_small = best_large = float("inf")
    for _ in range(7):
        best_small = min(best_small, _seconds(small))
        best_large = min(best_large, _seconds(large))
    per_item_growth = (best_large / (GROWTH * N)) / max(best_small / N, 1e-7)
    assert per_item_growth < SLACK, f"{shape}: {best_small * 1e3:.2f} ms at {N}, {best_large * 1e3:.2f} ms at {GROWTH * N}"
