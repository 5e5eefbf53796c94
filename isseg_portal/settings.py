"""Settings of the ISSEG online-loan portal.

Everything that differs between a laptop and production comes from the environment; nothing
secret lives in the repository. The embedded default (SQLite, database cache, django-q2 on the
ORM broker, console email) runs with no other service. See README.md, "Configuración".
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from isseg_portal.institute_time import INSTITUTE_TIME_ZONE

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime state of the embedded default (SQLite file, development secret key, documents).
VAR_DIR = Path(os.environ.get("ISSEG_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "si", "sí"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def secret_from_file(path: str | Path) -> str:
    """The first line of a secret's file, or "" when there is no such file."""
    try:
        return Path(path).read_text().splitlines()[0].strip()
    except (OSError, IndexError):
        return ""


DEBUG = env_bool("DJANGO_DEBUG")


def _secret_key() -> str:
    key = os.environ.get("DJANGO_SECRET_KEY", "")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is not 1 (see README.md)."
        )
    # Development only: a random key kept outside the repository so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "django_q",
    "storages",
    "isseg_portal",
    "affiliates",
    "loans",
    "signatures",
    "surveys",
    "dashboard",
    "operations",
]
if DEBUG:
    # Demo data, the demo PKI and seed_demo: a laptop or a training server, never production.
    INSTALLED_APPS.append("demo")

MIDDLEWARE = [
    # First: every log line of the request, even of a failing middleware, carries its id.
    "isseg_portal.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Pages with personal data are never cached (isseg_portal.middleware).
    "isseg_portal.middleware.NoStoreMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # A sign-in refused by the throttle answers 429 with Retry-After (the form keeps the email).
    "isseg_portal.login_throttle.LoginThrottleMiddleware",
    "isseg_portal.sessions.SessionTimeoutMiddleware",
    "isseg_portal.middleware.StaffSecondFactorMiddleware",
    "isseg_portal.db_unavailable.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "isseg_portal.urls"
WSGI_APPLICATION = "isseg_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "isseg_portal.context_processors.institute",
                # The banner of a pending survey; lazy, so pages that don't show it pay nothing.
                "surveys.context_processors.survey_prompt",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# DATABASE_URL: sqlite:///path, postgres://user:pass@host:5432/name or
# oracle://user:pass@host:1521/service (Django's Oracle backend, on the oracledb driver).
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_POOL"):
    # A pool per process (psycopg_pool) instead of one persistent connection per thread: each
    # gunicorn worker keeps at most DATABASE_POOL_MAX_SIZE connections however many threads it
    # runs. Django's pool needs CONN_MAX_AGE = 0; the pool itself keeps the connections.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN_SIZE", 1),
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 8),
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One writer at a time: wait for the lock instead of failing while the task worker writes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    VAR_DIR.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (shared by every process) ---------------------------------------------------------
# CACHE_URL: unset for Django's database cache (shared by all workers through the database),
# redis://host:6379/0 for Redis. The rate limits' counters have their own alias, "ratelimit",
# which never evicts a live entry (isseg_portal/counters.py): without Redis a database cache
# that never culls, in its own table; with Redis the same server unless RATELIMIT_CACHE_URL
# names another, whose maxmemory-policy must be noeviction (checked when a web process starts).
CACHE_URL = os.environ.get("CACHE_URL", "")
RATELIMIT_CACHE_URL = os.environ.get("RATELIMIT_CACHE_URL", "") or CACHE_URL


def _cache(variable: str, url: str, *, counters: bool) -> dict:
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "isseg-limites" if counters else "isseg",
        }
    if url in {"", "db://", "database"}:
        if counters:
            return {
                "BACKEND": "isseg_portal.counters.CountersDatabaseCache",
                "LOCATION": "portal_rate_limits",
                # Each counter is written with its window's timeout, but incr() re-saves with this
                # one (django-ratelimit): it must outlast the longest window (/verificar/'s hour).
                "TIMEOUT": 24 * 3600,
                # Past this many rows each write deletes the expired ones (never a live one).
                "OPTIONS": {"MAX_ENTRIES": 5000},
            }
        return {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache",
            "TIMEOUT": 3600,
        }
    raise ImproperlyConfigured(f"Unsupported {variable} scheme: {url.split(':', 1)[0]}")


CACHES = {
    "default": _cache("CACHE_URL", CACHE_URL, counters=False),
    "ratelimit": _cache("RATELIMIT_CACHE_URL", RATELIMIT_CACHE_URL, counters=True),
}
# django-ratelimit's counters (/verificar/, linking an account) in the same alias.
RATELIMIT_USE_CACHE = "ratelimit"

# --- Authentication (django-allauth) ---------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "affiliates:my_affiliation"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PREVENT_ENUMERATION = True
# One address per account, changed with a confirmation; notices when password or email change.
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[ISSEG Préstamos en línea] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
# Accounts created from one address (sign-up forms sent, counted by allauth): "10/h", ten an
# hour. An office behind one address may need more.
ACCOUNT_SIGNUP_RATE = os.environ.get("ACCOUNT_SIGNUP_RATE", "10/h")
# allauth's rate limits, kept in the "ratelimit" cache alias (isseg_portal/counters.py). Failed
# sign-ins are throttled by the portal instead (isseg_portal/login_throttle.py, settings below):
# "login_failed" here counts only the second factor's codes, per account, once the password was
# right (allauth.mfa), and per address.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": f"20/m/ip,{ACCOUNT_SIGNUP_RATE}/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
}
ACCOUNT_ADAPTER = "isseg_portal.accounts.AccountAdapter"
ACCOUNT_FORMS = {"signup": "isseg_portal.accounts.SignupForm"}
# Failed sign-ins (isseg_portal/login_throttle.py). Per account and address (an IPv6 client: its
# /64), LOGIN_FREE_ATTEMPTS wrong passwords, then a wait before each next one that doubles from
# LOGIN_FIRST_DELAY_SECONDS up to LOGIN_MAX_DELAY_SECONDS, forgotten LOGIN_FORGET_SECONDS after the
# last attempt; the owner at another address is never held back. Per address, whatever the
# account, LOGIN_ADDRESS_FAILURES within LOGIN_ADDRESS_WINDOW_SECONDS. The owner is emailed (once
# a day at most) after LOGIN_GUESSING_NOTICE_FAILURES failures on the account within an hour.
LOGIN_FREE_ATTEMPTS = env_int("LOGIN_FREE_ATTEMPTS", 5)
LOGIN_FIRST_DELAY_SECONDS = env_int("LOGIN_FIRST_DELAY_SECONDS", 30)
LOGIN_MAX_DELAY_SECONDS = env_int("LOGIN_MAX_DELAY_SECONDS", 15 * 60)
LOGIN_FORGET_SECONDS = env_int("LOGIN_FORGET_SECONDS", 24 * 3600)
LOGIN_ADDRESS_FAILURES = env_int("LOGIN_ADDRESS_FAILURES", 10)
LOGIN_ADDRESS_WINDOW_SECONDS = env_int("LOGIN_ADDRESS_WINDOW_SECONDS", 60)
LOGIN_GUESSING_NOTICE_FAILURES = env_int("LOGIN_GUESSING_NOTICE_FAILURES", 10)

# --- Email -------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = os.environ.get(
    "DJANGO_DEFAULT_FROM_EMAIL", "ISSEG Préstamos en línea <no-responder@localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
else:
    EMAIL_BACKEND = os.environ.get(
        "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
    )

# --- Internationalization ---------------------------------------------------------------------
LANGUAGE_CODE = "es-mx"
LANGUAGES = [("es-mx", _("Español (México)"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = INSTITUTE_TIME_ZONE.key
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True

# --- Static files (WhiteNoise) ---------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Front-end packages come from npm (package-lock.json) and are served from node_modules under a
# prefix, never copied into the repository: `make assets` installs them.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/forge", BASE_DIR / "node_modules" / "node-forge" / "dist"),
    ("vendor/fonts/noto-serif", BASE_DIR / "node_modules" / "@fontsource" / "noto-serif" / "files"),
    ("vendor/fonts/noto-sans", BASE_DIR / "node_modules" / "@fontsource" / "noto-sans" / "files"),
]
# Hashed, compressed names need `collectstatic`; development and tests serve the sources.
STATIC_MANIFEST = env_bool("DJANGO_STATIC_MANIFEST", not DEBUG)
# Documents (uploads, signed and sealed contracts): a directory every node mounts (NFS) by
# default, or an S3 bucket (DOCUMENTS_STORAGE=s3, django-storages) that no node holds alone.
DOCUMENTS_STORAGE = os.environ.get("DOCUMENTS_STORAGE", "filesystem")
if DOCUMENTS_STORAGE == "s3":
    _documents = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("AWS_STORAGE_BUCKET_NAME", ""),
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "location": os.environ.get("AWS_S3_LOCATION", "documentos"),
            # Credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)
            # or the node's role, as boto3 finds them. Objects are private and never replaced:
            # a name that exists gets a new one, which isseg_portal.storage.write_once refuses.
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,
            "querystring_expire": 300,
        },
    }
elif DOCUMENTS_STORAGE == "filesystem":
    _documents = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    raise ImproperlyConfigured(
        f"DOCUMENTS_STORAGE must be filesystem or s3, not {DOCUMENTS_STORAGE}"
    )
STORAGES = {
    "default": _documents,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Without collectstatic (tests), WhiteNoise finds the files where the finders do.
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
MEDIA_ROOT = Path(os.environ.get("ISSEG_MEDIA_ROOT", VAR_DIR / "media"))

# --- Uploads -------------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Security ---------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles, fonts and images only from the portal
# itself. No page has an inline script, inline style or style attribute; htmx is configured by a
# <meta> (no eval, no injected indicator styles). data: images are the QR code of the TOTP
# set-up page. Nothing may frame the portal or receive its forms.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# A session ends when the browser closes (a shared computer in an office), after
# SESSION_IDLE_SECONDS without a request, and SESSION_ABSOLUTE_SECONDS after the login however
# active it was (isseg_portal.sessions). The cookie itself lives as long as the absolute limit.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_IDLE_SECONDS = env_int("DJANGO_SESSION_IDLE_SECONDS", 30 * 60)
SESSION_ABSOLUTE_SECONDS = env_int("DJANGO_SESSION_ABSOLUTE_SECONDS", 8 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
# Signing a contract, a staff member's action on an application and the treasury's files ask
# for the password again when the last authentication is older than this
# (isseg_portal.reauthentication, on top of allauth's reauthentication pages).
ACCOUNT_REAUTHENTICATION_TIMEOUT = env_int("DJANGO_REAUTHENTICATION_SECONDS", 15 * 60)
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
if env_bool("DJANGO_BEHIND_PROXY"):
    # The load balancer terminates TLS and says so in this header; the client's address is the
    # one it appends to X-Forwarded-For (allauth's and our rate limits count per address).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    ALLAUTH_TRUSTED_PROXY_COUNT = env_int("DJANGO_TRUSTED_PROXY_COUNT", 1)

# --- Task queue (django-q2 on the ORM broker by default) ----------------------------------
Q_CLUSTER = {
    "name": "isseg",
    "orm": "default",
    "workers": env_int("Q_WORKERS", 2),
    # A task is killed after `timeout` seconds and offered again after `retry`; timeout < retry
    # so a slow task is never run twice at the same time.
    "timeout": env_int("Q_TIMEOUT", 240),
    "retry": env_int("Q_RETRY", 300),
    "max_attempts": env_int("Q_MAX_ATTEMPTS", 5),
    # Recycle each worker process after this many tasks to bound memory growth (PDF work).
    "recycle": env_int("Q_RECYCLE", 200),
    "save_limit": 1000,
    "ack_failures": True,
    "catch_up": False,
    "label": _("Tareas en segundo plano"),
}
# Days a failed task stays in the admin's queue pages before isseg_portal.tasks deletes it.
Q_FAILURES_KEEP_DAYS = env_int("Q_FAILURES_KEEP_DAYS", 30)

# --- Affiliates source (institutional database, read-only) --------------------------------
# The portal reads affiliates through DB-API 2.0: `oracledb` against the institute's views in
# production, `sqlite3` on a database with views of the same shape in the demo and the tests.
AFFILIATES_SOURCE = {
    "DRIVER": os.environ.get("AFFILIATES_DB_DRIVER", "sqlite3"),
    "DSN": os.environ.get("AFFILIATES_DB_DSN", str(VAR_DIR / "institute_demo.sqlite3")),
    "USER": os.environ.get("AFFILIATES_DB_USER", ""),
    "PASSWORD": os.environ.get("AFFILIATES_DB_PASSWORD", ""),
    "AFFILIATES_SQL": os.environ.get(
        "AFFILIATES_DB_SQL",
        "SELECT numero_afiliacion, curp, rfc, nombre, primer_apellido, segundo_apellido, "
        "fecha_nacimiento, sexo, email, telefono, estatus, clave_dependencia, dependencia, "
        "municipio, fecha_inicio_cotizacion, sueldo_base_quincenal, neto_quincenal, "
        "descuentos_quincenales, bloqueado, motivo_bloqueo FROM v_portal_afiliados",
    ),
    "LOANS_SQL": os.environ.get(
        "AFFILIATES_DB_LOANS_SQL",
        "SELECT numero_afiliacion, clave_producto, monto_original, saldo, pagos_realizados, "
        "pagos_totales, pago_quincenal FROM v_portal_prestamos",
    ),
    # Seconds to wait for the source before the portal falls back to the last known data.
    "TIMEOUT": env_int("AFFILIATES_DB_TIMEOUT", 5),
}

# Failed attempts to link an account to an affiliate, per user and per IP address.
AFFILIATE_LINK_RATE = os.environ.get("AFFILIATE_LINK_RATE", "5/15m")

# Uploads to the public verification page (/verificar/) per IP address: each one is validated,
# which may ask revocation services, so a visitor cannot make the portal do that without end.
SIGNATURES_VERIFY_RATE = os.environ.get("SIGNATURES_VERIFY_RATE", "30/h")

# Quotas on the applicant's costly actions (isseg_portal/quotas.py), per person: preparing a
# signature renders the contract and asks the certificate's OCSP; an upload is parsed and
# stored. And the bytes all the documents of one application may take in storage.
SIGNING_PREPARE_RATE = os.environ.get("SIGNING_PREPARE_RATE", "20/h")
DOCUMENT_UPLOAD_RATE = os.environ.get("DOCUMENT_UPLOAD_RATE", "30/h")
DOCUMENTS_MAX_BYTES_PER_APPLICATION = env_int(
    "DOCUMENTS_MAX_BYTES_PER_APPLICATION", 25 * 1024 * 1024
)

# --- Institute ---------------------------------------------------------------------------------
INSTITUTE_NAME = os.environ.get(
    "ISSEG_INSTITUTE_NAME", "Instituto de Seguridad Social del Estado de Guanajuato"
)
INSTITUTE_SHORT_NAME = os.environ.get("ISSEG_INSTITUTE_SHORT_NAME", "ISSEG")
INSTITUTE_CONTACT_EMAIL = os.environ.get("ISSEG_CONTACT_EMAIL", "prestamos@localhost")
INSTITUTE_PRIVACY_EMAIL = os.environ.get("ISSEG_PRIVACY_EMAIL", "transparencia@localhost")
INSTITUTE_ADDRESS = os.environ.get(
    "ISSEG_ADDRESS", "Domicilio del Instituto (configure ISSEG_ADDRESS), Guanajuato, Gto."
)
# Where contracts are signed and paid, and whose courts hear disputes: the state capital.
INSTITUTE_CITY = os.environ.get("ISSEG_CITY", "Guanajuato, Gto.")
# The portal's public address, for links that leave it: the QR code printed on a contract
# leads to its verification page there. No trailing slash.
PORTAL_BASE_URL = (os.environ.get("PORTAL_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")

# --- Logging -----------------------------------------------------------------------------------
# One JSON object per line on standard output (LOG_FORMAT=json, the default outside DEBUG), each
# with the request's id and with personal data masked (isseg_portal.request_log).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "isseg_portal.request_log.RequestIdFilter"}},
    "formatters": {
        "plain": {
            "()": "isseg_portal.request_log.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "isseg_portal.request_log.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The request log line says it already, without the path.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "isseg_portal.request": {"level": os.environ.get("REQUEST_LOG_LEVEL", "INFO")},
        # Every OCSP/CRL request at INFO is noise; failures still come through.
        "pyhanko": {"level": "WARNING"},
        "pyhanko_certvalidator": {"level": "WARNING"},
        # WeasyPrint reports each step of every PDF, and fontTools each font it decodes, at INFO.
        "weasyprint.progress": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# --- Loans ------------------------------------------------------------------------------------
# A draft not completed and signed within these days expires (a django-q2 schedule checks hourly).
LOAN_DRAFT_EXPIRY_DAYS = env_int("LOAN_DRAFT_EXPIRY_DAYS", 15)

# --- Satisfaction surveys ----------------------------------------------------------------------
# An application is invited to a survey when it is signed and when it is paid; the link works for
# these days, no login needed.
SURVEYS_INVITATION_DAYS = env_int("SURVEYS_INVITATION_DAYS", 30)
# Whoever has not answered this many days after the invitation's email gets one reminder (a
# django-q2 schedule checks hourly), never a second one.
SURVEYS_REMINDER_DAYS = env_int("SURVEYS_REMINDER_DAYS", 5)

# --- Electronic signatures ---------------------------------------------------------------------
# The demo PKI (`manage.py demo_pki setup | serve | issue`): its keys and issued certificates live
# in DEMO_PKI_DIR; `demo_pki serve` answers OCSP, CRL and TSA requests on DEMO_PKI_HOST:PORT,
# the address its certificates point to.
DEMO_PKI_DIR = Path(os.environ.get("DEMO_PKI_DIR", VAR_DIR / "demo_pki"))
DEMO_PKI_HOST = os.environ.get("DEMO_PKI_HOST", "127.0.0.1")
DEMO_PKI_PORT = env_int("DEMO_PKI_PORT", 8765)
DEMO_PKI_URL = f"http://{DEMO_PKI_HOST}:{DEMO_PKI_PORT}"
# The certification authorities the institute accepts: every .cer/.pem file in this directory
# (roots and intermediates). Default: the demo PKI's.
SIGNATURES_TRUST_DIR = Path(os.environ.get("SIGNATURES_TRUST_DIR", DEMO_PKI_DIR / "trust"))
# The RFC 3161 time-stamping authority that dates every signature (PAdES B-T).
SIGNATURES_TSA_URL = os.environ.get("SIGNATURES_TSA_URL", f"{DEMO_PKI_URL}/isseg/tsa/tsa")
# The OCSP responder of the certificates the portal accepts, which /salud/ checks is reachable
# (the checks themselves follow each certificate's own OCSP address).
SIGNATURES_OCSP_URL = os.environ.get("SIGNATURES_OCSP_URL", f"{DEMO_PKI_URL}/isseg/ocsp/interm")
# Seconds an OCSP, CRL or TSA request may take before the service counts as unavailable.
SIGNATURES_HTTP_TIMEOUT = env_int("SIGNATURES_HTTP_TIMEOUT", 10)
# A prepared signature must be finished within these seconds; then the applicant starts again.
SIGNING_SESSION_SECONDS = env_int("SIGNING_SESSION_SECONDS", 600)
# The institute's seal (`signatures.seal`): a PKCS#12 with its key, certificate and chain, and
# the password that opens it, given in SIGNATURES_SEAL_PASSWORD or in a file only the portal
# reads (SIGNATURES_SEAL_PASSWORD_FILE, its first line: a secret the deployment mounts).
# Default: the demo PKI's seal and password, written side by side by `demo_pki setup`.
SIGNATURES_SEAL_PKCS12 = Path(os.environ.get("SIGNATURES_SEAL_PKCS12", DEMO_PKI_DIR / "seal.p12"))
SIGNATURES_SEAL_PASSWORD = os.environ.get("SIGNATURES_SEAL_PASSWORD") or secret_from_file(
    os.environ.get("SIGNATURES_SEAL_PASSWORD_FILE", DEMO_PKI_DIR / "seal.password")
)

# --- Back office -------------------------------------------------------------------------------
# Whoever took an application for review may not approve it. Small offices with one person per
# desk may turn this off (LOANS_SEPARATION_OF_DUTIES=0); every action is still in the audit chain.
LOANS_SEPARATION_OF_DUTIES = env_bool("LOANS_SEPARATION_OF_DUTIES", True)
# Staff reach every staff page only with a second factor (allauth MFA, TOTP): on by default
# outside DEBUG. Staff set one up only through an administrator's one-time invitation
# (`staff_invite EMAIL` or the users' admin action; isseg_portal/staff_second_factor.py).
STAFF_REQUIRE_MFA = env_bool("STAFF_REQUIRE_MFA", not DEBUG)
# The staff's areas it guards by URL: every path under these URLs' paths (the admin, with
# Tesorería's files, and the dashboard). A staff view elsewhere carries
# @staff_second_factor_required (tests/test_staff_mfa.py finds one that does not).
STAFF_SECOND_FACTOR_URLS = ["admin:index", "dashboard:dashboard"]
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "ISSEG Préstamos en línea"

# --- Health endpoint (/salud/) -------------------------------------------------------------------
# A task waiting longer than this, or no task finished for this long (the schedules run every
# few minutes), means no worker is taking the queue.
HEALTH_TASK_QUEUE_MAX_AGE = env_int("HEALTH_TASK_QUEUE_MAX_AGE", 300)
HEALTH_TASK_IDLE_MAX = env_int("HEALTH_TASK_IDLE_MAX", 30 * 60)
# The TSA and the OCSP responder are asked at most once per this many seconds, within this time.
HEALTH_EXTERNAL_TTL = env_int("HEALTH_EXTERNAL_TTL", 30)
HEALTH_HTTP_TIMEOUT = env_int("HEALTH_HTTP_TIMEOUT", 3)
