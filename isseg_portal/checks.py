"""Deployment checks of the portal's own settings, run by `manage.py check --deploy`."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def production_settings(app_configs, **kwargs):
    problems = []
    if str(settings.SIGNATURES_SEAL_PKCS12).startswith(str(settings.DEMO_PKI_DIR)):
        problems.append(
            Warning(
                "The institutional seal is the demo PKI's (SIGNATURES_SEAL_PKCS12).",
                hint="Set it and its password to the institute's seal certificate.",
                id="isseg_portal.W001",
            )
        )
    if not settings.SIGNATURES_SEAL_PASSWORD:
        problems.append(
            Warning(
                "The institutional seal has no password (SIGNATURES_SEAL_PASSWORD or "
                "SIGNATURES_SEAL_PASSWORD_FILE).",
                id="isseg_portal.W004",
            )
        )
    if settings.DOCUMENTS_STORAGE == "s3" and not settings.STORAGES["default"]["OPTIONS"].get(
        "bucket_name"
    ):
        problems.append(
            Error(
                "DOCUMENTS_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME.",
                id="isseg_portal.E001",
            )
        )
    if settings.SESSION_IDLE_SECONDS > settings.SESSION_ABSOLUTE_SECONDS:
        problems.append(
            Warning(
                "DJANGO_SESSION_IDLE_SECONDS is longer than DJANGO_SESSION_ABSOLUTE_SECONDS.",
                id="isseg_portal.W002",
            )
        )
    if not settings.DEBUG and not settings.STAFF_REQUIRE_MFA:
        problems.append(
            Warning(
                "Staff reach the admin, Tesorería's files, applicants' documents and the "
                "dashboard with the password alone (STAFF_REQUIRE_MFA=0).",
                hint="Unset STAFF_REQUIRE_MFA; staff set up their TOTP with `staff_invite`.",
                id="isseg_portal.W005",
            )
        )
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        problems.append(
            Warning(
                "The database is SQLite: fine for one node, not for several web and task nodes.",
                hint="Set DATABASE_URL to the shared PostgreSQL (README, Producción).",
                id="isseg_portal.W003",
            )
        )
    return problems
