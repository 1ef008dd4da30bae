"""`ntm-field admin enrol-code --qr` and `ntm-field labels`: every file written decodes (zxing-cpp)
to the links the server and the device know, and failures are one line."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

from ntm_field.bench.households import generate
from ntm_field.device import open_device_store
from ntm_field.server.changes import push_batch
from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore
from tests.server.conftest import (  # noqa: F401  (fixtures)
    ENGINES,
    database_url,
    ntm,
    postgres_admin_url,
    prepare_database,
    server,
)
from tests.sync.conftest import enrol_code, server_rows


def decoded_png(path: Path) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(path.read_bytes())))]


def sheet(path: Path) -> tuple[set[str], str]:
    """Every link decoded from the PDF's pages, and its text."""
    links, text = [], ""
    for page in pdfium.PdfDocument(path.read_bytes()):
        links += [b.text for b in zxingcpp.read_barcodes(page.render(scale=3).to_pil())]
        text += page.get_textpage().get_text_range() + "\n"
    assert len(links) == len(set(links))  # no label twice
    return set(links), text


def one_line_failure(result, *needles: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


@ENGINES
def test_enrol_code_writes_a_qr_of_the_link_it_prints(database_url, tmp_path):
    db = ["--db", prepare_database(database_url)]
    png = tmp_path / "code.png"
    created = ntm("admin", "enrol-code", "--role", "surveyor", "--scope", "25216-03", "--url", "https://ntm.example.vn",
                  "--qr", str(png), "--json", *db)  # fmt: skip
    assert created.returncode == 0, created.stderr
    payload = json.loads(created.stdout)  # still one JSON object and nothing else
    assert created.stdout.count("\n") == 1
    assert decoded_png(png) == [payload["link"]]
    assert payload["link"] == f"https://ntm.example.vn/enrol?code={payload['code']}"

    plain = ntm("admin", "enrol-code", "--role", "leader", "--scope", "25216", "--qr", str(png), *db,
                env={"NTM_PUBLIC_URL": "http://10.0.0.5:8080"})  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    [link] = [line.removeprefix("link: ") for line in plain.stdout.splitlines() if line.startswith("link: ")]
    assert decoded_png(png) == [link] and link.startswith("http://10.0.0.5:8080/enrol?code=")
    assert f"qr: {png}" in plain.stdout

    unwritable = ntm("admin", "enrol-code", "--role", "surveyor", "--scope", "25216", "--json",
                     "--qr", str(tmp_path / "missing" / "code.png"), *db)  # fmt: skip
    one_line_failure(unwritable, "missing")
    assert json.loads(unwritable.stdout)["code"]  # the code was created and shown before the file failed


def push(database_url: str, households, *, deleted: tuple[str, ...] = ()) -> None:
    """Households through the real ingestion path (a surveyor device, push_batch); some then deleted."""
    store = ServerStore(open_backend(database_url), clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
    try:
        code = store.create_enrol_code(role="surveyor", scope=["25216"], uses=1, expires_in=timedelta(days=1), created_by="test")
        device, _ = store.enrol(code.code, "phone")
        changes = [{"change_id": f"c-{h.id}", "id": h.id, "base_rev": None, "deleted": False, "data": h.to_document()}
                   for h in households]  # fmt: skip
        results = push_batch(store, device, changes, hamlets=store.tree("2024"), today=date.today())
        assert {r["status"] for r in results} == {"applied"}
        revs = {r["id"]: r["rev"] for r in results}
        gone = [{"change_id": f"d-{i}", "id": i, "base_rev": revs[i], "deleted": True, "data": None} for i in deleted]
        results = push_batch(store, device, gone, hamlets=store.tree("2024"), today=date.today())
        assert all(r["status"] == "applied" for r in results)
    finally:
        store.close()


@ENGINES
def test_labels_from_the_server_are_the_current_households_of_the_hamlet(database_url, tmp_path):
    url = prepare_database(database_url)
    households = [replace(h, hamlet_code="25216-03" if i % 4 else "25216-01") for i, h in enumerate(generate(60, seed=7))]
    mine = [h for h in households if h.hamlet_code == "25216-03"]
    push(url, households, deleted=(mine[0].id,))
    current = mine[1:]
    out = tmp_path / "labels.pdf"

    made = ntm("labels", "--hamlet", "25216-03", "--out", str(out), "--db", url, "--url", "https://ntm.example.vn/")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == f"wrote {len(current)} labels to {out}"
    links, text = sheet(out)
    assert links == {f"https://ntm.example.vn/household/{h.id}" for h in current}
    # a label's only text is its code and the fixed line, in label-code order: no name, no house number
    expected_words = []
    for code in sorted(h.label_code for h in current):
        hamlet, own = code.split("/")
        expected_words += [f"{hamlet}/", own, "ntm-field"]
    assert text.split() == expected_words
    assert not any(m.full_name in text for h in households for m in h.members)

    default = ntm("labels", "--hamlet", "25216-03", "--out", str(out), "--db", url, env={"NTM_PUBLIC_URL": "http://10.1.2.3:8080"})
    assert default.returncode == 0, default.stderr
    assert sheet(out)[0] == {f"http://10.1.2.3:8080/household/{h.id}" for h in current}

    one_line_failure(ntm("labels", "--hamlet", "25216-99", "--out", str(out), "--db", url), "25216-99", "unknown hamlet")
    one_line_failure(ntm("labels", "--hamlet", "25216-02", "--out", str(out), "--db", url), "25216-02", "no households")
    one_line_failure(ntm("labels", "--hamlet", "25216", "--out", str(out), "--db", url), "25216")  # a commune
    one_line_failure(ntm("labels", "--hamlet", "25216-03", "--out", str(tmp_path / "no" / "x.pdf"), "--db", url), "no")


def test_labels_from_a_device_agree_with_the_server_after_sync(server, tmp_path):
    data = tmp_path / "phone"
    enrolled = ntm("enrol", "--data", str(data), "--server", server.url, "--code", enrol_code(server))
    assert enrolled.returncode == 0, enrolled.stderr
    store = open_device_store(data)
    households = [replace(h, hamlet_code="25216-02" if i % 3 else "25216-01") for i, h in enumerate(generate(45, seed=8))]
    store.save_many(households)
    store.close()
    device_pdf, server_pdf = tmp_path / "device.pdf", tmp_path / "server.pdf"

    made = ntm("labels", "--hamlet", "25216-02", "--out", str(device_pdf), "--data", str(data))
    assert made.returncode == 0, made.stderr
    expected = {f"{server.url}/household/{h.id}" for h in households if h.hamlet_code == "25216-02"}
    assert made.stdout.strip() == f"wrote {len(expected)} labels to {device_pdf}"
    links, text = sheet(device_pdf)
    assert links == expected  # the links' default base is the server the device is enrolled with
    assert not any(h.head_name in text for h in households)

    assert ntm("sync", "--data", str(data)).returncode == 0
    assert len(server_rows(server, "SELECT id FROM households")) == len(households)
    from_server = ntm("labels", "--hamlet", "25216-02", "--out", str(server_pdf), "--db", server.db, "--url", server.url)
    assert from_server.returncode == 0, from_server.stderr
    assert sheet(server_pdf) == sheet(device_pdf)

    other = ntm("labels", "--hamlet", "25216-02", "--out", str(device_pdf), "--data", str(data), "--url", "https://x.vn")
    assert other.returncode == 0 and sheet(device_pdf)[0] == {link.replace(server.url, "https://x.vn") for link in expected}
    one_line_failure(ntm("labels", "--hamlet", "25216-03", "--out", str(device_pdf), "--data", str(data)),
                     "25216-03", "no households")  # fmt: skip
    one_line_failure(ntm("labels", "--hamlet", "25217-01", "--out", str(device_pdf), "--data", str(data)),
                     "25217-01", "unknown hamlet")  # fmt: skip


def test_labels_of_a_device_that_is_not_enrolled_need_url(tmp_path):
    data = tmp_path / "phone"
    store = open_device_store(data)
    households = list(generate(5, seed=9, hamlets=1, commune="25216"))
    store.save_many(households)
    store.close()
    out = tmp_path / "labels.pdf"
    one_line_failure(ntm("labels", "--hamlet", "25216-01", "--out", str(out), "--data", str(data)), "--url")
    made = ntm("labels", "--hamlet", "25216-01", "--out", str(out), "--data", str(data), "--url", "http://h")
    assert made.returncode == 0, made.stderr
    assert sheet(out)[0] == {f"http://h/household/{h.id}" for h in households}
    one_line_failure(ntm("labels", "--hamlet", "25216-01", "--out", str(out), "--data", str(tmp_path / "none")), "no device store")
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("args", [["--db", "sqlite:///x.db", "--data", "d"], []], ids=["both", "neither"])
def test_labels_takes_exactly_one_source(args, tmp_path):
    one_line_failure(ntm("labels", "--hamlet", "25216-01", "--out", str(tmp_path / "x.pdf"), *args))
