"""Security: ownership, presigned URLs, limits, rate limiting, hostile media, FFmpeg's cage.

Each test records its figure for docs/reliability.md.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support import hostile, media, services
from tests.support.figures import FigureBook
from tests.support.jobs import post_upload, uploaded_job
from tests.support.stack import RunningStack, random_keys, running_stack
from vmp3.client import Client, ClientError
from vmp3.errors import ConversionFailed, ConversionTimeout, SourceMissing, TooLarge, TooLong
from vmp3.jobs import Job
from vmp3.local.gateway import UsagePlan
from vmp3.media.confine import Confinement, working_sandbox
from vmp3.media.convert import Converter
from vmp3.media.options import ConversionOptions
from vmp3.media.process import run_tool
from vmp3.media.tools import locate
from vmp3.routes import ROUTES
from vmp3.services import uploads
from vmp3.services.context import ServiceContext
from vmp3.services.downloads import content_disposition, download_stem

pytestmark = pytest.mark.e2e
SECTION = "Security"


@pytest.fixture(scope="module")
def stack(ctx: ServiceContext) -> Iterator[RunningStack]:
    with running_stack(ctx, random_keys("alice", "mallory"), converters=2) as running:
        yield running


def http_as(stack: RunningStack, owner: str | None) -> httpx.Client:
    key = next((k for k, v in stack.keys.items() if v == owner), "not-a-key")
    return httpx.Client(base_url=stack.api_url, headers={"x-api-key": key}, timeout=30)


def test_other_owners_and_guessed_ids_get_404(stack: RunningStack, tmp_path: Path,
                                              figures: FigureBook) -> None:
    key = next(k for k, v in stack.keys.items() if v == "alice")
    Client(stack.api_url, key).convert(media.video_with_tone(tmp_path / "a.mp4", 1), {},
                                       tmp_path / "out")
    with http_as(stack, "alice") as alice, http_as(stack, "mallory") as mallory:
        alice_ids = [j["id"] for j in alice.get("/jobs").json()["jobs"]]
        alice_ids += [alice.post("/jobs", json={}).json()["job"]["id"] for _ in range(3)]
        targets = (alice_ids * 25)[:70] + [str(uuid.uuid4()) for _ in range(30)]
        answers = []
        for index, job_id in enumerate(targets):
            method, path = [("GET", f"/jobs/{job_id}"), ("POST", f"/jobs/{job_id}/start"),
                            ("GET", f"/jobs/{job_id}/download")][index % 3]
            answers.append(mallory.request(method, path).status_code)
        assert all(uuid.UUID(i).version == 4 for i in alice_ids)
    figures.record(SECTION, "another key's jobs and guessed ids",
                   f"{answers.count(404)}/{len(answers)} answered 404")
    assert answers.count(404) == len(answers) == 100


def test_every_route_needs_a_valid_key(stack: RunningStack, figures: FigureBook) -> None:
    statuses = []
    with http_as(stack, None) as stranger, httpx.Client(base_url=stack.api_url) as anonymous:
        for route in ROUTES:
            path = route.path.replace("{job_id}", str(uuid.uuid4()))
            statuses += [stranger.request(route.method, path).status_code,
                         anonymous.request(route.method, path).status_code]
    figures.record(SECTION, "routes without a valid API key",
                   f"{statuses.count(401)}/{len(statuses)} answered 401")
    assert statuses == [401] * len(statuses)


def test_presigned_upload_and_download_urls_are_short_lived_and_exact(
        stack: RunningStack, tmp_path: Path, figures: FigureBook) -> None:
    with http_as(stack, "alice") as alice:
        created = alice.post("/jobs", json={"filename": "v.mp4"}).json()
    policy = json.loads(base64.b64decode(created["upload"]["fields"]["policy"]))
    expires_in = time.mktime(time.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ")) \
        - time.mktime(time.gmtime())
    keys = [c["key"] for c in policy["conditions"] if isinstance(c, dict) and "key" in c]
    assert keys == [f"uploads/alice/{created['job']['id']}"]
    assert 0 < expires_in <= 900

    key = next(k for k, v in stack.keys.items() if v == "alice")
    Client(stack.api_url, key).convert(media.video_with_tone(tmp_path / "b.mp4", 1), {},
                                       tmp_path / "out")
    with http_as(stack, "alice") as alice:
        job = next(j for j in alice.get("/jobs").json()["jobs"] if j["filename"] == "b.mp4")
        location = alice.get(f"/jobs/{job['id']}/download").headers["location"]
    download_expiry = int(parse_qs(urlsplit(location).query)["X-Amz-Expires"][0])
    tampered = location.replace("X-Amz-Expires=", "X-Amz-Expires=9")
    assert download_expiry <= 900
    assert httpx.get(tampered).status_code == 403
    figures.record(SECTION, "presigned URL lifetimes",
                   f"upload {expires_in:.0f} s for exactly one key, download {download_expiry} s"
                   f"; tampered download URL answered 403")


def test_tampered_and_expired_urls_are_refused(ctx: ServiceContext, tmp_path: Path,
                                               figures: FigureBook) -> None:
    clip = tmp_path / "c.mp3"
    clip.write_bytes(b"ID3" + b"\x00" * 64)
    ctx.objects.upload(clip, "outputs/alice/expiring.mp3", {})
    short = ctx.objects.presigned_get("outputs/alice/expiring.mp3", "attachment", 1)
    post = ctx.objects.presigned_post("uploads/alice/other", 1000, 60)
    forged = dict(post, fields={**post["fields"], "key": "uploads/alice/not-signed"})
    time.sleep(2.5)
    results = (httpx.get(short).status_code, post_upload(forged, clip).status_code)
    figures.record(SECTION, "expired GET / POST to an unsigned key",
                   f"answered {results[0]} / {results[1]}")
    assert results == (403, 403)


def test_oversize_upload_is_refused_and_nothing_is_queued(
        fresh_ctx: ServiceContext, tmp_path: Path, figures: FigureBook) -> None:
    small = ServiceContext(fresh_ctx.settings.model_copy(update={"max_upload_bytes": 100_000}))
    job, post = uploads.create_job(small, "alice", "big.mp4", ConversionOptions())
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\x00" * 200_000)
    status = post_upload(post, big).status_code
    with pytest.raises(SourceMissing):
        uploads.start_job(small, job)
    depth = services.queue_depth(fresh_ctx.settings.amqp_url, fresh_ctx.topology.queue)
    figures.record(SECTION, "upload over the size limit",
                   f"S3 answered {status}; {depth} messages queued")
    assert (status, depth) == (400, 0)


def test_too_long_is_refused_at_start(fresh_ctx: ServiceContext, tmp_path: Path,
                                      figures: FigureBook) -> None:
    strict = ServiceContext(fresh_ctx.settings.model_copy(update={"max_duration_s": 3.0}))
    job = uploaded_job(strict, media.video_with_tone(tmp_path / "long.mp4", 6))
    with pytest.raises(TooLong) as refused:
        uploads.start_job(strict, job)
    depth = services.queue_depth(fresh_ctx.settings.amqp_url, fresh_ctx.topology.queue)
    figures.record(SECTION, "6 s source, 3 s limit", f"{refused.value.code}; {depth} queued")
    assert depth == 0


def test_rate_limit_answers_429_with_retry_after(ctx: ServiceContext,
                                                 figures: FigureBook) -> None:
    keys = {"rate-key": "alice"}
    with running_stack(ctx, keys, converters=0, plan=UsagePlan(rate_per_s=5, burst=10)) as s, \
            httpx.Client(base_url=s.api_url, headers={"x-api-key": "rate-key"}) as http:
        responses = [http.get("/jobs") for _ in range(30)]
    limited = [r for r in responses if r.status_code == 429]
    figures.record(SECTION, "30 requests at once, plan 5/s burst 10",
                   f"{len(limited)} answered 429, Retry-After {limited[0].headers['retry-after']}"
                   if limited else "none limited")
    assert len(limited) >= 15
    assert all(int(r.headers["retry-after"]) >= 1 for r in limited)
    assert limited[0].json()["error"]["code"] == "rate_limited"


HOSTILE_TITLES = ["a\r\nSet-Cookie: stolen=1", 'x"; filename="evil.exe', "../../etc/passwd",
                  "a/b\\c", "nul\x00byte", "日本語", "..", "%0d%0aX-Injected: 1"]


def test_content_disposition_survives_hostile_titles_on_real_s3(
        ctx: ServiceContext, tmp_path: Path, figures: FigureBook) -> None:
    clip = tmp_path / "t.mp3"
    clip.write_bytes(b"ID3" + b"\x00" * 64)
    ctx.objects.upload(clip, "outputs/alice/titles.mp3", {})
    injected = 0
    for title in HOSTILE_TITLES:
        job = Job(id=str(uuid.uuid4()), owner="alice", result={"tags": {"title": title}})
        header = content_disposition(download_stem(job))
        response = httpx.get(ctx.objects.presigned_get("outputs/alice/titles.mp3", header, 60))
        assert response.status_code == 200
        got = response.headers["content-disposition"]
        injected += ("set-cookie" in response.headers) + ("x-injected" in response.headers)
        assert got.startswith("attachment; filename=")
        assert "/" not in got.split("filename*=")[0]
        assert ".." not in got
    figures.record(SECTION, "hostile titles in Content-Disposition",
                   f"{len(HOSTILE_TITLES)} titles, {injected} injected headers, 0 paths")
    assert injected == 0


@pytest.fixture
def canary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outside") / "canary.txt"
    path.write_text(f"CANARY-{uuid.uuid4().hex}\n" * 50)
    return path


def test_hostile_media_reads_nothing_and_calls_nobody(stack: RunningStack, tmp_path: Path,
                                                      canary: Path,
                                                      figures: FigureBook) -> None:
    key = next(k for k, v in stack.keys.items() if v == "alice")
    token = canary.read_text().splitlines()[0].encode()
    codes: dict[str, str] = {}
    with hostile.loopback_listener() as listener:
        for name, make in hostile.HOSTILE_INPUTS.items():
            source = tmp_path / f"{name}.mp4"
            source.write_bytes(make(str(canary), listener.url))
            try:
                Client(stack.api_url, key).convert(source, {}, tmp_path / "out")
                codes[name] = "converted"
            except ClientError as exc:
                codes[name] = exc.server_code
        hits = list(listener.hits)
    leaked = sum(path.read_bytes().count(token) for path in tmp_path.rglob("*.mp3"))
    figures.record(SECTION, "hostile media (playlists, concat, subfile/data, GAB2 AVI)",
                   f"{len(codes)} inputs refused as {sorted(set(codes.values()))}; "
                   f"{leaked} canary bytes out, {len(hits)} listener hits")
    assert "converted" not in codes.values()
    assert codes["avi-gab2-playlist"] == "no_audio"
    assert {v for k, v in codes.items() if k != "avi-gab2-playlist"} == {"unsupported_format"}
    assert (leaked, hits) == (0, [])


def test_whitelist_holds_even_when_the_format_is_forced(tmp_path: Path, canary: Path,
                                                        figures: FigureBook) -> None:
    """The demuxer allowlist is the second wall behind the content sniffing."""
    playlist = tmp_path / "list.m3u8"
    with hostile.loopback_listener() as listener:
        playlist.write_bytes(hostile.hls(str(canary), listener.url))
        from vmp3.media.formats import hardening_input_args

        completed = run_tool([locate("ffmpeg"), "-nostdin", *hardening_input_args(), "-f", "hls",
                              "-i", f"file:{playlist}", "-f", "null", "-"],
                             timeout_s=30, stderr_path=tmp_path / "err")
        hits = list(listener.hits)
    figures.record(SECTION, "ffmpeg -f hls with vmp3's allowlists",
                   f"exit {completed.returncode}, {len(hits)} listener hits")
    assert completed.returncode != 0
    assert hits == []


def slow_source(tmp_path: Path) -> Path:
    source = tmp_path / "slow.wav"
    media.ffmpeg(*media.tone(600, 48000), "-ac", "2", "-c:a", "pcm_s16le", source)
    return source


def test_cpu_limit_kills_a_cpu_heavy_conversion(tmp_path: Path, figures: FigureBook) -> None:
    converter = Converter(locate("ffmpeg"), locate("ffprobe"), max_duration_s=3600,
                          timeout_s=300, confinement=Confinement(cpu_s=1))
    started = time.monotonic()
    with pytest.raises(ConversionTimeout, match="CPU"):
        converter.convert(slow_source(tmp_path), ConversionOptions(quality=0), tmp_path)
    figures.record(SECTION, "CPU-time rlimit (1 s) on a 10-minute encode",
                   f"killed after {time.monotonic() - started:.1f} s wall; no output")
    assert not list(tmp_path.glob("output*.mp3"))


def test_output_size_limit_stops_an_oversize_output(tmp_path: Path,
                                                    figures: FigureBook) -> None:
    converter = Converter(locate("ffmpeg"), locate("ffprobe"), max_duration_s=3600,
                          timeout_s=300, confinement=Confinement(file_bytes=200_000))
    with pytest.raises(TooLarge):
        converter.convert(slow_source(tmp_path), ConversionOptions(bitrate_kbps=320), tmp_path)
    figures.record(SECTION, "output-size rlimit (200 kB) on a 23 MB MP3",
                   "stopped with too_large; no output")
    assert not list(tmp_path.glob("output*.mp3"))


def test_address_space_limit_bites(tmp_path: Path, figures: FigureBook) -> None:
    converter = Converter(locate("ffmpeg"), locate("ffprobe"), max_duration_s=3600,
                          timeout_s=60, confinement=Confinement(memory_bytes=64 * 1024**2))
    with pytest.raises((TooLarge, ConversionFailed), match="memory") as stopped:
        converter.convert(media.video_with_tone(tmp_path / "v.mp4", 1), ConversionOptions(),
                          tmp_path)
    figures.record(SECTION, "address-space rlimit (64 MiB)",
                   f"FFmpeg stopped, reported as {stopped.value.code}: {stopped.value.message}")
    assert not list(tmp_path.glob("output*.mp3"))


def test_sandbox_cuts_the_network(tmp_path: Path, figures: FigureBook) -> None:
    sandbox = working_sandbox()
    assert sandbox is not None, "bubblewrap must be installed where the tests run"
    script = ("import socket,sys\ntry:\n socket.create_connection(('127.0.0.1',int(sys.argv[1])),"
              "timeout=2)\n print('reached')\nexcept OSError:\n print('blocked')\n")
    import sys

    with hostile.loopback_listener() as listener:
        port = listener.url.rsplit(":", 1)[1]
        outside = run_tool([sys.executable, "-c", script, port], timeout_s=30,
                           stderr_path=tmp_path / "a.err")
        inside = run_tool([sys.executable, "-c", script, port], timeout_s=30,
                          stderr_path=tmp_path / "b.err", confinement=Confinement(sandbox=sandbox))
        hits = len(listener.hits)
    figures.record(SECTION, "network from inside FFmpeg's sandbox (bubblewrap)",
                   f"outside: {outside.stdout.strip()}, inside: {inside.stdout.strip()}")
    assert (outside.stdout.strip(), inside.stdout.strip(), hits) == ("reached", "blocked", 0)
