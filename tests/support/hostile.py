"""Hostile inputs that try to make FFmpeg read other files or reach the network.

Each names a canary file outside the job dir and a URL on a loopback listener the test
runs; a safe converter refuses them all and neither the canary nor the listener is touched.
"""

from __future__ import annotations

import http.server
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Listener:
    url: str
    hits: list[str] = field(default_factory=list)


@contextmanager
def loopback_listener() -> Iterator[Listener]:
    """An HTTP server on 127.0.0.1 that records every request it gets."""
    listener = Listener(url="")

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            listener.hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"#EXTM3U\n")

        def log_message(self, *_args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    listener.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        server.shutdown()


def hls(canary: str, url: str) -> bytes:
    return (f"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:1\n"
            f"#EXTINF:1.0,\nfile:{canary}\n#EXTINF:1.0,\n{url}/segment.ts\n"
            f"#EXT-X-ENDLIST\n").encode()


def hls_with_protocols(canary: str, url: str) -> bytes:
    return (f"#EXTM3U\n#EXTINF:1.0,\nsubfile,,start,0,end,100,,:{canary}\n"
            f"#EXTINF:1.0,\ndata:text/plain;base64,SGVsbG8=\n#EXTINF:1.0,\n"
            f"concat:{canary}|{url}/c\n#EXT-X-ENDLIST\n").encode()


def ffconcat(canary: str, url: str) -> bytes:
    return f"ffconcat version 1.0\nfile '{canary}'\nfile '{url}/x.mp4'\n".encode()


def ffconcat_image_sequence(canary: str, _url: str) -> bytes:
    return f"ffconcat version 1.0\nfile '{canary}%03d.png'\n".encode()


def bom_hls(canary: str, url: str) -> bytes:
    return b"\xef\xbb\xbf  \n" + hls(canary, url)


def _chunk(fourcc: bytes, data: bytes) -> bytes:
    pad = b"\x00" if len(data) % 2 else b""
    return fourcc + struct.pack("<I", len(data)) + data + pad


def _list(kind: bytes, *chunks: bytes) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


def avi_gab2_playlist(canary: str, url: str) -> bytes:
    """An AVI whose subtitle stream carries a GAB2 packet holding an HLS playlist (2017)."""
    playlist = hls(canary, url)
    name = "x".encode("utf-16-le") + b"\x00\x00"
    gab2 = (b"GAB2\x00" + struct.pack("<H", 2) + struct.pack("<I", len(name)) + name
            + struct.pack("<H", 4) + struct.pack("<I", len(playlist)) + playlist)
    avih = struct.pack("<14I", 40000, 0, 0, 0x10, 1, 0, 1, 0, 320, 240, 0, 0, 0, 0)
    strh = b"txts" + b"\x00" * 4 + struct.pack("<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1, 25, 0, 1,
                                                len(gab2), 0, 0, 0, 0, 0, 0)
    header = _list(b"hdrl", _chunk(b"avih", avih),
                   _list(b"strl", _chunk(b"strh", strh), _chunk(b"strf", b"\x00" * 4)))
    movi = _list(b"movi", _chunk(b"00tx", gab2))
    body = b"AVI " + header + movi
    return b"RIFF" + struct.pack("<I", len(body)) + body


HOSTILE_INPUTS = {
    "hls-playlist": hls,
    "hls-subfile-data-concat": hls_with_protocols,
    "hls-after-bom": bom_hls,
    "ffconcat-list": ffconcat,
    "ffconcat-image-sequence": ffconcat_image_sequence,
    "avi-gab2-playlist": avi_gab2_playlist,
}
