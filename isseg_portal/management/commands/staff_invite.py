"""`python manage.py staff_invite EMAIL`: a one-time link for a staff member to set up the
second factor (TOTP), valid 24 hours; printed here and emailed to the person."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from isseg_portal.staff_second_factor import InvitationError, staff_invitation_issue


class Command(BaseCommand):
    help = (
        "Emite una invitación de un solo uso (24 horas) para que un miembro del personal "
        "configure su segundo factor; la imprime y la envía a su correo."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="correo de la cuenta de personal")

    def handle(self, *args, email: str, **options):
        user = get_user_model().objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No hay una cuenta con el correo {email}.")
        try:
            invitation, url = staff_invitation_issue(user=user, created_by=None)
        except InvitationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            f"Invitación para {user.email}, vence {invitation.expires_at:%Y-%m-%d %H:%M} UTC:"
        )
        self.stdout.write(url)
        self.stdout.write(f"También se envió a {user.email}.")
