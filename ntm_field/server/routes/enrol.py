"""`POST /api/v1/enrol` (a code for a device token) and `POST /api/v1/enrol-codes` (a leader's or an
admin's new code)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from ntm_field.domain import enrol_code
from ntm_field.server import enrolment, errors
from ntm_field.server import openapi as docs
from ntm_field.server.deps import EnrolAddress, JsonBody, LimitsDep, SettingsDep, StoreDep, may
from ntm_field.server.policy import Action
from ntm_field.server.store import Device

router = APIRouter()


@router.post("/api/v1/enrol", status_code=201, **docs.ROUTES["enrol"])
async def enrol(address: EnrolAddress, body: JsonBody, store: StoreDep, limits: LimitsDep, settings: SettingsDep) -> dict:
    name, typed = enrolment.device_name(body), enrolment.typed_code(body)
    # counted as a wrong guess from the moment it is judged; taken back once the code turns out right (the
    # counts are in the database: off the event loop)
    prefix = enrol_code.prefix(enrol_code.normalise(typed[: enrolment.MAX_TYPED_CODE]))
    guess = await run_in_threadpool(limits.wrong_codes.attempt, address, prefix)
    if not typed or len(typed) > enrolment.MAX_TYPED_CODE:
        raise errors.InvalidCode("the enrolment code is not valid")
    device, token = await run_in_threadpool(store.enrol, typed, name)
    await run_in_threadpool(limits.wrong_codes.right, guess)
    return {
        "device_id": device.id,
        "token": token,
        "role": device.role,
        "scope": list(device.scope),
        "server_time": settings.clock().isoformat(),
    }


@router.post("/api/v1/enrol-codes", status_code=201, **docs.ROUTES["enrol-codes"])
async def enrol_codes(
    device: Annotated[Device, Depends(may(Action.CREATE_CODE))], body: JsonBody, store: StoreDep, settings: SettingsDep
) -> dict:
    request = enrolment.CodeRequest.from_body(body)
    created = await run_in_threadpool(enrolment.create_code, store, device, request)
    return {
        "code": created.code,
        "link": enrolment.enrol_link(settings.public_url, created.code),
        "role": created.role,
        "scope": list(created.scope),
        "expires": created.expires.isoformat(),
    }
