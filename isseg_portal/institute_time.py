"""The institute's clock: Mexico City time, whatever zone a server or a browser is in.

Quincenas, seniority, the contract's date and the program's months are counted on it. Django's
TIME_ZONE is set from it too, so `timezone.localdate()` is the institute's day. The program's
figures and the surveys count months on it.
"""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

INSTITUTE_TIME_ZONE = ZoneInfo("America/Mexico_City")


def month_of(moment: datetime) -> date:
    """The first day of the month of `moment` on the institute's calendar."""
    local = moment.astimezone(INSTITUTE_TIME_ZONE)
    return date(local.year, local.month, 1)


def month_next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The aware instants [start, end) of a month on the institute's calendar."""
    start = datetime.combine(month, time.min, tzinfo=INSTITUTE_TIME_ZONE)
    end = datetime.combine(month_next(month), time.min, tzinfo=INSTITUTE_TIME_ZONE)
    return start, end


def months_between(first: date, last: date) -> list[date]:
    """Every month from `first` to `last`, both included."""
    months, month = [], first
    while month <= last:
        months.append(month)
        month = month_next(month)
    return months
