import pytest

from vmp3.jobs import Job
from vmp3.services.downloads import content_disposition, download_stem
from vmp3.services.uploads import clean_filename

HOSTILE = ["a\r\nSet-Cookie: x=1", 'say "hi"', "../../etc/passwd", "a/b\\c", "nul\x00byte",
           "日本語のタイトル", "..", "  ..  ", "%0d%0aX: y", "ok name"]


@pytest.mark.parametrize("title", HOSTILE)
def test_content_disposition_is_one_safe_header_value(title: str) -> None:
    job = Job(id="4f1c2a7e-0000-4000-8000-000000000000", owner="o", filename="x.mp4",
              result={"tags": {"title": title}})
    stem = download_stem(job)
    header = content_disposition(stem)
    assert "\r" not in header and "\n" not in header and "\x00" not in header
    assert "/" not in stem and "\\" not in stem and ".." not in stem
    ascii_part = header.split(";")[1]
    assert ascii_part.count('"') == 2
    assert header.isascii()
    assert header.startswith("attachment; filename=")


def test_title_is_kept_exactly_in_the_utf8_name() -> None:
    assert "filename*=UTF-8''%E6%97%A5%E6%9C%AC.mp3" in content_disposition("日本")


def test_stem_falls_back_to_upload_name_then_job_id() -> None:
    job = Job(id="4f1c2a7e-0000-4000-8000-000000000000", owner="o", filename="My Clip.mov")
    assert download_stem(job) == "My Clip"
    assert download_stem(job.model_copy(update={"filename": "../.."})) == job.id


@pytest.mark.parametrize(("raw", "clean"), [("-i.mp4", "-i.mp4"), ("../../x.mp4", "x.mp4"),
                                            ("C:\\a\\b.mp4", "b.mp4"), ("a\nb.mp4", "ab.mp4")])
def test_uploaded_names_lose_paths_and_control_characters(raw: str, clean: str) -> None:
    assert clean_filename(raw) == clean


def test_invisible_and_reordering_characters_are_dropped() -> None:
    job = Job(id="4f1c2a7e-0000-4000-8000-000000000000", owner="o",
              result={"tags": {"title": "\u202egpj.exe\u200b"}})
    assert download_stem(job) == "gpj.exe"


def test_long_titles_fit_a_file_name() -> None:
    job = Job(id="4f1c2a7e-0000-4000-8000-000000000000", owner="o",
              result={"tags": {"title": "😀" * 200}})
    stem = download_stem(job)
    assert len((stem + ".mp3.part").encode()) <= 255
    assert stem == "😀" * 50
