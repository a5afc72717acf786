"""Which demuxers vmp3 lets FFmpeg use, and how to read the ones it refuses.

FFmpeg guesses a file's format from its bytes. Some "formats" are really instructions
to open other files or URLs (hls, concat, image sequences, playlists): a hostile upload
would use them to read the server's files or reach its network. Only containers that
carry their own media are allowed; both ffprobe and ffmpeg get the same list.
"""

from __future__ import annotations

ALLOWED_DEMUXERS: tuple[str, ...] = (
    "mov,mp4,m4a,3gp,3g2,mj2",
    "matroska,webm",
    "avi",
    "flv",
    "live_flv",
    "mpegts",
    "mpeg",
    "mpegvideo",
    "asf",
    "ogg",
    "mp3",
    "wav",
    "w64",
    "aiff",
    "aac",
    "ac3",
    "eac3",
    "flac",
    "amr",
    "amrnb",
    "amrwb",
    "caf",
    "dv",
    "mxf",
    "rm",
    "wv",
    "ape",
    "tta",
    "dts",
    "truehd",
    "mpc",
    "mpc8",
    "au",
    "voc",
    "nut",
    "mlp",
)
ALLOWED_DEMUXER_LIST = ",".join(ALLOWED_DEMUXERS)
ALLOWED_PROTOCOLS = "file"

# FFmpeg's still-image demuxers: an image is not media we can take audio from.
IMAGE_DEMUXER_SUFFIX = "_pipe"
IMAGE_DEMUXERS = frozenset({"image2", "gif", "apng", "webp", "ico", "svg"})


# Text formats that only point at other media. Newer FFmpeg no longer recognises some
# of them under a video file name; they are refused by content before FFmpeg sees them.
_REFERENCE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"#EXTM3U", "hls"),
    (b"ffconcat version", "concat"),
    (b"[playlist]", "pls playlist"),
    (b"<?xml", "xml (DASH or playlist)"),
    (b"<MPD", "dash"),
    (b"<smil", "smil playlist"),
)
SNIFF_BYTES = 64


def reference_format(head: bytes) -> str | None:
    """The name of the playlist-like format ``head`` starts with, if any."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    for signature, name in _REFERENCE_SIGNATURES:
        if stripped[: len(signature)].lower() == signature.lower():
            return name
    return None


def is_image_demuxer(name: str) -> bool:
    return name in IMAGE_DEMUXERS or name.endswith(IMAGE_DEMUXER_SUFFIX)


def hardening_input_args() -> list[str]:
    """Input options that confine FFmpeg to the local file it was given."""
    return ["-protocol_whitelist", ALLOWED_PROTOCOLS, "-format_whitelist", ALLOWED_DEMUXER_LIST]
