"""CURP and RFC of natural persons: normalisation and validation with python-stdnum.

Both are checked down to the check digit, so a mistyped character is caught before it reaches
the database or a comparison with a certificate.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.exceptions import InvalidChecksum, InvalidLength
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.mx import curp as stdnum_curp
from stdnum.mx import rfc as stdnum_rfc


def normalize_identifier(value: str) -> str:
    """Upper case without spaces or dashes, as the institute and SAT print them."""
    return "".join(value.split()).replace("-", "").upper()


def validate_curp(value: str) -> str:
    """Return the normalised CURP or raise a ValidationError with a Spanish message."""
    number = normalize_identifier(value)
    try:
        return stdnum_curp.validate(number, validate_check_digits=True)
    except InvalidLength:
        raise ValidationError(_("La CURP debe tener 18 caracteres."), code="curp_length") from None
    except InvalidChecksum:
        raise ValidationError(
            _("La CURP %(curp)s no es válida: su dígito verificador no corresponde."),
            code="curp_checksum",
            params={"curp": number},
        ) from None
    except StdnumError:
        raise ValidationError(
            _("La CURP %(curp)s no tiene un formato válido."),
            code="curp_format",
            params={"curp": number},
        ) from None


def validate_rfc(value: str) -> str:
    """Return the normalised RFC of a natural person (13 characters, with homoclave)."""
    number = normalize_identifier(value)
    if len(number) != 13:
        raise ValidationError(
            _("El RFC de una persona física debe tener 13 caracteres, con homoclave."),
            code="rfc_length",
        )
    try:
        return stdnum_rfc.validate(number, validate_check_digits=True)
    except InvalidChecksum:
        raise ValidationError(
            _("El RFC %(rfc)s no es válido: su dígito verificador no corresponde."),
            code="rfc_checksum",
            params={"rfc": number},
        ) from None
    except StdnumError:
        raise ValidationError(
            _("El RFC %(rfc)s no tiene un formato válido."),
            code="rfc_format",
            params={"rfc": number},
        ) from None


def curp_check_digit(first_17: str) -> str:
    """Check digit for the first 17 characters of a CURP (used to build demo data)."""
    return stdnum_curp.calc_check_digit(first_17)


def rfc_check_digit(first_12: str) -> str:
    """Check digit for the first 12 characters of a person's RFC (used to build demo data)."""
    return stdnum_rfc.calc_check_digit(first_12)
