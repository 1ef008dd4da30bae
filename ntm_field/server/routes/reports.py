"""`GET /api/v1/coverage`, `GET /api/v1/progress` and `GET /api/v1/export`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ntm_field.server import openapi as docs
from ntm_field.server import reports
from ntm_field.server.coverage import coverage_report
from ntm_field.server.deps import DeviceDep, StoreDep

Unit = Annotated[str | None, Query(max_length=20)]
Structure = Annotated[str | None, Query(pattern="^(2024|2025)$")]

router = APIRouter()


@router.get("/api/v1/coverage", **docs.ROUTES["coverage"])
def coverage(device: DeviceDep, store: StoreDep, unit: Unit = None, structure: Structure = None) -> dict:
    return coverage_report(store, device, unit=unit, structure=structure)


@router.get("/api/v1/progress", **docs.ROUTES["progress"])
def progress_series(device: DeviceDep, store: StoreDep, unit: Unit = None, structure: Structure = None) -> dict:
    return reports.progress_report(store, device, unit=unit, structure=structure)


@router.get("/api/v1/export", response_class=Response, **docs.ROUTES["export"])
def export(
    device: DeviceDep,
    store: StoreDep,
    unit: Unit = None,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
    kind: Annotated[str, Query(pattern="^(members|coverage)$")] = "members",
) -> Response:
    exported = reports.export_file(store, device, unit=unit, format=format, kind=kind)
    disposition = {"Content-Disposition": f'attachment; filename="{exported.file_name}"'}
    return Response(exported.content, media_type=exported.media_type, headers=disposition)
