"""`ntm-field bench`: the product's own code paths timed next to baselines from the same run.

Each figure is printed with its baseline, the ratio to it (in words: "35× faster",
"15.6× fewer", or value ÷ baseline for rates) and the target it is held to; `--json FILE` writes the same rows. Figures come from
the product's code (the store's save and search), never a shortcut.
"""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Measure:
    """One row of the benchmark table."""

    figure: str
    unit: str
    value: float
    baseline: float | None
    baseline_name: str
    target: str
    met: bool | None

    @property
    def ratio(self) -> float | None:
        """value ÷ baseline."""
        return None if not self.baseline else self.value / self.baseline

    @property
    def lower_is_better(self) -> bool:
        return self.unit in LOWER_IS_BETTER

    def ratio_text(self) -> str:
        """The ratio as a reader wants it: how many times faster, fewer or more than the baseline."""
        if self.ratio is None or self.value == 0:
            return "—"
        if self.lower_is_better:
            times = self.baseline / self.value
            word = {"ms": "faster", "B": "fewer", "MB": "less"}[self.unit]
            return f"{times:.3g}× {word}" if times >= 1 else f"{1 / times:.3g}× {'slower' if self.unit == 'ms' else 'more'}"
        return f"{self.ratio:.3g}×"


LOWER_IS_BETTER = ("ms", "B", "MB")


def memory(pid: int) -> tuple[float, float]:
    """(resident, peak resident) set size of a process in MB, from /proc (Linux)."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in status if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def run(*, quick: bool, json_path: Path | None) -> int:
    """Run every benchmark, print the table, write JSON when asked."""
    from ntm_field.bench import app, exports, figures, load, server, store, sync

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    measures = [
        *store.run(quick=quick, progress=progress),
        *sync.run(quick=quick, progress=progress),
        *server.run(quick=quick, progress=progress),
        *figures.run(quick=quick, progress=progress),
        *exports.run(quick=quick, progress=progress),
        *load.run(quick=quick, progress=progress),
        *app.run(quick=quick, progress=progress),
    ]
    print(format_table(measures))
    if json_path is not None:
        payload = {
            "quick": quick,
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "processor": platform.processor() or platform.machine()},
            "figures": [{**asdict(m), "ratio": m.ratio, "ratio_text": m.ratio_text()} for m in measures],
        }  # fmt: skip
        json_path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


def format_table(measures: list[Measure]) -> str:
    header = ("figure", "value", "baseline", "ratio", "target", "met?")
    rows = [
        (
            m.figure,
            f"{m.value:.3f} {m.unit}",
            "—" if m.baseline is None else f"{m.baseline:.3f} {m.unit} ({m.baseline_name})",
            m.ratio_text(),
            m.target,
            {True: "yes", False: "NO", None: "—"}[m.met],
        )
        for m in measures
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
