"""The public simulator at /simulador/, as each persona sees it."""

import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from affiliates.models import AffiliateStatus
from isseg_portal.formatting import pesos
from loans.amortization import CAT_LEGEND
from loans.eligibility import best_offer
from loans.selectors import affiliate_facts, product_terms
from tests.factories import AffiliateLoanFactory
from tests.loans.factories import LoanProductFactory

URL = reverse("loans:simulator")
HTMX = {"HTTP_HX_REQUEST": "true"}
START_URL = reverse("loans:application_start")


# --- Reading the page -------------------------------------------------------------------------


class _Text(HTMLParser):
    """The text a person reads inside <main> (or the whole fragment), without scripts."""

    def __init__(self, whole: bool) -> None:
        super().__init__()
        self.depth = 1 if whole else 0
        self.skipping = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self.depth += 1
        if tag == "script":
            self.skipping += 1

    def handle_endtag(self, tag):
        if tag == "main":
            self.depth -= 1
        if tag == "script":
            self.skipping -= 1

    def handle_data(self, data):
        if self.depth and not self.skipping:
            self.parts.append(data)


def text_of(response) -> str:
    html = response.content.decode()
    parser = _Text(whole="<main" not in html)
    parser.feed(html)
    return " ".join("".join(parser.parts).split())


def html_of(response) -> str:
    return response.content.decode()


def input_value(response, name: str) -> str:
    match = re.search(rf'<input type="text" name="{name}"(?: value="([^"]*)")?', html_of(response))
    assert match, f"no text box {name}"
    return match.group(1) or ""


def selected_option(response) -> str:
    select = re.search(r'<select name="product".*?</select>', html_of(response), re.S)
    assert select
    chosen = re.search(r'<option value="([^"]+)" selected>', select.group(0))
    assert chosen
    return chosen.group(1)


def product_options(response) -> list[str]:
    select = re.search(r'<select name="product".*?</select>', html_of(response), re.S)
    assert select
    return re.findall(r"<option [^>]*>([^<]*)</option>", select.group(0))


def schedule_rows(response) -> int:
    details = re.search(r"<details.*?</details>", html_of(response), re.S)
    assert details, "no schedule"
    tbody = re.search(r"<tbody>(.*?)</tbody>", details.group(0), re.S)
    assert tbody
    return tbody.group(1).count("<tr>")


def ask(client, product, amount, quincenas, **headers):
    return client.get(
        URL, {"product": product.code, "amount": amount, "quincenas": quincenas}, **headers
    )


# --- Products and the example ---------------------------------------------------------------


@pytest.fixture
def example_product(db):
    """13.67 % nominal, no Fondo: the program's average loan, 60,000 over 59 quincenas."""
    return LoanProductFactory(
        code="PC",
        name="Préstamo personal para trabajadores activos",
        annual_rate=Decimal("0.1367"),
        fund_rate=Decimal("0"),
        min_amount=Decimal("5000.00"),
        max_amount=Decimal("250000.00"),
        min_quincenas=24,
        max_quincenas=96,
    )


@pytest.fixture
def pensioners_product(db):
    return LoanProductFactory(
        code="PJ",
        name="Préstamo personal para pensionados y jubilados",
        allowed_statuses=[AffiliateStatus.PENSIONER.value, AffiliateStatus.RETIREE.value],
        annual_rate=Decimal("0.125"),
        min_amount=Decimal("3000.00"),
        max_amount=Decimal("150000.00"),
        min_quincenas=12,
        max_quincenas=72,
        min_seniority_months=0,
        pension_floor=Decimal("3500.00"),
        fund_rate=Decimal("0.015"),
        bands=[(0, Decimal("6"))],
    )


def offer_for(affiliate, product):
    return best_offer(
        affiliate=affiliate_facts(affiliate=affiliate, on=timezone.localdate()),
        product=product_terms(product=product),
    )


# --- Anonymous visitors -------------------------------------------------------------------------


def test_anonymous_visitor_gets_the_form_with_an_average_loan_already_simulated(
    anonymous, example_product
):
    # Given a product on offer, when a visitor opens the simulator with nothing asked yet
    response = anonymous.get(URL)

    # Then the form comes with the first product, an average amount and a two-year term
    assert response.status_code == 200
    assert selected_option(response) == example_product.code
    assert input_value(response, "amount") == "60,000.00"
    assert input_value(response, "quincenas") == "48"
    text = text_of(response)
    assert "Entre $5,000.00 y $250,000.00" in text
    assert "De 24 a 96 quincenas. 24 quincenas = 1 año." in text
    # and that loan is already simulated
    assert "Tu simulación" in text
    assert "Pago quincenal" in text
    # with an invitation to see their own limits, and no button to apply
    assert f'href="{reverse("account_signup")}"' in html_of(response)
    assert "Puedes solicitar hasta" not in text
    assert "Solicitar este préstamo" not in text


def test_defaults_stay_within_the_first_products_limits(anonymous, db):
    LoanProductFactory(
        code="A1",
        min_amount=Decimal("1000.00"),
        max_amount=Decimal("20000.00"),
        min_quincenas=6,
        max_quincenas=24,
    )

    response = anonymous.get(URL)

    assert response.status_code == 200
    assert input_value(response, "amount") == "20,000.00"
    assert input_value(response, "quincenas") == "24"


def test_the_example_loan_shows_its_payment_interest_cat_and_schedule(anonymous, example_product):
    # When a visitor simulates 60,000 pesos over 59 quincenas at 13.67 % without Fondo
    response = ask(anonymous, example_product, "60000", "59")

    # Then they read the figures of the institute's worked example
    assert response.status_code == 200
    text = text_of(response)
    assert "Pago quincenal $1,200.24" in text
    assert "Total de intereses $10,814.37" in text
    assert "Aportaciones al Fondo Especial y Solidario $0.00" in text
    assert "Total a pagar $70,814.37" in text
    assert "tasa de interés anual de 13.67 %" in text
    # the CAT with its legend right beside it
    assert f"CAT 14.6 % {CAT_LEGEND}" in text
    # and the whole schedule, one row per quincena, folded in a <details>
    assert schedule_rows(response) == 59
    schedule = re.search(r"<details.*?</details>", html_of(response), re.S).group(0)
    for header in ("Quincena", "Pago", "Interés", "Capital", "Aportación al Fondo", "Saldo"):
        assert f'<th scope="col" class="numeric">{header}</th>' in schedule
    assert '<th scope="row" class="numeric">59</th>' in schedule
    assert "Tabla de pagos (59 pagos quincenales)" in schedule


def test_fondo_contributions_are_counted_and_placed_in_the_schedule(anonymous, db):
    product = LoanProductFactory(fund_rate=Decimal("0.01"))

    response = ask(anonymous, product, "60000", "59")

    text = text_of(response)
    assert "Aportaciones al Fondo Especial y Solidario $1,800.00" in text
    assert "3 aportaciones de $600.00 (1 % del monto por cada año del plazo)" in text
    assert "que se suman a los pagos 1, 25 y 49" in text


def test_amounts_typed_with_pesos_sign_spaces_and_commas_are_understood(anonymous, example_product):
    for typed in ("$60,000.00", "60,000", "$ 60000", " 60 000.00 "):
        response = ask(anonymous, example_product, typed, "59")

        assert response.status_code == 200, typed
        assert "Pago quincenal $1,200.24" in text_of(response), typed
        # and the box still shows it as the person typed it
        assert input_value(response, "amount") == typed, typed


@pytest.mark.parametrize(
    ("amount", "quincenas", "message"),
    [
        ("300000", "59", "El monto máximo de este préstamo es $250,000.00."),
        ("4999.99", "59", "El monto mínimo de este préstamo es $5,000.00."),
        ("sesenta mil", "59", "Escribe el monto en pesos, solo con números"),
        # A comma for the centavos is refused, not read as 6,000,000 pesos.
        ("60000,50", "59", "Escribe el monto en pesos, solo con números"),
        ("60000.505", "59", "El monto puede llevar a lo más dos decimales (centavos)."),
        ("", "59", "Escribe el monto que quieres pedir."),
        ("60000", "120", "El plazo de este préstamo va de 24 a 96 quincenas."),
        ("60000", "12", "El plazo de este préstamo va de 24 a 96 quincenas."),
        ("60000", "dos años", "Escribe el plazo como un número entero de quincenas"),
    ],
)
def test_bad_input_is_refused_in_spanish_keeping_what_was_typed(
    anonymous, example_product, amount, quincenas, message
):
    response = ask(anonymous, example_product, amount, quincenas)

    assert response.status_code == 400
    text = text_of(response)
    assert message in text
    assert "Error: revisa tus datos para ver la simulación." in text
    # Nothing typed is lost
    assert input_value(response, "amount") == amount
    assert input_value(response, "quincenas") == quincenas
    assert selected_option(response) == example_product.code
    # and no figures are shown for a loan that was not simulated
    assert "Tu simulación" not in text
    assert "aria-invalid" in html_of(response)


def test_an_unknown_product_is_refused_keeping_the_amount_and_term(anonymous, example_product):
    response = anonymous.get(URL, {"product": "ZZ", "amount": "$60,000", "quincenas": "59"})

    assert response.status_code == 400
    assert "Ese préstamo no está disponible: elige uno de la lista." in text_of(response)
    assert input_value(response, "amount") == "$60,000"
    assert input_value(response, "quincenas") == "59"


def test_a_loan_whose_payments_would_not_repay_it_is_refused(anonymous, db):
    # Given a product that allows tiny amounts over forty years
    product = LoanProductFactory(
        min_amount=Decimal("1.00"), min_quincenas=24, max_quincenas=960, fund_rate=Decimal("0")
    )

    # When 10 pesos over 960 quincenas are simulated, the first payment is all interest
    response = ask(anonymous, product, "10", "960")

    assert response.status_code == 400
    assert "los pagos no amortizan el préstamo" in text_of(response)
    assert input_value(response, "amount") == "10"


def test_a_product_no_longer_on_offer_cannot_be_simulated(anonymous, example_product):
    ended = LoanProductFactory(valid_until=date(2026, 1, 31))

    response = ask(anonymous, ended, "60000", "59")

    assert response.status_code == 400
    assert "Ese préstamo no está disponible" in text_of(response)
    assert ended.name not in product_options(response)


def test_the_simulator_only_reads(anonymous, example_product):
    response = anonymous.post(URL, {"product": example_product.code, "amount": "60000"})

    assert response.status_code == 405


def test_without_products_on_offer_the_page_says_so(anonymous, db):
    response = anonymous.get(URL)

    assert response.status_code == 200
    assert "Por ahora el Instituto no tiene préstamos en línea disponibles" in text_of(response)
    assert '<form class="form"' not in html_of(response)


# --- htmx ---------------------------------------------------------------------------------------


def test_the_form_asks_again_on_every_change_and_results_are_announced(anonymous, example_product):
    response = anonymous.get(URL)

    html = html_of(response)
    form = re.search(r'<form class="form" method="get"[^>]*>', html).group(0)
    assert f'action="{URL}"' in form
    assert f'hx-get="{URL}"' in form
    assert 'hx-trigger="input delay:400ms, submit"' in form
    assert 'hx-target="#resultados"' in form
    assert 'hx-push-url="true"' in form
    assert '<div id="resultados" aria-live="polite">' in html
    # htmx is loaded on this page, configured without inline code, and swaps a 400
    assert '<script src="/static/vendor/htmx/htmx.min.js" defer></script>' in html
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html).group(1)
    assert '"includeIndicatorStyles": false' in config
    assert '{"code": "400", "swap": true, "error": false}' in config


def test_htmx_gets_only_the_results(anonymous, example_product):
    response = ask(anonymous, example_product, "60000", "59", **HTMX)

    assert response.status_code == 200
    html = html_of(response)
    assert "<html" not in html
    assert '<form class="form"' not in html
    assert "Pago quincenal $1,200.24" in text_of(response)
    assert schedule_rows(response) == 59
    # The help texts follow the chosen product, swapped beside the boxes (out of band)
    assert (
        '<div class="form__help" id="id_amount_helptext" hx-swap-oob="true">'
        "Entre $5,000.00 y $250,000.00. Puedes escribirlo con o sin comas.</div>"
    ) in html
    # and caches keep the fragment and the page apart
    assert "HX-Request" in response["Vary"]


def test_htmx_gets_the_errors_with_status_400(anonymous, example_product):
    response = ask(anonymous, example_product, "300000", "59", **HTMX)

    # 400, like the page without JavaScript; the page's htmx-config swaps it anyway
    assert response.status_code == 400
    assert "<html" not in html_of(response)
    text = text_of(response)
    assert "Monto que quieres pedir: El monto máximo de este préstamo es $250,000.00." in text
    assert "Tu simulación" not in text
    assert '<a href="#id_amount">' in html_of(response)


def test_a_history_restore_gets_the_whole_page(anonymous, example_product):
    response = ask(
        anonymous,
        example_product,
        "60000",
        "59",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
        **HTMX,
    )

    assert "<html" in html_of(response)


# --- Accounts -------------------------------------------------------------------------------------


def test_an_unlinked_account_is_invited_to_link_its_affiliation(unlinked, example_product):
    response = unlinked.get(URL)

    assert response.status_code == 200
    assert f'href="{reverse("affiliates:link")}"' in html_of(response)
    assert "vincula tu cuenta con tu afiliación" in text_of(response)
    assert "Puedes solicitar hasta" not in text_of(response)


def test_a_linked_applicant_starts_from_their_best_offer_and_may_apply(applicant, example_product):
    # Given an active worker with 18 years of seniority
    offer = offer_for(applicant.affiliate, example_product)

    # When they open the simulator
    response = applicant.get(URL)

    # Then, before typing anything, they read what they may borrow, already filled in
    assert response.status_code == 200
    text = text_of(response)
    assert "Puedes solicitar este préstamo" in text
    assert f"Puedes solicitar hasta {pesos(offer.amount)} a {offer.quincenas} quincenas." in text
    assert input_value(response, "amount") == f"{offer.amount:,.2f}"
    assert input_value(response, "quincenas") == str(offer.quincenas)
    assert "Esta es una simulación general" not in text
    # and a button posts that very loan to the application
    form = re.search(
        rf'<form class="card__footer" method="post" action="{START_URL}">(.*?)</form>',
        html_of(response),
        re.S,
    )
    assert form
    assert 'name="csrfmiddlewaretoken"' in form.group(1)
    assert '<input type="hidden" name="product" value="PC">' in form.group(1)
    assert f'<input type="hidden" name="amount" value="{offer.amount:.2f}">' in form.group(1)
    assert f'<input type="hidden" name="quincenas" value="{offer.quincenas}">' in form.group(1)
    assert "Solicitar este préstamo</button>" in form.group(1)


def test_a_linked_applicant_asking_too_much_reads_why_and_their_limit(applicant, example_product):
    offer = offer_for(applicant.affiliate, example_product)

    # 200,000 is within the product, but more than six monthly salaries of 19,000
    response = ask(applicant, example_product, "200000", "96")

    assert response.status_code == 200
    text = text_of(response)
    assert "Con estos datos no puedes solicitar este préstamo" in text
    assert "puedes solicitar hasta 6 veces tu sueldo base mensual de $19,000.00" in text
    assert f"Puedes solicitar hasta {pesos(offer.amount)} a {offer.quincenas} quincenas." in text
    # The figures are still there, but not the button
    assert "Tu simulación" in text
    assert "Solicitar este préstamo" not in text


def test_a_linked_applicant_with_a_typing_error_still_reads_their_limit(applicant, example_product):
    offer = offer_for(applicant.affiliate, example_product)

    response = ask(applicant, example_product, "sesenta mil", "48", **HTMX)

    assert response.status_code == 400
    text = text_of(response)
    assert "Escribe el monto en pesos, solo con números" in text
    assert f"Puedes solicitar hasta {pesos(offer.amount)} a {offer.quincenas} quincenas." in text
    assert "Solicitar este préstamo" not in text


def test_a_blocked_affiliate_reads_the_reason_and_cannot_apply(applicant, example_product):
    applicant.affiliate.is_blocked = True
    applicant.affiliate.save()

    response = applicant.get(URL)

    assert response.status_code == 200
    text = text_of(response)
    assert "Con estos datos no puedes solicitar este préstamo" in text
    assert "Tu afiliación tiene un bloqueo en el Instituto" in text
    assert "Puedes solicitar hasta" not in text
    assert "Solicitar este préstamo" not in text


def test_a_renewal_shows_the_previous_balance_and_what_would_be_received(
    applicant, example_product
):
    # Given a PC loan with 22,000.00 left and 30 of 72 payments made (41.7 %, below half)...
    AffiliateLoanFactory(
        affiliate=applicant.affiliate,
        product_code="PC",
        balance=Decimal("22000.00"),
        installments_paid=40,
        installments_total=72,
        quincenal_payment=Decimal("720.50"),
    )

    response = ask(applicant, example_product, "50000", "48")

    assert response.status_code == 200
    text = text_of(response)
    assert "Saldo de tu préstamo anterior: $22,000.00 · Recibirías: $28,000.00" in text


def test_a_pensioner_is_offered_only_the_products_for_pensioners(
    applicant, example_product, pensioners_product
):
    applicant.affiliate.status = AffiliateStatus.PENSIONER
    applicant.affiliate.save()

    response = applicant.get(URL)

    assert response.status_code == 200
    assert product_options(response) == [pensioners_product.name]
    assert selected_option(response) == pensioners_product.code
    # and asking for the workers' product by its id is refused
    refused = ask(applicant, example_product, "60000", "48")
    assert refused.status_code == 400
    assert "Ese préstamo no está disponible" in text_of(refused)


def test_an_anonymous_visitor_is_offered_every_product(
    anonymous, example_product, pensioners_product
):
    response = anonymous.get(URL)

    assert product_options(response) == [example_product.name, pensioners_product.name]


# --- The page itself ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["anonymous", "applicant"])
def test_the_page_has_no_inline_script_nor_style(persona, request, example_product):
    client = request.getfixturevalue(persona)

    for response in (client.get(URL), ask(client, example_product, "abc", "59")):
        html = html_of(response)
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert scripts
        assert all("src=" in tag for tag in scripts)
        assert all(
            not body.strip() for body in re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S)
        )
        assert re.search(r"\sstyle=", html) is None
        assert "<style" not in html
        assert re.search(r"\son[a-z]+=", html) is None


def test_the_navigation_leads_to_the_simulator(anonymous, example_product):
    response = anonymous.get(URL)

    nav = re.search(r"<nav\b.*?</nav>", html_of(response), re.S).group(0)
    assert f'href="{URL}" aria-current="page">Simulador</a>' in nav
    home = anonymous.get(reverse("home"))
    assert f'href="{URL}">Simula tu préstamo</a>' in html_of(home)


def test_htmx_is_served_from_the_npm_package(anonymous):
    # node_modules comes from `npm ci` (make assets), never from the repository.
    response = anonymous.get("/static/vendor/htmx/htmx.min.js")

    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert b"htmx" in body
    assert b'version:"2.' in body
