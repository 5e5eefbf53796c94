"""How each type of question is asked and what answer it takes. Pure code, no database.

`answer_parse` is the one place that decides whether an answer is valid (the service calls it
for every question before writing anything); `choices` and `extremes` tell the answer page what
to offer, so the page never offers what the service would refuse.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from isseg_portal.plain_text import text_clean
from surveys.models import QuestionCode, QuestionType

T = QuestionType

# Long enough for a paragraph about what went wrong; a limit so the dashboard stays readable.
MAX_COMMENT_LENGTH = 1000

SCALES = {T.SCALE_5: range(1, 6), T.SCALE_10: range(11)}
YES, NO = 1, 0

# The words at both ends of a scale, so "1" and "5" mean the same to everyone. A question whose
# scale is not about satisfaction names its own ends.
EXTREMES_BY_TYPE = {
    T.SCALE_5: (gettext_lazy("Muy insatisfecho"), gettext_lazy("Muy satisfecho")),
    T.SCALE_10: (gettext_lazy("Nada probable"), gettext_lazy("Muy probable")),
}
EXTREMES_BY_CODE = {
    QuestionCode.EASE: (gettext_lazy("Muy difícil"), gettext_lazy("Muy fácil")),
    QuestionCode.SIGNING_EASE: (gettext_lazy("Muy difícil"), gettext_lazy("Muy fácil")),
}


class AnswerInvalid(ValueError):
    """The answer to one question is missing or out of range; `message` is for the person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ParsedAnswer:
    number: int | None
    text: str

    @property
    def is_empty(self) -> bool:
        return self.number is None and not self.text


def choices(question_type: str) -> list[tuple[str, str]]:
    """The (value, label) options of a closed question; none for free text."""
    if question_type in SCALES:
        return [(str(value), str(value)) for value in SCALES[question_type]]
    if question_type == T.YES_NO:
        return [(str(YES), _("Sí")), (str(NO), _("No"))]
    return []


def extremes(*, question_type: str, code: str) -> tuple[str, str] | None:
    if question_type not in SCALES:
        return None
    low, high = EXTREMES_BY_CODE.get(code) or EXTREMES_BY_TYPE[question_type]
    return str(low), str(high)


def answer_parse(*, question_type: str, required: bool, raw: object) -> ParsedAnswer:
    """The stored form of one answer as it came from a form (a string, or None if absent)."""
    value = "" if raw is None else str(raw).strip()
    if question_type == T.TEXT:
        # Line breaks are kept; only the ends are trimmed. Browsers send a textarea's new lines
        # as CRLF but its `maxlength` counts each as one character: so does this limit. Control
        # characters go (PostgreSQL refuses a NUL, a spreadsheet a vertical tab).
        value = text_clean(value, multiline=True).strip()
        if not value:
            if required:
                raise AnswerInvalid(_("Escribe tu respuesta."))
            return ParsedAnswer(number=None, text="")
        if len(value) > MAX_COMMENT_LENGTH:
            raise AnswerInvalid(
                _(
                    "Tu comentario tiene %(length)s caracteres; el máximo es %(limit)s. "
                    "Acórtalo un poco."
                )
                % {"length": len(value), "limit": MAX_COMMENT_LENGTH}
            )
        return ParsedAnswer(number=None, text=value)

    if not value:
        if required:
            raise AnswerInvalid(
                _("Elige sí o no.") if question_type == T.YES_NO else _("Elige una respuesta.")
            )
        return ParsedAnswer(number=None, text="")
    allowed = {int(option) for option, _label in choices(question_type)}
    try:
        number = int(value)
    except ValueError:
        number = None
    if number not in allowed:
        if question_type == T.YES_NO:
            raise AnswerInvalid(_("Elige sí o no."))
        scale = SCALES[question_type]
        raise AnswerInvalid(
            _("Elige un número del %(low)s al %(high)s.") % {"low": scale[0], "high": scale[-1]}
        )
    return ParsedAnswer(number=number, text="")
