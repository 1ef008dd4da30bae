"""Label sheets of the households a device holds (`ntm-field labels --data DIR`)."""

from __future__ import annotations

from ntm_field.qr import Label, household_labels
from ntm_field.store import LocalStore


class NothingToLabel(Exception):
    """The hamlet is unknown to the device, holds no households, or no link base is known."""


def device_labels(store: LocalStore, hamlet: str, *, base_url: str | None = None) -> list[Label]:
    """One label per household of `hamlet` on this device, by label code.

    Links start with `base_url`, else the server the device is enrolled with.
    """
    households = store.list_households(hamlet)
    if not households:
        if hamlet in store.units():
            raise NothingToLabel(f"hamlet {hamlet} has no households on this device")
        raise NothingToLabel(f"unknown hamlet {hamlet} (not among this device's hamlets)")
    if base_url is None:
        enrolment = store.enrolment()
        if enrolment is None:
            raise NothingToLabel("the device is not enrolled: give the links' address with --url")
        base_url = enrolment.server
    return household_labels(households, base_url)
