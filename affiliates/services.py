"""Writes of the affiliates app: linking an account to an affiliate, and undoing a link.

Linking is the portal's proof that an account acts for a given affiliate. The CURP, the
affiliate number and the birth date are not a secret together (the birth date is inside the
CURP, and numbers are given in sequence), so linking also asks for something only the affiliate
and the institute know: the net amount of the last quincena (`Affiliate.net_pay`, as the
institute's data say it), within a peso. Every attempt is recorded, and the attempts of an
account and of an IP address are limited so the data cannot be guessed by trying.

The limits count *before* they evaluate: an attempt is written (`LinkOutcome.PENDING`) and
committed first, then the attempts of the window are counted, and only then is anything compared.
Each attempt counts itself and every attempt written before its count, so of any number of
attempts sent together at most the limit are compared (the k-th to count sees at least k rows).
Successful links and refusals that guessed nothing do not count against the next attempts.

The affiliate's email address on file hears of every link (`affiliates.tasks.link_notice_send`,
queued after the commit), with how to report it if it was not them.
"""

import logging
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from affiliates.identifiers import normalize_identifier
from affiliates.models import (
    Affiliate,
    AffiliateLink,
    AffiliateStatus,
    LinkAttempt,
    LinkOutcome,
)
from isseg_portal.background import enqueue_on_commit
from isseg_portal.client_ip import client_network

audit_log = logging.getLogger("isseg.audit")

# How far the typed net amount may be from the institute's: people round to the peso.
NET_PAY_TOLERANCE = Decimal("1.00")

# Outcomes that do not count against the limits: a link made, an account that already had its
# link (it guessed nothing), an attempt refused by the limit itself (it compared nothing).
# PENDING counts: an attempt running now is a guess like any other.
_NOT_COUNTED = (LinkOutcome.LINKED, LinkOutcome.ACCOUNT_HAS_LINK, LinkOutcome.RATE_LIMITED)


class LinkError(Exception):
    """A link attempt that did not link; `message` is ready to show to the person."""

    def __init__(self, code: LinkOutcome, message: str, *, retry_after: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        # Seconds until the person may try again (only for LinkOutcome.RATE_LIMITED).
        self.retry_after = retry_after


@dataclass(frozen=True)
class _RateLimit:
    limited: bool
    seconds_left: int


def affiliate_link(
    *,
    user: AbstractBaseUser,
    curp: str,
    number: str,
    birth_date: date,
    net_pay: Decimal,
    ip_address: str | None,
) -> AffiliateLink:
    """Link `user` to the one affiliate whose CURP, number and birth date match and whose net
    amount of the last quincena is within a peso of `net_pay`.

    Every call writes a `LinkAttempt`, also when it raises `LinkError`. The attempt is written
    and committed before anything is compared, so it counts against the limits of attempts
    running at the same time; for that reason a caller must not wrap this function in a
    `transaction.atomic()` of its own.
    """
    curp = normalize_identifier(curp)
    # As the sync stores it: upper case, no spaces; dashes are part of some numbers.
    number = "".join(number.split()).upper()
    # Counted first: written and committed (autocommit) before any lookup.
    attempt = LinkAttempt.objects.create(
        user=user,
        # Truncated to the columns: what was typed is evidence, not a reason to fail with a 500.
        curp_entered=curp[:18],
        number_entered=number[:20],
        outcome=LinkOutcome.PENDING,
        ip_address=ip_address,
        ip_key=_ip_key(ip_address),
    )

    rate = _link_rate_limit(attempt)
    if rate.limited:
        # No lookup at all while limited: the limit exists to stop guessing by trying.
        _attempt_end(attempt, affiliate=None, outcome=LinkOutcome.RATE_LIMITED)
        raise LinkError(
            LinkOutcome.RATE_LIMITED,
            _rate_limited_message(seconds_left=rate.seconds_left),
            retry_after=rate.seconds_left,
        )

    if AffiliateLink.objects.filter(user=user).exists():
        raise _link_failed(attempt, affiliate=None, outcome=LinkOutcome.ACCOUNT_HAS_LINK)

    affiliate = Affiliate.objects.filter(curp=curp, number=number, birth_date=birth_date).first()
    if affiliate is None or abs(affiliate.net_pay - net_pay) > NET_PAY_TOLERANCE:
        # One answer whichever datum is wrong, and no affiliate named on the attempt.
        raise _link_failed(attempt, affiliate=None, outcome=LinkOutcome.NO_MATCH)
    if affiliate.status == AffiliateStatus.TERMINATED:
        raise _link_failed(attempt, affiliate=affiliate, outcome=LinkOutcome.TERMINATED)
    if affiliate.is_blocked:
        raise _link_failed(attempt, affiliate=affiliate, outcome=LinkOutcome.BLOCKED)

    link = None
    try:
        with transaction.atomic():
            # Two accounts racing for the same affiliate queue on this lock, and the second one
            # sees the first one's link. The OneToOne unique constraints are the last line.
            locked = Affiliate.objects.select_for_update().get(pk=affiliate.pk)
            if not AffiliateLink.objects.filter(Q(user=user) | Q(affiliate=locked)).exists():
                link = AffiliateLink.objects.create(
                    user=user, affiliate=locked, ip_address=ip_address
                )
                _attempt_end(attempt, affiliate=locked, outcome=LinkOutcome.LINKED)
                # Lazy import: the task module imports this one.
                from affiliates.tasks import link_notice_send

                enqueue_on_commit(link_notice_send, link.pk)
    except IntegrityError:
        link = None
    if link is None:
        # This account got a link meanwhile (a double submit, another tab), or the affiliate did.
        outcome = (
            LinkOutcome.ACCOUNT_HAS_LINK
            if AffiliateLink.objects.filter(user=user).exists()
            else LinkOutcome.ALREADY_LINKED
        )
        raise _link_failed(attempt, affiliate=affiliate, outcome=outcome)
    return link


def affiliate_unlink(*, link: AffiliateLink, actor: AbstractBaseUser) -> None:
    """Undo a link made by mistake (staff only, from the admin); the affiliate may link again.

    The admin's own LogEntry keeps who deleted which link and when; the audit line here adds the
    ids of the account and the affiliate so the trail survives a change of the link's text.
    """
    user_id, affiliate_id, link_id = link.user_id, link.affiliate_id, link.pk
    with transaction.atomic():
        link.delete()
        transaction.on_commit(
            lambda: audit_log.info(
                "affiliate_unlink link=%s user=%s affiliate=%s actor=%s",
                link_id,
                user_id,
                affiliate_id,
                actor.pk,
            )
        )


def _link_failed(
    attempt: LinkAttempt, *, affiliate: Affiliate | None, outcome: LinkOutcome
) -> LinkError:
    """End a failed attempt (it stays counted unless `_NOT_COUNTED`) and return its error."""
    _attempt_end(attempt, affiliate=affiliate, outcome=outcome)
    return LinkError(outcome, _failure_message(outcome))


def _attempt_end(
    attempt: LinkAttempt, *, affiliate: Affiliate | None, outcome: LinkOutcome
) -> None:
    attempt.affiliate = affiliate
    attempt.outcome = outcome
    attempt.save(update_fields=["affiliate", "outcome"])
    user_id = attempt.user_id
    # Ids and outcome only: the CURP and number typed stay in the database, not in log files.
    # After commit, so a rolled-back link is never reported as made.
    transaction.on_commit(
        lambda: audit_log.info(
            "affiliate_link attempt=%s user=%s outcome=%s", attempt.pk, user_id, outcome.value
        )
    )


def _failure_message(outcome: LinkOutcome) -> str:
    contact = settings.INSTITUTE_CONTACT_EMAIL
    if outcome == LinkOutcome.NO_MATCH:
        # Deliberately silent about which datum was wrong: that would help someone guessing.
        return _(
            "Los datos no coinciden con ningún afiliado. Revisa tu CURP, tu número de "
            "afiliación, tu fecha de nacimiento y el neto de tu última quincena tal como "
            "aparecen en tu talón de pago, recibo de pensión o credencial."
        )
    if outcome == LinkOutcome.ALREADY_LINKED:
        return _(
            "Esta afiliación ya está vinculada con otra cuenta del portal. Si no fuiste tú, "
            "comunícate con el Instituto en %(email)s para revisarlo."
        ) % {"email": contact}
    if outcome == LinkOutcome.ACCOUNT_HAS_LINK:
        return _(
            "Tu cuenta ya está vinculada con una afiliación. Si necesitas cambiarla, "
            "comunícate con el Instituto en %(email)s."
        ) % {"email": contact}
    if outcome == LinkOutcome.TERMINATED:
        return _(
            "Tu afiliación está dada de baja, por lo que no puede vincularse al portal. Si "
            "crees que es un error, comunícate con el Instituto en %(email)s."
        ) % {"email": contact}
    if outcome == LinkOutcome.BLOCKED:
        # The reason is an internal note of the institute; the affiliate hears it from a person.
        return _(
            "Tu afiliación tiene una restricción que impide vincularla en este momento. "
            "Comunícate con el Instituto en %(email)s para conocer cómo resolverla."
        ) % {"email": contact}
    raise ValueError(f"No message for outcome {outcome!r}")


def _rate_limited_message(*, seconds_left: int) -> str:
    minutes = max(1, -(-seconds_left // 60))
    retry_at = timezone.localtime(timezone.now() + timedelta(seconds=seconds_left))
    return ngettext(
        "Hiciste demasiados intentos de vinculación sin éxito. Por seguridad, espera "
        "%(minutes)d minuto e inténtalo de nuevo a partir de las %(time)s.",
        "Hiciste demasiados intentos de vinculación sin éxito. Por seguridad, espera "
        "%(minutes)d minutos e inténtalo de nuevo a partir de las %(time)s.",
        minutes,
    ) % {"minutes": minutes, "time": time_format(retry_at, "H:i")}


# --- Rate limit -------------------------------------------------------------------------------
# Counted on the `LinkAttempt` rows themselves, in a sliding window: the database every worker
# shares is the counter, whatever the cache, and the record of attempts is the count.

_RATE = re.compile(r"(?P<count>\d+)/(?P<multiplier>\d*)(?P<unit>[smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _link_rate() -> tuple[int, timedelta]:
    """AFFILIATE_LINK_RATE ("5/15m": five failures in fifteen minutes) as (limit, window)."""
    match = _RATE.fullmatch(settings.AFFILIATE_LINK_RATE.strip())
    if match is None:
        raise ImproperlyConfigured(
            f"AFFILIATE_LINK_RATE={settings.AFFILIATE_LINK_RATE!r}: expected e.g. 5/15m"
        )
    seconds = int(match["multiplier"] or 1) * _UNIT_SECONDS[match["unit"]]
    return int(match["count"]), timedelta(seconds=seconds)


def _ip_key(ip_address: str | None) -> str:
    # What every rate limit of the portal counts: the address, or an IPv6 client's /64.
    return client_network(ip_address)[:45]


def _link_rate_limit(attempt: LinkAttempt) -> _RateLimit:
    """Whether `attempt` is beyond the limit, for its account or for its address.

    The attempt is already written, so it counts itself: it may go on while the counted
    attempts of the window, its own included, are at most the limit.
    """
    limit, window = _link_rate()
    now = timezone.now()
    recent = LinkAttempt.objects.filter(created_at__gt=now - window).exclude(
        outcome__in=_NOT_COUNTED
    )
    scopes = [Q(user_id=attempt.user_id)]
    if attempt.ip_key:
        scopes.append(Q(ip_key=attempt.ip_key))
    limited, seconds_left = False, 0
    for scope in scopes:
        counted = recent.filter(scope)
        if counted.count() <= limit:
            continue
        limited = True
        # The next attempt may go on once the limit-th most recent other attempt leaves the
        # window. Concurrent attempts that end up not counting only make this wait shorter.
        kept = list(
            counted.exclude(pk=attempt.pk)
            .order_by("-created_at")
            .values_list("created_at", flat=True)[max(limit - 1, 0) : max(limit, 1)]
        )
        left = int((kept[0] + window - now).total_seconds()) + 1 if kept else 1
        seconds_left = max(seconds_left, left, 1)
    return _RateLimit(limited=limited, seconds_left=seconds_left)
