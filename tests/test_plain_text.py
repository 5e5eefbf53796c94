"""Free text never carries control characters: a survey comment with a NUL or a vertical tab is
stored without them (PostgreSQL refuses NUL in text), the managers' XLSX export of comments
answers 200, and it does so even for a comment already stored with one."""

import io

import pytest
from django import forms
from django.contrib import admin
from django.core.exceptions import FieldError
from django.test import Client, RequestFactory
from django.urls import reverse
from openpyxl import load_workbook

from isseg_portal.plain_text import PlainTextAdminMixin, PlainTextField, text_clean
from loans.models import ApplicationStatus
from loans.services import application_take_for_review
from surveys.models import Answer, Response, SurveyKind
from tests.builders import pay, signed_for
from tests.surveys.links import answer_url, invitation_of

COMPLETE = {
    "satisfaccion": "5",
    "facilidad": "4",
    "tiempo": "3",
    "recomendacion": "10",
    "oficina": "0",
    "contact_consent": "on",
}
COMMENTS_XLSX = reverse("dashboard:dashboard_export", args=["comentarios", "xlsx"])


@pytest.fixture
def payment_invitation(applicant, analyst, authorizer, treasurer):
    application = pay(
        signed_for(applicant), analyst=analyst, authorizer=authorizer, treasurer=treasurer
    )
    return invitation_of(application, SurveyKind.PAYMENT)


def exported_comments(manager) -> list[str]:
    response = manager.get(COMMENTS_XLSX)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [row[1] for row in sheet.iter_rows(min_row=4, values_only=True)]


def test_a_comment_with_control_characters_is_stored_clean_and_exported(
    payment_invitation, manager
):
    comment = "Muy\x00 bien\x0b atendido.\r\nGracias\tpor todo\x1b\x7f."

    response = Client().post(answer_url(payment_invitation), {**COMPLETE, "comentario": comment})

    assert response.status_code == 302
    stored = Answer.objects.get(response=Response.objects.get(), code="comentario")
    assert stored.text == "Muy bien atendido.\nGracias\tpor todo."
    assert exported_comments(manager) == ["Muy bien atendido.\nGracias\tpor todo."]


def test_the_export_survives_a_control_character_already_stored(payment_invitation, manager):
    Client().post(answer_url(payment_invitation), {**COMPLETE, "comentario": "Bien"})
    # Written before the portal cleaned free text (PostgreSQL takes \x0b, not \x00).
    Answer.objects.filter(code="comentario").update(text="Bien\x0b hecho\x1f")

    assert exported_comments(manager) == ["Bien hecho"]


@pytest.mark.parametrize(
    ("raw", "multiline", "clean"),
    [
        ("a\x00b", False, "ab"),
        ("a\x0bb\x0cc", True, "abc"),
        ("línea 1\r\nlínea 2\ttab", True, "línea 1\nlínea 2\ttab"),
        ("línea 1\r\nlínea 2\ttab", False, "línea 1 línea 2 tab"),
        ("\x85\u2028fin\x9f", False, "fin"),
        ("Ñandú «ok» — ü", False, "Ñandú «ok» — ü"),
    ],
)
def test_text_clean(raw, multiline, clean):
    assert text_clean(raw, multiline=multiline) == clean


def test_the_form_field_cleans_before_django_refuses_a_nul():
    assert PlainTextField().clean("  Juan\x00 Pérez\x0b ") == "Juan Pérez"
    assert PlainTextField(multiline=True).clean("uno\r\ndos\x00") == "uno\ndos"


def test_a_staff_reason_for_the_applicant_is_stored_without_control_characters(signed, analyst):
    application_take_for_review(application=signed, actor=analyst.user, ip_address=None)
    url = reverse("admin:loans_loanapplication_action", args=[signed.pk, "devolver"])

    response = analyst.post(url, {"reason": "Falta\x00 la\x0b identificación.\r\nGracias."})

    assert response.status_code == 302
    signed.refresh_from_db()
    assert signed.status == ApplicationStatus.RETURNED
    event = signed.events.order_by("sequence").last()
    assert event.reason == "Falta la identificación.\nGracias."


PORTAL_APPS = ("affiliates.", "loans.", "surveys.", "signatures.", "dashboard.", "operations.")


def test_every_admin_of_the_portal_edits_free_text_as_plain_text(admin_user):
    """Each ModelAdmin and inline of the portal's apps, and each text field of their forms."""
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    checked = 0
    for model, model_admin in admin.site._registry.items():
        if not type(model_admin).__module__.startswith(PORTAL_APPS):
            continue
        admins = [model_admin, *model_admin.get_inline_instances(request)]
        for each in admins:
            assert isinstance(each, PlainTextAdminMixin), type(each)
        try:
            form = model_admin.get_form(request)
        except FieldError:  # read-only fields of an admin that adds nothing (links)
            continue
        formsets = [inline.get_formset(request) for inline in admins[1:]]
        for each_form in [form, *(formset.form for formset in formsets)]:
            for field in each_form().fields.values():
                if type(field) is forms.CharField:
                    raise AssertionError(f"{model.__name__}: {field.label} is a plain CharField")
                checked += isinstance(field, PlainTextField)
    # The products' names and descriptions, the surveys' titles and presentations at least.
    assert checked >= 4
