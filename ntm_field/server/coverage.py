"""Coverage of a unit and its children, read from the per-hamlet counters.

A provincial figure is a sum over a few hundred counter rows. Under the 2025
structure, hamlets (kept under the 2024 communes they were surveyed in) roll up
through the old→new commune mapping.
"""

from __future__ import annotations

from ntm_field.domain.codes import Check
from ntm_field.domain.units import Level
from ntm_field.server import errors, policy
from ntm_field.server.policy import Action
from ntm_field.server.store import COUNTER_COLUMNS, Device, ServerStore, UnitTree

VISITS = ("surveyed", "absent", "refused", "moved", "vacant")


class Rollup:
    """Which hamlets sit under each unit of one structure."""

    def __init__(self, structure: str, trees: dict[str, UnitTree], mapping: dict[str, str]):
        self.structure = structure
        self.tree = trees[structure]
        self.hamlet_tree = trees["2024"]
        self._old_communes: dict[str, list[str]] = {}
        self._hamlets: dict[str, list[str]] = {}  # a Rollup lives as long as its units snapshot
        self._expected: dict[str, int | None] = {}
        if structure == "2025":
            for old, new in mapping.items():
                self._old_communes.setdefault(new, []).append(old)

    def children(self, code: str) -> list[str]:
        own = list(self.tree.children.get(code, ()))
        for old in self._old_communes.get(code, ()):
            own.extend(self.hamlet_tree.children.get(old, ()))
        return sorted(set(own))

    def hamlets(self, code: str) -> list[str]:
        known = self._hamlets.get(code)
        if known is None:
            known = self._hamlets[code] = self._find_hamlets(code)
        return list(known)

    def _find_hamlets(self, code: str) -> list[str]:
        unit = self.tree.units.get(code) or self.hamlet_tree.units.get(code)
        if unit is not None and unit.level is Level.HAMLET:
            return [code]
        found = set(self.tree.hamlets_under(code)) if code in self.tree.units else set()
        for commune in [code, *self._descendants(code)]:
            for old in self._old_communes.get(commune, ()):
                found.update(self.hamlet_tree.hamlets_under(old))
        return sorted(found)

    def expected(self, code: str) -> int | None:
        """The sum of the hamlets' targets when every one has a target, else None (remembered)."""
        if code not in self._expected:
            hamlets = self.hamlets(code)
            units = self.hamlet_tree.units
            targets = [units[h].expected_households if h in units else None for h in hamlets]
            self._expected[code] = sum(targets) if targets and all(t is not None for t in targets) else None
        return self._expected[code]

    def unit(self, code: str):
        return self.tree.units.get(code) or self.hamlet_tree.units.get(code)

    def _descendants(self, code: str) -> list[str]:
        out, stack = [], [code]
        while stack:
            for child in self.tree.children.get(stack.pop(), ()):
                out.append(child)
                stack.append(child)
        return out


def scoped_unit(
    store: ServerStore, device: Device, *, unit: str | None, structure: str | None, action: Action = Action.READ_FIGURES
):
    """(rollup, unit code, its hamlets) after checking the unit exists and that the policy lets the device
    do `action` on it (404 `unknown_unit`, 403 `forbidden`)."""
    policy.require(device, action)
    snapshot = store.units_snapshot()
    trees = snapshot.trees
    if unit is None:
        unit = device.scope[0] if device.scope else next(
            (c for c, u in trees["2024"].units.items() if u.level is Level.PROVINCE), None
        )
        if unit is None:
            raise errors.UnknownUnit("no units are loaded", field="unit")
    if structure is None:
        structure = "2024" if unit in trees["2024"].units else "2025"
    rollup = snapshot.memo.get(("rollup", structure))
    if rollup is None:
        rollup = snapshot.memo[("rollup", structure)] = Rollup(structure, trees, snapshot.mapping if structure == "2025" else {})
    found = rollup.unit(unit)
    # a hamlet is reported in either structure; any other unit only in the structure it belongs to
    if found is None or (found.level is not Level.HAMLET and unit not in rollup.tree.units):
        raise errors.UnknownUnit(f"unit {unit} is not known in the {structure} structure", field="unit")
    hamlets = rollup.hamlets(unit)
    policy.require_unit(device, action, hamlets, trees["2024"])
    return rollup, unit, hamlets


def coverage_report(store: ServerStore, device: Device, *, unit: str | None, structure: str | None, depth: int = 1) -> dict:
    """Figures of a unit and its children (`depth` levels of them; exports ask for every level)."""
    rollup, unit, hamlets = scoped_unit(store, device, unit=unit, structure=structure)
    counters = store.counters(hamlets)
    return _tree_figures(rollup, unit, counters, depth)


def _tree_figures(rollup: Rollup, code: str, counters: dict, depth: int) -> dict:
    report = _figures(rollup, code, rollup.hamlets(code), counters)
    children = rollup.children(code)
    if depth > 0 or rollup.unit(code).level is Level.HAMLET:
        report["children"] = [
            _tree_figures(rollup, child, counters, depth - 1) if depth > 1 else _leaf(rollup, child, counters)
            for child in children
        ]
    return report


def _leaf(rollup: Rollup, code: str, counters: dict) -> dict:
    return _figures(rollup, code, rollup.hamlets(code), counters)


def _figures(rollup: Rollup, code: str, hamlets: list[str], counters: dict[str, tuple[int, ...]]) -> dict:
    unit = rollup.unit(code)
    rows = [counters[h] for h in hamlets if h in counters]
    # Column sums in C (zip/sum): a province adds ~900 rows of 30 counters for itself and again for its children.
    total = dict(zip(COUNTER_COLUMNS, map(sum, zip(*rows)))) if rows else dict.fromkeys(COUNTER_COLUMNS, 0)
    expected = rollup.expected(code)
    indicators = {}
    for check in Check:
        covered, eligible = total[f"{check.value}_covered"], total[f"{check.value}_eligible"]
        figure = {"covered": covered, "eligible": eligible, "unknown": total[f"{check.value}_unknown"]}
        if check is Check.VNEID:
            figure["level1"] = total["vneid_level1"]
        figure["rate"] = round(covered / eligible, 4) if eligible else None
        indicators[check.value] = figure
    return {
        "unit": {"code": code, "name": unit.name, "level": str(unit.level)},
        "households": {"expected": expected, **{visit: total[visit] for visit in VISITS}},
        "indicators": indicators,
        "fully_covered_households": total["fully_covered"],
    }
