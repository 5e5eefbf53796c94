"""`python manage.py seed_demo`: demo data for a laptop or a training server.

Writes a demo institute database (the same views the portal reads in production), syncs the
portal's affiliates from it through the ordinary sync code, creates the demo loan products, and
creates demo accounts with a verified email, some linked to affiliates. Deterministic: running
it again changes nothing. It lives in `loans`, the app that may use all the others it seeds.
"""

from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from affiliates.demo import demo_affiliate_rows
from affiliates.institute_demo import create_institute_database
from affiliates.models import Affiliate, AffiliateLink, AffiliateStatus
from affiliates.sources import SourceUnavailable, source_from_settings
from affiliates.sync import affiliates_sync
from loans.demo import seed_products
from signatures.demo_pki.authority import DEMO_KEY_PASSWORD, DemoPKI

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


class Command(BaseCommand):
    help = "Crea datos de demostración: dependencias, afiliados y cuentas (idempotente)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Permite ejecutarlo con DJANGO_DEBUG distinto de 1 (nunca en producción).",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo crea cuentas con contraseñas conocidas: solo se ejecuta con "
                "DJANGO_DEBUG=1 (o con --force en un servidor de capacitación)."
            )
        self._seed_institute_database()
        products = seed_products()
        self.stdout.write(
            "Productos de demostración: " + ", ".join(product.code for product in products)
        )
        accounts = self._seed_accounts()
        self._print_summary(accounts)
        self._issue_certificates(accounts)

    def _seed_institute_database(self) -> None:
        source_settings = settings.AFFILIATES_SOURCE
        if source_settings["DRIVER"] != "sqlite3":
            # Never write demo rows into a real institutional database.
            self.stdout.write(
                "La fuente de afiliados no es la base de demostración: no se generan afiliados."
            )
            return
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

    @transaction.atomic
    def _seed_accounts(self) -> list[tuple[str, Affiliate | None, bool]]:
        user_model = get_user_model()
        accounts = []
        for email, status, is_superuser in DEMO_ACCOUNTS:
            user, created = user_model.objects.get_or_create(
                username=email,
                defaults={"email": email, "is_staff": is_superuser, "is_superuser": is_superuser},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            EmailAddress.objects.get_or_create(
                user=user, email=email, defaults={"primary": True, "verified": True}
            )
            affiliate = None
            if status is not None:
                affiliate = self._link(user, status)
            accounts.append((email, affiliate, is_superuser))
        return accounts

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
        out("  CURP                numero     nacimiento  estatus")
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
                f"{affiliate.birth_date:%d/%m/%Y}  {affiliate.status}{note}"
            )

    def _issue_certificates(self, accounts) -> None:
        """A demo e.firma (.cer and .key) for each linked demo account, issued once."""
        pki = DemoPKI.from_settings()
        pki.ensure()
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
            certificate = pki.demo_users_dir / f"{affiliate.curp}.cer"
            if not certificate.exists():
                pki.issue(
                    curp=affiliate.curp,
                    rfc=affiliate.rfc,
                    name=affiliate.full_name.upper(),
                    out_dir=pki.demo_users_dir,
                    password=DEMO_KEY_PASSWORD,
                )
            out(f"  {email:<24} {certificate}  y  {certificate.with_suffix('.key')}")
        samples = pki.directory / "muestras"
        out(f"  Certificados revocado y vencido, para probar el rechazo: {samples}")
