"""The users' admin, with the action that sends a staff member an invitation to set up the
second factor (`isseg_portal.staff_second_factor`)."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from isseg_portal.staff_second_factor import InvitationError, staff_invitation_issue

User = get_user_model()


class PortalUserAdmin(UserAdmin):
    actions = [*UserAdmin.actions, "staff_invitation_send"]

    @admin.action(
        description=gettext_lazy("Enviar invitación para el segundo factor"),
        permissions=["change"],
    )
    def staff_invitation_send(self, request, queryset):
        sent = 0
        for user in queryset.order_by("email"):
            try:
                staff_invitation_issue(user=user, created_by=request.user)
            except InvitationError as error:
                self.message_user(request, error.message, messages.WARNING)
                continue
            sent += 1
            self.log_change(request, user, _("Se envió la invitación para el segundo factor."))
        if sent:
            self.message_user(
                request,
                ngettext(
                    "Se envió la invitación para el segundo factor a %(count)d persona; su "
                    "enlace sirve una vez durante 24 horas.",
                    "Se envió la invitación para el segundo factor a %(count)d personas; cada "
                    "enlace sirve una vez durante 24 horas.",
                    sent,
                )
                % {"count": sent},
                messages.SUCCESS,
            )


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, PortalUserAdmin)
