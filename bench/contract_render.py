"""Benchmark of the contract PDF: time to render a contract of 24 and of 144 quincenas.

    DJANGO_DEBUG=1 .venv/bin/python bench/contract_render.py [--runs 15] [--keep]

Uses a throw-away SQLite portal database in a temporary folder (DATABASE_URL is set before
Django starts, then migrated), so it never touches var/portal.sqlite3. Two applicants start an
application each through `loans.services` (the same eligibility, snapshot and folio as the
portal) and fill in their contact data and CLABE; then `loans.contract.contract_pdf` renders
each contract once to warm up (imports, WeasyPrint's own stylesheets) and `--runs` times more,
timed (wall clock, and the process's CPU time, which other load on the machine disturbs
less). The signed copy is measured (`draft=False`); the draft differs by a watermark and a
notice.
"""

import argparse
import io
import math
import os
import platform
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
TEMPORARY = Path(tempfile.mkdtemp(prefix="bench-contract-"))

# Before Django reads its settings: the portal database lives in TEMPORARY.
os.environ["DATABASE_URL"] = f"sqlite:///{TEMPORARY / 'portal.sqlite3'}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "isseg_portal.settings")
sys.path.insert(0, str(PROJECT))

import django  # noqa: E402

django.setup()

import weasyprint  # noqa: E402
from clabe import compute_control_digit  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from affiliates.demo import random_identity  # noqa: E402
from affiliates.models import Affiliate, AffiliateStatus, DataSource, Employer, Sex  # noqa: E402
from loans.contract import contract_pdf  # noqa: E402
from loans.models import LoanApplication, LoanProduct, SeniorityBand  # noqa: E402
from loans.services import (  # noqa: E402
    application_save_bank_account,
    application_save_contact,
    application_start,
)
from signatures.rendering import harfbuzz_subsets_fonts  # noqa: E402

AMOUNT = Decimal("60000.00")
TERMS = (24, 144)
SIGNED_ON = date(2026, 11, 21)


def create_product() -> LoanProduct:
    """The demo PC product, offering every term benchmarked."""
    product = LoanProduct.objects.create(
        code="PC",
        name="Préstamo personal para trabajadores activos",
        allowed_statuses=[AffiliateStatus.ACTIVE.value],
        annual_rate=Decimal("0.1367"),
        min_quincenas=min(TERMS),
        max_quincenas=max(TERMS),
        min_amount=Decimal("5000.00"),
        max_amount=Decimal("250000.00"),
        min_seniority_months=6,
        max_deduction_share=Decimal("0.30"),
        fund_rate=Decimal("0.01"),
        renewal_paid_fraction=Decimal("0.50"),
        valid_from=date(2000, 1, 1),
    )
    SeniorityBand.objects.create(product=product, from_months=6, salary_multiple=6)
    return product


def create_application(*, quincenas: int, product: LoanProduct, index: int) -> LoanApplication:
    """A draft of AMOUNT over `quincenas`, with contact data and CLABE, as the wizard leaves it."""
    identity = random_identity(random.Random(index), birth_date=date(1975, 6, 15), female=True)
    affiliate = Affiliate.objects.create(
        number=f"{900000 + index}",
        curp=identity["curp"],
        rfc=identity["rfc"],
        given_names=identity["given_names"],
        first_surname=identity["first_surname"],
        second_surname=identity["second_surname"],
        birth_date=date(1975, 6, 15),
        sex=Sex.FEMALE,
        status=AffiliateStatus.ACTIVE,
        employer=Employer.objects.get_or_create(
            code="SEG", defaults={"name": "Secretaría de Educación de Guanajuato"}
        )[0],
        municipality="Guanajuato",
        contribution_start=date(2008, 1, 16),
        base_salary=Decimal("25000.00"),
        net_pay=Decimal("20000.00"),
        current_deductions=Decimal("0.00"),
        source=DataSource.DATABASE,
        synced_at=timezone.now(),
        source_digest=f"bench-{index}",
    )
    user = get_user_model().objects.create_user(
        username=f"bench{index}", email=f"bench{index}@example.org"
    )
    application = application_start(
        applicant=user,
        affiliate=affiliate,
        product=product,
        amount=AMOUNT,
        quincenas=quincenas,
        affiliate_refreshed=True,
        ip_address=None,
    ).application
    application_save_contact(application=application, phone="4731234567", email=user.email)
    clabe = "00218070123456789"
    application_save_bank_account(
        application=application, clabe=clabe + compute_control_digit(clabe), account_is_own=True
    )
    return LoanApplication.objects.select_related("product", "affiliate__employer").get(
        pk=application.pk
    )


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile: with 15 samples, p95 is the slowest run."""
    ordered = sorted(samples)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def peak_mib() -> float:
    # ru_maxrss is in KiB on Linux: the peak of the whole process so far.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args()
    try:
        call_command("migrate", verbosity=0)
        product = create_product()
        print(
            f"Python {sys.version.split()[0]}, WeasyPrint {weasyprint.__version__}, "
            f"HarfBuzz subsetting: {harfbuzz_subsets_fonts()}, {os.cpu_count()} CPUs, "
            f"{platform.platform()}"
        )
        for index, quincenas in enumerate(TERMS):
            application = create_application(quincenas=quincenas, product=product, index=index)
            started = time.perf_counter()
            pdf = contract_pdf(application, draft=False, signed_on=SIGNED_ON)
            first = time.perf_counter() - started
            samples, cpu = [], []
            for _run in range(options.runs):
                started, started_cpu = time.perf_counter(), time.process_time()
                contract_pdf(application, draft=False, signed_on=SIGNED_ON)
                samples.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
            pages = len(PdfReader(io.BytesIO(pdf)).pages)
            print(
                f"{quincenas:>3} quincenas: {pages} pages, {len(pdf) / 1024:5.0f} KiB; "
                f"first {first:5.2f} s; {options.runs} runs: "
                f"median {statistics.median(samples):5.2f} s, "
                f"p95 {percentile(samples, 0.95):5.2f} s, "
                f"min {min(samples):5.2f} s; CPU median {statistics.median(cpu):5.2f} s; "
                f"peak RSS {peak_mib():4.0f} MiB"
            )
    finally:
        if options.keep:
            print(f"Kept {TEMPORARY}")
        else:
            shutil.rmtree(TEMPORARY, ignore_errors=True)


if __name__ == "__main__":
    main()
