"""Who may open what: every URL that takes an id, folio, uuid, key or token, in one table.

Each row names a URL pattern (as `django.urls.get_resolver()` lists it), how to build its
arguments for an object owned by `applicant` (or, for the admin, an object of that person),
the method, and what its rightful user gets. Every persona who should not see it is then
tried: another applicant's folio or uuid is a 404, a forged token or key is refused, a visitor
who is not logged in is sent to log in (a JSON 401 for the signing API), and staff without the
model's permission get a 403 in the admin. `test_every_url_with_a_parameter_is_in_the_table`
fails when a URL with a parameter is added to the project without a row here.
"""

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task
from django_q.signing import SignedPackage

from affiliates.models import LinkAttempt, LinkOutcome
from isseg_portal.staff_second_factor import staff_invitation_issue
from loans.models import LoanApplication, SupportingDocument
from signatures.models import SignedDocument
from surveys.models import Invitation
from surveys.services import invitation_token
from tests.builders import complete_draft_for, sign_with_efirma
from tests.factories import UserFactory
from tests.logins import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("institute_down")]

# --- What each persona gets when refused -------------------------------------------------------

LOGIN = "login"  # 302 to a login page
NOT_FOUND = "404"
FORBIDDEN = "403"
JSON_401 = "json-401"  # the signing API's answer to a visitor not logged in
FORBIDDEN_AFTER_REDIRECT = "302-then-403"  # the admin's /<id>/ shortcut, then its change page
REFUSED_TOKEN = "refused-token"  # a forged token or key: 404/400, or allauth's "bad link" page

APPLICANTS = ("other_applicant", "unlinked")
STAFF = ("staff", "analyst", "authorizer", "treasurer", "manager", "clerk")
NOT_STAFF = ("anonymous", "applicant", "other_applicant", "unlinked")
EVERYONE = ("anonymous", "applicant", "other_applicant", "unlinked", *STAFF)


@pytest.fixture
def clerk(db) -> Client:
    """Staff with no group and no permission: may log in to the admin and see nothing."""
    return client_for(UserFactory(is_staff=True))


# --- The objects the URLs name, built on demand ------------------------------------------------


class World:
    """`applicant`'s objects, each built the first time a row asks for it."""

    def __init__(self, request):
        self.request = request
        self.applicant = request.getfixturevalue("applicant")
        self._admin_objects = {}

    @cached_property
    def staff_invitation_url(self) -> str:
        """The path of an invitation for `clerk` to set up the second factor."""
        _invitation, url = staff_invitation_issue(
            user=self.request.getfixturevalue("clerk").user, created_by=None
        )
        return url.removeprefix(settings.PORTAL_BASE_URL)

    @cached_property
    def draft(self) -> LoanApplication:
        """A complete draft: its contract can be previewed and signed."""
        return complete_draft_for(self.applicant)

    @cached_property
    def document(self) -> SupportingDocument:
        return self.draft.documents.filter(superseded_at__isnull=True).first()

    @cached_property
    def signed(self) -> LoanApplication:
        """Signed for real with the applicant's e.firma, so its signed contract exists (and its
        invitation to the survey, which follows the commit)."""
        sign_with_efirma(self.draft, self.request.getfixturevalue("demo_credentials"))
        return self.draft

    @cached_property
    def signed_document(self) -> SignedDocument:
        return SignedDocument.objects.get(reference=self.signed.folio)

    @cached_property
    def invitation(self) -> Invitation:
        return Invitation.objects.get(application=self.signed)

    @cached_property
    def answered_invitation(self) -> Invitation:
        invitation = self.invitation
        answered = Client().post(
            reverse("surveys:answer", args=[invitation_token(invitation)]),
            {"firma_facilidad": "5", "firma_oficina": "1"},
        )
        assert answered.status_code == 302
        return invitation

    @cached_property
    def unverified_email(self) -> EmailAddress:
        return EmailAddress.objects.create(
            user=self.applicant.user, email="segundo@example.org", verified=False
        )

    # The admin: one object per registered model, the applicant's wherever it has one.

    def admin_object(self, label: str):
        """One object per admin model, made the first time a row names it."""
        if label not in self._admin_objects:
            self._admin_objects[label] = self._admin_object(label)
        return self._admin_objects[label]

    def _admin_object(self, label: str):
        user = self.applicant.user
        now = timezone.now()
        if label == "auth.group":
            return Group.objects.get(name="Analistas")
        if label == "auth.user":
            return user
        if label == "account.emailaddress":
            return EmailAddress.objects.get(user=user, primary=True)
        if label == "mfa.authenticator":
            return Authenticator.objects.create(
                user=user,
                type=Authenticator.Type.RECOVERY_CODES,
                data={"seed": "00" * 20, "used_mask": 0},
            )
        if label == "django_q.schedule":
            return Schedule.objects.create(name="prueba de acceso", func="math.floor", args="1")
        if label in ("django_q.success", "django_q.failure"):
            return Task.objects.create(
                id=uuid.uuid4().hex,
                name="prueba-de-acceso",
                func="math.floor",
                started=now,
                stopped=now,
                success=label == "django_q.success",
            )
        if label == "django_q.ormq":
            payload = SignedPackage.dumps(
                {"id": uuid.uuid4().hex, "name": "prueba-de-acceso", "func": "math.floor"}
            )
            return OrmQ.objects.create(key="default", payload=payload, lock=now)
        if label == "affiliates.employer":
            return self.applicant.affiliate.employer
        if label == "affiliates.affiliate":
            return self.applicant.affiliate
        if label == "affiliates.affiliatelink":
            return user.affiliate_link
        if label == "affiliates.linkattempt":
            return LinkAttempt.objects.create(
                user=user,
                curp_entered=self.applicant.affiliate.curp,
                number_entered=self.applicant.affiliate.number,
                affiliate=self.applicant.affiliate,
                outcome=LinkOutcome.LINKED,
            )
        if label == "loans.loanproduct":
            return self.draft.product
        if label == "loans.loanapplication":
            return self.draft
        if label == "surveys.survey":
            return self.invitation.survey
        if label == "surveys.invitation":
            return self.invitation
        raise KeyError(label)


def _certificate(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("certificado.cer", data, "application/pkix-cert")


# --- The table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    route: str
    # (world) -> the URL for the rightful user's object
    url: Callable[[World], str]
    # who should not see it -> what they get
    refused: dict[str, str]
    owner: str = "applicant"
    owner_status: int = 200
    method: str = "get"
    data: Callable[[World], dict] = field(default=lambda world: {})
    # For token rows: the URL with a forged token, which every persona (owner too) is refused.
    forged_url: Callable[[World], str] | None = None
    follow_owner: bool = False


def _applicant_only(*, anonymous: str = LOGIN) -> dict[str, str]:
    """Another applicant's uuid or folio is a 404, for everyone but its applicant."""
    return {
        "anonymous": anonymous,
        **dict.fromkeys(APPLICANTS, NOT_FOUND),
        **dict.fromkeys(STAFF, NOT_FOUND),
    }


def _forged(*names: str) -> dict[str, str]:
    return dict.fromkeys(names or EVERYONE, REFUSED_TOKEN)


def _altered(token: str) -> str:
    return token[:-2] + ("xy" if not token.endswith("xy") else "zw")


APP_ROWS = [
    Row(
        "solicitudes/<uuid:public_id>/",
        lambda w: reverse("loans:application_detail", args=[w.draft.public_id]),
        _applicant_only(),
    ),
    Row(
        "solicitudes/<uuid:public_id>/paso/<int:step>/",
        lambda w: reverse("loans:application_step", args=[w.draft.public_id, 2]),
        _applicant_only(),
    ),
    Row(
        "solicitudes/<uuid:public_id>/cancelar/",
        lambda w: reverse("loans:application_cancel", args=[w.draft.public_id]),
        _applicant_only(),
    ),
    Row(
        "solicitudes/<uuid:public_id>/contrato/",
        lambda w: reverse("loans:contract_preview", args=[w.draft.public_id]),
        _applicant_only(),
    ),
    Row(
        "solicitudes/<uuid:public_id>/documentos/<uuid:document_id>/",
        lambda w: reverse(
            "loans:document_download", args=[w.draft.public_id, w.document.public_id]
        ),
        # Staff who review applications (and superusers) may download; the rest may not.
        {
            "anonymous": LOGIN,
            **dict.fromkeys(APPLICANTS, NOT_FOUND),
            **dict.fromkeys(("treasurer", "manager", "clerk"), NOT_FOUND),
        },
    ),
    Row(
        "solicitudes/<uuid:public_id>/firma/",
        lambda w: reverse("loans:sign", args=[w.draft.public_id]),
        _applicant_only(),
    ),
    Row(
        "solicitudes/<uuid:public_id>/firma/preparar/",
        lambda w: reverse("loans:sign_prepare", args=[w.draft.public_id]),
        _applicant_only(anonymous=JSON_401),
        method="post",
        data=lambda w: {
            "certificate": _certificate(w.request.getfixturevalue("demo_credentials").certificate)
        },
    ),
    Row(
        "solicitudes/<uuid:public_id>/firma/completar/",
        lambda w: reverse("loans:sign_finish", args=[w.draft.public_id]),
        _applicant_only(anonymous=JSON_401),
        method="post",
        data=lambda w: {"session": "no-such-session", "signature": "AQID"},
        # The owner reaches the view: with no session prepared, it says the session expired.
        owner_status=400,
    ),
    Row(
        "solicitudes/<uuid:public_id>/contrato-firmado/",
        lambda w: reverse("loans:signed_contract", args=[w.signed.public_id]),
        _applicant_only(),
    ),
    # The addresses that carried the folio lead its owner to the same address by public_id (308,
    # keeping the method); another person's folio is a 404 as before.
    *(
        Row(
            f"solicitudes/<str:folio>/{tail}",
            lambda w, name=name: reverse(f"loans:{name}_by_folio", args=[w.draft.folio]),
            _applicant_only(),
            owner_status=308,
        )
        for tail, name in (
            ("firma/", "sign"),
            ("firma/preparar/", "sign_prepare"),
            ("firma/completar/", "sign_finish"),
            ("contrato-firmado/", "signed_contract"),
        )
    ),
    # Links whose token is the credential: the holder of the real one is its owner; a forged or
    # altered token opens nothing, for anyone.
    Row(
        "encuesta/<str:token>/",
        lambda w: reverse("surveys:answer", args=[invitation_token(w.invitation)]),
        _forged(),
        forged_url=lambda w: reverse(
            "surveys:answer", args=[_altered(invitation_token(w.invitation))]
        ),
    ),
    Row(
        "encuesta/<str:token>/gracias/",
        lambda w: reverse("surveys:thanks", args=[invitation_token(w.answered_invitation)]),
        _forged(),
        forged_url=lambda w: reverse(
            "surveys:thanks", args=[_altered(invitation_token(w.answered_invitation))]
        ),
    ),
    # A staff member's invitation to set up the second factor: for its own account only; a
    # forged token is refused to everyone, and a visitor is first sent to log in.
    Row(
        "cuenta/segundo-factor/invitacion/<str:token>/",
        lambda w: w.staff_invitation_url,
        {"anonymous": LOGIN, **_forged(*EVERYONE[1:])},
        owner="clerk",
        forged_url=lambda w: _altered(w.staff_invitation_url.rstrip("/")) + "/",
    ),
    Row(
        "verificar/<uuid:token>/",
        lambda w: reverse("signatures:verify_token", args=[w.signed_document.verification_token]),
        _forged(),
        forged_url=lambda w: reverse("signatures:verify_token", args=[uuid.uuid4()]),
    ),
    Row(
        "verificar/<uuid:token>/reporte.pdf",
        lambda w: reverse(
            "signatures:verify_token_report", args=[w.signed_document.verification_token]
        ),
        _forged(),
        forged_url=lambda w: reverse("signatures:verify_token_report", args=[uuid.uuid4()]),
    ),
    Row(
        "cuenta/^confirm-email/(?P<key>[-:\\w]+)/$",
        lambda w: reverse(
            "account_confirm_email", args=[EmailConfirmationHMAC(w.unverified_email).key]
        ),
        _forged(),
        forged_url=lambda w: reverse(
            "account_confirm_email", args=[_altered(EmailConfirmationHMAC(w.unverified_email).key)]
        ),
    ),
    Row(
        "cuenta/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
        lambda w: reverse(
            "account_reset_password_from_key",
            kwargs={
                "uidb36": user_pk_to_url_str(w.applicant.user),
                "key": default_token_generator.make_token(w.applicant.user),
            },
        ),
        _forged(),
        forged_url=lambda w: reverse(
            "account_reset_password_from_key",
            kwargs={
                "uidb36": user_pk_to_url_str(w.applicant.user),
                "key": _altered(default_token_generator.make_token(w.applicant.user)),
            },
        ),
        # A right key is swapped for a session key and the form shown at a fixed address.
        follow_owner=True,
    ),
    # The dashboard's exports: managers (and superusers) only. The table is a name, not an id,
    # but the data are the program's: everyone else is refused.
    Row(
        "tablero/exportar/<slug:table>.<str:file_format>",
        lambda w: reverse("dashboard:dashboard_export", args=["comentarios", "csv"]),
        {
            "anonymous": LOGIN,
            **dict.fromkeys(
                ("applicant", "other_applicant", "unlinked", "analyst", "authorizer"), FORBIDDEN
            ),
            **dict.fromkeys(("treasurer", "clerk"), FORBIDDEN),
        },
        owner="manager",
    ),
]


# The admin: every registered model's object pages, generated from the registry so that a model
# registered later without an entry in ADMIN_OBJECTS leaves its URLs out of the table (and the
# completeness test fails). Value: whether its admin lets even a superuser delete it.
ADMIN_OBJECTS = {
    "auth.group": True,
    "auth.user": True,
    "account.emailaddress": True,
    "mfa.authenticator": True,
    "django_q.schedule": True,
    "django_q.success": True,
    "django_q.failure": True,
    "django_q.ormq": True,
    "affiliates.employer": False,
    "affiliates.affiliate": False,
    "affiliates.affiliatelink": True,
    "affiliates.linkattempt": False,
    "loans.loanproduct": True,
    "loans.loanapplication": False,
    "surveys.survey": False,
    "surveys.invitation": False,
}


def _admin_refusals(label: str, permission: str) -> Callable[[World], dict[str, str]]:
    """Not staff: to the login page; staff without the permission: 403."""

    def refusals(world: World) -> dict[str, str]:
        result = dict.fromkeys(NOT_STAFF, LOGIN)
        app_label, model = label.split(".")
        for name in STAFF:
            user = world.request.getfixturevalue(name).user
            allowed = (
                user.has_perm(f"{app_label}.view_{model}")
                or user.has_perm(f"{app_label}.change_{model}")
                if permission in ("view", "redirect")
                else user.has_perm(f"{app_label}.{permission}_{model}")
            )
            if not allowed:
                result[name] = FORBIDDEN_AFTER_REDIRECT if permission == "redirect" else FORBIDDEN
        return result

    return refusals


@dataclass(frozen=True)
class AdminRow:
    route: str
    url: Callable[[World], str]
    refused: Callable[[World], dict[str, str]]
    owner: str = "staff"
    owner_status: int = 200
    method: str = "get"
    data: Callable[[World], dict] = field(default=lambda world: {})
    forged_url: None = None
    follow_owner: bool = False


def _admin_rows() -> list[AdminRow]:
    rows = []
    for model in admin.site._registry:
        label = model._meta.label_lower
        if label not in ADMIN_OBJECTS:
            continue
        app_label, model_name = label.split(".")
        prefix = f"admin/{app_label}/{model_name}/<path:object_id>/"

        def url(name, label=label):
            return lambda w: reverse(f"admin:{name}", args=[w.admin_object(label).pk])

        base = f"{app_label}_{model_name}"
        rows += [
            AdminRow(prefix + "change/", url(f"{base}_change"), _admin_refusals(label, "view")),
            AdminRow(prefix + "history/", url(f"{base}_history"), _admin_refusals(label, "view")),
            AdminRow(
                prefix + "delete/",
                url(f"{base}_delete"),
                _admin_refusals(label, "delete"),
                owner_status=200 if ADMIN_OBJECTS[label] else 403,
            ),
            # The bare /<id>/ only redirects to the change page (where the permission is
            # checked), so for staff it is followed to its end.
            AdminRow(
                prefix,
                lambda w, label=label, base=base: reverse(
                    f"admin:{base}_change", args=[w.admin_object(label).pk]
                ).removesuffix("change/"),
                _admin_refusals(label, "redirect"),
                follow_owner=True,
            ),
        ]
    return rows


def _review_refusals(world: World) -> dict[str, str]:
    result = dict.fromkeys(NOT_STAFF, LOGIN)
    for name in STAFF:
        if not world.request.getfixturevalue(name).user.has_perm("loans.review_loanapplication"):
            result[name] = FORBIDDEN
    return result


def _view_refusals(world: World) -> dict[str, str]:
    result = dict.fromkeys(NOT_STAFF, LOGIN)
    for name in STAFF:
        if not world.request.getfixturevalue(name).user.has_perm("loans.view_loanapplication"):
            result[name] = FORBIDDEN
    return result


ADMIN_ROWS = [
    *_admin_rows(),
    AdminRow(
        "admin/loans/loanapplication/<int:object_id>/actualizar-afiliado/",
        lambda w: reverse("admin:loans_loanapplication_affiliate_refresh", args=[w.draft.pk]),
        _view_refusals,
        owner="analyst",
        owner_status=302,
        method="post",
    ),
    AdminRow(
        "admin/auth/user/<id>/password/",
        lambda w: reverse("admin:auth_user_password_change", args=[w.applicant.user.pk]),
        _admin_refusals("auth.user", "change"),
    ),
    AdminRow(
        "admin/loans/loanapplication/<int:object_id>/accion/<str:action_name>/",
        lambda w: reverse("admin:loans_loanapplication_action", args=[w.signed.pk, "revisar"]),
        _review_refusals,
        owner="analyst",
    ),
    # No model has get_absolute_url, so "view on site" leads nowhere, for anyone (404); those
    # who are not staff do not even reach it.
    AdminRow(
        "admin/r/<path:content_type_id>/<path:object_id>/",
        lambda w: reverse(
            "admin:view_on_site",
            args=[ContentType.objects.get_for_model(LoanApplication).pk, w.draft.pk],
        ),
        lambda w: dict.fromkeys(NOT_STAFF, LOGIN),
        owner_status=404,
    ),
]

# Routes with a parameter that name no object: nothing to reach across personas.
NOT_OBJECTS = {
    # The admin's page of one app: the parameter is an app label.
    "admin/^(?P<app_label>auth|account|mfa|django_q|affiliates|loans|surveys)/$",
    # The admin's catch-all, which only redirects (to the login page or to a slash).
    "admin/(?P<url>.*)$",
}

ROWS = {row.route: row for row in [*APP_ROWS, *ADMIN_ROWS]}


def _routes(patterns, prefix: str = "") -> list[str]:
    routes = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            routes += _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            routes.append(prefix + str(pattern.pattern))
    return routes


def _has_parameter(route: str) -> bool:
    return bool(re.search(r"<[^>]+>|\(\?P<", route))


def test_every_url_with_a_parameter_is_in_the_table():
    with_parameters = {
        route for route in _routes(get_resolver().url_patterns) if _has_parameter(route)
    }

    missing = sorted(with_parameters - set(ROWS) - NOT_OBJECTS)
    stale = sorted(set(ROWS) - with_parameters)

    assert not missing, f"URLs with a parameter and no row in the access table: {missing}"
    assert not stale, f"Rows for URLs that no longer exist: {stale}"


# --- The test ----------------------------------------------------------------------------------


def _send(client: Client, row, url: str, world: World, *, follow: bool = False):
    if row.method == "post":
        return client.post(url, row.data(world), follow=follow)
    return client.get(url, follow=follow)


def _assert_refused(response, expected: str, who: str) -> None:
    status = response.status_code
    if expected == LOGIN:
        assert status == 302, (who, status)
        assert "login" in response["Location"], (who, response["Location"])
    elif expected == NOT_FOUND:
        assert status == 404, (who, status)
    elif expected == FORBIDDEN:
        assert status == 403, (who, status)
    elif expected == JSON_401:
        assert status == 401, (who, status)
        assert response.json()["error"] == "login_required"
    elif expected == FORBIDDEN_AFTER_REDIRECT:
        assert status == 403, (who, status, response.redirect_chain)
    elif expected == REFUSED_TOKEN:
        if status == 200:
            # allauth answers a bad key with its "bad link" page: for a password reset it says
            # token_fail, for an email confirmation it has no confirmation to offer.
            context = response.context
            if "token_fail" in context:
                assert context["token_fail"] is True, who
            else:
                assert context["confirmation"] is None, who
        else:
            assert status in (400, 404), (who, status)
    else:
        raise AssertionError(expected)


def _check(row, world: World, request) -> None:
    url = row.url(world)
    refused = row.refused(world) if callable(row.refused) else row.refused
    assert refused, "every row is tried by somebody who should not see it"

    owner = request.getfixturevalue(row.owner)
    reached = _send(owner, row, url, world, follow=row.follow_owner)
    assert reached.status_code == row.owner_status, (row.owner, reached.status_code)
    context = reached.context
    if context is not None and "confirmation" in context:
        assert context["confirmation"] is not None
    if context is not None and "token_fail" in context:
        assert context["token_fail"] is False

    for name, expected in refused.items():
        client = request.getfixturevalue(name)
        target = row.forged_url(world) if row.forged_url is not None else url
        follow = expected == FORBIDDEN_AFTER_REDIRECT
        _assert_refused(_send(client, row, target, world, follow=follow), expected, name)


def test_only_the_rightful_user_reaches_each_object(request, demo_pki):
    """The whole table in one test: the objects are built once (a signed and sealed contract,
    a survey invitation, ...) and every row is tried against them; no request in the table
    changes anything (the owners' requests are pages and confirmations, or refusals)."""
    world = World(request)
    failures = []
    for route, row in ROWS.items():
        try:
            _check(row, world, request)
        except AssertionError as error:
            failures.append(f"{route}: {error}")
    assert not failures, f"{len(failures)} of {len(ROWS)} rows:\n" + "\n".join(failures)
