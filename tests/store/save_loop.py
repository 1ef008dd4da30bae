"""Child process for the durability test: saves households forever, printing each id after its save returns.

Usage: python -m tests.store.save_loop STORE_PATH SEED
"""

from __future__ import annotations

import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

from ntm_field.bench.households import generate
from ntm_field.store import LocalStore


def main() -> None:
    path, seed = Path(sys.argv[1]), int(sys.argv[2])
    store = LocalStore.open(path, clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
    print("ready", flush=True)
    for household in generate(10**9, seed=seed, hamlets=20):
        saved = store.save(household)
        # printed only once the save has returned, i.e. after commit
        print(f"{saved.household.id} {len(saved.household.members)} {saved.change_id}", flush=True)


if __name__ == "__main__":
    main()
