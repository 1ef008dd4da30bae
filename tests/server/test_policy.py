"""The access policy (ntm_field/server/policy.py) is the only place that decides who may do what on which
unit: no other server module names a role, docs/server.md's table "Who may do what" is the policy's
RULES and GRANTS, and its decisions hold on the units of Bình Phước."""

from __future__ import annotations

import re

import pytest

from ntm_field.server import errors, openapi, policy
from ntm_field.server.coverage import scoped_unit
from ntm_field.server.policy import GRANTS, RULES, Action
from ntm_field.server.roles import ADMIN, LEADER, OFFICER, ROLES, SURVEYOR
from ntm_field.server.store import Device
from tests.server.conftest import ROOT

SERVER = ROOT / "ntm_field" / "server"
ROLE_LITERAL = re.compile(r"""["'](?:surveyor|leader|officer|admin)["']""")
# The policy and the roles catalogue name the roles. openapi.py is the contract's description: its role enum
# is checked against the catalogue below, its prose and examples are the contract's words.
NAMING_ROLES = {"policy.py", "roles.py", "openapi.py"}
# Quoted role words that are not roles: the pull's `include=surveyor` extension names a wire field so.
NOT_ROLES = {("changes.py", '| ({"surveyor": r[4] or ""} if surveyor else {})')}


def device(role: str, *scope: str) -> Device:
    return Device(id=f"{role}-{'-'.join(scope)}", name="", role=role, scope=scope)


def test_no_server_module_but_the_policy_and_the_catalogue_names_a_role():
    found = [
        f"{path.relative_to(SERVER)}:{number}: {line.strip()}"
        for path in sorted(SERVER.rglob("*.py"))
        if path.name not in NAMING_ROLES or path.parent != SERVER
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if ROLE_LITERAL.search(line) and (path.name, line.strip()) not in NOT_ROLES
    ]
    assert found == []


def test_the_grep_finds_a_role_named_outside_the_policy():
    planted = 'if device.role == "officer":'
    assert ROLE_LITERAL.search(planted) and ROLE_LITERAL.search("role in ('leader', 'admin')")
    assert not ROLE_LITERAL.search("include=surveyor") and not ROLE_LITERAL.search('Query(pattern="^surveyor$")')


def test_the_openapi_document_offers_the_catalogues_roles():
    assert openapi.ROLES == list(ROLES)


# ----- docs/server.md "Who may do what" ------------------------------------------------------------


def doc_table() -> dict[str, list[str]]:
    """The rows of docs/server.md's "Who may do what" table, by action (cells after the action's)."""
    text = (ROOT / "docs" / "server.md").read_text(encoding="utf-8")
    section = text.split("## Who may do what", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == ["action", "requests", *(f"`{role}`" for role in ROLES), "on which units"]
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1:]
    return rows


def test_the_docs_table_is_the_policys_rules():
    rows = doc_table()
    assert list(rows) == [str(action) for action in Action]
    for action, rule in RULES.items():
        requests, *marks, units = rows[str(action)]
        assert (requests, units) == (rule.requests, rule.units), action
        allowed = {role for role, mark in zip(ROLES, marks) if mark.startswith("✓")}
        assert allowed == rule.roles, action
        for role, mark in zip(ROLES, marks):
            if action is Action.CREATE_CODE and role in rule.roles:
                assert mark == f"✓ ({', '.join(GRANTS[role])})", (action, role)
            else:
                assert mark in ("✓", ""), (action, role, mark)


def test_every_action_is_in_the_rules_and_admin_codes_are_granted_by_nobody():
    assert set(RULES) == set(Action)
    assert all(ADMIN not in granted for granted in GRANTS.values())
    assert set(GRANTS) == RULES[Action.CREATE_CODE].roles
    for action in Action:
        for role in ROLES:
            if role in RULES[action].roles:
                policy.require(device(role, "70"), action)
            else:
                with pytest.raises(errors.Forbidden):
                    policy.require(device(role, "70"), action)


# ----- decisions on real units -----------------------------------------------------------------------


def test_within_and_the_hamlets_in_scope_are_one_rule(server_store):
    tree = server_store.tree("2024")
    hamlets = [c for c, u in tree.units.items() if str(u.level) == "hamlet"]
    for scope in [("70",), ("688",), ("25216",), ("25216-01", "25217-01"), ("689",), ()]:
        for role in (SURVEYOR, OFFICER, ADMIN):
            who = device(role, *scope)
            assert policy.hamlets_in_scope(who, tree) == sorted(h for h in hamlets if policy.within(who, h, tree))
    assert policy.hamlets_in_scope(device(SURVEYOR, "25216"), tree) == ["25216-01", "25216-02", "25216-03"]


def test_a_write_to_a_hamlet_is_refused_outside_the_scope_and_to_an_unknown_hamlet(server_store):
    tree = server_store.tree("2024")
    leader = device(LEADER, "25216")
    policy.require_hamlet(leader, Action.RESOLVE_CONFLICT, "25216-02", tree, field="value")
    for code, refusal in [("25217-01", errors.Forbidden), ("99999-99", errors.UnknownUnit), ("25216", errors.UnknownUnit)]:
        with pytest.raises(refusal) as refused:
            policy.require_hamlet(leader, Action.RESOLVE_CONFLICT, code, tree, field="value")
        assert refused.value.field == "value"
    policy.require_hamlet(device(ADMIN), Action.PUSH, "25217-01", tree, field=None)  # everywhere...
    with pytest.raises(errors.UnknownUnit):
        policy.require_hamlet(device(ADMIN), Action.PUSH, "99999-99", tree, field=None)  # ...that exists
    with pytest.raises(errors.Forbidden):
        policy.require_hamlet(device(OFFICER, "70"), Action.PUSH, "25216-01", tree, field=None)


def test_a_new_codes_scope_is_a_write_to_each_of_its_units(server_store):
    snapshot = server_store.units_snapshot()
    tree, known = snapshot.trees["2024"], set(snapshot.trees["2024"].units) | set(snapshot.trees["2025"].units)
    leader = device(LEADER, "25216")
    policy.require_code(leader, SURVEYOR, ["25216-03", "25216"], tree, known)
    for role, scope, refusal, field in [
        (OFFICER, ["25216-03"], errors.Forbidden, "role"),
        (SURVEYOR, ["25216-03", "25217-01"], errors.Forbidden, "scope"),
        (SURVEYOR, ["688"], errors.Forbidden, "scope"),
        (SURVEYOR, ["99999"], errors.UnknownUnit, "scope"),
    ]:
        with pytest.raises(refusal) as refused:
            policy.require_code(leader, role, scope, tree, known)
        assert refused.value.field == field
    admin = device(ADMIN)
    for role in (SURVEYOR, LEADER, OFFICER):
        policy.require_code(admin, role, ["70"], tree, known)
    with pytest.raises(errors.Forbidden) as refused:
        policy.require_code(admin, ADMIN, ["70"], tree, known)
    assert refused.value.field == "role" and "command line" in refused.value.message
    with pytest.raises(errors.UnknownUnit):
        policy.require_code(admin, OFFICER, ["70", "99999"], tree, known)


def test_a_2025_unit_is_read_only_when_all_its_hamlets_are_in_scope(server_store):
    # 2025 commune 25217 (Phước Long) gathers the old communes 25216, 25217, 25237, 25249: the leader of
    # old commune 25217 reads its own hamlets, not the new commune that reuses its code
    old_commune = device(LEADER, "25217")
    with pytest.raises(errors.Forbidden):
        scoped_unit(server_store, old_commune, unit="25217", structure="2025")
    _, _, hamlets = scoped_unit(server_store, old_commune, unit="25217", structure="2024")
    assert hamlets == ["25217-01"]
    district = device(OFFICER, "688")  # all four old communes lie in district 688
    assert scoped_unit(server_store, district, unit="25217", structure="2025")[2] == [
        "25216-01", "25216-02", "25216-03", "25217-01"]  # fmt: skip
    with pytest.raises(errors.Forbidden):
        scoped_unit(server_store, device(SURVEYOR, "25216"), unit="25216", structure="2024", action=Action.EXPORT)


def test_the_docs_table_text():
    """Print the table the docs must hold (run with -s after changing RULES or GRANTS)."""
    lines = ["| action | requests | " + " | ".join(f"`{role}`" for role in ROLES) + " | on which units |",
             "|---|---|" + "---|" * len(ROLES) + "---|"]  # fmt: skip
    for action, rule in RULES.items():
        marks = [
            "" if role not in rule.roles else f"✓ ({', '.join(GRANTS[role])})" if action is Action.CREATE_CODE else "✓"
            for role in ROLES
        ]
        lines.append(f"| `{action}` | {rule.requests} | " + " | ".join(marks) + f" | {rule.units} |")
    table = "\n".join(lines)
    print(table)
    assert table in (ROOT / "docs" / "server.md").read_text(encoding="utf-8")
