"""The server's command line: each command works, has help, and refuses bad input in one line."""

from __future__ import annotations

import json

import pytest

from tests.server.conftest import ENGINES, HAMLETS_CSV, UNITS, ntm

COMMANDS = [
    ["server"], ["admin"], ["admin", "units"], ["admin", "units", "load"], ["admin", "units", "map"],
    ["admin", "enrol-code"], ["admin", "revoke"], ["admin", "recompute"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_server_command_has_help(command):
    result = ntm(*command, "--help")
    assert result.returncode == 0 and "usage:" in result.stdout


@ENGINES
def test_admin_commands_end_to_end(database_url, tmp_path):
    db = ["--db", database_url]
    loaded = ntm("admin", "units", "load", str(UNITS / "binhphuoc-2024.csv"), *db)
    assert loaded.returncode == 0, loaded.stderr
    assert "1 province, 11 district, 111 commune" in loaded.stdout
    assert ntm("admin", "units", "load", str(UNITS / "dongnai-2025-binhphuoc.csv"), *db).returncode == 0
    mapped = ntm("admin", "units", "map", str(UNITS / "binhphuoc-2025-mapping.csv"), *db)
    assert mapped.returncode == 0 and "111" in mapped.stdout
    hamlets = tmp_path / "hamlets.csv"
    hamlets.write_text(HAMLETS_CSV, encoding="utf-8")
    assert ntm("admin", "units", "load", str(hamlets), *db).returncode == 0

    bad = tmp_path / "bad.csv"
    bad.write_text(HAMLETS_CSV.replace("25216-02,Khu phố 2,hamlet,25216", "25216-02,Khu phố 2,village,25216"), encoding="utf-8")
    refused = ntm("admin", "units", "load", str(bad), *db)
    assert refused.returncode == 1 and "line 3" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr

    created = ntm("admin", "enrol-code", "--role", "surveyor", "--scope", "25216-01,25216-02", "--uses", "3",
                  "--expires", "12h", "--url", "https://ntm.example.vn", "--json", *db)  # fmt: skip
    assert created.returncode == 0, created.stderr
    payload = json.loads(created.stdout)  # one JSON object and nothing else
    assert set(payload) == {"code", "link", "role", "scope", "expires"}
    assert payload["link"].startswith("https://ntm.example.vn/") and payload["code"] in payload["link"]
    assert payload["scope"] == ["25216-01", "25216-02"]

    for args, message in [
        (["admin", "enrol-code", "--role", "king", "--scope", "25216"], "--role"),
        (["admin", "enrol-code", "--role", "surveyor", "--scope", "99999"], "unknown unit"),
        (["admin", "enrol-code", "--role", "surveyor", "--scope", "25216", "--expires", "soon"], "--expires"),
        (["admin", "revoke", "no-such-device"], "no device"),
    ]:
        result = ntm(*args, *db)
        assert result.returncode == 1 and message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr

    recomputed = ntm("admin", "recompute", *db)
    assert recomputed.returncode == 0 and "recomputed" in recomputed.stdout


def test_a_bad_database_url_is_one_line():
    result = ntm("admin", "recompute", "--db", "mysql://nowhere")
    assert result.returncode == 1 and "sqlite:///" in result.stderr and "Traceback" not in result.stderr
