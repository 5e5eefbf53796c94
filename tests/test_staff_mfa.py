"""Staff's second factor (TOTP), when STAFF_REQUIRE_MFA is on.

- Staff enrol only through a one-time invitation an administrator issues (`staff_invite` or the
  users' admin action), valid 24 hours; without one they are told to ask for it.
- Every page that serves staff as staff asks for the second factor in the session: the table
  `STAFF_PAGES` lists each one, and `test_every_view_that_checks_staff_is_guarded` fails when a
  view that checks `is_staff` or a permission is neither under a guarded URL nor marked.
"""

import hashlib
import inspect
import logging
import re
import time
from datetime import timedelta
from io import StringIO

import pytest
from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret, hotp_value
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from isseg_portal.models import StaffInvitation
from tests.builders import complete_draft_for
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.logins import client_for

pytestmark = pytest.mark.django_db

NEEDS_INVITATION = "pide a un administrador una invitación"


@pytest.fixture(autouse=True)
def mfa_required(settings):
    settings.STAFF_REQUIRE_MFA = True


def staff_user(*, with_totp: bool, **fields):
    user = UserFactory(is_staff=True, is_superuser=True, **fields)
    secret = None
    if with_totp:
        secret = generate_totp_secret()
        TOTP.activate(user, secret)
    return user, secret


def current_code(secret: str) -> str:
    from allauth.mfa import app_settings

    counter = int(time.time()) // app_settings.TOTP_PERIOD
    return format(hotp_value(secret, counter), f"0{app_settings.TOTP_DIGITS}d")


def with_second_factor(client: Client) -> Client:
    """What allauth's login leaves after the password and the TOTP code."""
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time()},
        {"method": "mfa", "type": "totp", "at": time.time()},
    ]
    session.save()
    return client


def log_in_with_password(client: Client, user) -> None:
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302


def page_text(response) -> str:
    from html import unescape

    return unescape(response.content.decode())


def test_the_admin_login_is_allauths(client: Client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- No enrolment without an invitation ---------------------------------------------------------


def test_staff_cannot_enrol_a_second_factor_by_themselves(client: Client):
    # Given a staff member who knows the password and has no authenticator yet
    user, _secret = staff_user(with_totp=False)
    log_in_with_password(client, user)
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})

    # When they open the page that sets one up, and post a code to it
    page = client.get(reverse("mfa_activate_totp"))
    posted = client.post(reverse("mfa_activate_totp"), {"code": "123456"})

    # Then they are told, in Spanish, to ask an administrator; nothing is set up
    assert page.status_code == 403
    assert NEEDS_INVITATION in page_text(page)
    assert posted.status_code == 403
    assert not Authenticator.objects.filter(user=user).exists()
    assert client.get(reverse("mfa_generate_recovery_codes")).status_code == 403


@pytest.mark.parametrize("page", ["admin:index", "dashboard:dashboard"])
def test_staff_without_a_second_factor_are_told_to_ask_for_an_invitation(client: Client, page):
    user, _secret = staff_user(with_totp=False)
    client.force_login(user)

    response = client.get(reverse(page), follow=True)

    assert response.redirect_chain[-1][0] == reverse("staff_second_factor")
    assert response.status_code == 403
    assert NEEDS_INVITATION in page_text(response)
    assert 'lang="es' in page_text(response)


def test_applicants_may_still_set_up_their_own_second_factor(applicant):
    applicant.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    assert applicant.get(reverse("mfa_activate_totp")).status_code == 200


# --- The invitation ---------------------------------------------------------------------------


def invitation_link(output: str) -> str:
    match = re.search(r"https?://\S+/cuenta/segundo-factor/invitacion/[\w-]+/", output)
    assert match, output
    return match.group()


def test_staff_invite_prints_and_emails_a_single_use_link_valid_24_hours(
    settings, caplog, django_capture_on_commit_callbacks
):
    settings.PORTAL_BASE_URL = "https://prestamos.example.gob.mx"
    user, _secret = staff_user(with_totp=False, email="nueva.analista@example.gob.mx")
    out = StringIO()

    with (
        caplog.at_level(logging.INFO, logger="isseg.audit"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("staff_invite", "Nueva.Analista@example.gob.mx", stdout=out)

    link = invitation_link(out.getvalue())
    assert link.startswith("https://prestamos.example.gob.mx/cuenta/segundo-factor/invitacion/")
    [message] = mail.outbox
    assert message.to == ["nueva.analista@example.gob.mx"]
    assert link in message.body
    assert "24 horas" in message.body
    invitation = StaffInvitation.objects.get(user=user)
    token = link.rstrip("/").rsplit("/", 1)[1]
    # Only a hash of the token is kept.
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in invitation.token_hash
    assert invitation.used_at is None
    expected = timezone.now() + timedelta(hours=24)
    assert abs((invitation.expires_at - expected).total_seconds()) < 60
    assert (
        f"staff_invitation_issue invitation={invitation.pk} user={user.pk} actor=comando"
        in caplog.text
    )
    assert token not in caplog.text


@pytest.mark.parametrize(
    ("email", "why"),
    [("nadie@example.org", "No hay una cuenta"), ("persona@example.org", "no es personal")],
)
def test_staff_invite_refuses_who_is_not_staff(email, why):
    UserFactory(email="persona@example.org")
    with pytest.raises(CommandError, match=why):
        call_command("staff_invite", email, stdout=StringIO())
    assert not StaffInvitation.objects.exists()
    assert mail.outbox == []


def test_following_the_invitation_lets_the_staff_member_enrol_once(client: Client):
    # Given an invitation, and its staff member logged in with the password
    user, _secret = staff_user(with_totp=False)
    out = StringIO()
    call_command("staff_invite", user.email, stdout=out)
    path = invitation_link(out.getvalue()).split("://", 1)[1].split("/", 1)[1]
    path = "/" + path
    log_in_with_password(client, user)

    # When they open the link (a page with a button: a mail scanner's GET uses nothing)
    shown = client.get(path)
    assert shown.status_code == 200
    assert StaffInvitation.objects.get().used_at is None
    accepted = client.post(path)

    # Then they may set up their authenticator
    assert accepted.status_code == 302
    assert accepted["Location"] == reverse("mfa_activate_totp")
    assert StaffInvitation.objects.get().used_at is not None
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    setup = client.get(reverse("mfa_activate_totp"))
    assert setup.status_code == 200
    page = setup.content.decode()
    assert "<svg" in page or "data:image" in page
    secret = setup.context["form"].secret
    done = client.post(reverse("mfa_activate_totp"), {"code": current_code(secret)})
    assert done.status_code == 302
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()

    # And the link does not work a second time
    again = client_for(user).post(path)
    assert again.status_code == 400
    assert "ya se usó" in page_text(again)


def issue_for(user) -> str:
    out = StringIO()
    call_command("staff_invite", user.email, stdout=out)
    link = invitation_link(out.getvalue())
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def test_an_expired_invitation_is_refused_with_a_spanish_message(client: Client):
    user, _secret = staff_user(with_totp=False)
    path = issue_for(user)
    StaffInvitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    log_in_with_password(client, user)

    response = client.post(path)

    assert response.status_code == 400
    assert "venció" in page_text(response)
    assert client.get(reverse("mfa_activate_totp")).status_code == 403


def test_an_invitation_is_only_for_its_own_account(client: Client):
    invited, _ = staff_user(with_totp=False)
    intruder, _ = staff_user(with_totp=False)
    path = issue_for(invited)
    log_in_with_password(client, intruder)

    response = client.post(path)

    assert response.status_code == 403
    assert StaffInvitation.objects.get().used_at is None
    assert client.get(reverse("mfa_activate_totp")).status_code == 403


def test_a_made_up_token_is_refused(client: Client):
    user, _ = staff_user(with_totp=False)
    log_in_with_password(client, user)
    response = client.post("/cuenta/segundo-factor/invitacion/no-existe/")
    assert response.status_code == 400


def test_the_invitation_asks_an_anonymous_visitor_to_log_in_first(client: Client):
    user, _ = staff_user(with_totp=False)
    path = issue_for(user)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_admin_action_sends_an_invitation_to_each_staff_member_chosen(
    django_capture_on_commit_callbacks, caplog
):
    admin_user, _secret = staff_user(with_totp=True)
    client = with_second_factor(client_for(admin_user))
    invited, _ = staff_user(with_totp=False)
    applicant = UserFactory()

    with (
        caplog.at_level(logging.INFO, logger="isseg.audit"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            reverse("admin:auth_user_changelist"),
            {"action": "staff_invitation_send", "_selected_action": [invited.pk, applicant.pk]},
            follow=True,
        )

    assert response.status_code == 200
    text = page_text(response)
    assert "Se envió la invitación para el segundo factor a 1 persona" in text
    assert applicant.email in text  # named as skipped: not staff
    [message] = mail.outbox
    assert message.to == [invited.email]
    invitation = StaffInvitation.objects.get()
    assert (invitation.user, invitation.created_by) == (invited, admin_user)
    assert (
        f"staff_invitation_issue invitation={invitation.pk} user={invited.pk} actor={admin_user.pk}"
    ) in caplog.text


# --- Every staff page asks for the second factor -------------------------------------------------


@pytest.fixture
def staff_pages(applicant):
    application = complete_draft_for(applicant)
    document = application.documents.first()
    return {
        "admin": reverse("admin:index"),
        "admin_applications": reverse("admin:loans_loanapplication_changelist"),
        "admin_application": reverse("admin:loans_loanapplication_change", args=[application.pk]),
        "admin_users": reverse("admin:auth_user_changelist"),
        "tesoreria_payments": reverse("tesoreria:payment_batch"),
        "tesoreria_deductions": reverse("tesoreria:deductions"),
        "applicant_document": reverse(
            "loans:document_download", args=[application.public_id, document.public_id]
        ),
        "dashboard": reverse("dashboard:dashboard"),
        "dashboard_export": reverse(
            "dashboard:dashboard_export", kwargs={"table": "estados", "file_format": "csv"}
        ),
    }


STAFF_PAGES = [
    "admin",
    "admin_applications",
    "admin_application",
    "admin_users",
    "tesoreria_payments",
    "tesoreria_deductions",
    "applicant_document",
    "dashboard",
    "dashboard_export",
]


@pytest.mark.parametrize("page", STAFF_PAGES)
def test_a_staff_page_with_the_password_alone_asks_to_log_in_again(staff_pages, page):
    user, _secret = staff_user(with_totp=True)
    client = client_for(user)

    response = client.get(staff_pages[page])

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("page", STAFF_PAGES)
def test_a_staff_page_with_the_second_factor_is_served(staff_pages, page):
    user, _secret = staff_user(with_totp=True)
    client = with_second_factor(client_for(user))

    response = client.get(staff_pages[page])

    assert response.status_code == 200


@pytest.mark.parametrize("group", ["Analistas", "Tesorería", "Gerencia"])
def test_every_staff_group_is_asked_for_the_second_factor(staff_pages, group):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    TOTP.activate(user, generate_totp_secret())
    for page in STAFF_PAGES:
        # A new session each time: the first refusal logs the session out.
        response = client_for(user).get(staff_pages[page])
        assert response.status_code == 302, page
        assert response["Location"].startswith(reverse("account_login")), page


def test_a_permission_without_is_staff_still_needs_the_second_factor(staff_pages):
    # A manager's account given the dashboard's permission but not "staff status".
    user = UserFactory(is_staff=False)
    user.groups.add(Group.objects.get(name="Gerencia"))
    client = client_for(user)
    response = client.get(staff_pages["dashboard"])
    assert response.status_code == 302
    assert response["Location"] == reverse("staff_second_factor")


def test_the_applicant_downloads_their_own_document_without_a_second_factor(applicant):
    application = complete_draft_for(applicant)
    document = application.documents.first()
    url = reverse("loans:document_download", args=[application.public_id, document.public_id])
    assert applicant.get(url).status_code == 200


def test_applicants_are_not_asked_for_a_second_factor(applicant):
    assert applicant.get(reverse("loans:application_list")).status_code == 200


def test_without_staff_require_mfa_staff_enter_with_the_password(settings, staff_pages):
    # As `make run` (DEBUG) and the tests' personas do.
    settings.STAFF_REQUIRE_MFA = False
    user, _secret = staff_user(with_totp=False)
    client = client_for(user)
    for page in STAFF_PAGES:
        assert client.get(staff_pages[page]).status_code == 200, page


def test_password_and_totp_code_open_the_admin(client: Client):
    user, secret = staff_user(with_totp=True)
    log_in_with_password(client, user)
    response = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("dashboard:dashboard")).status_code == 200


def _views_outside_guarded_urls():
    guarded = tuple(reverse(name) for name in django_settings.STAFF_SECOND_FACTOR_URLS)

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                yield "/" + route.lstrip("^"), pattern.callback

    for route, callback in walk(get_resolver().url_patterns):
        if not route.startswith(guarded):
            yield route, callback


def test_every_view_that_checks_staff_is_guarded():
    # A view outside the guarded URLs that looks at is_staff or a permission serves staff as
    # staff: it must carry @staff_second_factor_required.
    unguarded = []
    for route, callback in _views_outside_guarded_urls():
        view = inspect.unwrap(getattr(callback, "view_class", callback))
        try:
            source = inspect.getsource(view)
        except (OSError, TypeError):
            continue
        if re.search(r"is_staff|is_superuser|has_perm|permission_required", source) and not (
            getattr(callback, "staff_second_factor", False)
        ):
            unguarded.append(route)
    assert unguarded == []
