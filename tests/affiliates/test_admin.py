"""The affiliates admin: a read-only window on the read model, and unlinking by staff."""

import logging
from html import unescape

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.urls import reverse

from affiliates.models import AffiliateLink, AffiliateStatus, LinkOutcome
from tests.factories import AffiliateFactory, AffiliateLinkFactory, AffiliateLoanFactory


def text(response) -> str:
    return unescape(response.content.decode())


def changelist_url() -> str:
    return reverse("admin:affiliates_affiliate_changelist")


def test_staff_lists_affiliates_with_their_employer_and_status(staff):
    affiliate = AffiliateFactory(municipality="Irapuato")

    response = staff.get(changelist_url())

    assert response.status_code == 200
    html = text(response)
    assert affiliate.number in html
    assert affiliate.curp in html
    assert affiliate.full_name in html
    assert affiliate.employer.name in html
    assert "Irapuato" in html


def test_staff_finds_an_affiliate_by_curp(staff):
    wanted = AffiliateFactory()
    other = AffiliateFactory()

    response = staff.get(changelist_url(), {"q": wanted.curp.lower()})

    html = text(response)
    assert wanted.number in html
    assert other.curp not in html


def test_staff_finds_an_affiliate_by_parts_of_the_name(staff):
    wanted = AffiliateFactory(given_names="Rosaura", first_surname="Quintanilla")
    AffiliateFactory(given_names="Rosaura", first_surname="Benavides")

    response = staff.get(changelist_url(), {"q": "quintanilla rosaura"})

    html = text(response)
    assert wanted.curp in html
    assert "Benavides" not in html


def test_staff_filters_affiliates_by_status(staff):
    terminated = AffiliateFactory(status=AffiliateStatus.TERMINATED)
    active = AffiliateFactory(status=AffiliateStatus.ACTIVE)

    response = staff.get(changelist_url(), {"status__exact": AffiliateStatus.TERMINATED})

    html = text(response)
    assert terminated.curp in html
    assert active.curp not in html


@pytest.mark.parametrize("persona", ["applicant", "unlinked", "anonymous"])
def test_people_who_are_not_staff_are_sent_to_the_admin_login(persona, request):
    client = request.getfixturevalue(persona)

    response = client.get(changelist_url())

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_affiliate_page_shows_data_and_loans_without_a_save_button(staff):
    affiliate = AffiliateFactory()
    AffiliateLoanFactory(affiliate=affiliate, product_code="PE")

    response = staff.get(reverse("admin:affiliates_affiliate_change", args=[affiliate.pk]))

    assert response.status_code == 200
    html = text(response)
    assert affiliate.curp in html
    assert "PE" in html
    assert 'name="_save"' not in html
    assert 'name="_continue"' not in html


def test_affiliates_cannot_be_added_changed_or_deleted_from_the_admin(staff):
    affiliate = AffiliateFactory()
    change_url = reverse("admin:affiliates_affiliate_change", args=[affiliate.pk])

    add = staff.get(reverse("admin:affiliates_affiliate_add"))
    delete = staff.post(reverse("admin:affiliates_affiliate_delete", args=[affiliate.pk]))
    edit = staff.post(change_url, {"municipality": "León", "status": "baja"})

    assert add.status_code == 403
    assert delete.status_code == 403
    assert edit.status_code == 403
    affiliate.refresh_from_db()
    assert (affiliate.municipality, affiliate.status) == ("Guanajuato", AffiliateStatus.ACTIVE)


def test_link_attempts_are_listed_filtered_and_never_edited(staff, unlinked):
    affiliate = AffiliateFactory()
    unlinked.post(
        reverse("affiliates:link"),
        {
            "curp": affiliate.curp,
            "number": affiliate.number,
            "birth_date": "1980-01-01",
            "net_pay": str(affiliate.net_pay),
        },
    )
    attempt_model = "admin:affiliates_linkattempt"

    listed = staff.get(reverse(f"{attempt_model}_changelist"), {"outcome": "sin_coincidencia"})
    none_listed = staff.get(reverse(f"{attempt_model}_changelist"), {"outcome": "vinculada"})
    add = staff.get(reverse(f"{attempt_model}_add"))

    assert affiliate.curp in text(listed)
    assert affiliate.curp not in text(none_listed)
    assert add.status_code == 403
    attempt = unlinked.user.affiliate_link_attempts.get()
    assert attempt.outcome == LinkOutcome.NO_MATCH
    page = staff.get(reverse(f"{attempt_model}_change", args=[attempt.pk]))
    assert 'name="_save"' not in text(page)
    assert staff.post(reverse(f"{attempt_model}_delete", args=[attempt.pk])).status_code == 403


def test_staff_finds_a_link_by_the_account_email(staff, applicant, other_applicant):
    response = staff.get(
        reverse("admin:affiliates_affiliatelink_changelist"), {"q": applicant.user.email}
    )

    html = text(response)
    assert applicant.affiliate.number in html
    assert other_applicant.affiliate.number not in html
    assert staff.get(reverse("admin:affiliates_affiliatelink_add")).status_code == 403


def test_staff_unlinks_an_account_after_confirming_and_it_is_audited(
    staff, applicant, caplog, django_capture_on_commit_callbacks
):
    link = applicant.affiliate.link
    delete_url = reverse("admin:affiliates_affiliatelink_delete", args=[link.pk])

    # GET only asks for confirmation
    confirmation = staff.get(delete_url)
    assert confirmation.status_code == 200
    assert AffiliateLink.objects.filter(pk=link.pk).exists()

    # POST unlinks, leaves the admin's log entry and an audit line without personal data
    with (
        caplog.at_level(logging.INFO, logger="isseg.audit"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = staff.post(delete_url, {"post": "yes"})

    assert response.status_code == 302
    assert not AffiliateLink.objects.filter(pk=link.pk).exists()
    entry = LogEntry.objects.get(action_flag=DELETION, object_id=str(link.pk))
    assert entry.user == staff.user
    audit = [r.getMessage() for r in caplog.records if r.name == "isseg.audit"]
    assert audit == [
        f"affiliate_unlink link={link.pk} user={applicant.user.pk} "
        f"affiliate={applicant.affiliate.pk} actor={staff.user.pk}"
    ]
    assert applicant.affiliate.curp not in caplog.text


def test_bulk_unlink_goes_through_the_same_audited_path(
    staff, caplog, django_capture_on_commit_callbacks
):
    links = AffiliateLinkFactory.create_batch(2)

    with (
        caplog.at_level(logging.INFO, logger="isseg.audit"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        staff.post(
            reverse("admin:affiliates_affiliatelink_changelist"),
            {
                "action": "delete_selected",
                "_selected_action": [link.pk for link in links],
                "post": "yes",
            },
        )

    assert not AffiliateLink.objects.exists()
    audit = [r.getMessage() for r in caplog.records if r.name == "isseg.audit"]
    assert sorted(audit) == sorted(
        f"affiliate_unlink link={link.pk} user={link.user_id} affiliate={link.affiliate_id} "
        f"actor={staff.user.pk}"
        for link in links
    )
    assert LogEntry.objects.filter(action_flag=DELETION, user=staff.user).count() == 2
