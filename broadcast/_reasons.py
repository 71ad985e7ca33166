"""The human-readable reason given with every airing the planner chooses (Vietnamese, for schedulers)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from broadcast.schedule_types import NEVER, clock


class CampaignNeed(NamedTuple):
    """A campaign that boosted an item here: its name, airings still missing, and at how many stations."""

    name: str
    missing: int
    lacking: int


def ago(now: datetime, last: datetime) -> str:
    """How long ago a production last aired at these stations, in words."""
    if last is NEVER:
        return "chưa từng phát tại các trạm này"
    hours = (now - last) / timedelta(hours=1)
    if hours < 24:
        return f"phát lần cuối cách đây {int(hours)} giờ"
    return f"phát lần cuối cách đây {int(hours // 24)} ngày"


def explain(
    level: int,
    dur_us: int,
    campaign: CampaignNeed | None,
    last: datetime,
    start: datetime,
    total: int,
    free: int,
    swapped: bool,
) -> str:
    """Why the planner chose an item (priority level, length) for this place: priority, campaign need, freshness, fit."""
    parts = []
    if level == 0:
        parts.append("Khẩn cấp: phát trước mọi nội dung (Thông tư 39/2020/TT-BTTTT)")
    elif level == 1:
        parts.append("Ưu tiên: xếp trước nội dung thường (Thông tư 39/2020/TT-BTTTT)")
    if campaign is not None:
        parts.append(f"Chiến dịch '{campaign.name}': còn thiếu {campaign.missing} lượt tại {campaign.lacking} trạm")
    if level == 2 and campaign is None:
        parts.append("Nội dung thường, đến lượt luân phiên")
    parts.append(ago(start, last))
    fit = f"dài {clock(dur_us / 1_000_000)}, vừa khung {clock(total / 1_000_000)} (còn trống {clock(free / 1_000_000)})"
    if swapped:
        fit = "chọn để lấp khung sát nhất: " + fit
    parts.append(fit)
    return "; ".join(parts)
