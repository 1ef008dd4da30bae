"""House numbers hold letters (any script), digits, spaces and common punctuation: emoji and other symbols
are refused by the domain's validation, which the app and the server share."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntm_field.domain.validation import HOUSE_NO_PUNCTUATION, MESSAGES, Problem, is_house_no, validate_document
from tests.server.test_http import example


@pytest.mark.parametrize(
    "house_no",
    ["", "12", "12A", "12/3B", "Lô A-12", "Số 7, Tổ 3", "Kiốt 5 (chợ)", "#4", "12'", "12’", "12–14", "K.12",
     unicodedata.normalize("NFD", "Ấp Bàu Đưng 3"), "ก้ 12", "12 & 14", "12\u00a0B"],
)  # fmt: skip
def test_addresses_as_people_write_them_are_kept(house_no):
    assert is_house_no(house_no)
    assert validate_document(example(house_no=house_no), today=None) == []


@pytest.mark.parametrize(
    "house_no",
    ["🏠", "12🏠", "12 ❤️", "1\ufe0f\u20e3", "\U0001f1fb\U0001f1f3", "12\u200d", "©12", "①", "12$", "12%", "12\t",
     "12*", "<12>", "12@", "A\ufe0f", "\u20e3"],
)  # fmt: skip
def test_emoji_and_symbols_are_refused_naming_the_field(house_no):
    assert not is_house_no(house_no)
    assert validate_document(example(house_no=house_no), today=None) == [Problem("house_no", "bad_house_no")]
    problem = Problem("house_no", "bad_house_no")
    assert problem.message("vi").startswith("house_no: Số nhà chỉ gồm chữ, số")
    assert problem.message("en").startswith("house_no: House number may hold only letters, digits")


def test_the_message_is_in_both_languages():
    assert set(MESSAGES["bad_house_no"]) == {"vi", "en"}


def test_other_text_fields_keep_their_own_rules():
    assert validate_document(example(note="🏠 hẹn tối", address="Tổ 3 🏠"), today=None) == []


# "+" (a math symbol) is among the punctuation a house number may hold: it is no symbol of this test
SYMBOLS = st.characters(categories=["So", "Sk", "Sm", "Sc", "Cf", "Co"], exclude_characters=HOUSE_NO_PUNCTUATION)


@given(st.text(alphabet=SYMBOLS, min_size=1, max_size=3))
def test_any_symbol_anywhere_is_refused(symbols):
    assert not is_house_no(f"12{symbols}") and not is_house_no(f"{symbols}A")


@given(st.text(alphabet=st.characters(categories=["Lu", "Ll", "Lo", "Nd"]) | st.sampled_from(" /-.,()#'"), max_size=40))
def test_letters_digits_and_punctuation_are_always_kept(text):
    assert is_house_no(text)
