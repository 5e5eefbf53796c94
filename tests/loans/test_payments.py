"""Tesorería's payment of an approved loan: who may register it (separation of duties), the SPEI
reference used once, the date between the approval and today, and the form that says every
problem at once."""

from datetime import date, datetime, time, timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from isseg_portal.institute_time import INSTITUTE_TIME_ZONE
from loans.models import ApplicationEvent, ApplicationStatus, Payment
from loans.services import (
    ApplicationError,
    application_approve,
    application_register_payment,
    application_take_for_review,
)
from tests.builders import approve, committed, pay, signed_for, transfer_for
from tests.factories import UserFactory
from tests.logins import client_for, linked_applicant

S = ApplicationStatus


def action_url(application) -> str:
    return reverse("admin:loans_loanapplication_action", args=[application.pk, "pagar"])


def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


def member(*groups: str):
    user = UserFactory(is_staff=True)
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


def reviewed_by(application, user):
    with committed():
        return application_take_for_review(application=application, actor=user, ip_address=None)


def approved_by(application, user):
    with committed():
        return application_approve(application=application, actor=user, ip_address=None)


def form_data(application, **changes) -> dict:
    transfer = transfer_for(application)
    data = {
        "spei_reference": transfer.spei_reference,
        "paid_on": transfer.paid_on.isoformat(),
        "amount": str(transfer.amount),
        "clabe": transfer.clabe,
    }
    data.update(changes)
    return data


def assert_unpaid(application) -> None:
    application.refresh_from_db()
    assert application.status == S.APPROVED
    assert not Payment.objects.filter(application=application).exists()


# --- Separation of duties: neither the reviewer nor the approver pays -----------------------


def test_whoever_approved_cannot_register_the_payment_not_even_a_superuser(signed, analyst, caplog):
    boss = superuser()
    reviewed_by(signed, analyst.user)
    approved_by(signed, boss)

    with pytest.raises(ApplicationError, match="separación de funciones") as refused:
        application_register_payment(
            application=signed, actor=boss, transfer=transfer_for(signed), ip_address=None
        )

    assert "Tú aprobaste la solicitud" in refused.value.message
    assert refused.value.code == "separation_of_duties"
    assert_unpaid(signed)
    # The attempt is in the log, as an approval by the reviewer is.
    assert f"Separación de funciones: {boss.pk} no puede llevar {signed.folio} a disbursed" in (
        caplog.text
    )


def test_whoever_reviewed_cannot_register_the_payment(signed, authorizer):
    reviewer_and_treasurer = member("Analistas", "Tesorería")
    reviewed_by(signed, reviewer_and_treasurer)
    approved_by(signed, authorizer.user)

    with pytest.raises(ApplicationError, match="Tú revisaste la solicitud"):
        application_register_payment(
            application=signed,
            actor=reviewer_and_treasurer,
            transfer=transfer_for(signed),
            ip_address=None,
        )
    assert_unpaid(signed)


def test_the_admin_refuses_the_approver_s_payment_with_the_reason(signed, analyst):
    boss = superuser()
    reviewed_by(signed, analyst.user)
    approved_by(signed, boss)

    response = client_for(boss).post(action_url(signed), form_data(signed))

    assert response.status_code == 409
    html = response.content.decode()
    assert "Tú aprobaste la solicitud" in html
    assert "separación de funciones" in html
    # What was typed stays in the form.
    assert 'value="' + transfer_for(signed).spei_reference + '"' in html
    assert_unpaid(signed)


def test_the_reviewer_s_payment_is_refused_on_the_admin_too(signed, authorizer):
    boss = superuser()
    reviewed_by(signed, boss)
    approved_by(signed, authorizer.user)

    response = client_for(boss).post(action_url(signed), form_data(signed))

    assert response.status_code == 409
    assert "Tú revisaste la solicitud" in response.content.decode()
    assert_unpaid(signed)


def test_without_the_separation_of_duties_one_person_may_do_everything(signed, settings):
    settings.LOANS_SEPARATION_OF_DUTIES = False
    boss = superuser()
    reviewed_by(signed, boss)
    approved_by(signed, boss)

    response = client_for(boss).post(action_url(signed), form_data(signed))

    assert response.status_code == 302
    signed.refresh_from_db()
    assert signed.status == S.DISBURSED
    assert Payment.objects.get(application=signed).registered_by == boss


# --- The SPEI reference: one transfer pays one loan --------------------------------------------


def approved_pair(analyst, authorizer):
    first = signed_for(linked_applicant())
    second = signed_for(linked_applicant())
    approve(first, analyst=analyst, authorizer=authorizer)
    approve(second, analyst=analyst, authorizer=authorizer)
    return first, second


def test_a_reference_already_registered_is_refused_by_the_service(analyst, authorizer, treasurer):
    first, second = approved_pair(analyst, authorizer)
    application_register_payment(
        application=first,
        actor=treasurer.user,
        transfer=transfer_for(first, spei_reference="MBAN01002612010000123"),
        ip_address=None,
    )

    # The same reference, typed in lower case and with spaces around it
    with pytest.raises(ApplicationError, match="ya se registró") as refused:
        application_register_payment(
            application=second,
            actor=treasurer.user,
            transfer=transfer_for(second, spei_reference="  mban01002612010000123 "),
            ip_address=None,
        )

    assert first.folio in refused.value.message
    assert "spei_reference" in refused.value.errors
    assert_unpaid(second)


def test_a_reference_already_registered_is_a_400_on_the_form(analyst, authorizer, treasurer):
    first, second = approved_pair(analyst, authorizer)
    treasurer.post(action_url(first), form_data(first, spei_reference="MBAN01002612010000123"))
    assert Payment.objects.filter(application=first).exists()

    response = treasurer.post(
        action_url(second), form_data(second, spei_reference="MBAN01002612010000123")
    )

    assert response.status_code == 400
    assert "ya se registró" in response.content.decode()
    assert_unpaid(second)


def test_the_database_refuses_a_second_payment_with_the_same_reference(
    analyst, authorizer, treasurer
):
    first, second = approved_pair(analyst, authorizer)
    pay_first = Payment.objects.create(
        application=first,
        spei_reference="MBAN01002612010000123",
        paid_on=timezone.localdate(),
        amount=first.net_to_receive,
        clabe=first.clabe,
        registered_by=treasurer.user,
        registered_at=timezone.now(),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            application=second,
            spei_reference=pay_first.spei_reference.lower(),
            paid_on=timezone.localdate(),
            amount=second.net_to_receive,
            clabe=second.clabe,
            registered_by=treasurer.user,
            registered_at=timezone.now(),
        )


def test_imported_payments_without_a_reference_do_not_collide(analyst, authorizer, treasurer):
    # An earlier program's records may lack the reference: empty ones are not compared.
    first, second = approved_pair(analyst, authorizer)
    for application in (first, second):
        Payment.objects.create(
            application=application,
            spei_reference="",
            paid_on=timezone.localdate(),
            amount=application.net_to_receive,
            clabe=application.clabe,
            registered_by=treasurer.user,
            registered_at=timezone.now(),
        )
    assert Payment.objects.filter(spei_reference="").count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_treasurers_using_one_reference_at_once_pay_one_loan_and_the_other_is_told():
    """Both pass the service's look-up before either commits: the unique index decides, and
    the loser's IntegrityError becomes the same refusal, not a 500."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race is PostgreSQL's to prove.")
    reviewer, authorizer = member("Analistas"), member("Autorizadores")
    treasurers = [member("Tesorería"), member("Tesorería")]
    applications = [signed_for(linked_applicant()) for _index in range(2)]
    for application in applications:
        reviewed_by(application, reviewer)
        approved_by(application, authorizer)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def register(application, treasurer) -> None:
        try:
            barrier.wait(timeout=10)
            application_register_payment(
                application=application,
                actor=treasurer,
                transfer=transfer_for(application, spei_reference="MBAN01002612010000999"),
                ip_address=None,
            )
            outcomes.append("paid")
        except ApplicationError as error:
            outcomes.append(error.message)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=register, args=pair)
        for pair in zip(applications, treasurers, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes)[-1] == "paid"
    assert "ya se registró" in sorted(outcomes)[0]
    assert Payment.objects.filter(spei_reference="MBAN01002612010000999").count() == 1
    assert ApplicationEvent.objects.filter(to_status=S.DISBURSED).count() == 1


# --- The payment date: on or after the approval, not in the future ---------------------------


def approval_day(application) -> date:
    event = application.events.filter(to_status=S.APPROVED).order_by("sequence").last()
    return timezone.localtime(event.created_at, INSTITUTE_TIME_ZONE).date()


@pytest.mark.parametrize(
    ("paid_on", "message"),
    [
        (lambda approved_on: date(1900, 1, 1), "antes de la aprobación"),
        (lambda approved_on: approved_on - timedelta(days=1), "antes de la aprobación"),
        (lambda approved_on: timezone.localdate() + timedelta(days=1), "futura"),
    ],
)
def test_the_payment_date_is_between_the_approval_and_today(
    signed, analyst, authorizer, treasurer, paid_on, message
):
    approve(signed, analyst=analyst, authorizer=authorizer)
    day = paid_on(approval_day(signed))

    with pytest.raises(ApplicationError, match=message):
        application_register_payment(
            application=signed,
            actor=treasurer.user,
            transfer=transfer_for(signed, paid_on=day),
            ip_address=None,
        )
    assert_unpaid(signed)

    response = treasurer.post(action_url(signed), form_data(signed, paid_on=day.isoformat()))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert_unpaid(signed)


def test_the_approval_day_counts_in_the_institute_s_time_zone(
    signed, analyst, authorizer, treasurer
):
    # Approved at 23:30 in Mexico City: already the next day in UTC. Paid that same local day.
    approve(signed, analyst=analyst, authorizer=authorizer)
    local_evening = datetime.combine(
        timezone.localdate() - timedelta(days=3), time(23, 30), tzinfo=INSTITUTE_TIME_ZONE
    )
    ApplicationEvent.objects.filter(application=signed, to_status=S.APPROVED).update(
        created_at=local_evening
    )
    application_register_payment(
        application=signed,
        actor=treasurer.user,
        transfer=transfer_for(signed, paid_on=local_evening.date()),
        ip_address=None,
    )
    signed.refresh_from_db()
    assert signed.status == S.DISBURSED


def test_paid_the_day_of_the_approval_is_accepted(signed, analyst, authorizer, treasurer):
    pay(signed, analyst=analyst, authorizer=authorizer, treasurer=treasurer)
    assert Payment.objects.get(application=signed).paid_on == approval_day(signed)


# --- The form says every problem at once --------------------------------------------------------


def test_the_form_shows_every_error_at_once_with_a_400(signed, analyst, authorizer, treasurer):
    approve(signed, analyst=analyst, authorizer=authorizer)

    response = treasurer.post(
        action_url(signed),
        {
            "spei_reference": "   ",
            "paid_on": "1900-01-01",
            "amount": "1.00",
            "clabe": "002180701234567890",
        },
    )

    assert response.status_code == 400
    html = response.content.decode()
    for message in (
        "Escribe la referencia de la transferencia SPEI.",
        "antes de la aprobación",
        "debe ser el monto a recibir",
        "no es la de la solicitud",
    ):
        assert message in html, message
    # What was typed stays.
    assert 'value="1900-01-01"' in html
    assert 'value="002180701234567890"' in html
    assert_unpaid(signed)


def test_a_malformed_date_does_not_hide_the_other_fields_problems(
    signed, analyst, authorizer, treasurer
):
    approve(signed, analyst=analyst, authorizer=authorizer)

    response = treasurer.post(
        action_url(signed), form_data(signed, paid_on="31/02/2026", amount="1.00")
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "fecha" in html.lower()
    assert "debe ser el monto a recibir" in html
    assert_unpaid(signed)


def test_paying_a_loan_already_paid_stays_a_409(signed, analyst, authorizer, treasurer):
    pay(signed, analyst=analyst, authorizer=authorizer, treasurer=treasurer)

    response = treasurer.post(action_url(signed), form_data(signed, spei_reference="OTRA123"))

    assert response.status_code == 409
    assert "no puede pasar" in response.content.decode()
    assert Payment.objects.filter(application=signed).count() == 1


# --- Payments already stored, and an earlier program's records ----------------------------------


def test_the_migration_stops_naming_the_payments_that_share_a_reference(
    analyst, authorizer, treasurer
):
    import importlib

    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module("loans.migrations.0013_payment_spei_reference_unique")
    first, second = approved_pair(analyst, authorizer)
    # The database as it was before the constraint (dropped inside the test's transaction).
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX payment_spei_reference_unique")
    for application, reference in ((first, "MBAN0100123"), (second, "mban0100123")):
        Payment.objects.create(
            application=application,
            spei_reference=reference,
            paid_on=timezone.localdate(),
            amount=application.net_to_receive,
            clabe=application.clabe,
            registered_by=treasurer.user,
            registered_at=timezone.now(),
        )

    with pytest.raises(RuntimeError, match="misma referencia SPEI") as stopped:
        migration.refuse_duplicates(apps, None)

    assert f"MBAN0100123: {first.folio}, {second.folio}" in str(stopped.value)


def test_an_imported_history_cannot_reuse_a_reference(analyst, authorizer, treasurer):
    from loans.history import HistoricalApplication, HistoryStep, applications_import

    paid = signed_for(linked_applicant())
    pay(paid, analyst=analyst, authorizer=authorizer, treasurer=treasurer)
    used = Payment.objects.get(application=paid).spei_reference
    start = timezone.now() - timedelta(days=30)
    borrower = linked_applicant()

    def record(reference: str) -> HistoricalApplication:
        steps = [
            (S.SIGNED, borrower.user),
            (S.IN_REVIEW, analyst.user),
            (S.APPROVED, authorizer.user),
            (S.DISBURSED, treasurer.user),
        ]
        return HistoricalApplication(
            applicant=borrower.user,
            affiliate=borrower.affiliate,
            product=paid.product,
            amount=paid.amount,
            quincenas=paid.quincenas,
            received_at=start,
            steps=tuple(
                HistoryStep(to_status=status, at=start + timedelta(days=day + 1), actor=actor)
                for day, (status, actor) in enumerate(steps)
            ),
            clabe=paid.clabe,
            paid_on=(start + timedelta(days=5)).date(),
            spei_reference=reference,
        )

    before = Payment.objects.count()
    with pytest.raises(ApplicationError, match="ya es de otro pago"):
        applications_import(records=[record(used.lower())])
    with pytest.raises(ApplicationError, match="ya es de otro pago"):
        applications_import(records=[record("HIST0001"), record("hist0001")])
    assert Payment.objects.count() == before
    applications_import(records=[record("HIST0001")])
    assert Payment.objects.count() == before + 1
