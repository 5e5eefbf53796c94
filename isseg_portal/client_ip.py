"""The address of the person behind a request, for the audit trail and the rate limits.

Behind the load balancer (DJANGO_BEHIND_PROXY=1) every request arrives from the balancer's own
address; the person's is the one the balancer appended to X-Forwarded-For, counted from the
right by DJANGO_TRUSTED_PROXY_COUNT. allauth reads it that way for its own rate limits, so the
portal asks allauth too: one reading of the address everywhere.
"""

from allauth.account.adapter import get_adapter
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, or None when the request does not say (a forwarded header with
    fewer addresses than the proxies we trust is not believed)."""
    try:
        return get_adapter(request).get_client_ip(request)
    except (PermissionDenied, ImproperlyConfigured):
        return None


def client_ip_key(group: str, request: HttpRequest) -> str:
    """django-ratelimit's key for counting per person, not per balancer."""
    return client_ip(request) or ""
