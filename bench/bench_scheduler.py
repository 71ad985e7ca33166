"""Scheduler benchmark: expand 10,000 stations x 2 daily slots x 30 days, fill them with 40 candidates.

Stations with equal schedules and history share one plan; `distinct_*` measures the unshared worst case.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time

from broadcast import recurrence, scheduler

STATIONS = 10_000
DAYS = 30
CANDIDATES = 40
SLOT_TIMES = (clock_time(6, 0), clock_time(17, 30))
SLOT_S = 15 * 60
TZ = "Asia/Ho_Chi_Minh"
WINDOW_START = datetime(2026, 6, 1, tzinfo=UTC)
DISTINCT_STATIONS = 500  # stations whose histories all differ: every one is planned on its own


def expand_all() -> list[scheduler.SlotOccurrence]:
    """Expand each station's two slots (one RRULE expansion per slot) into SlotOccurrences."""
    window_end = WINDOW_START + timedelta(days=DAYS)
    out: list[scheduler.SlotOccurrence] = []
    for station in range(1, STATIONS + 1):
        for index, start_time in enumerate(SLOT_TIMES):
            pattern = recurrence.SlotPattern(
                rrule="FREQ=DAILY", start_time=start_time, duration_s=SLOT_S, tz=TZ, dtstart=date(2026, 1, 1)
            )
            slot_id = station * 2 + index
            out += [
                scheduler.SlotOccurrence(slot_id, occ.start, occ.end, "station", station, (station,), "cut")
                for occ in recurrence.expand_pattern(pattern, window_start=WINDOW_START, window_end=window_end)
            ]
    return out


def candidates() -> list[scheduler.Candidate]:
    """40 loudspeaker items of 1-5 minutes; two priority items and a campaign law among them."""
    rng = random.Random(20260701)
    base = datetime(2026, 5, 1, tzinfo=UTC)
    return [
        scheduler.Candidate(
            production_id=pid,
            output_id=1000 + pid,
            title=f"Bản tin {pid}",
            duration_s=round(rng.uniform(60, 300), 2),
            priority="priority" if pid <= 2 else "normal",
            approved_at=base + timedelta(hours=pid),
            topic="luat-2026" if pid == 3 else None,
        )
        for pid in range(1, CANDIDATES + 1)
    ]


def distinct_history(occurrences: list[scheduler.SlotOccurrence], stations: int) -> list[scheduler.Existing]:
    """One past airing per station at a different minute, so no two stations share a plan (worst case)."""
    before = WINDOW_START - timedelta(days=1)
    return [
        scheduler.Existing(
            0, before, 1 + s % CANDIDATES, 1001, before + timedelta(minutes=s), before + timedelta(minutes=s + 2), (s,), False
        )
        for s in range(1, stations + 1)
    ]


def main() -> None:
    """Print one JSON object with the figures."""
    started = time.perf_counter()
    occurrences = expand_all()
    expand_s = time.perf_counter() - started
    campaign = scheduler.Campaign(
        id=1,
        name="Luật có hiệu lực 01/7",
        topic="luat-2026",
        production_ids=(3,),
        start=datetime(2026, 6, 23, 17, tzinfo=UTC),
        end=datetime(2026, 6, 30, 17, tzinfo=UTC),
        station_ids=tuple(range(1, STATIONS + 1)),
        min_airings_per_station=2,
    )
    fill_started = time.perf_counter()
    result = scheduler.fill(
        occurrences, candidates(), campaigns=[campaign], freshness_days=3, now=WINDOW_START - timedelta(days=1)
    )
    fill_s = time.perf_counter() - fill_started
    distinct = [o for o in occurrences if o.target_id <= DISTINCT_STATIONS]
    distinct_started = time.perf_counter()
    scheduler.fill(
        distinct,
        candidates(),
        campaigns=[campaign],
        existing=distinct_history(distinct, DISTINCT_STATIONS),
        freshness_days=3,
        now=WINDOW_START - timedelta(days=1),
    )
    distinct_s = time.perf_counter() - distinct_started
    figures = {
        "stations": STATIONS,
        "days": DAYS,
        "candidates": CANDIDATES,
        "occurrences": len(occurrences),
        "expand_s": round(expand_s, 3),
        "fill_s": round(fill_s, 3),
        "fill_us_per_occurrence": round(fill_s / len(occurrences) * 1e6, 2),
        "distinct_occurrences": len(distinct),
        "distinct_fill_s": round(distinct_s, 3),
        "distinct_us_per_occurrence": round(distinct_s / max(len(distinct), 1) * 1e6, 2),
        "airings": len(result.airings),
        "underfilled": len(result.underfilled),
        "mean_gap_s": round(sum(u.remaining_s for u in result.underfilled) / max(len(occurrences), 1), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "python": sys.version.split()[0],
    }
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
