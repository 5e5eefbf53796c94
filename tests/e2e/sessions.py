"""A browser that is logged in: it carries the session of a test client."""

from django.conf import settings
from playwright.sync_api import BrowserContext


def sign_in(context: BrowserContext, client, live_server) -> None:
    """Give the browser the session of a test client that `force_login` signed in."""
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
