"""What staff do with a signed application, through `loans.services`: who may do what, the
separation of duties, and the payment checks."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from loans.models import ApplicationEvent, ApplicationStatus, Payment, RejectionReason
from loans.services import (
    ApplicationError,
    TransferData,
    application_approve,
    application_register_payment,
    application_reject,
    application_return,
    application_take_for_review,
)
from tests.builders import approve, signed_for, transfer_for

S = ApplicationStatus


def in_review(signed, analyst):
    return application_take_for_review(application=signed, actor=analyst.user, ip_address="::1")


def test_the_whole_way_from_signed_to_paid(signed, analyst, authorizer, treasurer):
    in_review(signed, analyst)
    assert signed.status == S.IN_REVIEW
    assert signed.analyst == analyst.user

    application_approve(application=signed, actor=authorizer.user, ip_address=None)
    assert signed.status == S.APPROVED
    assert signed.approver == authorizer.user

    application_register_payment(
        application=signed, actor=treasurer.user, transfer=transfer_for(signed), ip_address=None
    )
    signed.refresh_from_db()
    assert signed.status == S.DISBURSED
    payment = Payment.objects.get(application=signed)
    assert payment.amount == signed.net_to_receive
    assert payment.registered_by == treasurer.user

    events = list(signed.events.order_by("sequence").values_list("to_status", "actor"))
    assert events[-3:] == [
        (S.IN_REVIEW, analyst.user.pk),
        (S.APPROVED, authorizer.user.pk),
        (S.DISBURSED, treasurer.user.pk),
    ]
    call_command("verify_audit")


def test_each_event_records_who_and_from_where(signed, analyst):
    in_review(signed, analyst)
    event = ApplicationEvent.objects.filter(application=signed).order_by("sequence").last()
    assert event.actor == analyst.user
    assert event.ip_address == "::1"


@pytest.mark.parametrize("persona", ["applicant", "authorizer", "treasurer", "manager"])
def test_only_analysts_take_for_review(signed, persona, request):
    client = request.getfixturevalue(persona)
    with pytest.raises(ApplicationError, match="no tiene permiso"):
        application_take_for_review(application=signed, actor=client.user, ip_address=None)
    signed.refresh_from_db()
    assert signed.status == S.SIGNED


@pytest.mark.parametrize("persona", ["applicant", "analyst", "treasurer", "manager"])
def test_only_authorizers_approve(signed, analyst, persona, request):
    in_review(signed, analyst)
    client = request.getfixturevalue(persona)
    with pytest.raises(ApplicationError):
        application_approve(application=signed, actor=client.user, ip_address=None)
    signed.refresh_from_db()
    assert signed.status == S.IN_REVIEW


@pytest.mark.parametrize("persona", ["applicant", "analyst", "authorizer", "manager"])
def test_only_treasury_registers_payments(signed, analyst, authorizer, persona, request):
    approve(signed, analyst=analyst, authorizer=authorizer)
    client = request.getfixturevalue(persona)
    with pytest.raises(ApplicationError, match="no tiene permiso"):
        application_register_payment(
            application=signed, actor=client.user, transfer=transfer_for(signed), ip_address=None
        )
    assert not Payment.objects.exists()


def test_whoever_reviewed_cannot_approve(signed, analyst):
    from django.contrib.auth.models import Group

    analyst.user.groups.add(Group.objects.get(name="Autorizadores"))
    in_review(signed, analyst)
    with pytest.raises(ApplicationError, match="separación de funciones"):
        application_approve(application=signed, actor=analyst.user, ip_address=None)
    signed.refresh_from_db()
    assert signed.status == S.IN_REVIEW
    assert signed.approver is None


def test_a_small_office_may_relax_the_separation_of_duties(signed, analyst, settings):
    from django.contrib.auth.models import Group

    settings.LOANS_SEPARATION_OF_DUTIES = False
    analyst.user.groups.add(Group.objects.get(name="Autorizadores"))
    in_review(signed, analyst)
    application_approve(application=signed, actor=analyst.user, ip_address=None)
    assert signed.status == S.APPROVED


def test_returning_needs_a_reason_the_applicant_will_read(signed, analyst):
    in_review(signed, analyst)
    with pytest.raises(ApplicationError, match="qué debe corregir"):
        application_return(application=signed, actor=analyst.user, reason="  ", ip_address=None)
    application_return(
        application=signed,
        actor=analyst.user,
        reason="La identificación está borrosa.",
        ip_address=None,
    )
    assert signed.status == S.RETURNED
    assert signed.events.order_by("sequence").last().reason == "La identificación está borrosa."


def test_rejecting_needs_a_reason_from_the_list_and_an_explanation(signed, analyst):
    in_review(signed, analyst)
    with pytest.raises(ApplicationError, match="motivo"):
        application_reject(
            application=signed,
            actor=analyst.user,
            reason_code="inventado",
            details="x",
            ip_address=None,
        )
    with pytest.raises(ApplicationError, match="Explica"):
        application_reject(
            application=signed,
            actor=analyst.user,
            reason_code=RejectionReason.CAPACITY,
            details="",
            ip_address=None,
        )
    application_reject(
        application=signed,
        actor=analyst.user,
        reason_code=RejectionReason.CAPACITY,
        details="Los descuentos vigentes superan el 30 % del neto.",
        ip_address=None,
    )
    assert signed.status == S.REJECTED
    reason = signed.events.order_by("sequence").last().reason
    assert reason.startswith("Capacidad de pago insuficiente: ")


def test_a_signed_application_cannot_be_approved_without_review(signed, authorizer):
    with pytest.raises(ApplicationError, match="no puede pasar"):
        application_approve(application=signed, actor=authorizer.user, ip_address=None)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount_delta": Decimal("0.01")}, "debe ser el monto a recibir"),
        ({"amount_delta": Decimal("-0.01")}, "debe ser el monto a recibir"),
        ({"clabe": "002180701234567890"}, "no es la de la solicitud"),
        ({"spei_reference": " "}, "referencia"),
        ({"paid_on_delta": timedelta(days=1)}, "futura"),
    ],
)
def test_the_payment_must_be_exactly_the_application_s(
    signed, analyst, authorizer, treasurer, changes, message
):
    approve(signed, analyst=analyst, authorizer=authorizer)
    transfer = transfer_for(signed)
    fields = {
        "spei_reference": changes.get("spei_reference", transfer.spei_reference),
        "paid_on": transfer.paid_on + changes.get("paid_on_delta", timedelta(0)),
        "amount": transfer.amount + changes.get("amount_delta", Decimal("0")),
        "clabe": changes.get("clabe", transfer.clabe),
    }
    with pytest.raises(ApplicationError, match=message):
        application_register_payment(
            application=signed,
            actor=treasurer.user,
            transfer=TransferData(**fields),
            ip_address=None,
        )
    signed.refresh_from_db()
    assert signed.status == S.APPROVED
    assert not Payment.objects.exists()


def test_a_loan_is_paid_once(signed, analyst, authorizer, treasurer):
    approve(signed, analyst=analyst, authorizer=authorizer)
    application_register_payment(
        application=signed, actor=treasurer.user, transfer=transfer_for(signed), ip_address=None
    )
    with pytest.raises(ApplicationError, match="no puede pasar"):
        application_register_payment(
            application=signed,
            actor=treasurer.user,
            transfer=transfer_for(signed),
            ip_address=None,
        )
    assert Payment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_authorizers_approving_at_once_give_one_approval_and_one_seal_task():
    import threading

    from django.contrib.auth.models import Group
    from django.db import connection, connections
    from django_q.models import OrmQ

    from tests.factories import UserFactory
    from tests.logins import linked_applicant

    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the row lock is PostgreSQL's to prove.")
    application = signed_for(linked_applicant())
    reviewer = UserFactory(is_staff=True)
    reviewer.groups.add(Group.objects.get(name="Analistas"))
    application_take_for_review(application=application, actor=reviewer, ip_address=None)
    authorizers = []
    for _index in range(2):
        user = UserFactory(is_staff=True)
        user.groups.add(Group.objects.get(name="Autorizadores"))
        authorizers.append(user)
    OrmQ.objects.all().delete()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(user) -> None:
        try:
            barrier.wait(timeout=10)
            application_approve(application=application, actor=user, ip_address=None)
            outcomes.append("approved")
        except ApplicationError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(user,)) for user in authorizers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["approved", "refused"]
    assert application.events.filter(to_status=S.APPROVED).count() == 1
    seal_tasks = [
        task for task in OrmQ.objects.all() if task.func() == "loans.tasks.seal_after_approval"
    ]
    assert len(seal_tasks) == 1
