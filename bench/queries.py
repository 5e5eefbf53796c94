"""Benchmark of queries per page: every list page with 1 row and with 100 rows.

    .venv/bin/python bench/queries.py [--rows 100] [--json F] [--keep]

A scratch PostgreSQL database, `isseg_bench_queries`, is created and migrated, with the demo
products and one staff account of each kind (superuser, Gerencia). Rows are added through the
project's own import of past applications (`loans.history.applications_import`, the one
`seed_demo --full` uses): one applicant's applications in every end state (paid, rejected,
cancelled, expired, in review), each on an affiliate of its own, and for each paid one a payment
survey invitation answered with a comment. With 1 row, then with `--rows` rows, each page is
requested with Django's test Client (DEBUG off, bench/settings.py) twice, and the queries of the
second request are counted (CaptureQueriesContext): Mis solicitudes, the admin's lists of
applications, affiliates and survey invitations, and /tablero/. Target: the same number of
queries at 1 and at 100 rows.
"""

import argparse
import json
import random
import shutil
import sys
import tempfile
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scratch

DATABASE = "isseg_bench_queries"
# The end states rows cycle through; the paid ones also get a survey invitation and answer.
FATES = ("disbursed", "rejected", "cancelled", "expired", "in_review")


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    return parser.parse_args()


class Data:
    """The accounts and the rows, added to with `grow`."""

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from affiliates.models import AffiliateLink
        from dashboard.staff_groups import MANAGER_GROUP
        from demo.history import HistoryStaff
        from demo.products import seed_products

        User = get_user_model()
        seed_products()
        self.rng = random.Random(3)
        self.superuser = User.objects.create_superuser(
            username="admin", email="admin@bench.test", password=None
        )
        self.manager = User.objects.create_user(
            username="gerencia", email="gerencia@bench.test", is_staff=True
        )
        self.manager.groups.add(Group.objects.get(name=MANAGER_GROUP))
        self.applicant = User.objects.create_user(username="solicitante", email="s@bench.test")
        self.staff = HistoryStaff(
            analyst=self.superuser, authorizer=self.superuser, treasurer=self.superuser
        )
        self.rows = 0
        self.affiliate = self._affiliate()
        AffiliateLink.objects.create(user=self.applicant, affiliate=self.affiliate)

    def _affiliate(self):
        from django.utils import timezone

        from affiliates.models import Affiliate, AffiliateStatus, DataSource, Employer, Sex
        from demo.affiliates import random_identity

        index = Affiliate.objects.count()
        identity = random_identity(self.rng, birth_date=date(1975, 6, 15), female=True)
        employer, _created = Employer.objects.get_or_create(
            code="SEG", defaults={"name": "Secretaría de Educación de Guanajuato"}
        )
        return Affiliate.objects.create(
            number=f"{700000 + index}",
            curp=identity["curp"],
            rfc=identity["rfc"],
            given_names=identity["given_names"],
            first_surname=identity["first_surname"],
            second_surname=identity["second_surname"],
            birth_date=date(1975, 6, 15),
            sex=Sex.FEMALE,
            status=AffiliateStatus.ACTIVE,
            employer=employer,
            municipality="Guanajuato",
            contribution_start=date(2008, 1, 16),
            base_salary="25000.00",
            net_pay="20000.00",
            current_deductions="0.00",
            source=DataSource.DATABASE,
            synced_at=timezone.now(),
            source_digest=f"bench-{index}",
        )

    def grow(self, rows: int) -> None:
        """Up to `rows` applications of the applicant and affiliates (one was made at start)."""
        from clabe import compute_control_digit
        from django.utils import timezone

        from dashboard import reporting
        from demo.history import _invitation, _payment_answers, _response, _steps
        from loans.history import HistoricalApplication, applications_import
        from loans.models import LoanProduct
        from surveys.models import Question, Survey, SurveyKind

        now = timezone.now()
        product = LoanProduct.objects.get(code="PC")
        records = []
        for index in range(self.rows, rows):
            affiliate = self.affiliate if index == 0 else self._affiliate()
            fate = FATES[index % len(FATES)]
            received = now - timedelta(days=40) + timedelta(minutes=17 * index)
            steps, extra = _steps(
                fate,
                received=received,
                now=now,
                rng=self.rng,
                staff=self.staff,
                applicant=self.applicant,
            )
            first_17 = f"002225{index:011d}"
            records.append(
                HistoricalApplication(
                    applicant=self.applicant,
                    affiliate=affiliate,
                    product=product,
                    amount=1000 * self.rng.randrange(10, 100),
                    quincenas=48,
                    received_at=received,
                    steps=tuple(steps),
                    clabe=first_17 + compute_control_digit(first_17),
                    bank_name="BANAMEX",
                    **extra,
                )
            )
        applications = applications_import(records=records)
        survey = Survey.objects.get(kind=SurveyKind.PAYMENT, is_active=True)
        questions = {
            (question.survey_id, question.code): question
            for question in Question.objects.filter(survey=survey)
        }
        for application in applications:
            if application.status != "disbursed":
                continue
            moment = application.status_changed_at + timedelta(hours=1)
            invitation = _invitation(application, survey, moment, moment, now)
            answers = {**_payment_answers(self.rng, 5), "comentario": "Muy fácil, gracias."}
            _response(self.rng, questions, invitation, moment, answers)
        reporting.tally_refresh_stale()
        self.rows = rows


def count_queries(data: Data) -> list[dict]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    applicant, superuser, manager = Client(), Client(), Client()
    applicant.force_login(data.applicant)
    superuser.force_login(data.superuser)
    manager.force_login(data.manager)
    pages = [
        ("Mis solicitudes", applicant, reverse("loans:application_list")),
        ("Admin: solicitudes", superuser, reverse("admin:loans_loanapplication_changelist")),
        ("Admin: afiliados", superuser, reverse("admin:affiliates_affiliate_changelist")),
        ("Admin: invitaciones", superuser, reverse("admin:surveys_invitation_changelist")),
        ("Tablero de gerencia", manager, reverse("dashboard:dashboard")),
    ]
    results = []
    for name, client, url in pages:
        client.get(url)  # the first request warms up (and refreshes the dashboard's tallies)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        results.append(
            {
                "name": name,
                "path": url,
                "queries": len(captured.captured_queries),
                "shapes": Counter(_shape(query["sql"]) for query in captured.captured_queries),
            }
        )
    return results


def _shape(sql: str) -> str:
    """A query without its literals, to tell which ones repeat."""
    import re

    sql = re.sub(r"'[^']*'", "?", sql)
    sql = re.sub(r"\b\d+\b", "?", sql)
    return sql[:160]


def main() -> None:
    options = _options()
    var_dir = Path(tempfile.mkdtemp(prefix="bench-queries-"))
    database_url = scratch.postgres_recreate(DATABASE)
    environment = scratch.server_environment(
        database_url=database_url, var_dir=var_dir, pki_port=scratch.free_port()
    )
    scratch.django_setup(environment)
    import logging

    # One log line per request (isseg_portal's request log): the counts below say enough.
    logging.getLogger("isseg_portal.request").setLevel(logging.WARNING)
    from django.core.management import call_command
    from django.db import connections

    try:
        call_command("migrate", verbosity=0)
        call_command("createcachetable", verbosity=0)
        data = Data()
        data.grow(1)
        small = count_queries(data)
        data.grow(options.rows)
        large = count_queries(data)
    finally:
        connections.close_all()
        if not options.keep:
            scratch.postgres_drop(DATABASE)
        shutil.rmtree(var_dir, ignore_errors=True)
    figures = {"rows": options.rows, "pages": []}
    print(f"\n{'page':<24} {'1 row':>6} {options.rows:>4} rows  verdict")
    for one, many in zip(small, large, strict=True):
        extra = Counter(many["shapes"])
        extra.subtract(one["shapes"])
        grown = {shape: count for shape, count in extra.items() if count}
        figures["pages"].append(
            {
                "name": one["name"],
                "path": one["path"],
                "queries_1": one["queries"],
                "queries_many": many["queries"],
                "differences": grown,
            }
        )
        verdict = "equal" if one["queries"] == many["queries"] else "DIFFERENT"
        print(f"{one['name']:<24} {one['queries']:>6} {many['queries']:>9}  {verdict}")
        for shape, count in grown.items():
            print(f"    {count:+d} x {shape}")
    if options.json:
        Path(options.json).write_text(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
