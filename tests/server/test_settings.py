"""Settings are read once from the environment (`Settings.from_env`), every NTM_* variable it reads is
documented, a value the server cannot use stops it with one line naming the variable, and the test hooks
are not settings."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from ntm_field.server.settings import LIMITS, Hooks, Settings, SettingsError
from tests.server.conftest import ROOT, ntm

SETTINGS_SOURCE = ROOT / "ntm_field" / "server" / "settings.py"


def test_from_env_reads_the_ntm_variables_and_the_command_line_comes_first():
    settings = Settings.from_env(
        {"NTM_DATABASE_URL": "postgresql://db/ntm", "NTM_PUBLIC_URL": "https://ntm.example.vn",
         "NTM_REQUESTS_PER_MINUTE": "240", "NTM_WRONG_CODE_WINDOW": " 60 "},
        public_url="http://0.0.0.0:9000",
    )  # fmt: skip
    assert (settings.database_url, settings.public_url) == ("postgresql://db/ntm", "https://ntm.example.vn")
    assert (settings.requests_per_minute, settings.wrong_code_window, settings.enrolments_per_minute) == (240, 60, 30)
    given = Settings.from_env({"NTM_DATABASE_URL": "postgresql://db/ntm"}, database="sqlite:///x.db", public_url="http://h:1")
    assert (given.database_url, given.public_url) == ("sqlite:///x.db", "http://h:1")
    default = Settings.from_env({"NTM_DATA_DIR": "/srv/ntm"})
    assert default.database_url == f"sqlite:///{Path('/srv/ntm') / 'server.db'}"
    for bad in ("0", "-5", "many", "1.5"):
        with pytest.raises(SettingsError, match="NTM_ENROLMENTS_PER_MINUTE"):
            Settings.from_env({"NTM_ENROLMENTS_PER_MINUTE": bad})


def test_every_variable_read_is_documented_and_hooks_are_not_settings():
    read = set(re.findall(r"NTM_[A-Z_]+", SETTINGS_SOURCE.read_text(encoding="utf-8")))
    read |= {f"NTM_{name.upper()}" for name in LIMITS}
    docs = (ROOT / "docs" / "server.md").read_text(encoding="utf-8")
    assert {"NTM_DATABASE_URL", "NTM_DATA_DIR", "NTM_PUBLIC_URL"} <= read
    assert sorted(name for name in read if name not in docs) == []
    assert not {f.name for f in dataclasses.fields(Settings)} & {f.name for f in dataclasses.fields(Hooks)}
    assert "after_commit" not in {f.name for f in dataclasses.fields(Settings)}


def test_the_server_refuses_a_bad_variable_in_one_line():
    result = ntm("server", "--port", "1", env={"NTM_REQUESTS_PER_MINUTE": "lots"})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["ntm-field: NTM_REQUESTS_PER_MINUTE must be a positive whole number"]
