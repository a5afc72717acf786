"""Decoding an MP3 while FFmpeg writes it, so validation costs no extra wall time."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from io import BufferedReader, FileIO
from pathlib import Path
from typing import BinaryIO, cast

from vmp3.media.confine import UNCONFINED, Confinement
from vmp3.media.validate import (
    DURATION_TOLERANCE_S,
    MONO_S16_BYTES,
    VALIDATE_TIMEOUT_S,
    id3v2_size,
)

# --- Decoding while FFmpeg writes -------------------------------------------------------------
#
# The full decode in validate.py costs about 0.09 s of CPU per minute of MP3, after the encode. On a
# machine with a spare core it can run while the encoder writes: a thread copies the growing
# file into a FIFO that a second FFmpeg decodes. Only the first MPEG frame (the Xing/Info
# tag, which holds no audio) is rewritten once encoding ends, so the check afterwards
# confirms that every other byte decoded is the stored file's, and compares the samples of
# every audio frame (decoded with gapless trimming off) with the frame count the final tag
# states. Anything short of that proof falls back to the full decode, which has the last word.

_FOLLOW_POLL_S = 0.01
_FOLLOW_CHUNK_BYTES = 1 << 20
_FOLLOW_HEAD_BYTES = 64 * 1024  # kept verbatim: ID3v2 tag and the first frame live here
_FIFO_OPEN_WAIT_S = 30.0
_GROUP_EXIT_WAIT_S = 2.0
_ABORT_GRACE_S = 1.0
# Layer III bitrates (kb/s) by index for MPEG-1 and MPEG-2/2.5; sample rates by version bits.
_L3_KBPS = {True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
            False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


@dataclass(frozen=True, slots=True)
class FirstFrame:
    offset: int
    length: int
    samples_per_frame: int
    stated_frames: int | None  # the Xing/Info tag's audio frame count, when it has one


@dataclass(frozen=True, slots=True)
class FrameHeader:
    sample_rate: int
    length: int
    samples_per_frame: int


def frame_header(data: bytes) -> FrameHeader | None:
    """The MPEG Layer III frame header at the start of ``data``, or None if there is none."""
    if len(data) < 4 or data[0] != 0xFF or data[1] & 0xE0 != 0xE0:
        return None
    version, layer = (data[1] >> 3) & 3, (data[1] >> 1) & 3
    bitrate_index, rate_index, padding = data[2] >> 4, (data[2] >> 2) & 3, (data[2] >> 1) & 1
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    kbps, rate = _L3_KBPS[mpeg1][bitrate_index], _MPEG_RATES[version][rate_index]
    length = (144_000 if mpeg1 else 72_000) * kbps // rate + padding
    return FrameHeader(rate, length, 1152 if mpeg1 else 576)


def first_frame(path: Path) -> FirstFrame | None:
    """The first MPEG Layer III frame after the ID3v2 tag, or None if there is none."""
    with path.open("rb") as handle:
        offset = id3v2_size(handle.read(10))
        handle.seek(offset)
        data = handle.read(4096)
    header = frame_header(data)
    if header is None:
        return None
    return FirstFrame(offset, header.length, header.samples_per_frame,
                      _stated_frames(data[:header.length]))


def sample_rates(path: Path) -> set[int]:
    """Every sample rate the file's chain of frames uses (a proper MP3 has one).

    Walks frame header to frame header; stops where the chain breaks (a trailing tag).
    """
    data = path.read_bytes()
    position = id3v2_size(data[:10])
    rates: set[int] = set()
    while (header := frame_header(data[position:position + 4])) is not None:
        rates.add(header.sample_rate)
        position += header.length
    return rates


def _stated_frames(frame: bytes) -> int | None:
    for tag in (b"Xing", b"Info"):
        at = frame.find(tag)
        if at >= 0 and len(frame) >= at + 12:
            flags = int.from_bytes(frame[at + 4:at + 8], "big")
            return int.from_bytes(frame[at + 8:at + 12], "big") if flags & 1 else None
    return None


@dataclass(frozen=True, slots=True)
class FollowedDecode:
    """What a FollowingDecode saw: the samples decoded and the bytes they came from."""

    samples: int
    size: int
    head: bytes
    tail_digest: bytes

    def proves(self, path: Path, sample_rate: int) -> bool:
        """True when this decode stands for a full decode of ``path`` as it is now."""
        frame = first_frame(path)
        if frame is None or frame.stated_frames is None or sample_rate <= 0:
            return False
        if not self._same_bytes_outside(path, frame.offset, frame.offset + frame.length):
            return False
        decoded_s = self.samples / sample_rate
        stated_s = frame.stated_frames * frame.samples_per_frame / sample_rate
        return decoded_s > 0 and abs(decoded_s - stated_s) <= DURATION_TOLERANCE_S

    def _same_bytes_outside(self, path: Path, start: int, end: int) -> bool:
        if path.stat().st_size != self.size or end > len(self.head):
            return False
        with path.open("rb") as handle:
            head = handle.read(len(self.head))
            if head[:start] != self.head[:start] or head[end:] != self.head[end:]:
                return False
            digest = hashlib.sha256()
            while chunk := handle.read(_FOLLOW_CHUNK_BYTES):
                digest.update(chunk)
        return digest.digest() == self.tail_digest


class FollowingDecode:
    """Decode ``output`` while FFmpeg writes it: ``start()``, run the encoder, ``finish()``.

    The decoder is started here rather than through run_tool so that it can be stopped the
    moment the encoder fails: it runs confined the same way, in its own process group.
    """

    def __init__(self, output: Path, ffmpeg: Path, scratch_dir: Path, timeout_s: float,
                 confinement: Confinement = UNCONFINED) -> None:
        self._output = output
        self._ffmpeg = ffmpeg
        self._scratch = scratch_dir
        self._timeout_s = timeout_s  # the encoder's: the decoder lives as long as it does
        self._confinement = confinement
        self._fifo = scratch_dir / "validate-follow.fifo"
        self._written = threading.Event()  # the encoder has exited: copy to the end, stop
        self._abort = threading.Event()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._decoded_bytes = 0
        self._returncode: int | None = None
        self._fed = 0
        self._fed_all = False
        self._head = bytearray()
        self._digest = hashlib.sha256()
        self._decoder = threading.Thread(target=self._decode, daemon=True)
        self._feeder = threading.Thread(target=self._feed, daemon=True)

    def start(self) -> None:
        self._output.unlink(missing_ok=True)  # the file followed must be this encoder's
        os.mkfifo(self._fifo, 0o600)
        self._decoder.start()
        self._feeder.start()

    def finish(self, written: bool) -> FollowedDecode | None:
        """Wait for the decode of what the encoder wrote; None unless all of it decoded.

        After a good encode the decoder gets VALIDATE_TIMEOUT_S to decode the rest, like
        the full decode it stands in for; after a failed one, the end of its input and a
        moment to exit, then it is killed.
        """
        if not written:
            self._abort.set()
        self._written.set()
        self._feeder.join()
        deadline = time.monotonic() + (VALIDATE_TIMEOUT_S if written else _ABORT_GRACE_S)
        while self._decoder.is_alive():
            self._release_reader()
            self._decoder.join(_FOLLOW_POLL_S * 5)
            if time.monotonic() > deadline:
                self._abort.set()
                self._kill()
        self._fifo.unlink(missing_ok=True)
        self._wait_group_gone()
        if not written or self._abort.is_set() or not self._fed_all or self._returncode != 0:
            return None
        return FollowedDecode(self._decoded_bytes // MONO_S16_BYTES, self._fed,
                              bytes(self._head), self._digest.digest())

    def _release_reader(self) -> None:
        """A decoder still waiting to open the FIFO gets end-of-file from an open and close."""
        with contextlib.suppress(OSError):  # ENXIO: no reader yet, or none any more
            os.close(os.open(self._fifo, os.O_WRONLY | os.O_NONBLOCK))

    def _kill(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._proc.pid, signal.SIGKILL)

    def _wait_group_gone(self) -> None:
        """SIGKILL lands asynchronously: return once no process of the decoder's group is left."""
        if self._proc is None:
            return
        deadline = time.monotonic() + _GROUP_EXIT_WAIT_S
        while time.monotonic() < deadline:
            try:
                os.killpg(self._proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(_FOLLOW_POLL_S)

    def _decode(self) -> None:
        argv = [str(self._ffmpeg), "-nostdin", "-v", "error", "-xerror", "-flags2", "+skip_manual",
                "-f", "mp3", "-i", f"file:{self._fifo}", "-map", "0:a:0", "-ac", "1",
                "-f", "s16le", "-"]
        try:
            with (self._scratch / "validate-follow.stderr").open("wb") as stderr, self._lock:
                if self._abort.is_set():
                    return
                self._proc = subprocess.Popen(
                    self._confinement.wrap(argv, writable=self._scratch),
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
                    start_new_session=True, preexec_fn=self._confinement.preexec())
            self._returncode = self._drain_decoder(self._proc)
        except OSError:  # the full decode afterwards has the last word
            self._returncode = None
        if self._returncode != 0:
            self._abort.set()

    def _drain_decoder(self, proc: subprocess.Popen[bytes]) -> int:
        timer = threading.Timer(self._timeout_s + VALIDATE_TIMEOUT_S, self._kill)
        timer.daemon = True
        timer.start()
        try:
            reader = cast(BufferedReader, proc.stdout)
            while chunk := reader.read1(_FOLLOW_CHUNK_BYTES):
                self._decoded_bytes += len(chunk)
            returncode = proc.wait()
        finally:
            timer.cancel()
        with contextlib.suppress(ProcessLookupError):  # nothing it started may outlive it
            os.killpg(proc.pid, signal.SIGKILL)
        return returncode

    def _feed(self) -> None:
        fd = self._open_fifo()
        if fd is None:
            return
        try:
            with FileIO(fd, "wb") as sink:
                self._fed_all = self._copy_growing(sink)
        except OSError:  # the decoder went away
            self._fed_all = False

    def _open_fifo(self) -> int | None:
        """The FIFO's write end once the decoder has opened it; None if it never does."""
        deadline = time.monotonic() + _FIFO_OPEN_WAIT_S
        while not self._abort.is_set() and time.monotonic() < deadline:
            try:
                fd = os.open(self._fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: the decoder has not opened it yet
                self._abort.wait(_FOLLOW_POLL_S / 2)
                continue
            os.set_blocking(fd, True)
            return fd
        return None

    def _copy_growing(self, sink: FileIO) -> bool:
        """Copy the output as it grows; True once all of it is copied after the encoder ended."""
        source: BinaryIO | None = None
        try:
            while not self._abort.is_set():
                if source is None:
                    if not self._output.exists():
                        if self._written.is_set():
                            return False
                        self._written.wait(_FOLLOW_POLL_S)
                        continue
                    source = self._output.open("rb")
                written = self._written.is_set()  # set before this read: its EOF is the end
                chunk = source.read(_FOLLOW_CHUNK_BYTES)
                if chunk:
                    self._take(chunk)
                    sink.write(chunk)
                    continue
                if written:
                    return True
                self._written.wait(_FOLLOW_POLL_S)
            return False
        finally:
            if source is not None:
                source.close()

    def _take(self, chunk: bytes) -> None:
        self._fed += len(chunk)
        room = _FOLLOW_HEAD_BYTES - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        self._digest.update(chunk)
