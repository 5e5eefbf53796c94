"""The managers' dashboard in Chromium: the figures, a month chosen in the filter, a table
downloaded, and the printed page."""

import csv
import io

from playwright.sync_api import Page, expect

from tests.dashboard.program import previous_month
from tests.e2e.sessions import sign_in


def test_a_manager_reads_the_figures_filters_a_month_and_downloads_a_table(
    page: Page,
    context,
    manager,
    live_server,
    program,
    tmp_path,
):
    sign_in(context, manager, live_server)

    page.goto("/tablero/")

    expect(page.get_by_role("heading", name="Tablero del programa")).to_be_visible()
    received = page.locator(".kpi", has_text="Solicitudes recibidas")
    expect(received).to_contain_text("8")
    expect(page.locator("#estados svg")).to_have_attribute("role", "img")

    before = previous_month()
    page.get_by_label("Desde (mes)").fill(f"{before:%Y-%m}")
    page.get_by_label("Hasta (mes)").fill(f"{before:%Y-%m}")
    page.get_by_role("button", name="Ver periodo").click()

    expect(received).to_contain_text("3")
    summary_row = page.locator("#resumen tr", has_text="Monto pagado")
    expect(summary_row).to_contain_text("$60,000.00")
    page.screenshot(path=tmp_path / "tablero-mes.png", full_page=True)

    with page.expect_download() as download_info:
        page.locator("#resumen").get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"tablero-resumen-{before:%Y%m}-{before:%Y%m}.csv"
    rows = list(csv.reader(io.StringIO(download.path().read_text(encoding="utf-8-sig"))))
    assert ["Solicitudes recibidas", "3"] in rows
    assert ["Monto pagado", "60000.00"] in rows

    page.emulate_media(media="print")
    expect(page.locator(".dashboard-filter")).to_be_hidden()
    expect(page.locator(".report__downloads").first).to_be_hidden()
    expect(page.locator("#resumen table")).to_be_visible()
