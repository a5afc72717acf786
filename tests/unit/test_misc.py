import struct
from pathlib import Path

import pytest
from pydantic import ValidationError

from vmp3.errors import MediaError, NotFound, Vmp3Error
from vmp3.media import isobmff
from vmp3.media.probe import normalize_tags
from vmp3.settings import Settings
from vmp3.topology import QueueTopology


def box(kind: bytes, payload: bytes = b"", declared: int | None = None) -> bytes:
    return struct.pack(">I4s", declared or 8 + len(payload), kind) + payload


def test_mp4_cut_before_its_index_is_told_from_junk(tmp_path: Path) -> None:
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(box(b"ftyp", b"isom\x00\x00\x02\x00") + box(b"mdat", b"x" * 100, 50_000))
    empty_mdat = tmp_path / "stub.mp4"
    empty_mdat.write_bytes(box(b"ftyp", b"isom\x00\x00\x02\x00") + struct.pack(">I4s", 0, b"mdat"))
    unfinished = tmp_path / "unfinished.mp4"
    unfinished.write_bytes(box(b"ftyp", b"isom\x00\x00\x02\x00") + struct.pack(">I4s", 0, b"mdat")
                           + b"\x01" * 500)
    text = tmp_path / "text.mp4"
    text.write_bytes(b"hello, this is text and not a box at all\n" * 3)
    assert isobmff.is_cut_short(cut)
    assert isobmff.is_cut_short(unfinished)
    assert not isobmff.is_cut_short(empty_mdat)
    assert not isobmff.is_cut_short(text)


def test_tags_lose_control_characters_and_are_bounded() -> None:
    tags = normalize_tags({"title": "a\x00b\x1bc", "comment": "line 1\nline 2",
                           "artist": "x" * 200_000})
    assert tags["title"] == "abc"
    assert tags["comment"] == "line 1\nline 2"
    assert len(tags["artist"]) == 1000


def test_only_descriptive_tags_survive() -> None:
    raw = {"major_brand": "isom", "encoder": "Lavf", "TITLE": "T", "Artist": "A",
           "compatible_brands": "x", "year": "1999", "comment": " c ", "creation_time": "z"}
    assert normalize_tags(raw) == {"title": "T", "artist": "A", "date": "1999", "comment": "c"}


def test_deployed_stage_refuses_placeholder_passwords() -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(stage="prod", amqp_url="amqps://guest:guest@mq:5671/")
    Settings(stage="prod", amqp_url="amqps://vmp3:Zr7-long-secret@mq:5671/")
    Settings(stage="local", amqp_url="amqp://guest:guest@127.0.0.1:5672/")


def test_presigned_expiry_cannot_exceed_fifteen_minutes() -> None:
    with pytest.raises(ValidationError):
        Settings(upload_url_expiry_s=901)


def test_error_tree_has_one_root_and_stable_codes() -> None:
    assert issubclass(MediaError, Vmp3Error)
    error = NotFound("no job x")
    assert error.as_dict() == {"code": "not_found", "message": "no job x"}
    assert error.http_status == 404


def test_topology_is_quorum_with_delivery_limit_and_dead_letters() -> None:
    topology = QueueTopology()
    args = topology.queue_arguments()
    assert args["x-queue-type"] == "quorum"
    assert args["x-delivery-limit"] == topology.delivery_limit
    assert args["x-dead-letter-exchange"] == topology.dead_letter_exchange
    definitions = topology.as_definitions()
    assert {q["name"] for q in definitions["queues"]} == {topology.queue,
                                                          topology.dead_letter_queue}
