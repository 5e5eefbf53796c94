"""The address of the person behind a request, for the audit trail and the rate limits.

Behind the load balancer (DJANGO_BEHIND_PROXY=1) every request arrives from the balancer's own
address; the person's is the one the balancer appended to X-Forwarded-For, counted from the
right by DJANGO_TRUSTED_PROXY_COUNT. allauth reads it that way for its own rate limits, so the
portal asks allauth too: one reading of the address everywhere.

Rate limits count an IPv6 client by its network (a /64, allauth's RATE_LIMIT_IPV6_PREFIX): one
home or phone usually holds a whole /64 and may pick any address in it for each request.
"""

import ipaddress

from allauth import app_settings as allauth_settings
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


def client_network(address: str | None) -> str:
    """What a rate limit counts for `address`: an IPv4 address itself, an IPv6 one its /64
    ("2001:db8:1:2::/64"); "" when there is no address."""
    if not address:
        return ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        prefix = allauth_settings.RATE_LIMIT_IPV6_PREFIX
        return str(ipaddress.IPv6Network(f"{ip}/{prefix}", strict=False))
    return str(ip)


def client_ip_key(group: str, request: HttpRequest) -> str:
    """django-ratelimit's key for counting per person (an IPv6 client per /64), not per
    balancer."""
    return client_network(client_ip(request))
