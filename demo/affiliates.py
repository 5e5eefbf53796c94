"""Plausible, valid demo identities: CURP and RFC built from a name and a birth date.

Used by `seed_demo` and by the test factories. The rules follow RENAPO's and SAT's
construction closely enough that the check digits are right and the letters look real; they are
not meant to reproduce a real person's identifiers.
"""

import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from stdnum.mx import curp as stdnum_curp
from stdnum.mx import rfc as stdnum_rfc

from affiliates.identifiers import curp_check_digit, normalize_identifier, rfc_check_digit

CENT = Decimal("0.01")
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


# --- Demo institute: employers, municipalities and affiliates as the institute's views give them

EMPLOYERS = [
    ("SEG", "Secretaría de Educación de Guanajuato"),
    ("SSG", "Secretaría de Salud de Guanajuato"),
    ("SFIA", "Secretaría de Finanzas, Inversión y Administración"),
    ("SSP", "Secretaría de Seguridad Pública"),
    ("PJE", "Poder Judicial del Estado de Guanajuato"),
    ("PLE", "Poder Legislativo del Estado de Guanajuato"),
    ("UG", "Universidad de Guanajuato"),
    ("ISSEG", "Instituto de Seguridad Social del Estado de Guanajuato"),
    ("MLEON", "Municipio de León"),
    ("MIRAP", "Municipio de Irapuato"),
    ("MCEL", "Municipio de Celaya"),
    ("CECYTE", "Colegio de Estudios Científicos y Tecnológicos de Guanajuato"),
]
MUNICIPALITIES = [
    "León",
    "León",
    "León",
    "Irapuato",
    "Irapuato",
    "Celaya",
    "Celaya",
    "Salamanca",
    "Guanajuato",
    "Guanajuato",
    "Silao de la Victoria",
    "San Miguel de Allende",
    "Dolores Hidalgo Cuna de la Independencia Nacional",
    "Pénjamo",
    "Valle de Santiago",
    "Acámbaro",
    "Salvatierra",
    "San Francisco del Rincón",
    "Cortazar",
    "Moroleón",
]
# The institute's product codes of existing loans, by who can hold them (demo values).
PRODUCT_CODES = {
    "activo": ["PC", "PC", "PC", "PE"],
    "pensionado": ["PJ"],
    "jubilado": ["PJ"],
}

STATUS_PROFILES = {
    # status: (birth years, age when contributions started, quincenal base salary range)
    "activo": ((1966, 2000), (20, 34), (5200, 24000)),
    "pensionado": ((1950, 1978), (20, 32), (4200, 18000)),
    "jubilado": ((1944, 1966), (18, 28), (6000, 26000)),
    "baja": ((1960, 1998), (20, 34), (5000, 16000)),
}


def _cents(rng: random.Random, low_pesos: int, high_pesos: int) -> Decimal:
    """A random amount in pesos with centavos, as Decimal (money is never a float)."""
    return Decimal(rng.randint(low_pesos * 100, high_pesos * 100)) / 100


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def demo_affiliate_rows(
    *, per_status: int = 200, seed: int = 2026
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Affiliate and existing-loan rows, keyed like the institute's views (and the CSV).

    Deterministic for a seed, so `seed_demo` run twice writes the same institute database.
    """
    rng = random.Random(seed)
    affiliates: list[dict[str, str]] = []
    loans: list[dict[str, str]] = []
    number = 300000
    seen_curps: set[str] = set()
    for status, ((y0, y1), (a0, a1), (s0, s1)) in STATUS_PROFILES.items():
        made = 0
        while made < per_status:
            female = rng.random() < 0.55
            birth = date(rng.randint(y0, y1), rng.randint(1, 12), rng.randint(1, 28))
            identity = random_identity(rng, birth_date=birth, female=female)
            if identity["curp"] in seen_curps:
                continue
            seen_curps.add(identity["curp"])
            made += 1
            number += rng.randint(1, 40)
            start_year = min(birth.year + rng.randint(a0, a1), 2025)
            start = date(start_year, rng.randint(1, 12), rng.choice([1, 16]))
            base = _cents(rng, s0, s1)
            net = base * Decimal(rng.randint(68, 86)) / 100
            has_loan = status != "baja" and rng.random() < 0.3
            loan_payment = Decimal("0")
            if has_loan:
                total = rng.choice([48, 72, 96, 120])
                paid = rng.randint(1, total - 1)
                original = Decimal(rng.randint(150, 1200) * 100)
                # Roughly a 25% total interest cost, enough to look like a real schedule.
                loan_payment = original * Decimal("1.25") / total
                balance = original * (total - paid) / total
                loans.append(
                    {
                        "numero_afiliacion": str(number),
                        "clave_producto": rng.choice(PRODUCT_CODES[status]),
                        "monto_original": _money(original),
                        "saldo": _money(balance),
                        "pagos_realizados": str(paid),
                        "pagos_totales": str(total),
                        "pago_quincenal": _money(loan_payment),
                    }
                )
            blocked = status != "baja" and rng.random() < 0.03
            code, name = rng.choice(EMPLOYERS)
            affiliates.append(
                {
                    "numero_afiliacion": str(number),
                    "curp": identity["curp"],
                    "rfc": identity["rfc"],
                    "nombre": identity["given_names"],
                    "primer_apellido": identity["first_surname"],
                    "segundo_apellido": identity["second_surname"],
                    "fecha_nacimiento": birth.isoformat(),
                    "sexo": "M" if female else "H",
                    # On file at the institute: where the notice of a link goes (the console).
                    "email": f"afiliado.{number}@demo.test",
                    "telefono": f"4{rng.randint(10, 99)}{rng.randint(1000000, 9999999)}",
                    "estatus": status,
                    "clave_dependencia": code,
                    "dependencia": name,
                    "municipio": rng.choice(MUNICIPALITIES),
                    "fecha_inicio_cotizacion": start.isoformat(),
                    "sueldo_base_quincenal": _money(base),
                    "neto_quincenal": _money(net),
                    "descuentos_quincenales": _money(loan_payment),
                    "bloqueado": "1" if blocked else "0",
                    "motivo_bloqueo": "Adeudo vencido con el Instituto" if blocked else "",
                }
            )
    return affiliates, loans
