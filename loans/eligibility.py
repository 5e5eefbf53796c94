"""Who may borrow how much: a product's rules applied to an affiliate's facts.

Pure functions over plain values (no database): `loans.selectors` builds `AffiliateFacts` and
`ProductTerms` from the models. `evaluate` checks every rule and lists every one that fails,
each with a stable code, a Spanish explanation and its figures, so the applicant reads exactly
why not; `max_amount` and `best_offer` say what would pass instead. Payments come from
`loans.amortization`; this module never computes an installment itself.

Decisions, so that staff and applicants get one consistent answer:

- Net pay (`net_pay_quincenal`) is the affiliate's net quincenal pay or pension before the
  institute's deductions; `current_deductions_quincenal` are those deductions today.
- Payment capacity: current deductions − quincenal payment of the loans being renewed + the new
  quincenal installment ≤ share × net pay. The Fondo Especial y Solidario contribution is not
  part of it: it is charged yearly, not per quincena, and the rule is the one the affiliate can
  check on their payroll stub. The allowed total is rounded down to centavos.
- Pension floor (pensionado and jubilado only): net pay − (the same deductions after the loan)
  ≥ the product's floor.
- Renewal: an active loan (balance > 0) of the same product is renewed by the new one. The
  fraction paid is installments paid / installments agreed, as the payroll stub shows it and
  the affiliate can verify (1 − balance/original would lag behind because a French schedule
  repays little principal at first). Its balance is netted from the new loan, which must leave
  something to receive; its payment stops counting against capacity.
- Salary limit: the band with the largest `from_months` not above the affiliate's seniority;
  monthly salary = 2 × quincenal base salary. A product without bands has no salary limit; an
  affiliate below the first band may borrow nothing.
- `max_amount` is rounded down to whole pesos (centavos only if whole pesos would fall below
  the minimum), so it always passes and one peso more does not. `best_offer` is the largest
  such amount over the product's terms, at the shortest term that reaches it (less interest).
"""

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from enum import StrEnum

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from isseg_portal.formatting import pesos, plain_number
from loans.amortization import (
    MAX_AMOUNT,
    MAX_QUINCENAS,
    InterestConvention,
    Quote,
    QuoteError,
    amount_for_payment,
    quote,
)

CENT = Decimal("0.01")
PESO = Decimal("1")
ZERO = Decimal("0.00")

# The values of AffiliateStatus.PENSIONER and RETIREE, repeated so this module imports no
# models; tests/loans/test_eligibility.py checks that they agree.
PENSION_STATUSES = frozenset({"pensionado", "jubilado"})
# Display order of statuses in messages (AffiliateStatus order).
STATUS_ORDER = ("activo", "pensionado", "jubilado", "baja")


class Rule(StrEnum):
    """Stable codes of the rules, in the order they are checked and listed."""

    STATUS_NOT_ALLOWED = "status_not_allowed"
    INSUFFICIENT_SENIORITY = "insufficient_seniority"
    BLOCKED = "blocked"
    AMOUNT_BELOW_MINIMUM = "amount_below_minimum"
    AMOUNT_ABOVE_MAXIMUM = "amount_above_maximum"
    TERM_OUT_OF_RANGE = "term_out_of_range"
    AMOUNT_ABOVE_SALARY_LIMIT = "amount_above_salary_limit"
    PAYMENT_CAPACITY_EXCEEDED = "payment_capacity_exceeded"
    PENSION_FLOOR = "pension_floor"
    RENEWAL_FRACTION_NOT_MET = "renewal_fraction_not_met"
    RENEWAL_NET_NOT_POSITIVE = "renewal_net_not_positive"


# --- Inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExistingLoan:
    """A loan the affiliate already has with the institute."""

    product_code: str
    original_amount: Decimal
    balance: Decimal
    installments_paid: int
    installments_total: int
    quincenal_payment: Decimal

    @property
    def is_active(self) -> bool:
        return self.balance > 0

    @property
    def paid_fraction(self) -> Decimal:
        """Installments paid over installments agreed (0 when the total is unknown)."""
        if self.installments_total <= 0:
            return Decimal(0)
        return Decimal(self.installments_paid) / Decimal(self.installments_total)


@dataclass(frozen=True)
class AffiliateFacts:
    status: str
    seniority_months: int
    is_blocked: bool
    base_salary_quincenal: Decimal
    net_pay_quincenal: Decimal
    current_deductions_quincenal: Decimal
    loans: tuple[ExistingLoan, ...] = ()

    @property
    def monthly_salary(self) -> Decimal:
        return self.base_salary_quincenal * 2


@dataclass(frozen=True)
class SalaryBand:
    from_months: int
    salary_multiple: Decimal


@dataclass(frozen=True)
class ProductTerms:
    """A product's rule values; fractions as Decimal (0.30 = 30 %)."""

    code: str
    name: str
    allowed_statuses: frozenset[str]
    annual_rate: Decimal
    convention: InterestConvention
    min_quincenas: int
    max_quincenas: int
    min_amount: Decimal
    max_amount: Decimal
    min_seniority_months: int
    salary_bands: tuple[SalaryBand, ...]
    max_deduction_share: Decimal
    pension_floor: Decimal
    fund_rate: Decimal
    renewal_paid_fraction: Decimal

    def band_for(self, *, seniority_months: int) -> SalaryBand | None:
        """The band that applies at that seniority, or None below the first one."""
        reached = [band for band in self.salary_bands if band.from_months <= seniority_months]
        return max(reached, key=lambda band: band.from_months, default=None)


@dataclass(frozen=True)
class Request:
    amount: Decimal
    quincenas: int


# --- Results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleFailure:
    code: Rule
    message: str
    # The numbers behind the message, unformatted (Decimal amounts and fractions, int counts).
    figures: dict[str, Decimal | int | str] = field(default_factory=dict)


@dataclass(frozen=True)
class Offer:
    amount: Decimal
    quincenas: int
    payment: Decimal
    net_to_receive: Decimal


@dataclass(frozen=True)
class Eligibility:
    affiliate: AffiliateFacts = field(repr=False)
    product: ProductTerms = field(repr=False)
    request: Request
    failures: tuple[RuleFailure, ...]
    # The requested loan's quote; None when the amount or term cannot have one.
    quote: Quote | None
    # Balance of the renewed loan(s) of the same product, paid off from the new loan.
    previous_balance_netted: Decimal
    # What the applicant receives: amount − previous balance (never below 0.00).
    net_to_receive: Decimal
    # Largest amount that passes at the requested term, or None if none does.
    max_amount: Decimal | None

    @property
    def eligible(self) -> bool:
        return not self.failures

    @property
    def codes(self) -> tuple[Rule, ...]:
        return tuple(failure.code for failure in self.failures)

    @property
    def payment(self) -> Decimal | None:
        return self.quote.payment if self.quote is not None else None

    def failure(self, code: Rule | str) -> RuleFailure | None:
        return next((failure for failure in self.failures if failure.code == code), None)

    def best_offer(self) -> Offer | None:
        return best_offer(affiliate=self.affiliate, product=self.product)

    def summary(self) -> str:
        """One or two Spanish sentences for the applicant."""
        request = self.request
        if self.eligible:
            text = _(
                "Puedes solicitar %(amount)s a %(quincenas)s quincenas, con un pago quincenal "
                "de %(payment)s."
            ) % {
                "amount": pesos(request.amount),
                "quincenas": request.quincenas,
                "payment": pesos(self.payment),
            }
            if self.previous_balance_netted > 0:
                text += " " + _(
                    "Del préstamo se descuenta el saldo de tu préstamo vigente (%(balance)s); "
                    "recibirías %(net)s."
                ) % {
                    "balance": pesos(self.previous_balance_netted),
                    "net": pesos(self.net_to_receive),
                }
            return text
        text = _("No es posible otorgarte %(amount)s a %(quincenas)s quincenas.") % {
            "amount": pesos(request.amount),
            "quincenas": request.quincenas,
        }
        offer_amount, offer_quincenas = self.max_amount, request.quincenas
        if offer_amount is None:
            offer = self.best_offer()
            if offer is not None:
                offer_amount, offer_quincenas = offer.amount, offer.quincenas
        if offer_amount is None:
            return text + " " + _("Por ahora no puedes solicitar este préstamo.")
        return (
            text
            + " "
            + _("Puedes solicitar hasta %(amount)s a %(quincenas)s quincenas.")
            % {"amount": pesos(offer_amount), "quincenas": offer_quincenas}
        )


# --- Rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Standing:
    """What does not depend on the amount or the term: the affiliate before this product."""

    # Status, seniority and blocking; the renewal fraction apart, as it is listed last.
    failures: tuple[RuleFailure, ...]
    renewal_failure: RuleFailure | None
    renewed: tuple[ExistingLoan, ...]
    previous_balance: Decimal
    renewed_payment: Decimal
    # Deductions that remain once the renewed loans stop: the base the new payment adds to.
    remaining_deductions: Decimal
    allowed_deductions: Decimal
    # Largest new installment within capacity and, for pensioners, the pension floor.
    max_payment: Decimal
    # None: the product has no salary bands.
    salary_limit: Decimal | None
    band: SalaryBand | None


def _standing(*, affiliate: AffiliateFacts, product: ProductTerms) -> _Standing:
    failures: list[RuleFailure] = []
    if affiliate.status not in product.allowed_statuses:
        failures.append(_status_failure(affiliate=affiliate, product=product))
    if affiliate.seniority_months < product.min_seniority_months:
        failures.append(
            RuleFailure(
                Rule.INSUFFICIENT_SENIORITY,
                _(
                    "Este préstamo requiere al menos %(required)s de antigüedad cotizando al "
                    "Instituto; tienes %(current)s."
                )
                % {
                    "required": _months_text(product.min_seniority_months),
                    "current": _months_text(affiliate.seniority_months),
                },
                {
                    "required_months": product.min_seniority_months,
                    "seniority_months": affiliate.seniority_months,
                    "missing_months": product.min_seniority_months - affiliate.seniority_months,
                },
            )
        )
    if affiliate.is_blocked:
        failures.append(
            RuleFailure(
                Rule.BLOCKED,
                _(
                    "Tu afiliación tiene un bloqueo en el Instituto y no puede recibir préstamos "
                    "por ahora. Comunícate con el Instituto para aclararlo."
                ),
                {},
            )
        )

    renewed = tuple(
        loan for loan in affiliate.loans if loan.product_code == product.code and loan.is_active
    )
    renewal_failure = None
    if renewed:
        # Normally one; should the source report two, the less paid one decides.
        least_paid = min(renewed, key=lambda loan: loan.paid_fraction)
        if least_paid.paid_fraction < product.renewal_paid_fraction:
            renewal_failure = _renewal_fraction_failure(loan=least_paid, product=product)

    previous_balance = sum((loan.balance for loan in renewed), ZERO)
    renewed_payment = sum((loan.quincenal_payment for loan in renewed), ZERO)
    # A source whose deductions leave out the renewed loan must not give a negative base.
    remaining = max(affiliate.current_deductions_quincenal - renewed_payment, ZERO)
    allowed = (product.max_deduction_share * affiliate.net_pay_quincenal).quantize(
        CENT, rounding=ROUND_DOWN
    )
    max_payment = allowed - remaining
    if _floor_applies(affiliate=affiliate, product=product):
        max_payment = min(
            max_payment, affiliate.net_pay_quincenal - remaining - product.pension_floor
        )

    band = product.band_for(seniority_months=affiliate.seniority_months)
    salary_limit = None
    if product.salary_bands:
        salary_limit = affiliate.monthly_salary * band.salary_multiple if band else ZERO

    return _Standing(
        failures=tuple(failures),
        renewal_failure=renewal_failure,
        renewed=renewed,
        previous_balance=previous_balance,
        renewed_payment=renewed_payment,
        remaining_deductions=remaining,
        allowed_deductions=allowed,
        max_payment=max_payment,
        salary_limit=salary_limit,
        band=band,
    )


def _floor_applies(*, affiliate: AffiliateFacts, product: ProductTerms) -> bool:
    return affiliate.status in PENSION_STATUSES and product.pension_floor > 0


def _quote(*, product: ProductTerms, amount: Decimal, quincenas: int) -> Quote:
    return quote(
        amount=amount,
        annual_rate=product.annual_rate,
        quincenas=quincenas,
        convention=product.convention,
        fund_rate=product.fund_rate,
    )


def evaluate(
    *, affiliate: AffiliateFacts, product: ProductTerms, amount: Decimal, quincenas: int
) -> Eligibility:
    """Check every rule of `product` for `amount` over `quincenas`; list every failure."""
    standing = _standing(affiliate=affiliate, product=product)
    failures = list(standing.failures)

    if amount < product.min_amount:
        failures.append(
            RuleFailure(
                Rule.AMOUNT_BELOW_MINIMUM,
                _("El monto mínimo de este préstamo es %(minimum)s; solicitaste %(amount)s.")
                % {"minimum": pesos(product.min_amount), "amount": pesos(amount)},
                {"min_amount": product.min_amount, "amount": amount},
            )
        )
    if amount > product.max_amount:
        failures.append(
            RuleFailure(
                Rule.AMOUNT_ABOVE_MAXIMUM,
                _("El monto máximo de este préstamo es %(maximum)s; solicitaste %(amount)s.")
                % {"maximum": pesos(product.max_amount), "amount": pesos(amount)},
                {"max_amount": product.max_amount, "amount": amount},
            )
        )
    if not product.min_quincenas <= quincenas <= product.max_quincenas:
        failures.append(
            RuleFailure(
                Rule.TERM_OUT_OF_RANGE,
                _(
                    "El plazo de este préstamo va de %(minimum)s a %(maximum)s quincenas; "
                    "elegiste %(quincenas)s."
                )
                % {
                    "minimum": product.min_quincenas,
                    "maximum": product.max_quincenas,
                    "quincenas": quincenas,
                },
                {
                    "min_quincenas": product.min_quincenas,
                    "max_quincenas": product.max_quincenas,
                    "quincenas": quincenas,
                },
            )
        )
    if standing.salary_limit is not None and amount > standing.salary_limit:
        failures.append(_salary_failure(affiliate=affiliate, standing=standing, amount=amount))

    loan_quote = None
    # Outside these bounds there is no schedule to speak of, and the failures above say why.
    # An amount with fractions of a centavo is the caller's mistake: quote() raises QuoteError.
    if 0 < amount <= MAX_AMOUNT and 1 <= quincenas <= MAX_QUINCENAS:
        try:
            loan_quote = _quote(product=product, amount=amount, quincenas=quincenas)
        except QuoteError as error:
            # A tiny amount over a long term pays no principal in some quincena: there is no
            # schedule. The product's minimum normally says so already; if not, say it here.
            if not failures:
                failures.append(
                    RuleFailure(Rule.AMOUNT_BELOW_MINIMUM, str(error), {"amount": amount})
                )
    if loan_quote is not None:
        failures.extend(
            _payment_failures(
                affiliate=affiliate,
                product=product,
                standing=standing,
                payment=loan_quote.payment,
            )
        )

    if standing.renewal_failure is not None:
        failures.append(standing.renewal_failure)
    if standing.renewed and amount <= standing.previous_balance:
        failures.append(
            RuleFailure(
                Rule.RENEWAL_NET_NOT_POSITIVE,
                _(
                    "El saldo de tu préstamo vigente (%(balance)s) se descuenta del nuevo "
                    "préstamo, así que con %(amount)s no recibirías nada; solicita más de "
                    "%(balance)s."
                )
                % {"balance": pesos(standing.previous_balance), "amount": pesos(amount)},
                {"previous_balance": standing.previous_balance, "amount": amount},
            )
        )

    return Eligibility(
        affiliate=affiliate,
        product=product,
        request=Request(amount=amount, quincenas=quincenas),
        failures=tuple(failures),
        quote=loan_quote,
        previous_balance_netted=standing.previous_balance,
        net_to_receive=max(amount - standing.previous_balance, ZERO),
        max_amount=_max_amount(
            affiliate=affiliate, product=product, standing=standing, quincenas=quincenas
        ),
    )


def max_amount(
    *, affiliate: AffiliateFacts, product: ProductTerms, quincenas: int
) -> Decimal | None:
    """The largest amount that passes every rule at `quincenas`, or None if none does."""
    standing = _standing(affiliate=affiliate, product=product)
    return _max_amount(affiliate=affiliate, product=product, standing=standing, quincenas=quincenas)


def best_offer(*, affiliate: AffiliateFacts, product: ProductTerms) -> Offer | None:
    """The largest amount over the product's terms, at the shortest term that reaches it.

    It tries every term (121 for 24 to 144 quincenas), and the simulator asks again on every
    change of amount or term with the same facts: being a function of plain frozen values, the
    answer is remembered (per process; new facts or terms are a new key).
    """
    return _best_offer(affiliate, product)


@functools.lru_cache(maxsize=4096)
def _best_offer(affiliate: AffiliateFacts, product: ProductTerms) -> Offer | None:
    standing = _standing(affiliate=affiliate, product=product)
    best: tuple[Decimal, int] | None = None
    for quincenas in range(product.min_quincenas, product.max_quincenas + 1):
        amount = _max_amount(
            affiliate=affiliate, product=product, standing=standing, quincenas=quincenas
        )
        # Strictly greater: on a tie the shorter term, found first, stays.
        if amount is not None and (best is None or amount > best[0]):
            best = (amount, quincenas)
    if best is None:
        return None
    amount, quincenas = best
    return Offer(
        amount=amount,
        quincenas=quincenas,
        payment=_quote(product=product, amount=amount, quincenas=quincenas).payment,
        net_to_receive=amount - standing.previous_balance,
    )


def _max_amount(
    *, affiliate: AffiliateFacts, product: ProductTerms, standing: _Standing, quincenas: int
) -> Decimal | None:
    if standing.failures or standing.renewal_failure is not None:
        return None
    if not product.min_quincenas <= quincenas <= product.max_quincenas:
        return None
    if standing.max_payment <= 0:
        return None
    caps = [
        product.max_amount,
        amount_for_payment(
            payment=standing.max_payment,
            annual_rate=product.annual_rate,
            quincenas=quincenas,
            convention=product.convention,
        ),
    ]
    if standing.salary_limit is not None:
        caps.append(standing.salary_limit)
    upper = min(caps)
    # The renewal must leave something to receive: more than the previous balance.
    lower = max(product.min_amount, standing.previous_balance + CENT)
    for step in (PESO, CENT):
        candidate = upper.quantize(step, rounding=ROUND_DOWN)
        if candidate >= lower:
            return candidate
    return None


def _payment_failures(
    *,
    affiliate: AffiliateFacts,
    product: ProductTerms,
    standing: _Standing,
    payment: Decimal,
) -> list[RuleFailure]:
    failures = []
    deductions_after = standing.remaining_deductions + payment
    capacity_payment = standing.allowed_deductions - standing.remaining_deductions
    if deductions_after > standing.allowed_deductions:
        if standing.renewed_payment > 0:
            base = _(
                "Hoy el Instituto te descuenta %(current)s por quincena; sin los %(renewed)s "
                "del préstamo que renuevas y con el nuevo pago de %(payment)s serían %(after)s."
            )
        else:
            base = _(
                "Hoy el Instituto te descuenta %(current)s por quincena; con el nuevo pago de "
                "%(payment)s serían %(after)s."
            )
        if capacity_payment > 0:
            limit = _(
                "Tus descuentos pueden sumar hasta el %(share)s de tu neto quincenal de %(net)s, "
                "es decir %(allowed)s, así que tu pago quincenal puede ser de hasta %(capacity)s."
            )
        else:
            limit = _(
                "Tus descuentos pueden sumar hasta el %(share)s de tu neto quincenal de %(net)s, "
                "es decir %(allowed)s, y tus descuentos actuales ya llegan a ese límite."
            )
        failures.append(
            RuleFailure(
                Rule.PAYMENT_CAPACITY_EXCEEDED,
                (base + " " + limit)
                % {
                    "current": pesos(affiliate.current_deductions_quincenal),
                    "renewed": pesos(standing.renewed_payment),
                    "payment": pesos(payment),
                    "after": pesos(deductions_after),
                    "share": _percent(product.max_deduction_share),
                    "net": pesos(affiliate.net_pay_quincenal),
                    "allowed": pesos(standing.allowed_deductions),
                    "capacity": pesos(capacity_payment),
                },
                {
                    "net_pay": affiliate.net_pay_quincenal,
                    "max_deduction_share": product.max_deduction_share,
                    "allowed_deductions": standing.allowed_deductions,
                    "current_deductions": affiliate.current_deductions_quincenal,
                    "renewed_payment": standing.renewed_payment,
                    "payment": payment,
                    "deductions_after": deductions_after,
                    "max_payment": max(capacity_payment, ZERO),
                },
            )
        )
    if _floor_applies(affiliate=affiliate, product=product):
        remaining_pension = affiliate.net_pay_quincenal - deductions_after
        if remaining_pension < product.pension_floor:
            floor_payment = (
                affiliate.net_pay_quincenal - standing.remaining_deductions - product.pension_floor
            )
            failures.append(
                RuleFailure(
                    Rule.PENSION_FLOOR,
                    _(
                        "Con un pago quincenal de %(payment)s te quedarían %(remaining)s de "
                        "pensión neta por quincena, y deben quedarte al menos %(floor)s."
                    )
                    % {
                        "payment": pesos(payment),
                        "remaining": pesos(remaining_pension),
                        "floor": pesos(product.pension_floor),
                    },
                    {
                        "net_pay": affiliate.net_pay_quincenal,
                        "deductions_after": deductions_after,
                        "payment": payment,
                        "remaining_pension": remaining_pension,
                        "pension_floor": product.pension_floor,
                        "max_payment": max(floor_payment, ZERO),
                    },
                )
            )
    return failures


def _status_failure(*, affiliate: AffiliateFacts, product: ProductTerms) -> RuleFailure:
    return RuleFailure(
        Rule.STATUS_NOT_ALLOWED,
        _("Este préstamo es para afiliados con estatus %(allowed)s; tu estatus es %(status)s.")
        % {"allowed": _either(_ordered(product.allowed_statuses)), "status": affiliate.status},
        {
            "status": affiliate.status,
            "allowed_statuses": ", ".join(_ordered(product.allowed_statuses)),
        },
    )


def _salary_failure(
    *, affiliate: AffiliateFacts, standing: _Standing, amount: Decimal
) -> RuleFailure:
    figures: dict[str, Decimal | int | str] = {
        "amount": amount,
        "seniority_months": affiliate.seniority_months,
        "monthly_salary": affiliate.monthly_salary,
        "salary_limit": standing.salary_limit or ZERO,
    }
    if standing.band is None:
        return RuleFailure(
            Rule.AMOUNT_ABOVE_SALARY_LIMIT,
            _("Con tu antigüedad (%(seniority)s) este préstamo todavía no te da monto.")
            % {"seniority": _months_text(affiliate.seniority_months)},
            figures,
        )
    figures["salary_multiple"] = standing.band.salary_multiple
    return RuleFailure(
        Rule.AMOUNT_ABOVE_SALARY_LIMIT,
        _(
            "Con tu antigüedad (%(seniority)s) puedes solicitar hasta %(multiple)s veces tu "
            "sueldo base mensual de %(salary)s, es decir %(limit)s; solicitaste %(amount)s."
        )
        % {
            "seniority": _months_text(affiliate.seniority_months),
            "multiple": plain_number(standing.band.salary_multiple),
            "salary": pesos(affiliate.monthly_salary),
            "limit": pesos(standing.salary_limit),
            "amount": pesos(amount),
        },
        figures,
    )


def _renewal_fraction_failure(*, loan: ExistingLoan, product: ProductTerms) -> RuleFailure:
    required = product.renewal_paid_fraction
    needed = int((required * loan.installments_total).to_integral_value(rounding=ROUND_CEILING))
    missing_installments = max(needed - loan.installments_paid, 0)
    return RuleFailure(
        Rule.RENEWAL_FRACTION_NOT_MET,
        _(
            "Has pagado el %(paid)s de tu préstamo vigente; para renovarlo necesitas haber "
            "pagado al menos el %(required)s."
        )
        % {"paid": _percent(loan.paid_fraction), "required": _percent(required, up=True)}
        + " "
        + ngettext(
            "Llevas %(paid)s de %(total)s pagos; te falta %(missing)s pago quincenal.",
            "Llevas %(paid)s de %(total)s pagos; te faltan %(missing)s pagos quincenales.",
            missing_installments,
        )
        % {
            "paid": loan.installments_paid,
            "total": loan.installments_total,
            "missing": missing_installments,
        },
        {
            "paid_fraction": loan.paid_fraction,
            "required_fraction": required,
            "missing_fraction": required - loan.paid_fraction,
            "installments_paid": loan.installments_paid,
            "installments_total": loan.installments_total,
            "missing_installments": missing_installments,
        },
    )


# --- Wording ----------------------------------------------------------------------------------


def _percent(fraction: Decimal, *, up: bool = False) -> str:
    """A fraction as "35%" or "48.6%". Paid shares round down so 49.96% never reads "50%";
    requirements round up so they are never understated."""
    value = (fraction * 100).quantize(Decimal("0.1"), rounding=ROUND_CEILING if up else ROUND_DOWN)
    return f"{plain_number(value)}%"


def _months_text(months: int) -> str:
    """180 -> "15 años", 66 -> "5 años y 6 meses", 3 -> "3 meses"."""
    years, rest = divmod(months, 12)
    years_text = ngettext("%(n)s año", "%(n)s años", years) % {"n": years}
    months_text = ngettext("%(n)s mes", "%(n)s meses", rest) % {"n": rest}
    if not years:
        return months_text
    if not rest:
        return years_text
    return _("%(years)s y %(months)s") % {"years": years_text, "months": months_text}


def _ordered(statuses: Iterable[str]) -> list[str]:
    statuses = set(statuses)
    known = [status for status in STATUS_ORDER if status in statuses]
    return known + sorted(statuses - set(known))


def _either(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return _("%(first)s o %(last)s") % {"first": ", ".join(words[:-1]), "last": words[-1]}
