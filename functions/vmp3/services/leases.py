"""One converter at a time per job, even when the broker delivers a job twice.

A redelivery can reach a second converter while the first still works on the job: the
broker's consumer timeout, a network blip, or a duplicate message. The job's lease in
Redis says who is converting it; a converter that finds it held waits for the holder to
finish (or to die, when its lease runs out) instead of doing the work twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from vmp3.adapters.jobstore import JobStore
from vmp3.errors import Unavailable

log = logging.getLogger(__name__)
LEASE_TTL_MS = 30_000  # a dead holder frees the job within this
RENEW_EVERY_S = 10.0
WAIT_POLL_S = 1.0


def holder_id() -> str:
    """Who holds a lease: host and pid (for operators), plus a nonce per attempt."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@contextmanager
def job_lease(jobs: JobStore, job_id: str) -> Iterator[str]:
    """Hold ``job_id``'s lease for the block, waiting while another live converter holds it."""
    holder = holder_id()
    while not jobs.acquire_lease(job_id, holder, LEASE_TTL_MS):
        current = jobs.lease_holder(job_id)
        if current is not None and _dead_here(current):
            jobs.release_lease(job_id, current)  # its process is gone: no need to wait out the TTL
            continue
        time.sleep(WAIT_POLL_S)
    stop = threading.Event()
    renewer = threading.Thread(target=_renew, args=(jobs, job_id, holder, stop), daemon=True)
    renewer.start()
    try:
        yield holder
    finally:
        stop.set()
        renewer.join()
        jobs.release_lease(job_id, holder)


def _dead_here(holder: str) -> bool:
    """True when ``holder`` was a process on this host that no longer exists."""
    host, _, rest = holder.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _renew(jobs: JobStore, job_id: str, holder: str, stop: threading.Event) -> None:
    while not stop.wait(RENEW_EVERY_S):
        try:
            jobs.renew_lease(job_id, holder, LEASE_TTL_MS)
        except Unavailable:  # a missed renewal risks a duplicate conversion, never a loss
            log.warning("could not renew the lease of job %s", job_id)
