"""Rows from the institute's source, validated and normalised into records.

`affiliate_record_from_row` and `loan_record_from_row` turn a `SourceRow` into an
`AffiliateRecord` or a `LoanRecord`, or raise `RowRejected` whose message is every problem of
the row, in Spanish, for the operator. No database access here: `affiliates.sync` writes the
records.
"""

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from affiliates.identifiers import validate_curp, validate_rfc
from affiliates.models import AffiliateStatus, Sex
from affiliates.sources import (
    SourceRow,
)
from isseg_portal.institute_time import INSTITUTE_TIME_ZONE

CENT = Decimal("0.01")
# max_digits=12, decimal_places=2 in the model.
AMOUNT_LIMIT = Decimal("10000000000")
POSITIVE_INTEGER_LIMIT = 2147483647

AFFILIATE_NUMBER = re.compile(r"[A-Z0-9-]{1,20}")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
AMOUNT = re.compile(r"-?\d+(?:\.\d+)?")
INTEGER = re.compile(r"-?\d+(?:\.0+)?")
PHONE = re.compile(r"\+?\d{7,15}")
# What a spreadsheet runs as a formula at the start of a cell ("-" is a common placeholder).
FORMULA_STARTS = ("=", "+", "@")
PHONE_SEPARATORS = str.maketrans("", "", " -().")

SEXES = {
    "H": Sex.MALE,
    "M": Sex.FEMALE,
    "X": Sex.NON_BINARY,
    "HOMBRE": Sex.MALE,
    "MUJER": Sex.FEMALE,
    "NO_BINARIO": Sex.NON_BINARY,
    "NO BINARIO": Sex.NON_BINARY,
}
STATUSES = frozenset(AffiliateStatus.values)
BLOCKED_WORDS = {"1": True, "SI": True, "SÍ": True, "0": False, "NO": False, "": False}


# --- Records -----------------------------------------------------------------------------------


class RowRejected(Exception):
    """A source row that cannot be loaded; the message is the Spanish reason."""


@dataclass(frozen=True, slots=True)
class Rejection:
    row: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "reason": self.reason}


# Not frozen: a frozen dataclass pays a object.__setattr__ per field, 200,000 times over.
@dataclass(slots=True)
class AffiliateRecord:
    """One affiliate as the source reports it, validated and normalised."""

    row: int
    number: str
    curp: str
    rfc: str
    given_names: str
    first_surname: str
    second_surname: str
    birth_date: date
    sex: str
    email: str
    phone: str
    status: str
    employer_code: str
    employer_name: str
    municipality: str
    contribution_start: date
    base_salary: Decimal
    net_pay: Decimal
    current_deductions: Decimal
    is_blocked: bool
    blocked_reason: str

    def model_values(self) -> list[Any]:
        """Values of AFFILIATE_FIELDS, in that order."""
        return [getattr(self, name) for name in AFFILIATE_FIELDS]

    def digest(self) -> str:
        # The employer's name is left out: it belongs to Employer, and a renamed dependencia
        # must not count as thousands of changed affiliates.
        canonical = "\x1f".join(map(str, [self.number, self.employer_code, *self.model_values()]))
        return hashlib.sha256(canonical.encode()).hexdigest()


# The Affiliate fields a record fills, in digest order (changing it changes every digest once).
AFFILIATE_FIELDS = (
    "curp",
    "rfc",
    "given_names",
    "first_surname",
    "second_surname",
    "birth_date",
    "sex",
    "email",
    "phone",
    "status",
    "municipality",
    "contribution_start",
    "base_salary",
    "net_pay",
    "current_deductions",
    "is_blocked",
    "blocked_reason",
)
# What a write sets besides the number (which identifies the row and never changes).
WRITTEN_FIELDS = (
    *AFFILIATE_FIELDS,
    "employer",
    "source",
    "synced_at",
    "source_digest",
    "loans_digest",
)


@dataclass(slots=True)
class LoanRecord:
    row: int
    number: str
    product_code: str
    original_amount: Decimal
    balance: Decimal
    installments_paid: int
    installments_total: int
    quincenal_payment: Decimal

    def canonical(self) -> str:
        return "\x1f".join(
            map(
                str,
                (
                    self.product_code,
                    self.original_amount,
                    self.balance,
                    self.installments_paid,
                    self.installments_total,
                    self.quincenal_payment,
                ),
            )
        )


def loans_digest(loans: Sequence[LoanRecord]) -> str:
    """Digest of an affiliate's loans, independent of their order in the source.

    An empty list has a digest too (not ""): "the source says no loans" differs from "loans
    never synced", and loans left by other means are then removed.
    """
    canonical = "\x1e".join(sorted(loan.canonical() for loan in loans))
    return hashlib.sha256(("loans\x1e" + canonical).encode()).hexdigest()


# --- Validation --------------------------------------------------------------------------------


def clean_text(value: str | None) -> str:
    """Trimmed, with inner runs of whitespace collapsed to one space."""
    return " ".join((value or "").split())


def _text(
    values: dict[str, str],
    column: str,
    problems: list[str],
    *,
    label: str,
    max_length: int,
    missing: str | None = None,
) -> str:
    """A text value with spaces collapsed; `missing` is the reason when it is required.

    `label` and `missing` arrive untranslated (gettext_noop) and are translated only when a
    problem is reported: gettext on every field of 200,000 rows was most of the sync's time.
    """
    text = clean_text(values.get(column))
    if not text and missing is not None:
        problems.append(_(missing))
    elif len(text) > max_length:
        problems.append(
            _("%(label)s: demasiados caracteres (máximo %(max)d)")
            % {"label": _(label), "max": max_length}
        )
    elif text.startswith(FORMULA_STARTS):
        # No name starts so; a spreadsheet that opens a later export would run it as a formula.
        problems.append(
            _("%(label)s: empieza con «%(char)s», como una fórmula de hoja de cálculo")
            % {"label": _(label), "char": text[0]}
        )
    return text


def _date(raw: str | None, problems: list[str], *, missing: str, invalid: str) -> date | None:
    text = clean_text(raw)
    if not text:
        problems.append(_(missing))
        return None
    # fromisoformat alone would also take 19750615 or 1975-W24-7.
    if ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    problems.append(_(invalid) % {"value": text})
    return None


def _amount(values: dict[str, str], column: str, problems: list[str]) -> Decimal | None:
    text = clean_text(values.get(column))
    if not text:
        problems.append(_("falta el monto en %(column)s") % {"column": column})
        return None
    if not AMOUNT.fullmatch(text):
        problems.append(
            _(
                "monto inválido en %(column)s: '%(value)s' (se espera un número con punto "
                "decimal, p. ej. 9500.00)"
            )
            % {"column": column, "value": text}
        )
        return None
    amount = Decimal(text)
    if amount < 0:
        problems.append(_("monto negativo en %(column)s") % {"column": column})
        return None
    if amount != amount.quantize(CENT):
        problems.append(
            _("monto con más de dos decimales en %(column)s: '%(value)s'")
            % {"column": column, "value": text}
        )
        return None
    if amount >= AMOUNT_LIMIT:
        problems.append(
            _("monto demasiado grande en %(column)s: '%(value)s'")
            % {"column": column, "value": text}
        )
        return None
    return amount.quantize(CENT)


def _count(values: dict[str, str], column: str, problems: list[str]) -> int | None:
    text = clean_text(values.get(column))
    if not text:
        problems.append(_("falta %(column)s") % {"column": column})
        return None
    if not INTEGER.fullmatch(text):
        problems.append(
            _("%(column)s inválido: '%(value)s' (se espera un número entero)")
            % {"column": column, "value": text}
        )
        return None
    number = int(Decimal(text))
    if number < 0:
        problems.append(_("%(column)s negativo: %(value)s") % {"column": column, "value": text})
        return None
    if number > POSITIVE_INTEGER_LIMIT:
        problems.append(
            _("%(column)s demasiado grande: %(value)s") % {"column": column, "value": text}
        )
        return None
    return number


def _affiliate_number(raw: str | None, problems: list[str]) -> str:
    number = clean_text(raw).upper()
    if not number:
        problems.append(_("falta el número de afiliación"))
    elif not AFFILIATE_NUMBER.fullmatch(number):
        problems.append(
            _(
                "número de afiliación inválido: '%(value)s' (se esperan letras, dígitos o "
                "guiones, hasta 20 caracteres)"
            )
            % {"value": number}
        )
    return number


def _curp(raw: str | None, problems: list[str]) -> str:
    text = clean_text(raw)
    if not text:
        problems.append(_("falta la CURP"))
        return ""
    try:
        return validate_curp(text)
    except ValidationError as error:
        problems.append(_identifier_problem("CURP", error, text))
        return ""


def _rfc(raw: str | None, problems: list[str]) -> str:
    text = clean_text(raw)
    if not text:
        problems.append(_("falta el RFC"))
        return ""
    try:
        return validate_rfc(text)
    except ValidationError as error:
        problems.append(_identifier_problem("RFC", error, text))
        return ""


def _identifier_problem(kind: str, error: ValidationError, value: str) -> str:
    if error.code and error.code.endswith("_checksum"):
        detail = _("su dígito verificador no corresponde")
    elif error.code == "curp_length":
        detail = _("debe tener 18 caracteres")
    elif error.code == "rfc_length":
        detail = _("debe tener 13 caracteres (persona física, con homoclave)")
    elif kind == "CURP":
        detail = _("no tiene el formato de una CURP")
    else:
        detail = _("no tiene el formato de un RFC")
    if kind == "CURP":
        return _("CURP inválida: %(detail)s ('%(value)s')") % {"detail": detail, "value": value}
    return _("RFC inválido: %(detail)s ('%(value)s')") % {"detail": detail, "value": value}


def _width_problem(row: SourceRow) -> str:
    return _("la fila tiene %(found)d columnas y el encabezado %(expected)d") % {
        "found": row.columns_found,
        "expected": row.columns_expected,
    }


def affiliate_record_from_row(row: SourceRow, *, today: date | None = None) -> AffiliateRecord:
    """Validate and normalise one affiliate row; raise RowRejected with every problem found.

    `today` (in Mexico City) bounds the birth date; a sync passes it once for all its rows.
    """
    if row.columns_found != row.columns_expected:
        raise RowRejected(_width_problem(row))
    values = row.values
    problems: list[str] = []

    number = _affiliate_number(values.get("numero_afiliacion"), problems)
    curp = _curp(values.get("curp"), problems)
    rfc = _rfc(values.get("rfc"), problems)
    given_names = _text(
        values,
        "nombre",
        problems,
        missing=gettext_noop("falta el nombre"),
        label=gettext_noop("nombre"),
        max_length=120,
    )
    first_surname = _text(
        values,
        "primer_apellido",
        problems,
        missing=gettext_noop("falta el primer apellido"),
        label=gettext_noop("primer apellido"),
        max_length=120,
    )
    second_surname = _text(
        values,
        "segundo_apellido",
        problems,
        missing=None,
        label=gettext_noop("segundo apellido"),
        max_length=120,
    )
    if today is None:
        today = timezone.localdate(timezone=INSTITUTE_TIME_ZONE)
    birth_date = _date(
        values.get("fecha_nacimiento"),
        problems,
        missing=gettext_noop("falta la fecha de nacimiento"),
        invalid=gettext_noop("fecha de nacimiento inválida: '%(value)s' (se espera AAAA-MM-DD)"),
    )
    if birth_date is not None and not date(1900, 1, 1) <= birth_date <= today:
        problems.append(
            _("fecha de nacimiento fuera de rango: '%(value)s'") % {"value": birth_date}
        )
        birth_date = None

    sex_text = clean_text(values.get("sexo")).upper()
    sex = SEXES.get(sex_text, "")
    if not sex_text:
        problems.append(_("falta el sexo"))
    elif not sex:
        problems.append(
            _("sexo desconocido: '%(value)s' (se espera H, M o X)") % {"value": sex_text}
        )

    email = clean_text(values.get("email"))
    if email:
        try:
            # EmailField's column holds 254 characters; the validator alone allows more.
            if len(email) > 254:
                raise ValidationError("too long")
            validate_email(email)
        except ValidationError:
            problems.append(_("correo electrónico inválido: '%(value)s'") % {"value": email})

    phone = clean_text(values.get("telefono")).translate(PHONE_SEPARATORS)
    if phone and not PHONE.fullmatch(phone):
        problems.append(
            _("teléfono inválido: '%(value)s' (se esperan de 7 a 15 dígitos)")
            % {"value": clean_text(values.get("telefono"))}
        )

    status = clean_text(values.get("estatus")).lower()
    if not status:
        problems.append(_("falta el estatus"))
    elif status not in STATUSES:
        problems.append(
            _("estatus desconocido: '%(value)s' (se espera activo, pensionado, jubilado o baja)")
            % {"value": status}
        )

    employer_code = _text(
        values,
        "clave_dependencia",
        problems,
        missing=gettext_noop("falta la clave de la dependencia"),
        label=gettext_noop("clave de la dependencia"),
        max_length=20,
    ).upper()
    employer_name = _text(
        values,
        "dependencia",
        problems,
        missing=gettext_noop("falta el nombre de la dependencia"),
        label=gettext_noop("nombre de la dependencia"),
        max_length=200,
    )
    municipality = _text(
        values,
        "municipio",
        problems,
        missing=gettext_noop("falta el municipio"),
        label=gettext_noop("municipio"),
        max_length=120,
    )
    contribution_start = _date(
        values.get("fecha_inicio_cotizacion"),
        problems,
        missing=gettext_noop("falta la fecha de inicio de cotización"),
        invalid=gettext_noop(
            "fecha de inicio de cotización inválida: '%(value)s' (se espera AAAA-MM-DD)"
        ),
    )
    if (
        contribution_start is not None
        and birth_date is not None
        and contribution_start <= birth_date
    ):
        problems.append(
            _("la fecha de inicio de cotización (%(start)s) no es posterior a la de nacimiento")
            % {"start": contribution_start}
        )

    base_salary = _amount(values, "sueldo_base_quincenal", problems)
    net_pay = _amount(values, "neto_quincenal", problems)
    current_deductions = _amount(values, "descuentos_quincenales", problems)

    blocked_text = clean_text(values.get("bloqueado")).upper()
    is_blocked = BLOCKED_WORDS.get(blocked_text)
    if is_blocked is None:
        problems.append(
            _("valor de bloqueado inválido: '%(value)s' (se espera 0, 1, si o no)")
            % {"value": clean_text(values.get("bloqueado"))}
        )
    blocked_reason = _text(
        values,
        "motivo_bloqueo",
        problems,
        missing=None,
        label=gettext_noop("motivo del bloqueo"),
        max_length=300,
    )

    if problems:
        raise RowRejected("; ".join(problems))
    return AffiliateRecord(
        row=row.number,
        number=number,
        curp=curp,
        rfc=rfc,
        given_names=given_names,
        first_surname=first_surname,
        second_surname=second_surname,
        birth_date=birth_date,  # type: ignore[arg-type]  # not None when no problems
        sex=str(sex),
        email=email,
        phone=phone,
        status=status,
        employer_code=employer_code,
        employer_name=employer_name,
        municipality=municipality,
        contribution_start=contribution_start,  # type: ignore[arg-type]
        base_salary=base_salary,  # type: ignore[arg-type]
        net_pay=net_pay,  # type: ignore[arg-type]
        current_deductions=current_deductions,  # type: ignore[arg-type]
        is_blocked=bool(is_blocked),
        # A reason without the flag would be shown nowhere and only make digests differ.
        blocked_reason=blocked_reason if is_blocked else "",
    )


def loan_record_from_row(row: SourceRow) -> LoanRecord:
    """Validate and normalise one loan row; raise RowRejected with every problem found."""
    if row.columns_found != row.columns_expected:
        raise RowRejected(_width_problem(row))
    values = row.values
    problems: list[str] = []
    number = _affiliate_number(values.get("numero_afiliacion"), problems)
    product_code = _text(
        values,
        "clave_producto",
        problems,
        missing=gettext_noop("falta la clave del producto"),
        label=gettext_noop("clave del producto"),
        max_length=20,
    ).upper()
    original_amount = _amount(values, "monto_original", problems)
    balance = _amount(values, "saldo", problems)
    installments_paid = _count(values, "pagos_realizados", problems)
    installments_total = _count(values, "pagos_totales", problems)
    quincenal_payment = _amount(values, "pago_quincenal", problems)
    if installments_total == 0:
        problems.append(_("pagos_totales debe ser mayor que cero"))
    elif (
        installments_paid is not None
        and installments_total is not None
        and installments_paid > installments_total
    ):
        problems.append(
            _("los pagos realizados (%(paid)d) superan los pagos totales (%(total)d)")
            % {"paid": installments_paid, "total": installments_total}
        )
    if problems:
        raise RowRejected("; ".join(problems))
    return LoanRecord(
        row=row.number,
        number=number,
        product_code=product_code,
        original_amount=original_amount,  # type: ignore[arg-type]  # not None when no problems
        balance=balance,  # type: ignore[arg-type]
        installments_paid=installments_paid,  # type: ignore[arg-type]
        installments_total=installments_total,  # type: ignore[arg-type]
        quincenal_payment=quincenal_payment,  # type: ignore[arg-type]
    )
