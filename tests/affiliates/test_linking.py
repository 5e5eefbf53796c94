"""Linking an account to an affiliate: /afiliacion/vincular/."""

import logging
import re
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_q.models import OrmQ

from affiliates.models import (
    Affiliate,
    AffiliateLink,
    AffiliateStatus,
    LinkAttempt,
    LinkOutcome,
)
from affiliates.services import LinkError, affiliate_link
from tests.factories import AffiliateFactory, UserFactory

NO_MATCH = (
    "Los datos no coinciden con ningún afiliado. Revisa tu CURP, tu número de afiliación, tu "
    "fecha de nacimiento y el neto de tu última quincena tal como aparecen en tu talón de "
    "pago, recibo de pensión o credencial."
)
# Failures counted before the next attempt is refused; "5/15m" unless the environment says.
LIMIT = int(settings.AFFILIATE_LINK_RATE.split("/")[0])


def link_url() -> str:
    return reverse("affiliates:link")


def form_data(affiliate, **changes) -> dict[str, str]:
    data = {
        "curp": affiliate.curp,
        "number": affiliate.number,
        "birth_date": affiliate.birth_date.isoformat(),
        "net_pay": str(affiliate.net_pay),
    }
    data.update(changes)
    return data


def page_text(response) -> str:
    return unescape(response.content.decode())


def label_of(html: str, input_id: str) -> str:
    match = re.search(rf'<label[^>]*\bfor="{input_id}"[^>]*>(.*?)</label>', html, re.DOTALL)
    assert match, f"no label for {input_id}"
    return match.group(1).strip()


def wrong_data(affiliate) -> dict[str, str]:
    return form_data(affiliate, birth_date="1980-01-01")


# --- Success ------------------------------------------------------------------------------


def test_unlinked_account_sees_the_form_with_spanish_labels_and_help(unlinked):
    response = unlinked.get(link_url())

    assert response.status_code == 200
    html = page_text(response)
    assert label_of(html, "id_curp") == "CURP"
    assert label_of(html, "id_number") == "Número de afiliación"
    assert label_of(html, "id_birth_date") == "Fecha de nacimiento"
    assert "talón de pago" in html
    assert "dd/mm/aaaa" in html
    assert 'type="date"' in html
    assert 'autocomplete="bday"' in html


def test_matching_data_link_the_account_and_record_the_attempt(unlinked):
    affiliate = AffiliateFactory()

    response = unlinked.post(link_url(), form_data(affiliate), follow=True)

    assert response.redirect_chain == [(reverse("affiliates:my_affiliation"), 302)]
    assert "Tu cuenta quedó vinculada con tu afiliación." in page_text(response)
    link = AffiliateLink.objects.get(user=unlinked.user)
    assert link.affiliate == affiliate
    assert link.ip_address == "127.0.0.1"
    attempt = LinkAttempt.objects.get(user=unlinked.user)
    assert attempt.outcome == LinkOutcome.LINKED
    assert attempt.affiliate == affiliate
    assert attempt.curp_entered == affiliate.curp
    assert attempt.number_entered == affiliate.number
    assert attempt.ip_address == "127.0.0.1"


def test_curp_in_lower_case_with_spaces_and_a_hand_typed_date_are_accepted(unlinked):
    affiliate = AffiliateFactory()
    curp = affiliate.curp.lower()
    typed = {
        "curp": f" {curp[:4]} {curp[4:10]} {curp[10:]} ",
        "number": f"  {affiliate.number} ",
        "birth_date": affiliate.birth_date.strftime("%d/%m/%Y"),
        "net_pay": f" ${affiliate.net_pay:,} ",
    }

    response = unlinked.post(link_url(), typed)

    assert response.status_code == 302
    assert AffiliateLink.objects.get(user=unlinked.user).affiliate == affiliate
    attempt = LinkAttempt.objects.get(user=unlinked.user)
    assert (attempt.curp_entered, attempt.number_entered) == (affiliate.curp, affiliate.number)


def test_affiliate_number_with_letters_is_matched_whatever_the_case(unlinked):
    affiliate = AffiliateFactory(number="GT-10234")

    response = unlinked.post(link_url(), form_data(affiliate, number=" gt-10234 "))

    assert response.status_code == 302
    assert AffiliateLink.objects.get(user=unlinked.user).affiliate == affiliate


def test_linking_writes_an_audit_line_without_personal_data(
    unlinked, caplog, django_capture_on_commit_callbacks
):
    affiliate = AffiliateFactory()

    with (
        caplog.at_level(logging.INFO, logger="isseg.audit"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        unlinked.post(link_url(), form_data(affiliate))

    lines = [r.getMessage() for r in caplog.records if r.name == "isseg.audit"]
    assert lines == [
        f"affiliate_link attempt={LinkAttempt.objects.get().pk} user={unlinked.user.pk} "
        "outcome=vinculada"
    ]
    assert affiliate.curp not in caplog.text
    assert affiliate.number not in caplog.text


# --- The secret only the affiliate and the institute know -------------------------------------


def test_curp_number_and_birth_date_alone_do_not_link(unlinked):
    # Given the three data anyone can put together (the birth date is inside the CURP, the
    # numbers are sequential)
    affiliate = AffiliateFactory()
    data = form_data(affiliate)
    del data["net_pay"]

    response = unlinked.post(link_url(), data)

    # Then the net amount of the last quincena is asked for, and nothing is linked
    assert response.status_code == 400
    assert "Escribe el neto de tu última quincena" in page_text(response)
    assert not AffiliateLink.objects.exists()


@pytest.mark.parametrize("typed", ["7801.01", "7798.99", "780.00", "0"])
def test_a_net_amount_off_by_more_than_a_peso_matches_no_one(unlinked, typed):
    affiliate = AffiliateFactory(net_pay=Decimal("7800.00"))

    response = unlinked.post(link_url(), form_data(affiliate, net_pay=typed))

    assert response.status_code == 400
    assert NO_MATCH in page_text(response)
    assert not AffiliateLink.objects.exists()
    attempt = LinkAttempt.objects.get(user=unlinked.user)
    assert (attempt.outcome, attempt.affiliate) == (LinkOutcome.NO_MATCH, None)


@pytest.mark.parametrize("typed", ["7801.00", "7799", "$7,800.40", "$ 7 800.50"])
def test_the_net_amount_within_a_peso_links_however_it_is_written(unlinked, typed):
    affiliate = AffiliateFactory(net_pay=Decimal("7800.00"))

    response = unlinked.post(link_url(), form_data(affiliate, net_pay=typed))

    assert response.status_code == 302
    assert AffiliateLink.objects.get(user=unlinked.user).affiliate == affiliate


def test_a_net_amount_that_is_not_a_number_is_explained_and_kept(unlinked):
    affiliate = AffiliateFactory()

    response = unlinked.post(link_url(), form_data(affiliate, net_pay="siete mil"))

    assert response.status_code == 400
    html = page_text(response)
    assert "Escribe el neto de tu última quincena en pesos" in html
    assert 'value="siete mil"' in html
    assert f'value="{affiliate.curp}"' in html
    assert not LinkAttempt.objects.exists()


# --- The affiliate hears of every link ----------------------------------------------------


def test_linking_emails_the_affiliates_address_on_file_after_commit(
    unlinked, django_capture_on_commit_callbacks, settings
):
    from affiliates.tasks import link_notice_send

    settings.PORTAL_BASE_URL = "https://prestamos.example.gob.mx"
    affiliate = AffiliateFactory(email="registrado@example.org")

    with django_capture_on_commit_callbacks(execute=True):
        response = unlinked.post(link_url(), form_data(affiliate))
        # Before the commit, nothing is queued.
        assert not OrmQ.objects.exists()
    assert response.status_code == 302

    [task] = OrmQ.objects.all()
    assert task.func() == "affiliates.tasks.link_notice_send"
    link = AffiliateLink.objects.get(user=unlinked.user)
    assert link_notice_send(*task.task["args"]) is True
    assert link_notice_send(link.pk) is False  # a retried task sends nothing more

    [message] = mail.outbox
    assert message.to == ["registrado@example.org"]
    assert "vinculó" in message.subject
    body = message.body
    assert affiliate.full_name in body
    # The account, partly hidden, so the affiliate can tell whether it is theirs.
    assert unlinked.user.email not in body
    assert unlinked.user.email[:2] + "•" in body
    assert "Si no fuiste tú" in body
    assert settings.INSTITUTE_CONTACT_EMAIL in body
    link.refresh_from_db()
    assert link.notice_sent_at is not None


def test_an_affiliate_without_an_email_on_file_gets_no_email_and_it_is_logged(
    unlinked, django_capture_on_commit_callbacks, caplog
):
    from affiliates.tasks import link_notice_send

    affiliate = AffiliateFactory(email="")
    with django_capture_on_commit_callbacks(execute=True):
        unlinked.post(link_url(), form_data(affiliate))
    link = AffiliateLink.objects.get(user=unlinked.user)

    with caplog.at_level(logging.WARNING):
        assert link_notice_send(link.pk) is False

    assert mail.outbox == []
    assert f"link={link.pk}" in caplog.text


def test_a_refused_attempt_emails_no_one(unlinked, django_capture_on_commit_callbacks):
    affiliate = AffiliateFactory()
    with django_capture_on_commit_callbacks(execute=True):
        unlinked.post(link_url(), wrong_data(affiliate))
    assert not OrmQ.objects.exists()


# --- Already linked -----------------------------------------------------------------------


def test_linked_account_is_sent_to_its_affiliation_instead_of_the_form(applicant):
    response = applicant.get(link_url(), follow=True)

    assert response.redirect_chain == [(reverse("affiliates:my_affiliation"), 302)]
    assert "Tu cuenta ya está vinculada con tu afiliación." in page_text(response)


def test_linked_account_posting_again_keeps_its_link_and_the_attempt_is_recorded(applicant):
    # Given an account linked to its affiliate (e.g. a second tab still showing the form)
    linked_affiliate = applicant.affiliate
    another = AffiliateFactory()

    # When it posts the data of another affiliate
    response = applicant.post(link_url(), form_data(another), follow=True)

    # Then nothing changes and the attempt stays on record
    assert response.redirect_chain[-1][0] == reverse("affiliates:my_affiliation")
    assert AffiliateLink.objects.get(user=applicant.user).affiliate == linked_affiliate
    assert not AffiliateLink.objects.filter(affiliate=another).exists()
    attempt = LinkAttempt.objects.get(user=applicant.user)
    assert attempt.outcome == LinkOutcome.ACCOUNT_HAS_LINK


def test_affiliate_linked_to_another_account_is_refused_with_the_contact(unlinked, other_applicant):
    taken = other_applicant.affiliate

    response = unlinked.post(link_url(), form_data(taken))

    assert response.status_code == 400
    html = page_text(response)
    assert "Esta afiliación ya está vinculada con otra cuenta del portal." in html
    assert settings.INSTITUTE_CONTACT_EMAIL in html
    assert AffiliateLink.objects.get(affiliate=taken).user == other_applicant.user
    assert not AffiliateLink.objects.filter(user=unlinked.user).exists()
    attempt = LinkAttempt.objects.get(user=unlinked.user)
    assert (attempt.outcome, attempt.affiliate) == (LinkOutcome.ALREADY_LINKED, taken)


# --- Refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("wrong", ["curp", "number", "birth_date"])
def test_data_that_match_no_one_get_the_same_message_whichever_is_wrong(unlinked, wrong):
    # Given an affiliate, and the data of someone else for the one wrong field
    affiliate = AffiliateFactory()
    someone_else = AffiliateFactory(birth_date=date(1980, 1, 1))
    changes = {wrong: form_data(someone_else)[wrong]}

    response = unlinked.post(link_url(), form_data(affiliate, **changes))

    assert response.status_code == 400
    html = page_text(response)
    assert NO_MATCH in html
    assert not AffiliateLink.objects.filter(user=unlinked.user).exists()
    attempt = LinkAttempt.objects.get(user=unlinked.user)
    assert attempt.outcome == LinkOutcome.NO_MATCH
    assert attempt.affiliate is None


def test_terminated_affiliate_cannot_link(unlinked):
    affiliate = AffiliateFactory(status=AffiliateStatus.TERMINATED)

    response = unlinked.post(link_url(), form_data(affiliate))

    assert response.status_code == 400
    html = page_text(response)
    assert "Tu afiliación está dada de baja" in html
    assert settings.INSTITUTE_CONTACT_EMAIL in html
    assert not AffiliateLink.objects.exists()
    attempt = LinkAttempt.objects.get(user=unlinked.user)
    assert (attempt.outcome, attempt.affiliate) == (LinkOutcome.TERMINATED, affiliate)


def test_blocked_affiliate_is_told_to_contact_the_institute_without_the_internal_reason(
    unlinked,
):
    affiliate = AffiliateFactory(is_blocked=True, blocked_reason="Investigación interna 2026-17")

    response = unlinked.post(link_url(), form_data(affiliate))

    assert response.status_code == 400
    html = page_text(response)
    assert "Tu afiliación tiene una restricción" in html
    assert settings.INSTITUTE_CONTACT_EMAIL in html
    assert "Investigación interna" not in html
    assert not AffiliateLink.objects.exists()
    attempt = LinkAttempt.objects.get(user=unlinked.user)
    assert (attempt.outcome, attempt.affiliate) == (LinkOutcome.BLOCKED, affiliate)


# --- What the person typed ------------------------------------------------------------------


def test_invalid_curp_is_explained_in_spanish_and_every_value_is_kept(unlinked):
    affiliate = AffiliateFactory()
    bad_curp = affiliate.curp[:17] + ("0" if affiliate.curp[17] != "0" else "1")

    response = unlinked.post(
        link_url(), form_data(affiliate, curp=bad_curp, birth_date="15/06/1975")
    )

    assert response.status_code == 400
    html = page_text(response)
    assert "no es válida: su dígito verificador no corresponde" in html
    assert f'value="{bad_curp}"' in html
    assert f'value="{affiliate.number}"' in html
    # Typed by hand as dd/mm/aaaa, shown back in the form a date input understands.
    assert 'value="1975-06-15"' in html
    # The error is tied to its input for screen readers.
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_curp_helptext id_curp_error"' in html
    assert 'id="id_curp_error"' in html
    # A form error reaches no lookup: nothing to record.
    assert not LinkAttempt.objects.exists()


def test_missing_and_impossible_values_get_spanish_messages(unlinked):
    response = unlinked.post(link_url(), {"curp": "", "number": "", "birth_date": "31/02/1975"})

    assert response.status_code == 400
    html = page_text(response)
    assert "Escribe tu CURP." in html
    assert "Escribe tu número de afiliación." in html
    assert "Escribe tu fecha de nacimiento como dd/mm/aaaa" in html
    assert 'value="31/02/1975"' in html


def test_values_are_kept_after_a_refusal(unlinked):
    affiliate = AffiliateFactory()

    response = unlinked.post(link_url(), form_data(affiliate, birth_date="01/01/1980"))

    assert response.status_code == 400
    html = page_text(response)
    assert f'value="{affiliate.curp}"' in html
    assert f'value="{affiliate.number}"' in html
    assert 'value="1980-01-01"' in html


# --- Rate limit ---------------------------------------------------------------------------


def affiliate_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if re.search(r'"affiliates_affiliate"', q["sql"])]


def test_after_too_many_failures_the_account_is_stopped_with_429_and_no_lookup(unlinked):
    # Given an account that failed as many times as allowed
    affiliate = AffiliateFactory()
    for _ in range(LIMIT):
        assert unlinked.post(link_url(), wrong_data(affiliate)).status_code == 400

    # When it tries again, even with the right data
    with CaptureQueriesContext(connection) as queries:
        response = unlinked.post(link_url(), form_data(affiliate))

    # Then it is told to wait, nothing is looked up or linked, and the attempt is recorded
    assert response.status_code == 429
    html = page_text(response)
    assert "Hiciste demasiados intentos de vinculación sin éxito." in html
    assert re.search(r"espera \d+ minutos? e inténtalo de nuevo a partir de las \d\d:\d\d", html)
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    assert f'value="{affiliate.curp}"' in html
    assert affiliate_queries(queries.captured_queries) == []
    assert not AffiliateLink.objects.exists()
    outcomes = list(
        LinkAttempt.objects.filter(user=unlinked.user).values_list("outcome", flat=True)
    )
    assert outcomes.count(LinkOutcome.NO_MATCH) == LIMIT
    assert outcomes.count(LinkOutcome.RATE_LIMITED) == 1
    rate_limited = LinkAttempt.objects.get(outcome=LinkOutcome.RATE_LIMITED)
    assert rate_limited.affiliate is None
    assert rate_limited.curp_entered == affiliate.curp


def test_the_account_limit_follows_the_account_across_addresses(unlinked):
    affiliate = AffiliateFactory()
    for attempt in range(LIMIT):
        unlinked.post(link_url(), wrong_data(affiliate), REMOTE_ADDR=f"10.1.0.{attempt + 1}")

    response = unlinked.post(link_url(), form_data(affiliate), REMOTE_ADDR="10.1.0.200")

    assert response.status_code == 429
    assert not AffiliateLink.objects.exists()


def test_the_address_limit_stops_every_account_behind_it(db):
    # Given failures spread over several accounts from one address
    affiliate = AffiliateFactory()
    for _ in range(LIMIT):
        guesser = Client(REMOTE_ADDR="10.2.0.9")
        guesser.force_login(UserFactory())
        assert guesser.post(link_url(), wrong_data(affiliate)).status_code == 400

    # When a fresh account tries from the same address, and another one from elsewhere
    same_address = Client(REMOTE_ADDR="10.2.0.9")
    same_address.force_login(UserFactory())
    elsewhere = Client(REMOTE_ADDR="10.3.0.1")
    elsewhere_user = UserFactory()
    elsewhere.force_login(elsewhere_user)
    refused = same_address.post(link_url(), form_data(affiliate))
    accepted = elsewhere.post(link_url(), form_data(affiliate))

    # Then only the address that failed is stopped
    assert refused.status_code == 429
    assert accepted.status_code == 302
    assert AffiliateLink.objects.get(affiliate=affiliate).user == elsewhere_user


def test_failures_below_the_limit_still_let_the_right_data_through(unlinked):
    affiliate = AffiliateFactory()
    for _ in range(LIMIT - 1):
        unlinked.post(link_url(), wrong_data(affiliate))

    response = unlinked.post(link_url(), form_data(affiliate))

    assert response.status_code == 302
    assert AffiliateLink.objects.get(user=unlinked.user).affiliate == affiliate


# --- Access and CSRF ------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_log_in(anonymous):
    response = anonymous.get(link_url())

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_post_without_csrf_token_is_refused_and_does_nothing(db):
    user = UserFactory()
    affiliate = AffiliateFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(link_url(), form_data(affiliate))

    assert response.status_code == 403
    assert not AffiliateLink.objects.exists()
    assert not LinkAttempt.objects.exists()


def test_post_with_the_form_csrf_token_links(db):
    user = UserFactory()
    affiliate = AffiliateFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    form_page = client.get(link_url())
    token = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', form_page.content.decode()
    ).group(1)

    response = client.post(link_url(), {**form_data(affiliate), "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert AffiliateLink.objects.get(user=user).affiliate == affiliate


# --- Two accounts racing for one affiliate ------------------------------------------------


def test_account_that_loses_the_race_for_the_lock_is_told_the_affiliate_is_taken(
    unlinked, monkeypatch
):
    # Given another account that links the same affiliate just before this one takes the lock
    affiliate = AffiliateFactory()
    rival = UserFactory()
    lock = Affiliate.objects.select_for_update

    def rival_wins_first():
        AffiliateLink.objects.create(user=rival, affiliate=affiliate)
        return lock()

    monkeypatch.setattr(Affiliate.objects, "select_for_update", rival_wins_first)

    # When this account submits the right data
    with pytest.raises(LinkError) as refused:
        affiliate_link(
            user=unlinked.user,
            curp=affiliate.curp,
            number=affiliate.number,
            birth_date=affiliate.birth_date,
            net_pay=affiliate.net_pay,
            ip_address="10.4.0.1",
        )

    # Then only the rival holds the link, and the losing attempt is on record
    assert refused.value.code == LinkOutcome.ALREADY_LINKED
    assert AffiliateLink.objects.get(affiliate=affiliate).user == rival
    attempt = LinkAttempt.objects.get(user=unlinked.user)
    assert (attempt.outcome, attempt.affiliate) == (LinkOutcome.ALREADY_LINKED, affiliate)


def test_unique_constraint_is_the_last_line_when_both_pass_every_check(unlinked, monkeypatch):
    # Given a rival link that appears between this account's checks and its insert
    affiliate = AffiliateFactory()
    rival = UserFactory()
    create = AffiliateLink.objects.create

    def rival_inserts_first(**fields):
        create(user=rival, affiliate=affiliate)
        return create(**fields)

    monkeypatch.setattr(AffiliateLink.objects, "create", rival_inserts_first)

    # When this account's insert hits the unique constraint
    with pytest.raises(LinkError) as refused:
        affiliate_link(
            user=unlinked.user,
            curp=affiliate.curp,
            number=affiliate.number,
            birth_date=affiliate.birth_date,
            net_pay=affiliate.net_pay,
            ip_address=None,
        )

    # Then it is refused as "already linked" instead of failing, and the attempt is recorded
    assert refused.value.code == LinkOutcome.ALREADY_LINKED
    assert "ya está vinculada con otra cuenta" in refused.value.message
    assert not AffiliateLink.objects.filter(user=unlinked.user).exists()
    assert LinkAttempt.objects.get(user=unlinked.user).outcome == LinkOutcome.ALREADY_LINKED
