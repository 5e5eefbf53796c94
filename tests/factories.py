"""Factories for the test suite: valid identities, employers, affiliates and accounts."""

import random
from datetime import date
from decimal import Decimal

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from affiliates.models import (
    Affiliate,
    AffiliateLink,
    AffiliateLoan,
    AffiliateStatus,
    DataSource,
    Employer,
    Sex,
)
from demo.affiliates import random_identity

# One generator for the whole run, seeded so a failure can be reproduced.
_rng = random.Random(20261121)

DEFAULT_PASSWORD = "Prueba-Portal-2026"


class EmployerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employer
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"DEP{n:03d}")
    name = factory.Sequence(lambda n: f"Secretaría de Prueba {n}")


class AffiliateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Affiliate

    class Params:
        identity = factory.LazyAttribute(
            lambda o: random_identity(_rng, birth_date=o.birth_date, female=o.sex == Sex.FEMALE)
        )

    number = factory.Sequence(lambda n: f"{100000 + n}")
    birth_date = date(1975, 6, 15)
    sex = Sex.FEMALE
    given_names = factory.LazyAttribute(lambda o: o.identity["given_names"])
    first_surname = factory.LazyAttribute(lambda o: o.identity["first_surname"])
    second_surname = factory.LazyAttribute(lambda o: o.identity["second_surname"])
    curp = factory.LazyAttribute(lambda o: o.identity["curp"])
    rfc = factory.LazyAttribute(lambda o: o.identity["rfc"])
    email = factory.LazyAttribute(lambda o: f"afiliado{o.number}@example.org")
    phone = "4731234567"
    status = AffiliateStatus.ACTIVE
    employer = factory.SubFactory(EmployerFactory)
    municipality = "Guanajuato"
    contribution_start = date(2008, 1, 16)
    base_salary = Decimal("9500.00")
    net_pay = Decimal("7800.00")
    current_deductions = Decimal("0.00")
    source = DataSource.DATABASE
    synced_at = factory.LazyFunction(timezone.now)
    source_digest = factory.Sequence(lambda n: f"digest-{n}")


class AffiliateLoanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AffiliateLoan

    affiliate = factory.SubFactory(AffiliateFactory)
    product_code = "PC"
    original_amount = Decimal("40000.00")
    balance = Decimal("22000.00")
    installments_paid = 30
    installments_total = 72
    quincenal_payment = Decimal("720.50")


class UserFactory(factory.django.DjangoModelFactory):
    """An account that signed up and verified its email, as allauth leaves it."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"usuario{n}")
    email = factory.Sequence(lambda n: f"usuario{n}@example.org")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def verified_email(self, create, extracted, **kwargs):
        if create:
            self.save()
            EmailAddress.objects.create(user=self, email=self.email, primary=True, verified=True)


class AffiliateLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AffiliateLink

    user = factory.SubFactory(UserFactory)
    affiliate = factory.SubFactory(AffiliateFactory)
    ip_address = "127.0.0.1"
