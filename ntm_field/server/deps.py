"""Request dependencies of the routes: what `create_app` set up (store, settings, hooks, limits), the device
behind the bearer token and what the access policy lets it do, the client's address, and the bodies.

FastAPI resolves a route's dependencies in the order of its parameters: the token (401) and the policy
(403) are judged before a body is read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from ntm_field.server import bodies, errors, policy
from ntm_field.server.limits import RateLimiter, WrongCodes
from ntm_field.server.policy import Action
from ntm_field.server.settings import Hooks, Settings
from ntm_field.server.store import Device, ServerStore

MAX_AUTHORIZATION = 200


@dataclass(frozen=True)
class Limits:
    """The rate limits of one app: requests per token, enrolments per address, wrong codes."""

    per_token: RateLimiter
    enrolments: RateLimiter
    wrong_codes: WrongCodes


def _store(request: Request) -> ServerStore:
    return request.app.state.store


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _hooks(request: Request) -> Hooks:
    return request.app.state.hooks


def _limits(request: Request) -> Limits:
    return request.app.state.limits


StoreDep = Annotated[ServerStore, Depends(_store)]
SettingsDep = Annotated[Settings, Depends(_settings)]
HooksDep = Annotated[Hooks, Depends(_hooks)]
LimitsDep = Annotated[Limits, Depends(_limits)]


def current_device(
    store: StoreDep, limits: LimitsDep, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Device:
    """The device behind the bearer token, read afresh (401 when missing, unknown, expired or revoked),
    counted against its rate limit."""
    if not authorization or not authorization.startswith("Bearer ") or len(authorization) > MAX_AUTHORIZATION:
        raise errors.InvalidToken("a bearer token is required")
    device = store.authenticate(authorization.removeprefix("Bearer ").strip())
    limits.per_token.check(device.id)
    return device


DeviceDep = Annotated[Device, Depends(current_device)]


def may(action: Action) -> Callable[[Device], Device]:
    """A dependency: the current device, when the policy lets its role do `action` (403 otherwise)."""

    def allowed(device: DeviceDep) -> Device:
        policy.require(device, action)
        return device

    return allowed


def enrolment_address(request: Request, limits: LimitsDep) -> str:
    """The client's address, counted against the enrolments per address: the peer as uvicorn gives it,
    or X-Forwarded-For when the peer is a trusted proxy (NTM_TRUSTED_PROXIES, passed to uvicorn as forwarded_allow_ips)."""
    address = request.client.host if request.client else "?"
    limits.enrolments.check(address)
    return address


EnrolAddress = Annotated[str, Depends(enrolment_address)]
JsonBody = Annotated[dict, Depends(bodies.json_body)]
PushBody = Annotated[dict, Depends(bodies.push_body)]

__all__ = [
    "Limits", "StoreDep", "SettingsDep", "HooksDep", "LimitsDep", "DeviceDep", "current_device", "may",
    "EnrolAddress", "JsonBody", "PushBody",
]  # fmt: skip
