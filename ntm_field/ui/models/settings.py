"""Settings: language, server and device details, the privacy notice, sign out."""

from __future__ import annotations

from ntm_field.store import LocalStore
from ntm_field.ui.i18n import LANGUAGES, I18n
from ntm_field.ui.models.base import Observable


class SettingsModel(Observable):
    def __init__(self, store: LocalStore, i18n: I18n):
        super().__init__()
        self.store, self.i18n = store, i18n
        self.confirming = False

    def set_language(self, lang: str) -> None:
        if lang in LANGUAGES:
            self.i18n.lang = lang
            self.changed()

    def details(self) -> list[str]:
        enrolment = self.store.enrolment()
        if enrolment is None:
            return [self.i18n.t("sync.chip.not_enrolled")]
        return [
            self.i18n.t("settings.server", server=enrolment.server),
            self.i18n.t("settings.device", device_id=enrolment.device_id, role=enrolment.role),
            self.i18n.t("settings.scope", scope=", ".join(enrolment.scope)),
        ]

    def unsynced(self) -> int:
        counts = self.store.counts()
        return counts["outbox_pending"] + counts["outbox_rejected"]

    def sign_out(self, *, confirmed: bool = False) -> bool:
        """Wipe the device's data; with unsynced changes, only once confirmed (True when signed out)."""
        if self.unsynced() and not confirmed:
            self.confirming = True
            self.changed()
            return False
        self.store.wipe()
        self.confirming = False
        self.changed()
        return True

    def cancel_sign_out(self) -> None:
        self.confirming = False
        self.changed()
