"""Benchmark of the contract PDF: time to render a contract of 24 and of 144 quincenas.

    DJANGO_DEBUG=1 .venv/bin/python bench/contract_render.py [--runs 15] [--keep]
    DJANGO_DEBUG=1 .venv/bin/python bench/contract_render.py --reference [--runs 15] [--json F]

Uses a throw-away SQLite portal database in a temporary folder (DATABASE_URL is set before
Django starts, then migrated), so it never touches var/portal.sqlite3. Two applicants start an
application each through `loans.services` (the same eligibility, snapshot and folio as the
portal) and fill in their contact data and CLABE; then `loans.contract.contract_pdf` renders
each contract once to warm up (imports, WeasyPrint's own stylesheets) and `--runs` times more,
timed (wall clock, and the process's CPU time, which other load on the machine disturbs
less). The signed copy is measured (`draft=False`); the draft differs by a watermark and a
notice.

With --reference, the 24-quincena contract (five pages) is compared instead with a reference
document of the same length, bench/reference/reference.html (five pages, a 60-row table, the
same fonts, a stylesheet of similar weight), rendered by plain `weasyprint.HTML().write_pdf()`
in the same process; the two alternate run by run (ABAB...), so load on the machine hits both
alike, and the figure is the ratio of their medians. Target: at most 1.5.
"""

import argparse
import io
import json
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
import weasyprint.urls  # noqa: E402
from clabe import compute_control_digit  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from affiliates.models import Affiliate, AffiliateStatus, DataSource, Employer, Sex  # noqa: E402
from demo.affiliates import random_identity  # noqa: E402
from loans.contract import contract_pdf  # noqa: E402
from loans.models import LoanApplication, LoanProduct, SeniorityBand  # noqa: E402
from loans.services import (  # noqa: E402
    application_save_bank_account,
    application_save_contact,
    application_start,
)
from signatures.rendering import harfbuzz_subsets_fonts  # noqa: E402

REFERENCE_HTML = PROJECT / "bench" / "reference" / "reference.html"
REFERENCE_TARGET = 1.5
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


def reference_pdf() -> bytes:
    """The reference document by plain WeasyPrint; a font or stylesheet it cannot load stops it
    (instead of a lighter document measured without anyone noticing)."""
    fetcher = weasyprint.urls.URLFetcher(fail_on_errors=True)
    return weasyprint.HTML(filename=str(REFERENCE_HTML), url_fetcher=fetcher).write_pdf()


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def compare_with_reference(application: LoanApplication, runs: int) -> dict:
    """The contract and the reference rendered alternately, `runs` times each after a warm-up
    of each; the ratio of the medians (and of the CPU medians)."""
    contract = contract_pdf(application, draft=False, signed_on=SIGNED_ON)
    reference = reference_pdf()
    samples: dict[str, list[float]] = {"contract": [], "reference": []}
    cpu: dict[str, list[float]] = {"contract": [], "reference": []}
    render = {
        "contract": lambda: contract_pdf(application, draft=False, signed_on=SIGNED_ON),
        "reference": reference_pdf,
    }
    for run in range(runs):
        # ABAB...: the order alternates too, so neither always follows the other.
        order = ("contract", "reference") if run % 2 == 0 else ("reference", "contract")
        for name in order:
            started, started_cpu = time.perf_counter(), time.process_time()
            render[name]()
            samples[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    contract_median = statistics.median(samples["contract"])
    reference_median = statistics.median(samples["reference"])
    return {
        "runs": runs,
        "contract_pages": page_count(contract),
        "reference_pages": page_count(reference),
        "contract_kib": round(len(contract) / 1024),
        "reference_kib": round(len(reference) / 1024),
        "contract_median_s": contract_median,
        "reference_median_s": reference_median,
        "contract_cpu_median_s": statistics.median(cpu["contract"]),
        "reference_cpu_median_s": statistics.median(cpu["reference"]),
        "ratio": contract_median / reference_median,
        "cpu_ratio": statistics.median(cpu["contract"]) / statistics.median(cpu["reference"]),
        "target": REFERENCE_TARGET,
        "peak_rss_mib": peak_mib(),
    }


def reference_main(options: argparse.Namespace, product: LoanProduct) -> None:
    application = create_application(quincenas=min(TERMS), product=product, index=0)
    figures = compare_with_reference(application, options.runs)
    print(
        f"Contract ({min(TERMS)} quincenas, {figures['contract_pages']} pages) against the "
        f"reference ({figures['reference_pages']} pages, 60-row table), {options.runs} runs "
        f"each, alternating: contract median {figures['contract_median_s']:.3f} s, reference "
        f"median {figures['reference_median_s']:.3f} s; ratio {figures['ratio']:.2f} "
        f"(CPU {figures['cpu_ratio']:.2f}), target <= {REFERENCE_TARGET}"
    )
    if options.json:
        Path(options.json).write_text(json.dumps(figures, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--reference", action="store_true", help="compare with bench/reference/reference.html"
    )
    parser.add_argument("--json", help="also write the figures to this JSON file")
    options = parser.parse_args()
    try:
        call_command("migrate", verbosity=0)
        product = create_product()
        if options.reference:
            reference_main(options, product)
            return
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
