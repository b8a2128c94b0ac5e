"""Audio normalisation: any recording into mono 16-bit PCM at the model's rate.

WAV files are read by their RIFF header (fast, no subprocess). G.711 (µ-law, A-law) is decoded
with `audioop`, because pydub decodes µ-law WAV to 8-bit linear PCM and loses quality. Headerless
Asterisk recordings are recognised by their extension. Everything else (MP3, M4A, OGG...) goes
through pydub and ffmpeg, after an `ffprobe` that checks the duration before anything is decoded.
"""

from __future__ import annotations

import math
import shutil
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asr.errors import AudioError

with warnings.catch_warnings():
    # pydub imports audioop, deprecated since Python 3.11; both are used until pydub moves on.
    warnings.simplefilter("ignore", DeprecationWarning)
    # Without ffmpeg pydub warns at import; `ffmpeg_missing()` says so instead, where ffmpeg is needed.
    warnings.filterwarnings("ignore", "Couldn't find ffmpeg", RuntimeWarning)
    import audioop

    from pydub import AudioSegment
    from pydub.utils import mediainfo_json

WAVE_PCM, WAVE_ALAW, WAVE_MULAW, WAVE_EXTENSIBLE = 0x0001, 0x0006, 0x0007, 0xFFFE

# Asterisk's headerless formats, by file extension: (codec, sample rate). `.pcm` is µ-law there.
RAW_FORMATS: dict[str, tuple[str, int]] = {
    ".ulaw": ("mulaw", 8000), ".ul": ("mulaw", 8000), ".mulaw": ("mulaw", 8000),
    ".pcm": ("mulaw", 8000), ".alaw": ("alaw", 8000), ".al": ("alaw", 8000),
    ".sln": ("s16le", 8000), ".raw": ("s16le", 8000), ".sln16": ("s16le", 16000),
}
_BYTES_PER_SAMPLE = {"mulaw": 1, "alaw": 1, "s16le": 2}
_FRAME_S = 0.03


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What the input was, before normalisation."""

    container: str  # wav, raw, or ffprobe's format name
    codec: str
    sample_rate: int
    channels: int
    duration_s: float


@dataclass(frozen=True, slots=True)
class AudioVerdict:
    """Whether audio holds anything worth recognising, and why not."""

    speech: bool
    reason: str | None  # silence, too_short, noise
    voiced_s: float
    peak_dbfs: float
    mean_dbfs: float


@dataclass(frozen=True, slots=True)
class PcmAudio:
    """Mono signed 16-bit little-endian PCM at `sample_rate`, plus the verdict on its content."""

    pcm: bytes
    sample_rate: int
    source: AudioInfo
    verdict: AudioVerdict

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


def load_audio(path: str | Path, *, sample_rate: int, max_duration_s: float,
               silence_dbfs: float = -45.0, min_speech_s: float = 0.3) -> PcmAudio:
    """Read, judge and normalise a recording. Raises `AudioError` for what cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise AudioError("missing", f"no such file: {path}")
    size = path.stat().st_size
    if size == 0:
        raise AudioError("empty", f"{path.name} is a 0-byte file")
    raw = RAW_FORMATS.get(path.suffix.lower())
    if raw is not None:
        segment, info = _read_raw(path, size, raw[0], raw[1], max_duration_s)
    else:
        with path.open("rb") as handle:
            head = handle.read(4096)
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            segment, info = _read_wav(path, size, max_duration_s)
        else:
            segment, info = _read_with_ffmpeg(path, max_duration_s)
    return normalise(segment, info, sample_rate=sample_rate, silence_dbfs=silence_dbfs,
                     min_speech_s=min_speech_s)


def normalise(segment: AudioSegment, info: AudioInfo, *, sample_rate: int,
              silence_dbfs: float = -45.0, min_speech_s: float = 0.3) -> PcmAudio:
    """Mono, 16-bit, judged at the source rate, then resampled to `sample_rate`."""
    if segment.channels != 1:
        segment = segment.set_channels(1)
    if segment.sample_width != 2:
        segment = segment.set_sample_width(2)
    verdict = judge(segment.raw_data, segment.frame_rate, silence_dbfs=silence_dbfs,
                    min_speech_s=min_speech_s)
    if segment.frame_rate != sample_rate:
        segment = segment.set_frame_rate(sample_rate)
    return PcmAudio(segment.raw_data, sample_rate, info, verdict)


def judge(pcm: bytes, sample_rate: int, *, silence_dbfs: float = -45.0,
          min_speech_s: float = 0.3) -> AudioVerdict:
    """Level and zero-crossing checks on 16-bit mono PCM, frame by frame (30 ms).

    Silence: too few frames above `silence_dbfs`. Noise: loud throughout with a zero-crossing
    rate near 0.5, as random bytes or line hiss decode to; voiced speech crosses far less often.
    """
    frame_bytes = max(2, int(sample_rate * _FRAME_S) * 2)
    voiced = 0
    zcrs: list[float] = []
    total_frames = 0
    for start in range(0, len(pcm) - frame_bytes + 1, frame_bytes):
        frame = pcm[start:start + frame_bytes]
        total_frames += 1
        if _dbfs(audioop.rms(frame, 2)) > silence_dbfs:
            voiced += 1
            zcrs.append(audioop.cross(frame, 2) / (frame_bytes // 2))
    peak = _dbfs(audioop.max(pcm, 2)) if pcm else -math.inf
    mean = _dbfs(audioop.rms(pcm, 2)) if pcm else -math.inf
    voiced_s = voiced * _FRAME_S
    duration = len(pcm) / 2 / sample_rate
    if duration < min_speech_s:
        return AudioVerdict(False, "too_short", voiced_s, peak, mean)
    if voiced_s < min_speech_s:
        return AudioVerdict(False, "silence", voiced_s, peak, mean)
    zcrs.sort()
    if voiced >= 0.9 * total_frames and zcrs[len(zcrs) // 2] > 0.35:
        return AudioVerdict(False, "noise", voiced_s, peak, mean)
    return AudioVerdict(True, None, voiced_s, peak, mean)


def _dbfs(level: int) -> float:
    return 20 * math.log10(level / 32768) if level > 0 else -math.inf


def _check_duration(path: Path, duration_s: float, max_duration_s: float) -> None:
    if duration_s > max_duration_s:
        raise AudioError("too_long", f"{path.name} lasts {duration_s:.0f} s; the limit is "
                                     f"{max_duration_s:.0f} s (asr.max_duration_s)")


def _decode_g711(data: bytes, codec: str) -> bytes:
    return audioop.ulaw2lin(data, 2) if codec == "mulaw" else audioop.alaw2lin(data, 2)


def _read_raw(path: Path, size: int, codec: str, rate: int,
              max_duration_s: float) -> tuple[AudioSegment, AudioInfo]:
    width = _BYTES_PER_SAMPLE[codec]
    duration = size / width / rate
    _check_duration(path, duration, max_duration_s)
    data = path.read_bytes()
    data = data[: len(data) - len(data) % width]
    pcm = data if codec == "s16le" else _decode_g711(data, codec)
    info = AudioInfo("raw", codec, rate, 1, duration)
    return AudioSegment(data=pcm, sample_width=2, frame_rate=rate, channels=1), info


@dataclass(frozen=True, slots=True)
class _WavHeader:
    format_tag: int
    channels: int
    sample_rate: int
    bits: int
    data_offset: int
    data_size: int


def parse_wav_header(head: bytes, file_size: int) -> _WavHeader:
    """Walk the RIFF chunks to `fmt ` and `data`. Raises `AudioError("truncated")`."""
    pos, fmt = 12, None
    while pos + 8 <= len(head):
        chunk_id, chunk_size = head[pos:pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
        body = pos + 8
        if chunk_id == b"fmt ":
            if body + 16 > len(head):
                break
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", head, body)
            if tag == WAVE_EXTENSIBLE and chunk_size >= 40 and body + 26 <= len(head):
                tag = struct.unpack_from("<H", head, body + 24)[0]
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                break
            available = max(0, file_size - body)
            size = available if chunk_size in (0, 0xFFFFFFFF) else min(chunk_size, available)
            return _WavHeader(*fmt, data_offset=body, data_size=size)
        pos = body + chunk_size + (chunk_size & 1)
    raise AudioError("truncated", "the WAV header is incomplete (no fmt/data chunk)")


def _read_wav(path: Path, size: int, max_duration_s: float) -> tuple[AudioSegment, AudioInfo]:
    with path.open("rb") as handle:
        head = handle.read(65536)
    header = parse_wav_header(head, size)
    if header.channels < 1 or header.sample_rate < 1000 or header.bits not in (8, 16, 24, 32):
        raise AudioError("bad_format", f"{path.name}: {header.channels} channels, "
                                       f"{header.sample_rate} Hz, {header.bits} bits")
    width = header.bits // 8
    duration = header.data_size / (header.sample_rate * header.channels * width)
    _check_duration(path, duration, max_duration_s)
    codec = {WAVE_PCM: f"pcm_s{header.bits}le", WAVE_MULAW: "mulaw", WAVE_ALAW: "alaw"}.get(
        header.format_tag)
    if codec is None or (header.format_tag == WAVE_PCM and header.bits == 8):
        return _read_with_ffmpeg(path, max_duration_s)
    info = AudioInfo("wav", codec, header.sample_rate, header.channels, duration)
    with path.open("rb") as handle:
        handle.seek(header.data_offset)
        data = handle.read(header.data_size)
    frame = width * header.channels
    data = data[: len(data) - len(data) % frame]
    if header.format_tag in (WAVE_MULAW, WAVE_ALAW):
        data, width = _decode_g711(data, codec), 2
    segment = AudioSegment(data=data, sample_width=width, frame_rate=header.sample_rate,
                           channels=header.channels)
    return segment, info


def ffmpeg_missing() -> str | None:
    """What is missing to read compressed recordings, said for a person; None when nothing is."""
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if not missing:
        return None
    return (f"{' and '.join(missing)} not found on PATH: MP3, M4A, OGG and other compressed recordings "
            "cannot be read (WAV and raw Asterisk recordings can); install ffmpeg (Debian: apt install ffmpeg)")


def _read_with_ffmpeg(path: Path, max_duration_s: float) -> tuple[AudioSegment, AudioInfo]:
    missing = ffmpeg_missing()
    if missing:
        raise AudioError("no_ffmpeg", missing)
    try:
        probe: dict[str, Any] = mediainfo_json(str(path))
        stream = next(s for s in probe.get("streams", []) if s.get("codec_type") == "audio")
    except Exception as exc:  # ffprobe's JSON is absent or has no audio stream
        raise AudioError("undecodable", f"{path.name} is not audio ffmpeg can read") from exc
    duration = float(stream.get("duration") or probe.get("format", {}).get("duration") or 0)
    _check_duration(path, duration, max_duration_s)
    codec = str(stream.get("codec_name", ""))
    try:
        # Forcing the decoder stops pydub guessing an output sample format (8-bit for µ-law).
        with path.open("rb") as handle:  # pydub leaves a file it opened itself unclosed
            segment = AudioSegment.from_file(handle, codec=codec or None)
    except Exception as exc:  # pydub raises IndexError, CouldntDecodeError, OSError...
        raise AudioError("undecodable", f"ffmpeg could not decode {path.name}: "
                                        f"{str(exc).strip().splitlines()[-1:]}") from exc
    if len(segment) / 1000 > max_duration_s:
        _check_duration(path, len(segment) / 1000, max_duration_s)
    if len(segment.raw_data) == 0:
        raise AudioError("empty", f"{path.name} decodes to no samples")
    info = AudioInfo(str(probe.get("format", {}).get("format_name", "?")), codec,
                     int(stream.get("sample_rate") or segment.frame_rate),
                     int(stream.get("channels") or segment.channels), len(segment) / 1000)
    return segment, info
