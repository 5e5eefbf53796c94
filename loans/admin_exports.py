"""Tesorería's files in the admin: the payment batch and the payroll-deduction file.

Two pages under /admin/tesoreria/ (included from `isseg_portal/urls.py` ahead of the admin,
whose catch-all would take the path otherwise), wrapped in `admin.site.admin_view`: staff only,
anyone else goes to the admin login. Only holders of `loans.pay_loanapplication` see them
(403 for other staff). Each page is a GET form; the same GET with its parameters downloads the
CSV, so a file can be asked for again by its address. Bad parameters give the form back with
the reason and status 400. The rows come from `loans.exports`.
"""

import logging
from datetime import date
from decimal import Decimal

from allauth.core.exceptions import ReauthenticationRequired
from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import content_disposition_header
from django.utils.text import get_valid_filename
from django.utils.translation import gettext_lazy as _

from affiliates.models import Employer
from isseg_portal.reauthentication import recently_authenticated
from loans import exports
from loans.paydays import payday_of
from loans.workflow import PERMISSION_PAY

logger = logging.getLogger(__name__)

app_name = "tesoreria"

# The query parameter of the payment batch page that asks for the file itself.
DOWNLOAD = "descargar"


class DeductionFileForm(forms.Form):
    employer = forms.ModelChoiceField(
        label=_("Dependencia"),
        queryset=Employer.objects.order_by("name"),
        to_field_name="code",
        empty_label=_("Elija la dependencia"),
        error_messages={
            "required": _("Elija la dependencia."),
            "invalid_choice": _("No hay ninguna dependencia con la clave «%(value)s»."),
        },
    )
    quincena = forms.DateField(
        label=_("Quincena"),
        help_text=_("El día de pago de la quincena: el 15 o el último día del mes."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("Escriba el día de pago de la quincena."),
            "invalid": _("Escriba la fecha como AAAA-MM-DD (por ejemplo, 2026-11-30)."),
        },
    )

    def clean_quincena(self) -> date:
        quincena = self.cleaned_data["quincena"]
        if payday_of(quincena) != quincena:
            raise ValidationError(
                _(
                    "El %(day)s no es día de pago: la quincena se paga el 15 o el último día "
                    "del mes (%(payday)s para esa fecha)."
                ),
                code="not_payday",
                params={
                    "day": date_format(quincena, "SHORT_DATE_FORMAT"),
                    "payday": date_format(payday_of(quincena), "SHORT_DATE_FORMAT"),
                },
            )
        return quincena


def payment_batch_view(request: HttpRequest) -> HttpResponse:
    _require_treasury(request)
    applications = exports.awaiting_payment()
    if DOWNLOAD in request.GET:
        rows = exports.payment_batch_rows(applications)
        logger.info("Lote de pagos exportado por %s: %d filas", request.user.pk, len(rows))
        return _csv_response(
            exports.write_csv(rows, exports.PAYMENT_BATCH_HEADER),
            filename=f"lote_pagos_{timezone.localdate().isoformat()}.csv",
        )
    summary = applications.aggregate(
        count=Count("pk"),
        total=Sum("net_to_receive", default=Decimal("0.00")),
        seal_pending=Count("pk", filter=Q(sealed=False)),
        shared_clabe=Count("pk", filter=Q(clabe_shared=True)),
    )
    return TemplateResponse(
        request,
        "admin/loans/treasury/payment_batch.html",
        {
            **admin.site.each_context(request),
            "title": _("Lote de pagos pendientes"),
            "summary": summary,
            "download": DOWNLOAD,
            "header": exports.PAYMENT_BATCH_HEADER,
        },
    )


def deduction_file_view(request: HttpRequest) -> HttpResponse:
    _require_treasury(request)
    submitted = bool(request.GET)
    form = DeductionFileForm(
        request.GET if submitted else None,
        initial={"quincena": payday_of(timezone.localdate())},
    )
    if submitted and form.is_valid():
        employer = form.cleaned_data["employer"]
        quincena = form.cleaned_data["quincena"]
        rows = exports.deduction_rows(
            exports.deducted_by(employer=employer, quincena=quincena), quincena=quincena
        )
        logger.info(
            "Descuentos de %s para la quincena %s exportados por %s: %d filas",
            employer.code,
            quincena.isoformat(),
            request.user.pk,
            len(rows),
        )
        return _csv_response(
            exports.write_csv(rows, exports.DEDUCTIONS_HEADER),
            filename=get_valid_filename(f"descuentos_{employer.code}_{quincena.isoformat()}.csv"),
        )
    return TemplateResponse(
        request,
        "admin/loans/treasury/deductions.html",
        {
            **admin.site.each_context(request),
            "title": _("Archivo de descuentos por nómina"),
            "form": form,
            "header": exports.DEDUCTIONS_HEADER,
        },
        status=400 if submitted else 200,
    )


def _require_treasury(request: HttpRequest) -> None:
    # admin_view already sent anyone who is not active staff to the login page.
    if not request.user.has_perm(PERMISSION_PAY):
        raise PermissionDenied
    if not recently_authenticated(request):
        # The files carry every CLABE and amount: the password again if the login is old.
        raise ReauthenticationRequired()


def _csv_response(content: bytes, *, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=filename
    )
    return response


urlpatterns = [
    path("pagos/", admin.site.admin_view(payment_batch_view), name="payment_batch"),
    path("descuentos/", admin.site.admin_view(deduction_file_view), name="deductions"),
]
