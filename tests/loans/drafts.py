"""Applications as the wizard leaves them, for the tests of what comes after it (signing).

Built through the same steps the wizard tests take, so a draft here is what an applicant has
after the fifth step; the documents land in MEDIA_ROOT, which the caller points at a tmp_path.
"""

from loans.models import LoanApplication
from loans.services import application_complete
from tests.loans.test_wizard import draft_for, fill_steps_2_to_4


def complete_draft_for(client, product=None) -> LoanApplication:
    """A draft of `client`'s applicant with every step saved and confirmed: ready to sign."""
    application = draft_for(client, product)
    fill_steps_2_to_4(client, application)
    return application_complete(application=application, privacy_accepted=True, terms_accepted=True)
