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
    path = Path(tempfile.mkdtemp(prefix=f"{JOB_DIR_PREFIX}{job_id}-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
