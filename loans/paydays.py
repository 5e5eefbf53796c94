"""The calendar of a loan's payments: quincena paydays, the 15th and the last day of a month.

Payments are deducted from the payroll or the pension, which the state pays on those two days,
so an installment falls due on the payday of its quincena. No database, no settings.
"""

import calendar
from datetime import date

# The first installment falls due on the payday of the second quincena after the one in which
# the contract is signed: the quincena in between is for review, approval and the transfer,
# so no deduction is made before the money has arrived.
FIRST_PAYMENT_AFTER_QUINCENAS = 2


def payday_of(day: date) -> date:
    """The payday of the quincena that contains `day` (1–15: the 15th; 16 on: the last day)."""
    if day.day <= 15:
        return day.replace(day=15)
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_payday(payday: date) -> date:
    """The payday of the quincena after the one whose payday is `payday`."""
    if payday.day <= 15:
        return payday_of(payday.replace(day=16))
    if payday.month == 12:
        return date(payday.year + 1, 1, 15)
    return date(payday.year, payday.month + 1, 15)


def payment_dates(*, signed_on: date, count: int) -> list[date]:
    """Due dates of `count` quincenal installments of a contract signed on `signed_on`."""
    due = payday_of(signed_on)
    for _quincena in range(FIRST_PAYMENT_AFTER_QUINCENAS):
        due = next_payday(due)
    dates = []
    for _installment in range(count):
        dates.append(due)
        due = next_payday(due)
    return dates
