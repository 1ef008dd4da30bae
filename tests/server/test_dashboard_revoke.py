"""Finding 6 of issue 13: a dashboard session outlived its token's revocation. The dashboard's source now
authenticates the token again on every action: after `revoke`, the next action signs the officer out with
a sentence, and a revoked device's export is refused and not audited. (The browser test is in
tests/e2e/test_dashboard.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest

from ntm_field.server.dashboard_source import DashboardSource
from ntm_field.ui.dashboard.models import DashboardError, DashboardModel
from ntm_field.ui.i18n import I18n
from tests.server.conftest import ENGINES


def enrolled(store, role: str = "officer", scope: str = "70"):
    code = store.create_enrol_code(role=role, scope=[scope], uses=1, expires_in=timedelta(days=1), created_by="test")
    return store.enrol(code.code, f"{role} browser")


def exports_by(store, device_id: str) -> list:
    return [row for row in store.audit_entries() if row[2] == device_id and row[3] == "export"]


@ENGINES
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_next_action_after_revoke_signs_the_officer_out_with_a_sentence(server_store, lang):
    device, token = enrolled(server_store)
    model = DashboardModel(DashboardSource(server_store), I18n(lang))
    assert model.sign_in(token) is None
    assert model.open_unit("70", "2024").unit.code == "70"
    server_store.revoke(device.id)
    with pytest.raises(DashboardError) as refused:
        model.open_unit("688", "2024")  # a drill-down click
    assert refused.value.code == "device_revoked" and not model.signed_in
    assert refused.value.message == {
        "vi": "Mã truy cập này đã bị thu hồi. Bạn đã bị đăng xuất.",
        "en": "This access token was revoked. You have been signed out.",
    }[lang]
    with pytest.raises(DashboardError):  # and nothing more without signing in again
        model.open_unit("70", "2024")
    assert model.sign_in(token) == {"vi": "Mã truy cập này đã bị thu hồi.", "en": "This access token was revoked."}[lang]


@ENGINES
def test_a_revoked_devices_export_and_household_are_refused_and_the_export_is_not_audited(server_store):
    device, token = enrolled(server_store, "leader", "25216")
    model = DashboardModel(DashboardSource(server_store), I18n("vi"))
    assert model.sign_in(token) is None
    name, _ = model.export("25216", "members_csv")
    assert name == "ntm-25216-members.csv" and len(exports_by(server_store, device.id)) == 1
    server_store.revoke(device.id)
    with pytest.raises(DashboardError) as refused:
        model.export("25216", "xlsx")
    assert refused.value.code == "device_revoked" and not model.signed_in
    assert len(exports_by(server_store, device.id)) == 1  # the refused export left no trace as done
    again = DashboardModel(DashboardSource(server_store), I18n("vi"))
    other, other_token = enrolled(server_store, "officer", "70")
    assert again.sign_in(other_token) is None
    server_store.revoke(other.id)
    with pytest.raises(DashboardError) as gone:
        again.open_household("00000000-0000-4000-8000-000000000000")
    assert gone.value.code == "device_revoked"  # revoked first: no hint whether the household exists
