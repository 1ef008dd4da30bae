"""The catalog of the field app's strings, and that no screen holds text of its own."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from ntm_field.domain import codes
from ntm_field.domain.codes import Check
from ntm_field.ui.i18n import CATALOG, CHECK_SHORT, LANGUAGES, I18n

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "ntm_field" / "ui"


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# ----- the catalog --------------------------------------------------------------------------


def test_every_key_has_vietnamese_and_english():
    assert LANGUAGES == ("vi", "en")
    for key, entry in CATALOG.items():
        assert set(entry) == {"vi", "en"}, key
        assert entry["vi"].strip() and entry["en"].strip(), key


def test_both_languages_take_the_same_parameters():
    for key, entry in CATALOG.items():
        assert _placeholders(entry["vi"]) == _placeholders(entry["en"]), key


def test_vietnamese_strings_carry_their_diacritics():
    assert CATALOG["form.saved"]["vi"] == "Đã lưu"
    assert CATALOG["nav.households"]["vi"] == "Hộ gia đình"
    assert CATALOG["sync.chip.offline"]["vi"].startswith("Ngoại tuyến")
    # Every Vietnamese string with words in it (placeholders aside) has at least one letter
    # outside ASCII: a string typed without its marks ("Da luu") would fail here.
    # A language's own name is the one exception ("English" reads the same in both).
    for key, entry in CATALOG.items():
        words = re.sub(r"\{[^}]*\}", "", entry["vi"])
        if key == "settings.en" or not re.search(r"[A-Za-z]", words):
            continue
        assert not words.isascii(), f"{key}: {entry['vi']!r} has no Vietnamese diacritics"


def test_vietnamese_is_the_default_and_unknown_languages_fall_back_to_it():
    assert I18n().lang == "vi"
    assert I18n().t("form.saved") == "Đã lưu"
    assert I18n("fr").lang == "vi"
    assert I18n("fr").t("nav.sync") == "Đồng bộ"


def test_english_gives_english():
    en = I18n("en")
    assert en.t("form.saved") == "Saved"
    assert en.t("nav.home") == "Home"
    assert en.t("enrol.error.invalid_code") == "The enrolment code is wrong, used up or expired."


def test_parameters_are_filled_in():
    assert I18n().t("home.surveyed", surveyed=12, expected=200) == "Đã khảo sát 12/200 hộ"
    assert I18n("en").t("home.surveyed", surveyed=12, expected=200) == "Surveyed 12/200 households"
    assert I18n().t("sync.chip.idle", pending=3) == "Đã đồng bộ · chờ gửi 3"
    assert I18n("en").t("form.errors", count=2) == "Problems to check: 2."
    with pytest.raises(KeyError):
        I18n().t("home.surveyed", surveyed=1)  # a missing parameter is a bug, not blank text


def test_an_unknown_key_is_an_error_not_blank_text():
    with pytest.raises(KeyError):
        I18n().t("no.such.key")


def test_percent_uses_a_decimal_comma_in_vietnamese():
    assert I18n("vi").percent(0.5) == "50,0%"
    assert I18n("vi").percent(2 / 3) == "66,7%"
    assert I18n("en").percent(2 / 3) == "66.7%"
    assert I18n("en").percent(1) == "100.0%"
    assert I18n("vi").percent(0) == "0,0%"
    assert I18n("vi").percent(None) == I18n("en").percent(None) == "—"


def test_code_labels_come_from_the_domain_in_the_current_language():
    vi, en = I18n("vi"), I18n("en")
    assert vi.check("cccd") == codes.CHECK_LABELS["cccd"]["vi"] == "CCCD gắn chip"
    assert en.check("sim") == "Own-name SIM with digital signature"
    assert vi.value("vneid", "level2") == "Mức 2" and en.value("vneid", "level2") == "Level 2"
    assert vi.visit_status("absent") == "Vắng nhà" and en.visit_status("absent") == "Nobody home"
    assert vi.presence("away").startswith("Tạm vắng")
    assert en.reason("NO_PHONE") == "No phone"
    assert vi.assisted("sim_registered") == codes.ASSISTANCE_LABELS["sim_registered"]["vi"]
    for check in Check:
        assert vi.check_short(check.value) and en.check_short(check.value)
    assert set(CHECK_SHORT) == {c.value for c in Check}
    assert vi.check_short("smartphone") == "ĐT" and en.check_short("smartphone") == "Phone"


def test_switching_the_language_of_a_shared_i18n_switches_every_lookup():
    i18n = I18n("vi")
    before = i18n.t("nav.settings")
    i18n.lang = "en"
    assert (before, i18n.t("nav.settings")) == ("Cài đặt", "Settings")


# ----- no text in the views ------------------------------------------------------------------

# Keywords of Flet controls that always show text: a literal with a letter here is hard-coded text.
TEXT_KEYWORDS = {
    "label", "text", "hint_text", "tooltip", "semantics_label", "title",
    "error_text", "helper_text", "counter_text", "prefix_text", "suffix_text",
}  # fmt: skip
# `value` is text for ft.Text/TextField but a code for ft.Radio/ft.Segment ("vi", "level2"):
# there, and for positional arguments, only literals that read like words count.
LOGGING = {"debug", "info", "warning", "exception", "critical"}


def _literal_text(node: ast.AST) -> list[str]:
    """The literal text an argument expression is built from (constants, f-strings, +, %, or, if-else, .format)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))]
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return _literal_text(node.left) + _literal_text(node.right)
    if isinstance(node, ast.BoolOp):
        return [text for value in node.values for text in _literal_text(value)]
    if isinstance(node, ast.IfExp):
        return _literal_text(node.body) + _literal_text(node.orelse)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _literal_text(node.func.value)
    return []


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def _reads_like_words(text: str) -> bool:
    """Prose rather than a code, key, route or name: accented letters, words with spaces, or a capitalised word.

    Not words: "form.saved", "head_name", "/households/new?hamlet=", "vi", "VN", "FLET_APP_STORAGE_DATA".
    """
    if not _has_letters(text):
        return False
    if not text.isascii():
        return True
    if re.search(r"[A-Za-z]\s+\S|\S\s+[A-Za-z]", text):  # words with spaces between them
        return True
    return bool(re.search(r"(?<![A-Za-z_.])[A-Z][a-z]+", text))


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _exempt(call: ast.Call) -> bool:
    """Developer text: log lines and exception messages."""
    name = _callee(call)
    if name in LOGGING or name == "print" or name.endswith(("Error", "Exception", "Warning")):
        return True
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    return name in ("error", "log") and isinstance(receiver, ast.Name) and "log" in receiver.id.lower()


def hard_coded_texts(source: str, filename: str = "<source>") -> list[str]:
    """`file:line: text` for each literal a view would show as it is, instead of asking I18n."""
    found = []

    def check(node: ast.AST, strict: bool) -> None:
        for text in _literal_text(node):
            if (_has_letters(text) if strict else _reads_like_words(text)):
                found.append(f"{filename}:{node.lineno}: {text!r}")

    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call) and not _exempt(node):
            for arg in node.args:
                check(arg, strict=False)
            for keyword in node.keywords:
                if keyword.arg in TEXT_KEYWORDS:
                    check(keyword.value, strict=True)
                elif keyword.arg == "value":
                    check(keyword.value, strict=False)
        elif isinstance(node, ast.Assign):  # page.title = "…", text.value = "…"
            for target in node.targets:
                pairs = (
                    zip(target.elts, node.value.elts)
                    if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                    else [(target, node.value)]
                )
                for left, right in pairs:
                    if isinstance(left, ast.Attribute) and (left.attr in TEXT_KEYWORDS or left.attr == "value"):
                        check(right, strict=left.attr in TEXT_KEYWORDS)
    return found


def _ui_files() -> list[Path]:
    return sorted(UI.glob("views/*.py")) + sorted(p for p in [UI / "app.py"] if p.exists())


def test_the_text_check_finds_hard_coded_text():
    bad = '''
import flet as ft
ft.Text("Lưu")
ft.Text("Saved")
ft.TextField(label="Name")
ft.TextField(hint_text="house no")
ft.ElevatedButton("Đăng ký", on_click=go)
ft.Text(value="Hộ mới")
ft.Text(f"{n} người")
ft.Text("Số " + house_no)
ft.Text("Thành viên {}".format(n))
ft.Text(error or "Có lỗi")
ft.Text("Đủ 4" if full else "")
ft.IconButton(icon=ft.Icons.ADD, tooltip="add")
page.title = "4 phủ"
status.value, other.visible = "Đã lưu", True
'''
    found = hard_coded_texts(bad)
    assert sorted(int(line.split(":")[1]) for line in found) == list(range(3, 17)), found


def test_the_text_check_lets_keys_codes_and_symbols_through():
    good = '''
import flet as ft
t = ctx.i18n.t
ft.Text(t("form.saved"))
ft.Text(t(f"list.filter.{f.value}"), size=12)
ft.Text("")
ft.Text("·")
ft.Text(f"{card.name} ({card.code})")
ft.Text(model.error or "")
ft.TextField(label=t("form.head_name"), value=model.head_name)
ft.Segment(value="vi", label=ft.Text(t("settings.vi")))
ft.Radio(value="level2", label=i18n.value("vneid", "level2"))
ft.Icon(ft.Icons.ADD)
model.set_field("head_name", e.control.value)
ctx.go(f"/households/new?hamlet={code}")
os.environ.get("FLET_APP_STORAGE_DATA")
ft.Locale("vi", "VN")
" · ".join(parts)
log.warning("sync failed: %s", error)
raise ValueError("not a household")
'''
    assert hard_coded_texts(good) == []


@pytest.mark.parametrize("path", _ui_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_view_hard_codes_user_facing_text(path: Path):
    assert hard_coded_texts(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))) == []


def test_the_views_and_the_app_are_all_checked():
    # The parametrised check above runs once per file that exists; this says which ones it saw.
    checked = {p.name for p in _ui_files()}
    views = {p.name for p in UI.glob("views/*.py")}
    assert views <= checked and ((UI / "app.py").exists() == ("app.py" in checked))
