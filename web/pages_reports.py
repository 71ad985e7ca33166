"""Reports: coverage (scheduled against aired) by area, station, production and channel over a chosen period,
with charts drawn on the server, and the same figures to download as CSV and XLSX.

The figures come from broadcast.asrun.coverage (the service behind /api/reports/coverage); a user scoped to an
area sees only that area's stations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from apitypes import Id
from broadcast import asrun
from broadcast.models import Area, Channel
from db import SessionDep
from errors import Invalid
from studio.models import Production
from web import report_charts as charts
from web import schedule_data as data
from web import week as wk
from web.i18n import Gettext
from web.nav import N_
from web.pages_schedule import today_local, zone
from web.render import PageRoute, page
from web.security import SignedIn, Viewer

router = APIRouter(route_class=PageRoute)
DayParam = Annotated[str | None, Query(max_length=10)]
MAX_DAYS = 366
CHARTED = 12  # rows per chart (the largest by scheduled); the tables and the downloads have every row
TABLED = 50
NO_CHANNEL = N_("(chưa gắn kênh)")
TOTALLED: tuple[asrun.Dimension, ...] = ("area", "station", "production")  # summed from the rows; channels need a lookup
DIMENSIONS = (
    ("area", N_("Theo địa bàn")),
    ("station", N_("Theo trạm")),
    ("production", N_("Theo sản phẩm")),
    ("channel", N_("Theo kênh")),
)


@dataclass
class Coverage:
    """A coverage report: the period, the area, the rows (station x production) and their totals per dimension."""

    first: date
    last: date
    area: Area | None
    rows: list[asrun.CoverageRow]
    totals: dict[str, list[asrun.CoverageTotal]]

    @property
    def scheduled(self) -> int:
        """Airings scheduled in all."""
        return sum(r.scheduled for r in self.rows)

    @property
    def aired(self) -> int:
        """Airings reported aired in all."""
        return sum(r.aired for r in self.rows)


def _day(value: str | None, default: date, who: Viewer) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(who._("Ngày phải có dạng năm-tháng-ngày.")) from None


def _channel_totals(session: Session, rows: list[asrun.CoverageRow], who: Viewer) -> list[asrun.CoverageTotal]:
    """Coverage rows summed by the channel of each production (its channel slug, named by the channel table)."""
    ids = {r.production_id for r in rows}
    slugs = dict(session.execute(select(Production.id, Production.channel_slug).where(Production.id.in_(ids or {-1}))).all())
    names = dict(session.execute(select(Channel.slug, Channel.name)).all())

    def channel(row: asrun.CoverageRow) -> tuple[str, str]:
        slug = slugs.get(row.production_id) or ""
        return slug, names.get(slug, slug or who._(NO_CHANNEL))

    return asrun.totals_by(rows, channel)


def coverage(session: Session, who: Viewer, start: str | None, end: str | None, area_id: int | None) -> Coverage:
    """The coverage report a user asked for (default: the last seven days, their whole scope)."""
    today = today_local()
    first, last = _day(start, today - timedelta(days=6), who), _day(end, today, who)
    if last < first:
        raise Invalid(who._("Ngày kết thúc phải từ ngày bắt đầu trở đi."))
    if (last - first).days >= MAX_DAYS:
        raise Invalid(who._("Mỗi báo cáo tối đa %(n)s ngày.", n=MAX_DAYS))
    root = data.scope_of(session, who.user)
    area = data.checked_area(session, who.user, area_id) if area_id is not None else root
    begin, finish = wk.local_midnight(first, zone()), wk.local_midnight(last + timedelta(days=1), zone())
    rows = asrun.coverage(session, start=begin, end=finish, area_id=area.id if area else None)
    totals: dict[str, list[asrun.CoverageTotal]] = {dim: asrun.totals(rows, dim) for dim in TOTALLED}
    totals["channel"] = _channel_totals(session, rows, who)
    for dim_rows in totals.values():
        dim_rows.sort(key=lambda t: (-t.scheduled, -t.aired, str(t.key)))
    return Coverage(first, last, area, rows, totals)


def _query(report: Coverage) -> str:
    area = f"&area_id={report.area.id}" if report.area else ""
    return f"start={report.first.isoformat()}&end={report.last.isoformat()}{area}"


@router.get("/reports")
def reports(
    request: Request,
    session: SessionDep,
    who: SignedIn,
    start: DayParam = None,
    end: DayParam = None,
    area_id: Annotated[Id | None, Query()] = None,
) -> Response:
    """Coverage over a period: totals, a chart and a table per dimension, and the downloads."""
    report = coverage(session, who, start, end, area_id)
    scheduled_label, aired_label = who._("Đã xếp lịch"), who._("Đã phát")
    sections = []
    for dim, label in DIMENSIONS:
        bars = [charts.Bar(t.name, t.scheduled, t.aired) for t in report.totals[dim]]
        chart = charts.bar_chart(bars[:CHARTED], title=who._(label), scheduled_label=scheduled_label, aired_label=aired_label)
        sections.append({"dim": dim, "label": label, "chart": chart, "bars": bars[:TABLED], "total": len(bars)})
    return page(
        request,
        who,
        "app/reports.html",
        {
            "report": report,
            "sections": sections,
            "query": _query(report),
            "percent": charts.percent,
            "share": (report.aired / report.scheduled) if report.scheduled else None,
            "tz": zone(),
            "choices": data.area_choices(session, data.scope_of(session, who.user)),
            "scoped": data.scope_of(session, who.user),
        },
    )


def _filename(report: Coverage, suffix: str) -> str:
    return f"coverage-{report.first:%Y%m%d}-{report.last:%Y%m%d}{'-area' + str(report.area.id) if report.area else ''}.{suffix}"


@router.get("/reports/coverage.csv")
def coverage_csv(
    session: SessionDep,
    who: SignedIn,
    start: DayParam = None,
    end: DayParam = None,
    area_id: Annotated[Id | None, Query()] = None,
) -> Response:
    """The coverage rows (station x production) as CSV, UTF-8 with a byte-order mark so that Excel reads the accents."""
    report = coverage(session, who, start, end, area_id)
    return Response(
        "\ufeff" + asrun.coverage_csv(report.rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "csv")}"'},
    )


@router.get("/reports/coverage.xlsx")
def coverage_xlsx(
    session: SessionDep,
    who: SignedIn,
    start: DayParam = None,
    end: DayParam = None,
    area_id: Annotated[Id | None, Query()] = None,
) -> Response:
    """The coverage report as an Excel workbook: a summary sheet, the detail rows, and one sheet per dimension."""
    report = coverage(session, who, start, end, area_id)
    sheets = _coverage_sheets(report, who._)
    return Response(
        charts.workbook(sheets),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "xlsx")}"'},
    )


def _share(row: asrun.CoverageRow | asrun.CoverageTotal) -> float | str:
    """The aired share of a row's scheduled airings, blank when none was scheduled."""
    return round(row.aired / row.scheduled, 4) if row.scheduled else ""


def _coverage_sheets(report: Coverage, _: Gettext) -> list[charts.Sheet]:
    """The workbook's sheets: a summary, the detail rows (station x production), and one sheet per dimension."""
    figures = [_("Đã xếp lịch"), _("Đã phát"), _("Còn thiếu"), _("Tỉ lệ đã phát")]
    sheets = [
        charts.Sheet(
            _("Tổng hợp"),
            [_("Mục"), _("Giá trị")],
            [
                [_("Từ ngày"), report.first.isoformat()],
                [_("Đến ngày"), report.last.isoformat()],
                [_("Địa bàn"), report.area.name if report.area else _("Tất cả")],
                [_("Múi giờ"), zone()],
                [_("Đã xếp lịch"), report.scheduled],
                [_("Đã phát"), report.aired],
            ],
        )
    ]
    sheets.append(
        charts.Sheet(
            _("Chi tiết"),
            [_("Mã địa bàn"), _("Địa bàn"), _("Mã trạm"), _("Trạm"), _("Mã sản phẩm"), _("Sản phẩm"), *figures],
            [
                [
                    r.area_id,
                    r.area,
                    r.station_id,
                    r.station,
                    r.production_id,
                    r.production,
                    r.scheduled,
                    r.aired,
                    r.missing,
                    _share(r),
                ]
                for r in report.rows
            ],
        )
    )
    for dim, label in DIMENSIONS:
        sheets.append(
            charts.Sheet(
                _(label),
                [_("Mã"), _("Tên"), *figures],
                [[t.key, t.name, t.scheduled, t.aired, t.missing, _share(t)] for t in report.totals[dim]],
            )
        )
    return sheets
