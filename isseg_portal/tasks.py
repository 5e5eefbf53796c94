"""The portal's own background work: the notice to an account's owner that someone is trying
passwords on it (queued by isseg_portal.login_throttle)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from isseg_portal.context_processors import institute


def password_guessing_notify(user_id: int) -> None:
    """Email the owner that many wrong passwords were tried on their account. Idempotent enough:
    the throttle queues it at most once a day per account."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return
    context = {
        **institute(None),
        "email": user.email,
        "failures": settings.LOGIN_GUESSING_NOTICE_FAILURES,
        "password_reset_url": settings.PORTAL_BASE_URL + reverse("account_reset_password"),
    }
    send_mail(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
        + _("Alguien está intentando entrar a tu cuenta"),
        message=render_to_string("account/email/password_guessing_message.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )
