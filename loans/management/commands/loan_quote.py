"""`python manage.py loan_quote --amount A --rate R --quincenas N [--fund-rate F]
[--convention nominal|effective] [--json]`.

Quotes a loan with `loans.amortization.quote`. R and F are percentages: --rate 13.67 is 13.67 %
a year, --fund-rate 1 is 1 % of the principal a year for the Fondo Especial y Solidario.

With --json, stdout carries exactly one JSON object, amounts as strings with two decimals:
{"amount", "annual_rate" (the percentage given, two decimals), "quincenas" (int), "convention",
"payment", "total_interest", "total_fund", "total_paid", "cat" (percentage, one decimal),
"schedule": [{"n" (int), "payment", "interest", "principal", "fund", "balance"}]}.
Without it, a table in Spanish and the CAT legend.

Bad arguments exit with code 2, as argparse's own usage errors do, and a message in Spanish on
stderr. Arguments are read as text and checked here rather than by argparse (type=, choices=,
required=) so that every message about a value is in Spanish.
"""

import json
import re
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from isseg_portal.formatting import pesos
from loans.amortization import CAT_LEGEND, InterestConvention, Quote, QuoteError, quote

USAGE_ERROR = 2
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
INTEGER = re.compile(r"-?\d+")
PERCENT = Decimal(100)


class Command(BaseCommand):
    help = _(
        "Calcula la tabla de amortización quincenal, los totales y el CAT de un préstamo. "
        "--rate y --fund-rate son porcentajes anuales (13.67 es 13.67 %)."
    )
    # Pure arithmetic: nothing here needs the database or the system checks, and scripts
    # call it often.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--amount", metavar="MONTO", help=_("Monto del préstamo en pesos, p. ej. 60000.00.")
        )
        parser.add_argument(
            "--rate", metavar="TASA", help=_("Tasa de interés anual en porcentaje, p. ej. 13.67.")
        )
        parser.add_argument(
            "--quincenas", metavar="N", help=_("Plazo en quincenas (número entero).")
        )
        parser.add_argument(
            "--fund-rate",
            metavar="PORCENTAJE",
            default="0",
            help=_(
                "Aportación anual al Fondo Especial y Solidario, en porcentaje del monto "
                "(predeterminado: 0)."
            ),
        )
        parser.add_argument(
            "--convention",
            metavar="nominal|effective",
            default=InterestConvention.NOMINAL.value,
            help=_(
                "nominal: tasa quincenal = tasa anual / 24 (predeterminado); effective: la tasa "
                "quincenal que, compuesta 24 veces, da la tasa anual."
            ),
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help=_("Imprime en la salida estándar un solo objeto JSON con la cotización."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        amount = _decimal(
            options["amount"], option="--amount", what=_("El monto"), example="60000.00"
        )
        if amount == 0:
            raise _usage_error(_("El monto (--amount) debe ser mayor que cero."))
        rate = _decimal(options["rate"], option="--rate", what=_("La tasa anual"), example="13.67")
        fund_rate = _decimal(
            options["fund_rate"],
            option="--fund-rate",
            what=_("La aportación anual al fondo"),
            example="1.00",
        )
        quincenas = _quincenas(options["quincenas"])
        convention = _convention(options["convention"])
        try:
            result = quote(
                amount=amount,
                annual_rate=rate / PERCENT,
                quincenas=quincenas,
                convention=convention,
                fund_rate=fund_rate / PERCENT,
            )
        except QuoteError as error:
            raise _usage_error(str(error)) from error
        if options["json"]:
            self.stdout.write(json.dumps(_as_json(result, rate_percent=rate)))
        else:
            self._print_table(result, rate_percent=rate, fund_percent=fund_rate)

    def _print_table(self, result: Quote, *, rate_percent: Decimal, fund_percent: Decimal) -> None:
        write = self.stdout.write
        conventions = {
            InterestConvention.NOMINAL: _("nominal: tasa quincenal = tasa anual / 24"),
            InterestConvention.EFFECTIVE: _(
                "efectiva: tasa quincenal = (1 + tasa anual)^(1/24) − 1"
            ),
        }
        write(_("Cotización del préstamo"))
        write(_("  Monto:                %(value)s") % {"value": pesos(result.amount)})
        write(
            _("  Tasa anual:           %(rate)s %% (%(convention)s)")
            % {"rate": f"{rate_percent:.2f}", "convention": conventions[result.convention]}
        )
        write(_("  Plazo:                %(count)d quincenas") % {"count": result.quincenas})
        write(
            _("  Pago quincenal:       %(payment)s (el último: %(last)s)")
            % {"payment": pesos(result.payment), "last": pesos(result.last_payment)}
        )
        write(_("  Intereses:            %(value)s") % {"value": pesos(result.total_interest)})
        if result.total_fund:
            write(
                _(
                    "  Fondo:                %(value)s (%(percent)s %% anual del monto: "
                    "%(yearly)s con las quincenas %(quincenas)s)"
                )
                % {
                    "value": pesos(result.total_fund),
                    "percent": f"{fund_percent:.2f}",
                    "yearly": pesos(result.fund_contribution),
                    "quincenas": ", ".join(str(row.n) for row in result.schedule if row.fund),
                }
            )
        else:
            write(_("  Fondo:                %(value)s") % {"value": pesos(result.total_fund)})
        write(_("  Total a pagar:        %(value)s") % {"value": pesos(result.total_paid)})
        write(_("  CAT:                  %(cat)s %%") % {"cat": f"{result.cat:.1f}"})
        write("")
        headers = (_("Quincena"), _("Pago"), _("Interés"), _("Capital"), _("Fondo"), _("Saldo"))
        write("  ".join(f"{header:>12}" for header in headers))
        for row in result.schedule:
            cells = (row.payment, row.interest, row.principal, row.fund, row.balance)
            write(f"{row.n:>12}  " + "  ".join(f"{cell:>12,.2f}" for cell in cells))
        write("")
        write(_(CAT_LEGEND))


def _as_json(result: Quote, *, rate_percent: Decimal) -> dict[str, Any]:
    return {
        "amount": _money(result.amount),
        "annual_rate": f"{rate_percent:.2f}",
        "quincenas": result.quincenas,
        "convention": result.convention.value,
        "payment": _money(result.payment),
        "total_interest": _money(result.total_interest),
        "total_fund": _money(result.total_fund),
        "total_paid": _money(result.total_paid),
        "cat": f"{result.cat:.1f}",
        "schedule": [
            {
                "n": row.n,
                "payment": _money(row.payment),
                "interest": _money(row.interest),
                "principal": _money(row.principal),
                "fund": _money(row.fund),
                "balance": _money(row.balance),
            }
            for row in result.schedule
        ],
    }


def _money(value: Decimal) -> str:
    # Format "f" never falls into exponent notation, which str(Decimal) may (0E-2).
    return f"{value:.2f}"


def _usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=USAGE_ERROR)


def _decimal(text: str | None, *, option: str, what: str, example: str) -> Decimal:
    """A non-negative number with at most two decimals, written with a point, no commas."""
    if text is None:
        raise _usage_error(
            _("Falta el argumento %(option)s (%(what)s).")
            % {"option": option, "what": what.lower()}
        )
    text = text.strip()
    if not NUMBER.fullmatch(text):
        raise _usage_error(
            _(
                "%(what)s (%(option)s) debe ser un número con punto decimal, sin comas ni "
                "símbolos, p. ej. %(example)s; se recibió «%(text)s»."
            )
            % {"what": what, "option": option, "example": example, "text": text}
        )
    if text.startswith("-"):
        raise _usage_error(
            _("%(what)s (%(option)s) no admite valores negativos; se recibió «%(text)s».")
            % {"what": what, "option": option, "text": text}
        )
    value = Decimal(text)
    # Amounts are centavos; rates are stated with two decimals in percent, as JSON echoes them.
    if -value.as_tuple().exponent > 2:
        raise _usage_error(
            _("%(what)s (%(option)s) admite a lo más dos decimales; se recibió «%(text)s».")
            % {"what": what, "option": option, "text": text}
        )
    return value


def _quincenas(text: str | None) -> int:
    if text is None:
        raise _usage_error(_("Falta el argumento --quincenas (el plazo en quincenas)."))
    text = text.strip()
    if not INTEGER.fullmatch(text):
        raise _usage_error(
            _(
                "El plazo (--quincenas) debe ser un número entero de quincenas, p. ej. 59; se "
                "recibió «%(text)s»."
            )
            % {"text": text}
        )
    value = int(text)
    if value < 1:
        raise _usage_error(
            _("El plazo (--quincenas) debe ser de al menos una quincena; se recibió «%(text)s».")
            % {"text": text}
        )
    return value


def _convention(text: str) -> InterestConvention:
    try:
        return InterestConvention(text.strip().lower())
    except ValueError:
        raise _usage_error(
            _("La convención (--convention) debe ser nominal o effective; se recibió «%(text)s».")
            % {"text": text}
        ) from None
