"""Just enough ISO BMFF (MP4/MOV/3GP) box walking to tell a cut-off upload from junk."""

from __future__ import annotations

import struct
from pathlib import Path

_HEADER = struct.Struct(">I4s")
_TOP_LEVEL_TYPES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid",
                              b"moof", b"mfra", b"styp", b"sidx", b"meta", b"pdin"})


def is_cut_short(path: Path) -> bool:
    """True when the file starts as an MP4 and one of its boxes runs past the end of the file."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        offset = 0
        while offset + _HEADER.size <= size:
            handle.seek(offset)
            box_size, box_type = _HEADER.unpack(handle.read(_HEADER.size))
            if box_type not in _TOP_LEVEL_TYPES or (offset == 0 and box_type != b"ftyp"):
                return False
            if box_size == 1:  # 64-bit size follows the header
                box_size = struct.unpack(">Q", handle.read(8))[0]
            if box_size == 0:  # "to end of file": nothing can be missing
                return False
            if offset + box_size > size:
                return True
            offset += box_size
    return False
