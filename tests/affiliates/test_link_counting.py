"""Linking counts an attempt before it evaluates it, so guesses sent together cannot all be
tried: of any number of simultaneous attempts, at most the limit are compared with the data.

Two proofs: an interleaving in one thread (attempts arriving while another one is being
compared, on any database), and real threads on PostgreSQL, whose row locks and read-committed
reads are what production runs on.
"""

import contextlib
import threading
from collections import Counter
from datetime import date

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from affiliates.models import Affiliate, AffiliateLink, LinkAttempt, LinkOutcome
from affiliates.services import LinkError, affiliate_link
from tests.factories import AffiliateFactory, UserFactory

LIMIT = int(settings.AFFILIATE_LINK_RATE.split("/")[0])
GUESSES = 9
WRONG_BIRTH_DATE = date(1980, 1, 1)


def test_guesses_arriving_while_one_is_compared_are_counted_before_they_are_compared(
    unlinked, monkeypatch
):
    # Given a lookup that, the first time it runs, lets eight more guesses of the same account
    # arrive and finish (as requests in parallel would, while the first is being compared)
    affiliate = AffiliateFactory()
    compared = []
    lookup = Affiliate.objects.filter

    def guess() -> None:
        with contextlib.suppress(LinkError):
            affiliate_link(
                user=unlinked.user,
                curp=affiliate.curp,
                number=affiliate.number,
                birth_date=WRONG_BIRTH_DATE,
                net_pay=affiliate.net_pay,
                ip_address="10.6.0.1",
            )

    def lookup_while_others_arrive(*args, **kwargs):
        if "curp" in kwargs:
            compared.append(kwargs["curp"])
            if len(compared) == 1:
                for _ in range(GUESSES - 1):
                    guess()
        return lookup(*args, **kwargs)

    monkeypatch.setattr(Affiliate.objects, "filter", lookup_while_others_arrive)

    # When the first of nine guesses is sent
    guess()

    # Then only as many as the limit were compared; the rest were refused unseen
    assert len(compared) == LIMIT
    outcomes = Counter(LinkAttempt.objects.values_list("outcome", flat=True))
    assert outcomes == {LinkOutcome.NO_MATCH: LIMIT, LinkOutcome.RATE_LIMITED: GUESSES - LIMIT}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_nine_parallel_guesses_are_compared_at_most_the_limit_times():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; parallel requests are PostgreSQL's.")
    # Given one account with nine tabs, each with a wrong guess, released together
    affiliate = AffiliateFactory()
    user = UserFactory()
    clients = []
    for _ in range(GUESSES):
        client = Client(REMOTE_ADDR="10.7.0.1")
        client.force_login(user)
        clients.append(client)
    data = {
        "curp": affiliate.curp,
        "number": affiliate.number,
        "birth_date": WRONG_BIRTH_DATE.isoformat(),
        "net_pay": str(affiliate.net_pay),
    }
    barrier = threading.Barrier(GUESSES)
    statuses: list[object] = [None] * GUESSES

    def send(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            statuses[index] = clients[index].post(reverse("affiliates:link"), data).status_code
        except BaseException as error:  # shown by the assertion below
            statuses[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(index,)) for index in range(GUESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then at most the limit were compared (400), the others refused unseen (429)
    assert all(isinstance(status, int) for status in statuses), statuses
    outcomes = Counter(LinkAttempt.objects.values_list("outcome", flat=True))
    assert outcomes[LinkOutcome.NO_MATCH] <= LIMIT
    assert outcomes[LinkOutcome.NO_MATCH] + outcomes[LinkOutcome.RATE_LIMITED] == GUESSES
    assert Counter(statuses) == {
        400: outcomes[LinkOutcome.NO_MATCH],
        429: outcomes[LinkOutcome.RATE_LIMITED],
    }
    assert not AffiliateLink.objects.exists()
