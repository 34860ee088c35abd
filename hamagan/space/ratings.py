"""The MOS study's ratings: an append-only SQLite store, its statistics, CSV export and optional Hub sync.

Every rating is committed at once. The store never updates or deletes a rating (triggers refuse it), and
a rater can rate each presentation slot once (a UNIQUE constraint, so concurrent double submissions
store one). Statistics follow the paper's Table 1 layout, with the spread taken over raters: a rater's
ratings are not independent, so each rater contributes one mean per method, and the 95% confidence
interval is Student's t over those rater means.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from scipy import stats

SCHEMA = """
CREATE TABLE IF NOT EXISTS raters (
    study TEXT NOT NULL, rater_id TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (study, rater_id));
CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT, study TEXT NOT NULL, rater_id TEXT NOT NULL, slot INTEGER NOT NULL,
    item_id TEXT NOT NULL, method TEXT NOT NULL, score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    created REAL NOT NULL, UNIQUE (study, rater_id, slot));
CREATE TRIGGER IF NOT EXISTS ratings_no_update BEFORE UPDATE ON ratings
    BEGIN SELECT RAISE(ABORT, 'ratings are append-only'); END;
CREATE TRIGGER IF NOT EXISTS ratings_no_delete BEFORE DELETE ON ratings
    BEGIN SELECT RAISE(ABORT, 'ratings are append-only'); END;
"""
COLUMNS = ("id", "study", "rater_id", "slot", "item_id", "method", "score", "created")


class RatingError(ValueError):
    """A rating that cannot be stored (bad score, unknown rater or slot, or a slot already rated)."""


@dataclass
class MethodResult:
    method: str
    mos: float
    sd: float
    ci95: float
    raters: int
    ratings: int


class RatingStore:
    """SQLite ratings; one short connection per call, so any thread may use it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def new_rater(self, study: str) -> str:
        rater_id = uuid.uuid4().hex[:12]
        with self._connect() as db:
            db.execute("INSERT INTO raters VALUES (?, ?, ?)", (study, rater_id, time.time()))
        return rater_id

    def has_rater(self, study: str, rater_id: str) -> bool:
        with self._connect() as db:
            return db.execute("SELECT 1 FROM raters WHERE study = ? AND rater_id = ?", (study, rater_id)).fetchone() \
                is not None

    def rated_slots(self, study: str, rater_id: str) -> set[int]:
        with self._connect() as db:
            rows = db.execute("SELECT slot FROM ratings WHERE study = ? AND rater_id = ?", (study, rater_id))
            return {r[0] for r in rows}

    def add(self, study: str, rater_id: str, slot: int, item_id: str, method: str, score: int) -> dict:
        """Store one rating at once; raises RatingError when it cannot be stored."""
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise RatingError(f"a score is a whole number from 1 (bad) to 5 (excellent), got {score!r}")
        row = {"study": study, "rater_id": rater_id, "slot": slot, "item_id": item_id, "method": method,
               "score": score, "created": time.time()}
        try:
            with self._connect() as db:
                db.execute("INSERT INTO ratings (study, rater_id, slot, item_id, method, score, created) "
                           "VALUES (:study, :rater_id, :slot, :item_id, :method, :score, :created)", row)
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise RatingError(f"slot {slot} was already rated by this rater") from None
            raise RatingError(str(exc)) from None
        return row

    def ratings(self, study: str | None = None) -> list[dict]:
        query = f"SELECT {', '.join(COLUMNS)} FROM ratings" + (" WHERE study = ?" if study else "") + " ORDER BY id"
        with self._connect() as db:
            return [dict(zip(COLUMNS, r, strict=True)) for r in db.execute(query, (study,) if study else ())]

    def to_csv(self, study: str | None = None) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(self.ratings(study))
        return buffer.getvalue()


def summarize(ratings: list[dict]) -> list[MethodResult]:
    """Per method: MOS, SD, 95% CI over rater means, raters and ratings; best MOS first."""
    by_method: dict[str, dict[str, list[int]]] = {}
    for r in ratings:
        by_method.setdefault(r["method"], {}).setdefault(r["rater_id"], []).append(r["score"])
    results = []
    for method, raters in by_method.items():
        means = [sum(s) / len(s) for s in raters.values()]
        n = len(means)
        mos = sum(means) / n
        sd = math.sqrt(sum((m - mos) ** 2 for m in means) / (n - 1)) if n > 1 else 0.0
        ci = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n) if n > 1 else float("nan")
        results.append(MethodResult(method, mos, sd, ci, n, sum(len(s) for s in raters.values())))
    return sorted(results, key=lambda r: -r.mos)


def consistency(ratings: list[dict]) -> dict[str, float]:
    """Agreement of raters with themselves on the deliberately repeated items.

    For every rater and every item shown twice: |first score - second score|. Reported: the number of
    such pairs, their mean absolute difference (0 = perfectly consistent, at most 4) and the share of
    pairs scored identically.
    """
    seen: dict[tuple[str, str], list[int]] = {}
    for r in sorted(ratings, key=lambda r: r["slot"]):
        seen.setdefault((r["rater_id"], r["item_id"]), []).append(r["score"])
    differences = [abs(s[0] - s[1]) for s in seen.values() if len(s) >= 2]
    if not differences:
        return {"pairs": 0, "mean_abs_difference": float("nan"), "identical": float("nan")}
    return {"pairs": len(differences), "mean_abs_difference": sum(differences) / len(differences),
            "identical": sum(d == 0 for d in differences) / len(differences)}


class HubSync:
    """Mirror ratings as JSON lines into a Hub dataset repo with huggingface_hub's CommitScheduler.

    Created only when a repo and a token are configured: the scheduler contacts the Hub when it starts.
    """

    def __init__(self, repo_id: str, token: str, folder: Path, every_minutes: float = 5) -> None:
        from huggingface_hub import CommitScheduler

        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.file = folder / f"ratings-{uuid.uuid4().hex[:8]}.jsonl"
        self.scheduler = CommitScheduler(repo_id=repo_id, repo_type="dataset", folder_path=folder,
                                         path_in_repo="ratings", every=every_minutes, token=token)
        self._lock = threading.Lock()

    def append(self, row: dict) -> None:
        with self._lock, self.scheduler.lock, self.file.open("a") as f:
            f.write(json.dumps(row) + "\n")
