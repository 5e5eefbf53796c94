"""The ground layer's own records: the invitations that let a staff member set up a second
factor (`isseg_portal.staff_second_factor`)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class StaffInvitation(models.Model):
    """A one-time link an administrator issues so that one staff member may set up their
    authenticator (TOTP). Only a hash of the link's token is kept; the token itself is shown once
    (printed by `staff_invite`, emailed to the person)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        # The record of who was let in to set up a second factor outlives nothing it explains.
        on_delete=models.PROTECT,
        related_name="staff_invitations",
        verbose_name=_("cuenta"),
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("emitida el"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        # Empty: issued from the command line (`staff_invite`).
        verbose_name=_("emitida por"),
    )
    expires_at = models.DateTimeField(_("vence el"))
    used_at = models.DateTimeField(_("usada el"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitación para el segundo factor")
        verbose_name_plural = _("invitaciones para el segundo factor")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} · {self.created_at:%Y-%m-%d %H:%M}"
