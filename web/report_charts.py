"""Coverage charts drawn on the server as SVG (no script, no library), and the coverage workbook (XLSX).

A chart is a horizontal bar per row: the scheduled count as a light bar, the aired count as a dark bar over it,
with the figures written beside it and in each bar's <title> (a tooltip, and what a screen reader reads).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

ROW_H, GAP, LABEL_W, BAR_W, FIGURE_W = 22, 6, 230, 330, 150
MAX_LABEL = 34


@dataclass(frozen=True)
class Bar:
    """One row of a chart: its label and its scheduled and aired counts."""

    label: str
    scheduled: int
    aired: int

    @property
    def share(self) -> float | None:
        """Aired as a share of scheduled (None when nothing was scheduled)."""
        return self.aired / self.scheduled if self.scheduled else None


def percent(share: float | None) -> str:
    """A share as a whole percentage, or a dash."""
    return "–" if share is None else f"{round(share * 100)} %"


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def bar_chart(bars: Sequence[Bar], *, title: str, scheduled_label: str, aired_label: str) -> Markup:
    """An SVG bar chart of scheduled against aired, one row per bar, scaled to the largest figure."""
    top = max([max(b.scheduled, b.aired) for b in bars] + [1])
    height = 28 + len(bars) * (ROW_H + GAP)
    width = LABEL_W + BAR_W + FIGURE_W
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{_id(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{_id(title)}">{escape(title)}</title>',
        f'<rect x="{LABEL_W}" y="4" width="12" height="12" class="scheduled"/><text x="{LABEL_W + 16}" y="14">{escape(scheduled_label)}</text>',
        f'<rect x="{LABEL_W + 150}" y="4" width="12" height="12" class="aired"/><text x="{LABEL_W + 166}" y="14">{escape(aired_label)}</text>',
    ]
    for n, bar in enumerate(bars):
        y = 26 + n * (ROW_H + GAP)
        planned_w = round(BAR_W * bar.scheduled / top, 1)
        aired_w = round(BAR_W * bar.aired / top, 1)
        figures = f"{bar.aired}/{bar.scheduled} ({percent(bar.share)})"
        tip = escape(f"{bar.label}: {aired_label} {bar.aired}, {scheduled_label} {bar.scheduled} ({percent(bar.share)})")
        parts.append(
            f"<g><title>{tip}</title>"
            f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end">{escape(_short(bar.label))}</text>'
            f'<rect x="{LABEL_W}" y="{y}" width="{planned_w}" height="{ROW_H}" class="scheduled"/>'
            f'<rect x="{LABEL_W}" y="{y + 5}" width="{aired_w}" height="{ROW_H - 10}" class="aired"/>'
            f'<text x="{LABEL_W + BAR_W + 6}" y="{y + 15}">{escape(figures)}</text></g>'
        )
    parts.append(f'<line x1="{LABEL_W}" y1="22" x2="{LABEL_W}" y2="{height}" class="axis"/></svg>')
    return Markup("".join(parts))


def _id(title: str) -> str:
    return f"chart-{zlib.crc32(title.encode()):08x}"


@dataclass(frozen=True)
class Sheet:
    """One sheet of the workbook: its name, column headers and rows."""

    name: str
    headers: Sequence[str]
    rows: Sequence[Sequence[object]]


def workbook(sheets: Sequence[Sheet]) -> bytes:
    """An XLSX file with one sheet per table: bold headers, frozen header row, columns sized to their content."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        ws = book.create_sheet(sheet.name[:31])
        ws.append(list(sheet.headers))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in sheet.rows:
            ws.append(list(row))
        ws.freeze_panes = "A2"
        for index, header in enumerate(sheet.headers, start=1):
            longest = max([len(str(header))] + [len(str(r[index - 1])) for r in sheet.rows[:500]])
            ws.column_dimensions[get_column_letter(index)].width = min(max(10, longest + 2), 60)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
