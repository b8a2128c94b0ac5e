"""Administration of the routing rules (/admin): view, preview on sample requests under the
proposed rules, save (into the database, which every process then routes by), each save audited
with the rules before and after."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from agent_desk.api.deps import AdminCaller, DeskDep
from agent_desk.api.errors import AUTHED, responses
from agent_desk.desk import Desk
from ticketing.errors import RoutingError
from ticketing.live_config import save_rules, saved_rules
from ticketing.models import Unit
from ticketing.routing import CO_HANDLERS, CONDITIONS, LEADS, RoutingRequest, RoutingTable, Rule
from ticketing.vocabulary import Category

router = APIRouter(prefix="/api/admin/routing", tags=["admin"])


class RuleModel(BaseModel):
    name: str = Field(max_length=64)
    when: str = Field(max_length=32)
    lead: str = Field(max_length=32)
    co: str = Field(max_length=32)
    explain: str = Field("", max_length=400)

    def rule(self) -> Rule:
        return Rule(self.name.strip(), self.when, self.lead, self.co, self.explain.strip())

    @classmethod
    def of(cls, rule: Rule) -> RuleModel:
        return cls(**asdict(rule))


class Sample(BaseModel):
    label: str = Field("", max_length=64)
    category: Category = Category.COMPLAINT
    region_code: str | None = Field(None, pattern=r"^\d{6}$")
    departments: list[str] = Field(default_factory=list, max_length=10)
    involved_regions: list[str] = Field(default_factory=list, max_length=10)
    caller_area: str | None = Field(None, pattern=r"^\d{6}$")

    def request(self) -> RoutingRequest:
        return RoutingRequest(self.region_code, self.category.value, tuple(self.departments),
                              tuple(self.involved_regions), self.caller_area)


# Requests that between them reach every kind of rule in the shipped file.
SAMPLES = (
    Sample(label="玄武区 停水", region_code="320102", departments=["water_supply"]),
    Sample(label="南京市 噪音", region_code="320100", departments=["ecology"]),
    Sample(label="南京+苏州 跨市", region_code="320102", involved_regions=["320505"]),
    Sample(label="省级 高考", region_code="320000", departments=["education"]),
    Sample(label="地点不明 来电南京", caller_area="320100"),
    Sample(label="地点不明"),
)


class RulesView(BaseModel):
    rules: list[RuleModel]
    source: str = Field(description="database: saved on /admin; file: the rules file (none saved yet)")
    when: list[str]
    lead: list[str]
    co: list[str]
    samples: list[Sample]


class RulesWrite(BaseModel):
    rules: list[RuleModel] = Field(min_length=1, max_length=50)


class PreviewWrite(RulesWrite):
    samples: list[Sample] = Field(min_length=1, max_length=20)


class Outcome(BaseModel):
    lead: str | None  # the lead unit's name
    lead_id: str | None
    co_handlers: list[str]
    rule: str | None
    reasons: list[str]
    error: str | None = None


class PreviewRow(BaseModel):
    sample: Sample
    current: Outcome
    proposed: Outcome
    changed: bool


class Preview(BaseModel):
    rows: list[PreviewRow]


@router.get("/rules", response_model=RulesView, responses=responses(*AUTHED))
async def rules(desk: DeskDep, who: AdminCaller) -> RulesView:
    """The rules routing uses now, where they come from, the words a rule may use and sample requests."""
    await desk.tickets.refresh()
    async with desk.sessions() as session:
        source = "database" if await saved_rules(session) else "file"
    return RulesView(rules=[RuleModel.of(r) for r in desk.tickets.routing.rules], source=source,
                     when=list(CONDITIONS), lead=list(LEADS), co=list(CO_HANDLERS), samples=list(SAMPLES))


@router.post("/preview", response_model=Preview, responses=responses(400, *AUTHED))
async def preview(body: PreviewWrite, desk: DeskDep, who: AdminCaller) -> Preview:
    """Each sample routed under the rules in use and under the proposed ones; nothing is saved."""
    await desk.tickets.refresh()
    current = desk.tickets.routing
    proposed = current.with_rules([r.rule() for r in body.rules])
    rows = []
    for sample in body.samples:
        before, after = _route(current, sample), _route(proposed, sample)
        rows.append(PreviewRow(sample=sample, current=before, proposed=after,
                               changed=(before.lead_id, before.co_handlers) != (after.lead_id, after.co_handlers)))
    return await _named(desk, Preview(rows=rows))


@router.put("/rules", response_model=RulesView, responses=responses(400, *AUTHED))
async def save(body: RulesWrite, desk: DeskDep, who: AdminCaller) -> RulesView:
    """Save the rules: from now on the database's rules route every new dispatch, in every process."""
    await desk.tickets.refresh()
    before = [asdict(r) for r in desk.tickets.routing.rules]
    after = [r.rule() for r in body.rules]
    async with desk.sessions.begin() as session:
        await save_rules(session, after)
    await desk.audit.record(who.username, "routing.rules", "routing", "rules", before=before,
                            after=[asdict(r) for r in after])
    await desk.tickets.refresh(at_once=True)
    return await rules(desk, who)


def _route(table: RoutingTable, sample: Sample) -> Outcome:
    try:
        decision = table.route(sample.request())
    except RoutingError as exc:
        return Outcome(lead=None, lead_id=None, co_handlers=[], rule=None, reasons=[], error=str(exc))
    return Outcome(lead=decision.lead_unit_id, lead_id=decision.lead_unit_id, co_handlers=list(decision.co_handler_ids),
                   rule=decision.rule, reasons=list(decision.reasons))


async def _named(desk: Desk, preview: Preview) -> Preview:
    """Unit names in place of ids, where the directory has them."""
    outcomes = [o for row in preview.rows for o in (row.current, row.proposed)]
    ids = {u for o in outcomes for u in (o.lead_id, *o.co_handlers) if u}
    async with desk.sessions() as session:
        names = dict((await session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids)))).all())
    for outcome in outcomes:
        outcome.lead = names.get(outcome.lead_id or "", outcome.lead_id)
        outcome.co_handlers = [names.get(u, u) for u in outcome.co_handlers]
    return preview
