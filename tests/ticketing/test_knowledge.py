"""The knowledge base on SQLite FTS5 and PostgreSQL full text: segmentation, ranking, validity,
region scope, revisions with optimistic concurrency, and an index that follows every write."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from tests.conftest import Database
from tests.ticketing.helpers import Clock, new_ticket, service
from ticketing.actions import CloseDirect, FollowUp
from ticketing.db import make_session_factory
from ticketing.errors import ArticleNotFound, InvalidAction, InvalidKnowledgeRequest, StaleRevision
from ticketing.knowledge import ArticleInput, KnowledgeBase, SearchFilter, Segmenter, count_use
from ticketing.regions import province_records
from ticketing.vocabulary import Category, Rating, TicketState

pytestmark = pytest.mark.anyio

REGIONS = {r.code: r for r in province_records()}
TZ = ZoneInfo("Asia/Shanghai")
SEGMENTER = Segmenter()  # jieba loads once for the whole module
NANJING, XUANWU, SUZHOU = "320100", "320102", "320500"
FUND = ArticleInput(
    "住房公积金提取条件", "职工在南京市缴存住房公积金满3个月，购买自住住房、租赁住房或离职满半年的，"
    "可申请提取住房公积金。提取时请携带身份证和相关证明材料。", Category.CONSULTATION, (NANJING,),
    ("dept:320100:housing_fund",))


def knowledge(db: Database, clock: Clock | None = None) -> KnowledgeBase:
    return KnowledgeBase(db.sessions, REGIONS, tz=TZ, clock=clock or Clock(), segmenter=SEGMENTER)


def article(title: str, body: str, **fields: object) -> ArticleInput:
    return ArticleInput(title, body, **fields)  # type: ignore[arg-type]


async def titles(kb: KnowledgeBase, q: str = "", **filters: object) -> list[str]:
    page = await kb.search(SearchFilter(q=q, **filters), limit=50)  # type: ignore[arg-type]
    return [item.title for item in page.items]


def test_queries_are_cut_into_topic_words_with_their_parts() -> None:
    words = SEGMENTER.query("请问公积金怎么提取？")
    assert [w.text for w in words] == ["公积金", "提取"]
    assert SEGMENTER.query("停水通知")[0].parts == ("停水", "通知")
    assert [w.text for w in SEGMENTER.query("怎么办")] == ["怎么办"]  # nothing topical left: keep it all
    assert SEGMENTER.query("？！。") == []
    assert SEGMENTER.index_text("住房公积金提取。") == "住房 公积 积金 公积金 提取"


async def test_a_chinese_query_finds_the_article_in_other_words(db: Database) -> None:
    kb = knowledge(db)
    fund = await kb.create(FUND, "admin")
    await kb.create(article("社会保障卡补办", "社保卡遗失后可到银行网点或通过江苏智慧人社App申请补办。"), "admin")
    page = await kb.search(SearchFilter(q="公积金提取"))
    assert [i.id for i in page.items] == [fund.id]
    hit = page.items[0]
    marked = [hit.snippet[a:b] for a, b in hit.highlights]
    assert "公积金" in marked and "提取" in marked
    assert await titles(kb, "公积金 提取") == ["住房公积金提取条件"]
    assert await titles(kb, "提取公积金需要什么材料") == ["住房公积金提取条件"]


async def test_a_phrase_cut_as_one_word_finds_text_where_it_is_two(db: Database) -> None:
    kb = knowledge(db)
    await kb.create(article("玄武区计划停水",
                            "因管网改造，11月30日玄武区部分区域停水，停水的通知已在小区张贴。"), "admin")
    assert await titles(kb, "停水通知") == ["玄武区计划停水"]
    await kb.create(article("鼓楼区水压低", "高层住户水压低、停水时可联系物业。"), "admin")
    assert await titles(kb, "停水通知") == ["玄武区计划停水"]  # only one has both parts


async def test_a_word_none_has_whole_falls_back_to_its_parts(db: Database) -> None:
    kb = knowledge(db)
    await kb.create(article("鼓楼区水压低", "高层住户水压低、停水时可联系物业。"), "admin")
    assert await titles(kb, "停水通知") == ["鼓楼区水压低"]  # no 通知 anywhere: 停水 will do


async def test_title_matches_rank_first_and_a_query_wants_every_word(db: Database) -> None:
    kb = knowledge(db)
    filler = "办理时间为工作日上午九点至下午五点，节假日除外。" * 6
    await kb.create(article("城乡居民医保缴费标准", "按年度缴费。" + filler), "a")
    await kb.create(article("新生儿医保参保登记", filler + "新生儿参保后按城乡居民医保标准缴费。"), "a")
    await kb.create(article("医疗救助申请", "困难群众可以申请医疗救助，医保报销后个人负担部分可救助。"), "a")
    assert await titles(kb, "医保缴费") == ["城乡居民医保缴费标准", "新生儿医保参保登记"]
    assert await titles(kb, "医保参保") == ["新生儿医保参保登记"]
    assert (await titles(kb, "医保"))[-1] == "医疗救助申请"  # the only one without 医保 in its title


async def test_with_no_article_holding_every_word_any_word_will_do(db: Database) -> None:
    kb = knowledge(db)
    await kb.create(article("义务教育新生入学登记",
                            "适龄儿童入学登记需准备户口簿、房产证明等材料，登记时间为每年5月。"), "a")
    await kb.create(article("居住证办理", "来宁居住半年以上可申领居住证，材料为身份证和居住证明。"), "a")
    found = await titles(kb, "小孩上学要什么材料")  # 小孩 and 上学 appear nowhere; 材料 twice
    assert set(found) == {"居住证办理", "义务教育新生入学登记"}
    assert await titles(kb, "入学登记材料") == ["义务教育新生入学登记"]  # all words: one article


async def test_only_articles_valid_today_and_not_retired_by_default(db: Database) -> None:
    clock = Clock()  # Monday 2026-11-23 in Nanjing
    kb = knowledge(db, clock)
    today = date(2026, 11, 23)
    await kb.create(article("停水通知甲", "明日停水", valid_from=today, valid_until=today), "a")
    await kb.create(article("停水通知乙", "明日停水", valid_until=today - timedelta(days=1)), "a")
    await kb.create(article("停水通知丙", "明日停水", valid_from=today + timedelta(days=1)), "a")
    retired = await kb.create(article("停水通知丁", "明日停水"), "a")
    await kb.set_retired(retired.id, retired.revision, True, "a")
    assert await titles(kb, "停水") == ["停水通知甲"]
    assert await titles(kb) == ["停水通知甲"]
    assert await titles(kb, "停水", valid_on=today + timedelta(days=1)) == ["停水通知丙"]
    assert len(await titles(kb, "停水", include_inactive=True)) == 4
    clock.advance(days=1)
    assert await titles(kb, "停水") == ["停水通知丙"]


async def test_a_place_sees_its_own_its_citys_and_the_provinces_articles(db: Database) -> None:
    kb = knowledge(db)
    await kb.create(article("玄武区入学划片", "入学 划片范围", region_codes=(XUANWU,)), "a")
    await kb.create(article("南京市入学政策", "入学 政策", region_codes=(NANJING,)), "a")
    await kb.create(article("苏州市入学政策", "入学 政策", region_codes=(SUZHOU,)), "a")
    await kb.create(article("江苏省入学通知", "入学 通知"), "a")
    assert sorted(await titles(kb, "入学", region_code=XUANWU)) == [
        "南京市入学政策", "江苏省入学通知", "玄武区入学划片"]
    assert sorted(await titles(kb, "入学", region_code=NANJING)) == ["南京市入学政策", "江苏省入学通知"]
    assert sorted(await titles(kb, region_code=SUZHOU)) == ["江苏省入学通知", "苏州市入学政策"]
    assert len(await titles(kb, "入学")) == 4
    assert await titles(kb, "入学", category=Category.COMPLAINT) == []
    with pytest.raises(InvalidKnowledgeRequest):
        await titles(kb, "入学", region_code="999999")


async def test_a_result_lists_its_places_and_units_as_the_article_does(db: Database) -> None:
    kb = knowledge(db)
    both = await kb.create(article("宁苏两地入学政策", "入学 政策", region_codes=(SUZHOU, NANJING),
                                   unit_ids=("dept:320500:education", "dept:320100:education")), "a")
    plain = await kb.create(article("江苏省入学通知", "入学 通知"), "a")
    for q in ("入学", ""):
        found = {item.id: item for item in (await kb.search(SearchFilter(q=q))).items}
        assert (found[both.id].region_codes, found[both.id].unit_ids) == (both.region_codes, both.unit_ids) == (
            [NANJING, SUZHOU], ["dept:320100:education", "dept:320500:education"])
        assert (found[plain.id].region_codes, found[plain.id].unit_ids) == ([], [])


async def test_every_edit_is_a_revision_and_a_stale_one_is_refused(db: Database) -> None:
    clock = Clock()
    kb = knowledge(db, clock)
    created = await kb.create(FUND, "handler1", note="首次发布")
    clock.advance(hours=1)
    edited = await kb.edit(created.id, 1, article(FUND.title, FUND.body.replace("3个月", "6个月"),
                                                  region_codes=(NANJING, XUANWU)), "handler2", note="政策调整")
    assert (edited.revision, edited.updated_by, edited.created_by) == (2, "handler2", "handler1")
    assert edited.region_codes == [NANJING, XUANWU] and edited.unit_ids == []
    with pytest.raises(StaleRevision) as stale:
        await kb.edit(created.id, 1, FUND, "handler3")
    assert stale.value.current == 2
    unchanged = await kb.edit(created.id, 2, article(FUND.title, edited.body, region_codes=(XUANWU, NANJING)), "x")
    assert unchanged.revision == 2  # nothing changed: no revision
    retired = await kb.set_retired(created.id, 2, True, "admin", note="政策废止")
    assert (retired.retired, retired.revision) == (True, 3)
    history = await kb.revisions(created.id)
    assert [(r.revision, r.action, r.actor) for r in history] == [
        (3, "retire", "admin"), (2, "edit", "handler2"), (1, "create", "handler1")]
    assert history[1].changed == ["body", "region_codes", "unit_ids"] and history[1].note == "政策调整"
    assert "3个月" in history[2].body and "6个月" in history[1].body
    assert history[2].unit_ids == ["dept:320100:housing_fund"]
    assert [r.revision for r in await kb.revisions(created.id, before=3, limit=1)] == [2]
    restored = await kb.set_retired(created.id, 3, False, "admin")
    assert (restored.retired, restored.revision) == (False, 4)
    with pytest.raises(ArticleNotFound):
        await kb.revisions(999_999)


async def test_the_index_follows_edits(db: Database) -> None:
    kb = knowledge(db)
    created = await kb.create(article("社保卡补办", "社保卡遗失后可到银行网点补办。"), "a")
    await kb.edit(created.id, 1, article("医保电子凭证", "医保电子凭证可在支付宝或微信中激活。"), "a")
    assert await titles(kb, "社保卡") == []
    assert await titles(kb, "电子凭证") == ["医保电子凭证"]
    assert await kb.reindex() == 0
    async with db.sessions.begin() as session:  # as if segmented by an older jieba
        await session.execute(text("UPDATE kb_articles SET search_body = 'x', search_title = 'x'"))
    assert await titles(kb, "电子凭证") == []
    assert await kb.reindex() == 1
    assert await titles(kb, "电子凭证") == ["医保电子凭证"]


async def test_two_editors_of_one_revision_cannot_both_win(db: Database) -> None:
    """Real concurrent sessions from two engines, as two API workers would have."""
    kb = knowledge(db)
    created = await kb.create(FUND, "a")
    other_engine = db.target.engine()
    try:
        kb2 = KnowledgeBase(make_session_factory(other_engine), REGIONS, tz=TZ, segmenter=SEGMENTER)
        results = await asyncio.gather(
            kb.edit(created.id, 1, article("甲", "甲的正文"), "one"),
            kb2.edit(created.id, 1, article("乙", "乙的正文"), "two"),
            return_exceptions=True)
    finally:
        await other_engine.dispose()
    assert sorted(type(r).__name__ for r in results) == ["ArticleView", "StaleRevision"], results
    assert [r.revision for r in await kb.revisions(created.id)] == [2, 1]


async def test_bad_articles_are_refused(db: Database) -> None:
    kb = knowledge(db)
    for bad in (article(" ", "正文"), article("标题", "正文", region_codes=("999999",)),
                article("标题", "正文", valid_from=date(2026, 2, 1), valid_until=date(2026, 1, 1)),
                article("标题", "正文", unit_ids=("dept:nowhere",))):
        with pytest.raises(InvalidKnowledgeRequest):
            await kb.create(bad, "a")
    with pytest.raises(ArticleNotFound):
        await kb.edit(123456, 1, FUND, "a")
    assert await titles(kb, include_inactive=True) == []


async def test_pages_follow_the_rank_without_repeats(db: Database) -> None:
    kb = knowledge(db)
    for n in range(23):
        await kb.create(article(f"公积金问答{n:02d}", "公积金 " * (n % 5 + 1) + f"第{n}条"), "a")
    seen: list[int] = []
    after = None
    while True:
        page = await kb.search(SearchFilter(q="公积金"), after=after, limit=10)
        seen += [i.id for i in page.items]
        if page.next_key is None:
            break
        after = page.next_key
    assert len(seen) == 23 == len(set(seen))
    with pytest.raises(InvalidKnowledgeRequest):
        await kb.search(SearchFilter(), after=("all", 1.0, 5))  # a search cursor on a plain list


async def test_without_a_query_the_most_used_come_first(db: Database) -> None:
    kb = knowledge(db)
    ids = [(await kb.create(article(f"文章{n}", "正文"), "a")).id for n in range(3)]
    async with db.sessions.begin() as session:
        for _ in range(2):
            assert await count_use(session, ids[1]) == 1
        assert await count_use(session, ids[2]) == 1
        assert await count_use(session, 999_999) is None
    listed = await kb.search(SearchFilter(), limit=2)
    assert [(i.id, i.hits) for i in listed.items] == [(ids[1], 2), (ids[2], 1)]
    rest = await kb.search(SearchFilter(), after=listed.next_key, limit=2)
    assert [i.id for i in rest.items] == [ids[0]] and rest.next_key is None
    retired = await kb.set_retired(ids[0], 1, True, "a")
    async with db.sessions.begin() as session:
        assert await count_use(session, retired.id) is None  # a retired article answers nothing


async def test_a_migrated_database_has_a_working_index(db: Database, tmp_path: Path) -> None:
    """`hotline db upgrade` builds the same index as create_all (the migration renders its DDL)."""
    from tests.conftest import DatabaseTarget
    from ticketing.migrations.runner import upgrade
    from ticketing.seed import seed_reference_data

    if db.backend == "sqlite":
        target = DatabaseTarget("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}")
    else:
        schema = f"kb_mig_{tmp_path.name[-12:].replace('-', '_').lower()}"
        async with db.engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        target = DatabaseTarget("postgres", db.target.url,
                                {"connect_args": {"server_settings": {"search_path": schema}}})
    await asyncio.to_thread(upgrade, target.url, "head", target.engine_kwargs)
    engine = target.engine()
    try:
        sessions = make_session_factory(engine)
        await seed_reference_data(sessions)
        kb = KnowledgeBase(sessions, REGIONS, tz=TZ, clock=Clock(), segmenter=SEGMENTER)
        await kb.create(FUND, "a")
        assert [i.title for i in (await kb.search(SearchFilter(q="公积金提取"))).items] == [FUND.title]
    finally:
        await engine.dispose()
        if db.backend == "postgres":
            async with db.engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


async def test_a_direct_answer_from_an_article_counts_one_use(db: Database) -> None:
    kb, tickets = knowledge(db), service(db.sessions)
    fund = await kb.create(FUND, "admin")
    await kb.edit(fund.id, 1, article(FUND.title, FUND.body + "租房提取可按月办理。"), "admin")
    ticket = await tickets.create(new_ticket(category=Category.CONSULTATION, description="咨询公积金提取"), "agent1")
    closed = await tickets.act(ticket.id, CloseDirect(answer="可以提取，需身份证。", article_id=fund.id), "agent1")
    assert closed.state is TicketState.CLOSED and closed.kb_article_id == fund.id
    assert (await kb.get(fund.id)).hits == 1 and (await kb.get(fund.id)).revision == 2  # a use is no edit
    close_event = (await tickets.history(ticket.id))[-1]
    assert close_event.data == {"article_id": fund.id, "article_revision": 2}
    # 重办 after an unsatisfied rating; the second answer cites nothing, and the ticket says so.
    await tickets.act(ticket.id, FollowUp(rating=Rating.UNSATISFIED), "agent1")
    again = await tickets.act(ticket.id, CloseDirect(answer="已电话说明。"), "agent1")
    assert again.kb_article_id is None and (await kb.get(fund.id)).hits == 1


async def test_a_retired_or_unknown_article_answers_nothing(db: Database) -> None:
    kb, tickets = knowledge(db), service(db.sessions)
    fund = await kb.create(FUND, "admin")
    await kb.set_retired(fund.id, 1, True, "admin")
    ticket = await tickets.create(new_ticket(category=Category.CONSULTATION), "agent1")
    for article_id in (fund.id, 999_999):
        with pytest.raises(InvalidAction):
            await tickets.act(ticket.id, CloseDirect(answer="答复", article_id=article_id), "agent1")
    assert (await tickets.get(ticket.id)).state is TicketState.ACCEPTED  # nothing changed
    assert (await kb.get(fund.id)).hits == 0
