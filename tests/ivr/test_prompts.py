"""The prompt catalogue, the espeak-ng build (real espeak-ng and sox), the start-up check and the CLI."""

from __future__ import annotations

import json
import logging
import wave
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_desk.cli import app
from ivr.prompts import build_prompts, load_catalogue, missing_prompts, report_missing_prompts
from ivr.settings import IvrSettings
from ticketing.vocabulary import TicketState


def test_catalogue_has_a_prompt_for_every_state_and_a_text_for_each() -> None:
    catalogue = load_catalogue()
    for state in TicketState:
        assert f"state-{state.value}" in catalogue.texts
    assert catalogue.name("greeting") == "hotline/greeting"
    assert "全天二十四小时" in catalogue.text("greeting", hours="全天二十四小时")


def test_a_custom_catalogue_replaces_the_built_in_one(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[prompts]\ngreeting = "你好"\n', "utf-8")
    assert load_catalogue(path, "zh12345").ids == ["greeting"]
    path.write_text('[prompts]\ngreeting = ""\n', "utf-8")
    with pytest.raises(ValueError):
        load_catalogue(path)


def _wav(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path)) as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes() / w.getframerate()


def test_build_renders_8khz_mono_16bit_and_respects_studio_recordings(tmp_path: Path) -> None:
    catalogue = load_catalogue()
    results = build_prompts(catalogue, tmp_path, only=["greeting", "month"], values={"hours": "全天二十四小时"})
    assert [r.action for r in results] == ["built", "built"]
    rate, channels, width, seconds = _wav(tmp_path / "hotline" / "greeting.wav")
    assert (rate, channels, width) == (8000, 1, 2) and seconds > 3
    assert _wav(tmp_path / "hotline" / "month.wav")[3] > 0.1

    again = build_prompts(catalogue, tmp_path, only=["greeting", "month"], values={"hours": "全天二十四小时"})
    assert [r.action for r in again] == ["unchanged", "unchanged"]

    studio = tmp_path / "hotline" / "month.wav"
    studio.write_bytes(b"RIFF-studio-recording")
    changed = build_prompts(catalogue, tmp_path, only=["greeting", "month"], values={"hours": "工作日八点到十八点"})
    assert [r.action for r in changed] == ["built", "kept"]  # new text re-rendered; studio file untouched
    assert studio.read_bytes() == b"RIFF-studio-recording"
    forced = build_prompts(catalogue, tmp_path, only=["month"], force=True)
    assert forced[0].action == "built" and _wav(studio)[0] == 8000


def test_the_pinyin_voice_reads_mandarin_not_english_tone_digits(tmp_path: Path) -> None:
    catalogue = load_catalogue()
    build_prompts(catalogue, tmp_path, only=["day"], voice="cmn-latn-pinyin")
    pinyin = _wav(tmp_path / "hotline" / "day.wav")[3]
    build_prompts(catalogue, tmp_path / "cmn", only=["day"], voice="cmn")
    english_digits = _wav(tmp_path / "cmn" / "hotline" / "day.wav")[3]
    assert pinyin < english_digits  # "ri4" versus "r i four"-style reading


def test_missing_prompts_are_reported_at_start_up(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    catalogue = load_catalogue()
    (tmp_path / "hotline").mkdir()
    (tmp_path / "hotline" / "greeting.wav").write_bytes(b"x")
    (tmp_path / "zh" / "hotline").mkdir(parents=True)
    (tmp_path / "zh" / "hotline" / "menu.gsm").write_bytes(b"x")
    with caplog.at_level(logging.WARNING, logger="ivr.prompts"):
        missing = report_missing_prompts(catalogue, tmp_path)
    assert "greeting" not in missing and "menu" not in missing and "goodbye" in missing
    assert len(missing) == len(catalogue.ids) - 2
    assert "hotline prompts build" in caplog.text
    assert missing_prompts(catalogue, tmp_path / "nowhere") == catalogue.ids


def test_service_reports_missing_prompts_when_it_starts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    from ivr.service import IvrService
    from tests.ivr.conftest import LOCAL, MemoryBackend

    settings = IvrSettings.model_validate({"port": 0, "prompts": {"sounds_dir": str(tmp_path)}})

    async def run() -> list[str]:
        service = IvrService(settings, MemoryBackend(), tz=LOCAL)
        await service.start()
        await service.stop()
        return service.missing_prompts

    with caplog.at_level(logging.WARNING, logger="ivr.prompts"):
        assert len(asyncio.run(run())) == len(load_catalogue().ids)
    assert "IVR prompts have no sound file" in caplog.text


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("HOTLINE_CONFIG", str(tmp_path / "absent.toml"))
    return CliRunner()


def test_cli_build_check_and_list(cli: CliRunner, tmp_path: Path) -> None:
    sounds = tmp_path / "sounds"
    result = cli.invoke(app, ["prompts", "check", "--sounds-dir", str(sounds)])
    assert result.exit_code == 1 and "missing" in result.output
    result = cli.invoke(app, ["prompts", "build", "--sounds-dir", str(sounds), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {p["action"] for p in report["prompts"]} == {"built"} and len(report["prompts"]) == len(load_catalogue().ids)
    assert _wav(sounds / "hotline" / "menu.wav")[:3] == (8000, 1, 2)
    assert len(report["digits"]) == len(load_catalogue().digits) >= 20  # Mandarin digits/* for SAY DIGITS
    assert _wav(sounds / "zh" / "digits" / "7.wav")[:3] == (8000, 1, 2)
    assert (sounds / "zh" / "digits" / "wan.wav").is_file()
    result = cli.invoke(app, ["prompts", "check", "--sounds-dir", str(sounds), "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["missing"] == []
    result = cli.invoke(app, ["prompts", "build", "--sounds-dir", str(sounds), "--only", "nope"])
    assert result.exit_code == 2
    result = cli.invoke(app, ["prompts", "list", "--json"])
    assert {"id": "day", "file": "hotline/day", "text": "日"} in json.loads(result.output)
