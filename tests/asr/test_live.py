"""The async live-chunk API with real Vosk: 20 ms frames from the event loop, partials back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from asr.audio import load_audio
from asr.live import LiveStream

pytestmark = [pytest.mark.anyio, pytest.mark.vosk]


async def test_live_frames_give_partials_and_one_segment_per_sentence(
        vosk_model: Any, audio_dir: Path) -> None:
    pcm = load_audio(audio_dir / "three_sentences.wav", sample_rate=8000, max_duration_s=60).pcm
    frame = 8000 * 2 * 20 // 1000  # 20 ms at 8 kHz, as RTP carries it
    partials, finals = 0, []
    async with LiveStream(vosk_model, 8000) as stream:
        for start in range(0, len(pcm), frame):
            event = await stream.feed(pcm[start:start + frame])
            partials += bool(event.partial)
            if event.final is not None:
                finals.append(event.final)
        transcript = await stream.finish()
    assert partials > 10
    assert len(transcript.segments) == 3 and finals == list(transcript.segments[:len(finals)])
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts) and transcript.duration_s == pytest.approx(len(pcm) / 16000)


async def test_a_closed_stream_refuses_audio(vosk_model: Any) -> None:
    stream = await LiveStream(vosk_model, 16000).open()
    await stream.close()
    with pytest.raises(RuntimeError, match="not open"):
        await stream.feed(b"\0\0" * 320)
