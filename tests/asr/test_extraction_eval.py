"""Extraction measured on the labelled utterances (tests/asr/utterances): per-field accuracy floors
on the tuning and the held-out split, every suggested unit seeded, every department explained."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from asr.extraction.extractor import Extractor
from tests.asr.utterances import FIELDS, SPLITS, Score, evaluate, load
from tests.conftest import Database
from ticketing.models import Unit

# Measured (docs/asr.md, issue 16's generalisation round): dev 95.6 / 99.8 / 94.9 / 90.1 %, held-out
# 95.9 / 100 / 96.7 / 88.6 %, held-out 2 95.6 / 98.7 / 88.1 / 82.4 %, held-out 3 91.8 / 99.5 / 90.2 / 80.98 %,
# held-out 4 94.3 / 100 / 96.3 / 91.0 %, held-out 5 90.6 / 100 / 89.4 / 83.5 %, held-out 6 (never tuned on)
# 91.6 / 100 / 85.7 / 83.1 %, held-out 7 95.9 / 100 / 91.8 / 91.8 %, held-out 8 (never tuned on) 93.1 /
# 99.4 / 85.0 / 78.7 %, tune2 91.8 / 99.7 / 87.1 / 84.6 %, held-out 9 (never tuned on) 90.4 / 100 / 89.1 /
# 85.6 %; the model is trained on every set but held-out 6, 8 and 9, so its category figures on the
# others are not a test of it. Kept as floors at those levels (rounded down), so an utterance lost fails.
FLOORS = {
    "dev": {"category": 0.95, "region": 0.99, "department": 0.94, "unit": 0.90},
    "heldout": {"category": 0.95, "region": 1.0, "department": 0.96, "unit": 0.88},
    "heldout2": {"category": 0.95, "region": 0.98, "department": 0.88, "unit": 0.82},
    "heldout3": {"category": 0.91, "region": 0.99, "department": 0.90, "unit": 0.80},
    "heldout4": {"category": 0.94, "region": 1.0, "department": 0.96, "unit": 0.91},
    "heldout5": {"category": 0.90, "region": 1.0, "department": 0.89, "unit": 0.83},
    "heldout6": {"category": 0.91, "region": 1.0, "department": 0.85, "unit": 0.83},
    "heldout7": {"category": 0.95, "region": 1.0, "department": 0.91, "unit": 0.91},
    "heldout8": {"category": 0.93, "region": 0.99, "department": 0.85, "unit": 0.78},
    "tune2": {"category": 0.91, "region": 0.99, "department": 0.87, "unit": 0.84},
    "heldout9": {"category": 0.90, "region": 1.0, "department": 0.89, "unit": 0.85},
}


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor.build()


@pytest.fixture(scope="module")
def scores(extractor: Extractor) -> dict[str, Score]:
    return {split: evaluate(extractor, load(split)) for split in SPLITS}


def test_the_set_is_broad_enough() -> None:
    utterances = [u for split in SPLITS for u in load(split)]
    assert len(utterances) >= 400
    cities = {code[:4] + "00" for u in utterances for code in u.regions if code and code != "320000"}
    assert len(cities) == 13
    assert {u.category for u in utterances} == {"咨询", "求助", "投诉", "举报", "建议", "表扬"}
    notes = {note for u in utterances for note in u.notes}
    assert {"late", "landmark", "two", "asr", "named", "plea"} <= notes
    assert len({u.text for u in utterances}) == len(utterances)  # no utterance in both splits


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("field", FIELDS)
def test_accuracy_floor(scores: dict[str, Score], split: str, field: str) -> None:
    score = scores[split]
    misses = [(v.utterance.line, v.utterance.text) for v in score.misses[field]]
    assert score.accuracy(field) >= FLOORS[split][field], misses


@pytest.mark.parametrize("split", SPLITS)
def test_every_department_explains_itself(extractor: Extractor, split: str) -> None:
    for utterance in load(split):
        result = extractor.extract(utterance.text, caller_number=utterance.caller)
        if result.department_type is None:
            assert result.department_reason is None
            continue
        reason = result.department_reason
        assert reason is not None and result.departments[0].keyword in result.text, utterance.text
        assert reason.startswith(result.departments[0].keyword + " → "), reason
        assert result.evidence()["departments"][0]["reason"] == reason


@pytest.mark.anyio
async def test_every_suggested_unit_is_seeded(db: Database, extractor: Extractor) -> None:
    async with db.sessions() as session:
        units = set((await session.scalars(select(Unit.id))).all())
    for split in SPLITS:
        for utterance in load(split):
            unit = extractor.extract(utterance.text, caller_number=utterance.caller).suggested_unit_id
            assert unit in units, (utterance.text, unit)
