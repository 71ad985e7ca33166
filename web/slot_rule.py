"""Slots in plain words: the new-slot form's fields -> an RRULE, and a stored rule -> a sentence (pure).

The form asks what a scheduler thinks in: which days of the week, what time, how long, from when until when,
every how many weeks. It writes `FREQ=WEEKLY;BYDAY=...` (with INTERVAL and a local UNTIL when given) and shows it
for experts, who may type a rule of their own instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, time

from web.nav import N_
from web.week import BYDAY

Gettext = Callable[..., str]
DAY_LABELS = (N_("Thứ Hai"), N_("Thứ Ba"), N_("Thứ Tư"), N_("Thứ Năm"), N_("Thứ Sáu"), N_("Thứ Bảy"), N_("Chủ Nhật"))
DAY_SHORT = (N_("T2"), N_("T3"), N_("T4"), N_("T5"), N_("T6"), N_("T7"), N_("CN"))
MAX_INTERVAL = 52
MAX_DURATION_MIN = 360


@dataclass
class SlotForm:
    """What the new-slot form sent, as typed (re-shown after a refusal), and what it means."""

    name: str = ""
    target: str = ""
    days: list[str] = field(default_factory=list)
    start_time: str = ""
    duration_min: str = "15"
    dtstart: str = ""
    until: str = ""
    interval: str = "1"
    overrun: str = "cut"
    rrule_expert: str = ""

    def target_parts(self) -> tuple[str, int] | None:
        """("area"|"station"|"channel", id) from the target field `kind:id`, or None."""
        kind, _sep, raw = self.target.partition(":")
        if kind in ("area", "station", "channel") and raw.isdigit() and 0 < int(raw) < 2**31:
            return kind, int(raw)
        return None


def weekly_rule(days: Sequence[str], *, interval: int = 1, until: date | None = None) -> str:
    """`FREQ=WEEKLY;BYDAY=MO,WE` with INTERVAL when above 1 and UNTIL (local, end of that day) when given."""
    chosen = [code for code in BYDAY if code in set(days)]
    parts = ["FREQ=WEEKLY"]
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    parts.append("BYDAY=" + ",".join(chosen))
    if until is not None:
        parts.append(f"UNTIL={until:%Y%m%d}T235959")
    return ";".join(parts)


@dataclass(frozen=True)
class Checked:
    """The form's values once checked: ready for broadcast.service.create_slot."""

    name: str
    target_kind: str
    target_id: int
    rrule: str
    start_time: time
    duration_s: int
    dtstart: date
    overrun: str


def check(form: SlotForm, _: Gettext) -> Checked:
    """The form's values checked and turned into a rule; ValueError with a readable message for the first problem."""
    target = form.target_parts()
    if target is None:
        raise ValueError(_("Hãy chọn nơi phát: một địa bàn, một trạm hoặc một kênh."))
    try:
        start_time = time.fromisoformat(form.start_time)
    except ValueError:
        raise ValueError(_("Giờ bắt đầu phải có dạng giờ:phút, ví dụ 06:30.")) from None
    if not form.duration_min.isdigit() or not 0 < int(form.duration_min) <= MAX_DURATION_MIN:
        raise ValueError(_("Thời lượng phải từ 1 đến %(max)s phút.", max=MAX_DURATION_MIN))
    try:
        dtstart = date.fromisoformat(form.dtstart)
        until = date.fromisoformat(form.until) if form.until else None
    except ValueError:
        raise ValueError(_("Ngày bắt đầu và ngày kết thúc phải là ngày hợp lệ.")) from None
    if until is not None and until < dtstart:
        raise ValueError(_("Ngày kết thúc phải từ ngày bắt đầu trở đi."))
    if not form.interval.isdigit() or not 1 <= int(form.interval) <= MAX_INTERVAL:
        raise ValueError(_("Lặp lại mỗi 1 đến %(max)s tuần.", max=MAX_INTERVAL))
    expert = form.rrule_expert.strip()
    if expert:
        rule = expert
    elif not form.days:
        raise ValueError(_("Hãy chọn ít nhất một ngày trong tuần."))
    else:
        rule = weekly_rule(form.days, interval=int(form.interval), until=until)
    name = form.name.strip() or _("Khung %(time)s", time=start_time.strftime("%H:%M"))
    return Checked(
        name[:200],
        target[0],
        target[1],
        rule,
        start_time.replace(second=0, microsecond=0),
        int(form.duration_min) * 60,
        dtstart,
        form.overrun if form.overrun in ("cut", "finish", "refuse") else "cut",
    )


def _parts(rule: str) -> dict[str, str]:
    body = rule.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    out = {}
    for part in body.split(";"):
        name, _sep, value = part.partition("=")
        out[name.strip().upper()] = value.strip().upper()
    return out


def describe(rule: str, start_time: time, duration_s: int, dtstart: date, _: Gettext) -> str:
    """A weekly rule in plain words ("Thứ Hai, Thứ Tư lúc 06:00, 15 phút, mỗi 2 tuần, từ … đến …"); others as they are."""
    parts = _parts(rule)
    at = _("lúc %(time)s, %(minutes)s phút", time=start_time.strftime("%H:%M"), minutes=round(duration_s / 60))
    if parts.get("FREQ") == "DAILY" and set(parts) <= {"FREQ", "UNTIL", "INTERVAL"} and parts.get("INTERVAL", "1") == "1":
        days = _("Hằng ngày")
    elif parts.get("FREQ") == "WEEKLY" and set(parts) <= {"FREQ", "BYDAY", "INTERVAL", "UNTIL", "WKST"}:
        codes = parts.get("BYDAY", BYDAY[dtstart.weekday()]).split(",")
        days = ", ".join(_(DAY_LABELS[BYDAY.index(c)]) for c in BYDAY if c in codes)
        interval = int(parts.get("INTERVAL", "1") or 1)
        if interval > 1:
            at += ", " + _("mỗi %(n)s tuần một lần", n=interval)
    else:
        return _("Quy tắc %(rule)s, %(at)s", rule=rule, at=at)
    since = _("từ %(day)s", day=dtstart.strftime("%d/%m/%Y"))
    until = parts.get("UNTIL", "")
    if len(until) >= 8 and until[:8].isdigit():
        since += " " + _("đến %(day)s", day=f"{until[6:8]}/{until[4:6]}/{until[:4]}")
    return f"{days} {at}, {since}"
