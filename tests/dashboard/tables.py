"""The dashboard's tables as a person reads them on the screen: the text of each row of each
report, by the report's id."""

from html.parser import HTMLParser

from django.urls import reverse

DASHBOARD = reverse("dashboard:dashboard")


class Cells(HTMLParser):
    """The text of each row of each report table on the page, by the table's id."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._report = None
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and "report" in (attrs.get("class") or "").split():
            self._report = attrs["id"]
            self.tables[self._report] = []
        elif tag == "tr" and self._report:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif (
            tag == "span"
            and self._cell is not None
            and "visually-hidden" in (attrs.get("class") or "")
        ):
            self._cell = None

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._report].append(self._row)
            self._row = None
        elif tag == "table":
            self._report = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def screen_tables(response) -> dict[str, list[list[str]]]:
    parser = Cells()
    parser.feed(response.content.decode())
    return parser.tables
