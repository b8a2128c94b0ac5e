"""The prompt catalogue, the espeak-ng build (real espeak-ng and sox), the start-up check and the CLI."""

from __future__ import annotations

import json
import logging
import wave
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_desk.cli import app
from ivr.prompts import (
    build_beep,
    build_prompts,
    load_catalogue,
    missing_sounds,
    report_missing_sounds,
    sounds_used,
)
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


def test_missing_sounds_are_reported_at_start_up(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    catalogue = load_catalogue()
    (tmp_path / "hotline").mkdir()
    (tmp_path / "hotline" / "greeting.wav").write_bytes(b"x")
    (tmp_path / "zh" / "hotline").mkdir(parents=True)
    (tmp_path / "zh" / "hotline" / "menu.gsm").write_bytes(b"x")
    with caplog.at_level(logging.WARNING, logger="ivr.prompts"):
        missing = report_missing_sounds(catalogue, tmp_path)
    assert "hotline/greeting" not in missing and "hotline/menu" not in missing
    assert "hotline/goodbye" in missing and "beep" in missing  # RECORD FILE … BEEP plays Asterisk's beep
    assert len(missing) == len(catalogue.ids) - 2 + 1
    assert "hotline prompts build" in caplog.text
    assert missing_sounds(catalogue, tmp_path / "nowhere") == sounds_used(catalogue)


def test_the_digits_are_checked_in_the_language_the_ivr_sets(tmp_path: Path) -> None:
    catalogue = load_catalogue()
    (tmp_path / "en" / "digits").mkdir(parents=True)
    (tmp_path / "en" / "digits" / "7.gsm").write_bytes(b"x")  # Asterisk's core sounds: not Mandarin
    (tmp_path / "en" / "beep.gsm").write_bytes(b"x")
    assert not [name for name in missing_sounds(catalogue, tmp_path) if "digits" in name or name == "beep"]
    missing = missing_sounds(catalogue, tmp_path, "zh")
    assert "zh/digits/7" in missing and "zh/digits/wan" in missing
    assert len([name for name in missing if name.startswith("zh/digits/")]) == len(catalogue.digits)


def test_the_beep_is_built_unless_asterisk_has_one(tmp_path: Path) -> None:
    built = build_beep(tmp_path)
    assert (built.action, built.path) == ("built", tmp_path / "beep.wav")
    rate, channels, width, seconds = _wav(tmp_path / "beep.wav")
    assert (rate, channels, width) == (8000, 1, 2) and 0.2 < seconds < 0.3
    assert build_beep(tmp_path).action == "unchanged"
    core = tmp_path / "core"
    (core / "en").mkdir(parents=True)
    (core / "en" / "beep.gsm").write_bytes(b"x")
    kept = build_beep(core)
    assert kept.action == "kept" and not (core / "beep.wav").exists()


def test_service_reports_missing_sounds_when_it_starts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    from ivr.service import IvrService
    from tests.ivr.conftest import LOCAL, MemoryBackend

    settings = IvrSettings.model_validate({"port": 0, "prompts": {"sounds_dir": str(tmp_path)},
                                           "channel_language": "zh"})

    async def run() -> list[str]:
        service = IvrService(settings, MemoryBackend(), tz=LOCAL)
        await service.start()
        await service.stop()
        return service.missing_sounds

    with caplog.at_level(logging.WARNING, logger="ivr.prompts"):
        catalogue = load_catalogue()
        assert len(asyncio.run(run())) == len(catalogue.ids) + 1 + len(catalogue.digits)
    assert "IVR sounds have no file" in caplog.text and "beep" in caplog.text


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("HOTLINE_CONFIG", str(tmp_path / "absent.toml"))
    return CliRunner()


def test_cli_build_check_and_list(cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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
    assert report["beep"]["action"] == "built" and _wav(sounds / "beep.wav")[:3] == (8000, 1, 2)
    result = cli.invoke(app, ["prompts", "check", "--sounds-dir", str(sounds), "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["missing"] == []
    monkeypatch.setenv("HOTLINE_IVR__CHANNEL_LANGUAGE", "zh")  # the digits count too now
    result = cli.invoke(app, ["prompts", "check", "--sounds-dir", str(sounds), "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["total"] == len(report["prompts"]) + 1 + len(
        report["digits"])
    (sounds / "beep.wav").unlink()
    result = cli.invoke(app, ["prompts", "check", "--sounds-dir", str(sounds)])
    assert result.exit_code == 1 and "missing" in result.output and "beep" in result.output
    result = cli.invoke(app, ["prompts", "build", "--sounds-dir", str(sounds), "--only", "nope"])
    assert result.exit_code == 2
    result = cli.invoke(app, ["prompts", "list", "--json"])
    assert {"id": "day", "file": "hotline/day", "text": "日"} in json.loads(result.output)
