"""The device's local SQLite store (sqlite-utils is imported here and nowhere else)."""

from ntm_field.store.drafts import DraftSummary
from ntm_field.store.integrity import StoreCorruptError
from ntm_field.store.local import HouseholdSummary, LocalStore, SavedHousehold, StoreBusyError, SurveyorProgress
from ntm_field.store.sync_state import EnrolmentError

__all__ = ["DraftSummary", "EnrolmentError", "HouseholdSummary", "LocalStore", "SavedHousehold", "StoreBusyError", "StoreCorruptError", "SurveyorProgress"]
