"""Child process for the draft durability test: keeps drafts of a few households forever, as a form does
on every change, printing `household_id step` after each `save_draft` returns.

Usage: python -m tests.store.draft_loop STORE_PATH SEED
"""

from __future__ import annotations

import random
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

from ntm_field.store import LocalStore


def main() -> None:
    path, seed = Path(sys.argv[1]), int(sys.argv[2])
    store = LocalStore.open(path, clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
    rng = random.Random(seed)
    households = [str(uuid.UUID(int=(seed << 16) + n)) for n in range(4)]
    print("ready", flush=True)
    step = 0
    while True:
        step += 1
        household_id = rng.choice(households)
        payload = {"step": step, "head_name": "Nguyễn Văn Đức " * rng.randint(1, 20), "members": [{"birth_year": str(step)}]}
        store.save_draft(household_id, "25216-03", payload["head_name"], str(step), payload)
        # printed only once save_draft has returned, i.e. after commit
        print(f"{household_id} {step}", flush=True)


if __name__ == "__main__":
    main()
