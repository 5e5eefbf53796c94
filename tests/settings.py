"""The settings the tests run with: the portal's own, plus the demo app (its PKI and data are
what the tests sign with) and a fast password hasher (every persona has a password; a real
PBKDF2 hash per persona was most of the time of many tests)."""

from isseg_portal.settings import *  # noqa: F403

if "demo" not in INSTALLED_APPS:  # noqa: F405
    INSTALLED_APPS.append("demo")  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
