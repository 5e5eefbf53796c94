"""Satisfaction surveys: versioned questionnaires, one invitation per application and moment,
and the answers.

A survey version is edited in the admin until it is answered; from then on it is frozen and a
new version is made from it (`surveys.services.survey_new_version`). Questions carry a stable
`code` across versions, so the dashboard adds up "satisfaccion" whatever its wording was.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SurveyKind(models.TextChoices):
    # Sent when Tesorería registers the payment: the whole experience.
    PAYMENT = "pago", _("Después del pago")
    # Two questions right after the applicant signs.
    SIGNING = "firma", _("Después de firmar")


class QuestionType(models.TextChoices):
    SCALE_5 = "escala_1_5", _("Escala de 1 a 5")
    SCALE_10 = "escala_0_10", _("Escala de 0 a 10")
    YES_NO = "si_no", _("Sí o no")
    TEXT = "texto", _("Texto libre")


class QuestionCode:
    """The codes the dashboard reads; other questions may be added with their own codes."""

    SATISFACTION = "satisfaccion"
    EASE = "facilidad"
    SPEED = "tiempo"
    RECOMMEND = "recomendacion"
    OFFICE = "oficina"
    COMMENT = "comentario"
    # The two questions asked right after signing, kept apart from the payment survey's.
    SIGNING_EASE = "firma_facilidad"
    SIGNING_OFFICE = "firma_oficina"


class Survey(models.Model):
    kind = models.CharField(_("momento"), max_length=10, choices=SurveyKind.choices)
    version = models.PositiveSmallIntegerField(_("versión"), editable=False)
    title = models.CharField(_("título"), max_length=200)
    introduction = models.TextField(_("presentación"), blank=True)
    # The version new invitations use; one per kind.
    is_active = models.BooleanField(_("vigente"), default=False, editable=False)
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)

    class Meta:
        verbose_name = _("encuesta")
        verbose_name_plural = _("encuestas")
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="survey_kind_version"),
            models.UniqueConstraint(
                fields=["kind"], condition=Q(is_active=True), name="survey_one_active_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · v{self.version}"


class Question(models.Model):
    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="questions", verbose_name=_("encuesta")
    )
    position = models.PositiveSmallIntegerField(_("orden"), default=0)
    code = models.SlugField(
        _("clave"),
        max_length=40,
        help_text=_("Igual en todas las versiones para que el tablero las sume."),
    )
    text = models.CharField(_("pregunta"), max_length=300)
    type = models.CharField(_("tipo de respuesta"), max_length=15, choices=QuestionType.choices)
    required = models.BooleanField(_("obligatoria"), default=True)

    class Meta:
        verbose_name = _("pregunta")
        verbose_name_plural = _("preguntas")
        ordering = ["survey", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "code"], name="question_code_per_survey")
        ]

    def __str__(self) -> str:
        return self.text


class Invitation(models.Model):
    """An invitation to answer one survey about one application; its link needs no login."""

    application = models.ForeignKey(
        "loans.LoanApplication",
        on_delete=models.PROTECT,
        related_name="survey_invitations",
        verbose_name=_("solicitud"),
    )
    survey = models.ForeignKey(
        Survey, on_delete=models.PROTECT, related_name="invitations", verbose_name=_("encuesta")
    )
    kind = models.CharField(_("momento"), max_length=10, choices=SurveyKind.choices)
    created_at = models.DateTimeField(_("creada"))
    # First day of the month of `created_at` (local time): the response rate is by month.
    month = models.DateField(_("mes"))
    expires_at = models.DateTimeField(_("vence"))
    emailed_at = models.DateTimeField(_("enviada por correo"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("recordatorio enviado"), null=True, blank=True)
    answered_at = models.DateTimeField(_("respondida"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitación")
        verbose_name_plural = _("invitaciones")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["application", "kind"], name="invitation_per_kind")
        ]
        indexes = [models.Index(fields=["kind", "month"], name="invitation_kind_month")]

    def __str__(self) -> str:
        return f"{self.application} · {self.get_kind_display()}"


class Response(models.Model):
    invitation = models.OneToOneField(
        Invitation, on_delete=models.PROTECT, related_name="response", verbose_name=_("invitación")
    )
    survey = models.ForeignKey(
        Survey, on_delete=models.PROTECT, related_name="responses", verbose_name=_("encuesta")
    )
    submitted_at = models.DateTimeField(_("respondida"))
    month = models.DateField(_("mes"))
    # Managers see who wrote a comment only when the person agreed to be contacted.
    contact_consent = models.BooleanField(_("acepta ser contactado"), default=False)

    class Meta:
        verbose_name = _("respuesta")
        verbose_name_plural = _("respuestas")
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"{self.invitation} · {self.submitted_at:%d/%m/%Y}"


class Answer(models.Model):
    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="answers", verbose_name=_("respuesta")
    )
    question = models.ForeignKey(
        Question, on_delete=models.PROTECT, related_name="answers", verbose_name=_("pregunta")
    )
    # Copied from the question and the response so that the dashboard groups one table.
    code = models.SlugField(_("clave"), max_length=40)
    month = models.DateField(_("mes"))
    # Scales and yes/no (1 yes, 0 no); the text of a free comment.
    number = models.SmallIntegerField(_("valor"), null=True, blank=True)
    text = models.TextField(_("texto"), blank=True)

    class Meta:
        verbose_name = _("respuesta a pregunta")
        verbose_name_plural = _("respuestas a preguntas")
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="answer_per_question")
        ]
        indexes = [models.Index(fields=["code", "month", "number"], name="answer_code_month")]

    def __str__(self) -> str:
        return f"{self.code}: {self.number if self.number is not None else self.text[:40]}"
