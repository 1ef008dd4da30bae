"""Database backends of the central endpoint: SQLite (embedded) and PostgreSQL (psycopg 3).

The store writes one SQL dialect (`?` placeholders, `ON CONFLICT`, `RETURNING`,
which both engines speak); a backend only opens connections, runs transactions
and translates placeholders. Connections are per thread: FastAPI runs plain
handlers in a thread pool.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import psycopg

from ntm_field.private_files import private_database


class DatabaseUrlError(ValueError):
    """The database URL is neither sqlite:///… nor postgresql://…."""


class Tx(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...
    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None: ...
    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]: ...


class Backend(Protocol):
    dialect: str
    url: str

    def transaction(self) -> Any: ...
    def read(self) -> Any: ...
    def stream(self, sql: str, params: Sequence[Any] = (), *, batch: int = 1000) -> Iterator[tuple]: ...
    def stream_each(self, sql: str, each: Iterable[Sequence[Any]], *, batch: int = 1000) -> Iterator[tuple]: ...
    def close(self) -> None: ...


class _Tx:
    def __init__(self, cursor: Any, translate: bool):
        self._cursor = cursor
        self._translate = translate

    def _sql(self, sql: str) -> str:
        return _PLACEHOLDER.sub("%s", sql.replace("%", "%%")) if self._translate else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(self._sql(sql), tuple(params))

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        self._cursor.execute(self._sql(sql), tuple(params))
        return self._cursor.fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        self._cursor.execute(self._sql(sql), tuple(params))
        return self._cursor.fetchall()


_PLACEHOLDER = re.compile(r"\?")


class SqliteBackend:
    """An SQLite file: WAL, synchronous=FULL, writes serialised by BEGIN IMMEDIATE."""

    dialect = "sqlite"

    def __init__(self, path: Path):
        self.path = path
        self.url = f"sqlite:///{path.resolve()}"  # what a child process opens (exports)
        path.parent.mkdir(parents=True, exist_ok=True)
        private_database(path)  # it holds people's names: 0600 (its -wal and -shm follow), whatever the umask
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield _Tx(conn.cursor(), translate=False)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[_Tx]:
        """A read-only transaction: a deferred BEGIN takes no write lock, so in WAL mode it reads its
        snapshot while a writer holds the lock (`query_only` refuses any write made in it by mistake)."""
        conn = self._conn()
        conn.execute("PRAGMA query_only=ON")
        try:
            conn.execute("BEGIN")
            try:
                yield _Tx(conn.cursor(), translate=False)
            finally:
                conn.execute("COMMIT")  # a read has nothing to roll back: COMMIT ends it either way
        finally:
            conn.execute("PRAGMA query_only=OFF")

    def stream(self, sql: str, params: Sequence[Any] = (), *, batch: int = 1000) -> Iterator[tuple]:
        """The rows of one query, fetched `batch` at a time (see `stream_each`)."""
        return self.stream_each(sql, [params], batch=batch)

    def stream_each(self, sql: str, each: Iterable[Sequence[Any]], *, batch: int = 1000) -> Iterator[tuple]:
        """The rows of one query run with each parameter list in turn, fetched `batch` at a time, all from
        one read snapshot: for exports too large to hold.

        A generator on a connection of its own, opened at the first row and closed after the last (or
        when the generator is closed or collected), so the read transaction lasts as long as the
        streaming. Not the thread's connection: a streaming response resumes the generator on whichever
        thread is free, which may meanwhile run other requests' transactions on its own connection.
        """
        conn = self._connect()
        try:
            conn.execute("PRAGMA query_only=ON")
            conn.execute("BEGIN")
            for params in each:
                cursor = conn.execute(sql, tuple(params))
                while rows := cursor.fetchmany(batch):
                    yield from rows
        finally:
            conn.close()  # closing ends the read transaction

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class PostgresBackend:
    """A PostgreSQL database through psycopg 3 (READ COMMITTED, one connection per thread)."""

    dialect = "postgresql"

    def __init__(self, url: str):
        self.url = url
        self._local = threading.local()

    def _conn(self) -> psycopg.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(self.url, autocommit=False)
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        conn = self._conn()
        try:
            with conn.cursor() as cursor:
                yield _Tx(cursor, translate=True)
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    @contextmanager
    def read(self) -> Iterator[_Tx]:
        """A READ ONLY transaction (READ COMMITTED, as the writers')."""
        conn = self._conn()
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
                yield _Tx(cursor, translate=True)
        finally:
            conn.rollback()  # nothing was written: ending it with a rollback is the cheapest

    def stream(self, sql: str, params: Sequence[Any] = (), *, batch: int = 1000) -> Iterator[tuple]:
        """The rows of one query through a server-side cursor (see `stream_each`)."""
        return self.stream_each(sql, [params], batch=batch)

    def stream_each(self, sql: str, each: Iterable[Sequence[Any]], *, batch: int = 1000) -> Iterator[tuple]:
        """As SqliteBackend.stream_each: each query through a server-side (named) cursor, `batch` rows a
        round trip, in one REPEATABLE READ, READ ONLY transaction (one snapshot for them all; a read-only
        transaction never fails to serialise) on a connection of its own."""
        sql = _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))
        conn = psycopg.connect(self.url, autocommit=False)
        try:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            for params in each:
                with conn.cursor(name="stream") as cursor:
                    cursor.itersize = batch
                    cursor.execute(sql, tuple(params))
                    while rows := cursor.fetchmany(batch):
                        yield from rows
        finally:
            conn.close()  # closing ends the transaction (rolled back: nothing was written)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def create_database(admin_url: str, name: str) -> str:
    """Create database `name` on the PostgreSQL server of `admin_url`; returns its URL (benchmarks)."""
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rpartition("/")[0] + "/" + name


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def open_backend(url: str) -> SqliteBackend | PostgresBackend:
    """The backend for `sqlite:///path` or `postgresql://…` (also `postgres://…`)."""
    if url.startswith("sqlite:///"):
        return SqliteBackend(Path(url.removeprefix("sqlite:///")))
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresBackend(url)
    raise DatabaseUrlError("the database URL must start with sqlite:/// or postgresql://")


DatabaseError = (sqlite3.Error, psycopg.Error)
