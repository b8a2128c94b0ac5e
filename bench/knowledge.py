"""Knowledge-base search benchmark.

Loads N generated articles (default 10,000: Jiangsu consultation topics × cities and counties,
300–700 characters each, a tenth expired or not yet valid, 5 % retired) through the same jieba
segmentation as the service, on SQLite (FTS5) and PostgreSQL (tsvector + GIN). Then runs
`KnowledgeBase.search` — segmentation, full-text match, rank, validity and region filters, page of
20 with snippets — for 20 typical agent queries, each with the caller's county, and the plain
list by hits. Reports p50/p95/p99, and this process's CPU per request (the database server's is
not in it; on SQLite the database runs in this process).

    python bench/knowledge.py [--articles 10000] [--rounds 25] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit, summary_ms
from sqlalchemy import insert, text
from tickets import database, drop, prepare

from ticketing.db import make_session_factory
from ticketing.knowledge import KnowledgeBase, SearchFilter, Segmenter
from ticketing.models import KbArticle, KbArticleRegion
from ticketing.regions import province_records
from ticketing.vocabulary import Category

REGIONS = {r.code: r for r in province_records()}
CITIES = [r for r in REGIONS.values() if r.level.value == "city"]
COUNTIES = [r for r in REGIONS.values() if r.level.value == "county"]
TODAY = date(2026, 11, 23)
TOPICS = {
    "住房公积金提取": ["缴存职工购买自住住房可以申请提取住房公积金", "租房提取按月办理，全程网上办理",
                  "离职满半年未再就业的可以销户提取", "提取需要身份证和购房合同"],
    "住房公积金贷款": ["公积金贷款额度按账户余额和缴存基数计算", "首套住房首付比例较低", "贷款需连续足额缴存"],
    "社保卡补办": ["社会保障卡丢失后先拨打12333挂失", "到合作银行网点即时补领", "换卡后医保账户不受影响"],
    "医保参保缴费": ["城乡居民医保集中缴费期为每年九月至十二月", "新生儿出生后可以随时参保", "通过医保云App缴费"],
    "异地就医备案": ["长期在外省居住的参保人可办理异地就医备案", "备案后在就医地直接结算", "临时外出就医报销比例较低"],
    "新生儿落户": ["新生儿出生后由监护人申报户口登记", "需要出生医学证明和父母户口簿", "出生一件事可以联办"],
    "居住证办理": ["居住半年以上可以申领居住证", "需要租赁合同或住宿证明", "居住证每年签注一次"],
    "义务教育入学": ["适龄儿童入学实行网上登记", "需要户口簿和房产证明", "施教区范围以教育局公布为准"],
    "计划停水": ["因管网改造部分区域计划停水", "恢复供水后水压可能偏低", "请居民提前储水"],
    "养老金资格认证": ["退休人员每年进行一次领取资格认证", "可以通过手机刷脸认证", "未认证的养老金暂停发放"],
    "灵活就业参保": ["灵活就业人员可以个人身份参加养老保险", "缴费基数在上下限之间自主选择",
                     "累计缴费满十五年可按月领取"],
    "不动产登记": ["二手房买卖需要办理不动产转移登记", "登记需要不动产权证书和身份证", "一窗受理当场领证"],
    "驾驶证换证": ["驾驶证有效期满前九十日内申请换证", "可在交管App上网上办理", "需要体检证明"],
    "营业执照办理": ["个体工商户营业执照可以全程网办", "名称自主申报", "需要经营场所证明"],
    "失业保险金": ["失业人员可以申领失业保险金", "需要办理失业登记", "领取期限与缴费年限有关"],
    "公租房申请": ["住房困难家庭可以申请公共租赁住房", "收入和住房条件需要审核", "轮候期间可以领取租赁补贴"],
    "电动自行车登记": ["电动自行车需要办理登记上牌", "需要购车发票和合格证", "非标车过渡期满后禁止上路"],
    "燃气报装": ["新建住宅燃气报装可以网上申请", "开通前需要安全检查", "燃气表故障拨打服务热线"],
}
GENERIC = ["办理时间为工作日上午九点至下午五点", "具体以主管部门最新公告为准", "市民也可以拨打12345热线咨询",
           "材料不全的可以先预约再补正", "节假日期间网上受理照常", "办理结果通过短信告知", "不收取任何费用"]
QUERIES = ["公积金提取", "公积金怎么贷款", "社保卡丢了怎么补办", "医保缴费", "异地就医备案", "新生儿落户需要什么材料",
           "居住证办理", "小孩上学要什么材料", "停水通知", "养老金资格认证", "灵活就业参保", "二手房过户",
           "驾驶证到期换证", "个体户营业执照", "失业金怎么领", "公租房申请条件", "电动车上牌", "燃气开户",
           "12345热线", "办理时间"]


def articles(count: int, segmenter: Segmenter, seed: int = 5) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    rows, regions = [], []
    topics = list(TOPICS)
    for i in range(1, count + 1):
        topic = topics[i % len(topics)]
        place = rng.choice([None] * 3 + CITIES * 4 + COUNTIES)
        title = f"{place.name if place else '江苏省'}{topic}{rng.choice(['办理指南', '常见问题', '政策解读', '通知'])}"
        sentences = [rng.choice(TOPICS[topic]) for _ in range(rng.randint(3, 6))] + \
            [rng.choice(GENERIC) for _ in range(rng.randint(4, 10))] + [f"咨询电话{rng.randint(80000000, 89999999)}"]
        body = "。".join(sentences) + "。"
        window = rng.random()
        valid_from = TODAY + timedelta(days=30) if window < 0.05 else None
        valid_until = TODAY - timedelta(days=30) if 0.05 <= window < 0.10 else None
        rows.append({"id": i, "title": title, "body": body, "category": Category.CONSULTATION,
                     "valid_from": valid_from, "valid_until": valid_until, "retired": rng.random() < 0.05,
                     "hits": rng.randrange(200), "search_title": segmenter.index_text(title),
                     "search_body": segmenter.index_text(body), "created_by": "bench", "updated_by": "bench",
                     "revision": 1})
        if place:
            regions.append({"article_id": i, "region_code": place.code})
    return rows, regions


async def bench(backend: str, rows: list[dict[str, Any]], regions: list[dict[str, Any]], rounds: int,
                segmenter: Segmenter, tmp: Path) -> dict[str, Any]:
    url, kwargs, schema = await database(backend, tmp)
    engine = await prepare(url, kwargs, schema)
    try:
        started = time.perf_counter()
        async with engine.begin() as conn:
            for offset in range(0, len(rows), 2000):
                await conn.execute(insert(KbArticle), rows[offset:offset + 2000])
            await conn.execute(insert(KbArticleRegion), regions)
            await conn.execute(text("ANALYZE"))
        load_s = time.perf_counter() - started
        kb = KnowledgeBase(make_session_factory(engine), REGIONS, tz=ZoneInfo("Asia/Shanghai"),
                           clock=lambda: datetime(2026, 11, 23, 2, tzinfo=UTC), segmenter=segmenter)
        rng = random.Random(3)
        places = [rng.choice(COUNTIES).code for _ in QUERIES]
        for q, place in zip(QUERIES, places, strict=True):  # warm-up, and check every query finds something
            assert (await kb.search(SearchFilter(q=q, region_code=place))).items, q
        searches, listing, found = [], [], []
        cpu0 = time.process_time()
        for _ in range(rounds):
            for q, place in zip(QUERIES, places, strict=True):
                t0 = time.perf_counter()
                page = await kb.search(SearchFilter(q=q, region_code=place))
                searches.append(time.perf_counter() - t0)
                found.append(len(page.items))
            t0 = time.perf_counter()
            await kb.search(SearchFilter(region_code=rng.choice(COUNTIES).code))
            listing.append(time.perf_counter() - t0)
        cpu_ms = (time.process_time() - cpu0) * 1000 / (len(searches) + len(listing))
        return {"backend": backend, "articles": len(rows), "load_s": round(load_s, 1),
                "searches": len(searches), "mean_results": round(sum(found) / len(found), 1),
                "search": summary_ms(searches), "list_by_hits": summary_ms(listing),
                "client_cpu_ms_per_request": round(cpu_ms, 2)}
    finally:
        await drop(engine, schema)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=25, help="each round runs every query once")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    segmenter = Segmenter()
    segmenter.load()
    started = time.perf_counter()
    rows, regions = articles(args.articles, segmenter)
    segment_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        results = [await bench(b, rows, regions, args.rounds, segmenter, Path(tmp)) for b in args.backends.split(",")]
    emit("knowledge", {"segment_s": round(segment_s, 1), "results": results})


if __name__ == "__main__":
    asyncio.run(main())
