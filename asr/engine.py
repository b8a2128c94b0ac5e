"""Recognition off the event loop: a pool of worker processes, one model and one warm recognizer each.

Processes, not threads, so that a native crash in Vosk takes one worker down rather than the API,
the AMI reader and the IVR; throughput scales with cores (1.84–1.96× on 2 cores, measured).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from asr.audio import AudioInfo, AudioVerdict, load_audio
from asr.model import check_model_dir, load_model, model_sample_rate
from asr.recognizer import Recognizer, Transcript


class WorkerCrashed(RuntimeError):
    """A worker process died or hung; the job may be retried."""


@dataclass(frozen=True, slots=True)
class RecognitionOptions:
    max_duration_s: float = 600.0
    silence_dbfs: float = -45.0
    min_speech_s: float = 0.3
    chunk_ms: int = 250
    pause_s: float | None = 0.8


@dataclass(frozen=True, slots=True)
class Recognition:
    """Everything one recording produced. `transcript` is None when the audio held no speech."""

    info: AudioInfo
    verdict: AudioVerdict
    transcript: Transcript | None
    decode_s: float
    recognise_s: float
    worker_pid: int
    peak_rss_mb: float


class Engine(Protocol):
    """What the job workers need from recognition. Tests may pass a fake."""

    @property
    def capacity(self) -> int: ...

    async def start(self) -> None: ...

    async def recognise(self, audio_path: str) -> Recognition: ...

    async def close(self) -> None: ...


def recognise_file(recognizer: Recognizer, path: str | Path,
                   options: RecognitionOptions) -> Recognition:
    """Decode, judge and recognise one file with a warm recognizer (raises `AudioError`)."""
    began = time.perf_counter()
    audio = load_audio(path, sample_rate=recognizer.sample_rate,
                       max_duration_s=options.max_duration_s,
                       silence_dbfs=options.silence_dbfs, min_speech_s=options.min_speech_s)
    decoded = time.perf_counter()
    transcript = recognizer.transcribe(audio.pcm) if audio.verdict.speech else None
    done = time.perf_counter()
    return Recognition(audio.source, audio.verdict, transcript, decoded - began, done - decoded,
                       os.getpid(), peak_rss_mb())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- inside a worker process -------------------------------------------------------------------

_worker_recognizer: Recognizer | None = None


def make_recognizer(model: Any, model_dir: Path, options: RecognitionOptions) -> Recognizer:
    return Recognizer(model, model_sample_rate(model_dir), chunk_ms=options.chunk_ms,
                      pause_s=options.pause_s, silence_dbfs=options.silence_dbfs)


def _init_worker(model_dir: str, options: RecognitionOptions) -> None:
    global _worker_recognizer
    path = Path(model_dir)
    _worker_recognizer = make_recognizer(load_model(path), path, options)


def _recognise_in_worker(path: str, options: RecognitionOptions) -> Recognition:
    if _worker_recognizer is None:
        raise RuntimeError("worker process has no model")
    return recognise_file(_worker_recognizer, path, options)


def _warm_up(delay: float) -> int:
    time.sleep(delay)
    return os.getpid()


# --- in the service process --------------------------------------------------------------------

class ProcessEngine:
    """`workers` processes; each loads the model once at start and keeps one warm recognizer."""

    def __init__(self, model_dir: Path, *, workers: int, options: RecognitionOptions,
                 timeout_s: float = 900.0, jobs_per_process: int | None = None) -> None:
        if workers < 1:
            raise ValueError("ProcessEngine needs at least one worker")
        self.model_dir = model_dir
        self.options = options
        self.timeout_s = timeout_s
        self.jobs_per_process = jobs_per_process
        self._workers = workers
        self._executor: ProcessPoolExecutor | None = None

    @property
    def capacity(self) -> int:
        return self._workers

    async def start(self) -> None:
        """Check the model directory, then spawn every worker and wait until each has loaded it."""
        check_model_dir(self.model_dir)
        self._executor = self._new_executor()
        loop = asyncio.get_running_loop()
        warmups = [loop.run_in_executor(self._executor, _warm_up, 0.2)
                   for _ in range(self._workers)]
        try:
            await asyncio.gather(*warmups)
        except BrokenProcessPool as exc:
            await self.close()
            raise WorkerCrashed(f"ASR workers failed to load the model in {self.model_dir}") from exc

    async def recognise(self, audio_path: str) -> Recognition:
        executor = self._executor
        if executor is None:
            raise RuntimeError("ProcessEngine.start() was not awaited")
        future = asyncio.wrap_future(
            executor.submit(_recognise_in_worker, audio_path, self.options))
        try:
            return await asyncio.wait_for(future, self.timeout_s)
        except BrokenProcessPool as exc:
            self._replace(executor)
            raise WorkerCrashed(f"an ASR worker process died on {audio_path}") from exc
        except TimeoutError as exc:
            self._replace(executor, kill=True)
            raise WorkerCrashed(f"recognition of {audio_path} exceeded {self.timeout_s:.0f} s") from exc

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)

    def worker_pids(self) -> list[int]:
        processes: dict[int, Any] = getattr(self._executor, "_processes", None) or {}
        return sorted(processes)

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(str(self.model_dir), self.options),
            max_tasks_per_child=self.jobs_per_process)

    def _replace(self, broken: ProcessPoolExecutor, *, kill: bool = False) -> None:
        if self._executor is not broken:
            return  # another task already replaced it
        if kill:
            # The executor cannot cancel a running call; a hung worker has to be killed.
            for process in list((getattr(broken, "_processes", None) or {}).values()):
                process.kill()
        broken.shutdown(wait=False, cancel_futures=True)
        self._executor = self._new_executor()


class ThreadEngine:
    """`workers` threads in this process sharing one model, a recognizer per thread.

    About 600 MB less memory than two processes, and Vosk releases the GIL while it decodes, so
    throughput still scales (1.87–2.01× for two threads on 2 cores, measured). A native crash
    takes the whole process down, though: prefer `ProcessEngine` where memory allows.
    """

    def __init__(self, model_dir: Path, *, workers: int, options: RecognitionOptions,
                 timeout_s: float = 900.0) -> None:
        if workers < 1:
            raise ValueError("ThreadEngine needs at least one worker")
        self.model_dir = model_dir
        self.options = options
        self.timeout_s = timeout_s
        self._workers = workers
        self._model: Any = None
        self._local = threading.local()
        self._executor: ThreadPoolExecutor | None = None

    @property
    def capacity(self) -> int:
        return self._workers

    async def start(self) -> None:
        self._model = await asyncio.to_thread(load_model, self.model_dir)
        self._executor = ThreadPoolExecutor(max_workers=self._workers,
                                            thread_name_prefix="asr-recognizer")

    async def recognise(self, audio_path: str) -> Recognition:
        if self._executor is None:
            raise RuntimeError("ThreadEngine.start() was not awaited")
        future = asyncio.get_running_loop().run_in_executor(
            self._executor, self._recognise, audio_path)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout_s)
        except TimeoutError as exc:
            # A thread cannot be killed; its recognizer stays busy until Vosk returns.
            raise WorkerCrashed(f"recognition of {audio_path} exceeded {self.timeout_s:.0f} s") from exc

    def _recognise(self, audio_path: str) -> Recognition:
        recognizer: Recognizer | None = getattr(self._local, "recognizer", None)
        if recognizer is None:
            recognizer = make_recognizer(self._model, self.model_dir, self.options)
            self._local.recognizer = recognizer
        return recognise_file(recognizer, audio_path, self.options)

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
        self._model = None
