"""Plausible, valid demo identities: CURP and RFC built from a name and a birth date.

Used by `seed_demo` and by the test factories. The rules follow RENAPO's and SAT's
construction closely enough that the check digits are right and the letters look real; they are
not meant to reproduce a real person's identifiers.
"""

import random
from datetime import date

from stdnum.mx import curp as stdnum_curp
from stdnum.mx import rfc as stdnum_rfc

from affiliates.identifiers import curp_check_digit, normalize_identifier, rfc_check_digit

VOWELS = "AEIOU"
# Two-letter state codes used in the CURP; Guanajuato first since the institute is there.
STATES = ["GT", "GT", "GT", "GT", "DF", "JC", "MN", "QT", "SP", "AS", "MC"]
MALE_NAMES = [
    "JUAN",
    "JOSE",
    "LUIS",
    "CARLOS",
    "MIGUEL",
    "JORGE",
    "FRANCISCO",
    "RAUL",
    "ALEJANDRO",
    "RICARDO",
    "FERNANDO",
    "ROBERTO",
    "ARTURO",
    "EDUARDO",
    "SERGIO",
]
FEMALE_NAMES = [
    "MARIA",
    "GUADALUPE",
    "ROSA",
    "ANA",
    "LAURA",
    "PATRICIA",
    "VERONICA",
    "LETICIA",
    "ADRIANA",
    "GABRIELA",
    "CLAUDIA",
    "ELENA",
    "SILVIA",
    "TERESA",
    "MARTHA",
]
SURNAMES = [
    "HERNANDEZ",
    "GARCIA",
    "MARTINEZ",
    "LOPEZ",
    "GONZALEZ",
    "RODRIGUEZ",
    "PEREZ",
    "SANCHEZ",
    "RAMIREZ",
    "CRUZ",
    "FLORES",
    "GOMEZ",
    "MORALES",
    "VAZQUEZ",
    "JIMENEZ",
    "REYES",
    "DIAZ",
    "TORRES",
    "GUTIERREZ",
    "RUIZ",
    "MENDOZA",
    "AGUILAR",
    "ORTIZ",
    "CASTILLO",
    "MORENO",
    "ROMERO",
    "ALVAREZ",
    "RAMOS",
    "MEDINA",
    "SOTO",
    "RIOS",
    "NAVARRO",
    "CAMPOS",
    "VEGA",
    "LUNA",
]


def _first_inner(word: str, letters: str) -> str:
    for char in word[1:]:
        if char in letters:
            return char
    return "X"


def _first_inner_consonant(word: str) -> str:
    for char in word[1:]:
        if char.isalpha() and char not in VOWELS:
            return char
    return "X"


def name_letters(given_names: str, first_surname: str, second_surname: str) -> str:
    """The four letters both the CURP and the RFC start with."""
    given = given_names.split()
    # "MARIA" and "JOSE" as a first name are skipped when there is a second one (RENAPO rule).
    name = given[1] if len(given) > 1 and given[0] in {"MARIA", "JOSE"} else given[0]
    letters = (
        first_surname[0]
        + _first_inner(first_surname, VOWELS)
        + (second_surname[0] if second_surname else "X")
        + name[0]
    )
    if letters in stdnum_curp._name_blacklist:  # RENAPO list, kept by stdnum
        letters = letters[0] + "X" + letters[2:]
    return letters


def make_curp(
    *,
    given_names: str,
    first_surname: str,
    second_surname: str,
    birth_date: date,
    sex_letter: str,
    state: str,
    homonym: str,
) -> str:
    first_17 = (
        name_letters(given_names, first_surname, second_surname)
        + birth_date.strftime("%y%m%d")
        + sex_letter
        + state
        + _first_inner_consonant(first_surname)
        + (_first_inner_consonant(second_surname) if second_surname else "X")
        + _first_inner_consonant(given_names.split()[0])
        + homonym
    )
    return stdnum_curp.validate(first_17 + curp_check_digit(first_17))


HOMOCLAVE_FIRST = "123456789ABCDEFGHIJKLMNPQRSTUV"
HOMOCLAVE_SECOND = "123456789ABCDEFGHIJKLMNPQRSTUVWXYZ"


def make_rfc(*, curp: str, rng: random.Random) -> str:
    first_12 = curp[:10] + rng.choice(HOMOCLAVE_FIRST) + rng.choice(HOMOCLAVE_SECOND)
    return stdnum_rfc.validate(first_12 + rfc_check_digit(first_12), validate_check_digits=True)


def random_identity(rng: random.Random, *, birth_date: date, female: bool) -> dict[str, str]:
    """Names, CURP and RFC for a made-up person born on `birth_date`."""
    given = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
    if rng.random() < 0.3:
        given = f"{given} {rng.choice(FEMALE_NAMES if female else MALE_NAMES)}"
    first, second = rng.choice(SURNAMES), rng.choice(SURNAMES)
    # Births before 2000 carry a digit in the 17th position, later ones a letter.
    homonym = rng.choice("0123456789") if birth_date.year < 2000 else rng.choice("ABCDEFGH")
    curp = make_curp(
        given_names=given,
        first_surname=first,
        second_surname=second,
        birth_date=birth_date,
        sex_letter="M" if female else "H",
        state=rng.choice(STATES),
        homonym=homonym,
    )
    return {
        "given_names": given.title(),
        "first_surname": first.title(),
        "second_surname": second.title(),
        "curp": normalize_identifier(curp),
        "rfc": make_rfc(curp=curp, rng=rng),
    }
