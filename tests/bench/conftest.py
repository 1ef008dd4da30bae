"""The server tests' database fixtures (a fresh SQLite file or PostgreSQL database per test), for the baselines' tests."""

from tests.server.conftest import database_url, postgres_admin_url  # noqa: F401  (fixtures used by name)
