"""Settings: language, server and device details, the privacy notice, sign out."""

from __future__ import annotations

from ntm_field.store import LocalStore
from ntm_field.ui.i18n import CATALOG, LANGUAGES, I18n
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
        """Server, the device's name given at enrolment, its role in words, its scope."""
        enrolment = self.store.enrolment()
        if enrolment is None:
            return [self.i18n.t("sync.chip.not_enrolled")]
        t = self.i18n.t
        role = t(f"role.{enrolment.role}") if f"role.{enrolment.role}" in CATALOG else enrolment.role
        return [
            t("settings.server", server=enrolment.server),
            t("settings.device_name", name=enrolment.device_name.strip() or t("settings.device_unnamed")),
            t("settings.role", role=role),
            t("settings.scope", scope=", ".join(enrolment.scope)),
        ]

    def device_id(self) -> str | None:
        """The device's id, for support staff (shown small), or None before enrolling."""
        enrolment = self.store.enrolment()
        return None if enrolment is None else self.i18n.t("settings.device_id", device_id=enrolment.device_id)

    def unsynced(self) -> int:
        """Changes signing out would lose: not sent, refused, or still a draft (never saved)."""
        counts = self.store.counts()
        return counts["outbox_pending"] + counts["outbox_rejected"] + len(self.store.drafts())

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
