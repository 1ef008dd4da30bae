"""`ntm-field enrol` and `ntm-field sync` as support staff and scripts use them, against a real server."""

from __future__ import annotations

import json

from ntm_field.bench.households import generate
from ntm_field.device import open_device_store
from tests.server.conftest import ntm
from tests.sync.conftest import enrol_code, server_history, stop_server


def test_enrol_then_sync_from_the_command_line(server, tmp_path):
    data = tmp_path / "phone"
    enrolled = ntm("enrol", "--data", str(data), "--server", server.url, "--code", enrol_code(server), "--name", "máy 1")
    assert enrolled.returncode == 0, enrolled.stderr
    assert "surveyor" in enrolled.stdout and "25216" in enrolled.stdout

    store = open_device_store(data)
    store.save_many(generate(7, seed=4, hamlets=3, commune="25216"))
    store.close()
    synced = ntm("sync", "--data", str(data), "--json")
    assert synced.returncode == 0, synced.stderr
    assert json.loads(synced.stdout) == {"pushed": 7, "pulled": 0, "rejected": 0, "conflicts": 0, "pending": 0}
    assert synced.stdout.count("\n") == 1 and synced.stderr == ""
    assert len(server_history(server)) == 7

    other = tmp_path / "phone-2"
    link = f"{server.url}/enrol?code={enrol_code(server)}"
    assert ntm("enrol", "--data", str(other), "--code", link).returncode == 0  # the link carries the server
    pulled = ntm("sync", "--data", str(other), "--json")
    assert json.loads(pulled.stdout)["pulled"] == 7
    assert json.loads(ntm("sync", "--data", str(other), "--json").stdout)["pulled"] == 0


def test_command_line_failures_are_one_line(server, tmp_path):
    data = str(tmp_path / "phone")
    wrong = ntm("enrol", "--data", data, "--server", server.url, "--code", "WRONG-CODE")
    assert wrong.returncode == 1 and wrong.stderr.strip().count("\n") == 0
    assert "code is wrong, used up or expired" in wrong.stderr and "Traceback" not in wrong.stderr
    no_server = ntm("enrol", "--data", data, "--code", "ABC")
    assert no_server.returncode == 1 and "--code" in no_server.stderr
    not_enrolled = ntm("sync", "--data", data, "--json")
    assert not_enrolled.returncode == 1 and "not enrolled" in not_enrolled.stderr
    assert json.loads(not_enrolled.stdout)["pending"] == 0

    assert ntm("enrol", "--data", data, "--server", server.url, "--code", enrol_code(server)).returncode == 0
    stop_server(server.process)
    offline = ntm("sync", "--data", data)
    assert offline.returncode == 1 and "cannot be reached" in offline.stderr and "Traceback" not in offline.stderr
