"""The survey page an invitation's link opens: no login, the token is the only credential.

The view reads the token, calls one service (`response_submit`) and chooses the page: the
questions (again with every answer kept and one message per refused answer, status 400), the
thanks, or a plain page saying why the link no longer works (404 broken, 410 used or expired).
"""

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from surveys.models import Invitation, Question, QuestionType
from surveys.questionnaire import MAX_COMMENT_LENGTH, choices, extremes
from surveys.services import (
    SurveyError,
    invitation_ensure_open,
    invitation_from_token,
    response_submit,
)

CONSENT_FIELD = "contact_consent"
# The page status of each refusal of an invitation (`SurveyError.code`).
REFUSAL_STATUS = {"invalid_link": 404, "answered": 410, "expired": 410}


@dataclass(frozen=True)
class QuestionOnPage:
    """One question as the template draws it, with what the person chose and any error."""

    code: str
    number: int
    text: str
    type: str
    required: bool
    choices: list[tuple[str, str]]
    extremes: tuple[str, str] | None
    value: str
    error: str

    @property
    def is_text(self) -> bool:
        return self.type == QuestionType.TEXT

    @property
    def is_scale(self) -> bool:
        return self.extremes is not None

    @property
    def described_by(self) -> str:
        """The ids of the texts read with the question: what the scale's ends mean, the error."""
        ids = [f"{self.code}-ayuda"] if self.is_scale else []
        if self.error:
            ids.append(f"{self.code}-error")
        return " ".join(ids)


# Never stored by a browser or proxy cache: the page names the application, and the back button
# after answering should ask the server (which says it was answered), not show the old form.
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def survey_answer(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitation_from_token(token)
        invitation_ensure_open(invitation=invitation)
    except SurveyError as error:
        return _refused(request, error)
    questions = list(invitation.survey.questions.order_by("position", "pk"))
    if request.method != "POST":
        return _page(request, token, invitation, questions, values={}, errors={}, consent=False)

    values = {question.code: request.POST.get(question.code, "") for question in questions}
    consent = request.POST.get(CONSENT_FIELD) == "on"
    try:
        response_submit(invitation=invitation, data=values, contact_consent=consent)
    except SurveyError as error:
        if not error.errors:
            # Answered in another tab a moment ago, or expired while the page was open.
            return _refused(request, error)
        return _page(
            request,
            token,
            invitation,
            questions,
            values=values,
            errors=error.errors,
            consent=consent,
            message=error.message,
            status=400,
        )
    return redirect("surveys:thanks", token=token)


@never_cache
@require_safe
def survey_thanks(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitation_from_token(token)
    except SurveyError as error:
        return _refused(request, error)
    if invitation.answered_at is None:
        return redirect("surveys:answer", token=token)
    return render(request, "surveys/thanks.html", {"invitation": invitation})


def _page(
    request: HttpRequest,
    token: str,
    invitation: Invitation,
    questions: list[Question],
    *,
    values: dict[str, str],
    errors: dict[str, str],
    consent: bool,
    message: str = "",
    status: int = 200,
) -> HttpResponse:
    on_page = [
        QuestionOnPage(
            code=question.code,
            number=number,
            text=question.text,
            type=question.type,
            required=question.required,
            choices=choices(question.type),
            extremes=extremes(question_type=question.type, code=question.code),
            value=values.get(question.code, ""),
            error=errors.get(question.code, ""),
        )
        for number, question in enumerate(questions, start=1)
    ]
    context = {
        "token": token,
        "invitation": invitation,
        "survey": invitation.survey,
        "folio": invitation.application.folio,
        "questions": on_page,
        "asks_comment": any(question.is_text for question in on_page),
        "consent": consent,
        "consent_field": CONSENT_FIELD,
        "max_comment_length": MAX_COMMENT_LENGTH,
        "message": message,
    }
    return render(request, "surveys/answer.html", context, status=status)


def _refused(request: HttpRequest, error: SurveyError) -> HttpResponse:
    status = REFUSAL_STATUS.get(error.code, 400)
    return render(request, "surveys/refused.html", {"error": error}, status=status)
