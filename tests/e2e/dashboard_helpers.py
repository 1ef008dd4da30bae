"""Data for the dashboard's tests (view-models and browser): hamlets in two districts, households
surveyed over several days, pushed through the same code paths as a phone's sync."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime, timedelta, timezone

import requests

from ntm_field.bench.households import generate
from ntm_field.domain.codes import VisitStatus
from ntm_field.domain.records import Household
from ntm_field.server.changes import push_batch
from ntm_field.server.store import ServerStore

# Besides tests/server/conftest.HAMLETS_CSV (25216-01..03, 25217-01 in district 688): two hamlets of
# district 689, whose communes 25195 and 25198 merge into the 2025 commune 25195.
EXTRA_HAMLETS_CSV = (
    "code,name,level,parent_code,expected_households\n"
    "25195-01,Khu phố Tân Phú 1,hamlet,25195,120\n"
    "25198-01,Ấp Tân Đồng 2,hamlet,25198,90\n"
)
HAMLETS = ["25216-01", "25216-02", "25216-03", "25217-01", "25195-01", "25198-01"]
FIRST_DAY = date(2024, 4, 8)


def households(count: int = 60, *, seed: int = 7) -> list[Household]:
    """`count` households spread over HAMLETS and five survey days, a few of them not surveyed."""
    made = []
    for n, household in enumerate(generate(count, seed=seed, hamlets=1)):
        hamlet = HAMLETS[n % len(HAMLETS)]
        status = VisitStatus.ABSENT if n % 11 == 5 else household.visit_status
        members = household.members
        if n % 4 == 0:  # every fourth household fully covered
            members = tuple(dataclasses.replace(m, cccd="yes", vneid="level2", smartphone="yes", sim="signature")
                            for m in members)  # fmt: skip
        made.append(dataclasses.replace(
            household, hamlet_code=hamlet, surveyed_on=FIRST_DAY + timedelta(days=n % 5), visit_status=status,
            members=members,
        ))  # fmt: skip
    return made


def changes(found: list[Household]) -> list[dict]:
    return [
        {"change_id": str(uuid.uuid4()), "id": h.id, "base_rev": None, "deleted": False, "data": h.to_document()}
        for h in found
    ]


def ingest(store: ServerStore, found: list[Household], *, scope: str = "70") -> None:
    """Store the households as a surveyor's push would (same function as POST /api/v1/sync/push)."""
    code = store.create_enrol_code(role="surveyor", scope=[scope], uses=1, expires_in=timedelta(days=1), created_by="test")
    device, _ = store.enrol(code.code, "seed phone")
    results = push_batch(store, device, changes(found), hamlets=store.tree("2024"), today=date(2024, 7, 1))
    assert all(r["status"] == "applied" for r in results), results


def push(url: str, token: str, found: list[Household]) -> None:
    """Push the households through the real HTTP API with a surveyor's token."""
    body = {"batch_id": f"seed-{uuid.uuid4()}", "changes": changes(found)}
    reply = requests.post(f"{url}/api/v1/sync/push", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert reply.status_code == 200, reply.text
    assert all(r["status"] == "applied" for r in reply.json()["results"]), reply.text


def api(url: str, token: str, path: str, **params) -> requests.Response:
    reply = requests.get(f"{url}{path}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply


def now() -> datetime:
    return datetime.now(timezone.utc)
