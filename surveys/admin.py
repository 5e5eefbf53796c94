"""Gerencia edits the questionnaires here and follows the invitations.

A survey version is edited freely until someone answers it; from then on it is read-only, its
questions too, so every stored answer matches the question that was asked. Changes go into a
new version ("Crear nueva versión"), which starts inactive until "Hacer vigente". The version
number and which one is active are never typed: the services set them.

Responses and answers have no admin: managers read them on the dashboard, which shows who wrote
a comment only when that person agreed to be contacted.
"""

from collections import Counter

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from isseg_portal.plain_text import PlainTextAdminMixin
from surveys.models import Invitation, Question, Survey
from surveys.services import SurveyError, survey_activate, survey_new_version, survey_version_next


def _answered(survey: Survey | None) -> bool:
    if survey is None or survey.pk is None:
        return False
    count = getattr(survey, "response_count", None)
    return bool(count) if count is not None else survey.responses.exists()


class QuestionInline(PlainTextAdminMixin, admin.TabularInline):
    model = Question
    fields = ["position", "code", "text", "type", "required"]
    ordering = ["position", "pk"]
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return super().has_add_permission(request, obj) and not _answered(obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and not _answered(obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and not _answered(obj)


@admin.register(Survey)
class SurveyAdmin(PlainTextAdminMixin, admin.ModelAdmin):
    inlines = [QuestionInline]
    list_display = ["__str__", "title", "is_active", "response_count", "created_at"]
    list_display_links = ["__str__", "title"]
    list_filter = ["kind", "is_active"]
    actions = ["new_version", "activate"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(response_count=Count("responses"))

    @admin.display(description=gettext_lazy("respuestas"), ordering="response_count")
    def response_count(self, survey: Survey) -> int:
        return survey.response_count

    def get_fieldsets(self, request, obj=None):
        fields = ["kind", "title", "introduction", "version", "is_active", "created_at"]
        if _answered(obj):
            note = _(
                "Esta versión ya tiene respuestas y no se puede modificar, ni sus preguntas: así "
                "cada respuesta corresponde a lo que se preguntó. Para cambiar algo, en la lista "
                "de encuestas elige esta versión y la acción «Crear nueva versión»; después haz "
                "vigente la nueva con «Hacer vigente»."
            )
        elif obj is not None and obj.is_active:
            note = _(
                "Esta es la versión vigente: las invitaciones nuevas la usan. Se puede modificar "
                "hasta que alguien la responda."
            )
        else:
            note = _(
                "Una versión nueva no se envía hasta hacerla vigente con la acción «Hacer "
                "vigente» de la lista de encuestas."
            )
        return [(None, {"fields": fields, "description": note})]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["version", "is_active", "created_at"]
        if obj is not None:
            # A version belongs to its kind for good: its number counts within the kind.
            readonly.insert(0, "kind")
        return readonly

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and not _answered(obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A version that was ever sent stays: its invitations and answers point to it.
        sent = obj is not None and obj.invitations.exists()
        return super().has_delete_permission(request, obj) and not sent

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            # A survey added from scratch is the next version of its kind, inactive like any new
            # version; the admin's transaction covers the number and the insert.
            obj.version = survey_version_next(kind=obj.kind)
            obj.is_active = False
        super().save_model(request, obj, form, change)

    @admin.action(description=gettext_lazy("Crear nueva versión"), permissions=["add"])
    def new_version(self, request, queryset) -> None:
        for survey in queryset.order_by("kind", "version"):
            copy = survey_new_version(survey=survey)
            self.message_user(
                request,
                _(
                    "Se creó la versión %(new)s de «%(kind)s» con las preguntas de la versión "
                    "%(old)s. Aún no es vigente: revísala y después usa «Hacer vigente»."
                )
                % {"new": copy.version, "kind": copy.get_kind_display(), "old": survey.version},
                messages.SUCCESS,
            )

    @admin.action(description=gettext_lazy("Hacer vigente"), permissions=["change"])
    def activate(self, request, queryset) -> None:
        surveys = list(queryset.order_by("kind", "version"))
        if any(count > 1 for count in Counter(survey.kind for survey in surveys).values()):
            self.message_user(
                request,
                _("Elige una sola versión de cada momento para hacerla vigente."),
                messages.ERROR,
            )
            return
        for survey in surveys:
            try:
                survey_activate(survey=survey)
            except SurveyError as error:
                self.message_user(request, error.message, messages.ERROR)
                continue
            self.message_user(
                request,
                _(
                    "La versión %(version)s de «%(kind)s» es ahora la vigente: las invitaciones "
                    "nuevas la usan; las ya enviadas conservan la suya."
                )
                % {"version": survey.version, "kind": survey.get_kind_display()},
                messages.SUCCESS,
            )


class InvitationStateFilter(admin.SimpleListFilter):
    title = gettext_lazy("estado")
    parameter_name = "estado"

    def lookups(self, request, model_admin):
        return [
            ("pendiente", _("Pendiente")),
            ("respondida", _("Respondida")),
            ("vencida", _("Vencida sin respuesta")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "pendiente":
            return queryset.filter(answered_at__isnull=True, expires_at__gt=now)
        if self.value() == "respondida":
            return queryset.filter(answered_at__isnull=False)
        if self.value() == "vencida":
            return queryset.filter(Q(answered_at__isnull=True) & Q(expires_at__lte=now))
        return queryset


@admin.register(Invitation)
class InvitationAdmin(PlainTextAdminMixin, admin.ModelAdmin):
    """Read-only: invitations are made by the transitions and answered by the applicants."""

    list_display = [
        "folio",
        "kind",
        "survey",
        "created_at",
        "emailed_at",
        "reminded_at",
        "answered_at",
        "expires_at",
    ]
    list_filter = ["kind", InvitationStateFilter, "month", "survey"]
    list_select_related = ["application", "survey"]
    search_fields = ["application__folio"]
    search_help_text = gettext_lazy("Busca por folio de la solicitud.")
    date_hierarchy = "created_at"
    fields = [
        "folio",
        "kind",
        "survey",
        "month",
        "created_at",
        "emailed_at",
        "reminded_at",
        "answered_at",
        "expires_at",
    ]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("folio"), ordering="application__folio")
    def folio(self, invitation: Invitation) -> str:
        return invitation.application.folio

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
