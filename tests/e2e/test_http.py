"""The whole local stack over HTTP: gateway, upload and gateway functions, converters."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import media
from tests.support.stack import RunningStack, random_keys, running_stack
from vmp3.client import Client, ClientError
from vmp3.services.context import ServiceContext

pytestmark = pytest.mark.e2e
REJECT_CODES = {"MB_cursed-vfr.mp4": "no_audio", "MIJS_many_tracks.mp4": "no_audio",
                "AX_sample_missing_stsd.mp4": "undecodable_audio",
                "SIO_broken.mp4": "truncated", "PHP_WrongFile.mp4": "not_media",
                "MPY_result.webm": "not_media"}


@pytest.fixture(scope="module")
def stack(ctx: ServiceContext) -> Iterator[RunningStack]:
    with running_stack(ctx, random_keys("alice", "bob"), converters=2) as running:
        yield running


def client_for(stack: RunningStack, owner: str) -> Client:
    key = next(k for k, v in stack.keys.items() if v == owner)
    return Client(stack.api_url, key)


def http_for(stack: RunningStack, owner: str | None) -> httpx.Client:
    key = next((k for k, v in stack.keys.items() if v == owner), "no-such-key")
    return httpx.Client(base_url=stack.api_url, headers={"x-api-key": key}, timeout=30)


def corpus_outcome(stack: RunningStack, source: Path, out_dir: Path) -> tuple[Path | None, str]:
    try:
        return client_for(stack, "alice").convert(source, {}, out_dir), ""
    except ClientError as exc:
        return None, exc.server_code


@pytest.mark.parametrize("entry", media.corpus_params())
def test_corpus_over_http(stack: RunningStack, ctx: ServiceContext, tmp_path: Path,
                          entry: media.CorpusEntry | None) -> None:
    entry = media.require_entry(entry)
    output, code = corpus_outcome(stack, media.MEDIA_DIR / entry.file, tmp_path)
    if entry.expect == "ok":
        assert output is not None, code
        assert media.frame_duration_s(output) == pytest.approx(entry.duration_s, abs=0.1)
        assert media.audio_stream(output)["codec_name"] == "mp3"
    else:
        assert code == REJECT_CODES[entry.file]
        assert not list(tmp_path.iterdir())
        with http_for(stack, "alice") as http:
            jobs = http.get("/jobs").json()["jobs"]
        refused = [j for j in jobs if j["filename"] == entry.file and j["status"] == "failed"]
        assert refused
        assert all(not ctx.objects.exists(f"outputs/alice/{j['id']}.mp3") for j in refused)


@pytest.mark.parametrize("kind", media.NOT_MEDIA_KINDS)
def test_not_media_and_the_service_keeps_answering(stack: RunningStack, tmp_path: Path,
                                                   kind: str) -> None:
    source = media.not_media(kind, tmp_path / "clip.mp4")
    with pytest.raises(ClientError) as refused:
        client_for(stack, "alice").convert(source, {}, tmp_path / "out")
    assert refused.value.server_code == "not_media"
    good = media.video_with_tone(tmp_path / "good.mp4", 1)
    assert client_for(stack, "alice").convert(good, {}, tmp_path / "out").is_file()


@pytest.mark.parametrize("kind", ["hls", "concat"])
def test_playlists_are_unsupported_with_no_output(stack: RunningStack, tmp_path: Path,
                                                  kind: str) -> None:
    target = media.video_with_tone(tmp_path / "real.mp4", 1)
    source = tmp_path / "playlist.mp4"
    source.write_text(f"#EXTM3U\n#EXTINF:1,\nfile:{target}\n" if kind == "hls"
                      else f"ffconcat version 1.0\nfile '{target}'\n")
    with pytest.raises(ClientError) as refused:
        client_for(stack, "alice").convert(source, {}, tmp_path / "out")
    assert refused.value.server_code == "unsupported_format"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["-i.mp4", "it's a (test) ;$(id).mp4", "日本語の動画.mp4"])
def test_odd_upload_names_convert_and_stay_metadata(stack: RunningStack, tmp_path: Path,
                                                    name: str) -> None:
    source = tmp_path / name
    media.video_with_tone(source, 1)
    output = client_for(stack, "alice").convert(source, {}, tmp_path / "out")
    assert output.parent == tmp_path / "out"
    assert output.name == f"{Path(name).stem}.mp3".replace("/", "_").replace(";", "_")


def test_ownership_auth_and_unfinished_jobs(stack: RunningStack, tmp_path: Path) -> None:
    with http_for(stack, "alice") as alice, http_for(stack, "bob") as bob, \
            http_for(stack, None) as nobody:
        job_id = alice.post("/jobs", json={"filename": "a.mp4"}).json()["job"]["id"]
        assert alice.get(f"/jobs/{job_id}").status_code == 200
        assert alice.get(f"/jobs/{job_id}/download").json()["error"]["code"] == "conflict"
        for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/download"):
            assert bob.get(path).status_code == 404
        assert bob.post(f"/jobs/{job_id}/start").status_code == 404
        assert job_id not in {j["id"] for j in bob.get("/jobs").json()["jobs"]}
        for method, path in (("GET", "/jobs"), ("POST", "/jobs"), ("GET", f"/jobs/{job_id}")):
            assert nobody.request(method, path).status_code == 401


def test_bad_options_get_a_clear_400(stack: RunningStack) -> None:
    with http_for(stack, "alice") as alice:
        response = alice.post("/jobs", json={"options": {"bitrate_kbps": 1000}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert "bitrate" in response.json()["error"]["message"]


def test_download_redirects_to_a_presigned_attachment(stack: RunningStack,
                                                      tmp_path: Path) -> None:
    source = media.video_with_tone(tmp_path / "v.mp4", 1, extra=("-metadata", "title=Täst/1"))
    client_for(stack, "alice").convert(source, {}, tmp_path / "out")
    with http_for(stack, "alice") as alice:
        job = next(j for j in alice.get("/jobs").json()["jobs"] if j["filename"] == "v.mp4")
        redirect = alice.get(f"/jobs/{job['id']}/download")
    assert redirect.status_code == 302
    fetched = httpx.get(redirect.headers["location"])
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "audio/mpeg"
    assert fetched.headers["content-disposition"].startswith('attachment; filename="Tast_1.mp3"')


def test_malformed_requests_keep_the_error_envelope(stack: RunningStack) -> None:
    job_id = str(uuid.uuid4())
    with http_for(stack, "alice") as alice:
        crafted = [alice.get(f"/jobs/{job_id}:start").status_code,
                   alice.get(f"/jobs/{job_id}:lease/download").status_code]
        unparsable = alice.post("/jobs", content=b'{"filename": "\xff\xfe"',
                                headers={"content-type": "application/json"})
        wrong_method = alice.request("PATCH", "/jobs")
        huge = alice.post("/jobs", content=b"{" + b" " * 100_000 + b"}",
                          headers={"content-type": "application/json"})
        infinite = alice.post("/jobs", content=b'{"options": {"start_s": Infinity}}',
                              headers={"content-type": "application/json"})
    assert crafted == [404, 404]
    assert (unparsable.status_code, unparsable.json()["error"]["code"]) == (400, "bad_request")
    assert (wrong_method.status_code, wrong_method.json()["error"]["code"]) == (
        405, "method_not_allowed")
    assert (huge.status_code, huge.json()["error"]["code"]) == (413, "too_large")
    assert (infinite.status_code, infinite.json()["error"]["code"]) == (400, "bad_request")
