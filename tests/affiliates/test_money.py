"""The `pesos` template filter: amounts as Mexican users read them."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from isseg_portal.formatting import pesos


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("9500"), "$9,500.00"),
        (Decimal("9500.5"), "$9,500.50"),
        (Decimal("0"), "$0.00"),
        (Decimal("0.01"), "$0.01"),
        (Decimal("999.99"), "$999.99"),
        (Decimal("1000"), "$1,000.00"),
        (Decimal("27426243.75"), "$27,426,243.75"),
        (Decimal("-1234.5"), "-$1,234.50"),
        (1500, "$1,500.00"),
        ("720.50", "$720.50"),
    ],
)
def test_amounts_have_a_peso_sign_comma_thousands_and_two_decimals(amount, shown):
    assert pesos(amount) == shown


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("2.675"), "$2.68"),
        (Decimal("2.665"), "$2.67"),
        (Decimal("0.005"), "$0.01"),
        (Decimal("0.0049"), "$0.00"),
        (Decimal("-2.675"), "-$2.68"),
        # A float goes through its shortest text, not its binary value (2.67499999...).
        (2.675, "$2.68"),
    ],
)
def test_centavos_are_rounded_half_up(amount, shown):
    assert pesos(amount) == shown


def test_an_amount_that_rounds_to_zero_has_no_minus_sign():
    assert pesos(Decimal("-0.004")) == "$0.00"


@pytest.mark.parametrize("value", [None, "", "no es número", Decimal("NaN"), Decimal("Infinity")])
def test_no_amount_shows_nothing_instead_of_failing(value):
    assert pesos(value) == ""


def test_templates_use_it_through_the_money_library():
    template = Template("{% load money %}{{ amount|pesos }}")

    assert template.render(Context({"amount": Decimal("40000")})) == "$40,000.00"
