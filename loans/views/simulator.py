"""The public loan simulator at /simulador/.

One GET view, so that it works as a plain form without JavaScript and every simulation has an
address (the query string) that can be shared, bookmarked or reloaded. With htmx the form asks
the same view again on every change and gets back only the results (`request.htmx`).

Anyone may simulate. For an account linked to an affiliate the page also answers "may I borrow
this?" with `loans.eligibility`, against the affiliate data the portal keeps (not a fresh
refresh from the institute: that happens when an application starts).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from affiliates.models import Affiliate, AffiliateLink
from isseg_portal.formatting import percent_text
from loans.amortization import CAT_LEGEND, Quote, QuoteError, quote
from loans.eligibility import Eligibility, Offer, ProductTerms, best_offer, evaluate
from loans.forms import SimulatorForm, simulator_products
from loans.models import LoanProduct
from loans.selectors import affiliate_facts, product_terms

# What the page starts with for someone the portal knows nothing about: about the average loan
# of the program (MXN 60,145 over 59 quincenas), with a round two-year term. Clamped to the
# first product's limits.
DEFAULT_AMOUNT = Decimal("60000.00")
DEFAULT_QUINCENAS = 48

RESULTS_TEMPLATE = "loans/includes/simulator_results.html"


@dataclass(frozen=True)
class Simulation:
    """What the results show: the quote and, for a linked affiliate, the rules' answer."""

    product: LoanProduct
    quote: Quote
    eligibility: Eligibility | None

    @property
    def fund_payments(self) -> list[int]:
        """The installments that carry a Fondo contribution (1, 25, 49, ...)."""
        return [row.n for row in self.quote.schedule if row.fund > 0]

    @property
    def fund_payments_text(self) -> str:
        """The same numbers as a Spanish list: 1 · 1 y 25 · 1, 25 y 49."""
        numbers = [str(n) for n in self.fund_payments]
        if len(numbers) <= 1:
            return "".join(numbers)
        return _("%(first)s y %(last)s") % {"first": ", ".join(numbers[:-1]), "last": numbers[-1]}

    @property
    def annual_rate_text(self) -> str:
        """13.67 %, 12.5 %: the rate as the product states it, without trailing zeros."""
        return _percent(self.quote.annual_rate)

    @property
    def fund_rate_text(self) -> str:
        return _percent(self.quote.fund_rate)

    @property
    def last_payment_differs(self) -> bool:
        return self.quote.last_payment != self.quote.payment


@require_safe
def simulator(request: HttpRequest) -> HttpResponse:
    return simulator_response(request, query=request.GET)


def simulator_response(
    request: HttpRequest, *, query: Mapping[str, str], status: int | None = None
) -> HttpResponse:
    """The simulator for `query` (product, amount, quincenas as typed).

    Also the answer of the application start when it refuses: the same quote, the reasons as
    messages, and `status` 400, so nothing the person chose is lost.
    """
    today = timezone.localdate()
    affiliate = _linked_affiliate(request)
    facts = affiliate_facts(affiliate=affiliate, on=today) if affiliate is not None else None
    products = simulator_products(
        on=today, affiliate_status=affiliate.status if affiliate is not None else None
    )

    # A product's best offer tries every term: computed once per product and request.
    offers: dict[str, tuple[ProductTerms, Offer | None]] = {}

    def offer_for(product: LoanProduct) -> tuple[ProductTerms, Offer | None]:
        if product.code not in offers:
            terms = product_terms(product=product)
            offers[product.code] = (terms, best_offer(affiliate=facts, product=terms))
        return offers[product.code]

    asked = any(name in query for name in SimulatorForm.base_fields)
    if asked:
        form = SimulatorForm(query, products=products)
    else:
        # Nothing asked yet: simulate the defaults right away, so that the page already shows
        # what a loan costs and a linked affiliate sees what they may borrow before typing.
        form = SimulatorForm(
            _defaults(products, offer_for=offer_for if facts is not None else None) or None,
            products=products,
        )

    simulation = None
    offer = None
    valid = form.is_valid()
    chosen = form.cleaned_data.get("product") if form.is_bound else None
    terms = None
    if facts is not None and chosen is not None:
        # Shown even while the amount or the term has an error: the limit is what to type.
        terms, offer = offer_for(chosen)
    if valid:
        try:
            loan_quote = quote(
                amount=form.cleaned_data["amount"],
                annual_rate=chosen.annual_rate,
                quincenas=form.cleaned_data["quincenas"],
                convention=chosen.interest_convention,
                fund_rate=chosen.fund_rate,
            )
        except QuoteError as error:
            form.add_error("amount", str(error))
        else:
            eligibility = None
            if terms is not None:
                eligibility = evaluate(
                    affiliate=facts,
                    product=terms,
                    amount=loan_quote.amount,
                    quincenas=loan_quote.quincenas,
                )
            simulation = Simulation(product=chosen, quote=loan_quote, eligibility=eligibility)

    partial = bool(request.htmx) and not request.htmx.history_restore_request
    context = {
        "form": form,
        "simulation": simulation,
        "offer": offer,
        "affiliate": affiliate,
        "cat_legend": _(CAT_LEGEND),
        "partial": partial,
    }
    response = render(
        request,
        RESULTS_TEMPLATE if partial else "loans/simulator.html",
        context,
        status=status or (400 if form.errors else 200),
    )
    # The same address answers with a whole page or with the results only: caches must not mix
    # them up (a browser's back button would show a bare fragment).
    patch_vary_headers(response, ["HX-Request"])
    return response


def _linked_affiliate(request: HttpRequest) -> Affiliate | None:
    if not request.user.is_authenticated:
        return None
    # The link and its affiliate in one query (the reverse accessor and then `.affiliate` were
    # two).
    link = AffiliateLink.objects.select_related("affiliate").filter(user=request.user).first()
    return link.affiliate if link is not None else None


def _defaults(
    products: list[LoanProduct],
    *,
    offer_for: Callable[[LoanProduct], tuple[ProductTerms, Offer | None]] | None,
) -> dict[str, str]:
    """The simulation the page opens with, as if typed: the affiliate's best offer on the
    first product that has one (`offer_for`, for a linked affiliate), else an average loan on
    the first product."""
    if not products:
        return {}
    if offer_for is not None:
        for product in products:
            _terms, offer = offer_for(product)
            if offer is not None:
                return {
                    "product": product.code,
                    "amount": _as_typed(offer.amount),
                    "quincenas": str(offer.quincenas),
                }
    product = products[0]
    amount = min(max(DEFAULT_AMOUNT, product.min_amount), product.max_amount)
    quincenas = min(max(DEFAULT_QUINCENAS, product.min_quincenas), product.max_quincenas)
    return {"product": product.code, "amount": _as_typed(amount), "quincenas": str(quincenas)}


def _percent(fraction: Decimal) -> str:
    return f"{percent_text(fraction)} %"


def _as_typed(amount: Decimal) -> str:
    """An amount as the box shows it, "60,000.00": the form reads it back the same."""
    return f"{amount:,.2f}"
