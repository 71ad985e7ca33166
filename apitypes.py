"""Constrained types shared by every API: ids, aware datetimes, local times and dates in a sane window.

Bad values become a 422 that names the field and says what is wrong, never a 500 from the database
(an id over 64 bits) or from date arithmetic (a year such as 0001 or 9999):
- `Id`: a database id, 1 to 2^53-1 (paths, queries and bodies).
- `Moment`: a datetime that carries its UTC offset; naive ones are refused, not guessed.
- `LocalTime`: a wall-clock time without a UTC offset (the slot's or area's timezone applies).
- `Day`, `Moment`: within FIRST_DAY..LAST_DAY.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

# 2^53-1, not 2^63-1: FastAPI writes OpenAPI bounds as floats, and 2^63-1 would be documented as 2^63 (a value the
# API refuses); 2^53-1 is exact as a float and as a JavaScript number, and far above any id a table will reach.
MAX_ID = 2**53 - 1
FIRST_YEAR, LAST_YEAR = 2000, 2100
FIRST_DAY, LAST_DAY = date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)
TIMEZONE_REQUIRED = "thiếu múi giờ (timezone required, e.g. 2026-12-07T05:30:00+07:00)"
OFFSET_REFUSED = (
    "giờ địa phương không kèm độ lệch UTC; múi giờ lấy theo trường timezone "
    "(local time without a UTC offset expected, e.g. 05:30:00)"
)
OUT_OF_WINDOW = f"năm phải từ {FIRST_YEAR} đến {LAST_YEAR} (date out of range: years {FIRST_YEAR} to {LAST_YEAR})"


def in_window(day: date) -> bool:
    """Whether a date lies in the years the service schedules and reports on."""
    return FIRST_DAY <= day <= LAST_DAY


def _day(value: date) -> date:
    if not in_window(value):
        raise PydanticCustomError("date_out_of_range", OUT_OF_WINDOW)
    return value


def _moment(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError("timezone_required", TIMEZONE_REQUIRED)
    _day(value.date())  # the date as written: 2100-12-31T23:00-05:00 is still in the window
    return value


def _local_time(value: time) -> time:
    if value.tzinfo is not None:
        raise PydanticCustomError("utc_offset_refused", OFFSET_REFUSED)
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID, description="a database id (1 to 2^53-1)")]
Day = Annotated[date, AfterValidator(_day)]
Moment = Annotated[datetime, AfterValidator(_moment)]
# JSON Schema's "time" format requires a UTC offset, which a local time must not have: documented as a pattern.
LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
LocalTime = Annotated[
    time,
    AfterValidator(_local_time),
    WithJsonSchema({"type": "string", "pattern": LOCAL_TIME_PATTERN, "description": "local time, e.g. 05:30"}),
]
