"""Fill the reporting facts of the applications made before they existed, and mark every month
of received applications for its figures to be computed."""

from datetime import date

from django.db import migrations
from django.utils import timezone

from loans.amortization import quote


def fill(apps, schema_editor):
    LoanApplication = apps.get_model("loans", "LoanApplication")
    ApplicationEvent = apps.get_model("loans", "ApplicationEvent")
    TallyMonth = apps.get_model("loans", "TallyMonth")
    # The labels the rejection service wrote at the start of the event's reason.
    reasons = {
        "No cumple las reglas del producto": "no_elegible",
        "Documentos ilegibles, incompletos o que no corresponden": "documentos",
        "Los datos no corresponden al afiliado": "identidad",
        "Capacidad de pago insuficiente": "capacidad",
        "Otro motivo": "otro",
    }
    months = set()
    for application in LoanApplication.objects.select_related("affiliate").iterator():
        application.employer_id = application.affiliate.employer_id
        application.municipality = application.affiliate.municipality
        application.total_interest = quote(
            amount=application.amount,
            annual_rate=application.annual_rate,
            quincenas=application.quincenas,
            convention=application.interest_convention,
            fund_rate=application.fund_rate,
        ).total_interest
        events = ApplicationEvent.objects.filter(application=application).order_by("-sequence")
        signed = events.filter(to_status="signed").first()
        application.signed_at = signed.created_at if signed else None
        if application.status == "rejected":
            rejected = events.filter(to_status="rejected").first()
            label = rejected.reason.split(":", 1)[0] if rejected else ""
            application.rejection_reason = reasons.get(label, "otro")
        application.save(
            update_fields=[
                "employer",
                "municipality",
                "total_interest",
                "signed_at",
                "rejection_reason",
            ]
        )
        local = timezone.localtime(application.created_at)
        months.add(date(local.year, local.month, 1))
    for month in months:
        TallyMonth.objects.update_or_create(month=month, defaults={"stale": True})


class Migration(migrations.Migration):
    dependencies = [("loans", "0009_reporting_facts")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
