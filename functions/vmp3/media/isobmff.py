"""Just enough ISO BMFF (MP4/MOV/3GP) box walking to tell a cut-off file from junk."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

_HEADER = struct.Struct(">I4s")
_TOP_LEVEL_TYPES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid",
                              b"moof", b"mfra", b"styp", b"sidx", b"meta", b"pdin"})


def _boxes(handle: BinaryIO, size: int) -> list[tuple[bytes, int, int]]:
    """(type, offset, declared size) of each top-level box; stops at the first non-box."""
    boxes: list[tuple[bytes, int, int]] = []
    offset = 0
    while offset + _HEADER.size <= size:
        handle.seek(offset)
        box_size, box_type = _HEADER.unpack(handle.read(_HEADER.size))
        if box_type not in _TOP_LEVEL_TYPES:
            break
        if box_size == 1:  # a 64-bit size follows the header
            box_size = struct.unpack(">Q", handle.read(8))[0]
        if box_size == 0:  # "runs to the end of the file"
            box_size = size - offset
        boxes.append((box_type, offset, box_size))
        if box_size < _HEADER.size:
            break
        offset += box_size
    return boxes


def is_cut_short(path: Path) -> bool:
    """True for an MP4 whose media data is there but whose end (and index) is missing.

    That is a file cut off in transfer (a box runs past the end of the file), or a
    recording that stopped before its moov index was written (media data, no moov).
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        boxes = _boxes(handle, size)
    if not boxes or boxes[0][0] != b"ftyp":
        return False
    if any(offset + box_size > size for _type, offset, box_size in boxes):
        return True
    has_index = any(box_type in (b"moov", b"moof") for box_type, _o, _s in boxes)
    has_media = any(box_type == b"mdat" and box_size > _HEADER.size
                    for box_type, _o, box_size in boxes)
    return has_media and not has_index
