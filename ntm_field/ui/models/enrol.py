"""Enrol screen: server address + code (or a link) exchanged for a token."""

from __future__ import annotations

import math
from collections.abc import Callable

from ntm_field.domain.device import EnrolLinkError, Enrolment
from ntm_field.store import EnrolmentError
from ntm_field.sync.errors import BadReply, Offline, Refused, ServerBusy, SyncError
from ntm_field.ui.i18n import I18n
from ntm_field.ui.models.base import Observable

# enrol(code_or_link, server=…, device_name=…) → Enrolment; the composition root binds the store.
Enrol = Callable[..., Enrolment]


class EnrolModel(Observable):
    def __init__(self, enrol: Enrol, i18n: I18n, *, server: str = ""):
        super().__init__()
        self._enrol, self.i18n = enrol, i18n
        self.server, self.code, self.device_name = server, "", ""
        self.error: str | None = None
        self.busy = False

    def set_server(self, value: str) -> None:
        self.server = value

    def set_code(self, value: str) -> None:
        self.code = value

    def set_device_name(self, value: str) -> None:
        self.device_name = value

    def submit(self) -> Enrolment | None:
        """Enrol (blocking: network); None and `error` set when it failed."""
        self.busy, self.error = True, None
        self.changed()
        try:
            return self._enrol(self.code, server=self.server or None, device_name=self.device_name)
        except EnrolLinkError:
            self.error = self.i18n.t("enrol.error.link")
        except EnrolmentError as error:
            count = "".join(ch for ch in str(error).split()[0] if ch.isdigit()) or "?"
            self.error = self.i18n.t("enrol.error.unsynced", count=count)
        except Refused as error:
            key = "enrol.error.invalid_code" if error.error_code == "invalid_code" else None
            self.error = self.i18n.t(key) if key else self.i18n.t("enrol.error.other", detail=error.error_code)
        except Offline:
            self.error = self.i18n.t("enrol.error.offline")
        except ServerBusy as error:
            self.error = self._busy(error)
        except BadReply:
            self.error = self.i18n.t("enrol.error.server")
        except SyncError as error:
            self.error = self.i18n.t("enrol.error.other", detail=error.code)
        finally:
            self.busy = False
            self.changed()
        return None

    def _busy(self, error: ServerBusy) -> str:
        if str(error) != "http_429":
            return self.i18n.t("enrol.error.server")
        # Too many attempts from here, or too many wrong codes: the server says how long to wait.
        return self.i18n.t("enrol.error.too_many", minutes=max(1, math.ceil((error.retry_after or 60) / 60)))
