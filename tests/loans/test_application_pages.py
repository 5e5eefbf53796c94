""" "Mis solicitudes", an application's page, cancelling it, and who may see what."""

import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from loans.models import ApplicationEvent, ApplicationStatus, LoanApplication, SupportingDocument
from loans.services import application_cancel, application_expire
from tests.builders import draft_for, filled_draft_for
from tests.loans.addresses import detail_url, step_url
from tests.loans.factories import LoanProductFactory
from tests.pages import messages_of, text

MEXICO_CITY = ZoneInfo("America/Mexico_City")


# The institute's database does not answer: the last known data are used (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("institute_down")


def list_url() -> str:
    return reverse("loans:application_list")


def cancel_url(application) -> str:
    return reverse("loans:application_cancel", kwargs={"public_id": application.public_id})


def local(moment) -> str:
    return timezone.localtime(moment, MEXICO_CITY).strftime("%d/%m/%Y %H:%M")


# --- Mis solicitudes --------------------------------------------------------------------------


def test_the_list_shows_the_applicants_own_applications(applicant, other_applicant):
    # Given an application of the applicant and one of someone else
    mine = draft_for(applicant, LoanProductFactory(name="Préstamo personal"))
    theirs = draft_for(other_applicant)

    # When the applicant opens "Mis solicitudes"
    response = applicant.get(list_url())

    # Then they see theirs, with its folio, product, amount, status and date, and a link
    page = text(response)
    assert response.status_code == 200
    assert re.fullmatch(r"PL-\d{4}-\d{6}", mine.folio)
    assert mine.folio in page
    assert "Préstamo personal" in page
    assert "$60,000.00" in page
    assert "Borrador" in page
    assert timezone.localtime(mine.created_at, MEXICO_CITY).strftime("%d/%m/%Y") in page
    assert detail_url(mine) in response.content.decode()
    # and nothing of the other person's
    assert theirs.folio not in page


def test_without_applications_the_list_points_to_the_simulator(applicant):
    response = applicant.get(list_url())

    assert "Aún no tienes solicitudes de préstamo." in text(response)
    assert reverse("loans:simulator") in response.content.decode()


def test_the_main_navigation_offers_mis_solicitudes_to_signed_in_users(applicant, anonymous):
    assert list_url() in applicant.get(reverse("home")).content.decode()
    assert list_url() not in anonymous.get(reverse("home")).content.decode()


def test_the_navigation_marks_mis_solicitudes_as_the_current_page(applicant):
    html = applicant.get(list_url()).content.decode()

    assert re.search(rf'href="{list_url()}"\s+aria-current="page"', html)


# --- An application's page --------------------------------------------------------------------


def test_the_page_shows_the_quote_the_schedule_what_was_entered_and_the_history(applicant):
    # Given a draft with every step filled in
    application = filled_draft_for(applicant)

    # When the applicant opens it
    response = applicant.get(detail_url(application))

    # Then the page shows its folio, status and quote, with the CAT legend
    page = text(response)
    html = response.content.decode()
    assert response.status_code == 200
    assert application.folio in page
    assert "Borrador" in page
    assert "$60,000.00" in page
    assert "48 quincenas" in page
    assert "CAT sin IVA. Para fines informativos y de comparación." in page
    # the whole schedule folded in a <details>, one row per quincena
    details = re.search(r"<details.*?</details>", html, re.S).group(0)
    assert len(re.findall(r'<th scope="row"', details)) == 48
    assert "$0.00" in details  # the balance ends at zero
    # what they entered, and their documents
    for value in ("4731234567", "ana@example.org", "002180701234567895", "Banamex", "ine.pdf"):
        assert value in page
    # and the history, in local time, in plain Spanish
    event = application.events.get()
    assert f"{local(event.created_at)} · Creaste la solicitud." in page
    # with what comes next, and a way to go on
    assert "Completa los pasos que faltan de tu solicitud." in page
    assert step_url(application, 5) in html


def test_the_history_tells_each_change_in_plain_spanish(applicant, other_applicant):
    cancelled = draft_for(applicant)
    application_cancel(application=cancelled, actor=applicant.user, ip_address="198.51.100.4")
    expired = draft_for(other_applicant)
    application_expire(application=expired)

    cancelled_page = text(applicant.get(detail_url(cancelled)))
    expired_page = text(other_applicant.get(detail_url(expired)))

    last = cancelled.events.order_by("sequence").last()
    assert f"{local(last.created_at)} · Cancelaste la solicitud." in cancelled_page
    assert "Cancelada" in cancelled_page
    assert "Esta solicitud ya no continuará." in cancelled_page
    assert "La solicitud venció porque no se completó y firmó a tiempo." in expired_page
    assert "Vencida" in expired_page


def test_a_cancelled_application_offers_no_cancel_and_no_continue(applicant):
    application = draft_for(applicant)
    application_cancel(application=application, actor=applicant.user, ip_address=None)

    html = applicant.get(detail_url(application)).content.decode()

    assert cancel_url(application) not in html
    assert step_url(application, 2) not in html


# --- Cancelling -------------------------------------------------------------------------------


def test_get_on_cancel_asks_for_confirmation_and_cancels_nothing(applicant):
    application = draft_for(applicant)

    response = applicant.get(cancel_url(application))

    assert response.status_code == 200
    assert f"¿Cancelar la solicitud {application.folio}?" in text(response)
    assert "Esto no se puede deshacer." in text(response)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT
    assert application.events.count() == 1


def test_post_on_cancel_cancels_and_records_who_and_from_where(applicant):
    application = draft_for(applicant)

    response = applicant.post(cancel_url(application), REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 302
    assert response.url == detail_url(application)
    assert f"Cancelaste la solicitud {application.folio}." in messages_of(response)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CANCELLED
    event = application.events.order_by("sequence").last()
    assert (event.from_status, event.to_status) == (
        ApplicationStatus.DRAFT,
        ApplicationStatus.CANCELLED,
    )
    assert event.actor == applicant.user
    assert event.ip_address == "203.0.113.9"


def test_a_double_post_on_cancel_cancels_once(applicant):
    application = draft_for(applicant)

    applicant.post(cancel_url(application))
    second = applicant.post(cancel_url(application))

    assert second.status_code == 302
    assert f"La solicitud {application.folio} ya está cancelada." in messages_of(second)
    assert application.events.filter(to_status=ApplicationStatus.CANCELLED).count() == 1


def test_an_application_the_table_does_not_let_cancel_cannot_be_cancelled(applicant):
    # Given an expired application (expired → cancelled is not an allowed transition)
    application = draft_for(applicant)
    application_expire(application=application)

    opened = applicant.get(cancel_url(application))
    posted = applicant.post(cancel_url(application))

    assert opened.status_code == 302
    assert opened.url == detail_url(application)
    assert posted.status_code == 409
    assert "está vencida y ya no se puede cancelar" in text(posted)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.EXPIRED


# --- Who may see what -------------------------------------------------------------------------


def every_url(application, document) -> list[tuple[str, str]]:
    """(method, URL) of every page that names the application."""
    urls = [
        ("get", detail_url(application)),
        ("get", cancel_url(application)),
        ("post", cancel_url(application)),
        (
            "get",
            reverse(
                "loans:document_download",
                kwargs={"public_id": application.public_id, "document_id": document.public_id},
            ),
        ),
    ]
    for step in range(1, 6):
        urls.append(("get", step_url(application, step)))
        urls.append(("post", step_url(application, step)))
    return urls


URL_NAMES = [
    "detail",
    "cancel-get",
    "cancel-post",
    "download",
    *[f"step-{step}-{method}" for step in range(1, 6) for method in ("get", "post")],
]


@pytest.mark.parametrize("index", range(len(URL_NAMES)), ids=URL_NAMES)
def test_another_users_application_is_a_404_everywhere(complete_draft, other_applicant, index):
    # Given someone else's application, with documents
    document = SupportingDocument.objects.filter(application=complete_draft).first()
    method, url = every_url(complete_draft, document)[index]
    events_before = ApplicationEvent.objects.count()

    # When another applicant asks for any of its pages, or posts to them
    response = getattr(other_applicant, method)(
        url, {"phone": "4731234567", "email": "intruso@example.org"}
    )

    # Then it does not exist for them, and nothing changed
    assert response.status_code == 404
    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.DRAFT
    assert complete_draft.email == "ana@example.org"
    assert ApplicationEvent.objects.count() == events_before


@pytest.mark.parametrize("index", range(len(URL_NAMES)), ids=URL_NAMES)
def test_anonymous_visitors_are_sent_to_log_in_everywhere(complete_draft, anonymous, index):
    document = SupportingDocument.objects.filter(application=complete_draft).first()
    method, url = every_url(complete_draft, document)[index]

    response = getattr(anonymous, method)(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_staff_do_not_browse_applications_through_the_applicants_pages(staff, complete_draft):
    # Staff work in the admin; the applicant's pages are the applicant's.
    assert staff.get(detail_url(complete_draft)).status_code == 404


def test_an_unknown_application_is_a_404(applicant):
    url = reverse(
        "loans:application_detail", kwargs={"public_id": "00000000-0000-0000-0000-000000000000"}
    )

    assert applicant.get(url).status_code == 404
    assert LoanApplication.objects.count() == 0
