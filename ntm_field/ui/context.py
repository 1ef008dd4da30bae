"""Everything a screen may use, built once by the composition root (`ui/app.py`) and passed down."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ntm_field.store import LocalStore
from ntm_field.sync.service import SyncService
from ntm_field.ui.i18n import I18n
from ntm_field.ui.models.drafts import DraftKeeper
from ntm_field.ui.models.enrol import EnrolModel
from ntm_field.ui.models.form import FormModel
from ntm_field.ui.models.home import HomeModel
from ntm_field.ui.models.households import HouseholdListModel
from ntm_field.ui.models.settings import SettingsModel
from ntm_field.ui.models.sync import SyncModel
from ntm_field.ui.models.team import TeamModel


@dataclass
class AppContext:
    store: LocalStore
    service: SyncService
    i18n: I18n
    clock: Callable[[], datetime]
    enrol: EnrolModel
    home: HomeModel
    households: HouseholdListModel
    form: FormModel
    sync: SyncModel
    settings: SettingsModel
    team: TeamModel
    drafts: DraftKeeper
    go: Callable[[str], None] = field(default=lambda route: None)
    refresh: Callable[[], None] = field(default=lambda: None)  # redraw the current screen
