"""The enrol screen's view-model with short codes, against a real server: a code typed in lower case,
without dashes or with spaces enrols; too many wrong codes are said in words with the wait."""

from __future__ import annotations

import random

from ntm_field.domain import enrol_code as codes
from ntm_field.sync.enrol import enrol_device
from ntm_field.ui.i18n import I18n
from ntm_field.ui.models.enrol import EnrolModel
from tests.sync.conftest import enrol_code


def enrol_model(store, clock, server: str) -> EnrolModel:
    return EnrolModel(lambda code, **kw: enrol_device(store, code, clock=clock, **kw), I18n(), server=server)


def test_a_short_code_typed_in_any_case_and_grouping_enrols(server, store, clock):
    code = enrol_code(server)
    assert len(code) == 12 and code.count("-") == 2
    model = enrol_model(store, clock, server.url)
    model.set_code(" ".join(code.replace("-", "").lower()))  # "k 7 q m 4 x r t 9 b", as heard over the phone
    assert model.submit() is not None and model.error is None
    assert store.enrolment().scope == ("25216",)


def test_too_many_wrong_codes_are_refused_for_a_while_and_said_so(server, store, clock):
    model = enrol_model(store, clock, server.url)
    rng = random.Random(3)
    for _ in range(20):
        model.set_code("".join(rng.choice(codes.ALPHABET) for _ in range(codes.LENGTH)))
        assert model.submit() is None and model.error == I18n().t("enrol.error.invalid_code")
    model.set_code(enrol_code(server))  # even the right code, until the window has passed
    assert model.submit() is None
    assert model.error == I18n().t("enrol.error.too_many", minutes=15)
    assert store.enrolment() is None
