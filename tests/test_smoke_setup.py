import pytest

from affiliates.models import AffiliateStatus


@pytest.mark.django_db
def test_linked_applicant_persona_has_a_valid_active_affiliate(applicant):
    affiliate = applicant.affiliate
    affiliate.full_clean()
    assert affiliate.status == AffiliateStatus.ACTIVE
    assert affiliate.link.user == applicant.user
