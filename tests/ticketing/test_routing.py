"""Routing decisions as a table: local first, provincial departments, cross-city, unknown places."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticketing.errors import RoutingError
from ticketing.models.region import RegionLevel
from ticketing.routing import RoutingRequest, RoutingTable

TABLE = RoutingTable.load()

CASES = [
    # (request, lead, co-handlers, level, rule)
    (RoutingRequest("320106"), "office:320106", (), RegionLevel.COUNTY, "county-first"),
    (RoutingRequest("320311"), "office:320311", (), RegionLevel.COUNTY, "county-first"),  # 泉山区, 徐州
    (RoutingRequest("320106", departments=("water_supply",)), "dept:320106:water_supply", (),
     RegionLevel.COUNTY, "county-first"),
    (RoutingRequest("320106", departments=("urban_management", "housing")),
     "dept:320106:urban_management", ("dept:320106:housing",), RegionLevel.COUNTY, "county-first"),
    (RoutingRequest("320106", departments=("gas_supply",)), "dept:320100:gas_supply", (),
     RegionLevel.CITY, "county-first"),  # no county-level gas company
    (RoutingRequest("320100"), "platform:320100", (), RegionLevel.CITY, "city"),
    (RoutingRequest("320500", departments=("human_resources",)), "dept:320500:human_resources", (),
     RegionLevel.CITY, "city"),
    (RoutingRequest("320106", departments=("province:highways",)), "dept:320000:highways", (),
     RegionLevel.PROVINCE, "provincial-department"),
    (RoutingRequest("320106", departments=("province:transport", "water_supply")),
     "dept:320000:transport", ("dept:320000:water_supply",), RegionLevel.PROVINCE, "provincial-department"),
    # A body the platform reaches through a provincial department: that department leads.
    (RoutingRequest("320506", departments=("taihu_works",)), "dept:320000:water_resources",
     ("dept:320000:taihu_works",), RegionLevel.PROVINCE, "provincial-department"),
    (RoutingRequest("321324", departments=("hongze_fishery", "ecology")), "dept:320000:agriculture",
     ("dept:320000:hongze_fishery", "dept:320000:ecology"), RegionLevel.PROVINCE, "provincial-department"),
    # A type that exists at province level only is relayed there, prefix or not.
    (RoutingRequest("320106", departments=("highways",)), "dept:320000:highways", (),
     RegionLevel.PROVINCE, "provincial-department"),
    # The province's own matter goes to its department; a type without one stays with the platform.
    (RoutingRequest("320000", departments=("education",)), "dept:320000:education", (),
     RegionLevel.PROVINCE, "provincial-department"),
    (RoutingRequest("320000", departments=("administrative_approval",)), "platform:320000", (),
     RegionLevel.PROVINCE, "fallback-province"),
    (RoutingRequest("320583", departments=("administrative_approval",)), "dept:320583:administrative_approval",
     (), RegionLevel.COUNTY, "county-first"),
    (RoutingRequest("320106", involved_regions=("320311",)), "platform:320000",
     ("platform:320100", "platform:320300"), RegionLevel.PROVINCE, "cross-city"),
    (RoutingRequest("320106", involved_regions=("320102",)), "office:320106", (), RegionLevel.COUNTY,
     "county-first"),  # two districts of one city is not cross-city
    (RoutingRequest(None, caller_area="320200"), "platform:320200", (), RegionLevel.CITY,
     "unknown-place-caller-area"),
    (RoutingRequest(None), "platform:320000", (), RegionLevel.PROVINCE, "fallback-province"),
]


@pytest.mark.parametrize(("request_", "lead", "co", "level", "rule"), CASES)
def test_routing_table(request_: RoutingRequest, lead: str, co: tuple[str, ...], level: RegionLevel, rule: str) -> None:
    decision = TABLE.route(request_)
    assert (decision.lead_unit_id, decision.co_handler_ids, decision.level, decision.rule) == (lead, co, level, rule)
    assert decision.reasons and decision.reasons[0].startswith(f"rule {rule}:")


def test_a_relay_says_who_passes_the_case_on() -> None:
    decision = TABLE.route(RoutingRequest("320506", departments=("taihu_basin",)))
    assert "lead: 江苏省水利厅, which relays to 水利部太湖流域管理局苏州管理局" in decision.reasons


def test_unknown_codes_are_clear_errors() -> None:
    with pytest.raises(RoutingError, match="unknown region code '110101'"):
        TABLE.route(RoutingRequest("110101"))
    with pytest.raises(RoutingError, match="unknown department type 'spaceport'"):
        TABLE.route(RoutingRequest("320106", departments=("spaceport",)))


def test_rules_are_data_an_operator_can_edit(tmp_path: Path) -> None:
    text = Path(__file__).resolve().parents[2].joinpath("ticketing/data/routing.toml").read_text("utf-8")
    # An operator who wants every case with a place to go to the city platform, county or not:
    edited = text.replace('when = "place_is_county"\nlead = "county_unit"',
                          'when = "place_is_county"\nlead = "city_unit"')
    custom = tmp_path / "routing.toml"
    custom.write_text(edited, "utf-8")
    assert RoutingTable.load(custom).route(RoutingRequest("320106")).lead_unit_id == "platform:320100"


def test_a_bad_rule_file_is_refused_with_its_name(tmp_path: Path) -> None:
    bad = tmp_path / "routing.toml"
    bad.write_text('[[rules]]\nname = "x"\nwhen = "full_moon"\nlead = "city_unit"\nco = "none"\nexplain = ""\n')
    with pytest.raises(RoutingError, match="rule 'x': when = 'full_moon'"):
        RoutingTable.load(bad)


@pytest.mark.parametrize(("text", "expected"), [
    ("小区路灯坏了好几天", ["urban_management"]),
    ("家里停水了，也停电了", ["water_supply", "power_supply"]),
    ("公司拖欠工资还不交社保", ["human_resources"]),
    ("高速公路服务区的商家卖过期食品", ["highways", "market_regulation"]),
    ("想咨询一下办事流程", []),
])
def test_department_suggestions(text: str, expected: list[str]) -> None:
    assert [s.dept_type for s in TABLE.suggest_departments(text)] == expected
