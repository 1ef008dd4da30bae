"""A generated province of more than 100,000 members: coverage equals a brute-force count at every level."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest

from ntm_field.bench.households import generate
from ntm_field.domain.codes import Check
from ntm_field.domain.indicators import tally
from ntm_field.domain.units import hamlet_code
from ntm_field.server.coverage import coverage_report
from ntm_field.server.store import Device
from tests.server.conftest import ENGINES

ADMIN = Device(id="admin", name="admin", role="admin", scope=())


@pytest.mark.slow
@ENGINES
def test_province_figures_equal_a_brute_force_count_at_every_level(server_store):
    rng = random.Random(2024)
    tree = server_store.tree("2024")
    communes = sorted(c for c, u in tree.units.items() if str(u.level) == "commune")
    lines = ["code,name,level,parent_code,expected_households"]
    hamlets = []
    for commune in communes:
        for n in range(1, 4):
            code = hamlet_code(commune, n)
            if code not in tree.units:
                lines.append(f"{code},Ấp {n},hamlet,{commune},{rng.choice(['', 250, 300])}")
            hamlets.append(code)
    server_store.load_units("\n".join(lines) + "\n")
    households = [replace(h, hamlet_code=rng.choice(hamlets)) for h in generate(30_000, seed=77)]
    assert sum(len(h.members) for h in households) >= 100_000
    with server_store.backend.transaction() as tx:
        for rev, h in enumerate(households, start=1):
            tx.execute(
                "INSERT INTO households (id, hamlet_code, rev, deleted, document, device_id, received_at) VALUES (?, ?, ?, 0, ?, 'seed', 'now')",
                [h.id, h.hamlet_code, rev, json.dumps(h.to_document())],
            )
    server_store.recompute()

    by_hamlet: dict[str, list] = {}
    for h in households:
        by_hamlet.setdefault(h.hamlet_code, []).append(h)

    def check(report: dict, members: list) -> None:
        expected = tally(members)
        assert report["households"]["surveyed"] == expected.surveyed
        assert report["fully_covered_households"] == expected.fully_covered
        for c in Check:
            figure = expected.figure(c)
            got = report["indicators"][c.value]
            assert (got["covered"], got["eligible"], got["unknown"]) == (figure.covered, figure.eligible, figure.unknown)

    province = coverage_report(server_store, ADMIN, unit="70", structure="2024", depth=3)
    check(province, households)
    for district in province["children"]:
        under = set(tree.hamlets_under(district["unit"]["code"])) | {
            h for h in hamlets if h.split("-")[0] in tree.children.get(district["unit"]["code"], [])}
        check(district, [h for h in households if h.hamlet_code in under])
        for commune in district["children"]:
            check(commune, [h for h in households if h.hamlet_code.split("-")[0] == commune["unit"]["code"]])
            for hamlet in commune["children"]:
                check(hamlet, by_hamlet.get(hamlet["unit"]["code"], []))
    # the 2025 structure rolls the same households up to the same provincial totals
    check(coverage_report(server_store, ADMIN, unit="75", structure="2025"), households)
