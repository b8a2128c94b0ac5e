"""The matter table and the department directory: suggestions with reasons, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import Database
from ticketing.directory import load_department_types
from ticketing.errors import RoutingError
from ticketing.matters import MatterTable, leading
from ticketing.models import Unit
from ticketing.routing import RoutingRequest, RoutingTable

TABLE = RoutingTable.load()
MATTERS = TABLE.matters
DEPARTMENTS = TABLE.departments


def best(text: str) -> tuple[str, str]:
    suggestion = MATTERS.suggest(text)[0]
    return suggestion.dept_type, suggestion.reason


def test_a_matter_names_its_department_and_its_row() -> None:
    dept, reason = best("我家停水两天了")
    row = next(m.row for m in MATTERS.matters if "停水" in m.words)
    assert dept == "water_supply" and reason == f"停水 → 供水, matter table row {row}"


def test_a_unit_the_caller_names_outweighs_the_matter() -> None:
    assert best("昆山市民政局的工作人员态度很差") == ("civil_affairs", "民政局 → 民政, named by the caller")
    # 交警 is the police's: a named unit, however the matter reads.
    assert best("路上的渣土车太多了，交警也不管")[0] == "public_security"
    # A unit named as a landmark is not the party the caller means.
    assert best("派出所旁边的路灯坏了")[0] == "urban_management"


def test_a_word_inside_a_longer_word_does_not_count() -> None:
    assert [s.dept_type for s in MATTERS.suggest("天天收到垃圾短信")] == ["telecom"]


def test_a_word_ending_a_place_name_is_not_the_matter() -> None:
    # 堰桥 is a street of 惠山区, not a bridge; 桥 said as a bridge still is one.
    assert [s.dept_type for s in MATTERS.suggest("无锡惠山区堰桥那边的一个小区停水了")] == ["water_supply"]
    assert [s.dept_type for s in MATTERS.suggest("惠山区堰桥街道我们小区门口的路灯坏了")] == [
        "urban_management"]
    assert best("板桥村那边有人在烧垃圾")[0] != "transport"
    assert best("我们村口那座桥裂了")[0] == "transport"
    assert best("惠山区的桥塌了")[0] == "transport"


def test_with_and_unless() -> None:
    assert best("工地晚上施工噪音太大")[0] == "housing"  # noise from building works
    assert best("楼下广场舞噪音太大")[0] == "public_security"  # noise from people
    assert best("驾校的教练说驾照要多交钱")[0] == "transport"  # 驾照 unless a driving school is the matter


def test_a_place_or_party_yields_to_the_matter() -> None:
    # 学校 only says where; the stalls are the matter.
    assert best("学校门口有人摆摊")[0] == "urban_management"
    assert best("学校门口有人摆摊")[1].endswith(f"row {_row('摆摊')}")
    assert [s.dept_type for s in leading(MATTERS.suggest("学校门口有人摆摊"))] == ["urban_management"]
    assert best("我们学校")[0] == "education"  # ... and counts when nothing else is said
    # A farm stay is where the sewage comes from; a gym where an offence against a person happened.
    assert best("有个农家乐把污水直接排到水库里")[0] == "ecology"
    assert best("健身房的教练对学员动手动脚")[0] == "public_security"
    assert best("门口大树上有个马蜂窝")[0] == "fire_rescue"


def test_among_equals_the_first_said_leads() -> None:
    assert [s.dept_type for s in leading(MATTERS.suggest("家里停水了，也停电了"))] == [
        "water_supply", "power_supply"]


def test_nothing_said_nothing_suggested() -> None:
    assert MATTERS.suggest("你好，我想咨询一下") == []


def _row(word: str) -> int:
    return next(m.row for m in MATTERS.matters if word in m.words)


@pytest.mark.parametrize(("raw", "message"), [
    ('[[matter]]\nrow = 1\ndept = "spaceport"\nwords = ["火箭"]\n', "dept = 'spaceport' is not a department type"),
    ('[[matter]]\nrow = 1\ndept = "province:administrative_approval"\nwords = ["审批"]\n',
     "administrative_approval has no provincial unit"),
])
def test_a_matter_naming_no_department_is_a_routing_error(raw: str, message: str) -> None:
    with pytest.raises(RoutingError, match=message):
        MatterTable.parse(raw, DEPARTMENTS, source="matters.toml")


@pytest.mark.parametrize(("raw", "message"), [
    (('[[matter]]\nrow = 1\ndept = "water_supply"\nwords = ["停水"]\n'
     '[[matter]]\nrow = 1\ndept = "power_supply"\nwords = ["停电"]\n'), "row 1 appears twice"),
    ('[[matter]]\nrow = 1\ndept = "water_supply"\nwords = []\n', "`words` is empty"),
    ('[[matter]]\nrow = 1\ndept = "water_supply"\nwords = ["停水"]\nweight = 0\n', "weight = 0 must be a number > 0"),
    ('[[matter]]\nrow = 1\ndept = "water_supply"\nwords = ["停水"]\nwhen = ["夜里"]\n', "unknown key 'when'"),
    ('[[matter]]\nrow = "一"\ndept = "water_supply"\nwords = ["停水"]\n', "`row` must be a positive whole number"),
    ('named_weight = -1\n', "named_weight = -1 must be a number > 0"),
])
def test_a_bad_matter_table_is_refused_with_the_row(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MatterTable.parse(raw, DEPARTMENTS, source="matters.toml")


@pytest.mark.parametrize(("raw", "message"), [
    ('[x]\nprovince = "X厅"\nsource = "三定"\n', r"\[x\] label is required"),
    ('[x]\nlabel = "X"\nprovince = "X厅"\n', r"\[x\] source is required"),
    ('[x]\nlabel = "X"\nsource = "三定"\nprovince = "X厅"\nboss = "me"\n', "unknown key 'boss'"),
    ('[x]\nlabel = "X"\nsource = "三定"\n', "needs a name at one level"),
    ('[x]\nlabel = "X"\nsource = "三定"\nprovince = "X处"\nvia = "y"\n', "via = 'y' must name a department type"),
    (('[y]\nlabel = "Y"\nsource = "三定"\nprovince = "Y厅"\n'
     '[x]\nlabel = "X"\nsource = "三定"\nprovince = "X处"\ncity = "{place}X处"\nvia = "y"\n'),
     "has `via`, so it must have `province` only"),
])
def test_a_bad_department_file_is_refused(tmp_path: Path, raw: str, message: str) -> None:
    path = tmp_path / "departments.toml"
    path.write_text(raw, "utf-8")
    with pytest.raises(ValueError, match=message):
        load_department_types(path)


def test_every_department_has_a_label_and_a_source_note() -> None:
    for dept in load_department_types().values():
        assert dept.label and dept.source and dept.duties, dept.code


def test_the_names_callers_use() -> None:
    police = DEPARTMENTS["public_security"].spoken_names()
    assert {"公安局", "公安分局", "公安厅", "派出所", "交警"} <= set(police)
    assert "供电公司" in DEPARTMENTS["power_supply"].spoken_names()  # 国网{place}供电公司


def test_an_operators_routing_file_may_bring_its_own_matter_table(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[2] / "ticketing" / "data" / "routing.toml"
    (tmp_path / "routing.toml").write_text('matters = "ours.toml"\n' + shipped.read_text("utf-8"), "utf-8")
    (tmp_path / "ours.toml").write_text('[[matter]]\nrow = 7\ndept = "sports"\nwords = ["滑板"]\n', "utf-8")
    table = RoutingTable.load(tmp_path / "routing.toml")
    assert [(s.dept_type, s.reason) for s in table.suggest_departments("公园里的滑板场")] == [
        ("sports", "滑板 → 体育, matter table row 7")]



@pytest.mark.anyio
async def test_every_suggestion_is_a_seeded_unit(db: Database) -> None:
    """Each department the matter table can name, routed from a county, a city, the province and an
    unknown place, leads to units that exist in the seeded directory."""
    async with db.sessions() as session:
        units = set((await session.scalars(select(Unit.id))).all())
    types = {m.dept for m in MATTERS.matters} | {
        code for code, dept in DEPARTMENTS.items() if dept.spoken_names()}
    places = [RoutingRequest("320583"), RoutingRequest("320106"), RoutingRequest("320500"),
              RoutingRequest("320000"), RoutingRequest(None, caller_area="320200")]
    for dept in sorted(types):
        for place in places:
            decision = TABLE.route(RoutingRequest(place.region_code, departments=(dept,),
                                                  caller_area=place.caller_area))
            missing = {decision.lead_unit_id, *decision.co_handler_ids} - units
            assert not missing, (dept, place, missing)
