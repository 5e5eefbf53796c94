"""The affiliate's own pages: link the account to an affiliation, and "Mi afiliación".

Every page works on the signed-in account's own link only; no URL names an affiliate, so there
is no other person's data to reach.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from affiliates.forms import LinkForm
from affiliates.models import AffiliateLink, AffiliateStatus, LinkOutcome
from affiliates.services import LinkError, affiliate_link
from affiliates.sync import affiliate_refresh
from isseg_portal.client_ip import client_ip
from isseg_portal.institute_time import INSTITUTE_TIME_ZONE


@login_required
@require_http_methods(["GET", "POST"])
def link(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        if AffiliateLink.objects.filter(user=request.user).exists():
            messages.info(request, _("Tu cuenta ya está vinculada con tu afiliación."))
            return redirect("affiliates:my_affiliation")
        return render(request, "affiliates/link.html", {"form": LinkForm()})

    # A linked account posting (a second tab, a double submit) still goes to the service, so
    # the attempt is recorded like any other; the service refuses it.
    form = LinkForm(request.POST)
    if not form.is_valid():
        return render(request, "affiliates/link.html", {"form": form}, status=400)
    try:
        affiliate_link(
            user=request.user,
            curp=form.cleaned_data["curp"],
            number=form.cleaned_data["number"],
            birth_date=form.cleaned_data["birth_date"],
            net_pay=form.cleaned_data["net_pay"],
            ip_address=client_ip(request),
        )
    except LinkError as error:
        if error.code == LinkOutcome.ACCOUNT_HAS_LINK:
            # A double submit or another tab linked it meanwhile: the form has nothing to fix.
            messages.info(request, error.message)
            return redirect("affiliates:my_affiliation")
        form.add_error(None, error.message)
        limited = error.code == LinkOutcome.RATE_LIMITED
        response = render(
            request, "affiliates/link.html", {"form": form}, status=429 if limited else 400
        )
        if limited and error.retry_after:
            response["Retry-After"] = str(error.retry_after)
        return response
    messages.success(request, _("Tu cuenta quedó vinculada con tu afiliación."))
    return redirect("affiliates:my_affiliation")


@login_required
@require_safe
def my_affiliation(request: HttpRequest) -> HttpResponse:
    link = _own_link(request)
    if link is None:
        messages.info(
            request,
            _("Para ver tu afiliación, primero vincula tu cuenta con tus datos de afiliado."),
        )
        return redirect("affiliates:link")
    affiliate = link.affiliate
    years, months = affiliate.seniority(timezone.localdate(timezone=INSTITUTE_TIME_ZONE))
    return render(
        request,
        "affiliates/my_affiliation.html",
        {
            "affiliate": affiliate,
            "loans": affiliate.loans.all(),
            "seniority": _seniority_text(years=years, months=months),
            "is_terminated": affiliate.status == AffiliateStatus.TERMINATED,
        },
    )


@login_required
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    link = _own_link(request)
    if link is None:
        messages.info(
            request,
            _("Para actualizar tus datos, primero vincula tu cuenta con tus datos de afiliado."),
        )
        return redirect("affiliates:link")
    outcome = affiliate_refresh(affiliate=link.affiliate)
    if outcome.refreshed:
        messages.success(request, _("Tus datos se actualizaron con la información del Instituto."))
    else:
        # The page keeps showing the last known data with its date.
        messages.warning(request, outcome.message)
    return redirect("affiliates:my_affiliation")


def _own_link(request: HttpRequest) -> AffiliateLink | None:
    return (
        AffiliateLink.objects.select_related("affiliate__employer")
        .filter(user=request.user)
        .first()
    )


def _seniority_text(*, years: int, months: int) -> str:
    years_text = ngettext("%(years)d año", "%(years)d años", years) % {"years": years}
    months_text = ngettext("%(months)d mes", "%(months)d meses", months) % {"months": months}
    if years and months:
        return _("%(years)s y %(months)s") % {"years": years_text, "months": months_text}
    if years:
        return years_text
    if months:
        return months_text
    return _("menos de un mes")
