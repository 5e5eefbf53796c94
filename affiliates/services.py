"""Writes of the affiliates app: linking an account to an affiliate, and undoing a link.

Linking is the portal's proof that an account acts for a given affiliate, so it asks for three
data only the affiliate should know together (CURP, affiliate number, birth date), records every
attempt, and limits failed attempts per account and per IP address so the three data cannot be
guessed by trying.
"""

import ipaddress
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_ratelimit.core import get_usage

from affiliates.identifiers import normalize_identifier
from affiliates.models import (
    Affiliate,
    AffiliateLink,
    AffiliateStatus,
    LinkAttempt,
    LinkOutcome,
)

audit_log = logging.getLogger("isseg.audit")

# Counters of failed link attempts, in the counters' cache every worker shares
# (RATELIMIT_USE_CACHE, which never evicts them: isseg_portal/counters.py).
LINK_RATE_GROUP = "affiliates.link"


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
    ip_address: str | None,
) -> AffiliateLink:
    """Link `user` to the one affiliate whose CURP, number and birth date all match.

    Every call writes a `LinkAttempt`, also when it raises `LinkError`: a failed attempt is
    written outside any transaction of ours, so it stays although the error propagates. For the
    same reason a caller must not wrap this function in a `transaction.atomic()` of its own.
    """
    curp = normalize_identifier(curp)
    # As the sync stores it: upper case, no spaces; dashes are part of some numbers.
    number = "".join(number.split()).upper()
    typed: dict[str, Any] = {"user": user, "curp": curp, "number": number, "ip_address": ip_address}

    rate = _link_rate_limit(user=user, ip_address=ip_address)
    if rate.limited:
        # No lookup at all while limited: the limit exists to stop guessing by trying.
        _attempt_record(**typed, affiliate=None, outcome=LinkOutcome.RATE_LIMITED)
        raise LinkError(
            LinkOutcome.RATE_LIMITED,
            _rate_limited_message(seconds_left=rate.seconds_left),
            retry_after=rate.seconds_left,
        )

    if AffiliateLink.objects.filter(user=user).exists():
        raise _link_failed(**typed, affiliate=None, outcome=LinkOutcome.ACCOUNT_HAS_LINK)

    affiliate = Affiliate.objects.filter(curp=curp, number=number, birth_date=birth_date).first()
    if affiliate is None:
        raise _link_failed(**typed, affiliate=None, outcome=LinkOutcome.NO_MATCH)
    if affiliate.status == AffiliateStatus.TERMINATED:
        raise _link_failed(**typed, affiliate=affiliate, outcome=LinkOutcome.TERMINATED)
    if affiliate.is_blocked:
        raise _link_failed(**typed, affiliate=affiliate, outcome=LinkOutcome.BLOCKED)

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
                _attempt_record(**typed, affiliate=locked, outcome=LinkOutcome.LINKED)
    except IntegrityError:
        link = None
    if link is None:
        # This account got a link meanwhile (a double submit, another tab), or the affiliate did.
        outcome = (
            LinkOutcome.ACCOUNT_HAS_LINK
            if AffiliateLink.objects.filter(user=user).exists()
            else LinkOutcome.ALREADY_LINKED
        )
        raise _link_failed(**typed, affiliate=affiliate, outcome=outcome)
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
    *,
    user: AbstractBaseUser,
    curp: str,
    number: str,
    affiliate: Affiliate | None,
    outcome: LinkOutcome,
    ip_address: str | None,
) -> LinkError:
    """Record a failed attempt, count it against the limits, and return its error to raise."""
    _attempt_record(
        user=user,
        curp=curp,
        number=number,
        affiliate=affiliate,
        outcome=outcome,
        ip_address=ip_address,
    )
    # An account that already has its link guessed nothing: only the other failures count.
    if outcome != LinkOutcome.ACCOUNT_HAS_LINK:
        _link_rate_count_failure(user=user, ip_address=ip_address)
    return LinkError(outcome, _failure_message(outcome))


def _attempt_record(
    *,
    user: AbstractBaseUser,
    curp: str,
    number: str,
    affiliate: Affiliate | None,
    outcome: LinkOutcome,
    ip_address: str | None,
) -> LinkAttempt:
    attempt = LinkAttempt.objects.create(
        user=user,
        # Truncated to the columns: what was typed is evidence, not a reason to fail with a 500.
        curp_entered=curp[:18],
        number_entered=number[:20],
        affiliate=affiliate,
        outcome=outcome,
        ip_address=ip_address,
    )
    # Ids and outcome only: the CURP and number typed stay in the database, not in log files.
    # After commit, so a rolled-back link is never reported as made.
    transaction.on_commit(
        lambda: audit_log.info(
            "affiliate_link attempt=%s user=%s outcome=%s", attempt.pk, user.pk, outcome.value
        )
    )
    return attempt


def _failure_message(outcome: LinkOutcome) -> str:
    contact = settings.INSTITUTE_CONTACT_EMAIL
    if outcome == LinkOutcome.NO_MATCH:
        # Deliberately silent about which datum was wrong: that would help someone guessing.
        return _(
            "Los datos no coinciden con ningún afiliado. Revisa tu CURP, tu número de "
            "afiliación y tu fecha de nacimiento tal como aparecen en tu talón de pago o "
            "credencial."
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
# django-ratelimit's counters, kept in the shared counters' cache. `get_usage` reads its `request`
# argument only to match the method (not asked for: method=ALL) and to compute the key (here a
# callable that returns the value we already have), so the service passes no request and keeps
# the whole rule in one place, for any caller. The linking tests exercise this end to end; they
# fail if a new django-ratelimit version starts reading the request.


def _link_rate_keys(*, user: AbstractBaseUser, ip_address: str | None) -> list[str]:
    keys = [f"user:{user.pk}"]
    if ip_address:
        # One IPv6 client usually holds a whole /64: count it as one address, as
        # django-ratelimit's own "ip" key does.
        prefix = 64 if ":" in ip_address else 32
        try:
            network = ipaddress.ip_network(f"{ip_address}/{prefix}", strict=False)
            keys.append(f"ip:{network.network_address}")
        except ValueError:
            keys.append(f"ip:{ip_address}")
    return keys


def _link_rate_usage(key: str, *, increment: bool) -> dict | None:
    return get_usage(
        None,
        group=LINK_RATE_GROUP,
        key=lambda _group, _request: key,
        rate=settings.AFFILIATE_LINK_RATE,
        increment=increment,
    )


def _link_rate_limit(*, user: AbstractBaseUser, ip_address: str | None) -> _RateLimit:
    """Whether the failures counted so far reach the limit, for the account or for its IP."""
    limited, seconds_left = False, 0
    for key in _link_rate_keys(user=user, ip_address=ip_address):
        usage = _link_rate_usage(key, increment=False)
        if usage is None:  # RATELIMIT_ENABLE = False
            continue
        # `count` holds failures only, so reaching the limit blocks the next attempt. A cache
        # that cannot answer reports limit 0: closed, like django-ratelimit's default.
        if usage["count"] >= usage["limit"]:
            limited = True
            seconds_left = max(seconds_left, usage["time_left"], 1)
    return _RateLimit(limited=limited, seconds_left=seconds_left)


def _link_rate_count_failure(*, user: AbstractBaseUser, ip_address: str | None) -> None:
    for key in _link_rate_keys(user=user, ip_address=ip_address):
        _link_rate_usage(key, increment=True)
