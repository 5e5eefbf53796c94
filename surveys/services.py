"""Every write of the surveys app: questionnaire versions, invitations and their answers.

An invitation is made when an application is signed or paid, once that transition committed
(`surveys.receivers` listens to the loans transitions); its email goes out in a task
(`surveys.tasks.invitation_send`), and one reminder later (`surveys.tasks.invitations_remind`,
hourly). The
link carries a signed token, the only credential of the answer page: whoever holds the email
can answer, once, until the invitation expires.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from isseg_portal.background import enqueue_on_commit
from isseg_portal.institute_time import month_of
from loans.models import LoanApplication
from surveys.models import Answer, Invitation, Question, Response, Survey, SurveyKind
from surveys.questionnaire import AnswerInvalid, ParsedAnswer, answer_parse

logger = logging.getLogger(__name__)

# Tokens signed for anything else on the site (sessions, password resets) never open a survey.
TOKEN_SALT = "surveys.invitation"  # noqa: S105 (a salt, public by design)


class SurveyError(Exception):
    """What the rules refuse. `message` is ready to show to the person; `code` names the
    refusal (the pages choose their HTTP status by it); `errors` maps question codes to their
    message when the answers themselves were refused."""

    def __init__(self, message: str, code: str = "refused", errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.errors = errors or {}


# --- Questionnaires ---------------------------------------------------------------------------


def survey_new_version(*, survey: Survey) -> Survey:
    """A copy of `survey` and its questions as the next version of its kind, not yet active.

    Answered versions are frozen; this is how their questions change.
    """
    with transaction.atomic():
        copy = Survey.objects.create(
            kind=survey.kind,
            version=survey_version_next(kind=survey.kind),
            title=survey.title,
            introduction=survey.introduction,
            is_active=False,
        )
        Question.objects.bulk_create(
            Question(
                survey=copy,
                position=question.position,
                code=question.code,
                text=question.text,
                type=question.type,
                required=question.required,
            )
            for question in survey.questions.order_by("position", "pk")
        )
    return copy


def survey_version_next(*, kind: str) -> int:
    """The number of the next version of `kind`. Inside the caller's transaction: the kind's
    surveys stay locked until it ends, so two new versions at once never get the same number."""
    versions = Survey.objects.select_for_update().filter(kind=kind)
    return max(versions.values_list("version", flat=True), default=0) + 1


def survey_activate(*, survey: Survey) -> Survey:
    """Make `survey` the version new invitations of its kind use; the previous one stops.

    Invitations already made keep their version, so nobody answers questions they were not
    invited to.
    """
    with transaction.atomic():
        list(Survey.objects.select_for_update().filter(kind=survey.kind))
        locked = Survey.objects.get(pk=survey.pk)
        if locked.is_active:
            survey.is_active = True
            return survey
        if not locked.questions.exists():
            raise SurveyError(
                _(
                    "La encuesta «%(survey)s» no tiene preguntas: agrégalas antes de hacerla "
                    "vigente."
                )
                % {"survey": locked}
            )
        # One active per kind (a constraint): the old one goes first.
        Survey.objects.filter(kind=locked.kind, is_active=True).update(is_active=False)
        locked.is_active = True
        locked.save(update_fields=["is_active"])
    survey.is_active = True
    return survey


# --- Invitations ------------------------------------------------------------------------------


def invitation_create(*, application: LoanApplication, kind: str) -> Invitation:
    """The invitation of `application` to the active survey of `kind`, made once.

    Called once the transition that signed or paid the application committed
    (`surveys.receivers`); a second call (a returned application signed again) returns the
    invitation already made and emails nothing. A new one is emailed by a task.
    """
    existing = Invitation.objects.filter(application=application, kind=kind).first()
    if existing is not None:
        return existing
    survey = Survey.objects.filter(kind=kind, is_active=True).first()
    if survey is None:
        raise SurveyError(
            _("No hay una encuesta vigente «%(kind)s».") % {"kind": SurveyKind(kind).label}
        )
    now = timezone.now()
    invitation, created = Invitation.objects.get_or_create(
        application=application,
        kind=kind,
        defaults={
            "survey": survey,
            "created_at": now,
            "month": month_of(now),
            "expires_at": now + timedelta(days=settings.SURVEYS_INVITATION_DAYS),
        },
    )
    if created:
        # Imported here: the tasks module uses this one's links.
        from surveys.tasks import invitation_send

        enqueue_on_commit(invitation_send, invitation.pk, group="surveys")
    return invitation


def invitation_token(invitation: Invitation) -> str:
    """The credential in the invitation's link.

    It names the invitation and part of its application's opaque id: a database restored
    elsewhere, whose ids were reused, still does not open someone else's invitation with it.
    """
    payload = [invitation.pk, invitation.application.public_id.hex[:12]]
    # A plain signature, without signing.dumps' timestamp: the same invitation always gets the
    # same link (email, reminder and banner alike); expiry is the invitation's own date.
    return signing.Signer(salt=TOKEN_SALT).sign_object(payload)


def invitation_url(invitation: Invitation) -> str:
    """The absolute link of the invitation's answer page, for emails (they leave the portal)."""
    return settings.PORTAL_BASE_URL + reverse("surveys:answer", args=[invitation_token(invitation)])


def invitation_from_token(token: str) -> Invitation:
    """The invitation a token names, or SurveyError for a broken, altered or foreign one."""
    refused = SurveyError(
        _(
            "El enlace de la encuesta no es válido. Revisa que lo hayas copiado completo del "
            "correo que te enviamos."
        ),
        code="invalid_link",
    )
    try:
        invitation_id, fingerprint = signing.Signer(salt=TOKEN_SALT).unsign_object(token)
    except (signing.BadSignature, TypeError, ValueError):
        raise refused from None
    invitation = (
        Invitation.objects.select_related("application", "survey").filter(pk=invitation_id).first()
    )
    if invitation is None or invitation.application.public_id.hex[:12] != fingerprint:
        raise refused
    return invitation


def invitation_ensure_open(*, invitation: Invitation) -> None:
    """SurveyError when the invitation was already answered or has expired."""
    if invitation.answered_at is not None:
        raise SurveyError(
            _("Ya respondiste esta encuesta el %(date)s. ¡Gracias!")
            % {"date": _date_text(invitation.answered_at)},
            code="answered",
        )
    if invitation.expires_at <= timezone.now():
        raise SurveyError(
            _(
                "Este enlace venció el %(date)s. Ya no es posible responder esta encuesta; "
                "gracias por tu interés."
            )
            % {"date": _date_text(invitation.expires_at)},
            code="expired",
        )


# --- Answers ----------------------------------------------------------------------------------


def response_submit(*, invitation: Invitation, data: dict, contact_consent: bool) -> Response:
    """Store the answers to an invitation, once.

    `data` maps each question's code to what the person chose or wrote. Every answer is checked
    first; if any is refused nothing is written and SurveyError carries one message per
    question. The invitation is locked, so a double submit stores one response and the second
    one is told it was already answered.
    """
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        invitation_ensure_open(invitation=locked)
        questions = list(locked.survey.questions.order_by("position", "pk"))
        parsed: dict[int, ParsedAnswer] = {}
        errors: dict[str, str] = {}
        for question in questions:
            try:
                parsed[question.pk] = answer_parse(
                    question_type=question.type,
                    required=question.required,
                    raw=data.get(question.code),
                )
            except AnswerInvalid as error:
                errors[question.code] = error.message
        if errors:
            raise SurveyError(
                _("Revisa las respuestas marcadas y vuelve a enviar la encuesta."),
                code="answers_invalid",
                errors=errors,
            )
        now = timezone.now()
        month = month_of(now)
        wrote_text = any(answer.text for answer in parsed.values())
        response = Response.objects.create(
            invitation=locked,
            survey=locked.survey,
            submitted_at=now,
            month=month,
            # The consent is to be contacted about a comment; without one there is nothing to
            # contact the person about, and managers see no name.
            contact_consent=bool(contact_consent) and wrote_text,
        )
        Answer.objects.bulk_create(
            Answer(
                response=response,
                question=question,
                code=question.code,
                month=month,
                number=parsed[question.pk].number,
                text=parsed[question.pk].text,
            )
            for question in questions
            # An optional question left blank is not an answer; the dashboard counts answers.
            if not parsed[question.pk].is_empty
        )
        locked.answered_at = now
        locked.save(update_fields=["answered_at"])
    invitation.answered_at = now
    return response


def _date_text(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "DATE_FORMAT")
