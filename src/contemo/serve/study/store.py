"""The study's answers in SQLite: one row per (participant, image, rated emotion), WAL mode.

Each call opens its own short-lived connection, so any number of server threads can
use the store at once; writes run in ``BEGIN IMMEDIATE`` transactions (SQLite
serialises them, waiting up to BUSY_TIMEOUT_S) and are committed before the request
returns, which is what makes a reload or a server restart lose nothing.
Participant tokens are never stored: only their SHA-256, as with passwords.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

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
"""


def now() -> str:
    """Return the current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class AnswerStore:
    """Participants and their Likert answers for one study folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # Closing the last connection to a WAL database checkpoints it (an fsync); this
        # idle connection keeps one open for the store's life, so each call's close is cheap.
        self._keeper = self._open()
        with self._connect() as db:
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise ContemoError(f"{self.path}: SQLite refused WAL mode (got {mode})")
            db.executescript(SCHEMA)
        self._keeper.execute("SELECT COUNT(*) FROM participants").fetchone()  # opens the file

    def _open(self) -> sqlite3.Connection:
        """Return a new connection in autocommit mode (transactions are explicit)."""
        try:
            return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as err:
            raise ContemoError(f"{self.path}: cannot open the answers database ({err})") from None

    def close(self) -> None:
        """Close the store's idle connection (the database is checkpointed)."""
        self._keeper.close()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """Yield a fresh connection for one call, closed afterwards."""
        db = self._open()
        try:
            db.execute("PRAGMA foreign_keys=ON")
            # WAL + NORMAL: a committed answer survives a crash or restart of the server
            # (only a power cut can lose the last moments); FULL costs an fsync per click.
            db.execute("PRAGMA synchronous=NORMAL")
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Yield a connection inside BEGIN IMMEDIATE; commit on success, roll back on error."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def add_participant(self, max_participants: int | None = None) -> str:
        """Return the token of a new participant (shown to them once, stored as a hash)."""
        token = secrets.token_urlsafe(24)
        with self._write() as db:
            if max_participants is not None:
                (count,) = db.execute("SELECT COUNT(*) FROM participants").fetchone()
                if count >= max_participants:
                    raise ContemoError(f"this study is full ({max_participants} participants)")
            db.execute("INSERT INTO participants (token_sha256, created) VALUES (?, ?)",
                       (token_hash(token), now()))
        return token

    def participant(self, token: str) -> dict | None:
        """Return {id, token_sha256, created, completed, completion_code} or None if unknown."""
        with self._connect() as db:
            row = db.execute("SELECT id, token_sha256, created, completed, completion_code "
                             "FROM participants WHERE token_sha256 = ?",
                             (token_hash(token),)).fetchone()
        if row is None:
            return None
        return dict(zip(("id", "token_sha256", "created", "completed", "completion_code"), row))

    def save(self, participant_id: int, image_id: str, ratings: dict[str, int]) -> None:
        """Store (or update) one image's ratings in one transaction."""
        stamp = now()
        with self._write() as db:
            db.executemany(
                "INSERT INTO answers (participant_id, image_id, emotion, value, answered) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (participant_id, image_id, emotion) DO "
                "UPDATE SET value = excluded.value, answered = excluded.answered, "
                "revisions = revisions + 1",
                [(participant_id, image_id, e, int(v), stamp) for e, v in ratings.items()])

    def answers_of(self, participant_id: int) -> dict[str, dict[str, int]]:
        """Return image_id -> {emotion: value} for one participant."""
        out: dict[str, dict[str, int]] = {}
        with self._connect() as db:
            for image_id, emotion, value in db.execute(
                    "SELECT image_id, emotion, value FROM answers WHERE participant_id = ?",
                    (participant_id,)):
                out.setdefault(image_id, {})[emotion] = value
        return out

    def complete(self, participant_id: int) -> str:
        """Return the participant's completion code, making one on the first call."""
        with self._write() as db:
            (code,) = db.execute("SELECT completion_code FROM participants WHERE id = ?",
                                 (participant_id,)).fetchone()
            if code is None:
                code = secrets.token_hex(4).upper()
                db.execute("UPDATE participants SET completed = ?, completion_code = ? "
                           "WHERE id = ?", (now(), code, participant_id))
        return code

    def rows(self) -> list[dict]:
        """Return every answer with its participant's completion state, in a stable order."""
        with self._connect() as db:
            cursor = db.execute(
                "SELECT a.participant_id, a.image_id, a.emotion, a.value, a.answered, "
                "a.revisions, p.completed IS NOT NULL FROM answers a JOIN participants p "
                "ON p.id = a.participant_id ORDER BY a.participant_id, a.image_id, a.emotion")
            names = ("participant", "image_id", "rated_emotion", "value", "answered",
                     "revisions", "participant_completed")
            return [dict(zip(names, row)) for row in cursor]

    def summary(self) -> dict[str, int]:
        """Return counts of participants, completed participants and answers."""
        with self._connect() as db:
            (people,) = db.execute("SELECT COUNT(*) FROM participants").fetchone()
            (done,) = db.execute("SELECT COUNT(*) FROM participants "
                                 "WHERE completed IS NOT NULL").fetchone()
            (answers,) = db.execute("SELECT COUNT(*) FROM answers").fetchone()
        return {"participants": people, "completed": done, "answers": answers}


def open_existing(study_folder: str | Path) -> AnswerStore:
    """Return the answer store of a study folder that has been served (a one-line error if not)."""
    path = Path(study_folder) / DB_FILE
    if not path.is_file():
        raise ContemoError(f"{path}: no answers yet (run `contemo study serve` first)")
    return AnswerStore(path)
