"""The study's answers in SQLite: one row per (participant, image, rated emotion), WAL mode.

Each call opens its own short-lived connection, so any number of server threads can
use the store at once; writes run in ``BEGIN IMMEDIATE`` transactions (SQLite
serialises them, waiting up to BUSY_TIMEOUT_S) and are committed before the request
returns, which is what makes a reload or a server restart lose nothing.
Participant tokens are never stored: only their SHA-256, as with passwords.

`export` and `analyze` open the database read-only (``mode=ro``), so a study on a
read-only mount can still be exported. A damaged, truncated or foreign file is one
line naming it, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from contemo.errors import ContemoError
from contemo.serve.http import token_hash

DB_FILE = "answers.sqlite"
BUSY_TIMEOUT_S = 30.0
LIKERT_MIN, LIKERT_MAX = 1, 5

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS participants (
    id INTEGER PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    completed TEXT,
    completion_code TEXT
);
CREATE TABLE IF NOT EXISTS answers (
    participant_id INTEGER NOT NULL REFERENCES participants(id),
    image_id TEXT NOT NULL,
    emotion TEXT NOT NULL,
    value INTEGER NOT NULL CHECK (value BETWEEN {LIKERT_MIN} AND {LIKERT_MAX}),
    answered TEXT NOT NULL,
    revisions INTEGER NOT NULL DEFAULT 0,
    UNIQUE (participant_id, image_id, emotion)
);
CREATE TABLE IF NOT EXISTS study_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Columns added after the first release: ALTERed into an older database on open.
ADDED_COLUMNS = {
    "participants": {"external_ids": "TEXT", "demographics": "TEXT",
                     "excluded": "INTEGER NOT NULL DEFAULT 0", "exclusion_reason": "TEXT"},
    "answers": {"rt_ms": "INTEGER", "row_position": "INTEGER"},
}
PARTICIPANT_COLUMNS = ("id", "token_sha256", "created", "completed", "completion_code",
                       "external_ids", "demographics", "excluded", "exclusion_reason")


class AnswersFrozen(ContemoError):
    """The participant has completed: their answers can no longer change."""


class StoreError(ContemoError):
    """The database failed under a running server (damaged, disk full, locked too long)."""


def now() -> str:
    """Return the current UTC time as ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class AnswerStore:
    """Participants and their Likert answers for one study folder."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._uri = self._read_only_uri() if read_only else None
        # Closing the last connection to a WAL database checkpoints it (an fsync); this
        # idle connection keeps one open for the store's life, so each call's close is cheap.
        self._keeper = self._open()
        with self._connect() as db:
            if not read_only:
                mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise ContemoError(f"{self.path}: SQLite refused WAL mode (got {mode})")
                if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise ContemoError(f"{self.path}: the answers database is damaged "
                                       "(PRAGMA quick_check failed); restore it from a backup")
                tables = {r[0] for r in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
                if tables and not {"participants", "answers"} <= tables:
                    raise ContemoError(f"{self.path}: not a contemo answers database "
                                       f"(it holds other tables: {', '.join(sorted(tables))[:80]})")
                db.executescript(SCHEMA)
                self._migrate(db)
            self._columns = {t: self._table_columns(db, t)
                             for t in ("participants", "answers", "study_state")}
            if not self._columns["participants"] or not self._columns["answers"]:
                raise ContemoError(f"{self.path}: not a contemo answers database "
                                   "(no participants/answers tables)")

    def _read_only_uri(self) -> str:
        """Return the URI that opens the database without writing to it or its folder.

        mode=ro still needs the -shm file of a WAL database; on a read-only folder it
        cannot be made, and immutable=1 is the only way in. That is safe only when no
        -wal file holds answers not yet merged, which is checked.
        """
        if not self.path.is_file():
            raise ContemoError(f"{self.path}: no answers yet (run `contemo study serve` first)")
        base = f"file:{self.path.resolve().as_posix()}"
        try:
            probe = sqlite3.connect(f"{base}?mode=ro", uri=True)
            try:
                probe.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                return f"{base}?mode=ro"
            finally:
                probe.close()
        except sqlite3.OperationalError as err:
            if "readonly" not in str(err) and "unable to open" not in str(err):
                raise ContemoError(f"{self.path}: cannot read the answers database "
                                   f"({err})") from None
        except sqlite3.DatabaseError as err:
            raise ContemoError(f"{self.path}: not a readable SQLite database ({err})") from None
        wal = self.path.with_name(self.path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise ContemoError(f"{wal}: holds answers not yet merged into {self.path.name}, "
                               "and the folder is read-only; copy the study folder somewhere "
                               "writable and export from there")
        return f"{base}?mode=ro&immutable=1"

    def _open(self) -> sqlite3.Connection:
        """Return a new connection in autocommit mode (transactions are explicit)."""
        try:
            if self._uri is not None:
                return sqlite3.connect(self._uri, uri=True, timeout=BUSY_TIMEOUT_S,
                                       isolation_level=None, check_same_thread=False)
            return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as err:
            raise ContemoError(f"{self.path}: cannot open the answers database ({err})") from None

    @staticmethod
    def _table_columns(db: sqlite3.Connection, table: str) -> set[str]:
        return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Add the columns newer versions store to a database made by an older one."""
        for table, columns in ADDED_COLUMNS.items():
            have = self._table_columns(db, table)
            for name, kind in columns.items():
                if name not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def close(self) -> None:
        """Close the store's idle connection (the database is checkpointed)."""
        self._keeper.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        """Close now, not at garbage collection: an open file keeps a mount busy."""
        self.close()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """Yield a fresh connection for one call, closed afterwards; SQLite errors are one line."""
        db = self._open()
        try:
            if not self.read_only:
                db.execute("PRAGMA foreign_keys=ON")
                # WAL + NORMAL: a committed answer survives a crash or restart of the server
                # (only a power cut can lose the last moments); FULL costs an fsync per click.
                db.execute("PRAGMA synchronous=NORMAL")
            yield db
        except sqlite3.DatabaseError as err:
            kind = "damaged or not an answers database" if not isinstance(
                err, sqlite3.OperationalError) else "cannot be used"
            raise StoreError(f"{self.path}: {kind} ({err})".splitlines()[0]) from None
        finally:
            db.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Yield a connection inside BEGIN IMMEDIATE; commit on success, roll back on error."""
        if self.read_only:
            raise ContemoError(f"{self.path}: opened read-only")
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # ---- study state ------------------------------------------------------------------
    def enrolment_open(self) -> bool:
        """Return False when the researcher has paused enrolment (kept across restarts)."""
        if not self._columns["study_state"]:  # a database older than the pause switch
            return True
        with self._connect() as db:
            row = db.execute("SELECT value FROM study_state WHERE key = 'enrolment'").fetchone()
        return row is None or row[0] == "open"

    def set_enrolment(self, open_: bool) -> None:
        """Open or pause enrolment of new participants."""
        with self._write() as db:
            db.execute("INSERT INTO study_state VALUES ('enrolment', ?) ON CONFLICT (key) "
                       "DO UPDATE SET value = excluded.value", ("open" if open_ else "paused",))

    # ---- participants -----------------------------------------------------------------
    def add_participant(self, max_participants: int | None = None,
                        external_ids: dict[str, str] | None = None) -> str:
        """Return the token of a new participant (shown to them once, stored as a hash)."""
        token = secrets.token_urlsafe(24)
        with self._write() as db:
            row = db.execute("SELECT value FROM study_state WHERE key = 'enrolment'").fetchone()
            if row is not None and row[0] != "open":
                raise ContemoError("enrolment is paused; please try again later")
            if max_participants is not None:
                (count,) = db.execute("SELECT COUNT(*) FROM participants WHERE excluded = 0"
                                      ).fetchone()
                if count >= max_participants:
                    raise ContemoError(f"this study is full ({max_participants} participants)")
            db.execute("INSERT INTO participants (token_sha256, created, external_ids) "
                       "VALUES (?, ?, ?)", (token_hash(token), now(),
                                            json.dumps(external_ids or {}, sort_keys=True)))
        return token

    def participant(self, token: str) -> dict | None:
        """Return the participant of a token (PARTICIPANT_COLUMNS) or None if unknown."""
        with self._connect() as db:
            row = db.execute(f"SELECT {', '.join(PARTICIPANT_COLUMNS)} FROM participants "
                             "WHERE token_sha256 = ?", (token_hash(token),)).fetchone()
        return None if row is None else _participant(row)

    def set_demographics(self, participant_id: int, answers: dict[str, Any]) -> None:
        """Store a participant's (optional) demographic answers."""
        with self._write() as db:
            db.execute("UPDATE participants SET demographics = ? WHERE id = ?",
                       (json.dumps(answers, sort_keys=True), participant_id))

    def exclude(self, participant_id: int, excluded: bool, reason: str = "") -> bool:
        """Mark a participant excluded (or not); return False when there is no such one."""
        with self._write() as db:
            cursor = db.execute("UPDATE participants SET excluded = ?, exclusion_reason = ? "
                                "WHERE id = ?", (int(excluded), reason if excluded else None,
                                                 participant_id))
        return cursor.rowcount == 1

    def participants(self) -> list[dict]:
        """Return every participant (without token hashes) with their answer count."""
        columns = [c for c in PARTICIPANT_COLUMNS if c != "token_sha256"
                   and c in self._columns["participants"] | {"id"}]
        with self._connect() as db:
            counts = dict(db.execute("SELECT participant_id, COUNT(*) FROM answers "
                                     "GROUP BY participant_id"))
            rows = db.execute(f"SELECT {', '.join(columns)} FROM participants ORDER BY id")
            out = []
            for row in rows:
                person = _participant(row, columns)
                person.pop("token_sha256", None)
                person["answers"] = counts.get(person["id"], 0)
                out.append(person)
        return out

    # ---- answers ----------------------------------------------------------------------
    def save(self, participant_id: int, image_id: str, ratings: dict[str, int],
             rt_ms: int | None = None, positions: dict[str, int] | None = None) -> None:
        """Store (or update) one image's ratings in one transaction (refused after completion)."""
        stamp = now()
        positions = positions or {}
        with self._write() as db:
            (completed,) = db.execute("SELECT completed FROM participants WHERE id = ?",
                                      (participant_id,)).fetchone()
            if completed is not None:
                raise AnswersFrozen("you have completed the study: answers can no longer "
                                    "change")
            db.executemany(
                "INSERT INTO answers (participant_id, image_id, emotion, value, answered, "
                "rt_ms, row_position) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (participant_id, image_id, emotion) DO "
                "UPDATE SET value = excluded.value, answered = excluded.answered, "
                "rt_ms = excluded.rt_ms, row_position = excluded.row_position, "
                "revisions = revisions + 1",
                [(participant_id, image_id, e, int(v), stamp, rt_ms, positions.get(e))
                 for e, v in ratings.items()])

    def answers_of(self, participant_id: int) -> dict[str, dict[str, int]]:
        """Return image_id -> {emotion: value} for one participant."""
        out: dict[str, dict[str, int]] = {}
        with self._connect() as db:
            for image_id, emotion, value in db.execute(
                    "SELECT image_id, emotion, value FROM answers WHERE participant_id = ?",
                    (participant_id,)):
                out.setdefault(image_id, {})[emotion] = value
        return out

    def complete(self, participant_id: int, study_code: str | None = None) -> str:
        """Return the participant's completion code, making one on the first call.

        With a study-wide code every participant gets that code; otherwise each gets
        their own random one (what a per-participant check on the platform needs).
        """
        with self._write() as db:
            (code,) = db.execute("SELECT completion_code FROM participants WHERE id = ?",
                                 (participant_id,)).fetchone()
            if code is None:
                code = study_code or secrets.token_hex(4).upper()
                db.execute("UPDATE participants SET completed = ?, completion_code = ? "
                           "WHERE id = ?", (now(), code, participant_id))
        return code

    def rows(self) -> list[dict]:
        """Return every answer in a stable order (older databases: new columns empty)."""
        have = self._columns["answers"]
        extra = ", ".join(c if c in have else f"NULL AS {c}" for c in ("rt_ms", "row_position"))
        with self._connect() as db:
            cursor = db.execute(
                "SELECT participant_id, image_id, emotion, value, answered, revisions, "
                f"{extra} FROM answers ORDER BY participant_id, image_id, emotion")
            names = ("participant", "image_id", "rated_emotion", "value", "answered",
                     "revisions", "rt_ms", "row_position")
            return [dict(zip(names, row)) for row in cursor]

    def summary(self) -> dict[str, Any]:
        """Return counts of participants, completed and excluded ones, answers; enrolment."""
        with self._connect() as db:
            (people,) = db.execute("SELECT COUNT(*) FROM participants").fetchone()
            (done,) = db.execute("SELECT COUNT(*) FROM participants "
                                 "WHERE completed IS NOT NULL").fetchone()
            excluded = 0
            if "excluded" in self._columns["participants"]:
                (excluded,) = db.execute("SELECT COUNT(*) FROM participants WHERE excluded"
                                         ).fetchone()
            (answers,) = db.execute("SELECT COUNT(*) FROM answers").fetchone()
        return {"participants": people, "completed": done, "excluded": excluded,
                "answers": answers, "enrolment": "open" if self.enrolment_open() else "paused"}


def _participant(row: tuple, columns: tuple[str, ...] | list[str] = PARTICIPANT_COLUMNS
                 ) -> dict:
    """Return a participant row as a dict with its JSON columns decoded."""
    person = dict(zip(columns, row))
    for name in ("external_ids", "demographics"):
        try:
            person[name] = json.loads(person.get(name) or "{}")
        except json.JSONDecodeError:
            person[name] = {}
    person["excluded"] = bool(person.get("excluded") or 0)
    person.setdefault("exclusion_reason", None)
    return person


def open_existing(study_folder: str | Path, *, read_only: bool = True) -> AnswerStore:
    """Return the answer store of a study folder that has been served (a one-line error if not)."""
    path = Path(study_folder) / DB_FILE
    if not path.is_file():
        raise ContemoError(f"{path}: no answers yet (run `contemo study serve` first)")
    return AnswerStore(path, read_only=read_only)
