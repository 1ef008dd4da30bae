"""`GET /api/v1/conflicts` and `POST /api/v1/conflicts/{conflict_id}/resolve`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from ntm_field.server import errors
from ntm_field.server import openapi as docs
from ntm_field.server.conflicts import open_conflicts, resolve
from ntm_field.server.deps import JsonBody, SettingsDep, StoreDep, may
from ntm_field.server.policy import Action
from ntm_field.server.store import Device

router = APIRouter()


@router.get("/api/v1/conflicts", **docs.ROUTES["conflicts"])
def conflicts_of(
    device: Annotated[Device, Depends(may(Action.LIST_CONFLICTS))],
    store: StoreDep,
    unit: Annotated[str | None, Query(max_length=20)] = None,
    include: Annotated[str | None, Query(pattern="^device$", description="`device`: name each value's device")] = None,
) -> dict:
    return {"conflicts": open_conflicts(store, device, unit=unit, device_names=include is not None)}


@router.post("/api/v1/conflicts/{conflict_id}/resolve", **docs.ROUTES["resolve"])
async def resolve_conflict(
    conflict_id: str, device: Annotated[Device, Depends(may(Action.RESOLVE_CONFLICT))], body: JsonBody, store: StoreDep,
    settings: SettingsDep,
) -> dict:  # fmt: skip
    if "value" not in body:
        raise errors.Invalid("value is required", field="value")
    rev = await run_in_threadpool(
        lambda: resolve(store, device, conflict_id, body["value"], hamlets=store.tree("2024"), today=settings.clock().date())
    )
    return {"rev": rev}
