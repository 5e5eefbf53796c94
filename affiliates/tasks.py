"""Background work of the affiliates app, run by the django-q2 cluster.

Each task is idempotent: running it twice, or two workers running it at once, changes nothing
more than running it once.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from affiliates.models import AffiliateLink
from isseg_portal.institute_time import INSTITUTE_TIME_ZONE

logger = logging.getLogger(__name__)


def link_notice_send(link_id: int) -> bool:
    """Tell the affiliate, at the email address on file in the institute's data, that an
    account of the portal was linked to them, and how to report it if it was not them. Returns
    whether an email went out.

    To the institute's address, not the account's: whoever linked someone else's affiliation
    controls the account's address, not the affiliate's.
    """
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        link = (
            AffiliateLink.objects.select_for_update()
            .select_related("affiliate", "user")
            .filter(pk=link_id)
            .first()
        )
        if link is None:
            # Undone by staff before the worker ran: nobody is linked any more.
            logger.info("Aviso de vinculación omitido: link=%s ya no existe", link_id)
            return False
        if link.notice_sent_at is not None:
            return False
        affiliate = link.affiliate
        if not affiliate.email:
            logger.warning(
                "Aviso de vinculación sin enviar: el afiliado no tiene correo registrado "
                "(link=%s affiliate=%s)",
                link.pk,
                affiliate.pk,
            )
            return False
        send_mail(
            subject=f"{settings.INSTITUTE_SHORT_NAME} · "
            + _("Tu afiliación se vinculó con una cuenta del portal"),
            message=render_to_string(
                "affiliates/email/linked.txt",
                {
                    "affiliate": affiliate,
                    "account": masked_email(link.user.email),
                    "linked_at": timezone.localtime(link.linked_at, INSTITUTE_TIME_ZONE),
                    "contact_email": settings.INSTITUTE_CONTACT_EMAIL,
                    "institute": settings.INSTITUTE_NAME,
                    "portal_url": settings.PORTAL_BASE_URL,
                },
            ),
            from_email=None,
            recipient_list=[affiliate.email],
        )
        link.notice_sent_at = timezone.now()
        link.save(update_fields=["notice_sent_at"])
    logger.info("Aviso de vinculación enviado: link=%s", link_id)
    return True


def masked_email(email: str) -> str:
    """ "ju•••@example.org": enough for the affiliate to tell whether the account is theirs,
    not enough to hand someone's address to whoever reads the affiliate's mail."""
    local, _at, domain = email.partition("@")
    return f"{local[:2]}\u2022\u2022\u2022@{domain}"
