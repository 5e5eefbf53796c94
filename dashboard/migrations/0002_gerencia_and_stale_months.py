"""Gerencia sees the dashboard; the figures of every month with applications are recomputed
from the applications themselves (the tallies moved from the loans app, which dropped its own:
they are a summary, so the dashboard's are rebuilt rather than copied)."""

from datetime import date

from django.db import migrations
from django.utils import timezone

from dashboard.staff_groups import ensure_dashboard_permission


def grant(apps, schema_editor):
    ensure_dashboard_permission(apps)


def mark_months_stale(apps, schema_editor):
    LoanApplication = apps.get_model("loans", "LoanApplication")
    TallyMonth = apps.get_model("dashboard", "TallyMonth")
    first = LoanApplication.objects.order_by("created_at").values_list("created_at", flat=True)
    start = first.first()
    if start is None:
        return
    start, end = timezone.localtime(start), timezone.localtime()
    month = date(start.year, start.month, 1)
    while month <= date(end.year, end.month, 1):
        TallyMonth.objects.update_or_create(month=month, defaults={"stale": True})
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_initial"),
        ("loans", "0012_audit_chain_check_tallies_to_dashboard"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(mark_months_stale, migrations.RunPython.noop),
    ]
