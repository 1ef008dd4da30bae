"""The API's routes, one module per resource. Handlers only translate between HTTP and the server's
functions: the access policy (`policy.py`), enrolment, push and pull, conflicts, figures and exports."""

from __future__ import annotations

from fastapi import FastAPI

from ntm_field.server.routes import conflicts, enrol, health, reports, sync


def install(app: FastAPI) -> None:
    """Add every route of the API to `app`, in the contract's order."""
    for module in (health, enrol, sync, reports, conflicts):
        app.include_router(module.router)


__all__ = ["install"]
