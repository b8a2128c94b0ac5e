"""The category model: reproducible from the repository's data, explainable, used only without a phrase or on a tie."""

from __future__ import annotations

import importlib.util
import sys
from importlib.resources import files
from pathlib import Path
from types import ModuleType

import pytest

from asr.extraction.category_model import CategoryModel, grams
from asr.extraction.extractor import Extractor

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train_category_model.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_category_model", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_retraining_reproduces_the_shipped_model() -> None:
    shipped = files("asr.data").joinpath("category_model.json").read_text("utf-8")
    assert _script().build().dumps() == shipped, "run scripts/train_category_model.py and commit its output"


def test_the_model_round_trips_and_explains_itself() -> None:
    examples = [("我要咨询一下社保怎么交", "咨询"), ("请问社保怎么交", "咨询"),
                ("老板拖欠我工资不给", "投诉"), ("拖欠我工资三个月了", "投诉")]
    model = CategoryModel.train(examples, ("咨询", "投诉"), min_docs=1)
    assert CategoryModel.loads(model.dumps()).dumps() == model.dumps()
    assert model.guess("") is None and model.guess("。") is None  # nothing it knows
    guess = model.guess("公司拖欠我工资")
    assert guess is not None and guess.label == "投诉" and guess.probability > 0.5
    assert guess.drivers and all(d in "公司拖欠我工资" for d in guess.drivers)
    assert guess.reason().startswith("模型: 投诉 ")


def test_the_model_can_be_asked_to_choose_among_some_labels() -> None:
    examples = [("请问社保怎么交", "咨询"), ("请问公积金怎么取", "咨询"),
                ("老板拖欠我工资不给", "投诉"), ("拖欠我工资三个月了", "投诉"), ("有人偷排污水", "举报"),
                ("有人偷偷排污水", "举报")]
    model = CategoryModel.train(examples, ("咨询", "投诉", "举报"), min_docs=1)
    free = model.guess("老板拖欠我工资")
    among = model.guess("老板拖欠我工资", among=("咨询", "举报"))
    assert free is not None and free.label == "投诉"
    assert among is not None and among.label in {"咨询", "举报"} and 0.5 <= among.probability <= 1


def test_grams_skip_punctuation() -> None:
    assert grams("路灯，坏", 1, 2) == {"路", "灯", "坏", "路灯", "灯坏"}


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor.build()


def test_the_table_decides_when_it_finds_a_phrase(extractor: Extractor) -> None:
    result = extractor.extract("我要投诉楼下饭店油烟太大")
    assert result.category.category.label == "投诉"
    assert result.category.evidence and result.category.reason is None


def test_the_model_decides_without_a_phrase_and_says_why(extractor: Extractor) -> None:
    result = extractor.extract("楼下饭店油烟")
    assert not result.category.evidence
    reason = result.category.reason
    assert reason is not None and reason.startswith(f"模型: {result.category.category.label} ")
    assert result.evidence()["category"]["reason"] == reason


def test_without_anything_the_model_knows_the_table_default_stays(extractor: Extractor) -> None:
    result = extractor.extract("")
    assert result.category.category.label == "咨询" and result.category.reason is None


def test_a_tie_in_the_table_goes_to_the_model_among_the_tied(extractor: Extractor) -> None:
    text = "鼓楼区那个菜市场门口天天有人摆摊，我们家的车每天早上都开不出去"
    table = Extractor.build(category_model=False).extract(text).category
    assert set(table.tied()) == {"举报", "投诉"}  # 有人 +3 (举报) against 天天 +2, 我们家 +1 (投诉)
    result = extractor.extract(text).category
    assert result.category.label in table.tied() and result.score == table.score
    assert result.reason is not None and result.reason.endswith("（表内同分: 举报 3 = 投诉 3）")
