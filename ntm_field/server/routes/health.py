"""`GET /api/v1/health`."""

from __future__ import annotations

from fastapi import APIRouter

from ntm_field import __version__
from ntm_field.server import openapi as docs
from ntm_field.server.deps import SettingsDep

router = APIRouter()


@router.get("/api/v1/health", **docs.ROUTES["health"])
def health(settings: SettingsDep) -> dict:
    return {"status": "ok", "version": __version__, "time": settings.clock().isoformat()}
