"""Test clients logged in as a person would be: the session allauth's login leaves."""

import time

from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.account.internal.userkit import user_id_to_str
from django.test import Client

from tests.factories import AffiliateLinkFactory


def client_for(user) -> Client:
    """A client logged in as `user`, just now, with a password; `client.user` is `user`."""
    client = Client()
    client.force_login(user)
    record_authentication(client, user)
    client.user = user
    return client


def record_authentication(client: Client, user, at: float | None = None) -> None:
    """What allauth's login page writes in the session: who authenticated, how, and when
    (isseg_portal.reauthentication reads it before signing or a staff action)."""
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time() if at is None else at}
    ]
    session["account_authentication_methods_user"] = user_id_to_str(user)
    session.save()


def linked_applicant(**link_fields) -> Client:
    """A new account linked to a new affiliate, logged in, like the `applicant` persona;
    `client.affiliate` is theirs. `link_fields` go to AffiliateLinkFactory
    (`affiliate__employer=...`)."""
    link = AffiliateLinkFactory(**link_fields)
    client = client_for(link.user)
    client.affiliate = link.affiliate
    return client
