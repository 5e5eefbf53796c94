"""The dashboard's background work, run by the django-q2 cluster."""

from dashboard import reporting
from isseg_portal.background import Every


def tally_refresh_stale() -> int:
    """Recompute the figures of the months touched since the last run, so that the next visit
    to the dashboard finds them ready (it would recompute them itself otherwise)."""
    return reporting.tally_refresh_stale()


SCHEDULES = {tally_refresh_stale: Every(minutes=10)}
