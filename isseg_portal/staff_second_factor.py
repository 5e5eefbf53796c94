"""The staff's second factor: who must have it, where, and how they get one.

- **Who**: an account with staff powers (`privileged`: staff status, superuser, or any
  permission, such as the dashboard's given to a group without staff status).
- **Where**: every page that serves such an account as staff, when STAFF_REQUIRE_MFA is on
  (outside DEBUG): the URLs under STAFF_SECOND_FACTOR_URLS (the admin with Tesorería's files, the
  managers' dashboard), checked by `StaffSecondFactorMiddleware`, and any other view that checks
  staff or a permission, marked with `@staff_second_factor_required` (the applicants' document
  download, which also serves staff). `tests/test_staff_mfa.py` fails on a view that checks
  `is_staff` or a permission and is neither.
- **How**: not by themselves. An administrator issues a one-time invitation (`staff_invite
  EMAIL`, or the users' admin action), valid 24 hours; following it, logged in as that person,
  lets the session set up the authenticator (`StaffInvitation`, of which only a hash is kept).
  Whoever learns a staff password cannot enrol their own authenticator and get the recovery
  codes.
"""

import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from isseg_portal.models import StaffInvitation

audit_log = logging.getLogger("isseg.audit")

INVITATION_VALIDITY = timedelta(hours=24)
# How long a session that followed an invitation may take to set up the authenticator.
ENROLMENT_SECONDS = 60 * 60
ENROLMENT_SESSION_KEY = "staff_second_factor_enrolment"


def privileged(user: AbstractBaseUser) -> bool:
    """Whether the account has any staff power: staff status, superuser, or a permission."""
    if not user.is_authenticated:
        return False
    return bool(user.is_staff or user.is_superuser or user.get_all_permissions())


def has_authenticator(user: AbstractBaseUser) -> bool:
    return is_mfa_enabled(user, types=["totp"])


def second_factor_response(request: HttpRequest) -> HttpResponse | None:
    """None when the request may be served as staff; otherwise where to send the person.

    Without an authenticator: the page that says to ask for an invitation. With one but a
    session opened without it (by the password alone, or before it was set up): log in again.
    """
    if not settings.STAFF_REQUIRE_MFA or not privileged(request.user):
        return None
    user = request.user
    if not has_authenticator(user):
        return redirect("staff_second_factor")
    methods = {record.get("method") for record in get_authentication_records(request, user)}
    if "mfa" in methods:
        return None
    logout(request)
    messages.info(
        request, _("Inicia sesión de nuevo con tu código de autenticación para continuar.")
    )
    return redirect(f"{reverse('account_login')}?next={request.path}")


def staff_second_factor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For a view that also serves staff outside STAFF_SECOND_FACTOR_URLS: staff (privileged
    accounts) reach it only with the second factor; anyone else as before."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        refusal = second_factor_response(request)
        if refusal is not None:
            return refusal
        return view(request, *args, **kwargs)

    guarded.staff_second_factor = True  # type: ignore[attr-defined]
    return guarded


# --- Enrolment ---------------------------------------------------------------------------------


def enrolment_allowed(request: HttpRequest) -> bool:
    """Whether this session may set up an authenticator: anyone without staff powers may;
    staff only in the hour after following a valid invitation, in this same session."""
    user = request.user
    if not privileged(user):
        return True
    grant = request.session.get(ENROLMENT_SESSION_KEY)
    return bool(grant and grant.get("user") == str(user.pk) and grant.get("until", 0) > time.time())


class InvitationError(Exception):
    """An invitation that cannot be issued or used; `message` is ready to show, `status` the
    HTTP status of a page that shows it."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    return settings.PORTAL_BASE_URL + reverse("staff_invitation_accept", args=[token])


def staff_invitation_issue(
    *, user: AbstractBaseUser, created_by: AbstractBaseUser | None
) -> tuple[StaffInvitation, str]:
    """Issue a new invitation for `user` (earlier unused ones stop working) and email its link
    to the account's address. Returns the invitation and the link, which is never stored."""
    if not user.is_active or not (user.is_staff or user.is_superuser):
        raise InvitationError(
            _("%(email)s no es personal del Instituto (cuenta de personal activa).")
            % {"email": user.email}
        )
    if has_authenticator(user):
        raise InvitationError(
            _(
                "%(email)s ya tiene un segundo factor. Para darle uno nuevo, borre primero su "
                "autenticador en la administración («MFA › Autenticadores»)."
            )
            % {"email": user.email}
        )
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        StaffInvitation.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(
            expires_at=now
        )
        invitation = StaffInvitation.objects.create(
            user=user,
            token_hash=_token_hash(token),
            created_by=created_by,
            expires_at=now + INVITATION_VALIDITY,
        )
        actor = created_by.pk if created_by is not None else "comando"
        transaction.on_commit(
            lambda: audit_log.info(
                "staff_invitation_issue invitation=%s user=%s actor=%s",
                invitation.pk,
                user.pk,
                actor,
            )
        )
    url = invitation_url(token)
    send_mail(
        subject=f"{settings.INSTITUTE_SHORT_NAME} · "
        + _("Invitación para configurar tu segundo factor"),
        message=render_to_string(
            "isseg_portal/email/staff_invitation.txt",
            {"user": user, "url": url, "hours": int(INVITATION_VALIDITY.total_seconds() // 3600)},
        ),
        from_email=None,
        recipient_list=[user.email],
    )
    return invitation, url


_USED = gettext_lazy(
    "Esta invitación ya se usó. Si necesitas otra, pide a un administrador una nueva."
)


def staff_invitation_check(*, token: str, user: AbstractBaseUser) -> StaffInvitation:
    """The invitation of `token` if `user` may follow it now; InvitationError otherwise."""
    invitation = StaffInvitation.objects.filter(token_hash=_token_hash(token)).first()
    if invitation is None:
        raise InvitationError(
            _(
                "Este enlace de invitación no es válido. Revisa que lo hayas copiado completo o "
                "pide a un administrador una invitación nueva."
            )
        )
    if invitation.user_id != user.pk:
        raise InvitationError(
            _(
                "Esta invitación es para otra cuenta. Cierra sesión y entra con la cuenta a la "
                "que se envió."
            ),
            status=403,
        )
    if invitation.used_at is not None:
        raise InvitationError(str(_USED))
    if invitation.expires_at <= timezone.now():
        raise InvitationError(
            _(
                "Esta invitación venció (sirve 24 horas). Pide a un administrador una invitación "
                "nueva."
            )
        )
    if has_authenticator(user):
        raise InvitationError(_("Tu cuenta ya tiene un segundo factor configurado."))
    return invitation


def staff_invitation_accept(*, request: HttpRequest, token: str) -> StaffInvitation:
    """Use the invitation once: this session may now set up the authenticator."""
    user = request.user
    with transaction.atomic():
        invitation = staff_invitation_check(token=token, user=user)
        # Two tabs following the same link: the second waits here and finds it used.
        invitation = StaffInvitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.used_at is not None:
            raise InvitationError(str(_USED))
        invitation.used_at = timezone.now()
        invitation.save(update_fields=["used_at"])
        transaction.on_commit(
            lambda: audit_log.info(
                "staff_invitation_accept invitation=%s user=%s", invitation.pk, user.pk
            )
        )
    request.session[ENROLMENT_SESSION_KEY] = {
        "user": str(user.pk),
        "invitation": invitation.pk,
        "until": time.time() + ENROLMENT_SECONDS,
    }
    return invitation
