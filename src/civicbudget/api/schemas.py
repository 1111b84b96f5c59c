"""Request and response shapes of the JSON API."""

from __future__ import annotations

import datetime as dt

from ninja import Schema


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None
    details: list[dict] = []
    details_omitted: int = 0


class CommunityOut(Schema):
    id: int
    name: str
    code: str
    population: int


class StreetOut(Schema):
    id: int
    name: str
    code: str
    population: int
    communities: list[CommunityOut]


class DistrictOut(Schema):
    id: int
    name: str
    code: str
    population: int


class DistrictTreeOut(DistrictOut):
    streets: list[StreetOut]


class StageRef(Schema):
    id: int
    order: int
    kind: str
    name: str
    name_en: str


class StageOut(StageRef):
    allowed_actions: list[str]
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    state: str


class CycleOut(Schema):
    id: int
    name: str
    name_en: str
    year: int
    district_id: int
    district: str
    template_key: str
    status: str
    current_stage: StageRef | None


class PoolOut(Schema):
    id: int
    level: str
    street_id: int | None
    community_id: int | None
    place: str
    amount_yuan: int


class CycleDetailOut(CycleOut):
    config: dict
    total_budget_yuan: int | None
    pools_total_yuan: int
    stages: list[StageOut]
    pools: list[PoolOut]
    street_ids: list[int]
    community_ids: list[int]


class TemplateStageOut(Schema):
    kind: str
    name: str
    name_en: str
    days: int


class TemplateOut(Schema):
    key: str
    name: str
    name_en: str
    source: str
    config: dict
    stages: list[TemplateStageOut]


class AdvanceIn(Schema):
    reason: str = ""
    expected_stage_id: int | None = None


class PoolIn(Schema):
    level: str
    place_id: int
    amount_yuan: int


class ImportOut(Schema):
    created: int
    updated: int
    unchanged: int


class AuditOut(Schema):
    id: int
    at: dt.datetime
    actor: str
    action: str
    outcome: str
    object_type: str
    object_id: str
    object: str
    before: dict | None
    after: dict | None
    message: str


class TodoItemOut(Schema):
    kind: str
    label: str
    count: int
    overdue: int
    due_at: dt.datetime | None
    url: str


class TodoCycleOut(Schema):
    cycle_id: int
    cycle: str
    stage: str
    stage_ends_at: dt.datetime | None
    items: list[TodoItemOut]


class TodoOut(Schema):
    total: int
    cycles: list[TodoCycleOut]
