"""Behind a reverse proxy: NTM_TRUSTED_PROXIES names the peers whose X-Forwarded-For gives the client's
address. Seen over HTTP against a real server process, through the enrolments-per-address limit (any
POST /api/v1/enrol counts): a proxy on another host (here 127.0.0.2) gives each phone its own count;
a peer that is not trusted counts as itself whatever it claims. Both engines."""

from __future__ import annotations

import random

import pytest

from ntm_field.server.settings import Settings, SettingsError
from tests.server.conftest import ENGINES, ntm, prepare_database, start_server, stop_server
from tests.server.test_enrol_codes import post_enrol, wrong_code

PER_ADDRESS = 2


@pytest.fixture
def start(database_url):
    """Starts servers on one database with 2 enrolments a minute per address and the given proxies."""
    db, started = prepare_database(database_url), []

    def start_one(**env: str):
        started.append(start_server(db, env={"NTM_ENROLMENTS_PER_MINUTE": str(PER_ADDRESS), **env}))
        return started[-1]

    yield start_one
    for server in started:
        stop_server(server.process)


def attempts(server, count: int, *, source: str, forwarded_for) -> list[int]:
    """Statuses of `count` enrolments with wrong codes (400 while within the limit, then 429), each of
    another prefix (the per-prefix limit stays out of the way); `forwarded_for(i)` is the i-th's
    X-Forwarded-For."""
    rng = random.Random(f"{source} {forwarded_for(0)}")
    return [post_enrol(server.url, wrong_code(rng), source=source, forwarded_for=forwarded_for(i))[0] for i in range(count)]


@ENGINES
def test_a_trusted_proxy_on_another_host_gives_each_phone_its_own_count(start):
    server = start(NTM_TRUSTED_PROXIES="127.0.0.2")
    for phone in ("10.1.0.1", "10.1.0.2"):
        assert attempts(server, 3, source="127.0.0.2", forwarded_for=lambda i: phone) == [400, 400, 429]
    # A phone's own X-Forwarded-For reaches the server before the address the proxy appended: the last
    # untrusted address counts, so a phone cannot choose its count through the proxy either.
    assert attempts(server, 3, source="127.0.0.2", forwarded_for=lambda i: f"198.51.100.{i}, 10.1.0.3") == [400, 400, 429]
    # The proxy's own requests (no header) count as the proxy.
    assert attempts(server, 3, source="127.0.0.2", forwarded_for=lambda i: None) == [400, 400, 429]
    # 127.0.0.1 is no proxy here: whatever it claims, it counts as itself.
    assert attempts(server, 3, source="127.0.0.1", forwarded_for=lambda i: f"10.1.1.{i}") == [400, 400, 429]


@ENGINES
def test_x_forwarded_for_from_127_0_0_1_counts_only_when_127_0_0_1_is_trusted(start):
    # Three processes on one database: the counts are shared, so each step uses addresses of its own.
    trusting, trusting_none, default = start(NTM_TRUSTED_PROXIES="127.0.0.1"), start(NTM_TRUSTED_PROXIES=""), start()
    assert attempts(trusting, 4, source="127.0.0.1", forwarded_for=lambda i: f"10.2.0.{i}") == [400] * 4
    assert attempts(trusting_none, 3, source="127.0.0.1", forwarded_for=lambda i: f"10.3.0.{i}") == [400, 400, 429]
    # Unset, the default trusts a proxy on the same machine (127.0.0.1 and ::1): the forwarded addresses
    # count, not 127.0.0.1, whose count is full by now.
    assert attempts(default, 4, source="127.0.0.1", forwarded_for=lambda i: f"10.4.0.{i}") == [400] * 4
    assert attempts(default, 3, source="127.0.0.3", forwarded_for=lambda i: f"10.5.0.{i}") == [400, 400, 429]


def test_trusted_proxies_are_addresses_or_networks_and_never_everyone():
    def read(value: str | None) -> tuple[str, ...]:
        return Settings.from_env({} if value is None else {"NTM_TRUSTED_PROXIES": value}).trusted_proxies

    assert read(None) == ("127.0.0.1", "::1")
    assert read(" 10.0.0.5 ,, 10.1.0.7/24,fd00::5") == ("10.0.0.5", "10.1.0.0/24", "fd00::5")
    assert read("") == ()
    for wrong in ("*", "proxy.example", "10.0.0.0/33", "10.0.0", "10.0.0.5;10.0.0.6"):
        with pytest.raises(SettingsError, match="^NTM_TRUSTED_PROXIES: "):
            read(wrong)


@pytest.mark.parametrize("value", ["proxy.example", "10.0.0.0/33", "*"])
def test_a_wrong_trusted_proxies_setting_stops_the_server_with_a_one_line_message(value, tmp_path):
    run = ntm("server", "--db", f"sqlite:///{tmp_path / 'server.db'}", "--port", "1",
              env={"NTM_TRUSTED_PROXIES": value})  # fmt: skip
    assert run.returncode == 1
    assert run.stderr.startswith("ntm-field: NTM_TRUSTED_PROXIES: ") and run.stderr.count("\n") == 1, run.stderr
