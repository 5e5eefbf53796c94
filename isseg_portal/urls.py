from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from isseg_portal import health, views

# Staff log in through allauth (which asks for the second factor), not the admin's own form.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = _("ISSEG · Préstamos en línea · Administración")
admin.site.site_title = _("ISSEG Préstamos en línea")
admin.site.index_title = _("Administración del portal")

# allauth's answer when one of its rate limits is reached (sign-ups per address, logins).
handler429 = "isseg_portal.views.too_many_requests"

urlpatterns = [
    path("", views.home, name="home"),
    path("salud/", health.health, name="health"),
    path("aviso-de-privacidad/", views.privacy_notice, name="privacy_notice"),
    path("aviso-de-privacidad/integral/", views.privacy_notice_full, name="privacy_notice_full"),
    # "Mi cuenta" sits at the root of allauth's own pages (login, signup, password, email).
    path("cuenta/", views.my_account, name="my_account"),
    path("cuenta/segundo-factor/", views.staff_second_factor, name="staff_second_factor"),
    path(
        "cuenta/segundo-factor/invitacion/<str:token>/",
        views.staff_invitation,
        name="staff_invitation_accept",
    ),
    path("cuenta/", include("allauth.urls")),
    path("afiliacion/", include("affiliates.urls")),
    path("", include("loans.urls")),
    path("", include("surveys.urls")),
    path("", include("dashboard.urls")),
    path("", include("signatures.urls")),
    # Before the admin: its catch-all view would answer every path under admin/.
    path("admin/tesoreria/", include("loans.admin_exports")),
    path("admin/", admin.site.urls),
]
