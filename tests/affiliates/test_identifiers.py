"""CURP and RFC validation: what an operator or an applicant is told, in Spanish."""

import random
from datetime import date

import pytest
from django.core.exceptions import ValidationError

from affiliates.identifiers import (
    curp_check_digit,
    normalize_identifier,
    rfc_check_digit,
    validate_curp,
    validate_rfc,
)
from demo.affiliates import random_identity

_rng = random.Random(1121)


@pytest.fixture
def identity() -> dict[str, str]:
    return random_identity(_rng, birth_date=date(1969, 11, 2), female=False)


def _other_check_digit(value: str, alphabet: str) -> str:
    return next(char for char in alphabet if char != value[-1])


def _message(error: pytest.ExceptionInfo[ValidationError]) -> str:
    return error.value.messages[0]


def test_a_valid_curp_is_returned_normalised(identity):
    # given a valid CURP typed in lower case, with spaces and a dash
    curp = identity["curp"]
    typed = f" {curp[:4].lower()} {curp[4:10]}-{curp[10:].lower()} "

    # when it is validated
    result = validate_curp(typed)

    # then the upper-case CURP without separators comes back
    assert result == curp
    assert normalize_identifier(typed) == curp


def test_a_curp_with_a_wrong_check_digit_is_refused_in_spanish(identity):
    # given a CURP whose last character is not its check digit
    curp = identity["curp"]
    wrong = curp[:17] + _other_check_digit(curp, "0123456789")

    # when it is validated
    with pytest.raises(ValidationError) as error:
        validate_curp(wrong)

    # then the message names the CURP and the check digit
    assert _message(error) == (
        f"La CURP {wrong} no es válida: su dígito verificador no corresponde."
    )
    assert error.value.code == "curp_checksum"


def test_a_curp_of_the_wrong_length_is_refused(identity):
    # when a CURP missing its last character is validated
    with pytest.raises(ValidationError) as error:
        validate_curp(identity["curp"][:17])

    # then the person is told how long it must be
    assert _message(error) == "La CURP debe tener 18 caracteres."


def test_a_curp_with_the_wrong_shape_is_refused():
    # given 18 characters that are not a CURP (digits where the name letters go)
    not_a_curp = "1234567890ABCDEFGH"

    # when it is validated
    with pytest.raises(ValidationError) as error:
        validate_curp(not_a_curp)

    # then the format is what is wrong
    assert _message(error) == f"La CURP {not_a_curp} no tiene un formato válido."
    assert error.value.code == "curp_format"


def test_a_valid_rfc_is_returned_normalised(identity):
    # given a valid RFC typed in lower case with a space before the homoclave
    rfc = identity["rfc"]
    typed = f"{rfc[:10].lower()} {rfc[10:].lower()}"

    # when it is validated, then it comes back as SAT prints it
    assert validate_rfc(typed) == rfc


def test_an_rfc_with_a_wrong_check_digit_is_refused_in_spanish(identity):
    # given an RFC whose last character is not its check digit
    rfc = identity["rfc"]
    wrong = rfc[:12] + _other_check_digit(rfc, "0123456789A")

    # when it is validated
    with pytest.raises(ValidationError) as error:
        validate_rfc(wrong)

    # then the message says so
    assert _message(error) == f"El RFC {wrong} no es válido: su dígito verificador no corresponde."


def test_an_rfc_without_homoclave_is_refused(identity):
    # when the ten characters without homoclave are validated
    with pytest.raises(ValidationError) as error:
        validate_rfc(identity["rfc"][:10])

    # then the person is told a natural person's RFC has 13 characters
    assert _message(error) == (
        "El RFC de una persona física debe tener 13 caracteres, con homoclave."
    )


def test_an_rfc_with_the_wrong_shape_is_refused():
    # given 13 characters with an impossible date (month 13)
    not_an_rfc = "GOML751301AB1"

    # when it is validated
    with pytest.raises(ValidationError) as error:
        validate_rfc(not_an_rfc)

    # then the format is what is wrong
    assert _message(error) == f"El RFC {not_an_rfc} no tiene un formato válido."


def test_check_digits_complete_valid_identifiers(identity):
    # given the CURP and RFC without their last character
    curp, rfc = identity["curp"], identity["rfc"]

    # when the check digits are computed, then they are the ones the identifiers carry
    assert curp_check_digit(curp[:17]) == curp[17]
    assert rfc_check_digit(rfc[:12]) == rfc[12]
