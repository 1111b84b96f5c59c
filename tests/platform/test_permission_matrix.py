"""The permission matrix over real HTTP, generated from the URL map.

Every page route (``get_resolver()``, walked recursively) and every API operation (the
OpenAPI document) must be declared here: as public, as a voter route, or in ``SPEC`` with the
action it needs, the place it acts on and how to build its URL and a valid body. A route added
later without a declaration fails ``test_every_route_is_declared``; a declared staff route
without a permission check fails the matrix, which tries each case with every role at an own
and another place, a resident and an anonymous visitor, at the stage that opens the action
and one that does not:

- allowed: 2xx/3xx, no refusal in the audit trail, and (for a write) an "ok" audit row;
- refused: 403 for staff and residents (401 from the API, the login page for an anonymous
  visitor on a page), no row added to any table but the audit trail, and a "denied" row.

The expectation comes from the product's rule (``SPEC_ROLE``, ``SPEC_STAGE`` of
test_permissions), never from ``permission_check``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from permission_spec import SPEC_ROLE, SPEC_STAGE, STAGE_ACTIONS

from factories import DepartmentFactory, UserFactory, make_cycle, make_project, run_stage, staff

# -- the declaration ----------------------------------------------------------------------------

#: Pages anyone may open (no login): the public site, sign-in, language switching, health.
PUBLIC_PAGES = {
    "web:home", "web:district", "web:cycle", "web:staff-login", "web:staff-logout",
    "proposals:propose", "proposals:projects", "proposals:project", "proposals:track-lookup",
    "proposals:track", "deliberation:public", "deliberation:ballot", "voting:start",
    "voting:verify", "voting:ballot", "voting:receipt-lookup", "voting:receipt", "voting:results",
    "voting:ledger-download", "paperaudit:json", "results:publication", "delivery:cycle", "delivery:project",
    "delivery:photo", "partners:list", "partners:register", "partners:organisation",
    # An organisation's desk: its access key, not a staff role (tests/platform/test_partners.py).
    "partners:desk", "partners:desk-action", "opendata:index", "opendata:table", "opendata:ballot",
    "opendata:dashboard", "set_language", "healthz", "favicon", "outreach:short", "notifications:opt-out",
    # The API's own pages; its operations are declared one by one below.
    "api:openapi-json", "api:openapi-view", "api:api-root",
}
#: Pages of the signed-in user's own account, whatever their roles: the second factor of
#: sign-in, and revoking one of their own API tokens (another user's answers 404).
OWN_ACCOUNT_PAGES = {"web:staff-otp-verify", "web:staff-otp-enrol", "web:staff-api-token-revoke"}
#: API operations without sign-in: reads of published data, and residents' own writes
#: (a proposal, an objection, a voter's one-time code and token), which carry their own checks.
PUBLIC_API = {
    "GET /api/districts", "GET /api/districts/{district_id}", "GET /api/cycles",
    "GET /api/cycle-templates", "GET /api/cycles/{cycle_id}", "POST /api/cycles/{cycle_id}/proposals",
    "GET /api/proposals/track/{code}", "GET /api/cycles/{cycle_id}/projects",
    "GET /api/projects/{project_id}", "POST /api/cycles/{cycle_id}/voters/code",
    "POST /api/cycles/{cycle_id}/voters/token", "GET /api/cycles/{cycle_id}/receipts/{receipt}",
    "GET /api/cycles/{cycle_id}/turnout", "GET /api/cycles/{cycle_id}/results",
    "GET /api/cycles/{cycle_id}/ballot-lists", "GET /api/ballot-lists/{ballot_id}",
    "GET /api/cycles/{cycle_id}/screening", "GET /api/cycles/{cycle_id}/decided",
    "GET /api/cycles/{cycle_id}/publications", "POST /api/publications/{publication_id}/objections",
    "GET /api/cycles/{cycle_id}/final-states", "GET /api/cycles/{cycle_id}/progress",
    "GET /api/cycles/{cycle_id}/open-data/{name}", "GET /api/districts/{district_id}/statistics",
    "POST /api/phone-codes", "GET /api/organisations/{organisation_id}",
}
#: API operations for a voter's bearer token: a staff session opens none of them.
VOTER_API = {
    "GET /api/cycles/{cycle_id}/my-ballots": lambda c: f"/api/cycles/{c.cycle.pk}/my-ballots",
    "POST /api/cycles/{cycle_id}/ballots": lambda c: f"/api/cycles/{c.cycle.pk}/ballots",
}

#: The stage kind that opens each stage action, and one that does not.
OPEN_AT = {"configure": "launch", "submit": "collect", "merge": "screen", "screen": "screen",
           "review": "screen", "deliberate": "screen", "vote": "vote", "publish": "publish",
           "reply": "reply", "implement": "implement", "evaluate": "evaluate"}
CLOSED_AT = {a: ("screen" if a == "submit" else "collect") for a in OPEN_AT}


@dataclass(frozen=True)
class Case:
    """One request of a route: ``action`` needed at ``target`` (a key of ``COVERS``)."""

    method: str
    action: str
    target: str
    url: Callable
    body: Callable | None = None
    label: str = ""
    #: False for a write that passes the check and then finds nothing to do in this world.
    effect: bool = True
    files: Callable | None = field(default=None)
    #: Stage kinds to try when the action's own rule does not say (e.g. a stage advance).
    at: tuple[str, ...] = ()
    #: The role and place of ``action`` suffice, whatever the stage: seeing what one may do
    #: later (merge suggestions while proposals are still collected).
    any_stage: bool = False

    def stages(self) -> tuple[str, ...]:
        if self.at:
            return self.at
        if self.any_stage:
            return (OPEN_AT[self.action], CLOSED_AT[self.action])
        if self.action in STAGE_ACTIONS:
            return (OPEN_AT[self.action], CLOSED_AT[self.action])
        return ("screen",)


def page(name, method, action, target, body=None, label="", key="cycle", **kw) -> Case:
    def url(c):
        arg = {"cycle": {"cycle_id": c.cycle.pk}, "district": {"district_id": c.world.district.pk},
               "project": {"project_id": c.ph.pk}, "none": {}}[key]
        return reverse(name, kwargs=arg)
    return Case(method, action, target, url, body, label or method, **kw)


def api(method, action, target, url, body=None, label="", **kw) -> Case:
    return Case(method, action, target, url, body, label or method, **kw)


def _criteria_ok(c) -> dict:
    return {f"pass_{k}": "1" for k in c.criteria}


SPEC: dict[str, list[Case]] = {
    # -- pages ----------------------------------------------------------------------------
    "web:staff-home": [page("web:staff-home", "GET", "view_staff", "anywhere", key="none")],
    "web:staff-audit": [page("web:staff-audit", "GET", "view_audit", "anywhere", key="none")],
    "web:staff-api-tokens": [page("web:staff-api-tokens", "GET", "view_staff", "anywhere", key="none")],
    "voting:phones": [page("voting:phones", "GET", "manage_cycles", "district")],
    "POST /api/polling-stations/{station_id}/check-ins": [
        api("POST", "vote", "haida", lambda c: f"/api/polling-stations/{c.station.pk}/check-ins",
            lambda c: {"doc_type": "id_card", "doc_number": c.voter_id_number, "community_id": c.world.haida.pk,
                       "basis": "live"})],
    "web:staff-places": [
        page("web:staff-places", "GET", "view_staff", "in_district", key="district"),
        page("web:staff-places", "POST", "configure_places", "district", key="district",
             body=lambda c: {"form": "street", "street-name": "新街道", "street-population": "100",
                             "street-code": ""}),
    ],
    "web:staff-cycle-new": [
        page("web:staff-cycle-new", "GET", "view_staff", "in_district", key="district"),
        page("web:staff-cycle-new", "POST", "manage_cycles", "district", key="district",
             body=lambda c: {"template_key": "meilan_full_pb", "name": "新周期", "name_en": "",
                             "year": "2031", "starts_on": "2031-01-01",
                             "total_budget_yuan": ""}),
    ],
    "web:staff-cycle": [page("web:staff-cycle", "GET", "view_staff", "in_district")],
    "web:staff-cycle-participants": [
        page("web:staff-cycle-participants", "POST", "configure", "district",
             body=lambda c: {"streets": [c.world.haidian.pk],
                             "communities": [c.world.haida.pk, c.world.fuan.pk]}),
    ],
    "web:staff-cycle-pool": [
        page("web:staff-cycle-pool", "POST", "configure", "haida",
             body=lambda c: {"level": "community", "place_id": c.world.haida.pk,
                             "amount_yuan": "310000"}),
    ],
    "web:staff-cycle-advance": [
        page("web:staff-cycle-advance", "POST", "manage_cycles", "district",
             body=lambda c: {"reason": "matrix test"}, at=("collect",)),
    ],
    # Before the vote (who may vote is frozen once it starts).
    "web:staff-cycle-electorate": [
        page("web:staff-cycle-electorate", "POST", "manage_cycles", "district",
             body=lambda c: {"kind": "group", "name": "残疾人联合会会员"}, at=("collect",)),
    ],
    "web:staff-cycle-members": [
        page("web:staff-cycle-members", "POST", "manage_cycles", "district",
             files=lambda c: {"file": _upload("members.csv", "doc_number\n110101199003074514\n")},
             at=("collect",)),
    ],
    "proposals:staff-entry": [
        page("proposals:staff-entry", "GET", "view_staff", "in_district"),
        page("proposals:staff-entry", "POST", "submit", "haida",
             body=lambda c: {"community": c.world.haida.pk, "text": "楼道灯坏了，请修理",
                             "title": "修楼道灯", "project_type": "works", "address": "",
                             "proposer_name": "王五", "phone": "13900003333",
                             "proposer_kind": "resident", "channel": "paper"}),
    ],
    "proposals:staff-import": [
        page("proposals:staff-import", "GET", "view_staff", "in_district"),
        page("proposals:staff-import", "POST", "submit", "haida",
             files=lambda c: {"file": _upload("paper.csv", "社区,内容,提议人\n海达社区,楼道装灯,王大妈\n")}),
    ],
    "proposals:staff-workbench": [page("proposals:staff-workbench", "GET", "view_staff", "in_district")],
    "proposals:staff-workbench-action": [
        page("proposals:staff-workbench-action", "POST", "merge", "haida", label="group",
             body=lambda c: {"action": "group", "proposals": [c.loose.pk], "name": "新项目"}),
        page("proposals:staff-workbench-action", "POST", "merge", "haidian", label="group-from-street",
             body=lambda c: {"action": "group", "proposals": [c.street_proposal.pk], "name": "拆出"}),
        page("proposals:staff-workbench-action", "POST", "merge", "haida", label="move",
             body=lambda c: {"action": "move", "proposals": [c.loose.pk], "project": c.ph.pk}),
        page("proposals:staff-workbench-action", "POST", "merge", "haida", label="split",
             body=lambda c: {"action": "split", "proposals": [c.ph_proposal.pk]}),
        page("proposals:staff-workbench-action", "POST", "merge", "haida", label="dismiss",
             body=lambda c: {"action": "dismiss", "proposals": [c.loose.pk],
                             "members": [c.ph_proposal.pk]}),
        page("proposals:staff-workbench-action", "POST", "merge", "haida", label="merge",
             body=lambda c: {"action": "merge", "projects": [c.ph.pk, c.ph2.pk]}),
        page("proposals:staff-workbench-action", "POST", "merge", "haida", label="undo",
             body=lambda c: {"action": "undo", "operation": c.operation.pk}),
        page("proposals:staff-workbench-action", "POST", "merge", "haida", label="rename",
             body=lambda c: {"action": "rename", "project": c.ph.pk, "name": "新名字"}),
    ],
    "deliberation:staff": [page("deliberation:staff", "GET", "view_staff", "in_district")],
    "deliberation:staff-roundtable": [
        page("deliberation:staff-roundtable", "GET", "view_staff", "in_district")],
    "deliberation:staff-reviews": [
        page("deliberation:staff-reviews", "GET", "view_staff", "in_district"),
        page("deliberation:staff-reviews", "POST", "review", "department",
             body=lambda c: {"review": c.review.pk, "opinion": "feasible",
                             "estimated_cost_yuan": "90000", "notes": "可行"}),
    ],
    "deliberation:staff-bodies": [
        page("deliberation:staff-bodies", "GET", "view_staff", "in_district"),
        page("deliberation:staff-bodies", "POST", "deliberate", "haida", label="sitting-close",
             body=lambda c: {"action": "close", "sitting": c.sitting.pk, "minutes": "会议记录"}),
    ],
    "deliberation:staff-action": [
        page("deliberation:staff-action", "POST", "configure", "district", label="criteria",
             body=lambda c: {"action": "criteria", "criteria": "public_benefit\nwithin_budget"}),
        page("deliberation:staff-action", "POST", "screen", "haida", label="prepare",
             body=lambda c: {"action": "prepare", "level": "community", "place": c.world.haida.pk}),
        page("deliberation:staff-action", "POST", "deliberate", "haida", label="roundtable",
             body=lambda c: {"action": "roundtable", "community": c.world.haida.pk,
                             "held_on": "2030-03-01", "participant_count": "12",
                             f"stickers_{c.ph.pk}": "7"}),
    ],
    "deliberation:staff-project": [
        # The project desk is for those who screen or deliberate there, whatever the stage.
        page("deliberation:staff-project", "GET", "deliberate", "haida", key="project",
             at=("screen",))],
    "deliberation:staff-project-action": [
        page("deliberation:staff-project-action", "POST", "screen", "haida", key="project",
             label="screen", body=lambda c: {"action": "screen", **_criteria_ok(c)}),
        page("deliberation:staff-project-action", "POST", "screen", "haida", key="project",
             label="route", body=lambda c: {"action": "route", "departments": [c.other_department.pk]}),
        page("deliberation:staff-project-action", "POST", "screen", "haida", key="project",
             label="cost", body=lambda c: {"action": "cost", "cost_yuan": "95000", "reason": "报价"}),
        page("deliberation:staff-project-action", "POST", "deliberate", "haidian", key="project",
             label="promote", body=lambda c: {"action": "promote", "reason": "several_communities",
                                             "note": "惠及海达、福安两个社区"}),
    ],
    "voting:polling": [page("voting:polling", "GET", "view_staff", "in_district")],
    "voting:polling-action": [
        page("voting:polling-action", "POST", "vote", "haida", label="station",
             body=lambda c: {"action": "station", "community": c.world.haida.pk,
                             "name": "二号投票点", "kind": "polling"}),
    ],
    "paperaudit:desk": [page("paperaudit:desk", "GET", "view_staff", "in_district")],
    "paperaudit:action": [
        # Nothing is counted in this world: allowed officers get a message, effect-free.
        page("paperaudit:action", "POST", "paper_audit", "haida", label="start",
             body=lambda c: {"action": "start", "scope": f"community:{c.world.haida.pk}",
                             "seed": "12345678901234567890", "rolling": "公开掷骰"}, effect=False),
    ],
    "outreach:desk": [
        page("outreach:desk", "GET", "view_staff", "in_district"),
        page("outreach:desk", "POST", "publicise", "haidian", label="street-point",
             body=lambda c: {"code": "poster-haida-market", "channel": "poster", "place": "海达菜市场",
                             "street": c.world.haidian.pk, "cost_yuan": "300"}),
        page("outreach:desk", "POST", "publicise", "district", label="district-point",
             body=lambda c: {"code": "official-account", "channel": "official_account", "place": "",
                             "street": "", "cost_yuan": "0"}),
    ],
    # The kit of a street (its officers) or of the whole district (district admins).
    "outreach:kit": [
        Case("GET", "publicise", "haidian",
             lambda c: reverse("outreach:kit", kwargs={"cycle_id": c.cycle.pk}) + f"?street={c.world.haidian.pk}",
             label="street"),
        page("outreach:kit", "GET", "publicise", "district", label="district"),
    ],
    "paper:queue": [page("paper:queue", "GET", "view_staff", "in_district")],
    "paper:action": [
        page("paper:action", "POST", "vote", "haida", label="print",
             body=lambda c: {"action": "print", "station": c.station.pk, "sheets": "2"}),
    ],
    "results:desk": [page("results:desk", "GET", "view_staff", "in_district")],
    "results:desk-action": [
        page("results:desk-action", "POST", "reply", "district", label="work",
             body=lambda c: {"action": "work"}),
        page("results:desk-action", "POST", "reply", "district", label="decide",
             body=lambda c: {"action": "decide"}),
        page("results:desk-action", "POST", "publish", "district", label="publish",
             body=lambda c: {"action": "publish"}, effect=False),
        page("results:desk-action", "POST", "reply", "haida", label="letters",
             body=lambda c: {"action": "letters", "community": c.world.haida.pk}),
    ],
    "delivery:desk": [page("delivery:desk", "GET", "view_staff", "in_district")],
    "delivery:desk-action": [
        page("delivery:desk-action", "POST", "implement", "haida", label="progress",
             body=lambda c: {"action": "progress", "implementation": c.impl.pk,
                             "text": "已进场施工", "percent": "30"}),
        page("delivery:desk-action", "POST", "implement", "district", label="change",
             body=lambda c: {"action": "change", "implementation": c.impl.pk, "to_yuan": "110000",
                             "reason": "增加照明点位"}),
        page("delivery:desk-action", "POST", "implement", "haida", label="spend",
             body=lambda c: {"action": "spend", "implementation": c.impl.pk, "amount_yuan": "20000",
                             "payee": "某某工程公司", "description": "首付款",
                             "spent_on": "2030-06-01"}),
        page("delivery:desk-action", "POST", "implement", "haida", label="cofund",
             body=lambda c: {"action": "cofund", "implementation": c.impl.pk,
                             "source": "residents", "funder": "居民", "amount_yuan": "5000",
                             "received_on": "2030-06-01"}),
        page("delivery:desk-action", "POST", "evaluate", "haida", label="verdict",
             body=lambda c: {"action": "verdict", "implementation": c.impl.pk,
                             "deputy": "陈代表", "verdict": "satisfied"}),
        page("delivery:desk-action", "POST", "evaluate", "haida", label="report",
             body=lambda c: {"action": "report", "implementation": c.impl.pk,
                             "evaluator": "第三方", "score": "85", "summary": "良好"}),
        page("delivery:desk-action", "POST", "evaluate", "haida", label="flag",
             body=lambda c: {"action": "flag", "implementation": c.impl.pk,
                             "severity": "concern", "finding": "票据不全"}),
        page("delivery:desk-action", "POST", "manage_cycles", "district", label="cost",
             body=lambda c: {"action": "cost", "kind": "staff", "description": "入户",
                             "hours": "3", "amount_yuan": "300"}),
    ],
    "partners:staff": [
        page("partners:staff", "GET", "view_staff", "in_district", key="district"),
        page("partners:staff", "POST", "approve_partners", "haidian", key="district", label="approve",
             body=lambda c: {"action": "approve", "organisation": c.pending_org.pk, "reason": "资质齐全"}),
        page("partners:staff", "POST", "approve_partners", "haidian", key="district", label="key",
             body=lambda c: {"action": "key", "organisation": c.org.pk}),
        page("partners:staff", "POST", "approve_partners", "haida", key="district", label="partner",
             body=lambda c: {"action": "partner", "organisation": c.org.pk, "community": c.world.haida.pk,
                             "since_on": "2030-01-01"}),
    ],
    "partners:staff-orders": [
        page("partners:staff-orders", "GET", "view_staff", "in_district"),
        page("partners:staff-orders", "POST", "implement", "haida", label="offer",
             body=lambda c: {"action": "offer", "implementation": c.service_impl.pk,
                             "bids_close_on": "2099-01-01"}),
        page("partners:staff-orders", "POST", "implement", "haida", label="choose",
             body=lambda c: {"action": "choose", "offer": c.offer.pk, "bid": c.bid.pk, "reason": "方案最好"}),
    ],
    # -- API ------------------------------------------------------------------------------
    "POST /api/districts/{district_id}/places/import": [
        api("POST", "configure_places", "district",
            lambda c: f"/api/districts/{c.world.district.pk}/places/import",
            files=lambda c: {"file": _upload("places.csv", "street,community,population\n"
                                             "新街道,,100\n")}),
    ],
    # Before the vote (the list is frozen once it starts).
    "POST /api/cycles/{cycle_id}/group-members": [
        api("POST", "manage_cycles", "district", lambda c: f"/api/cycles/{c.cycle.pk}/group-members",
            files=lambda c: {"file": _upload("members.csv", "doc_number\n110101199003074514\n")},
            at=("collect",))],
    "POST /api/cycles/{cycle_id}/advance": [
        api("POST", "manage_cycles", "district", lambda c: f"/api/cycles/{c.cycle.pk}/advance",
            lambda c: {"reason": "matrix test"}, at=("collect",))],
    "PUT /api/cycles/{cycle_id}/pools": [
        api("PUT", "configure", "haida", lambda c: f"/api/cycles/{c.cycle.pk}/pools",
            lambda c: {"level": "community", "place_id": c.world.haida.pk, "amount_yuan": 310000})],
    "GET /api/audit": [api("GET", "view_audit", "anywhere", lambda c: "/api/audit")],
    # Every role has a to-do list (of what it may do); residents and role-less accounts not.
    "GET /api/me/todo": [api("GET", "view_staff", "anywhere", lambda c: "/api/me/todo")],
    "GET /api/cycles/{cycle_id}/proposals": [
        api("GET", "view_staff", "haida",
            lambda c: f"/api/cycles/{c.cycle.pk}/proposals?community_id={c.world.haida.pk}")],
    "POST /api/cycles/{cycle_id}/projects": [
        api("POST", "merge", "haida", lambda c: f"/api/cycles/{c.cycle.pk}/projects",
            lambda c: {"proposal_ids": [c.loose.pk], "name": "新项目"}),
        # The hole of issue 13: a proposal taken out of a street-level project.
        api("POST", "merge", "haidian", lambda c: f"/api/cycles/{c.cycle.pk}/projects",
            lambda c: {"proposal_ids": [c.street_proposal.pk], "name": "拆出"}, label="from-street"),
    ],
    "POST /api/cycles/{cycle_id}/merge/move": [
        api("POST", "merge", "haida", lambda c: f"/api/cycles/{c.cycle.pk}/merge/move",
            lambda c: {"proposal_ids": [c.loose.pk], "project_id": c.ph.pk})],
    "POST /api/cycles/{cycle_id}/merge/projects": [
        api("POST", "merge", "haida", lambda c: f"/api/cycles/{c.cycle.pk}/merge/projects",
            lambda c: {"target_id": c.ph.pk, "other_ids": [c.ph2.pk]})],
    "POST /api/cycles/{cycle_id}/merge/split": [
        api("POST", "merge", "haida", lambda c: f"/api/cycles/{c.cycle.pk}/merge/split",
            lambda c: {"proposal_ids": [c.ph_proposal.pk]})],
    # Merge suggestions: seen by those whose role may merge there at any stage (as on the
    # workbench), dismissed ("not the same") only at a merge stage.
    "GET /api/proposals/{proposal_id}/suggestions": [
        api("GET", "merge", "haida", lambda c: f"/api/proposals/{c.loose.pk}/suggestions",
            any_stage=True)],
    "GET /api/cycles/{cycle_id}/communities/{community_id}/merge-suggestions": [
        api("GET", "merge", "haida",
            lambda c: f"/api/cycles/{c.cycle.pk}/communities/{c.world.haida.pk}/merge-suggestions",
            any_stage=True)],
    "POST /api/cycles/{cycle_id}/communities/{community_id}/merge-suggestions/dismiss": [
        api("POST", "merge", "haida",
            lambda c: f"/api/cycles/{c.cycle.pk}/communities/{c.world.haida.pk}/merge-suggestions/dismiss",
            lambda c: {"proposal_ids": [c.loose.pk], "member_ids": [c.ph_proposal.pk]})],
    "POST /api/merge-operations/{operation_id}/undo": [
        api("POST", "merge", "haida", lambda c: f"/api/merge-operations/{c.operation.pk}/undo")],
    "POST /api/projects/{project_id}/screening": [
        api("POST", "screen", "haida", lambda c: f"/api/projects/{c.ph.pk}/screening",
            lambda c: {"results": {k: {"passed": True, "reason": ""} for k in c.criteria}})],
    "POST /api/projects/{project_id}/reviews": [
        api("POST", "screen", "haida", lambda c: f"/api/projects/{c.ph2.pk}/reviews",
            lambda c: {"department_ids": [c.world.department.pk]})],
    "POST /api/reviews/{review_id}": [
        api("POST", "review", "department", lambda c: f"/api/reviews/{c.review.pk}",
            lambda c: {"opinion": "feasible", "estimated_cost_yuan": 90000, "notes": "可行"})],
    "POST /api/projects/{project_id}/cost": [
        api("POST", "screen", "haida", lambda c: f"/api/projects/{c.ph.pk}/cost",
            lambda c: {"cost_yuan": 95000, "reason": "报价"})],
    "POST /api/projects/{project_id}/promote": [
        api("POST", "deliberate", "haidian", lambda c: f"/api/projects/{c.ph.pk}/promote",
            lambda c: {"reason": "several_communities", "note": "惠及海达、福安两个社区"})],
    "POST /api/cycles/{cycle_id}/roundtables": [
        api("POST", "deliberate", "haida", lambda c: f"/api/cycles/{c.cycle.pk}/roundtables",
            lambda c: {"community_id": c.world.haida.pk, "held_on": "2030-03-01",
                       "participant_count": 12, "stickers": {str(c.ph.pk): 7}})],
    "POST /api/cycles/{cycle_id}/ballot-lists": [
        api("POST", "screen", "haida", lambda c: f"/api/cycles/{c.cycle.pk}/ballot-lists",
            lambda c: {"level": "community", "place_id": c.world.haida.pk})],
    "POST /api/ballot-lists/{ballot_id}/rule": [
        api("POST", "screen", "haida", lambda c: f"/api/ballot-lists/{c.ballot.pk}/rule",
            lambda c: {"rule": "approval", "max_choices": 2})],
    "POST /api/ballot-lists/{ballot_id}/freeze": [
        api("POST", "screen", "haida", lambda c: f"/api/ballot-lists/{c.ballot.pk}/freeze")],
    "POST /api/cycles/{cycle_id}/bodies": [
        api("POST", "deliberate", "haida", lambda c: f"/api/cycles/{c.cycle.pk}/bodies",
            lambda c: {"kind": c.body.kind, "name": "第二议事会", "community_id": c.world.haida.pk,
                       "members": [["赵一", "主任"], ["钱二", ""], ["孙三", ""]]})],
    "POST /api/bodies/{body_id}/sittings": [
        api("POST", "deliberate", "haida", lambda c: f"/api/bodies/{c.body.pk}/sittings",
            lambda c: {"attendee_ids": c.member_ids, "project_ids": [c.ph.pk],
                       "held_at": "2030-03-02T10:00:00+08:00"})],
    "POST /api/sittings/{sitting_id}/votes": [
        api("POST", "deliberate", "haida", lambda c: f"/api/sittings/{c.sitting.pk}/votes",
            lambda c: {"member_id": c.member_ids[0], "project_ids": [c.ph.pk]})],
    "POST /api/sittings/{sitting_id}/close": [
        api("POST", "deliberate", "haida", lambda c: f"/api/sittings/{c.sitting.pk}/close",
            lambda c: {"minutes": "会议记录"})],
}


def _upload(name: str, text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


# -- the URL map --------------------------------------------------------------------------------


def _page_routes(patterns=None, namespace="") -> list[str]:
    names = []
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(x for x in (namespace, p.namespace or "") if x)
            names += _page_routes(p.url_patterns, ns)
        elif isinstance(p, URLPattern):
            names.append(f"{namespace}:{p.name}" if namespace else str(p.name))
    return names


def _api_operations() -> dict[str, bool]:
    """``"METHOD /api/path"`` -> whether the operation needs authentication."""
    from civicbudget.api.endpoints import api as ninja_api

    schema = ninja_api.get_openapi_schema()
    return {f"{m.upper()} {path}": bool(op.get("security"))
            for path, ops in schema["paths"].items() for m, op in ops.items()}


def _undeclared_pages() -> list[str]:
    pages = [n for n in _page_routes() if not n.startswith("api:") or n in PUBLIC_PAGES]
    return [n for n in pages if n not in PUBLIC_PAGES and n not in SPEC and n not in OWN_ACCOUNT_PAGES]


def test_every_route_is_declared():
    pages = [n for n in _page_routes() if not n.startswith("api:") or n in PUBLIC_PAGES]
    undeclared = _undeclared_pages()
    assert not undeclared, f"pages missing from the permission matrix: {undeclared}"
    operations = _api_operations()
    undeclared = [op for op in operations
                  if op not in PUBLIC_API and op not in VOTER_API and op not in SPEC]
    assert not undeclared, f"API operations missing from the permission matrix: {undeclared}"
    # An operation declared public must not ask for sign-in, and one that asks is not public.
    # (A resident's proposal may also come from staff with a session or a token: optional auth.)
    optional = {"POST /api/cycles/{cycle_id}/proposals"}
    assert not [op for op in PUBLIC_API - optional if operations.get(op) is not False], "stale PUBLIC_API"
    assert all(operations.get(op) for op in VOTER_API)
    assert all(operations.get(op) for op in SPEC if op.startswith(("GET ", "POST ", "PUT ")))
    stale = [k for k in SPEC if k not in operations and k not in pages]
    assert not stale, f"declared routes that no longer exist: {stale}"


def test_staff_pages_are_staff_only_by_their_path():
    """Every page under /staff/ (but sign-in) is in the matrix, and no page outside it is."""
    resolver_names = [n for n in _page_routes() if not n.startswith("api:")]
    for name in resolver_names:
        if name in {"web:staff-login", "web:staff-logout"} | OWN_ACCOUNT_PAGES:
            continue
        try:
            path = reverse(name, kwargs=_dummy_kwargs(name))
        except Exception:  # noqa: BLE001 - a route without arguments we cannot guess
            path = ""
        if path.startswith("/staff/"):
            assert name in SPEC, name
        elif path:
            assert name in PUBLIC_PAGES, name


def _dummy_kwargs(name: str) -> dict:
    from django.urls import get_resolver as resolver

    for pattern in _flat_patterns(resolver().url_patterns):
        if pattern[0] == name:
            return {k: ("x" if conv.regex != "[0-9]+" else 1) for k, conv in pattern[1].items()}
    return {}


def _flat_patterns(patterns, namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(x for x in (namespace, p.namespace or "") if x)
            for name, conv in _flat_patterns(p.url_patterns, ns):
                yield name, {**p.pattern.converters, **conv}
        else:
            yield (f"{namespace}:{p.name}" if namespace else str(p.name)), p.pattern.converters


# -- the world ----------------------------------------------------------------------------------

#: What the holder of each role covers at its own place (keys of the targets used above).
OWN_COVERS = {
    Role.DISTRICT_ADMIN: {"district", "haidian", "haida", "department", "in_district", "anywhere"},
    Role.STREET_OFFICER: {"haidian", "haida", "in_district", "anywhere"},
    Role.COMMUNITY_OFFICER: {"haida", "in_district", "anywhere"},
    Role.DEPARTMENT_REVIEWER: {"department", "in_district", "anywhere"},
    Role.POLLING_OFFICER: {"haida", "in_district", "anywhere"},
    Role.OBSERVER: {"haidian", "haida", "in_district", "anywhere"},
}
#: At the other place (another district for the admin, a neighbour elsewhere for the rest).
OTHER_COVERS = {
    Role.DISTRICT_ADMIN: {"anywhere"},
    Role.STREET_OFFICER: {"in_district", "anywhere"},
    Role.COMMUNITY_OFFICER: {"in_district", "anywhere"},
    Role.DEPARTMENT_REVIEWER: {"in_district", "anywhere"},
    Role.POLLING_OFFICER: {"in_district", "anywhere"},
    Role.OBSERVER: {"in_district", "anywhere"},
}


def _build(world) -> SimpleNamespace:
    from civicbudget.deliberation.models import (
        BallotItem,
        Body,
        BodyMember,
        ProjectCost,
        Review,
        Screening,
        Sitting,
    )
    from civicbudget.deliberation.services import screening_criteria
    from civicbudget.delivery.models import Implementation
    from civicbudget.proposals.models import MergeOperation, Project, Proposal

    cycle = make_cycle(world.district, streets=[world.haidian, world.renmin],
                       communities=[world.haida, world.fuan, world.baisha])
    ph = make_project(cycle, world.haida, name="楼道灯改造", proposals=2)
    ph2 = make_project(cycle, world.haida, name="东门监控", proposals=1)
    ps = Project.objects.create(cycle=cycle, street=world.haidian, community=None, name="街道绿道",
                                level=Project.Level.STREET)
    street_proposal = Proposal.objects.create(
        cycle=cycle, street=world.haidian, community=world.haida, tracking_code="STREET01",
        title="绿道", text="修绿道", proposer_name="赵六", channel="paper", project=ps)
    loose = Proposal.objects.create(cycle=cycle, street=world.haidian, community=world.haida,
                                    tracking_code="LOOSE001", title="路灯", text="装路灯",
                                    proposer_name="李四", channel="paper")
    operation = MergeOperation.objects.create(
        cycle=cycle, kind=MergeOperation.Kind.RENAME, street=world.haidian, community=world.haida,
        renames=[{"project": ph.pk, "from": ph.name, "to": ph.name, "description_from": ""}])
    review = Review.objects.create(project=ph, cycle=cycle, department=world.department,
                                   due_on=dt.date(2030, 3, 1))
    from civicbudget.deliberation.models import Ballot

    ballot = Ballot.objects.create(cycle=cycle, level="community", street=world.haidian,
                                   community=world.haida, rule="approval", budget_yuan=300_000)
    kinds = list(cycle.config.get("bodies") or []) + (
        [cycle.config["body"].get("kind", "")] if cycle.config.get("body") else [])
    body = Body.objects.create(cycle=cycle, kind=kinds[0] if kinds else "居民议事会",
                               name="海达居民议事会", community=world.haida, street=None)
    members = [BodyMember.objects.create(body=body, name=n) for n in ("甲", "乙", "丙")]
    sitting = Sitting.objects.create(body=body, held_at=timezone.now())
    sitting.attendees.set(members)
    sitting.projects.set([ph])
    ProjectCost.objects.create(project=ph2, cycle=cycle, amount_yuan=90_000, reason="报价")
    Screening.objects.create(project=ph2, cycle=cycle, is_passed=True)
    BallotItem.objects.create(ballot=ballot, project=ph2, cost_yuan=90_000, position=1)
    other_department = DepartmentFactory(district=world.district, name="区城管局")
    impl = Implementation.objects.create(project=ph, cycle=cycle, body=world.haidian,
                                         allocation_yuan=100_000, due_on=dt.date(2030, 12, 31))
    from civicbudget.voting.idcard import id_check_char
    from civicbudget.voting.models import PollingStation
    from civicbudget.voting.services import scope_open

    station = PollingStation.objects.create(cycle=cycle, community=world.haida, name="海达服务大厅")
    key = f"community:{world.haida.pk}"
    scope_open(cycle=cycle, key=key, title="海达社区", community=world.haida, spec={
        "scope": key, "vote_type": "approval", "budget": "300000", "rule": {"rule": "greedy"},
        "projects": [{"id": "1", "cost": "1000", "name": "灯"}], "min_length": 1, "max_length": 1})
    first17 = "46010819800101123"
    partners = _build_partners(world, cycle)
    return SimpleNamespace(**partners,
        world=world, cycle=cycle, ph=ph, ph2=ph2, ps=ps, street_proposal=street_proposal,
        ph_proposal=ph.proposals.order_by("pk").first(), loose=loose, operation=operation,
        review=review, ballot=ballot, body=body, member_ids=[m.pk for m in members],
        sitting=sitting, impl=impl, criteria=list(screening_criteria(cycle)),
        other_department=other_department, station=station,
        voter_id_number=first17 + id_check_char(first17),
    )


def _build_partners(world, cycle) -> dict:
    """Two organisations (one approved serving 海达社区, one awaiting approval) and two service
    winners of 海达社区: one to offer, one offered with a bid to choose."""
    from civicbudget.delivery.models import Implementation
    from civicbudget.identity import credit_check_char
    from civicbudget.partners.models import Bid, Offer, Organisation

    cycle.config["partner_delivery"] = True
    cycle.save(update_fields=["config"])

    def org(name, first17, status):
        row = Organisation.objects.create(district=world.district, street=world.haidian, name=name,
                                          credit_code=first17 + credit_check_char(first17), services="养老",
                                          contact_name="黄", contact_phone="13800138000", status=status)
        row.communities.set([world.haida])
        return row

    approved = org("青禾社工", "52460108MJ0000001", "approved")
    pending = org("待审机构", "52460108MJ0000002", "pending")
    impls = []
    for name in ("长者食堂运营", "四点半课堂"):
        project = make_project(cycle, world.haida, name=name)
        project.project_type = "services"
        project.save(update_fields=["project_type"])
        impls.append(Implementation.objects.create(project=project, cycle=cycle, body=world.haidian,
                                                   allocation_yuan=100_000, due_on=dt.date(2030, 12, 31)))
    offer = Offer.objects.create(implementation=impls[1], bids_close_on=dt.date(2099, 1, 1))
    bid = Bid.objects.create(offer=offer, organisation=approved, plan="方案", price_yuan=90_000,
                             starts_on=dt.date(2030, 3, 1), ends_on=dt.date(2030, 12, 31), schedule="全年",
                             team="社工2名")
    return {"org": approved, "pending_org": pending, "service_impl": impls[0], "offer": offer, "bid": bid}


def _holders(world, other_department):
    own = {Role.DISTRICT_ADMIN: world.district, Role.STREET_OFFICER: world.haidian,
           Role.COMMUNITY_OFFICER: world.haida, Role.DEPARTMENT_REVIEWER: world.department,
           Role.POLLING_OFFICER: world.haida, Role.OBSERVER: world.haidian}
    other = {Role.DISTRICT_ADMIN: world.other_district, Role.STREET_OFFICER: world.renmin,
             Role.COMMUNITY_OFFICER: world.fuan, Role.DEPARTMENT_REVIEWER: other_department,
             Role.POLLING_OFFICER: world.baisha, Role.OBSERVER: world.renmin}
    return ([(role, "own", staff(role, place)) for role, place in own.items()]
            + [(role, "other", staff(role, place)) for role, place in other.items()])


def _row_counts() -> dict[str, int]:
    skip = {AuditEvent._meta.db_table, "django_session"}
    tables = sorted({m._meta.db_table for m in apps.get_models() if m._meta.managed}
                    - skip)
    # Table names come from the model registry, not from input.
    counts = [f"(SELECT COUNT(*) FROM {connection.ops.quote_name(t)})" for t in tables]  # noqa: S608
    sql = "SELECT " + ", ".join(counts)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(zip(tables, cursor.fetchone(), strict=True))


def _expected(role, where, case: Case, kind: str) -> bool:
    if role is None:  # anonymous or resident
        return False
    covers = OWN_COVERS[role] if where == "own" else OTHER_COVERS[role]
    stage_ok = case.any_stage or case.action not in STAGE_ACTIONS or case.action in SPEC_STAGE[kind]
    return case.action in SPEC_ROLE[role] and case.target in covers and stage_ok


def _send(client, case: Case, ctx) -> object:
    url = case.url(ctx)
    if case.files is not None:
        return client.post(url, data=case.files(ctx))
    body = case.body(ctx) if case.body else {}
    if url.startswith("/api/"):
        if case.method == "GET":
            return client.get(url)
        send = client.put if case.method == "PUT" else client.post
        return send(url, data=json.dumps(body), content_type="application/json")
    return client.get(url) if case.method == "GET" else client.post(url, data=body)


STAGES = sorted({k for cases in SPEC.values() for case in cases for k in case.stages()})


@pytest.mark.parametrize("kind", STAGES)
def test_permission_matrix_over_http(world, staff_client, kind):
    ctx = _build(world)
    run_stage(ctx.cycle, kind)
    people = [(role, where, staff_client(user)) for role, where, user in
              _holders(world, ctx.other_department)]
    resident = UserFactory(username="resident")
    people += [(None, "resident", staff_client(resident)), (None, "anonymous", Client())]

    failures, sent = [], 0
    for route, cases in SPEC.items():
        for case in cases:
            if kind not in case.stages():
                continue
            main = kind == case.stages()[0]
            for role, where, client in people:
                expected = _expected(role, where, case, kind)
                if not main and not (role is not None and _expected(role, where, case, case.stages()[0])):
                    # Off-stage, only those the stage alone refuses are worth a request.
                    continue
                sent += 1
                problem = _try(client, case, ctx, expected, anonymous=where == "anonymous")
                if problem:
                    failures.append(f"{route} [{case.label}] {role or where}/{where} @{kind}: {problem}")
    assert sent > 0
    print(f"permission matrix @{kind}: {sent} requests")  # noqa: T201 - the figure, with -s
    assert not failures, f"{len(failures)} of {sent} requests:\n" + "\n".join(failures)


def _try(client, case: Case, ctx, expected: bool, *, anonymous: bool) -> str | None:
    is_api = case.url(ctx).startswith("/api/")
    write = case.method != "GET"
    with transaction.atomic():
        before_rows = _row_counts() if write and not expected else None
        last_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        response = _send(client, case, ctx)
        events = list(AuditEvent.objects.filter(pk__gt=last_event).values_list("outcome", "action"))
        after_rows = _row_counts() if before_rows is not None else None
        transaction.set_rollback(True)
    status = response.status_code
    denied = [a for o, a in events if o == "denied"]
    if expected:
        if not 200 <= status < 400:
            return f"allowed but answered {status}: {response.content[:200]!r}"
        # A service may audit a refusal of its own (a precondition); only the permission's is wrong.
        if [a for a in denied if a in {case.action, "staff_page", "view_staff"}]:
            return f"allowed but audited a refusal {denied}"
        if write and case.effect and not any(o == "ok" for o, _a in events):
            return f"allowed but changed nothing (no audit row); answered {status}"
        return None
    if anonymous:
        if is_api:
            return None if status == 401 else f"anonymous answered {status}, not 401"
        location = response.get("Location", "")
        return None if status == 302 and "/staff/login/" in location else (
            f"anonymous answered {status} {location}, not the login page")
    if status != 403:
        return f"refused but answered {status}: {response.content[:200]!r}"
    if not denied:
        return "refused without a 'denied' audit row"
    if after_rows != before_rows:
        changed = {t: (before_rows[t], after_rows[t]) for t in before_rows if before_rows[t] != after_rows[t]}
        return f"refused but rows changed: {changed}"
    return None


def test_voter_routes_refuse_a_staff_session(world, staff_client):
    ctx = SimpleNamespace(cycle=make_cycle(world.district, streets=[world.haidian],
                                           communities=[world.haida]))
    admin = staff_client(staff(Role.DISTRICT_ADMIN, world.district))
    for route, url in VOTER_API.items():
        method = route.split()[0]
        response = admin.get(url(ctx)) if method == "GET" else admin.post(
            url(ctx), data="{}", content_type="application/json")
        assert response.status_code == 401, route


@pytest.mark.urls("matrix_extra_urls")
def test_a_route_added_later_fails_until_declared_and_checked(world, staff_client):
    """The guard itself: an undeclared page is named; declared, its missing check is caught."""
    assert _undeclared_pages() == ["unguarded"]
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    case = Case("POST", "configure", "district",
                lambda c: reverse("unguarded", kwargs={"cycle_id": c.cycle.pk}), lambda c: {})
    resident = staff_client(UserFactory(username="resident"))
    problem = _try(resident, case, SimpleNamespace(cycle=cycle), False, anonymous=False)
    assert problem is not None and problem.startswith("refused but answered 200")
    problem = _try(Client(), case, SimpleNamespace(cycle=cycle), False, anonymous=True)
    assert problem is not None and "not the login page" in problem


# -- the holes of issue 13, spelled out ---------------------------------------------------------


def test_community_officer_cannot_pull_proposals_out_of_a_street_project(world, staff_client):
    ctx = _build(world)
    run_stage(ctx.cycle, "screen")
    officer = staff_client(staff(Role.COMMUNITY_OFFICER, world.haida))
    response = officer.post(f"/api/cycles/{ctx.cycle.pk}/projects", content_type="application/json",
                            data=json.dumps({"proposal_ids": [ctx.street_proposal.pk], "name": "拆出"}))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    ctx.street_proposal.refresh_from_db()
    assert ctx.street_proposal.project_id == ctx.ps.pk
    assert AuditEvent.objects.filter(action="merge", outcome="denied").count() == 1
    # The street's officer may.
    street = staff_client(staff(Role.STREET_OFFICER, world.haidian))
    response = street.post(f"/api/cycles/{ctx.cycle.pk}/projects", content_type="application/json",
                           data=json.dumps({"proposal_ids": [ctx.street_proposal.pk], "name": "拆出"}))
    assert response.status_code == 201


def test_reply_desk_work_needs_the_reply_right_and_is_audited(world, staff_client):
    ctx = _build(world)
    run_stage(ctx.cycle, "reply")
    url = reverse("results:desk-action", kwargs={"cycle_id": ctx.cycle.pk})
    officer = staff_client(staff(Role.COMMUNITY_OFFICER, world.haida))
    assert officer.post(url, {"action": "work"}).status_code == 403
    assert AuditEvent.objects.filter(action="reply", outcome="denied").count() == 1
    admin = staff_client(staff(Role.DISTRICT_ADMIN, world.district))
    assert admin.post(url, {"action": "work"}).status_code == 302
    assert AuditEvent.objects.filter(action="outbox_work", outcome="ok").count() == 1
