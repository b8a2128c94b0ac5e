"""Extraction on realistic Mandarin caller utterances: category, region code, free address and
department, including ambiguous districts (鼓楼区 in 南京 and 徐州) and spoken digits."""

from __future__ import annotations

import pytest

from asr.extraction.extractor import Extractor

NANJING_LANDLINE, XUZHOU_LANDLINE, MOBILE = "02584561234", "051683456789", "13912345678"

# text, caller, category, region code, address, department type
CASES: list[tuple[str, str | None, str, str | None, str, str | None]] = [
    ("你好，我要投诉，南京市鼓楼区中山北路88号阳光小区门口的路灯坏了三天了", None,
     "complaint", "320106", "中山北路88号阳光小区", "urban_management"),
    ("我家在鼓楼区，自来水停了一整天了，能不能帮忙问一下什么时候来水", NANJING_LANDLINE,
     "help", "320106", "", "water_supply"),
    ("我家在鼓楼区，自来水停了一整天了，能不能帮忙问一下什么时候来水", XUZHOU_LANDLINE,
     "help", "320302", "", "water_supply"),
    ("我家在鼓楼区，自来水停了一整天了，能不能帮忙问一下什么时候来水", MOBILE,
     "help", None, "", "water_supply"),
    ("徐州鼓楼区的黑作坊偷排废水，我要举报", NANJING_LANDLINE,
     "report", "320302", "", "ecology"),
    ("南京鼓楼的一个烧烤店油烟太大了，熏得我们没法开窗", XUZHOU_LANDLINE,
     "complaint", "320106", "", "urban_management"),
    ("请问一下社保怎么办理，我在江宁区东山街道上元大街", None,
     "consultation", "320115", "东山街道上元大街", "human_resources"),
    ("想问一下公积金提取需要什么材料", None, "consultation", None, "", "housing_fund"),
    ("我想咨询一下苏州市吴中区的小孩入学政策", None,
     "consultation", "320506", "", "education"),
    ("无锡梁溪区清扬路上有个井盖没了，很危险，赶紧来处理一下", None,
     "help", "320213", "清扬路", "urban_management"),
    ("我要举报昆山市花桥镇有人违章搭建", None, "report", "320583", "花桥镇", "urban_management"),
    ("常州天宁区红梅新村三栋楼下的垃圾好几天没人清理了", None,
     "complaint", "320402", "红梅新村3栋", "urban_management"),
    ("表扬一下南通崇川区环卫工人，非常负责", None, "praise", "320613", "", "urban_management"),
    ("我想表扬一下你们的接线员，态度很耐心，谢谢", None, "praise", None, "", None),
    ("建议在宿迁市宿城区幸福路增设一个公交站", None,
     "suggestion", "321302", "幸福路", "transport"),
    ("扬州江都区仙女镇的宽带一直没信号，打了好几次电话都没人处理", None,
     "complaint", "321012", "仙女镇", "telecom"),
    ("公司拖欠工资三个月了，老板不接电话，我在泰州海陵区", None,
     "complaint", "321202", "", "human_resources"),
    ("你好，我的电话是幺三八幺二三四五六七八，上次反映的问题一直没人回复", None,
     "complaint", None, "", None),
    ("我查一下工单，编号是二零二六幺幺二八零零零幺二三", None, "consultation", None, "", None),
    ("盐城亭湖区文港路那边晚上施工噪音太吵了，根本睡不着", None,
     "complaint", "320902", "文港路", "housing"),
    ("连云港海州区的出租车拒载还乱收费", None, "complaint", "320706", "", "transport"),
    ("淮安市清江浦区的天然气费用怎么交", None, "consultation", "320812", "", "gas_supply"),
    ("淮安区这边停电了，什么时候恢复", None, "help", "320803", "", "power_supply"),
    ("我在淮安，想问一下医保报销的比例", None, "consultation", "320800", "", "medical_insurance"),
    ("镇江京口区的物业不作为，电梯坏了半个月", None, "complaint", "321102", "", "housing"),
    ("句容市下蜀镇一到晚上就有臭味，熏得人头疼", None, "complaint", "321183", "下蜀镇", "ecology"),
    ("句容市下蜀镇有个养殖场臭味很大", None, "complaint", "321183", "下蜀镇", "agriculture"),
    ("沛县的低保怎么申请", None, "consultation", "320322", "", "civil_affairs"),
    ("睢宁县有个诊所无证行医，我要举报", None, "report", "320324", "", "health"),
    ("张家港市杨舍镇有人在河道里偷倒垃圾", None,
     "report", "320582", "杨舍镇", "water_resources"),
    ("南京市玄武区珠江路地铁站附近有黑车拉客", None,
     "report", "320102", "珠江路地铁站", "transport"),
    ("雨花台区的一家培训机构收了钱不退", None, "complaint", "320114", "", "education"),
    ("喂，你好，南京浦口区的高速公路服务区厕所太脏了", None,
     "complaint", "320111", "", "highways"),
    ("我要投诉宜兴市一家商家卖过期食品", None,
     "complaint", "320282", "", "market_regulation"),
    ("江阴的户口迁移需要什么手续", None, "consultation", "320281", "", "public_security"),
    ("东台市的退役军人优抚政策想咨询一下", None, "consultation", "320981", "", "veterans"),
    ("高邮市的景区门票乱收费", None, "complaint", "321084", "", "culture_tourism"),
    ("邳州市的道路破损很严重，坑洼太多了", None, "complaint", "320382", "", "transport"),
    ("建议新北区多种点绿化", None, "suggestion", "320411", "", "urban_management"),
    ("我是秦淮区的，我们小区门口的路灯不亮", None, "help", "320104", "", "urban_management"),
    ("建邺区江东中路一百零八号的广告牌快掉下来了，赶紧来看看", None,
     "help", "320105", "江东中路108号", "urban_management"),
    ("我家住在栖霞区仙林街道学海路，水管爆管了", None,
     "help", "320113", "仙林街道学海路", "water_supply"),
    ("六合区的化肥价格是不是太高了", None, "consultation", "320116", "", "agriculture"),
    ("溧水区的土地规划能不能公开一下", None, "consultation", "320117", "", "natural_resources"),
    ("高淳区防汛的堤防有安全隐患", None, "report", "320118", "", "water_resources"),
    ("锡山区的发票怎么开", None, "consultation", "320205", "", "taxation"),
    ("我想问问相城区的养老保险怎么交", None, "consultation", "320507", "", "human_resources"),
    ("姑苏区平江路上的商家强制消费", None,
     "complaint", "320508", "平江路", "market_regulation"),
    ("苏州工业园区的房产证办理进度怎么查", None, "consultation", "320500", "", "natural_resources"),
    ("南京到苏州的省际客运班车取消了吗", None,
     "consultation", "320100", "", "province:transport"),
    # No phrase of intent: the category model takes a request to act (麻烦回个电话) as 求助, which the
    # labelling rules agree with (tests/asr/utterances/README.md); the table alone gave its default 咨询.
    ("我的手机号是幺五九 二五八四 六六七七，麻烦回个电话", None,
     "help", None, "", None),
    ("鼓楼区中央路三百号那里有人售假", None, "report", None, "中央路300号", "market_regulation"),
    ("徐州市鼓楼区的消防通道被堵了", None, "help", "320302", "", "fire_rescue"),
    ("海门区的疫苗什么时候能打", None, "consultation", "320614", "", "health"),
    ("如皋市的学校附近有网吧", None, "report", "320682", "", "culture_tourism"),
]


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor.build()


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 50


@pytest.mark.parametrize("text, caller, category, region, address, department", CASES)
def test_extraction(extractor: Extractor, text: str, caller: str | None, category: str,
                    region: str | None, address: str, department: str | None) -> None:
    result = extractor.extract(text, caller_number=caller)
    got = (result.category.category.value, result.place.region_code, result.place.address,
           result.department_type)
    assert got == (category, region, address, department), result.evidence()
    if category != "consultation" or result.category.evidence:
        assert all(text.find(e.keyword) >= 0 or e.keyword in result.text
                   for e in result.category.evidence)
