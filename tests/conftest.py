"""Shared fixtures: a real SQLite store in a temp dir, with an injected clock and ids."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta, timezone

import os

import pytest
from hypothesis import settings

from ntm_field.store import LocalStore

# CI runs the property tests derandomized: the same examples every run, so a red CI is reproducible.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

ICT = timezone(timedelta(hours=7))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--long", action="store_true", help="run the long variants (more kills, more examples)")


@pytest.fixture
def long_mode(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--long"))


class FakeClock:
    """A clock that moves only when told: tests decide what 'now' is."""

    def __init__(self, start: datetime = datetime(2024, 4, 12, 9, 30, tzinfo=ICT)):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def new_id():
    counter = itertools.count(1)
    return lambda: str(uuid.UUID(int=next(counter)))


@pytest.fixture
def store(tmp_path, clock, new_id) -> LocalStore:
    opened = LocalStore.open(tmp_path / "store.db", clock=clock, new_id=new_id)
    yield opened
    opened.close()
