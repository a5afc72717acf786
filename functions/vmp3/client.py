"""A client of the public API: upload by presigned POST, start, poll, download."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from vmp3.errors import Vmp3Error
from vmp3.jobs import Job
from vmp3.services.downloads import download_stem

POLL_INTERVAL_S = 0.25
# Near the predicted end of a job the client polls faster, so it notices "done" sooner.
MIN_POLL_INTERVAL_S = 0.1
ProgressSink = Callable[[Job], None]


class ClientError(Vmp3Error):
    """An error the API returned; carries the server's code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.server_code = code

    def as_dict(self) -> dict[str, str]:
        return {"code": self.server_code, "message": self.message}


@dataclass
class Client:
    api_url: str
    api_key: str
    timeout_s: float = 60.0

    def _http(self) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, headers={"x-api-key": self.api_key},
                            timeout=self.timeout_s)

    def convert(self, video: Path, options: dict[str, Any], out_dir: Path,
                on_progress: ProgressSink | None = None) -> Path:
        try:
            return self._convert(video, options, out_dir, on_progress)
        except httpx.HTTPError as exc:
            raise ClientError("unavailable", f"cannot reach {self.api_url}: {exc}") from exc

    def _convert(self, video: Path, options: dict[str, Any], out_dir: Path,
                 on_progress: ProgressSink | None) -> Path:
        with self._http() as http:
            created = _checked(http.post("/jobs", json={"filename": video.name,
                                                        "options": options}))
            job_id = created["job"]["id"]
            _upload(created["upload"], video, self.timeout_s)
            _checked(http.post(f"/jobs/{job_id}/start"))
            job = self.wait(http, job_id, on_progress)
            return _download(http, job, out_dir)

    def wait(self, http: httpx.Client, job_id: str, on_progress: ProgressSink | None) -> Job:
        started = time.monotonic()
        while True:
            job = Job.model_validate(_checked(http.get(f"/jobs/{job_id}"))["job"])
            if on_progress:
                on_progress(job)
            if job.status == "done":
                return job
            if job.status == "failed" and job.error:
                raise ClientError(job.error.code, job.error.message)
            time.sleep(poll_delay_s(job, time.monotonic() - started))


def poll_delay_s(job: Job, waited_s: float) -> float:
    """POLL_INTERVAL_S, shortened to the time the job's progress says is left (not below
    MIN_POLL_INTERVAL_S). The wait includes queueing, so the estimate errs long."""
    percent = job.progress
    if job.status != "running" or not percent:
        return POLL_INTERVAL_S
    left_s = waited_s * (100 - percent) / percent
    return min(POLL_INTERVAL_S, max(MIN_POLL_INTERVAL_S, left_s))


def _checked(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            error = {"code": f"http_{response.status_code}", "message": response.text[:200]}
        raise ClientError(error["code"], error["message"])
    body: dict[str, Any] = response.json()
    return body


def _upload(post: dict[str, Any], video: Path, timeout_s: float) -> None:
    with video.open("rb") as handle:
        response = httpx.post(post["url"], data=post["fields"], files={"file": handle},
                              timeout=timeout_s)
    if response.status_code >= 300:
        raise ClientError("upload_refused", f"the upload was refused ({response.status_code}): "
                                            f"{response.text[:200]}")


def _download(http: httpx.Client, job: Job, out_dir: Path) -> Path:
    redirect = http.get(f"/jobs/{job.id}/download", follow_redirects=False)
    if redirect.status_code != 302:
        _checked(redirect)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = _free_name(out_dir, download_stem(job))
    partial = target.with_suffix(".mp3.part")
    with httpx.stream("GET", redirect.headers["location"], timeout=http.timeout) as response:
        if response.status_code != 200:
            raise ClientError("download_failed", f"the download failed ({response.status_code})")
        with partial.open("wb") as handle:
            for chunk in response.iter_bytes():
                handle.write(chunk)
    return partial.replace(target)


def _free_name(out_dir: Path, stem: str) -> Path:
    """``stem.mp3``, or ``stem (2).mp3`` and so on: an earlier MP3 is never overwritten."""
    target = out_dir / f"{stem}.mp3"
    number = 2
    while target.exists():
        target = out_dir / f"{stem} ({number}).mp3"
        number += 1
    return target


def progress_bar(job: Job) -> None:
    """One line on stderr, redrawn: status and a 30-character bar."""
    pct = job.progress
    filled = "#" * ((pct or 0) * 30 // 100)
    shown = "  ?%" if pct is None else f"{pct:3d}%"
    sys.stderr.write(f"\r{job.id[:8]} {job.status:<8} [{filled:<30}] {shown}")
    if job.status in ("done", "failed"):
        sys.stderr.write("\n")
    sys.stderr.flush()
