"""The device's local SQLite store (sqlite-utils is imported here and nowhere else)."""

from ntm_field.store.integrity import StoreCorruptError
from ntm_field.store.local import HouseholdSummary, LocalStore, SavedHousehold

__all__ = ["HouseholdSummary", "LocalStore", "SavedHousehold", "StoreCorruptError"]
