"""The officer dashboard's view-models on a real server store (SQLite file): the figures they give
are the coverage report's, the structure switch rolls up through the mapping, refusals are sentences."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ntm_field.domain.codes import Check
from ntm_field.domain.indicators import tally
from ntm_field.server import reports
from ntm_field.server.coverage import coverage_report
from ntm_field.server.dashboard_source import DashboardSource
from ntm_field.server.progress import progress
from ntm_field.ui.dashboard.models import DashboardError, DashboardModel, UnitRow, parse_route, unit_route
from ntm_field.ui.i18n import I18n
from tests.e2e.dashboard_helpers import EXTRA_HAMLETS_CSV, HAMLETS, households, ingest
from tests.server.conftest import database_url, server_store  # noqa: F401  (fixtures)

SEED = households(60)


@pytest.fixture
def store(server_store):  # noqa: F811
    server_store.load_units(EXTRA_HAMLETS_CSV)
    ingest(server_store, SEED)
    return server_store


def token(store, role: str, scope: list[str]) -> str:
    if role == "admin":
        return store.create_admin_token()[1]
    code = store.create_enrol_code(role=role, scope=scope, uses=1, expires_in=timedelta(days=1), created_by="test")
    return store.enrol(code.code, f"{role} browser")[1]


def signed_in(store, role: str = "officer", scope: list[str] | None = None, lang: str = "vi") -> DashboardModel:
    model = DashboardModel(DashboardSource(store), I18n(lang))
    assert model.sign_in(token(store, role, scope or ["70"])) is None
    return model


def test_drill_down_rows_equal_the_coverage_report_at_every_level(store):
    model = signed_in(store)
    device = model.device
    path = ["70", "688", "25216", "25216-01"]
    for depth, code in enumerate(path):
        screen = model.open_unit(code, "2024")
        report = coverage_report(store, device, unit=code, structure="2024")
        assert screen.unit == UnitRow.from_report(report)
        assert [c.code for c in screen.children] == [c["unit"]["code"] for c in report["children"]]
        assert screen.children == [UnitRow.from_report(c) for c in report["children"]]
        assert [c for c, _ in screen.trail] == path[: depth + 1]  # breadcrumbs from the scope unit down
        if depth < 3:
            assert path[depth + 1] in [c.code for c in screen.children]
    hamlet = model.open_unit("25216-01", "2024")
    assert hamlet.children == [] and not hamlet.drillable
    # and the figures are the households' own, counted by the domain's indicator function
    province = model.open_unit("70", "2024").unit
    expected = tally(h for h in SEED)
    assert province.surveyed == expected.surveyed == sum(1 for h in SEED if h.visit_status == "surveyed")
    for check in Check:
        assert province.indicators[check.value].covered == expected.figure(check).covered
        assert province.indicators[check.value].eligible == expected.figure(check).eligible
    assert province.fully_covered == expected.fully_covered > 0


def test_figures_are_shown_with_their_denominators(store):
    model = signed_in(store)
    row = model.open_unit("25216-01", "2024").unit
    cccd = row.indicators["cccd"]
    assert cccd.eligible > 0
    rate = f"{cccd.covered / cccd.eligible * 100:.1f}".replace(".", ",")
    assert model.indicator_text(cccd) == f"{cccd.covered}/{cccd.eligible} · {rate}%"
    assert model.households_text(row) == f"{row.surveyed}/200"
    assert model.indicator_detail("vneid", row.indicators["vneid"]).startswith("mức 1: ")
    commune = model.open_unit("25216", "2024").unit
    assert commune.expected is None and model.households_text(commune).endswith("/—")  # 25216-03 has no target
    assert model.number(10340) == "10.340" and model.number(7) == "7"  # thousands grouped as Vietnamese writes them
    assert model.indicator_text(type(cccd)(12345, 23456, 0, 0.5263)) == "12.345/23.456 · 52,6%"
    english = signed_in(store, lang="en")
    assert english.number(10340) == "10,340"
    assert english.indicator_text(cccd) == f"{cccd.covered}/{cccd.eligible} · {cccd.covered / cccd.eligible * 100:.1f}%"


def test_the_2025_structure_rolls_up_through_the_mapping_and_keeps_the_totals(store):
    model = signed_in(store)
    route = model.switch_structure("2025")
    assert route == "/unit/75?structure=2025"
    new = model.open_unit("75", "2025")
    old = model.open_unit("70", "2024")
    assert new.unit.name == "Tỉnh Đồng Nai" and new.unit.level == "province"
    assert (new.unit.surveyed, new.unit.indicators, new.unit.fully_covered) == (
        old.unit.surveyed, old.unit.indicators, old.unit.fully_covered
    )  # fmt: skip
    assert all(child.level == "commune" for child in new.children)  # no districts in 2025
    merged = model.open_unit("25217", "2025")  # Phường Phước Long = old 25216 + 25217 (+ others)
    assert {c.code for c in merged.children} >= {"25216-01", "25216-02", "25216-03", "25217-01"}
    assert [c for c, _ in merged.trail] == ["75", "25217"]
    hamlet = model.open_unit("25216-02", "2025")
    assert [c for c, _ in hamlet.trail] == ["75", "25217", "25216-02"]
    assert merged.unit == UnitRow.from_report(coverage_report(store, model.device, unit="25217", structure="2025"))
    assert model.switch_structure("2024") == "/unit/70?structure=2024"


def test_a_commune_officer_starts_at_the_commune_and_in_2025_at_a_unit_wholly_in_scope(store):
    commune = signed_in(store, scope=["25195"])
    assert commune.after_sign_in() == "/unit/25195?structure=2024"
    screen = commune.open_unit(None, "2024")
    assert screen.unit.code == "25195" and [c for c, _ in screen.trail] == ["25195"]
    # 2025 commune 25195 also holds old 25198, outside this scope: the drill-down starts at the hamlet
    assert commune.switch_structure("2025") == "/unit/25195-01?structure=2025"
    with pytest.raises(DashboardError) as refused:
        commune.open_unit("70", "2024")
    assert refused.value.message == "Đơn vị này nằm ngoài phạm vi của mã truy cập."
    admin = signed_in(store, "admin")
    assert admin.after_sign_in() == "/unit/70?structure=2024"
    assert admin.switch_structure("2025") == "/unit/75?structure=2025"
    leader = signed_in(store, "leader", ["688"])
    # 2025 Phước Long (25217) = old 25216, 25217, 25237, 25249, all in district 688: wholly in scope
    assert leader.switch_structure("2025") == "/unit/25217?structure=2025"


def test_sign_in_refuses_surveyors_and_wrong_tokens_with_a_sentence(store):
    model = DashboardModel(DashboardSource(store), I18n("vi"))
    assert model.sign_in("not-a-token") == "Mã truy cập không đúng. Kiểm tra lại và thử lại."
    assert model.sign_in("   ") == "Hãy nhập mã truy cập."
    surveyor = token(store, "surveyor", ["25216-01"])
    assert model.sign_in(surveyor).startswith("Mã của điều tra viên không dùng được")
    assert not model.signed_in
    with pytest.raises(DashboardError):
        model.open_unit("70", "2024")  # nothing without signing in
    officer = token(store, "officer", ["70"])
    store.revoke(store.authenticate(officer).id)
    assert model.sign_in(officer) == "Mã truy cập này đã bị thu hồi."
    assert DashboardModel(DashboardSource(store), I18n("en")).sign_in("nope") == (
        "The access token is wrong. Check it and try again."
    )
    good = token(store, "officer", ["70"])
    assert model.sign_in(good) is None and model.role_label() == "Cán bộ"
    assert model.who() == "Cán bộ · phạm vi 70"
    assert signed_in(store, "admin").who() == "Quản trị viên · phạm vi toàn tỉnh"
    model.sign_out()
    assert not model.signed_in


def test_progress_days_are_the_progress_series(store):
    model = signed_in(store)
    screen = model.open_unit("70", "2024")
    hamlets = HAMLETS
    series = progress(store, hamlets)
    assert [(d.date, d.surveyed) for d in screen.days] == [(d["date"], d["surveyed"]) for d in series]
    assert len(screen.days) == 5 and screen.days[-1].surveyed == screen.unit.surveyed
    last = screen.days[-1]
    assert last.covered["sim"] == (screen.unit.indicators["sim"].covered, screen.unit.indicators["sim"].eligible)
    assert model.day_text(last)[:2] == [last.date, str(last.surveyed)]


def test_exports_are_the_api_exports_and_are_audited(store):
    model = signed_in(store)
    name, content = model.export("25216", "coverage_csv")
    assert name == "ntm-25216-coverage.csv"
    expected = reports.export_file(store, model.device, unit="25216", format="csv", kind="coverage")
    assert content == expected.content
    name, content = model.export("70", "xlsx")
    assert name == "ntm-70-export.xlsx" and content[:2] == b"PK"
    name, content = model.export("25216-01", "members_csv")
    assert name == "ntm-25216-01-members.csv" and "Họ và tên".encode() in content
    actions = [(row[3], row[4]) for row in store.audit_entries()]
    assert ("export", "25216") in actions and ("export", "70") in actions


def test_household_summary_only_within_scope(store):
    household = next(h for h in SEED if h.hamlet_code == "25195-01" and h.visit_status == "surveyed")
    model = signed_in(store, scope=["25195"])
    screen = model.open_household(household.id)
    assert screen.label_code == household.label_code
    assert screen.head_name == household.head_name and screen.hamlet == "Khu phố Tân Phú 1 (25195-01)"
    assert [m.name for m in screen.members] == [m.full_name for m in household.members]
    first = household.members[0]
    age = household.survey_year - first.birth_year
    assert screen.members[0].checks["cccd"] == (I18n("vi").value("cccd", first.cccd) if age >= 14 else "không áp dụng")
    outsider = signed_in(store, scope=["25216"])
    with pytest.raises(DashboardError) as refused:
        outsider.open_household(household.id)
    assert refused.value.message == "Không tìm thấy hộ này trong phạm vi của bạn."
    with pytest.raises(DashboardError):
        model.open_household("00000000-0000-4000-8000-000000000000")


def test_routes_are_parsed_and_built():
    assert parse_route("/unit/25216?structure=2025").kind == "unit"
    assert parse_route("/unit/25216?structure=2025").structure == "2025"
    assert parse_route("/unit/25216?structure=1999").structure == "2024"
    assert parse_route("/household/abc").code == "abc"
    assert parse_route("/").kind == "home" and parse_route("/unit/").kind == "home"
    assert parse_route("/sign-in").kind == "sign_in"
    assert parse_route("/enrol?code=abc").kind == "enrol"  # an enrolment link opened in a browser
    assert unit_route("70", "2024") == "/unit/70?structure=2024"


def test_an_unexpected_failure_is_a_sentence_not_a_traceback(store):
    class Broken(DashboardSource):
        def coverage(self, device, unit, structure):
            raise RuntimeError("Nguyễn Văn Đức")  # a message that could hold personal data

    model = DashboardModel(Broken(store), I18n("vi"))
    assert model.sign_in(token(store, "officer", ["70"])) is None
    with pytest.raises(DashboardError) as failed:
        model.open_unit("70", "2024")
    assert failed.value.message == "Đã có lỗi ở máy chủ; hãy thử lại sau."
    assert "Nguyễn" not in failed.value.message
