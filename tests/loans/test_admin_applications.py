"""The back office in the admin: who sees which button, GET never acts, POST calls the service."""

import pytest
from django.urls import reverse

from loans.models import ApplicationStatus
from loans.services import application_take_for_review
from operations.tasks import audit_chain_check
from signatures.tasks import documents_validate_pending
from tests.builders import complete_draft_for, pay, sign_with_efirma, signed_for
from tests.logins import linked_applicant

S = ApplicationStatus


def change_url(application) -> str:
    return reverse("admin:loans_loanapplication_change", args=[application.pk])


def action_url(application, name) -> str:
    return reverse("admin:loans_loanapplication_action", args=[application.pk, name])


@pytest.mark.parametrize("persona", ["analyst", "authorizer", "treasurer"])
def test_every_staff_group_sees_the_list_and_the_application(signed, persona, request):
    client = request.getfixturevalue(persona)
    audit_chain_check()  # the hourly schedule's run
    listing = client.get(reverse("admin:loans_loanapplication_changelist"))
    assert listing.status_code == 200
    assert signed.folio in listing.content.decode()
    page = client.get(change_url(signed))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Historial" in html
    assert "Cadena de auditoría íntegra (2 eventos verificados el " in html
    # Read-only: no form field for the status, no save button.
    assert 'name="status"' not in html
    assert 'name="_save"' not in html


def test_the_applicant_does_not_reach_the_admin(signed, applicant):
    response = applicant.get(change_url(signed))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_only_the_analyst_sees_take_for_review(signed, analyst, authorizer):
    assert action_url(signed, "revisar") in analyst.get(change_url(signed)).content.decode()
    assert action_url(signed, "revisar") not in authorizer.get(change_url(signed)).content.decode()


def test_get_shows_a_confirmation_and_changes_nothing(signed, analyst):
    response = analyst.get(action_url(signed, "revisar"))
    assert response.status_code == 200
    assert "¿Tomar esta solicitud para revisarla?" in response.content.decode()
    signed.refresh_from_db()
    assert signed.status == S.SIGNED


def test_post_takes_the_action_through_the_service(signed, analyst):
    response = analyst.post(action_url(signed, "revisar"))
    assert response.status_code == 302
    assert response["Location"] == change_url(signed)
    signed.refresh_from_db()
    assert signed.status == S.IN_REVIEW
    assert signed.analyst == analyst.user
    assert signed.events.order_by("sequence").last().actor == analyst.user


def test_a_persona_without_the_permission_gets_403(signed, authorizer):
    response = authorizer.post(action_url(signed, "revisar"))
    assert response.status_code == 403
    signed.refresh_from_db()
    assert signed.status == S.SIGNED


def test_a_refused_action_says_why_and_changes_nothing(signed, analyst):
    # Approving needs the review first (and an authorizer): the service refuses, the page says so.
    from django.contrib.auth.models import Group

    analyst.user.groups.add(Group.objects.get(name="Autorizadores"))
    application_take_for_review(application=signed, actor=analyst.user, ip_address=None)
    response = analyst.post(action_url(signed, "aprobar"))
    assert response.status_code == 409
    assert "separación de funciones" in response.content.decode()
    signed.refresh_from_db()
    assert signed.status == S.IN_REVIEW


def test_returning_without_a_reason_keeps_the_form_with_a_400(signed, analyst):
    application_take_for_review(application=signed, actor=analyst.user, ip_address=None)
    response = analyst.post(action_url(signed, "devolver"), {"reason": ""})
    assert response.status_code == 400
    signed.refresh_from_db()
    assert signed.status == S.IN_REVIEW


def test_the_list_costs_the_same_queries_for_one_or_many(
    analyst, applicant, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:loans_loanapplication_changelist")
    complete_draft_for(applicant)
    # The session's first request writes its clocks (isseg_portal.sessions): not the list's.
    analyst.get(url)
    with CaptureQueriesContext(connection) as one:
        analyst.get(url)
    # Counted at once: a later request empties the connection's log the capture reads.
    queries_for_one = len(one.captured_queries)
    for _index in range(5):
        complete_draft_for(linked_applicant())
    with CaptureQueriesContext(connection) as many:
        analyst.get(url)
    assert len(many.captured_queries) == queries_for_one


def test_the_page_shows_the_signed_contract_with_its_validation(
    applicant, complete_draft, analyst, demo_credentials
):
    draft = complete_draft
    sign_with_efirma(draft, demo_credentials)
    # Until its validation task ran, the page says the report is on its way.
    assert "se está preparando" in analyst.get(change_url(draft)).content.decode()
    assert documents_validate_pending() == 1

    html = analyst.get(change_url(draft)).content.decode()
    assert "Todas las firmas son válidas." in html
    assert "FirmaSolicitante" in html
    assert "B-LT" in html
    assert applicant.affiliate.curp in html


ACTION_PERMISSIONS = {
    "revisar": {"analyst"},
    "devolver": {"analyst"},
    "rechazar": {"analyst"},
    "aprobar": {"authorizer"},
    "pagar": {"treasurer"},
}


@pytest.mark.parametrize("action", sorted(ACTION_PERMISSIONS))
@pytest.mark.parametrize("persona", ["analyst", "authorizer", "treasurer", "manager"])
def test_each_persona_against_each_action_page(signed, persona, action, request):
    """Who may open an action's confirmation page; everyone else gets 403 and nothing moves."""
    client = request.getfixturevalue(persona)
    response = client.get(action_url(signed, action))
    allowed = persona in ACTION_PERMISSIONS[action]
    assert response.status_code == (200 if allowed else 403)
    if not allowed:
        assert client.post(action_url(signed, action)).status_code == 403
    signed.refresh_from_db()
    assert signed.status == S.SIGNED


def test_the_chain_state_shown_is_the_last_scheduled_check_with_its_time(signed, analyst):
    from loans.models import ApplicationEvent

    # Before the first check, the page does not vouch for the chain.
    html = analyst.get(change_url(signed)).content.decode()
    assert "todavía no se ha verificado" in html

    # An edited event is found by the next scheduled check, and the page shows that check.
    event = ApplicationEvent.objects.filter(application=signed).order_by("sequence").last()
    ApplicationEvent.objects.filter(pk=event.pk).update(reason="editado a mano")
    assert audit_chain_check() is False
    html = analyst.get(change_url(signed)).content.decode()
    assert "Cadena de auditoría ALTERADA (verificada el " in html
    assert "no coincide con su hash guardado" in html


def test_the_page_does_bounded_work_on_get_no_network_no_write_constant_queries(
    applicant, other_applicant, analyst, monkeypatch, settings, tmp_path
):
    """Whatever the institute's database says now and however many events the portal holds,
    looking at an application reads the stored data only."""
    import socket

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from affiliates.models import Affiliate

    # given two applications, one with a longer history, and a chain check already run
    few = signed_for(applicant)
    many = signed_for(other_applicant)
    pay(many, analyst=analyst, authorizer=_member("Autorizadores"), treasurer=_member("Tesorería"))
    audit_chain_check()
    synced_at = Affiliate.objects.get(pk=few.affiliate_id).synced_at

    # when the page is opened with every outgoing connection refused
    attempts = []

    def refuse(self, address):
        attempts.append(address)
        raise OSError("no network on a page view")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    analyst.get(change_url(few))  # the session's first request of the minute writes its clock
    counts = []
    for application in (few, many):
        with CaptureQueriesContext(connection) as queries:
            response = analyst.get(change_url(application))
        assert response.status_code == 200
        counts.append(len(queries.captured_queries))
        writes = [
            query["sql"]
            for query in queries.captured_queries
            if query["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
            # The session's idle clock is the request's, not the page's.
            and "django_session" not in query["sql"]
        ]
        assert writes == []

    # then nothing was asked of the network, nothing written, and the queries did not grow
    assert attempts == []
    assert counts[0] == counts[1]
    assert Affiliate.objects.get(pk=few.affiliate_id).synced_at == synced_at


def test_the_affiliate_is_read_again_only_by_its_button(signed, analyst, settings, tmp_path):
    """The button posts to the refresh; a GET there does nothing."""
    from django.utils import timezone

    from affiliates.models import Affiliate

    url = reverse("admin:loans_loanapplication_affiliate_refresh", args=[signed.pk])
    assert analyst.get(url).status_code == 405
    page = analyst.get(change_url(signed)).content.decode()
    assert f'formaction="{url}"' in page

    # The institute's database does not answer: the stored data stay, and the staff is told so.
    settings.AFFILIATES_SOURCE = {
        **settings.AFFILIATES_SOURCE,
        "DRIVER": "sqlite3",
        "DSN": str(tmp_path / "no-such-institute.sqlite3"),
    }
    before = Affiliate.objects.get(pk=signed.affiliate_id).synced_at
    response = analyst.post(url, follow=True)
    assert response.redirect_chain[-1][0] == change_url(signed)
    assert "No pudimos consultar la base de datos del Instituto" in response.content.decode()
    assert Affiliate.objects.get(pk=signed.affiliate_id).synced_at == before
    assert before <= timezone.now()


def _member(group_name: str):
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return type("Persona", (), {"user": user})
