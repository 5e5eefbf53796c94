"""Staff views of the affiliates read model, the account links and the link attempts.

Employers, affiliates and their loans are a copy of the institute's database, written only by
`affiliates.sync`: an edit made here would be silently overwritten by the next sync and would
let the portal disagree with the system of record, so the admin shows them read-only (no add, no
change, no delete). Corrections belong in the institute's system, from where the sync brings
them.
"""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from affiliates.models import Affiliate, AffiliateLink, AffiliateLoan, Employer, LinkAttempt
from affiliates.services import affiliate_unlink
from isseg_portal.plain_text import PlainTextAdminMixin


class ReadOnlyAdminMixin:
    """Viewable by staff with the view permission; nobody adds, changes or deletes."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Employer)
class EmployerAdmin(ReadOnlyAdminMixin, PlainTextAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


class AffiliateLoanInline(ReadOnlyAdminMixin, PlainTextAdminMixin, admin.TabularInline):
    model = AffiliateLoan
    fields = [
        "product_code",
        "original_amount",
        "balance",
        "installments_paid",
        "installments_total",
        "quincenal_payment",
    ]
    extra = 0
    can_delete = False
    show_change_link = False


@admin.register(Affiliate)
class AffiliateAdmin(ReadOnlyAdminMixin, PlainTextAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "name",
        "curp",
        "status",
        "employer",
        "municipality",
        "is_blocked",
        "synced_at",
    ]
    list_select_related = ["employer"]
    list_filter = ["status", "employer", "municipality", "is_blocked"]
    # Each word typed must match one of these, so "lopez garcia maria" finds the person.
    search_fields = ["curp", "rfc", "number", "given_names", "first_surname", "second_surname"]
    search_help_text = _("Busca por CURP, RFC, número de afiliación o partes del nombre.")
    # Counting every affiliate again on each page is slow at the institute's size.
    show_full_result_count = False
    inlines = [AffiliateLoanInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "curp",
                    "rfc",
                    ("given_names", "first_surname", "second_surname"),
                    "birth_date",
                    "sex",
                    "email",
                    "phone",
                ]
            },
        ),
        (
            _("Afiliación"),
            {
                "fields": [
                    "status",
                    "employer",
                    "municipality",
                    "contribution_start",
                    ("is_blocked", "blocked_reason"),
                ]
            },
        ),
        (
            _("Sueldo y descuentos quincenales"),
            {"fields": ["base_salary", "net_pay", "current_deductions"]},
        ),
        (_("Origen de los datos"), {"fields": ["source", "synced_at"]}),
    ]

    @admin.display(description=_("nombre"), ordering="first_surname")
    def name(self, obj: Affiliate) -> str:
        return obj.full_name


@admin.register(AffiliateLink)
class AffiliateLinkAdmin(PlainTextAdminMixin, admin.ModelAdmin):
    """Links are made only by the affiliate, through `affiliate_link`, which checks their data.

    Staff may delete a link made by mistake, so the affiliate can link the right account. The
    admin asks for confirmation first (GET) and deletes on POST; each deletion goes through
    `affiliate_unlink`, which writes an audit line, and the admin's LogEntry records who deleted
    which link and when.
    """

    list_display = ["user", "user_email", "affiliate_number", "affiliate_name", "linked_at"]
    list_select_related = ["user", "affiliate"]
    search_fields = ["user__email", "affiliate__curp", "affiliate__number"]
    search_help_text = _("Busca por correo de la cuenta, CURP o número de afiliación.")
    date_hierarchy = "linked_at"
    fields = ["user", "affiliate", "linked_at", "ip_address"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: AffiliateLink) -> None:
        affiliate_unlink(link=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AffiliateLink]) -> None:
        for link in queryset:
            affiliate_unlink(link=link, actor=request.user)

    @admin.display(description=_("correo"), ordering="user__email")
    def user_email(self, obj: AffiliateLink) -> str:
        return obj.user.email

    @admin.display(description=_("número de afiliación"), ordering="affiliate__number")
    def affiliate_number(self, obj: AffiliateLink) -> str:
        return obj.affiliate.number

    @admin.display(description=_("afiliado"), ordering="affiliate__first_surname")
    def affiliate_name(self, obj: AffiliateLink) -> str:
        return obj.affiliate.full_name


@admin.register(LinkAttempt)
class LinkAttemptAdmin(ReadOnlyAdminMixin, PlainTextAdminMixin, admin.ModelAdmin):
    """The audit trail of linking: nobody edits or deletes it from here."""

    list_display = [
        "created_at",
        "user",
        "outcome",
        "curp_entered",
        "number_entered",
        "affiliate",
        "ip_address",
    ]
    list_select_related = ["user", "affiliate"]
    list_filter = ["outcome", "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["user__email", "curp_entered", "number_entered", "ip_address"]
    search_help_text = _("Busca por correo de la cuenta, CURP o número capturados, o IP.")
    show_full_result_count = False
