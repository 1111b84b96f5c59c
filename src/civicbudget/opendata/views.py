"""Public pages: the open-data index and downloads, and the statistics dashboard."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from civicbudget.cycles.models import Cycle
from civicbudget.opendata import charts
from civicbudget.opendata.labels import described_tables
from civicbudget.opendata.pabulib import scope_filename, scope_pb
from civicbudget.opendata.selectors import district_statistics
from civicbudget.opendata.tables import BY_NAME, TABLES
from civicbudget.opendata.writers import table_csv, table_json
from civicbudget.places.models import District
from civicbudget.voting.models import VotingScope


def _cycle(cycle_id: int) -> Cycle:
    return get_object_or_404(Cycle.objects.select_related("district").prefetch_related("stages"), pk=cycle_id)


def open_data(request: HttpRequest, cycle_id: int) -> HttpResponse:
    cycle = _cycle(cycle_id)
    scopes = [(s, scope_filename(s)) for s in VotingScope.objects.filter(cycle=cycle).exclude(key__startswith="division:").order_by("key")]
    return render(request, "opendata/index.html", {"cycle": cycle, "tables": described_tables(TABLES),
                                                   "scopes": scopes})


def table_download(request: HttpRequest, cycle_id: int, name: str, fmt: str) -> HttpResponse:
    cycle = _cycle(cycle_id)
    table = BY_NAME.get(name)
    if table is None or fmt not in {"csv", "json"}:
        raise Http404
    if fmt == "csv":
        response = HttpResponse(table_csv(table, cycle), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(table_json(table, cycle), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cycle{cycle.pk}-{name}.{fmt}"'
    return response


def ballot_download(request: HttpRequest, cycle_id: int, scope_id: int) -> HttpResponse:
    cycle = _cycle(cycle_id)
    scope = get_object_or_404(VotingScope, pk=scope_id, cycle=cycle)
    if not hasattr(scope, "result"):
        raise Http404  # ballots are published once counted
    response = HttpResponse(scope_pb(cycle, scope), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{scope_filename(scope)}"'
    return response


def dashboard(request: HttpRequest, district_id: int) -> HttpResponse:
    district = get_object_or_404(District, pk=district_id)
    stats = district_statistics(district)
    rows = stats["rows"]
    years = [str(r["year"]) for r in rows]
    chart_list = []
    if rows:
        chart_list = [
            charts.bar_chart(_("Proposals"), years, [(_("Proposals"), [r["proposals"] for r in rows])]),
            charts.bar_chart(_("Voters"), years, [(_("Voters"), [r["voters"] for r in rows])]),
            charts.bar_chart(_("Turnout"), years, [(_("Turnout"), [r["turnout"] for r in rows])], kind="percent"),
            charts.bar_chart(_("Funds (yuan)"), years, [(_("Budget pools"), [r["funds"] for r in rows])]),
            charts.bar_chart(_("Projects selected"), years, [(_("Projects"), [r["projects"] for r in rows])]),
            charts.bar_chart(_("Spending against allocation (yuan)"), years, [
                (_("Allocated"), [r["money"]["allocation"] for r in rows]),
                (_("Spent"), [r["money"]["spent"] for r in rows]),
                (_("Co-funded"), [r["money"]["cofunded_total"] for r in rows])]),
            charts.bar_chart(_("Satisfaction (1-5)"), years,
                             [(_("Average rating"), [r["satisfaction"]["avg"] for r in rows])], kind="decimal"),
        ]
    latest = stats["latest"]
    detail = []
    if latest and latest["voters"]:
        t = latest["turnout_detail"]
        from civicbudget.voting.models import VotingChannel

        labels = dict(VotingChannel.choices)
        channels = sorted(t["by_channel"].items())
        detail.append(charts.bar_chart(_("Turnout by channel, %(year)s") % {"year": latest["year"]},
                                       [str(labels.get(k, k)) for k, _n in channels],
                                       [(_("Ballots"), [n for _k, n in channels])]))
        ages = sorted(t["by_age"].items())
        detail.append(charts.bar_chart(_("Turnout by age band, %(year)s") % {"year": latest["year"]},
                                       [k for k, _n in ages], [(_("Ballots"), [n for _k, n in ages])]))
        comm = t["by_community"]
        detail.append(charts.bar_chart(_("Turnout by community, %(year)s") % {"year": latest["year"]},
                                       [r["community"].name for r in comm],
                                       [(_("Voters per resident"), [r["rate"] for r in comm])], kind="percent"))
    from civicbudget.outreach.models import OutreachPoint
    from civicbudget.outreach.selectors import outreach_figures

    # Where participants came from, for each cycle with outreach points, newest first: the same
    # selector as the open-data table "outreach".
    with_points = set(OutreachPoint.objects.filter(cycle__district=district).values_list("cycle_id", flat=True))
    outreach = [outreach_figures(r["cycle"]) for r in reversed(rows) if r["cycle"].pk in with_points]
    return render(request, "opendata/dashboard.html", {"district": district, "rows": rows, "charts": chart_list,
                                                       "detail": detail, "latest": latest,
                                                       "outreach": outreach})
