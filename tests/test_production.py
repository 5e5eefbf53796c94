"""Production settings: content-security policy, session limits, re-authentication, the
PostgreSQL pool, S3 document storage, the deployment checks and gunicorn's configuration."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse

from isseg_portal.sessions import SEEN_KEY, STARTED_KEY
from tests.builders import complete_draft_for
from tests.logins import record_authentication
from tests.settings_probe import ROOT, load_settings

# --- Content-Security-Policy ----------------------------------------------------------------


def test_every_page_carries_a_policy_without_inline_scripts_or_styles(anonymous):
    policy = anonymous.get(reverse("home"))["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<[a-z][^>]*\sstyle=", re.I), "style attribute"),
    (re.compile(r"<[a-z][^>]*\son[a-z]+=", re.I), "event-handler attribute"),
    (re.compile(r"<style[\s>]", re.I), "<style> element"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def inline_content(html: str) -> list[str]:
    return [what for pattern, what in INLINE if pattern.search(html)]


def test_the_inline_detector_finds_what_the_policy_would_block():
    assert inline_content('<p style="color:red">') == ["style attribute"]
    assert inline_content("<script>alert(1)</script>") == ["inline <script>"]
    assert inline_content('<button onclick="x()">') == ["event-handler attribute"]
    assert inline_content('<script src="/static/js/a.js"></script><p class="x">') == []


def test_pages_have_no_inline_script_or_style(anonymous, applicant, staff, manager):
    # The browser tests (tests/e2e) fail on any CSP violation Chromium reports; this is the
    # quick net over pages they may not reach.
    application = complete_draft_for(applicant)
    pages = [
        (anonymous, reverse("home")),
        (anonymous, reverse("account_login")),
        (anonymous, reverse("account_signup")),
        (anonymous, reverse("loans:simulator")),
        (anonymous, reverse("signatures:verify")),
        (anonymous, reverse("privacy_notice_full")),
        (applicant, reverse("loans:application_list")),
        (applicant, reverse("loans:application_detail", args=[application.public_id])),
        (applicant, reverse("loans:sign", args=[application.public_id])),
        (applicant, reverse("account_reauthenticate")),
        (staff, reverse("admin:index")),
        (staff, reverse("admin:loans_loanapplication_changelist")),
        (staff, reverse("admin:loans_loanapplication_change", args=[application.pk])),
        (manager, reverse("dashboard:dashboard")),
    ]
    found = {}
    for client, url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        problems = inline_content(response.content.decode())
        if problems:
            found[url] = problems
    assert found == {}


# --- Session limits ------------------------------------------------------------------------


def _age_session(client, *, started_ago: int = 0, seen_ago: int = 0) -> None:
    session = client.session
    now = int(time.time())
    session[STARTED_KEY] = now - started_ago
    session[SEEN_KEY] = now - seen_ago
    session.save()


def test_an_idle_session_ends_with_a_spanish_reason_and_keeps_the_draft(applicant, settings):
    application = complete_draft_for(applicant)
    url = reverse("loans:application_detail", args=[application.public_id])
    _age_session(applicant, seen_ago=settings.SESSION_IDLE_SECONDS - 30)
    assert applicant.get(url).status_code == 200

    _age_session(applicant, seen_ago=settings.SESSION_IDLE_SECONDS + 5)
    response = applicant.get(url, follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("account_login"))
    assert "next=" in response.redirect_chain[0][0]
    assert "30 minutos sin actividad" in response.content.decode()
    assert "_auth_user_id" not in applicant.session
    application.refresh_from_db()
    assert application.completed_at is not None
    assert application.documents.count() >= 1


def test_a_busy_session_still_ends_hours_after_the_login(applicant, settings):
    _age_session(applicant, started_ago=settings.SESSION_ABSOLUTE_SECONDS + 1, seen_ago=10)
    response = applicant.get(reverse("loans:application_list"), follow=True)
    assert "8 horas desde que iniciaste sesión" in response.content.decode()
    assert "_auth_user_id" not in applicant.session


def test_activity_moves_the_idle_clock(applicant, settings):
    _age_session(applicant, seen_ago=settings.SESSION_IDLE_SECONDS - 5)
    applicant.get(reverse("loans:application_list"))
    assert int(time.time()) - applicant.session[SEEN_KEY] < 5


def test_a_json_call_after_the_limit_gets_a_401_it_can_show(applicant, settings):
    application = complete_draft_for(applicant)
    _age_session(applicant, seen_ago=settings.SESSION_IDLE_SECONDS + 5)
    response = applicant.post(
        reverse("loans:sign_prepare", args=[application.public_id]),
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 401
    assert "sin actividad" in response.json()["message"]


def test_the_session_cookie_ends_with_the_browser_and_is_secure_in_production(tmp_path):
    probe = (
        "import json, django; from django.conf import settings; django.setup();"
        "print(json.dumps([settings.SESSION_EXPIRE_AT_BROWSER_CLOSE,"
        " settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,"
        " settings.SECURE_HSTS_SECONDS, settings.SESSION_COOKIE_AGE]))"
    )
    result = load_settings(
        tmp_path,
        probe,
        DJANGO_SECRET_KEY="x" * 50,
        DJANGO_ALLOWED_HOSTS="prestamos.example.gob.mx",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [True, True, True, 31_536_000, 8 * 60 * 60]


# --- Re-authentication before sensitive actions --------------------------------------------


def test_signing_asks_for_the_password_again_when_the_login_is_old(applicant, settings):
    application = complete_draft_for(applicant)
    record_authentication(
        applicant, applicant.user, at=time.time() - settings.ACCOUNT_REAUTHENTICATION_TIMEOUT - 1
    )
    sign_url = reverse("loans:sign", args=[application.public_id])
    response = applicant.get(sign_url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))

    prepare = applicant.post(reverse("loans:sign_prepare", args=[application.public_id]))
    assert prepare.status_code == 401
    assert prepare.json()["error"] == "reauthentication_required"
    assert "confirma tu contraseña" in prepare.json()["message"]

    # The password on allauth's page brings the applicant back to the signing page.
    applicant.user.set_password("Una-clave-larga-2026")
    applicant.user.save()
    applicant.force_login(applicant.user)  # a new password ends the other sessions
    record_authentication(
        applicant, applicant.user, at=time.time() - settings.ACCOUNT_REAUTHENTICATION_TIMEOUT - 1
    )
    reauthenticate_url = applicant.get(sign_url)["Location"]
    back = applicant.post(reauthenticate_url, {"password": "Una-clave-larga-2026"}, follow=True)
    assert back.redirect_chain[-1][0] == sign_url
    assert back.status_code == 200
    assert applicant.get(sign_url).status_code == 200


def test_a_wrong_password_on_reauthentication_keeps_asking(applicant, settings):
    application = complete_draft_for(applicant)
    applicant.user.set_password("Una-clave-larga-2026")
    applicant.user.save()
    applicant.force_login(applicant.user)  # a new password ends the other sessions
    record_authentication(applicant, applicant.user, at=time.time() - 10_000)
    applicant.get(reverse("loans:sign", args=[application.public_id]))
    response = applicant.post(reverse("account_reauthenticate"), {"password": "otra"})
    assert response.status_code == 200
    assert applicant.get(reverse("loans:sign", args=[application.public_id])).status_code == 302


@pytest.mark.parametrize(
    ("persona", "url"),
    [
        (
            "analyst",
            lambda application: reverse(
                "admin:loans_loanapplication_action", args=[application.pk, "revisar"]
            ),
        ),
        ("treasurer", lambda application: reverse("tesoreria:payment_batch")),
    ],
    ids=["staff-action", "treasury-file"],
)
def test_staff_decisions_and_treasury_files_ask_for_the_password_again(
    request, applicant, persona, url
):
    application = complete_draft_for(applicant)
    client = request.getfixturevalue(persona)
    assert client.get(url(application)).status_code == 200
    record_authentication(client, client.user, at=time.time() - 10_000)
    response = client.get(url(application))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))


# --- Settings for several nodes -------------------------------------------------------------

POOL_PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "d = settings.DATABASES['default'];"
    "print(json.dumps([d['CONN_MAX_AGE'], d.get('OPTIONS', {}).get('pool')]))"
)


def test_postgresql_keeps_connections_or_pools_them(tmp_path):
    url = "postgres://isseg@db.internal:5432/isseg"
    persistent = load_settings(tmp_path, POOL_PROBE, DJANGO_DEBUG="1", DATABASE_URL=url)
    assert json.loads(persistent.stdout) == [60, None]
    pooled = load_settings(
        tmp_path, POOL_PROBE, DJANGO_DEBUG="1", DATABASE_URL=url, DATABASE_POOL="1"
    )
    assert json.loads(pooled.stdout) == [0, {"min_size": 1, "max_size": 8, "timeout": 10}]


@pytest.mark.postgres
def test_the_pool_serves_queries_on_postgresql(tmp_path, db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    # The test database this run created, reached by a new process through the pool.
    params = connection.settings_dict
    url = (
        f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}"
        f"/{params['NAME']}"
    )
    probe = (
        "import django; django.setup(); from django.db import connection;"
        "c = connection.cursor(); c.execute('SELECT 41 + 1'); print(c.fetchone()[0]);"
        "print(type(connection.pool).__name__)"
    )
    result = load_settings(tmp_path, probe, DJANGO_DEBUG="1", DATABASE_URL=url, DATABASE_POOL="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["42", "ConnectionPool"]


def test_s3_document_storage_is_chosen_by_the_environment(tmp_path):
    probe = (
        "import json, django; from django.conf import settings; django.setup();"
        "from django.core.files.storage import storages; s = storages['default'];"
        "print(json.dumps([type(s).__name__, s.bucket_name, s.file_overwrite, s.default_acl]))"
    )
    result = load_settings(
        tmp_path,
        probe,
        DJANGO_DEBUG="1",
        DOCUMENTS_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="isseg-documentos",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["S3Storage", "isseg-documentos", False, "private"]
    refused = load_settings(tmp_path, probe, DJANGO_DEBUG="1", DOCUMENTS_STORAGE="ftp")
    assert "DOCUMENTS_STORAGE" in refused.stderr


def test_deploy_checks_flag_the_demo_seal(settings):
    settings.SIGNATURES_SEAL_PKCS12 = settings.DEMO_PKI_DIR / "seal.p12"
    with pytest.raises(SystemCheckError, match=r"isseg_portal\.W001"):
        call_command("check", "--deploy", "--fail-level", "WARNING", "--tag", "security")


def test_deploy_checks_flag_a_seal_without_password(settings):
    settings.SIGNATURES_SEAL_PKCS12 = "/etc/isseg/sello.p12"
    settings.SIGNATURES_SEAL_PASSWORD = ""
    with pytest.raises(SystemCheckError, match=r"isseg_portal\.W004"):
        call_command("check", "--deploy", "--fail-level", "WARNING", "--tag", "security")


def test_deploy_checks_flag_staff_without_a_second_factor(settings):
    # Outside DEBUG every staff page needs the second factor; turning it off is flagged.
    settings.DEBUG = False
    settings.STAFF_REQUIRE_MFA = False
    with pytest.raises(SystemCheckError, match=r"isseg_portal\.W005"):
        call_command("check", "--deploy", "--fail-level", "WARNING", "--tag", "security")


def test_gunicorn_configuration_loads_and_bounds_its_workers():
    script = (
        "from gunicorn.config import Config; import runpy;"
        "ns = runpy.run_path('gunicorn.conf.py'); c = Config();"
        "[c.set(k, v) for k, v in ns.items() if k in c.settings];"
        "print(c.worker_class_str, c.workers, c.threads, c.max_requests, c.timeout,"
        " c.accesslog, c.wsgi_app)"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"WEB_CONCURRENCY": "3", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "gthread",
        "3",
        "4",
        "1000",
        "60",
        "None",
        "isseg_portal.wsgi:application",
    ]


def _gunicorn_setting(name: str, env: dict[str, str]) -> str:
    script = (
        "from gunicorn.config import Config; import runpy;"
        "ns = runpy.run_path('gunicorn.conf.py'); c = Config();"
        "[c.set(k, v) for k, v in ns.items() if k in c.settings];"
        f"print(getattr(c, {name!r}))"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_gunicorn_control_socket_is_under_var_not_a_shared_home(tmp_path):
    # Without the setting, gunicorn puts it in $XDG_RUNTIME_DIR or ~/.gunicorn/, which every
    # checkout and every user of the machine share.
    runtime = tmp_path / "run"
    runtime.mkdir()
    env = {"HOME": str(tmp_path / "home"), "XDG_RUNTIME_DIR": str(runtime)}

    socket = Path(_gunicorn_setting("control_socket", env))

    assert socket == ROOT / "var" / "gunicorn.ctl"
    var = tmp_path / "var"
    moved = Path(_gunicorn_setting("control_socket", {**env, "ISSEG_VAR_DIR": str(var)}))
    assert moved == var / "gunicorn.ctl"


def test_gunicorn_creates_its_control_socket_under_var(tmp_path):
    var = tmp_path / "var"
    home = tmp_path / "home"
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn and config
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),
            "ISSEG_VAR_DIR": str(var),
            "GUNICORN_BIND": "127.0.0.1:0",
            "WEB_CONCURRENCY": "1",
            "DJANGO_DEBUG": "1",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (var / "gunicorn.ctl").exists() and time.monotonic() < deadline:
            assert process.poll() is None, "gunicorn exited"
            time.sleep(0.2)
        assert (var / "gunicorn.ctl").is_socket()
        assert not (home / ".gunicorn").exists()
    finally:
        process.terminate()
        process.wait(timeout=30)
