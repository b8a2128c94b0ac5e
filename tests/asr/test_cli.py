"""`hotline asr extract | check-model | transcribe`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_desk.cli import app


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("HOTLINE_CONFIG", str(tmp_path / "absent.toml"))
    return CliRunner()


def test_extract_prints_the_draft_fields(cli: CliRunner) -> None:
    result = cli.invoke(app, ["asr", "extract", "--caller", "051683456789",
                              "鼓楼区中山路八十八号的路灯坏了，电话幺三八幺二三四五六七八"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "320302 鼓楼区" in out and "caller_area" in out
    assert "中山路88号" in out and "13812345678" in out and "urban_management" in out


def test_extract_json_prints_one_object_per_text(cli: CliRunner) -> None:
    result = cli.invoke(app, ["asr", "extract", "--json", "鼓楼区停水了", "江宁区社保怎么交"])
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["input"] == "鼓楼区停水了" and first["region_code"] is None
    assert first["extraction"]["place"]["ambiguous"] == ["320106", "320302"]
    assert first["category"] == "help" and first["department_type"] == "water_supply"
    assert second["region_code"] == "320115" and second["department_type"] == "human_resources"


def test_check_model_explains_where_to_get_a_model(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["asr", "check-model", str(tmp_path)])
    assert result.exit_code == 2
    assert "missing am/final.mdl" in result.output and "vosk-model-cn-0.22" in result.output
    result = cli.invoke(app, ["asr", "check-model", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_check_model_without_loading(cli: CliRunner, model_dir: Path) -> None:
    result = cli.invoke(app, ["asr", "check-model", "--no-load", "--json", str(model_dir)])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["sample_rate"] == 16000 and info["load_s"] is None


@pytest.mark.vosk
def test_check_model_loads_the_model(cli: CliRunner, model_dir: Path) -> None:
    result = cli.invoke(app, ["asr", "check-model", str(model_dir)])
    assert result.exit_code == 0, result.output
    assert "ok:" in result.stdout and "loaded in" in result.stdout


@pytest.mark.vosk
def test_transcribe_json_reports_each_file(cli: CliRunner, audio_dir: Path) -> None:
    files = [audio_dir / "ulaw8k.wav", audio_dir / "silence.wav", audio_dir / "random.bin"]
    result = cli.invoke(app, ["asr", "transcribe", "--json", "--caller", "02584561234",
                              *map(str, files)])
    assert result.exit_code == 1  # one file could not be read
    speech, silence, random = (json.loads(line) for line in result.stdout.splitlines())
    assert speech["transcript"] and speech["codec"] == "mulaw" and speech["seconds"] > 0
    assert [w["start"] for w in speech["words"]] == sorted(w["start"] for w in speech["words"])
    assert speech["fields"]["category"] and speech["fields"]["extraction"]["caller_area"] == "320100"
    assert silence["no_speech"] == "silence"
    assert random["error"] == "undecodable"


@pytest.mark.vosk
def test_transcribe_text_output(cli: CliRunner, audio_dir: Path) -> None:
    result = cli.invoke(app, ["asr", "transcribe", str(audio_dir / "slin8k.wav")])
    assert result.exit_code == 0, result.output
    assert "transcript:" in result.stdout and "words:" in result.stdout
    assert "category" in result.stdout


def test_transcribe_without_a_model(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["asr", "transcribe", "--model-dir", str(tmp_path / "none"),
                              str(tmp_path / "a.wav")])
    assert result.exit_code == 2 and "does not exist" in result.output
