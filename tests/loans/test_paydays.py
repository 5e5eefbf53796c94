"""Due dates of the installments: quincena paydays, the 15th and the last day of the month."""

from datetime import date

import pytest

from loans.paydays import payday_of, payment_dates


@pytest.mark.parametrize(
    ("day", "payday"),
    [
        (date(2026, 3, 1), date(2026, 3, 15)),
        (date(2026, 3, 15), date(2026, 3, 15)),
        (date(2026, 3, 16), date(2026, 3, 31)),
        (date(2026, 4, 30), date(2026, 4, 30)),
        (date(2026, 2, 20), date(2026, 2, 28)),
        (date(2028, 2, 20), date(2028, 2, 29)),
    ],
)
def test_every_day_belongs_to_the_quincena_paid_on_the_15th_or_the_last_day(day, payday):
    assert payday_of(day) == payday


def test_the_first_payment_is_two_quincenas_after_the_one_of_the_signature():
    # Signed in the first quincena of March: the second half of March is left for review and
    # transfer, and the first payment is the payday of the first half of April.
    assert payment_dates(signed_on=date(2026, 3, 10), count=3) == [
        date(2026, 4, 15),
        date(2026, 4, 30),
        date(2026, 5, 15),
    ]
    assert payment_dates(signed_on=date(2026, 3, 20), count=2) == [
        date(2026, 4, 30),
        date(2026, 5, 15),
    ]


def test_the_calendar_crosses_years_and_leap_februaries():
    dates = payment_dates(signed_on=date(2027, 12, 20), count=6)

    assert dates == [
        date(2028, 1, 31),
        date(2028, 2, 15),
        date(2028, 2, 29),
        date(2028, 3, 15),
        date(2028, 3, 31),
        date(2028, 4, 15),
    ]


def test_one_date_per_installment():
    assert len(payment_dates(signed_on=date(2026, 1, 1), count=144)) == 144
    assert payment_dates(signed_on=date(2026, 1, 1), count=0) == []
