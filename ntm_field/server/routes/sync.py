"""`POST /api/v1/sync/push` and `GET /api/v1/sync/pull`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from ntm_field.server import errors, policy
from ntm_field.server import openapi as docs
from ntm_field.server.changes import decode_cursor, pull, push_batch
from ntm_field.server.clocks import MAX_CURSOR
from ntm_field.server.deps import HooksDep, PushBody, SettingsDep, StoreDep, may
from ntm_field.server.policy import Action
from ntm_field.server.store import Device

MAX_CHANGES = 500
MAX_BATCH_ID = 100

router = APIRouter()


@router.post("/api/v1/sync/push", **docs.ROUTES["push"])
async def sync_push(
    device: Annotated[Device, Depends(may(Action.PUSH))], body: PushBody, store: StoreDep, settings: SettingsDep,
    hooks: HooksDep,
) -> dict:  # fmt: skip
    batch_id, changes = _batch(body)
    results = await run_in_threadpool(
        lambda: push_batch(store, device, changes, hamlets=store.tree("2024"), today=settings.clock().date(),
                           before_commit=hooks.before_commit, after_commit=hooks.after_commit)  # fmt: skip
    )
    return {"batch_id": batch_id, "server_time": settings.clock().isoformat(), "results": results}


def _batch(body: dict) -> tuple[str, list[dict]]:
    """(batch_id, changes) of a push body; 400 `invalid` or 413 `too_large` for a batch that breaks the contract."""
    batch_id, changes = body.get("batch_id"), body.get("changes")
    if not isinstance(batch_id, str) or not 1 <= len(batch_id) <= MAX_BATCH_ID:
        raise errors.ApiError(f"batch_id must be a string of 1–{MAX_BATCH_ID} characters", field="batch_id", code="invalid")
    if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
        raise errors.ApiError("changes must be an array of objects", field="changes", code="invalid")
    if len(changes) > MAX_CHANGES:
        raise errors.ApiError(f"at most {MAX_CHANGES} changes a batch", status=413, code="too_large")
    return batch_id, changes


@router.get("/api/v1/sync/pull", **docs.ROUTES["pull"])
def sync_pull(
    device: Annotated[Device, Depends(may(Action.PULL))],
    store: StoreDep,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    include: Annotated[str | None, Query(pattern="^surveyor$")] = None,
) -> dict:
    try:
        seen = decode_cursor(cursor)
    except ValueError:
        raise errors.Invalid("the cursor is not one this server gave", field="cursor") from None
    hamlets = policy.hamlets_in_scope(device, store.tree("2024"))
    return pull(store, hamlets, after=seen, limit=limit, surveyor=include is not None)
