"""Download service: a short-lived presigned GET with a safe Content-Disposition."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import quote

from vmp3.errors import Conflict
from vmp3.jobs import Job, Status
from vmp3.services.context import ServiceContext

MAX_NAME_CHARS = 120
MAX_NAME_BYTES = 200  # file systems take 255 bytes; leave room for ".mp3" and ".part"
# Control, formatting (e.g. right-to-left override) and separator characters.
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cn", "Cs", "Co"})
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;%]+')
_DOTS_AND_SPACE = re.compile(r"^[.\s]+|[.\s]+$")


def download_stem(job: Job) -> str:
    """The name to save the MP3 under: the title, else the uploaded name, else the job id."""
    title = (job.result or {}).get("tags", {}).get("title") if job.result else None
    uploaded = PurePosixPath(job.filename).stem if job.filename else ""
    for candidate in (title, uploaded):
        visible = "".join(ch for ch in candidate or ""
                          if unicodedata.category(ch) not in _INVISIBLE)
        cleaned = _DOTS_AND_SPACE.sub("", _UNSAFE.sub("_", visible))
        cleaned = _fit(cleaned.replace("..", "_"))
        if cleaned.strip("_ "):
            return cleaned
    return job.id


def _fit(stem: str) -> str:
    """At most MAX_NAME_CHARS characters and MAX_NAME_BYTES of UTF-8, whole characters only."""
    stem = stem[:MAX_NAME_CHARS]
    while len(stem.encode()) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem


def content_disposition(stem: str) -> str:
    """``attachment`` with an ASCII fallback and the exact UTF-8 name (RFC 6266 / 5987)."""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = _UNSAFE.sub("_", ascii_stem).strip() or "audio"
    return (f'attachment; filename="{ascii_stem}.mp3"; '
            f"filename*=UTF-8''{quote(stem + '.mp3', safe='')}")


def download_url(ctx: ServiceContext, job: Job) -> str:
    if job.status is not Status.DONE:
        raise Conflict(f"job {job.id} is {job.status.value}; only a done job has an MP3")
    return ctx.objects.presigned_get(job.output_key, content_disposition(download_stem(job)),
                                     ctx.settings.download_url_expiry_s)
