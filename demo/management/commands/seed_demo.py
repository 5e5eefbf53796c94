"""`python manage.py seed_demo`: demo data for a laptop or a training server.

Writes a demo institute database (the same views the portal reads in production), syncs the
portal's affiliates from it through the ordinary sync code, creates the demo loan products,
creates demo accounts with a verified email (some linked to affiliates, with a demo e.firma),
one staff account per back-office group, and a demo application in every state
(`demo.applications`; `--no-applications` leaves them out). With `--full`, also a program
history at the real program's scale for the managers' dashboard (`demo.history`).
Deterministic: running it again changes nothing. It lives in the `demo` app, above every
other, which may use all the apps it seeds.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from affiliates.models import Affiliate, AffiliateLink, AffiliateStatus
from affiliates.sources import SourceUnavailable, source_from_settings
from affiliates.sync import affiliates_sync
from demo.affiliates import demo_affiliate_rows
from demo.applications import (
    SCENARIOS,
    DemoApplicant,
    DemoStaff,
    ShowcaseError,
    demo_efirma,
    demo_pki_served,
    scenario_affiliate,
    showcase_applications,
    showcase_seed,
    showcase_state,
)
from demo.history import HistoryStaff, history_seed
from demo.institute import create_institute_database
from demo.pki.authority import DEMO_KEY_PASSWORD, DemoPKI
from demo.products import seed_products
from isseg_portal.formatting import pesos

# Demo only: printed by this command and in the README. The command refuses to run outside
# DEBUG unless forced, so these accounts never appear in production by accident.
DEMO_PASSWORD = "Demo-ISSEG-2026"  # noqa: S105

DEMO_ACCOUNTS = [
    # email, affiliate status to link to (None: not linked), is_superuser
    ("activo@demo.test", AffiliateStatus.ACTIVE, False),
    ("pensionado@demo.test", AffiliateStatus.PENSIONER, False),
    ("jubilado@demo.test", AffiliateStatus.RETIREE, False),
    ("nuevo@demo.test", None, False),
    ("admin@demo.test", None, True),
]

DEMO_STAFF = [
    # email, group (loans/migrations/0006_staff_groups.py), what they do in the admin
    ("analista@demo.test", "Analistas", "toma las firmadas para revisión, devuelve o rechaza"),
    ("autorizador@demo.test", "Autorizadores", "aprueba las que revisó otra persona"),
    ("tesoreria@demo.test", "Tesorería", "registra el pago SPEI de las aprobadas"),
    ("gerencia@demo.test", "Gerencia", "tablero del programa (/tablero/) y encuestas"),
]


class Command(BaseCommand):
    help = (
        "Crea datos de demostración: afiliados, productos, cuentas, personal y una solicitud "
        "en cada estado (idempotente)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Permite ejecutarlo con DJANGO_DEBUG distinto de 1 (nunca en producción).",
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help=(
                "Añade la historia del programa a escala real (1,187 solicitudes en 171 días, "
                "456 pagadas, encuestas) para el tablero de gerencia."
            ),
        )
        parser.add_argument(
            "--no-applications",
            action="store_true",
            help="No crea las solicitudes de demostración (una en cada estado) ni sus cuentas.",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo crea cuentas con contraseñas conocidas: solo se ejecuta con "
                "DJANGO_DEBUG=1 (o con --force en un servidor de capacitación)."
            )
        demo_institute = self._seed_institute_database()
        products = seed_products()
        self.stdout.write(
            "Productos de demostración: " + ", ".join(product.code for product in products)
        )
        accounts = self._seed_accounts()
        staff = self._seed_staff()
        pki = DemoPKI.from_settings()
        pki.ensure()
        # Contracts signed with demo e.firmas in the names of real affiliates: never.
        with_applications = demo_institute and not options["no_applications"]
        # Linked before the summary picks the affiliates it offers for linking by hand.
        applicants = self._seed_applicants(pki) if with_applications else {}
        self._print_summary(accounts)
        self._print_staff(staff)
        self._issue_certificates(pki, accounts)
        if with_applications:
            self._seed_applications(pki, applicants, staff)
        if options["full"] and demo_institute:
            self._seed_history(staff)

    def _seed_history(self, staff) -> None:
        out = self.stdout.write
        out("")
        out(self.style.MIGRATE_HEADING("Historia del programa (--full)"))
        result = history_seed(
            staff=HistoryStaff(
                analyst=staff["Analistas"],
                authorizer=staff["Autorizadores"],
                treasurer=staff["Tesorería"],
            )
        )
        if not result.created:
            out("  Ya estaba creada: no se cambia nada.")
        else:
            out(
                f"  {result.applications} solicitudes, {result.paid} pagadas, "
                f"{result.responses} respuestas de encuesta."
            )
        out("  Véala en /tablero/ con gerencia@demo.test.")

    def _seed_institute_database(self) -> bool:
        """Write and sync the demo institute database; False when the source is a real one."""
        source_settings = settings.AFFILIATES_SOURCE
        if source_settings["DRIVER"] != "sqlite3":
            # Never write demo rows into a real institutional database.
            self.stdout.write(
                "La fuente de afiliados no es la base de demostración: no se generan afiliados "
                "ni solicitudes de demostración."
            )
            return False
        affiliate_rows, loan_rows = demo_affiliate_rows()
        path = Path(source_settings["DSN"])
        path.parent.mkdir(parents=True, exist_ok=True)
        create_institute_database(path, affiliate_rows, loan_rows)
        try:
            result = affiliates_sync(source=source_from_settings())
        except SourceUnavailable as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Afiliados de demostración: {result.created} nuevos, {result.updated} "
            f"actualizados, {result.unchanged} sin cambios, {len(result.rejected)} rechazados."
        )
        return True

    @transaction.atomic
    def _seed_accounts(self) -> list[tuple[str, Affiliate | None, bool]]:
        accounts = []
        for email, status, is_superuser in DEMO_ACCOUNTS:
            user = _account(email, is_staff=is_superuser, is_superuser=is_superuser)
            affiliate = None
            if status is not None:
                affiliate = self._link(user, status)
            accounts.append((email, affiliate, is_superuser))
        return accounts

    @transaction.atomic
    def _seed_staff(self) -> dict[str, AbstractBaseUser]:
        """One account per back-office group; the group says what each may do."""
        staff = {}
        for email, group_name, _duties in DEMO_STAFF:
            user = _account(email, is_staff=True, is_superuser=False)
            user.groups.add(Group.objects.get(name=group_name))
            staff[group_name] = user
        return staff

    @transaction.atomic
    def _seed_applicants(self, pki: DemoPKI) -> dict[str, DemoApplicant]:
        """The account of each demo application, linked to an affiliate granted its loan."""
        applicants = {}
        for scenario in SCENARIOS:
            user = _account(scenario.email, is_staff=False, is_superuser=False)
            link = AffiliateLink.objects.filter(user=user).select_related("affiliate").first()
            if link is not None:
                affiliate = link.affiliate
            else:
                affiliate = scenario_affiliate(scenario)
                if affiliate is None:
                    self.stderr.write(
                        self.style.WARNING(
                            f"Ningún afiliado libre puede pedir el préstamo de {scenario.email}: "
                            "se omite su solicitud de demostración."
                        )
                    )
                    continue
                AffiliateLink.objects.create(user=user, affiliate=affiliate)
            applicants[scenario.email] = DemoApplicant(user, affiliate, demo_efirma(pki, affiliate))
        return applicants

    def _link(self, user, status: str) -> Affiliate | None:
        existing = AffiliateLink.objects.filter(user=user).select_related("affiliate").first()
        if existing:
            return existing.affiliate
        # An unblocked, unlinked affiliate of that status with no deductions and the longest
        # seniority, so the demo account can simulate and apply right away.
        candidates = Affiliate.objects.filter(
            status=status, is_blocked=False, link__isnull=True
        ).order_by("current_deductions", "contribution_start", "number")
        affiliate = candidates.first()
        if affiliate is None:
            return None
        AffiliateLink.objects.create(user=user, affiliate=affiliate)
        return affiliate

    def _print_summary(self, accounts) -> None:
        out = self.stdout.write
        out("")
        out(self.style.MIGRATE_HEADING(f"Cuentas de demostración (contraseña: {DEMO_PASSWORD})"))
        for email, affiliate, is_superuser in accounts:
            if is_superuser:
                role = "administración del portal (/admin/)"
            elif affiliate:
                role = f"vinculada a {affiliate.full_name} ({affiliate.get_status_display()})"
            else:
                role = "sin vincular: pruebe «Vincular mi afiliación» con los datos de abajo"
            out(f"  {email:<24} {role}")
        out("")
        out(self.style.MIGRATE_HEADING("Afiliados para probar la vinculación"))
        out("  CURP                numero     nacimiento  neto quincena  estatus")
        samples = [
            Affiliate.objects.filter(status=status, is_blocked=False, link__isnull=True)
            .order_by("number")
            .first()
            for status in (AffiliateStatus.ACTIVE, AffiliateStatus.PENSIONER)
        ]
        samples += [
            Affiliate.objects.filter(status=AffiliateStatus.TERMINATED).order_by("number").first(),
            Affiliate.objects.filter(is_blocked=True, link__isnull=True).order_by("number").first(),
        ]
        for affiliate in filter(None, samples):
            note = " (bloqueado)" if affiliate.is_blocked else ""
            out(
                f"  {affiliate.curp}  {affiliate.number:<10} "
                f"{affiliate.birth_date:%d/%m/%Y}  {affiliate.net_pay:>13}  "
                f"{affiliate.status}{note}"
            )

    def _print_staff(self, staff) -> None:
        out = self.stdout.write
        out("")
        out(
            self.style.MIGRATE_HEADING(
                "Personal del Instituto: entre en /admin/ con el correo y la misma contraseña"
            )
        )
        for email, group_name, duties in DEMO_STAFF:
            out(f"  {email:<24} {group_name}: {duties}")
        if settings.STAFF_REQUIRE_MFA:
            out("  La primera vez se le pedirá configurar un segundo factor (TOTP).")

    def _issue_certificates(self, pki: DemoPKI, accounts) -> None:
        """A demo e.firma (.cer and .key) for each linked demo account, issued once."""
        out = self.stdout.write
        out("")
        out(
            self.style.MIGRATE_HEADING(
                f"e.firma de demostración (contraseña de las llaves: {DEMO_KEY_PASSWORD})"
            )
        )
        for email, affiliate, _is_superuser in accounts:
            if affiliate is None:
                continue
            efirma = demo_efirma(pki, affiliate)
            out(f"  {email:<24} {efirma.certificate_path}  y  {efirma.key_path}")
        samples = pki.directory / "muestras"
        out(f"  Certificados revocado y vencido, para probar el rechazo: {samples}")

    def _seed_applications(self, pki: DemoPKI, applicants, staff) -> None:
        """A demo application in every state, made once; then the table of all of them."""
        out = self.stdout.write
        problem = None
        before = {application.pk for application in showcase_applications()}
        try:
            # Signing and sealing ask OCSP, CRL and TSA over HTTP; `make run` starts
            # `demo_pki serve` only after seeding.
            with (
                _quiet_logs("werkzeug", "django-q", "signatures", "loans"),
                demo_pki_served(pki, host=settings.DEMO_PKI_HOST, port=settings.DEMO_PKI_PORT),
            ):
                showcase_seed(
                    applicants=applicants,
                    staff=DemoStaff(
                        analyst=staff["Analistas"],
                        authorizer=staff["Autorizadores"],
                        treasurer=staff["Tesorería"],
                    ),
                )
        except ShowcaseError as error:
            problem = error.message
        applications = showcase_applications()
        created = sum(application.pk not in before for application in applications)
        out("")
        out(
            self.style.MIGRATE_HEADING(
                f"Solicitudes de demostración ({created} nuevas; cuentas solicitanteN@demo.test "
                "con la misma contraseña)"
            )
        )
        out(f"  {'Folio':<16}{'Estado':<40}{'Cuenta':<25}{'CURP (su e.firma)':<20}Monto")
        for application in applications:
            out(
                f"  {application.folio:<16}{showcase_state(application):<40}"
                f"{application.applicant.email:<25}{application.affiliate.curp:<20}"
                f"{pesos(application.amount)}"
            )
        out(f"  e.firma de cada cuenta: {pki.demo_users_dir}/<CURP>.cer y .key")
        if problem:
            # The rest of the demo works; the missing applications are made by the next run.
            self.stderr.write(
                self.style.WARNING(
                    f"No se crearon todas las solicitudes de demostración: "
                    f"{problem.rstrip('.')}. Vuelva a ejecutar seed_demo para completarlas."
                )
            )


def _account(email: str, *, is_staff: bool, is_superuser: bool):
    """A demo account with the demo password and a verified email, created once."""
    user, created = get_user_model().objects.get_or_create(
        username=email,
        defaults={"email": email, "is_staff": is_staff, "is_superuser": is_superuser},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"primary": True, "verified": True}
    )
    return user


@contextmanager
def _quiet_logs(*names: str) -> Iterator[None]:
    """Only warnings from these loggers for a while: every OCSP request, signature and queued
    task at INFO would bury the table that says what was made."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
