"""Job metadata in Redis: one hash per job, an index per owner, forward-only transitions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import cast

import redis
from redis.typing import EncodableT, FieldT

from vmp3.errors import Unavailable
from vmp3.jobs import Job, Status

KEY_PREFIX = "vmp3"
START_CLAIM_S = 120  # how long one /start call owns a job before another may retry it
OWNER_LIST_LIMIT = 100
SYNC_MARK_S = 3600


class Move(StrEnum):
    MOVED = "moved"
    REFUSED = "refused"  # the stored status is already as far or further
    MISSING = "missing"  # Redis has no record (expired, or lost in a restart)


# Moves a job forward and never back: the rank compare and the write are one atomic step.
_TRANSITION = """
local rank = redis.call('HGET', KEYS[1], 'rank')
if not rank then return -1 end
if tonumber(ARGV[1]) <= tonumber(rank) then return 0 end
redis.call('HSET', KEYS[1], 'rank', ARGV[1], 'job', ARGV[2], 'progress', ARGV[3])
if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[4])
else redis.call('PERSIST', KEYS[1]) end
return 1
"""
# A lease is renewed or released only by the converter holding it.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""
# Progress only rises, and only while the job runs.
_PROGRESS = """
if redis.call('HGET', KEYS[1], 'rank') ~= ARGV[2] then return 0 end
local current = redis.call('HGET', KEYS[1], 'progress')
if ARGV[1] ~= '' and current and current ~= '' and tonumber(current) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'progress', ARGV[1])
return 1
"""


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except redis.exceptions.ConnectionError as exc:  # also covers timeouts
        raise Unavailable("the job store (Redis) cannot be reached") from exc


class JobStore:
    def __init__(self, client: redis.Redis, record_ttl_s: int) -> None:
        self._redis = client
        self._ttl_s = record_ttl_s
        self._transition = client.register_script(_TRANSITION)
        self._progress = client.register_script(_PROGRESS)
        self._renew = client.register_script(_RENEW)
        self._release_lease = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, record_ttl_s: int) -> JobStore:
        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5,
                                      health_check_interval=30, decode_responses=True)
        return cls(client, record_ttl_s)

    @staticmethod
    def _key(job_id: str) -> str:
        return f"{KEY_PREFIX}:job:{job_id}"

    @staticmethod
    def _owner_key(owner: str) -> str:
        return f"{KEY_PREFIX}:owner:{owner}"

    def create(self, job: Job) -> None:
        with _translated():
            pipe = self._redis.pipeline()
            pipe.hset(self._key(job.id), mapping=_fields(job))
            if job.status in (Status.CREATED, Status.DONE, Status.FAILED):  # nobody works on it
                pipe.expire(self._key(job.id), self._ttl_s)
            pipe.zadd(self._owner_key(job.owner), {job.id: job.created_at})
            pipe.execute()

    def get(self, job_id: str) -> Job | None:
        with _translated():
            raw = cast(dict[str, str], self._redis.hgetall(self._key(job_id)))
        return _job_from(raw)

    def list_owned(self, owner: str, limit: int = OWNER_LIST_LIMIT) -> list[Job]:
        with _translated():
            ids = cast(list[str], self._redis.zrevrange(self._owner_key(owner), 0, limit - 1))
            pipe = self._redis.pipeline()
            for job_id in ids:
                pipe.hgetall(self._key(job_id))
            records = pipe.execute()
            expired = [job_id for job_id, raw in zip(ids, records, strict=True) if not raw]
            if expired:
                self._redis.zrem(self._owner_key(owner), *expired)
        return [job for job in map(_job_from, records) if job is not None]

    def advance(self, updated: Job) -> Move:
        """Store ``updated`` if its status is ahead of the stored one (atomically).

        Records expire ``record_ttl_s`` after they are created or finish; a job being
        worked on (queued, running) never expires.
        """
        ttl = self._ttl_s if updated.status.is_final else 0
        with _translated():
            moved = self._transition(keys=[self._key(updated.id)],
                                     args=[updated.status.rank, updated.model_dump_json(),
                                           _progress_field(updated.progress), ttl])
        return {1: Move.MOVED, 0: Move.REFUSED}.get(int(moved), Move.MISSING)

    def restore(self, job: Job) -> None:
        """Put back a record Redis lost (it keeps nothing on disk), unless one is there."""
        with _translated():
            if self._redis.exists(self._key(job.id)):
                return
            self.create(job)

    def owner_synced(self, owner: str) -> bool:
        """True once per ``SYNC_MARK_S`` per owner; False again after Redis lost its data."""
        with _translated():
            return not self._redis.set(f"{self._owner_key(owner)}:synced", "1", nx=True,
                                       ex=SYNC_MARK_S)

    def count_attempt(self, job_id: str) -> int:
        with _translated():
            return int(self._redis.hincrby(self._key(job_id), "attempts", 1))

    def report_progress(self, job_id: str, percent: int | None) -> None:
        with _translated():
            self._progress(keys=[self._key(job_id)],
                           args=[_progress_field(percent), Status.RUNNING.rank])

    def claim_start(self, job_id: str) -> Callable[[], None] | None:
        """Claim the right to start ``job_id``; returns the release, or None if taken."""
        claim = f"{self._key(job_id)}:start"
        with _translated():
            taken = self._redis.set(claim, "1", nx=True, ex=START_CLAIM_S)
        return (lambda: self._release(claim)) if taken else None

    def _release(self, claim: str) -> None:
        with _translated():
            self._redis.delete(claim)

    def acquire_lease(self, job_id: str, holder: str, ttl_ms: int) -> bool:
        """Take the job's lease: the right to run it while renewed. False if held."""
        with _translated():
            return bool(self._redis.set(self._lease_key(job_id), holder, nx=True, px=ttl_ms))

    def renew_lease(self, job_id: str, holder: str, ttl_ms: int) -> bool:
        with _translated():
            return bool(self._renew(keys=[self._lease_key(job_id)], args=[holder, ttl_ms]))

    def release_lease(self, job_id: str, holder: str) -> None:
        with _translated():
            self._release_lease(keys=[self._lease_key(job_id)], args=[holder])

    def lease_holder(self, job_id: str) -> str | None:
        with _translated():
            holder = self._redis.get(self._lease_key(job_id))
        return None if holder is None else str(holder)

    def _lease_key(self, job_id: str) -> str:
        return f"{self._key(job_id)}:lease"

    def ping(self) -> bool:
        with _translated():
            return bool(self._redis.ping())


def _fields(job: Job) -> dict[FieldT, EncodableT]:
    return {"rank": job.status.rank, "job": job.model_dump_json(),
            "progress": _progress_field(job.progress)}


def _progress_field(percent: int | None) -> str:
    return "" if percent is None else str(percent)


def _job_from(raw: dict[str, str]) -> Job | None:
    if not raw or "job" not in raw:
        return None
    job = Job.model_validate_json(raw["job"])
    progress = raw.get("progress", "")
    return job.model_copy(update={"progress": int(progress) if progress else None,
                                  "attempts": int(raw.get("attempts", 0))})
