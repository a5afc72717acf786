"""A private temp dir per job, removed whatever happens."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

JOB_DIR_PREFIX = "vmp3-job-"


@contextmanager
def job_dir(job_id: str, parent: Path | None = None) -> Iterator[Path]:
    root = Path(parent or tempfile.gettempdir())
    # A converter killed with SIGKILL cannot clean up; the next one to take the job does.
    # Only a converter holding the job's delivery gets here, so no live one owns them.
    for stale in root.glob(f"{JOB_DIR_PREFIX}{job_id}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    path = Path(tempfile.mkdtemp(prefix=f"{JOB_DIR_PREFIX}{job_id}-", dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
