from django.conf import settings
from django.http import HttpRequest


def institute(request: HttpRequest) -> dict[str, str]:
    """Names and contacts of the institute, for the header, footer and privacy notices."""
    return {
        "INSTITUTE_NAME": settings.INSTITUTE_NAME,
        "INSTITUTE_SHORT_NAME": settings.INSTITUTE_SHORT_NAME,
        "INSTITUTE_CONTACT_EMAIL": settings.INSTITUTE_CONTACT_EMAIL,
        "INSTITUTE_PRIVACY_EMAIL": settings.INSTITUTE_PRIVACY_EMAIL,
        "INSTITUTE_ADDRESS": settings.INSTITUTE_ADDRESS,
    }
