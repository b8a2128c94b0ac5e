"""The parts of extraction: spoken numbers, caller area, category rules, places, summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from asr.extraction.categories import CategoryRules
from asr.extraction.extractor import Extractor
from asr.extraction.numbers import find_numbers, normalise_numbers, positional_value
from asr.extraction.places import PlaceResolver
from asr.extraction.summary import summarise
from ticketing.caller_area import CallerArea, caller_area
from ticketing.regions import province_records
from ticketing.vocabulary import Category


@pytest.fixture(scope="module")
def places() -> PlaceResolver:
    return PlaceResolver(province_records())


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor.build()


@pytest.mark.parametrize("spoken, digits, kind", [
    ("幺三八幺二三四五六七八", "13812345678", "mobile"),
    ("一三九 二五八四 六六七七", "13925846677", "mobile"),
    ("零二五八四五六一二三四", "02584561234", "landline"),
    ("八四五六洞洞七八", "84560078", "landline"),
    ("二零二六幺幺二八零零零幺二三", "20261128000123", "ticket"),
    ("一二三", "123", "number"),
    ("13812345678", "13812345678", "mobile"),
])
def test_spoken_digit_strings(spoken: str, digits: str, kind: str) -> None:
    (number,) = find_numbers(f"我的号码是{spoken}，谢谢")
    assert (number.digits, number.kind) == (digits, kind)
    assert digits in normalise_numbers(f"号码{spoken}")


@pytest.mark.parametrize("spoken, value", [
    ("八十八", 88), ("十二", 12), ("一百零八", 108), ("三百", 300), ("两千零五", 2005),
    ("二三", 23), ("十", 10),
])
def test_positional_numbers(spoken: str, value: int) -> None:
    assert positional_value(spoken) == value


def test_house_numbers_become_digits_but_words_stay() -> None:
    assert normalise_numbers("中山路八十八号三栋二单元") == "中山路88号3栋2单元"
    assert normalise_numbers("五一路上一个人都没有") == "五一路上一个人都没有"


@pytest.mark.parametrize("number, area", [
    ("02584561234", "320100"), ("+86 25 8456 1234", "320100"), ("008651683456789", "320300"),
    ("0512-65221234", "320500"), ("13851234567", "320700"), ("+8613912345678", "320400"),
    ("01012345678", None), ("025", None), ("", None), (None, None),
])
def test_caller_area_from_the_area_code_or_the_mobile_segment(
        extractor: Extractor, number: str | None, area: str | None) -> None:
    # The desk's lookup (ticketing.caller_area): a city outside the province gives no area.
    assert extractor.extract("停水了", caller_number=number).caller_area == area


def test_a_callers_area_is_looked_up_once_per_number(monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up: list[str | None] = []

    def counting(number: str | None, regions: object) -> CallerArea | None:
        looked_up.append(number)
        return caller_area(number, regions)  # type: ignore[arg-type]

    monkeypatch.setattr("asr.extraction.extractor.caller_area", counting)
    fresh = Extractor.build()
    areas = [fresh.extract("停水了", caller_number=n).caller_area
             for n in ("02584561234", "13851234567", "02584561234", "02584561234")]
    assert areas == ["320100", "320700", "320100", "320100"]
    assert looked_up == ["02584561234", "13851234567"]


def test_short_and_full_names_resolve_alike(places: PlaceResolver) -> None:
    for text in ("南京市江宁区", "南京江宁", "江宁区", "江宁"):
        assert places.resolve(f"我在{text}上班").region_code == "320115", text
    assert places.resolve("我在南京").region_code == "320100"
    assert places.resolve("我在南京市").how == "city"


def test_roads_named_after_places_are_not_places(places: PlaceResolver) -> None:
    result = places.resolve("我在南京路上")
    assert result.region_code is None and result.mentions == ()


def test_an_ambiguous_district_is_never_guessed(places: PlaceResolver) -> None:
    result = places.resolve("鼓楼区的路灯坏了")
    assert result.region_code is None and result.how == "ambiguous"
    assert set(result.ambiguous) == {"320106", "320302"}
    assert places.resolve("鼓楼区的路灯坏了", caller_area="320300").region_code == "320302"
    assert places.resolve("鼓楼区的路灯坏了", caller_area="320300").how == "caller_area"
    # A city in the text beats the caller's area.
    mentioned = places.resolve("南京鼓楼区的路灯坏了", caller_area="320300")
    assert (mentioned.region_code, mentioned.how) == ("320106", "city_mentioned")
    # A caller from a third city does not settle it.
    assert places.resolve("鼓楼的路灯坏了", caller_area="320500").how == "ambiguous"
    # Another district said settles it by its city, before the caller's area.
    other = places.resolve("孩子在鼓楼区上学，门口天天堵，我们住在江宁", caller_area="320300")
    assert (other.region_code, other.how) == ("320106", "county_mentioned")


@pytest.mark.parametrize("text, code", [
    ("我家在江宁区，我女儿在鼓楼区上学，学校门口每天堵", "320106"),
    ("我住在无锡滨湖区，我女儿在梁溪区上的幼儿园乱收费", "320213"),
    ("我住在盐城大丰，我妈在射阳县，她那边的房子漏水了", "320924"),
    # Only the home said, or the home said second: the first district said.
    ("我家在江宁区，门口的路灯坏了", "320115"),
    ("梁溪区的幼儿园乱收费，我住在滨湖区", "320213"),
    # Somebody else's home is where the matter is; a home district yields to another city said.
    ("我住在常州新北区，我妈住在金坛，她们村里天天烧垃圾", "320413"),
    ("我家在南通如皋，我在无锡上班，无锡这边的房东要涨房租", "320200"),
    ("我家在南通如皋，门口的路灯坏了", "320682"),
    # 我家住在 / 我们家住在 are homes too; where the caller is from (我是无锡的) yields like a home.
    ("我家住在南通启东，我妈在如东县，她们村里的水渠堵了", "320623"),
    ("我们家住在江宁区，我女儿在鼓楼区上学，学校门口每天堵", "320106"),
    ("我是无锡的，在常州出差，酒店的房间里有偷拍的摄像头", "320400"),
    ("我是无锡的，我们小区停水了", "320200"),
])
def test_the_callers_home_yields_to_the_place_of_the_matter(
        places: PlaceResolver, text: str, code: str) -> None:
    assert places.resolve(text).region_code == code


@pytest.mark.parametrize("text, code", [
    ("云龙湖边上的栏杆坏了", None),
    ("徐州云龙湖景区停车场收费太贵了", "320300"),
    ("秦淮河边上有人钓鱼", None),
    ("秦淮区的路灯坏了", "320104"),
    ("泗洪县洪泽湖湿地公园的门票", "321324"),
    # A town whose name begins with the water word is the district's town, not a lake.
    ("宜兴湖㳇镇那边的竹林里有人偷偷砍竹子", "320282"),
    ("宜兴湖边上有人钓鱼", None),
])
def test_a_lake_or_river_named_after_a_district_is_a_landmark(
        places: PlaceResolver, text: str, code: str | None) -> None:
    assert places.resolve(text).region_code == code


def test_huaian_the_city_and_huaian_the_district(places: PlaceResolver) -> None:
    assert places.resolve("我在淮安").region_code == "320800"
    assert places.resolve("我在淮安区").region_code == "320803"
    assert places.resolve("淮安市淮安区").region_code == "320803"


def test_the_province_alone(places: PlaceResolver) -> None:
    assert places.resolve("江苏省的政策").region_code == "320000"


def test_cross_city_mentions_are_all_kept(places: PlaceResolver) -> None:
    result = places.resolve("南京江宁区和苏州吴中区之间的班车")
    assert result.region_code == "320115"
    assert {"320115", "320506", "320100", "320500"} <= set(result.involved)


def test_category_rules_are_operator_editable(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('default = "建议"\n["表扬"]\n"赞" = 2\n["投诉"]\n"差评" = 2\n', "utf-8")
    rules = CategoryRules.load(path)
    assert rules.classify("服务差评").category is Category.COMPLAINT
    assert rules.classify("点个赞").category is Category.PRAISE
    tie = rules.classify("赞，但是差评")
    assert tie.category is Category.PRAISE and tie.scores == {"表扬": 2.0, "投诉": 2.0}
    assert rules.classify("随便说说").category is Category.SUGGESTION
    extractor = Extractor.build(rules_path=path)
    assert extractor.extract("差评").category.category is Category.COMPLAINT


@pytest.mark.parametrize("raw, message", [
    ('["抱怨"]\n"差" = 1\n', "unknown category '抱怨'"),
    ('["投诉"]\n"差" = 0\n', "weight must be > 0"),
    ('["投诉"]\n"差" = "很"\n', "weight must be > 0"),
    ('"投诉" = 3\n', "must be a table"),
    ('[introductions]\nphrases = "有人"\n', "must hold only"),
    ('[the_caller_bore_it]\nwords = [""]\n', "non-empty string"),
])
def test_bad_rules_name_the_problem(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CategoryRules.parse(raw, source="rules.toml")


def test_intent_decides_the_category() -> None:
    rules = CategoryRules.load()
    # A plea is 求助, though it asks a question or carries a grievance.
    for plea in ("帮我问问社保怎么转", "帮我查一下我的公积金", "帮帮我，老板三个月没发工资", "你帮我去查查违章"):
        assert rules.classify(plea).category is Category.HELP, plea
    for plea in ("我实在是没有办法了，厂里半年没给钱", "你们能不能来个人看一下，下水道返水了"):
        assert rules.classify(plea).category is Category.HELP, plea
    assert rules.classify("请问社保怎么转").category is Category.CONSULTATION
    # 投诉: a grievance against a party; 举报: somebody else's violation, often anonymous.
    assert rules.classify("那家店卖给我的东西坏了还不给退").category is Category.COMPLAINT
    assert rules.classify("有人偷偷往河里倒垃圾，我不想留名字").category is Category.REPORT
    # A party introduced (有个) that did something to the caller: a grievance, not a report.
    assert rules.classify("有个收费站ETC扣了我两次钱").category is Category.COMPLAINT
    assert rules.classify("有个卖紫砂壶的店，卖了我三千").category is Category.COMPLAINT
    # Naming the category decides.
    assert rules.classify("我要投诉，有人在河里电鱼").category is Category.COMPLAINT
    assert rules.classify("我要表扬派出所，他们帮我找到了孩子").category is Category.PRAISE


def test_who_bore_the_act_is_read_from_the_sentence() -> None:
    rules = CategoryRules.parse('[introductions]\nphrases = ["有人"]\n[the_caller_bore_it]\nwords = ["收了我"]\n'
                                '["举报"]\n"有人" = 3\n["投诉"]\n"收费" = 2\n')
    assert rules.classify("景区门口有人收费").category is Category.REPORT
    # The party brought in by 有人 is who wronged the caller: the introduction weighs nothing.
    done_to_me = rules.classify("景区门口有人收费，收了我五十")
    assert done_to_me.category is Category.COMPLAINT and "举报" not in done_to_me.scores
    shipped = CategoryRules.load()
    assert shipped.classify("我在火车站出站口被人拉去坐黑车，收了我两百块").category is Category.COMPLAINT
    assert shipped.classify("有人在河里电鱼，天天晚上都有").category is Category.REPORT
    # Others who bore it (给孩子吃, 卖给学生) make a report; distress without 帮 is a plea.
    assert shipped.classify("那家幼儿园把发霉的面包给孩子吃").category is Category.REPORT
    assert shipped.classify("我被老板打了，工资也不给，身上一分钱都没有了").category is Category.HELP


def test_a_phrase_inside_a_longer_one_of_another_category_does_not_count() -> None:
    match = CategoryRules.load().classify("帮我问问")
    assert [e.keyword for e in match.evidence] == ["帮我问问"] and "咨询" not in match.scores


def test_a_stated_matter_without_intent_takes_the_matter_default() -> None:
    rules = CategoryRules.parse('default = "咨询"\nmatter_default = "投诉"\n["表扬"]\n"表扬" = 20\n')
    assert rules.classify("小区门口的摊子").category is Category.CONSULTATION
    assert rules.classify("小区门口的摊子", states_a_matter=True).category is Category.COMPLAINT
    assert rules.classify("表扬城管", states_a_matter=True).category is Category.PRAISE
    assert Extractor.build().extract("楼下饭店的油烟").category.category is Category.COMPLAINT


def test_gap_phrases() -> None:
    rules = CategoryRules.parse('["求助"]\n"帮我…查" = 8\n')
    assert rules.classify("帮我去查查违章").evidence[0].keyword == "帮我…查"
    assert rules.classify("帮我把这个问题转给街道，再查").category is Category.CONSULTATION  # too far apart
    with pytest.raises(ValueError, match="must stand between two words"):
        CategoryRules.parse('["求助"]\n"帮我…" = 8\n')


def test_a_phrase_in_the_gap_still_counts_but_one_on_a_part_does_not() -> None:
    rules = CategoryRules.parse('["求助"]\n"帮我问问" = 8\n"帮我" = 7\n["咨询"]\n"能不能…办" = 6\n')
    gap = rules.classify("能不能帮我问问公办的怎么进")  # 帮我问问 lies between 能不能 and 办
    assert gap.category is Category.HELP and gap.scores == {"求助": 8, "咨询": 6}
    rules = CategoryRules.parse('["求助"]\n"帮我" = 7\n["咨询"]\n"帮我…办" = 6\n')
    part = rules.classify("帮我去办一下")  # 帮我 is the first part of 帮我…办: it does not count alone
    assert part.category is Category.CONSULTATION and "求助" not in part.scores


def test_a_negation_never_fills_a_gap() -> None:
    rules = CategoryRules.parse('["投诉"]\n"态度不好" = 5\n["表扬"]\n"服务…好" = 5\n')
    assert rules.classify("窗口的服务态度特别好").category is Category.PRAISE
    assert rules.classify("窗口的服务态度不好").category is Category.COMPLAINT  # not 服务…好
    assert rules.classify("服务一直没好").scores == {}


def test_help_told_as_a_story_is_praise_and_a_plea_to_ask_is_help() -> None:
    rules = CategoryRules.load()
    # Somebody else helped the caller: a story of help, not a plea (帮我 inside 他们帮我, 帮我…好了).
    for praise in ("派出所的民警特别负责，他们帮我把车找回来了", "社区工作人员上门帮我把补贴办好了"):
        assert rules.classify(praise).category is Category.PRAISE, praise
    # A plea to ask or look up outweighs the question it carries.
    for plea in ("帮我问一下退役军人优待证在哪里领", "麻烦问一下我家的养老金怎么没到账"):
        assert rules.classify(plea).category is Category.HELP, plea


def test_evidence_counts_a_longer_keyword_once() -> None:
    match = CategoryRules.load().classify("我对处理结果不满意")
    assert [e.keyword for e in match.evidence] == ["不满意"]
    assert match.category is Category.COMPLAINT and match.score == 4


@pytest.mark.parametrize("text, summary", [
    ("你好，我要投诉，小区门口的路灯坏了三天了", "小区门口的路灯坏了三天了"),
    ("喂，您好，那个我们楼下天天有人烧烤。油烟很大", "我们楼下天天有人烧烤"),
    ("我要投诉", "我要投诉"),
    # A clause that only says where takes the next, which says what is wrong.
    ("你好，我家在玄武区珠江路，小区停水两天了，物业说是管道坏了", "我家在玄武区珠江路，小区停水两天了"),
    ("我是鼓楼区的，我要投诉，我们这边路灯坏了", "我是鼓楼区的，我们这边路灯坏了"),
    ("我住在新北区，想问一下公积金怎么提取", "我住在新北区，想问一下公积金怎么提取"),
    ("我在超市买到过期食品，要求退货", "我在超市买到过期食品"),
    ("我家在玄武区珠江路", "我家在玄武区珠江路"),
    ("", ""),
    ("啊" * 5 + "路" * 100, "路" * 59 + "…"),
])
def test_summary_is_the_first_real_clause_and_what_is_wrong(text: str, summary: str) -> None:
    assert summarise(text) == summary
