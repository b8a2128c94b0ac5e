"""Audio normalisation and judging, on real files in every accepted format and every bad one."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from asr.audio import AudioSegment, audioop, judge, load_audio, parse_wav_header
from asr.errors import AudioError

RATE = 16000


def _rms_difference(a: bytes, b: bytes) -> int:
    return int(audioop.rms(audioop.add(a, audioop.mul(b, 2, -1), 2), 2))


def _pydub(path: Path) -> AudioSegment:
    """pydub's own decoding, for comparison (it leaves files open when given a path)."""
    with path.open("rb") as handle:
        return AudioSegment.from_file(handle, format="wav" if path.suffix == ".wav" else None)


@pytest.mark.parametrize("name, codec, rate", [
    ("speech.wav", "pcm_s16le", 22050),
    ("slin8k.wav", "pcm_s16le", 8000),
    ("ulaw8k.wav", "mulaw", 8000),
    ("alaw8k.wav", "alaw", 8000),
    ("speech.ulaw", "mulaw", 8000),
    ("speech.alaw", "alaw", 8000),
    ("speech.sln", "s16le", 8000),
    ("stereo.mp3", "mp3", 44100),
    ("stereo.m4a", "aac", 44100),
])
def test_every_accepted_format_becomes_mono_16bit_at_the_model_rate(
        audio_dir: Path, name: str, codec: str, rate: int) -> None:
    audio = load_audio(audio_dir / name, sample_rate=RATE, max_duration_s=600)
    assert audio.sample_rate == RATE
    assert audio.source.codec == codec
    assert audio.source.sample_rate == rate
    assert audio.verdict.speech, audio.verdict
    assert audio.duration_s == pytest.approx(3.6, abs=0.25)
    assert len(audio.pcm) == pytest.approx(audio.duration_s * RATE * 2, abs=4)
    if name.startswith("stereo"):
        assert audio.source.channels == 2


def test_mulaw_wav_is_decoded_to_16_bit_not_8_bit(audio_dir: Path) -> None:
    """pydub's own path turns µ-law into 8-bit PCM; ours keeps G.711's 14-bit resolution."""
    ours = load_audio(audio_dir / "ulaw8k.wav", sample_rate=8000, max_duration_s=600).pcm
    reference = _pydub(audio_dir / "slin8k.wav").raw_data
    lossy = _pydub(audio_dir / "ulaw8k.wav").set_sample_width(2).raw_data
    assert len(ours) == len(reference)
    ours_error = _rms_difference(ours, reference)
    lossy_error = _rms_difference(lossy[:len(reference)], reference)
    assert ours_error * 3 < lossy_error, (ours_error, lossy_error)
    # Low-level samples keep their fine steps: 8-bit PCM has only multiples of 256.
    samples = memoryview(ours).cast("h")
    assert any(s % 256 for s in samples)


def test_raw_mulaw_and_the_mulaw_wav_decode_to_the_same_samples(audio_dir: Path) -> None:
    raw = load_audio(audio_dir / "speech.ulaw", sample_rate=8000, max_duration_s=600).pcm
    wav = load_audio(audio_dir / "ulaw8k.wav", sample_rate=8000, max_duration_s=600).pcm
    assert raw == wav


@pytest.mark.parametrize("name, reason", [
    ("empty.wav", "empty"),
    ("truncated.wav", "truncated"),
    ("random.bin", "undecodable"),
    ("random.wav", "undecodable"),
    ("random.mp3", "undecodable"),
    ("no-such-file.wav", "missing"),
])
def test_unusable_files_get_a_clear_error(audio_dir: Path, name: str, reason: str) -> None:
    with pytest.raises(AudioError) as caught:
        load_audio(audio_dir / name, sample_rate=RATE, max_duration_s=600)
    assert caught.value.reason == reason
    assert name in str(caught.value) or reason == "truncated"


def test_a_three_hour_file_is_refused_before_it_is_decoded(audio_dir: Path) -> None:
    began = time.perf_counter()
    with pytest.raises(AudioError) as caught:
        load_audio(audio_dir / "three_hours.wav", sample_rate=RATE, max_duration_s=600)
    assert caught.value.reason == "too_long"
    assert "10800 s" in str(caught.value) and "asr.max_duration_s" in str(caught.value)
    assert time.perf_counter() - began < 1.0  # refused from the header, not after decoding


@pytest.mark.parametrize("name", ["slin8k.wav", "speech.ulaw", "stereo.mp3"])
def test_max_duration_is_configurable_for_every_container(audio_dir: Path, name: str) -> None:
    with pytest.raises(AudioError, match="too_long"):
        load_audio(audio_dir / name, sample_rate=RATE, max_duration_s=2.0)
    assert load_audio(audio_dir / name, sample_rate=RATE, max_duration_s=5.0).verdict.speech


@pytest.mark.parametrize("name, reason", [
    ("silence.wav", "silence"),
    ("blip.wav", "too_short"),
    ("noise.ulaw", "noise"),
])
def test_audio_without_speech_is_judged_before_recognition(
        audio_dir: Path, name: str, reason: str) -> None:
    audio = load_audio(audio_dir / name, sample_rate=RATE, max_duration_s=600)
    assert not audio.verdict.speech
    assert audio.verdict.reason == reason


def test_silence_threshold_and_minimum_speech_are_settings(audio_dir: Path) -> None:
    quiet = _pydub(audio_dir / "slin8k.wav").apply_gain(-40)
    verdict = judge(quiet.raw_data, 8000, silence_dbfs=-45)
    assert not verdict.speech and verdict.reason == "silence"
    assert judge(quiet.raw_data, 8000, silence_dbfs=-75).speech
    assert not judge(quiet.raw_data, 8000, silence_dbfs=-75, min_speech_s=10).speech


def test_wav_header_with_streaming_sizes_uses_what_is_on_disk(tmp_path: Path,
                                                              audio_dir: Path) -> None:
    """Asterisk writes 0xFFFFFFFF sizes while recording; a crash leaves them so."""
    data = (audio_dir / "slin8k.wav").read_bytes()
    header = parse_wav_header(data, len(data))
    broken = bytearray(data)
    broken[header.data_offset - 4:header.data_offset] = b"\xff\xff\xff\xff"
    path = tmp_path / "streaming.wav"
    path.write_bytes(bytes(broken))
    audio = load_audio(path, sample_rate=8000, max_duration_s=600)
    assert audio.duration_s == pytest.approx(header.data_size / 16000, abs=0.01)


def test_a_wav_cut_short_keeps_the_audio_that_arrived(tmp_path: Path, audio_dir: Path) -> None:
    data = (audio_dir / "slin8k.wav").read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: len(data) // 2 + 1])  # odd length, half the samples
    audio = load_audio(path, sample_rate=8000, max_duration_s=600)
    assert audio.duration_s == pytest.approx(1.8, abs=0.1)


def test_without_ffmpeg_compressed_audio_is_refused_saying_what_is_missing(
        audio_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there: no ffmpeg, no ffprobe
    with pytest.raises(AudioError) as err:
        load_audio(audio_dir / "stereo.mp3", sample_rate=RATE, max_duration_s=600)
    assert err.value.reason == "no_ffmpeg"
    assert "ffmpeg and ffprobe not found" in err.value.detail and "apt install ffmpeg" in err.value.detail
    # What needs no ffmpeg still works.
    for name in ("slin8k.wav", "ulaw8k.wav", "speech.ulaw"):
        assert load_audio(audio_dir / name, sample_rate=RATE, max_duration_s=600).duration_s > 1
