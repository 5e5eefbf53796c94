"""Quotas on what costs the portal: preparing a signature (a contract rendered, a certificate
checked against its OCSP), uploading a document (parsed, stored), creating an account.

Each is counted per person (or per address for sign-ups) in a fixed window by django-ratelimit,
in the cache django-ratelimit is told to use (`RATELIMIT_USE_CACHE`, shared by every node), and
refused past its rate with a 429 that says, in Spanish, when to try again. The rates are
settings: SIGNING_PREPARE_RATE, DOCUMENT_UPLOAD_RATE and ACCOUNT_SIGNUP_RATE ("20/h": twenty an
hour; "5/15m": five every fifteen minutes).
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import ngettext
from django_ratelimit.core import get_usage

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_window_seconds(rate: str) -> int:
    """The window of a rate as django-ratelimit reads it: "20/h" -> 3600, "5/15m" -> 900."""
    match = _RATE.match(rate)
    if match is None:
        raise ValueError(f"Not a rate: {rate!r} (for example 20/h or 5/15m).")
    return int(match.group(2) or 1) * _UNIT_SECONDS[match.group(3)]


@dataclass(frozen=True)
class QuotaExceeded:
    """The quota was spent: when the person may try again."""

    seconds_left: int
    retry_at: datetime

    @property
    def retry_after(self) -> str:
        """The value of the Retry-After header."""
        return str(self.seconds_left)


def quota_spend(*, group: str, key: str, rate: str) -> QuotaExceeded | None:
    """Count one use of `group` by `key`; None while within `rate`, else when to try again.
    Counts the refused attempts too: insisting does not open the quota sooner."""
    usage = get_usage(
        None, group=group, key=lambda _group, _request: key, rate=rate, increment=True
    )
    if usage is None or not usage["should_limit"]:  # None: RATELIMIT_ENABLE = False
        return None
    seconds = max(int(usage["time_left"]), 1)
    return QuotaExceeded(seconds_left=seconds, retry_at=timezone.now() + timedelta(seconds=seconds))


def retry_text(exceeded: QuotaExceeded | datetime) -> str:
    """The sentence that says when to try again, in the institute's time: "Podrás intentarlo
    de nuevo a partir de las 14:35 (en 12 minutos)."."""
    retry_at = exceeded.retry_at if isinstance(exceeded, QuotaExceeded) else exceeded
    seconds = max((retry_at - timezone.now()).total_seconds(), 0)
    minutes = max(int(-(-seconds // 60)), 1)
    return ngettext(
        "Podrás intentarlo de nuevo a partir de las %(time)s (en %(minutes)d minuto).",
        "Podrás intentarlo de nuevo a partir de las %(time)s (en %(minutes)d minutos).",
        minutes,
    ) % {"time": time_format(timezone.localtime(retry_at), "H:i"), "minutes": minutes}
