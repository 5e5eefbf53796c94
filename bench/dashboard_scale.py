"""Benchmark of the managers' dashboard (/tablero/) with a million applications.

    .venv/bin/python bench/dashboard_scale.py [--applications 1000000] [--affiliates 200000]
        [--database postgres|sqlite] [--runs 10] [--explain] [--keep]

Uses a scratch database of its own, never var/portal.sqlite3 nor a test database: on PostgreSQL
the database `isseg_bench` on 127.0.0.1:5432 (user postgres, trust authentication), created
fresh and dropped at the end; on SQLite a file in a temporary folder. DATABASE_URL is set before
Django starts, then the database is migrated.

The rows are written straight into the tables (COPY on PostgreSQL, one prepared INSERT run with
`executemany` on SQLite), not through the services: no audit events, notices or emails, no
password hashing (users get an unusable password). Applications are written in the order they
were received, as the table fills in production. They are loaded in two steps: first 1/100th of
everything (affiliates, applications, their payments, invitations, responses and answers),
measured, then the rest, measured again, so the two sets of figures show whether the number of
queries grows with the data. After each step the database is analysed (VACUUM ANALYZE on
PostgreSQL, ANALYZE on SQLite), as autovacuum would have done on a server by then.

Measured at each scale: `dashboard.reporting.tally_refresh_all()` (once, after the bulk load), the
refresh of one stale month, this month's and last month's (what the first dashboard visit after
a transition pays), the dashboard for the whole period and for this month with no stale month
and with a stale one (Django's test Client, a Gerencia user, DEBUG off; queries counted with
CaptureQueriesContext), one CSV export and the admin's list of applications. The target: every
dashboard request under one second, and the same number of queries at both scales. --explain
prints EXPLAIN ANALYZE of the three slowest statements of each measurement at full scale.
"""

import argparse
import os
import platform
import random
import re
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

PROJECT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "isseg_bench"
POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432"


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--affiliates", type=int, default=200_000)
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--runs", type=int, default=10, help="timed requests per measurement")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="PostgreSQL: EXPLAIN ANALYZE the slowest queries of each page at full scale",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--json", help="also write the figures to this JSON file (bench/run_all.py)"
    )
    return parser.parse_args()


OPTIONS = _options()
TEMPORARY = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))


def _postgres_recreate() -> None:
    """A fresh, empty isseg_bench; only ever this name (never isseg nor test_isseg*)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as server:
        name = sql.Identifier(BENCH_DATABASE)
        server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        server.execute(sql.SQL("CREATE DATABASE {}").format(name))


def _postgres_drop() -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as server:
        server.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(BENCH_DATABASE)
            )
        )


if OPTIONS.database == "postgres":
    _postgres_recreate()
    DATABASE_URL = f"{POSTGRES_SERVER}/{BENCH_DATABASE}"
else:
    DATABASE_URL = f"sqlite:///{TEMPORARY / 'portal.sqlite3'}"

# Before Django reads its settings: the scratch database, and a server configured as in
# production (DEBUG off, so no query log) except for HTTPS and the staff's second factor, which
# the test client cannot do.
os.environ.update(
    {
        "DATABASE_URL": DATABASE_URL,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        # No collectstatic here: static files are served from their sources.
        "DJANGO_STATIC_MANIFEST": "0",
        "STAFF_REQUIRE_MFA": "0",
        # Nothing of var/ is read or written (secret key, media, SQLite default).
        "ISSEG_VAR_DIR": str(TEMPORARY / "var"),
        "DJANGO_LOG_LEVEL": "WARNING",
    }
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "isseg_portal.settings")
sys.path.insert(0, str(PROJECT))
# WhiteNoise looks for STATIC_ROOT, which only exists after collectstatic.
warnings.filterwarnings("ignore", message="No directory at")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.color import no_style  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from affiliates.models import Affiliate, Employer  # noqa: E402
from dashboard import reporting  # noqa: E402
from dashboard.models import TallyMonth  # noqa: E402
from dashboard.staff_groups import MANAGER_GROUP  # noqa: E402
from demo.affiliates import FEMALE_NAMES, MALE_NAMES, SURNAMES  # noqa: E402
from demo.products import seed_products  # noqa: E402
from isseg_portal.institute_time import month_of  # noqa: E402
from loans.amortization import quote  # noqa: E402
from loans.models import (  # noqa: E402
    ApplicationStatus,
    FolioCounter,
    LoanApplication,
    Payment,
    RejectionReason,
)
from surveys.models import Answer, Invitation, Question, Response, Survey, SurveyKind  # noqa: E402

User = get_user_model()
S = ApplicationStatus
ZONE = ZoneInfo("America/Mexico_City")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY = 86_400.0
MONTHS = 36
BATCH = 20_000

# A few dozen employers, the Secretaría de Educación far ahead as in the institute (weights).
EMPLOYERS = [
    ("SEG", "Secretaría de Educación de Guanajuato", 300),
    ("SSG", "Secretaría de Salud de Guanajuato", 90),
    ("ISAPEG", "Instituto de Salud Pública del Estado de Guanajuato", 60),
    ("SFIA", "Secretaría de Finanzas, Inversión y Administración", 30),
    ("SSP", "Secretaría de Seguridad Pública", 45),
    ("FGE", "Fiscalía General del Estado de Guanajuato", 25),
    ("SG", "Secretaría de Gobierno", 15),
    ("SDES", "Secretaría de Desarrollo Económico Sustentable", 8),
    ("SICOM", "Secretaría de Infraestructura, Conectividad y Movilidad", 12),
    ("SDAYR", "Secretaría de Desarrollo Agroalimentario y Rural", 8),
    ("SMAOT", "Secretaría de Medio Ambiente y Ordenamiento Territorial", 6),
    ("STC", "Secretaría de la Transparencia y Rendición de Cuentas", 5),
    ("SDSH", "Secretaría de Desarrollo Social y Humano", 7),
    ("SECTUR", "Secretaría de Turismo", 4),
    ("PJE", "Poder Judicial del Estado de Guanajuato", 30),
    ("PLE", "Poder Legislativo del Estado de Guanajuato", 6),
    ("IEEG", "Instituto Electoral del Estado de Guanajuato", 4),
    ("PRODHEG", "Procuraduría de los Derechos Humanos del Estado de Guanajuato", 3),
    ("UG", "Universidad de Guanajuato", 70),
    ("UTL", "Universidad Tecnológica de León", 6),
    ("UPG", "Universidad Politécnica de Guanajuato", 4),
    ("CECYTE", "Colegio de Estudios Científicos y Tecnológicos de Guanajuato", 20),
    ("CONALEP", "Colegio de Educación Profesional Técnica del Estado de Guanajuato", 12),
    ("SABES", "Sistema Avanzado de Bachillerato y Educación Superior", 14),
    ("INAEBA", "Instituto de Alfabetización y Educación Básica para Adultos", 6),
    ("DIF", "Sistema para el Desarrollo Integral de la Familia del Estado", 10),
    ("CEAG", "Comisión Estatal del Agua de Guanajuato", 4),
    ("ISSEG", "Instituto de Seguridad Social del Estado de Guanajuato", 8),
    ("MLEON", "Municipio de León", 40),
    ("MIRAP", "Municipio de Irapuato", 15),
    ("MCEL", "Municipio de Celaya", 14),
    ("MSAL", "Municipio de Salamanca", 9),
    ("MGTO", "Municipio de Guanajuato", 7),
    ("MSILAO", "Municipio de Silao de la Victoria", 5),
    ("MSMA", "Municipio de San Miguel de Allende", 5),
    ("SAPAL", "Sistema de Agua Potable y Alcantarillado de León", 6),
]

# The 46 municipalities of Guanajuato, weighted roughly by population (thousands).
MUNICIPALITIES = [
    ("Abasolo", 92),
    ("Acámbaro", 108),
    ("Apaseo el Alto", 72),
    ("Apaseo el Grande", 92),
    ("Atarjea", 5),
    ("Celaya", 521),
    ("Comonfort", 82),
    ("Coroneo", 12),
    ("Cortazar", 95),
    ("Cuerámaro", 30),
    ("Doctor Mora", 27),
    ("Dolores Hidalgo Cuna de la Independencia Nacional", 163),
    ("Guanajuato", 194),
    ("Huanímaro", 21),
    ("Irapuato", 592),
    ("Jaral del Progreso", 38),
    ("Jerécuaro", 50),
    ("León", 1721),
    ("Manuel Doblado", 38),
    ("Moroleón", 50),
    ("Ocampo", 25),
    ("Pénjamo", 150),
    ("Pueblo Nuevo", 12),
    ("Purísima del Rincón", 80),
    ("Romita", 60),
    ("Salamanca", 273),
    ("Salvatierra", 97),
    ("San Diego de la Unión", 40),
    ("San Felipe", 117),
    ("San Francisco del Rincón", 127),
    ("San José Iturbide", 86),
    ("San Luis de la Paz", 127),
    ("San Miguel de Allende", 174),
    ("Santa Catarina", 6),
    ("Santa Cruz de Juventino Rosas", 83),
    ("Santiago Maravatío", 7),
    ("Silao de la Victoria", 203),
    ("Tarandacuao", 12),
    ("Tarimoro", 35),
    ("Tierra Blanca", 20),
    ("Uriangato", 62),
    ("Valle de Santiago", 150),
    ("Victoria", 21),
    ("Villagrán", 58),
    ("Xichú", 12),
    ("Yuriria", 70),
]

# Affiliate status: who they are, and so which product they apply for.
AFFILIATE_STATUSES = [("activo", 75), ("pensionado", 12), ("jubilado", 10), ("baja", 3)]
PRODUCTS_FOR = {"activo": ("PC", "PC", "PC", "PE"), "pensionado": ("PJ",), "jubilado": ("PJ",)}
TERMS = (12, 24, 36, 48, 60, 72, 96, 120)

# Where an application stands now. Young ones (under 45 days) may still be anywhere; older
# ones have reached an end: about 40 % of all are paid.
# Plain strings (.value): psycopg would write an Enum member by its name.
RECENT_STATUSES = [
    (S.DRAFT.value, 24),
    (S.SIGNED.value, 7),
    (S.IN_REVIEW.value, 7),
    (S.RETURNED.value, 3),
    (S.APPROVED.value, 5),
    (S.DISBURSED.value, 30),
    (S.REJECTED.value, 8),
    (S.CANCELLED.value, 8),
    (S.EXPIRED.value, 8),
]
SETTLED_STATUSES = [
    (S.DISBURSED.value, 42),
    (S.REJECTED.value, 13),
    (S.CANCELLED.value, 10),
    (S.EXPIRED.value, 35),
]
REJECTIONS = [
    (RejectionReason.NOT_ELIGIBLE.value, 25),
    (RejectionReason.DOCUMENTS.value, 40),
    (RejectionReason.IDENTITY.value, 8),
    (RejectionReason.CAPACITY.value, 20),
    (RejectionReason.OTHER.value, 7),
]

# Surveys: share of invitations answered, and how the answers fall.
SIGNING_ANSWERED = 0.05
PAYMENT_ANSWERED = 0.18
SCALE_5 = [(1, 4), (2, 6), (3, 15), (4, 35), (5, 40)]
SCALE_SPEED = [(1, 6), (2, 9), (3, 20), (4, 35), (5, 30)]
SCALE_10 = [(0, 2), (1, 1), (2, 1), (3, 2), (4, 2), (5, 5), (6, 5), (7, 10), (8, 20), (9, 22)]
SCALE_10 += [(10, 30)]
COMMENTS = [
    "Muy rápido el depósito, gracias.",
    "El trámite fue sencillo, pero tardaron en revisar mi solicitud.",
    "No entendí bien cómo subir mi comprobante de domicilio.",
    "Excelente servicio, ya no tuve que ir a la oficina.",
    "La firma electrónica me costó trabajo, tuve que pedir ayuda.",
    "Me devolvieron la solicitud por la CLABE y la corregí el mismo día.",
    "Deberían avisar por WhatsApp además del correo.",
    "Todo bien, lo recomiendo a mis compañeros.",
    "El simulador ayuda mucho a decidir el plazo.",
    "Tardó más de una semana el pago.",
    "La página se tardaba en cargar en el celular.",
    "Gracias al Instituto por facilitar el préstamo.",
]


def weighted(choices: Sequence[tuple[Any, int]]) -> tuple[list[Any], list[int]]:
    """(values, cumulative weights) for random.choices."""
    values = [value for value, _weight in choices]
    cumulative, total = [], 0
    for _value, weight in choices:
        total += weight
        cumulative.append(total)
    return values, cumulative


def base36(number: int, width: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    text = ""
    for _position in range(width):
        number, digit = divmod(number, 36)
        text = digits[digit] + text
    return text


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def local(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, ZONE)


def month_start(moment: float) -> date:
    value = local(moment)
    return date(value.year, value.month, 1)


class Writer:
    """Rows straight into a table: COPY on PostgreSQL; one prepared INSERT run with executemany
    on SQLite (bulk_create would send 999 parameters a statement and prepare each value through
    the query compiler, see affiliates.sync._Statement). Values come ready for the database."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"

    def moment(self, seconds: float) -> Any:
        """A DateTimeField value: aware on PostgreSQL, naive UTC text on SQLite (as Django's
        SQLite backend stores it)."""
        value = EPOCH + timedelta(seconds=seconds)
        return value if self.postgres else str(value)[:-6]

    def write(self, model: type, fields: Sequence[str], rows: list[tuple]) -> None:
        if not rows:
            return
        meta = model._meta
        quote_name = connection.ops.quote_name
        table = quote_name(meta.db_table)
        columns = ", ".join(quote_name(meta.get_field(name).column) for name in fields)
        with connection.cursor() as cursor:
            if self.postgres:
                # Names from the model's metadata, quoted; values go through COPY.
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(fields))
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608
                    rows,
                )


USER_FIELDS = [
    "id",
    "password",
    "is_superuser",
    "username",
    "first_name",
    "last_name",
    "email",
    "is_staff",
    "is_active",
    "date_joined",
]
AFFILIATE_FIELDS = [
    "id",
    "number",
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
    "employer",
    "municipality",
    "contribution_start",
    "base_salary",
    "net_pay",
    "current_deductions",
    "is_blocked",
    "blocked_reason",
    "source",
    "synced_at",
    "source_digest",
    "loans_digest",
]
APPLICATION_FIELDS = [
    "id",
    "public_id",
    "folio",
    "applicant",
    "affiliate",
    "product",
    "status",
    "status_changed_at",
    "amount",
    "quincenas",
    "annual_rate",
    "interest_convention",
    "fund_rate",
    "payment",
    "cat",
    "previous_balance",
    "net_to_receive",
    "created_at",
    "affiliate_snapshot",
    "phone",
    "email",
    "clabe",
    "bank_name",
    "account_is_own",
    "privacy_accepted_at",
    "terms_accepted_at",
    "completed_step",
    "completed_at",
    "analyst",
    "approver",
    "employer",
    "municipality",
    "total_interest",
    "signed_at",
    "rejection_reason",
]
PAYMENT_FIELDS = [
    "id",
    "application",
    "spei_reference",
    "paid_on",
    "amount",
    "clabe",
    "registered_by",
    "registered_at",
]
INVITATION_FIELDS = [
    "id",
    "application",
    "survey",
    "kind",
    "created_at",
    "month",
    "expires_at",
    "emailed_at",
    "reminded_at",
    "answered_at",
]
RESPONSE_FIELDS = ["id", "invitation", "survey", "submitted_at", "month", "contact_consent"]
ANSWER_FIELDS = ["id", "response", "question", "code", "month", "number", "text"]


@dataclass
class Batch:
    applications: list[tuple] = field(default_factory=list)
    payments: list[tuple] = field(default_factory=list)
    invitations: list[tuple] = field(default_factory=list)
    responses: list[tuple] = field(default_factory=list)
    answers: list[tuple] = field(default_factory=list)


@dataclass
class Staff:
    manager: Any
    superuser: Any
    analysts: list[int]
    authorizers: list[int]
    treasurers: list[int]


@dataclass
class Terms:
    product_id: int
    rate: str
    fund_rate: str
    # Payment per peso lent, CAT (text) for each term the product offers.
    by_term: dict[int, tuple[float, str]]
    quincenas: tuple[int, ...]
    min_cents: int
    max_cents: int


class Program:
    """Makes the rows. Affiliate i, user i and their attributes are fixed at the start, so any
    prefix of the affiliates is a sample of the whole; each step's applications are received
    uniformly over the program's 36 months (and written in that order), so 1/100th of them
    spreads over the whole period too."""

    def __init__(
        self, *, affiliates: int, writer: Writer, staff: Staff, now: float, seed: int
    ) -> None:
        self.writer = writer
        self.staff = staff
        self.now = now
        self.rng = random.Random(seed)
        rng = self.rng
        this_month = month_start(now)
        index = this_month.year * 12 + this_month.month - 1 - (MONTHS - 1)
        self.first_month = date(index // 12, index % 12 + 1, 1)
        self.start = datetime(
            self.first_month.year, self.first_month.month, 1, tzinfo=ZONE
        ).timestamp()

        by_code = Employer.objects.in_bulk(field_name="code")
        codes, employer_weights = weighted([(code, w) for code, _name, w in EMPLOYERS])
        places, place_weights = weighted(MUNICIPALITIES)
        statuses, status_weights = weighted(AFFILIATE_STATUSES)
        self.affiliate_employer = [
            by_code[code] for code in rng.choices(codes, cum_weights=employer_weights, k=affiliates)
        ]
        self.affiliate_municipality = rng.choices(places, cum_weights=place_weights, k=affiliates)
        self.affiliate_status = rng.choices(statuses, cum_weights=status_weights, k=affiliates)
        self.user_base = User.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        self.user_base += 1

        self.terms: dict[str, Terms] = {}
        for product in seed_products():
            by_term = {}
            for quincenas in TERMS:
                if product.min_quincenas <= quincenas <= product.max_quincenas:
                    sample = quote(
                        amount=Decimal("100000.00"),
                        annual_rate=product.annual_rate,
                        quincenas=quincenas,
                        convention=product.interest_convention,
                        fund_rate=product.fund_rate,
                    )
                    by_term[quincenas] = (float(sample.payment) / 100_000, str(sample.cat))
            self.terms[product.code] = Terms(
                product_id=product.pk,
                rate=str(product.annual_rate),
                fund_rate=str(product.fund_rate),
                by_term=by_term,
                quincenas=tuple(by_term),
                min_cents=int(product.min_amount * 100),
                max_cents=int(product.max_amount * 100),
            )

        self.surveys = {survey.kind: survey.pk for survey in Survey.objects.filter(is_active=True)}
        self.questions = {
            kind: list(
                Question.objects.filter(survey__kind=kind, survey__is_active=True)
                .order_by("position")
                .values_list("pk", "code")
            )
            for kind in (SurveyKind.SIGNING, SurveyKind.PAYMENT)
        }
        self.recent = weighted(RECENT_STATUSES)
        self.settled = weighted(SETTLED_STATUSES)
        self.rejections = weighted(REJECTIONS)
        self.scale_5 = weighted(SCALE_5)
        self.scale_speed = weighted(SCALE_SPEED)
        self.scale_10 = weighted(SCALE_10)
        self.folios: dict[int, int] = {}
        self.affiliates_loaded = 0
        self.applications_loaded = 0
        self.ids = {"payment": 0, "invitation": 0, "response": 0, "answer": 0}
        self.counts = {"payments": 0, "invitations": 0, "responses": 0, "answers": 0}

    # --- Affiliates and their users ------------------------------------------------------------

    def load_affiliates(self, upto: int) -> None:
        started = time.perf_counter()
        first = self.affiliates_loaded
        for start in range(first, upto, BATCH):
            end = min(start + BATCH, upto)
            users, affiliates = [], []
            for i in range(start, end):
                user, affiliate = self._affiliate(i)
                users.append(user)
                affiliates.append(affiliate)
            with transaction.atomic():
                self.writer.write(User, USER_FIELDS, users)
                self.writer.write(Affiliate, AFFILIATE_FIELDS, affiliates)
            progress("affiliates", end - first, upto - first, started)
        self.affiliates_loaded = upto

    def _affiliate(self, i: int) -> tuple[tuple, tuple]:
        rng = self.rng
        female = i % 2 == 1
        given = (FEMALE_NAMES if female else MALE_NAMES)[i * 7 % 15]
        first_surname = SURNAMES[i * 13 % len(SURNAMES)]
        second_surname = SURNAMES[i * 31 % len(SURNAMES)]
        birth = date(1955, 1, 1) + timedelta(days=rng.randrange(0, 17_000))
        letters = first_surname[:2] + second_surname[0] + given[0]
        # Unique by construction (the last five characters are i in base 36); the dashboard
        # does not read them, so their check digits are not computed.
        curp = f"{letters}{birth:%y%m%d}{'M' if female else 'H'}GT{base36(i, 5)}"
        status = self.affiliate_status[i]
        employer = self.affiliate_employer[i]
        base = rng.randint(450_000, 2_800_000)
        user = (
            self.user_base + i,
            "!bench",  # unusable: no hashing for 200,000 users
            False,
            f"afiliado{i}",
            "",
            "",
            f"afiliado{i}@example.org",
            False,
            True,
            self.writer.moment(self.start - rng.uniform(0, 365) * DAY),
        )
        affiliate = (
            i + 1,
            str(1_000_000 + i),
            curp,
            f"{letters}{birth:%y%m%d}{base36(i, 3)}",
            given,
            first_surname,
            second_surname,
            birth.isoformat(),
            "mujer" if female else "hombre",
            f"afiliado{i}@example.org",
            f"47{rng.randint(10_000_000, 99_999_999)}",
            status,
            employer.pk,
            self.affiliate_municipality[i],
            (birth + timedelta(days=rng.randint(6_600, 12_000))).isoformat(),
            money(base),
            money(base * 78 // 100),
            money(rng.randint(0, base // 5)),
            False,
            "",
            "base_institucional",
            self.writer.moment(self.now - rng.uniform(0, 2) * DAY),
            f"{i:064x}",
            "",
        )
        return user, affiliate

    # --- Applications, payments and surveys ----------------------------------------------------

    def load_applications(self, upto: int) -> None:
        started = time.perf_counter()
        first = self.applications_loaded
        # In the order they were received, as the table fills in production: a month's rows sit
        # together on disk. Loaded in random order, a month is spread over the whole table and
        # recomputing it reads ten times as many pages.
        received = sorted(self.rng.uniform(self.start, self.now - 600) for _ in range(upto - first))
        for start in range(first, upto, BATCH):
            end = min(start + BATCH, upto)
            batch = Batch()
            for i in range(start, end):
                self._application(i, batch, created=received[i - first])
            with transaction.atomic():
                self.writer.write(LoanApplication, APPLICATION_FIELDS, batch.applications)
                self.writer.write(Payment, PAYMENT_FIELDS, batch.payments)
                self.writer.write(Invitation, INVITATION_FIELDS, batch.invitations)
                self.writer.write(Response, RESPONSE_FIELDS, batch.responses)
                self.writer.write(Answer, ANSWER_FIELDS, batch.answers)
            self.counts["payments"] += len(batch.payments)
            self.counts["invitations"] += len(batch.invitations)
            self.counts["responses"] += len(batch.responses)
            self.counts["answers"] += len(batch.answers)
            progress("applications", end - first, upto - first, started)
        self.applications_loaded = upto
        with transaction.atomic():
            for year, number in self.folios.items():
                FolioCounter.objects.update_or_create(year=year, defaults={"last_number": number})

    def _application(self, i: int, batch: Batch, *, created: float) -> None:
        rng, now, moment = self.rng, self.now, self.writer.moment

        def after(start: float, low: float, high: float) -> float:
            return min(start + rng.uniform(low, high) * DAY, now)

        owner = rng.randrange(self.affiliates_loaded)
        status_of_owner = self.affiliate_status[owner]
        employer = self.affiliate_employer[owner]
        code = rng.choice(PRODUCTS_FOR.get(status_of_owner, ("PC",)))
        terms = self.terms[code]
        quincenas = rng.choice(terms.quincenas)
        factor, cat = terms.by_term[quincenas]
        ceiling = min(terms.max_cents, 25_000_000)
        amount = terms.min_cents + int((ceiling - terms.min_cents) * rng.random() ** 2.2)
        amount = max(terms.min_cents, amount // 50_000 * 50_000)
        payment = round(amount * factor)
        previous = amount * rng.randint(10, 45) // 100 // 100 * 100 if rng.random() < 0.2 else 0

        age = (now - created) / DAY
        values, cumulative = self.recent if age < 45 else self.settled
        status = rng.choices(values, cum_weights=cumulative)[0]
        if status == S.EXPIRED and age < 16:
            status = S.DRAFT

        completed = signed = analyst = approver = paid = None
        reason = ""
        changed = created
        if status in (S.DRAFT, S.EXPIRED, S.CANCELLED):
            if rng.random() < 0.4:
                completed = after(created, 0.01, 3)
            if status == S.EXPIRED:
                changed = created + 15 * DAY
            elif status == S.CANCELLED:
                if completed and rng.random() < 0.4:
                    signed = after(completed, 0.01, 2)
                changed = after(signed or completed or created, 0.05, 8)
        else:
            completed = after(created, 0.01, 2)
            signed = changed = after(completed, 0.01, 3)
            if status != S.SIGNED:
                changed = after(signed, 0.1, 4)
                analyst = rng.choice(self.staff.analysts)
                if status in (S.RETURNED, S.REJECTED):
                    changed = after(changed, 0.05, 2)
                if status == S.REJECTED:
                    reasons, cumulative = self.rejections
                    reason = rng.choices(reasons, cum_weights=cumulative)[0]
                if status in (S.APPROVED, S.DISBURSED):
                    changed = after(changed, 0.1, 3)
                    approver = rng.choice(self.staff.authorizers)
                if status == S.DISBURSED:
                    paid = changed = after(changed, 0.3, 6)

        received = local(created)
        year = received.year
        self.folios[year] = folio = self.folios.get(year, 0) + 1
        step = 5 if completed else rng.randint(1, 4)
        email = f"afiliado{owner}@example.org" if step >= 2 else ""
        phone = f"47{owner % 100_000_000:08d}" if step >= 2 else ""
        clabe = f"0021801{owner:010d}0" if step >= 3 else ""
        application_id = i + 1
        snapshot = (
            f'{{"number": "{1_000_000 + owner}", "status": "{status_of_owner}", '
            f'"employer": {{"code": "{employer.code}", "name": "{employer.name}"}}, '
            f'"municipality": "{self.affiliate_municipality[owner]}", '
            f'"base_salary": "{money(payment * 4)}", "net_pay": "{money(payment * 3)}", '
            f'"current_deductions": "0.00", "is_blocked": false, "loans": [], '
            f'"source": "base_institucional", "refreshed_at_start": true, '
            f'"evaluated_on": "{received.date().isoformat()}"}}'
        )
        batch.applications.append(
            (
                application_id,
                f"{rng.getrandbits(128):032x}",
                f"PL-{year}-{folio:06d}",
                self.user_base + owner,
                owner + 1,
                terms.product_id,
                status,
                moment(changed),
                money(amount),
                quincenas,
                terms.rate,
                "nominal",
                terms.fund_rate,
                money(payment),
                cat,
                money(previous),
                money(amount - previous),
                moment(created),
                snapshot,
                phone,
                email,
                clabe,
                "BBVA MÉXICO" if clabe else "",
                bool(clabe),
                moment(created) if step >= 2 else None,
                moment(completed) if completed else None,
                step,
                moment(completed) if completed else None,
                analyst,
                approver,
                employer.pk,
                self.affiliate_municipality[owner],
                money(max(payment * quincenas - amount, 0)),
                moment(signed) if signed else None,
                reason,
            )
        )
        if paid is not None:
            self.ids["payment"] += 1
            paid_on = local(paid).date()
            batch.payments.append(
                (
                    self.ids["payment"],
                    application_id,
                    f"ISSEG{application_id:012d}",
                    paid_on.isoformat(),
                    money(amount - previous),
                    clabe or f"0021801{owner:010d}0",
                    rng.choice(self.staff.treasurers),
                    moment(paid),
                )
            )
        if signed is not None:
            self._invitation(batch, application_id, SurveyKind.SIGNING, signed, SIGNING_ANSWERED)
        if paid is not None:
            self._invitation(batch, application_id, SurveyKind.PAYMENT, paid, PAYMENT_ANSWERED)

    def _invitation(
        self, batch: Batch, application_id: int, kind: str, sent: float, answered_share: float
    ) -> None:
        rng, now, moment = self.rng, self.now, self.writer.moment
        submitted: float | None = None
        if rng.random() < answered_share:
            submitted = sent + min(rng.expovariate(1 / 1.5), 29) * DAY
            if submitted > now:
                submitted = None
        reminder = sent + 5 * DAY
        reminded = (
            reminder if reminder <= now and (submitted is None or submitted > reminder) else None
        )
        self.ids["invitation"] += 1
        invitation_id = self.ids["invitation"]
        survey_id = self.surveys[kind]
        kind = str(kind)
        batch.invitations.append(
            (
                invitation_id,
                application_id,
                survey_id,
                kind,
                moment(sent),
                month_start(sent).isoformat(),
                moment(sent + 30 * DAY),
                moment(min(sent + 60, now)),
                moment(reminded) if reminded else None,
                moment(submitted) if submitted else None,
            )
        )
        if submitted is None:
            return
        self.ids["response"] += 1
        response_id = self.ids["response"]
        month = month_start(submitted).isoformat()
        numbers = {
            "satisfaccion": self.scale_5,
            "facilidad": self.scale_5,
            "firma_facilidad": self.scale_5,
            "tiempo": self.scale_speed,
            "recomendacion": self.scale_10,
        }
        wrote = False
        for question_id, code in self.questions[kind]:
            number: int | None = None
            text = ""
            if code in numbers:
                values, cumulative = numbers[code]
                number = rng.choices(values, cum_weights=cumulative)[0]
            elif code in ("oficina", "firma_oficina"):
                number = 1 if rng.random() < 0.15 else 0
            elif rng.random() < 0.3:
                text, wrote = rng.choice(COMMENTS), True
            else:
                # An optional question left blank is not an answer (surveys.services).
                continue
            self.ids["answer"] += 1
            batch.answers.append(
                (self.ids["answer"], response_id, question_id, code, month, number, text)
            )
        batch.responses.append(
            (
                response_id,
                invitation_id,
                survey_id,
                moment(submitted),
                month,
                wrote and rng.random() < 0.5,
            )
        )


def progress(label: str, done: int, total: int, started: float) -> None:
    """On stderr: one line rewritten on a terminal, a line every 100,000 rows otherwise."""
    terminal = sys.stderr.isatty()
    if not terminal and done < total and done % 100_000:
        return
    elapsed = time.perf_counter() - started
    print(
        f"{chr(13) if terminal else ''}  {label}: {done:,}/{total:,} in {elapsed:5.1f} s "
        f"({done / max(elapsed, 1e-9):,.0f}/s)",
        end="\n" if done >= total or not terminal else "",
        file=sys.stderr,
        flush=True,
    )


def create_staff() -> Staff:
    """The people on the back office, through the ORM (few), with unusable passwords."""

    def person(username: str, **extra) -> Any:
        user = User(username=username, email=f"{username}@example.org", **extra)
        user.set_unusable_password()
        user.save()
        return user

    manager = person("gerencia", is_staff=True)
    manager.groups.add(Group.objects.get(name=MANAGER_GROUP))
    return Staff(
        manager=manager,
        superuser=person("admin", is_staff=True, is_superuser=True),
        analysts=[person(f"analista{n}", is_staff=True).pk for n in range(4)],
        authorizers=[person(f"autorizador{n}", is_staff=True).pk for n in range(3)],
        treasurers=[person(f"tesoreria{n}", is_staff=True).pk for n in range(2)],
    )


def after_load() -> None:
    """Sequences past the ids written by hand, and fresh planner statistics."""
    models = [User, Affiliate, LoanApplication, Payment, Invitation, Response, Answer]
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(statement)
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


# --- Measuring -----------------------------------------------------------------------------


@dataclass
class Figure:
    label: str
    seconds: list[float]
    queries: list[int]
    target: str = ""
    # Of the last run: the slowest statements, and every statement's first words.
    slowest: list[tuple[float, str]] = field(default_factory=list)
    shapes: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def worst(self) -> float:
        return max(self.seconds)

    @property
    def query_text(self) -> str:
        low, high = min(self.queries), max(self.queries)
        return f"{low}" if low == high else f"{low}–{high}"


def timed_calls(
    label: str,
    call: Callable[[], Any],
    *,
    runs: int,
    before: Callable[[], Any] | None = None,
    warm_up: bool = True,
    target: str = "",
) -> Figure:
    """`call` `runs` times, each with its queries captured; `before` runs untimed first."""
    if warm_up:
        if before:
            before()
        call()
    figure = Figure(label, [], [], target)
    for _run in range(runs):
        if before:
            before()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = call()
            figure.seconds.append(time.perf_counter() - started)
        status = getattr(result, "status_code", 200)
        if status != 200:
            raise SystemExit(f"{label}: HTTP {status}")
        statements = captured.captured_queries
        figure.queries.append(len(statements))
        figure.slowest = sorted(
            ((float(query["time"]), query["sql"]) for query in statements), reverse=True
        )[:3]
        figure.shapes = [
            # Server-side cursors are named after the connection and a counter.
            re.sub(r"_django_curs_\w+", "_django_curs_…", " ".join(query["sql"].split()[:8]))[:90]
            for query in statements
        ]
    return figure


def month_before(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def mark_stale(month: date) -> None:
    """What a transition does to the month its application was received in."""
    if not TallyMonth.objects.filter(month=month).update(stale=True):
        TallyMonth.objects.create(month=month, stale=True)


def measure(program: Program, staff: Staff, *, runs: int) -> list[Figure]:
    this_month = month_of(timezone.now())
    last_month = month_before(this_month)
    figures = [
        timed_calls(
            "tally_refresh_all(), once after the load",
            reporting.tally_refresh_all,
            runs=1,
            warm_up=False,
        )
    ]
    for name, month in (("this month", this_month), ("last month", last_month)):
        figures.append(
            timed_calls(
                f"tally_refresh_stale(), {name} stale",
                reporting.tally_refresh_stale,
                runs=5,
                before=lambda month=month: mark_stale(month),
            )
        )

    manager = Client()
    manager.force_login(staff.manager)
    dashboard = reverse("dashboard:dashboard")
    whole = f"?desde={program.first_month:%Y-%m}&hasta={this_month:%Y-%m}"
    single = f"?desde={this_month:%Y-%m}&hasta={this_month:%Y-%m}"
    cases = [
        ("whole period, no stale month", whole, None),
        ("this month, no stale month", single, None),
        ("whole period, this month stale", whole, this_month),
        ("this month, this month stale", single, this_month),
        ("whole period, last month stale", whole, last_month),
    ]
    for label, query, stale in cases:
        figures.append(
            timed_calls(
                f"/tablero/ {label}",
                lambda url=dashboard + query: manager.get(url, secure=True),
                runs=runs,
                before=None if stale is None else lambda month=stale: mark_stale(month),
                target="< 1 s",
            )
        )
    export = reverse("dashboard:dashboard_export", args=["productos", "csv"]) + whole
    figures.append(
        timed_calls(
            "/tablero/exportar/productos.csv whole period",
            lambda: manager.get(export, secure=True),
            runs=1,
        )
    )
    admin = Client()
    admin.force_login(staff.superuser)
    changelist = reverse("admin:loans_loanapplication_changelist")
    figures.append(
        timed_calls(
            "/admin/loans/loanapplication/ (superuser)",
            lambda: admin.get(changelist, secure=True),
            runs=1,
        )
    )
    return figures


def explain(figure: Figure) -> None:
    """EXPLAIN ANALYZE of the slowest statements of the figure's last run (PostgreSQL)."""
    print(f"\nSlowest queries of the last run of {figure.label}:")
    for seconds, sql in figure.slowest:
        print(f"\n-- {seconds * 1000:.1f} ms\n{sql}")
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            print("\n".join(row[0] for row in cursor.fetchall()))


def peak_mib() -> float:
    # ru_maxrss is in KiB on Linux: the peak of the whole process so far.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def database_description() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            size = cursor.fetchone()[0]
            cursor.execute("SHOW shared_buffers")
            buffers = cursor.fetchone()[0]
            cursor.execute("SHOW work_mem")
            work_mem = cursor.fetchone()[0]
        return (
            f"PostgreSQL {version.split()[0]} (127.0.0.1, shared_buffers {buffers}, "
            f"work_mem {work_mem}), database {size}"
        )
    size = sum(path.stat().st_size for path in TEMPORARY.glob("portal.sqlite3*"))
    return f"SQLite {sqlite3.sqlite_version} (WAL), database {size / 2**20:,.0f} MiB"


def report(scales: list[tuple[str, list[Figure]]]) -> None:
    print("\nResults (seconds of wall clock; queries per call)")
    header = f"{'':<48}" + "".join(f" | {name:^29}" for name, _figures in scales)
    print(header)
    print(f"{'':<48}" + f" | {'median':>8} {'max':>8} {'queries':>9}" * len(scales))
    for index, first in enumerate(scales[0][1]):
        line = f"{first.label:<48}"
        for _name, figures in scales:
            figure = figures[index]
            line += f" | {figure.median:8.3f} {figure.worst:8.3f} {figure.query_text:>9}"
        print(line)
    full = scales[-1][1]
    pages = [figure for figure in full if figure.target]
    fast = all(figure.worst < 1 for figure in pages)
    print(
        f"\nTarget at {scales[-1][0]}: every dashboard request under 1 s: "
        f"{'met' if fast else 'MISSED'} (slowest {max(f.worst for f in pages):.3f} s)."
    )
    if len(scales) < 2:
        return
    differing = [
        (small, large)
        for small, large in zip(scales[0][1], full, strict=True)
        if small.target and set(small.queries) != set(large.queries)
    ]
    print(
        "Same number of queries at every scale: "
        + ("met." if not differing else f"MISSED for {len(differing)} measurement(s):")
    )
    for small, large in differing:
        extra = Counter(large.shapes)
        extra.subtract(Counter(small.shapes))
        print(f"  {large.label}: {small.query_text} → {large.query_text}")
        for shape, count in sorted(extra.items()):
            if count:
                print(f"    {count:+d} × {shape}")


def write_json(scales: list[tuple[str, list[Figure]]]) -> None:
    import json

    Path(OPTIONS.json).write_text(
        json.dumps(
            {
                "database": database_description(),
                "scales": [
                    {
                        "name": name,
                        "figures": [
                            {
                                "label": figure.label,
                                "median_s": figure.median,
                                "max_s": figure.worst,
                                "queries": figure.query_text,
                                "target": figure.target,
                            }
                            for figure in figures
                        ],
                    }
                    for name, figures in scales
                ],
            },
            indent=2,
            ensure_ascii=False,
        )
    )


def main() -> None:
    applications, affiliates = OPTIONS.applications, OPTIONS.affiliates
    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        call_command("createcachetable", verbosity=0)
        print(f"Migrated the scratch database in {time.perf_counter() - started:.1f} s")
        writer = Writer()
        staff = create_staff()
        Employer.objects.bulk_create(Employer(code=code, name=name) for code, name, _w in EMPLOYERS)
        program = Program(
            affiliates=affiliates, writer=writer, staff=staff, now=time.time(), seed=OPTIONS.seed
        )
        print(
            f"Python {sys.version.split()[0]}, Django {django.get_version()}, "
            f"{os.cpu_count()} CPUs, {platform.platform()}, load average "
            f"{os.getloadavg()[0]:.1f}"
        )
        scales: list[tuple[str, list[Figure]]] = []
        steps = [
            (max(affiliates // 100, 1), max(applications // 100, 1)),
            (affiliates, applications),
        ]
        for step_affiliates, step_applications in steps:
            started = time.perf_counter()
            program.load_affiliates(step_affiliates)
            program.load_applications(step_applications)
            after_load()
            counts = program.counts
            print(
                f"\nLoaded {step_affiliates:,} affiliates and users, {step_applications:,} "
                f"applications, {counts['payments']:,} payments, {counts['invitations']:,} "
                f"invitations, {counts['responses']:,} responses, {counts['answers']:,} answers "
                f"in {time.perf_counter() - started:.1f} s (with the analysis); "
                f"{database_description()}; peak RSS {peak_mib():.0f} MiB"
            )
            name = f"{step_applications:,} applications"
            figures = measure(program, staff, runs=OPTIONS.runs)
            for figure in figures:
                print(
                    f"  {figure.label:<48} median {figure.median:7.3f} s  max "
                    f"{figure.worst:7.3f} s  queries {figure.query_text}"
                )
            scales.append((name, figures))
        report(scales)
        if OPTIONS.json:
            write_json(scales)
        print(f"Load average at the end {os.getloadavg()[0]:.1f}; peak RSS {peak_mib():.0f} MiB")
        if OPTIONS.explain and connection.vendor == "postgresql":
            for figure in scales[-1][1]:
                if not figure.label.startswith("tally_refresh_all"):
                    explain(figure)
    finally:
        connections.close_all()
        if OPTIONS.keep:
            print(f"Kept {DATABASE_URL}")
        else:
            if OPTIONS.database == "postgres":
                _postgres_drop()
            shutil.rmtree(TEMPORARY, ignore_errors=True)


if __name__ == "__main__":
    main()
