"""Place resolution: city, county and district names → a region code, and the free address.

jieba segments the text with a user dictionary built from the region table (full names and
short forms: 南京市 / 南京, 鼓楼区 / 鼓楼), so that a region name only counts when it stands as a
word: 南京路 or 江宁路 are roads, not places. A name shared by two districts (鼓楼区: 南京 and
徐州) is resolved, never guessed: by a city mentioned in the same text, else by the city of
another district mentioned (江宁区 … 鼓楼区 is 南京's), else by the caller's area, else it is reported
as ambiguous with its candidates. Of two districts said, the one said only as where the caller
lives (我家在江宁区，我女儿在鼓楼区上学) yields to the other: that is where the matter is.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import jieba

from ticketing.models.region import RegionLevel
from ticketing.regions import RegionRecord

_PLACE_FREQ = 2_000_000
_ROAD_TAILS = ("路", "街", "大街", "大道", "巷")
# A lake or river named after a district (云龙湖 lies in 泉山区, 秦淮河 runs through several) is a
# landmark, not the district.
_WATER_TAILS = ("湖", "河")
# ... unless the water word begins a town's name said with its suffix: 宜兴湖㳇镇 is a town of 宜兴.
_TOWN_AFTER_WATER = re.compile("[湖河][\u4e00-\u9fff\u3400-\u4dbf]{1,2}?(?:镇|乡|街道)")
# Development zones are named after their city but are not regions of their own (苏州工业园区).
_ZONE_SUFFIXES = ("工业园区", "高新区", "高新技术产业开发区", "经济技术开发区", "经济开发区", "开发区",
                  "经开区", "新区", "园区")
_ADDRESS_TAIL = ("街道|大街|大道|小区|新村|花园|公寓|家园|社区|广场|大厦|市场|公园|医院|中学|小学|学校|"
                 "幼儿园|车站|商场|超市|菜场|工地|工业园|路|街|巷|弄|苑|村|镇|乡|桥|站|厂")
_NUMBERED = r"(?:[0-9]+(?:号楼|号院|号|栋|幢|单元|室|楼|层|弄|组))"
_ADDRESS_UNIT = re.compile(
    rf"(?:[\u4e00-\u9fa5A-Za-z0-9]{{1,10}}?(?:{_ADDRESS_TAIL})+{_NUMBERED}*|{_NUMBERED}+)")
# Words before a place name that are not part of it: 我家住在|阳光小区 → 阳光小区.
_LEAD_WORDS = re.compile(
    "^.*(?:我家|我们|你们|他们|她们|这个|那个|这边|那边|这里|那里|附近|旁边|对面|门口|里面|"
    "住在|位于|就在|离|在|住|到|于|是|的|了|从|往|去|把|给|向|对|这|那|个|有|我|他|她|就)")
_TRAILING_WORDS = re.compile("(?:门口|旁边|附近|对面|里面|这边|那边|这里|那里)+$")


@dataclass(frozen=True, slots=True)
class PlaceMention:
    text: str
    start: int
    end: int
    candidates: tuple[RegionRecord, ...]


@dataclass(frozen=True, slots=True)
class PlaceResolution:
    region_code: str | None
    region_name: str | None
    how: str  # county, city, city_mentioned, county_mentioned, caller_area, ambiguous, province, none
    mentions: tuple[str, ...] = ()
    ambiguous: tuple[str, ...] = ()  # candidate region codes when unresolved
    address: str = ""
    involved: tuple[str, ...] = field(default=())  # every region code resolved in the text

    def as_dict(self) -> dict[str, object]:
        return {"region_code": self.region_code, "region_name": self.region_name, "how": self.how,
                "mentions": list(self.mentions), "ambiguous": list(self.ambiguous),
                "involved": list(self.involved)}


class PlaceResolver:
    """Built once from the region table; `resolve()` is pure and cheap (a jieba pass)."""

    def __init__(self, regions: Iterable[RegionRecord]) -> None:
        records = list(regions)
        self._index: dict[str, list[RegionRecord]] = {}
        city_shorts = {r.short_name for r in records if r.level is RegionLevel.CITY}
        for record in records:
            self._index.setdefault(record.name, []).append(record)
            short = record.short_name
            # 淮安 is the city; the district must be said in full (淮安区).
            if short != record.name and not (record.level is RegionLevel.COUNTY
                                              and short in city_shorts):
                self._index.setdefault(short, []).append(record)
        jieba.setLogLevel(logging.WARNING)
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        self._road_words = {name + tail: self._tokenizer.FREQ.get(name + tail, 0)
                            for name in self._index for tail in _ROAD_TAILS
                            if not name.endswith(("市", "区", "县", "省"))}
        for name in self._index:
            self._tokenizer.add_word(name, _PLACE_FREQ, "ns")

    def names(self) -> list[str]:
        return sorted(self._index)

    def mentions(self, text: str) -> list[PlaceMention]:
        found, position = [], 0
        for token in self._tokenizer.cut(text, HMM=False):
            records = self._index.get(token) or self._zone_city(token)
            end = position + len(token)
            if records and not self._is_road_name(token, text[end:end + 2]) and not (
                    text.startswith(_WATER_TAILS, end) and token != records[0].name
                    and not _TOWN_AFTER_WATER.match(text, end)):
                found.append(PlaceMention(token, position, end, tuple(records)))
            position = end
        return found

    def _is_road_name(self, name: str, following: str) -> bool:
        """南京路, 江宁路: a short place name that with the next character is a known road."""
        for tail in _ROAD_TAILS:
            if following.startswith(tail) and self._road_words.get(name + tail, 0) > 0:
                return True
        return False

    def _zone_city(self, token: str) -> list[RegionRecord] | None:
        if not token.endswith(_ZONE_SUFFIXES):
            return None
        for suffix in _ZONE_SUFFIXES:
            if token.endswith(suffix) and len(token) > len(suffix):
                records = self._index.get(token[: -len(suffix)])
                if records and all(r.level is RegionLevel.CITY for r in records):
                    return records
        return None

    def resolve(self, text: str, *, caller_area: str | None = None) -> PlaceResolution:
        mentions = self.mentions(text)
        address = free_address(text, mentions)
        names = tuple(m.text for m in mentions)
        cities = [c for m in mentions for c in m.candidates if c.level is RegionLevel.CITY]
        city_codes = {c.code for c in cities}
        county_cities = {counties[0].city_code for m in mentions
                         if len(counties := _counties(m)) == 1}
        resolved: list[tuple[RegionRecord, str]] = []
        spoken_at: dict[str, list[PlaceMention]] = {}  # region code → the mentions resolved to it
        ambiguous: tuple[str, ...] = ()
        for mention in mentions:
            counties = _counties(mention)
            if not counties:
                continue
            if len(counties) == 1:
                resolved.append((counties[0], "county"))
                spoken_at.setdefault(counties[0].code, []).append(mention)
                continue
            by_city = [c for c in counties if c.city_code in city_codes]
            by_county = [c for c in counties if c.city_code in county_cities]
            by_caller = [c for c in counties if caller_area and c.city_code == caller_area]
            if len(by_city) == 1:
                resolved.append((by_city[0], "city_mentioned"))
                spoken_at.setdefault(by_city[0].code, []).append(mention)
            elif len(by_county) == 1:
                resolved.append((by_county[0], "county_mentioned"))
                spoken_at.setdefault(by_county[0].code, []).append(mention)
            elif len(by_caller) == 1:
                resolved.append((by_caller[0], "caller_area"))
                spoken_at.setdefault(by_caller[0].code, []).append(mention)
            elif not ambiguous:
                ambiguous = tuple(c.code for c in counties)
        for mention in mentions:
            for city in mention.candidates:
                if city.level is RegionLevel.CITY:
                    spoken_at.setdefault(city.code, []).append(mention)
        involved = _involved([r.code for r, _ in resolved] + [c.code for c in cities], spoken_at, text)
        if resolved:
            record, how = _place_of_the_matter(resolved, cities, spoken_at, mentions, text)
        elif ambiguous:
            return PlaceResolution(None, None, "ambiguous", names, ambiguous, address, involved)
        elif cities:  # the first city said apart from the caller's home (我是无锡的，在常州出差 → 常州)
            record = next((c for c in cities if _said_apart(c.code, spoken_at, mentions, text)), cities[0])
            how = "city"
        else:
            province = next((c for m in mentions for c in m.candidates
                             if c.level is RegionLevel.PROVINCE), None)
            if province is None:
                return PlaceResolution(None, None, "none", names, (), address, involved)
            record, how = province, "province"
        return PlaceResolution(record.code, record.name, how, names, (), address, involved)


def _counties(mention: PlaceMention) -> list[RegionRecord]:
    return [c for c in mention.candidates if c.level is RegionLevel.COUNTY]


# 我家在江宁区, 我住在无锡滨湖区, 我们家住在江宁: where the caller lives, said before
# the place, like where the caller is from (我是无锡的，在常州出差 → 常州). Somebody else's home
# (我妈住在金坛, 有户人家在楼顶) is where the matter is.
_HOME_BEFORE = ("我家在", "我家住", "我家住在", "我家是", "我住在", "我们家在", "我们家住", "我们家住在",
                "我们住在")


def _said_apart(code: str, spoken_at: dict[str, list[PlaceMention]], mentions: list[PlaceMention],
                text: str) -> bool:
    """The region is said at least once other than as the caller's home or origin."""
    def home(mention: PlaceMention) -> bool:
        start = mention.start
        for earlier in reversed(mentions):  # 我住在|盐城|大丰: the names said just before count too
            if earlier.end == start:
                start = earlier.start
        return text[:start].endswith(_HOME_BEFORE) or _origin(text, start, mention.end)
    return not all(home(m) for m in spoken_at.get(code, []))


def _place_of_the_matter(resolved: list[tuple[RegionRecord, str]], cities: list[RegionRecord],
                         spoken_at: dict[str, list[PlaceMention]], mentions: list[PlaceMention],
                         text: str) -> tuple[RegionRecord, str]:
    """The first district said, unless it is said only as the caller's home and another place is
    said: another district, else a city said apart from the home (我家在如皋，无锡这边的房东 → 无锡)."""
    def said_apart(code: str) -> bool:
        return _said_apart(code, spoken_at, mentions, text)
    if len({record.code for record, _ in resolved}) > 1:
        for record, how in resolved:
            if said_apart(record.code):
                return record, how
    if not said_apart(resolved[0][0].code):
        homes = {record.city_code for record, _ in resolved}
        city = next((c for c in cities if c.code not in homes and said_apart(c.code)), None)
        if city is not None:
            return city, "city"
    return resolved[0]


# 我是徐州的, 老家盐城: where the caller is from, not a place their matter involves.
_ORIGIN_BEFORE = ("我是", "老家是", "老家", "我们是")
_ORIGIN_AFTER = ("的", "人")


def _origin(text: str, start: int, end: int) -> bool:
    """我是徐州的 / 老家盐城: the place at text[start:end] is said as where the caller is from."""
    before = text[max(0, start - 3):start]
    return before.endswith(_ORIGIN_BEFORE) and (
        before.endswith("老家") or text.startswith(_ORIGIN_AFTER, end))


def _involved(codes: list[str], spoken_at: dict[str, list[PlaceMention]], text: str) -> tuple[str, ...]:
    """The regions the matter involves: every region said, except one said only as the caller's
    origin when another place is said too (我是徐州的，在昆山打工 involves 昆山 only)."""
    unique = list(dict.fromkeys(codes))
    matter = [code for code in unique
              if not all(_origin(text, m.start, m.end) for m in spoken_at.get(code, []))]
    return tuple(matter or unique)


def free_address(text: str, mentions: list[PlaceMention]) -> str:
    """The street, road, 小区 or village fragment, without the region names before it."""
    masked = list(text)
    for mention in mentions:
        masked[mention.start:mention.end] = "|" * (mention.end - mention.start)
    working = "".join(masked)
    pieces: list[list[object]] = []  # [start, end, text]
    for match in _ADDRESS_UNIT.finditer(working):
        piece = _LEAD_WORDS.sub("", match.group())
        start = match.end() - len(piece)
        if pieces and start == pieces[-1][1]:
            pieces[-1][1], pieces[-1][2] = match.end(), f"{pieces[-1][2]}{piece}"
        else:
            pieces.append([start, match.end(), piece])
    for _, _, fragment in pieces:
        fragment = _TRAILING_WORDS.sub("", str(fragment))
        if len(fragment) >= 2 and not fragment.isdigit() and fragment not in _GENERIC:
            return fragment[:256]
    return ""


# Words that end like an address but name no place.
_GENERIC = frozenset(_ADDRESS_TAIL.split("|")) | frozenset((
    "马路", "道路", "公路", "高速公路", "十字路", "农村", "乡村", "城乡", "城镇", "乡镇", "大街小巷", "路上",
    "街上", "小路", "老小区", "新小区", "我们村", "本村", "菜市场", "停车场", "大桥", "天桥", "厂", "工厂",
    "网站", "网站上", "车站", "加油站", "医院", "学校", "幼儿园", "超市", "商场", "公园", "工地", "中学", "小学",
    "广场"
))
