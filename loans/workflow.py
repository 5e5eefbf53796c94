r"""The loan application's state machine, declared once: its states, the moves between them, who
may make each move, what the applicant reads about each state, and what follows a move once it
commits.

Pure: no database access. `loans.services.transitions.transition` applies a move (lock, check
here, save, audit event, effects after commit); the admin's buttons, the notices, the status
badges and the tasks read this module. Adding a state is: a member of `ApplicationStatus`, its
moves in `MOVES`, its line in `STATES`, and a migration for the field's choices.

    draft ─┬─> signed ─> in_review ─┬─> approved ─> disbursed
           │     ^  \               ├─> rejected
           │     │   \              └─> returned ─> signed (corrected and signed again)
           ├─> expired   └─> cancelled (by the applicant from draft, signed, in_review, returned)
           └─> cancelled
"""

from dataclasses import dataclass
from enum import StrEnum

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class ApplicationStatus(models.TextChoices):
    # Being filled in by the applicant; nothing is committed yet.
    DRAFT = "draft", _("Borrador")
    # The applicant signed the contract: this is the moment of submission.
    SIGNED = "signed", _("Firmada")
    # An analyst took it for review.
    IN_REVIEW = "in_review", _("En revisión")
    # Sent back to the applicant to correct; they correct it and sign again.
    RETURNED = "returned", _("Devuelta para corrección")
    # An authorizer approved it; the institutional seal follows.
    APPROVED = "approved", _("Aprobada")
    # Treasury registered the SPEI transfer.
    DISBURSED = "disbursed", _("Pagada")
    # Rejected by the institute, with a reason.
    REJECTED = "rejected", _("Rechazada")
    # Cancelled by the applicant before approval.
    CANCELLED = "cancelled", _("Cancelada")
    # Not completed and signed within the configured days.
    EXPIRED = "expired", _("Vencida")


S = ApplicationStatus

# The permissions of the staff moves (LoanApplication's Meta declares them).
PERMISSION_REVIEW = "loans.review_loanapplication"
PERMISSION_APPROVE = "loans.approve_loanapplication"
PERMISSION_PAY = "loans.pay_loanapplication"


class Actor(StrEnum):
    """Who makes a move: the applicant (on their own application), staff holding the move's
    permission, or the system (a scheduled task, no person)."""

    APPLICANT = "applicant"
    STAFF = "staff"
    SYSTEM = "system"


class Effect(StrEnum):
    """What runs after a move commits, each as an idempotent task (`loans.tasks.EFFECT_TASKS`)."""

    # The applicant's notice in the portal and its email.
    NOTIFY = "notify"
    # The institute's seal on the signed contract.
    SEAL = "seal"


@dataclass(frozen=True)
class Move:
    source: ApplicationStatus
    target: ApplicationStatus
    actor: Actor
    # For staff moves: the permission that allows it.
    permission: str = ""


MOVES: tuple[Move, ...] = (
    Move(S.DRAFT, S.SIGNED, Actor.APPLICANT),
    Move(S.RETURNED, S.SIGNED, Actor.APPLICANT),
    Move(S.DRAFT, S.CANCELLED, Actor.APPLICANT),
    Move(S.SIGNED, S.CANCELLED, Actor.APPLICANT),
    Move(S.IN_REVIEW, S.CANCELLED, Actor.APPLICANT),
    Move(S.RETURNED, S.CANCELLED, Actor.APPLICANT),
    Move(S.DRAFT, S.EXPIRED, Actor.SYSTEM),
    Move(S.SIGNED, S.IN_REVIEW, Actor.STAFF, PERMISSION_REVIEW),
    Move(S.IN_REVIEW, S.RETURNED, Actor.STAFF, PERMISSION_REVIEW),
    Move(S.IN_REVIEW, S.REJECTED, Actor.STAFF, PERMISSION_REVIEW),
    Move(S.IN_REVIEW, S.APPROVED, Actor.STAFF, PERMISSION_APPROVE),
    Move(S.APPROVED, S.DISBURSED, Actor.STAFF, PERMISSION_PAY),
)

# Which state may follow which; a move not listed is refused.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    status: frozenset(move.target for move in MOVES if move.source == status) for status in S
}


class Tone(StrEnum):
    """How a state's badge looks to the applicant (templates/loans/includes/status_badge.html)."""

    ACTIVE = ""
    GOOD = "success"
    ATTENTION = "warning"
    CLOSED = "neutral"


@dataclass(frozen=True)
class State:
    tone: Tone
    # What the state means for the applicant, in their notice and its email; empty: no notice
    # (a draft being created is their own doing).
    notice: str | Promise = ""
    # The reason staff wrote is addressed to the applicant (otherwise it is internal).
    reason_for_applicant: bool = False
    # What runs once a move into this state commits.
    after_commit: tuple[Effect, ...] = ()


STATES: dict[str, State] = {
    S.DRAFT: State(Tone.CLOSED),
    S.SIGNED: State(
        Tone.ACTIVE,
        _("Recibimos tu solicitud firmada. El Instituto la revisará y te avisaremos de cada paso."),
        after_commit=(Effect.NOTIFY,),
    ),
    S.IN_REVIEW: State(
        Tone.ACTIVE,
        _("Una persona del Instituto está revisando tu solicitud."),
        after_commit=(Effect.NOTIFY,),
    ),
    S.RETURNED: State(
        Tone.ATTENTION,
        _(
            "Tu solicitud necesita una corrección. Lee el motivo, corrige lo que se indica y "
            "fírmala de nuevo."
        ),
        reason_for_applicant=True,
        after_commit=(Effect.NOTIFY,),
    ),
    S.APPROVED: State(
        Tone.GOOD,
        _(
            "Tu préstamo fue aprobado. El Instituto depositará el monto por SPEI en la cuenta "
            "que registraste."
        ),
        after_commit=(Effect.NOTIFY, Effect.SEAL),
    ),
    S.DISBURSED: State(
        Tone.GOOD,
        _(
            "Tu préstamo ya se depositó. Los pagos se descontarán cada quincena según tu tabla "
            "de pagos."
        ),
        after_commit=(Effect.NOTIFY,),
    ),
    S.REJECTED: State(
        Tone.CLOSED,
        _("Tu solicitud fue rechazada. Abajo está el motivo."),
        reason_for_applicant=True,
        after_commit=(Effect.NOTIFY,),
    ),
    S.CANCELLED: State(
        Tone.CLOSED, _("Tu solicitud quedó cancelada."), after_commit=(Effect.NOTIFY,)
    ),
    S.EXPIRED: State(
        Tone.CLOSED,
        _(
            "Tu solicitud venció porque no se completó y firmó a tiempo. Puedes empezar otra "
            "desde el simulador."
        ),
        after_commit=(Effect.NOTIFY,),
    ),
}

# The applicant may change its data: a draft, or one returned for correction.
EDITABLE_STATUSES = frozenset({S.DRAFT, S.RETURNED})
# The contract carries (or is about to carry) the institute's seal.
SEALED_STATUSES = frozenset({S.APPROVED, S.DISBURSED})


def _declared(source: ApplicationStatus, target: ApplicationStatus) -> Move:
    """The move of `MOVES` from `source` to `target` (the staff actions name moves, never
    declare them again)."""
    for move in MOVES:
        if (move.source, move.target) == (source, target):
            return move
    raise ValueError(f"No move from {source} to {target} is declared.")


@dataclass(frozen=True)
class StaffAction:
    """A button of the admin's application page: one staff move, with the words around it."""

    # In the action's URL.
    name: str
    label: str | Promise
    move: Move
    # What the confirmation page asks or explains.
    question: str | Promise


STAFF_ACTIONS: dict[str, StaffAction] = {
    action.name: action
    for action in (
        StaffAction(
            "revisar",
            _("Tomar para revisión"),
            _declared(S.SIGNED, S.IN_REVIEW),
            _("¿Tomar esta solicitud para revisarla? Quedará asignada a ti."),
        ),
        StaffAction(
            "aprobar",
            _("Aprobar"),
            _declared(S.IN_REVIEW, S.APPROVED),
            _("¿Aprobar este préstamo? El contrato recibirá el sello institucional."),
        ),
        StaffAction(
            "devolver",
            _("Devolver para corrección"),
            _declared(S.IN_REVIEW, S.RETURNED),
            _("El solicitante leerá el motivo, corregirá y volverá a firmar."),
        ),
        StaffAction(
            "rechazar",
            _("Rechazar"),
            _declared(S.IN_REVIEW, S.REJECTED),
            _("La solicitud no continuará. El solicitante leerá el motivo."),
        ),
        StaffAction(
            "pagar",
            _("Registrar pago"),
            _declared(S.APPROVED, S.DISBURSED),
            _("Registra la transferencia SPEI: el monto y la CLABE deben ser los de la solicitud."),
        ),
    )
}


def actor_for(target: str) -> tuple[Actor, str]:
    """Who makes the moves into `target` and with which permission (the same for every source
    of a target, which `_check` below makes sure of)."""
    moves = [move for move in MOVES if move.target == target]
    if not moves:
        raise KeyError(target)
    return moves[0].actor, moves[0].permission


def signing_refusal(*, folio: str, status: str, complete: bool) -> str | None:
    """Why the application cannot be signed now, in words for the applicant, or None when it
    can: editable (a draft, or returned for correction) and confirmed in the wizard's last step.

    The one place that decides it: the signing page, the signing API, the contract preview and
    the transition itself all ask here."""
    if status == S.SIGNED:
        return str(_("La solicitud %(folio)s ya está firmada.") % {"folio": folio})
    if status not in EDITABLE_STATUSES:
        return str(
            _("La solicitud %(folio)s está %(status)s: ya no se puede firmar.")
            % {"folio": folio, "status": _label(status)}
        )
    if not complete:
        return str(
            _(
                "Antes de firmar, completa los pasos de tu solicitud %(folio)s y confírmala en "
                "el último paso."
            )
            % {"folio": folio}
        )
    return None


def _label(status: str) -> str:
    return str(S(status).label).lower()


def _check() -> None:
    """The declarations agree with each other (run at import: a wrong table never runs)."""
    for status in S:
        if status not in STATES:
            raise ValueError(f"{status} has no State")
    for target in S:
        kinds = {(move.actor, move.permission) for move in MOVES if move.target == target}
        if len(kinds) > 1:
            raise ValueError(f"the moves into {target} disagree on who makes them")
    for action in STAFF_ACTIONS.values():
        if action.move.actor != Actor.STAFF:
            raise ValueError(f"{action.name} is not a staff move")


_check()
