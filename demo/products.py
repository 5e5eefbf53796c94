"""Demo loan products for `seed_demo`, tests and trying the portal.

THE VALUES ARE DEMO VALUES: plausible for a state social-security institute, but the rates,
terms, amounts, bands and rules of real products are for the institute to set in the admin.
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from affiliates.models import AffiliateStatus
from loans.models import InterestConvention, LoanProduct, SeniorityBand

DEMO_VALID_FROM = date(2025, 1, 1)


def _demo_products() -> list[dict]:
    demo_note = _(
        "Valores de DEMOSTRACIÓN: el Instituto debe fijar tasa, plazos, montos y reglas reales."
    )
    return [
        {
            "code": "PC",
            "name": _("Préstamo personal para trabajadores activos"),
            "description": _(
                "Para trabajadores en activo con al menos seis meses cotizando. Hasta seis "
                "sueldos mensuales según tu antigüedad."
            )
            + " "
            + demo_note,
            "allowed_statuses": [AffiliateStatus.ACTIVE.value],
            "annual_rate": Decimal("0.1367"),
            "interest_convention": InterestConvention.NOMINAL,
            "min_quincenas": 24,
            "max_quincenas": 96,
            "min_amount": Decimal("5000.00"),
            "max_amount": Decimal("250000.00"),
            "min_seniority_months": 6,
            "max_deduction_share": Decimal("0.30"),
            "pension_floor": Decimal("0.00"),
            "fund_rate": Decimal("0.01"),
            "renewal_paid_fraction": Decimal("0.50"),
            "bands": [(6, Decimal("2")), (60, Decimal("4")), (180, Decimal("6"))],
        },
        {
            "code": "PJ",
            "name": _("Préstamo personal para pensionados y jubilados"),
            "description": _(
                "Para pensionados y jubilados, cuidando que siempre te quede una pensión neta "
                "suficiente cada quincena."
            )
            + " "
            + demo_note,
            "allowed_statuses": [AffiliateStatus.PENSIONER.value, AffiliateStatus.RETIREE.value],
            "annual_rate": Decimal("0.125"),
            "interest_convention": InterestConvention.NOMINAL,
            "min_quincenas": 12,
            "max_quincenas": 72,
            "min_amount": Decimal("3000.00"),
            "max_amount": Decimal("150000.00"),
            "min_seniority_months": 0,
            "max_deduction_share": Decimal("0.25"),
            "pension_floor": Decimal("3500.00"),
            "fund_rate": Decimal("0.015"),
            "renewal_paid_fraction": Decimal("0.50"),
            # Pensioners' seniority counts from their first contribution, long ago; the limit
            # that matters for them is the pension floor and the share of the pension.
            "bands": [(0, Decimal("6"))],
        },
        {
            "code": "PE",
            "name": _("Préstamo especial por antigüedad"),
            "description": _(
                "Para trabajadores en activo con 15 años o más de cotización: montos y plazos "
                "mayores."
            )
            + " "
            + demo_note,
            "allowed_statuses": [AffiliateStatus.ACTIVE.value],
            "annual_rate": Decimal("0.115"),
            "interest_convention": InterestConvention.NOMINAL,
            "min_quincenas": 24,
            "max_quincenas": 120,
            "min_amount": Decimal("20000.00"),
            "max_amount": Decimal("400000.00"),
            "min_seniority_months": 180,
            "max_deduction_share": Decimal("0.30"),
            "pension_floor": Decimal("0.00"),
            "fund_rate": Decimal("0.01"),
            "renewal_paid_fraction": Decimal("0.50"),
            "bands": [(180, Decimal("8"))],
        },
    ]


@transaction.atomic
def seed_products() -> list[LoanProduct]:
    """Create or update the three demo products by code; running it again changes nothing.

    Bands of a demo product are replaced by the demo bands, so a second run leaves exactly them.
    """
    products = []
    for values in _demo_products():
        values = dict(values)
        bands = values.pop("bands")
        code = values.pop("code")
        product, _created = LoanProduct.objects.update_or_create(
            code=code,
            defaults={
                **values,
                "is_active": True,
                "valid_from": DEMO_VALID_FROM,
                "valid_until": None,
            },
        )
        product.seniority_bands.exclude(from_months__in=[months for months, _m in bands]).delete()
        for months, multiple in bands:
            SeniorityBand.objects.update_or_create(
                product=product, from_months=months, defaults={"salary_multiple": multiple}
            )
        products.append(product)
    return products
