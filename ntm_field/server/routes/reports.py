"""`GET /api/v1/coverage`, `GET /api/v1/progress` and `GET /api/v1/export`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from ntm_field.server import openapi as docs
from ntm_field.server import reports
from ntm_field.server.coverage import coverage_report
from ntm_field.server.progress import progress_report
from ntm_field.server.deps import DeviceDep, StoreDep

Unit = Annotated[str | None, Query(max_length=20)]
Structure = Annotated[str | None, Query(pattern="^(2024|2025)$")]

router = APIRouter()


@router.get("/api/v1/coverage", **docs.ROUTES["coverage"])
def coverage(device: DeviceDep, store: StoreDep, unit: Unit = None, structure: Structure = None) -> dict:
    return coverage_report(store, device, unit=unit, structure=structure)


@router.get("/api/v1/progress", **docs.ROUTES["progress"])
def progress_series(device: DeviceDep, store: StoreDep, unit: Unit = None, structure: Structure = None) -> dict:
    return progress_report(store, device, unit=unit, structure=structure)


@router.get("/api/v1/export", response_class=Response, **docs.ROUTES["export"])
def export(
    device: DeviceDep,
    store: StoreDep,
    unit: Unit = None,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
    kind: Annotated[str, Query(pattern="^(members|coverage)$")] = "members",
) -> Response:
    # checked and audited here, before any byte: a refused export is still a plain JSON 403/404
    export = reports.plan_export(store, device, unit=unit, format=format, kind=kind)
    stream = reports.open_export(store, export)
    headers = {"Content-Disposition": f'attachment; filename="{export.file_name}"'}
    if stream.size is not None:  # a finished file (XLSX: a zip already, gzip would only spend CPU on it)
        headers |= {"Content-Length": str(stream.size), "Content-Encoding": "identity"}
    return StreamingResponse(stream.chunks, media_type=export.media_type, headers=headers)
