"""The command line translates errors by type: a bad --db, a database that is not one, an unknown unit
give one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import pytest

from tests.server.conftest import ENGINES, prepare_database, ntm


def assert_one_line(result, *words: str) -> None:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ntm-field: "), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.mark.parametrize(
    "db, words",
    [
        ("mysql://nowhere/x", ["sqlite:///"]),
        ("sqlite:////proc/no-such-dir/server.db", ["/proc/no-such-dir"]),
        ("postgresql://postgres@127.0.0.1:1/none", ["127.0.0.1"]),
    ],
    ids=["scheme", "sqlite-folder", "postgresql-port"],
)
def test_a_bad_database_url_is_one_line(db, words):
    for command in (["admin", "recompute"], ["admin", "revoke", "some-device"], ["export", "--unit", "70",
                    "--format", "csv", "--out", "/tmp/ntm-never-written.csv"]):  # fmt: skip
        assert_one_line(ntm(*command, "--db", db), *words)


def test_a_file_that_is_not_a_database_is_one_line(tmp_path):
    garbage = tmp_path / "server.db"
    garbage.write_bytes(b"this is not an SQLite file" * 100)
    assert_one_line(ntm("admin", "recompute", "--db", f"sqlite:///{garbage}"), "not a database")


@ENGINES
def test_an_unknown_unit_is_one_line_naming_the_option(database_url, tmp_path):
    db = prepare_database(database_url)
    assert_one_line(ntm("export", "--unit", "99999", "--format", "csv", "--out", str(tmp_path / "x.csv"), "--db", db),
                    "--unit", "99999")  # fmt: skip
    assert not (tmp_path / "x.csv").exists()
    assert_one_line(ntm("admin", "enrol-code", "--role", "officer", "--scope", "70,99999", "--db", db),
                    "--scope", "unknown unit 99999")  # fmt: skip
    assert_one_line(ntm("labels", "--hamlet", "99999-01", "--out", str(tmp_path / "x.pdf"), "--db", db),
                    "--hamlet", "99999-01")  # fmt: skip
