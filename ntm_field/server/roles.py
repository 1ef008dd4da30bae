"""The roles a token can hold (the contract's "Roles and scope"). Only this catalogue and the access policy
(`policy.py`) name them; every other module asks the policy."""

from __future__ import annotations

SURVEYOR = "surveyor"
LEADER = "leader"
OFFICER = "officer"
ADMIN = "admin"
ROLES = (SURVEYOR, LEADER, OFFICER, ADMIN)

__all__ = ["ROLES", "SURVEYOR", "LEADER", "OFFICER", "ADMIN"]
