"""The questionnaires the portal starts with: version 1 of each kind, active.

The data migration 0003 calls `ensure_default_surveys`, and so do tests that emptied the
database. It takes an app registry (the migration's historical one or the real one) and only
adds a kind that has no survey at all: once Gerencia has versions of its own, they are left as
they are.

The codes are `surveys.models.QuestionCode`'s, written out because a migration must not change
when that class does. The signing survey's codes differ from the payment survey's on purpose:
the dashboard adds answers up by code, and "easy to sign" is not "easy overall".

The texts are data, not interface strings: they live in the database, are edited in the admin
and are never translated, so they are not wrapped in gettext.
"""

PAYMENT_SURVEY = {
    "kind": "pago",
    "title": "¿Cómo te fue con tu préstamo en línea?",
    "introduction": (
        "Tu préstamo ya se depositó. Tu opinión nos ayuda a mejorar el préstamo en línea para "
        "todos los derechohabientes."
    ),
    "questions": [
        (
            "satisfaccion",
            "En general, ¿qué tan satisfecho estás con el préstamo en línea?",
            "escala_1_5",
            True,
        ),
        ("facilidad", "¿Qué tan fácil fue hacer el trámite en línea?", "escala_1_5", True),
        (
            "tiempo",
            "¿Qué tan satisfecho estás con el tiempo que tardó en llegar el dinero?",
            "escala_1_5",
            True,
        ),
        (
            "recomendacion",
            "¿Qué tan probable es que recomiendes el préstamo en línea a un compañero?",
            "escala_0_10",
            True,
        ),
        ("oficina", "¿Tuviste que acudir a una oficina?", "si_no", True),
        ("comentario", "¿Algo que quieras contarnos?", "texto", False),
    ],
}

SIGNING_SURVEY = {
    "kind": "firma",
    "title": "¿Cómo te fue al firmar tu solicitud?",
    "introduction": (
        "Acabas de firmar tu solicitud. Cuéntanos cómo te fue para hacer más fácil el trámite."
    ),
    "questions": [
        (
            "firma_facilidad",
            "¿Qué tan fácil fue llenar y firmar tu solicitud en línea?",
            "escala_1_5",
            True,
        ),
        (
            "firma_oficina",
            "¿Tuviste que acudir a una oficina para hacer tu solicitud?",
            "si_no",
            True,
        ),
    ],
}

DEFAULT_SURVEYS = [PAYMENT_SURVEY, SIGNING_SURVEY]


def ensure_default_surveys(apps) -> None:
    Survey = apps.get_model("surveys", "Survey")
    Question = apps.get_model("surveys", "Question")
    for definition in DEFAULT_SURVEYS:
        if Survey.objects.filter(kind=definition["kind"]).exists():
            continue
        survey = Survey.objects.create(
            kind=definition["kind"],
            version=1,
            title=definition["title"],
            introduction=definition["introduction"],
            is_active=True,
        )
        Question.objects.bulk_create(
            Question(
                survey=survey,
                position=position,
                code=code,
                text=text,
                type=question_type,
                required=required,
            )
            for position, (code, text, question_type, required) in enumerate(
                definition["questions"], start=1
            )
        )
