"""The managers' dashboard at /tablero/: the program's figures and satisfaction of a period of
whole months, with charts, tables, CSV and XLSX exports of each table, and a printable page.

For the Gerencia group and superusers (`dashboard.view_dashboard`); staff reach it with their
second factor like the admin (isseg_portal.middleware).
"""

import logging
from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboard import reporting, reports
from dashboard.forms import PeriodForm
from dashboard.selectors import program_figures, program_first_month
from isseg_portal.institute_time import month_of
from surveys.selectors import comments, satisfaction_figures

logger = logging.getLogger(__name__)

PERMISSION_VIEW = "dashboard.view_dashboard"
COMMENTS_PER_PAGE = 20
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _require_manager(user) -> None:
    if not user.has_perm(PERMISSION_VIEW):
        raise PermissionDenied(_("El tablero es para el personal de Gerencia."))


def _period_form(request) -> PeriodForm:
    this_month = month_of(timezone.now())
    first = program_first_month() or this_month
    return PeriodForm(
        request.GET or None, default_first=min(first, this_month), default_last=this_month
    )


def _period(form: PeriodForm) -> tuple[date, date]:
    if form.is_bound:
        return form.cleaned_data["first"], form.cleaned_data["last"]
    return form.default_first, form.default_last


def _presets(*, this_month: date, program_start: date) -> list[dict]:
    def back(months: int) -> date:
        index = this_month.year * 12 + this_month.month - 1 - months
        return date(index // 12, index % 12 + 1, 1)

    return [
        {"label": _("Este mes"), "desde": this_month, "hasta": this_month},
        {"label": _("Mes anterior"), "desde": back(1), "hasta": back(1)},
        {"label": _("Últimos 3 meses"), "desde": back(2), "hasta": this_month},
        {"label": _("Este año"), "desde": date(this_month.year, 1, 1), "hasta": this_month},
        {"label": _("Todo el programa"), "desde": program_start, "hasta": this_month},
    ]


@login_required
def dashboard(request):
    _require_manager(request.user)
    form = _period_form(request)
    context = {
        "form": form,
        "presets": _presets(this_month=form.default_last, program_start=form.default_first),
    }
    if form.is_bound and not form.is_valid():
        return render(request, "dashboard/dashboard.html", context, status=400)
    first, last = _period(form)
    # The months touched since the last visit are recomputed now: the figures are exact.
    reporting.tally_refresh_stale()
    program = program_figures(first_month=first, last_month=last)
    satisfaction = satisfaction_figures(first_month=first, last_month=last)
    page = Paginator(comments(first_month=first, last_month=last), COMMENTS_PER_PAGE).get_page(
        request.GET.get("pagina")
    )
    query = f"desde={first:%Y-%m}&hasta={last:%Y-%m}"
    context.update(
        {
            "first": first,
            "last": last,
            "query": query,
            "period": reports.period_label(first, last),
            "generated": reports.generated_label(timezone.now()),
            "program": program,
            "satisfaction": satisfaction,
            "program_tables": reports.program_tables(program),
            "satisfaction_tables": reports.satisfaction_tables(satisfaction),
            "comments_table": reports.comments_table(
                page.object_list,
                note=_(
                    "Página %(page)s de %(pages)s (%(count)s comentarios). La descarga incluye "
                    "todos los del periodo."
                )
                % {
                    "page": page.number,
                    "pages": page.paginator.num_pages,
                    "count": page.paginator.count,
                },
            ),
            "comments_page": page,
        }
    )
    return render(request, "dashboard/dashboard.html", context)


@login_required
def dashboard_export(request, table: str, file_format: str):
    _require_manager(request.user)
    if file_format not in FORMATS:
        raise Http404(_("Formato de descarga desconocido."))
    form = _period_form(request)
    if form.is_bound and not form.is_valid():
        errors = "; ".join(message for messages in form.errors.values() for message in messages)
        return HttpResponse(
            _("Periodo no válido: %(errors)s") % {"errors": errors},
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    first, last = _period(form)
    chosen = _table(table, first=first, last=last)
    if chosen is None:
        raise Http404(_("Esa tabla no existe en el tablero."))
    period = reports.period_label(first, last)
    if file_format == "csv":
        content = reports.table_csv(chosen)
    else:
        content = reports.table_xlsx(chosen, period=period)
    # Who took which figures out of the portal, and for which period.
    logger.info(
        "dashboard export table=%s format=%s first=%s last=%s user=%s",
        chosen.slug,
        file_format,
        f"{first:%Y-%m}",
        f"{last:%Y-%m}",
        request.user.pk,
    )
    response = HttpResponse(content, content_type=FORMATS[file_format])
    filename = f"tablero-{chosen.slug}-{first:%Y%m}-{last:%Y%m}.{file_format}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _table(slug: str, *, first: date, last: date) -> reports.Table | None:
    if slug == "comentarios":
        return reports.comments_table(
            comments(first_month=first, last_month=last).iterator(chunk_size=2000)
        )
    reporting.tally_refresh_stale()
    tables = reports.program_tables(program_figures(first_month=first, last_month=last))
    tables += reports.satisfaction_tables(satisfaction_figures(first_month=first, last_month=last))
    return next((table for table in tables if table.slug == slug), None)
