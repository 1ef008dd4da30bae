"""Enrolling a device: a code (typed, or from an enrolment link or QR) exchanged for a token and a scope."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ntm_field.domain.device import Enrolment, parse_enrolment
from ntm_field.store import LocalStore
from ntm_field.sync.engine import TransportFactory, fetch_units
from ntm_field.sync.errors import BadReply, SyncError
from ntm_field.sync.transport import Transport


def enrol_device(
    store: LocalStore,
    code_or_link: str,
    *,
    server: str | None = None,
    device_name: str = "",
    clock: Callable[[], datetime],
    connect: TransportFactory = Transport,
) -> Enrolment:
    """Exchange the code for a token and keep it in the store with the units of the granted scope.

    Raises EnrolLinkError (what was typed is unusable), EnrolmentError (the store holds
    unsynced edits of another enrolment: checked before the code is spent), or a
    SyncError (`Refused` with error_code `invalid_code`, `Offline`, …). The units are
    fetched right away when the network allows, else by the next sync.
    """
    address, code = parse_enrolment(code_or_link, server)
    store.check_enrol(address)
    with connect(address, None) as transport:
        reply = transport.enrol(code, device_name)
    granted = _enrolment(address, reply, device_name, clock())
    store.enrol(granted, [])
    try:
        with connect(address, granted.token) as transport:
            store.replace_units(fetch_units(transport, granted))
    except SyncError:
        pass  # the sync engine fetches them when the store has no hamlets
    return granted


def _enrolment(server: str, reply: dict, device_name: str, now: datetime) -> Enrolment:
    try:
        scope = reply["scope"]
        if not (isinstance(scope, list) and all(isinstance(code, str) for code in scope)):
            raise TypeError
        return Enrolment(
            server=server,
            device_id=str(reply["device_id"]),
            token=str(reply["token"]),
            role=str(reply["role"]),
            scope=tuple(scope),
            enrolled_at=now,
            device_name=device_name,
        )
    except (KeyError, TypeError):
        raise BadReply("not an enrolment answer") from None
