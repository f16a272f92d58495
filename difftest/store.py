"""Where runs keep what they found: Hypothesis's example database and a campaign's records.

``--db`` names a store: ``redis://host:port/N`` is a Redis database shared by every worker of
a campaign (Hypothesis's own :class:`~hypothesis.extra.redis.RedisExampleDatabase` for the
examples, plain lists for the statistics), any other value a directory (Hypothesis's
directory database, a JSONL file for the statistics).  Workers coordinate only through it.

Saved examples live in *keyspaces*: one per config, targets and step cap.  Hypothesis keys
the examples of a state machine by a digest of the machine, the same for every run, so the
keyspace is what keeps a divergence of ``index=on`` against the kernel from being replayed
on ``default`` against ovlfuse; runs agreeing on all three share their finds, and a replay
of a keyspace uses its step cap, so a saved example is never cut short.

Records (``append``/``records``) are JSON objects with a ``type``: ``run`` (one difftest
process), ``stats`` (a worker's cumulative counts at a moment), ``find`` (a divergence and
where its report went) and ``replay`` (a replay of the saved examples).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

DEFAULT_DIR = Path(".hypothesis/difftest")
PREFIX = "difftest:"  # every Redis key of a campaign starts with it
RECORDS_FILE = "campaign.jsonl"
KINDS = ("run", "stats", "find", "replay")
# Hypothesis's Redis database lets examples expire when their test has not run for a while;
# a campaign's finds are kept a month after the last run that touched them.
EXPIRE_AFTER = timedelta(days=30)


class StoreError(Exception):
    """The store cannot be used; the message is one line, fit to end a run."""


@dataclass(frozen=True)
class Keyspace:
    """The saved examples of one config, list of targets and step cap."""

    config: str
    targets: tuple[str, ...]
    steps: int

    def to_json(self) -> str:
        return json.dumps({"config": self.config, "targets": list(self.targets),
                           "steps": self.steps}, sort_keys=True)  # fmt: skip

    @classmethod
    def from_json(cls, text: str | bytes) -> Keyspace:
        d = json.loads(text)
        return cls(str(d["config"]), tuple(str(t) for t in d["targets"]), int(d["steps"]))

    @property
    def slug(self) -> str:
        """A name fit for a file or a Redis key: readable, made unique by a digest."""
        readable = re.sub(r"[^A-Za-z0-9.,+-]+", "-", f"{self.config}+{'+'.join(self.targets)}")
        digest = hashlib.sha1(self.to_json().encode()).hexdigest()[:8]
        return f"{readable[:60]}+s{self.steps}-{digest}"

    def describe(self) -> str:
        return f"{self.config} on {' + '.join(self.targets)} (up to {self.steps} steps)"


class Store(ABC):
    """An example database and a campaign's records, behind one ``--db`` value."""

    url: str

    @abstractmethod
    def examples(self, ks: Keyspace) -> ExampleDatabase:
        """Hypothesis's database for the examples of ``ks``."""

    @abstractmethod
    def register(self, ks: Keyspace) -> None:
        """Remember that ``ks`` may hold saved examples (so a replay finds it)."""

    @abstractmethod
    def keyspaces(self) -> list[Keyspace]:
        """Every keyspace a run registered, in a stable order."""

    @abstractmethod
    def append(self, record: dict[str, Any]) -> None:
        """Add one record (a JSON object with a ``type`` of :data:`KINDS`)."""

    @abstractmethod
    def records(self) -> list[dict[str, Any]]:
        """Every record, oldest first within each kind."""


class DirStore(Store):
    """A directory: one Hypothesis directory database per keyspace, records in a JSONL
    file.  Lines are appended with one write each, so workers on one machine can share it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = str(path)

    def examples(self, ks: Keyspace) -> ExampleDatabase:
        return DirectoryBasedExampleDatabase(str(self.path / ks.slug))

    def register(self, ks: Keyspace) -> None:
        where = self.path / ks.slug / "keyspace.json"
        if not where.exists():
            where.parent.mkdir(parents=True, exist_ok=True)
            where.write_text(ks.to_json() + "\n")

    def keyspaces(self) -> list[Keyspace]:
        found = []
        for p in sorted(self.path.glob("*/keyspace.json")):
            try:
                found.append(Keyspace.from_json(p.read_text()))
            except (ValueError, KeyError, TypeError):
                continue  # not ours, or half written
        return found

    def append(self, record: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        fd = os.open(self.path / RECORDS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def records(self) -> list[dict[str, Any]]:
        try:
            text = (self.path / RECORDS_FILE).read_text()
        except FileNotFoundError:
            return []
        return [r for r in map(_parse_record, text.splitlines()) if r is not None]


def _parse_record(text: str | bytes) -> dict[str, Any] | None:
    try:
        r = json.loads(text)
    except ValueError:
        return None  # a line cut short by a crash
    return r if isinstance(r, dict) and r.get("type") in KINDS else None


class RedisStore(Store):
    """A Redis database.  Examples: Hypothesis's Redis database under
    ``difftest:examples:<keyspace>:``; keyspaces: the set ``difftest:keyspaces``; records:
    the lists ``difftest:runs``, ``difftest:finds``, ``difftest:replays`` and one
    ``difftest:stats:<run>`` per run.  A forked worker opens a connection of its own."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Any = None
        self._pid = 0

    def client(self) -> Any:
        if self._client is None or self._pid != os.getpid():
            import redis

            self._client = redis.Redis.from_url(self.url, socket_connect_timeout=5,
                                                socket_timeout=60)  # fmt: skip
            self._pid = os.getpid()
        return self._client

    def examples(self, ks: Keyspace) -> ExampleDatabase:
        from hypothesis.extra.redis import RedisExampleDatabase

        prefix = f"{PREFIX}examples:{ks.slug}:".encode()
        return RedisExampleDatabase(self.client(), expire_after=EXPIRE_AFTER, key_prefix=prefix,
                                    listener_channel=f"{PREFIX}changes")  # fmt: skip

    def register(self, ks: Keyspace) -> None:
        self.client().sadd(f"{PREFIX}keyspaces", ks.to_json())

    def keyspaces(self) -> list[Keyspace]:
        members = self.client().smembers(f"{PREFIX}keyspaces")
        return sorted((Keyspace.from_json(m) for m in members), key=lambda k: k.to_json())

    def _list(self, record: dict[str, Any]) -> str:
        kind = record["type"]
        return f"{PREFIX}stats:{record['run']}" if kind == "stats" else f"{PREFIX}{kind}s"

    def append(self, record: dict[str, Any]) -> None:
        self.client().rpush(self._list(record), json.dumps(record, sort_keys=True))

    def records(self) -> list[dict[str, Any]]:
        c = self.client()
        lists = [f"{PREFIX}{kind}s" for kind in KINDS if kind != "stats"]
        runs = [_parse_record(r) for r in c.lrange(f"{PREFIX}runs", 0, -1)]
        lists += [f"{PREFIX}stats:{r['run']}" for r in runs if r is not None]
        out: list[dict[str, Any]] = []
        for name in dict.fromkeys(lists):
            out += [r for r in map(_parse_record, c.lrange(name, 0, -1)) if r is not None]
        return out


class FewSecondary(ExampleDatabase):
    """``inner`` as a replay should see it: the saved failing examples (Hypothesis's primary
    corpus of each key) all, and of the secondary corpus (examples that once failed on the
    way to a smaller one) only the ``limit`` smallest.  Hypothesis falls back on the
    secondary corpus when no primary example fails any more, and a long shrink leaves
    hundreds there; a few show whether the bug is really gone."""

    def __init__(self, inner: ExampleDatabase, limit: int = 10) -> None:
        super().__init__()
        self.inner = inner
        self.limit = limit

    def fetch(self, key: bytes) -> Iterable[bytes]:
        values = self.inner.fetch(key)
        if key.endswith(b".secondary"):
            values = sorted(values, key=lambda v: (len(v), v))[: self.limit]
        yield from values

    def save(self, key: bytes, value: bytes) -> None:
        self.inner.save(key, value)

    def delete(self, key: bytes, value: bytes) -> None:
        self.inner.delete(key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.inner.move(src, dest, value)


def shown(url: str) -> str:
    """The URL without a password, for messages and reports."""
    return re.sub(r"//[^@/]*@", "//***@", url)


def is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://"))


def open_store(spec: str) -> Store:
    """The store ``spec`` names; a Redis store is checked to be reachable (a ping), so a run
    that cannot save its finds fails before it mounts anything."""
    if not is_redis(spec):
        return DirStore(Path(spec))
    try:
        import redis
        from hypothesis.extra import redis as _hypothesis_redis  # noqa: F401
    except ImportError as exc:
        raise StoreError(f"--db {shown(spec)}: cannot use Redis, the redis package is not "
                         f"importable ({exc}); install hypothesis[redis]") from None
    store = RedisStore(spec)
    try:
        store.client().ping()
    except ValueError as exc:
        raise StoreError(f"--db {shown(spec)}: not a Redis URL ({exc})") from None
    except (redis.RedisError, OSError) as exc:
        why = " ".join(str(exc).split()) or type(exc).__name__
        raise StoreError(f"--db {shown(spec)}: cannot reach the Redis server ({why})") from None
    return store
