"""The dashboard's tables and charts, built once from the figures and used three ways: shown on
the page, exported to CSV and exported to XLSX. Exports therefore hold exactly what the tables
on screen hold: the same rows, the same order; only the formatting differs (the page writes
"$27,426,243.75", the files 27426243.75).
"""

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from dashboard.selectors import BreakdownRow, ProgramFigures
from isseg_portal.formatting import pesos, spreadsheet_safe
from loans.workflow import ApplicationStatus
from surveys.models import Answer, QuestionCode
from surveys.selectors import SatisfactionFigures

C = QuestionCode
S = ApplicationStatus

MONTH_NAMES = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)


def month_label(month: date) -> str:
    return f"{MONTH_NAMES[month.month - 1]} {month.year}"


class Kind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    MONEY = "money"
    PERCENT = "percent"
    DECIMAL = "decimal"
    MONTH = "month"
    DATETIME = "datetime"


@dataclass(frozen=True)
class Cell:
    value: object
    kind: Kind = Kind.TEXT

    @property
    def numeric(self) -> bool:
        return self.kind not in (Kind.TEXT, Kind.MONTH, Kind.DATETIME)

    @property
    def display(self) -> str:
        """As the page shows it."""
        value = self.value
        if value is None or value == "":
            return "—"
        if self.kind == Kind.INTEGER:
            return f"{value:,}"
        if self.kind == Kind.MONEY:
            return pesos(value)
        if self.kind == Kind.PERCENT:
            return f"{value} %"
        if self.kind == Kind.MONTH:
            return month_label(value)
        if self.kind == Kind.DATETIME:
            return timezone.localtime(value).strftime("%d/%m/%Y %H:%M")
        return str(value)

    @property
    def plain(self) -> str | int | Decimal:
        """As the files hold it: numbers without symbols or thousands separators."""
        value = self.value
        if value is None:
            return ""
        if self.kind == Kind.MONTH:
            return value.strftime("%Y-%m")
        if self.kind == Kind.DATETIME:
            return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        return value


@dataclass(frozen=True)
class Bar:
    label: str
    display: str
    width: int
    y: int


@dataclass(frozen=True)
class Chart:
    """Horizontal bars, each with its label above and its value beside it, so that it reads
    in black and white and to a screen reader (the table under it holds the same data)."""

    title: str
    bars: list[Bar]
    ROW = 40
    WIDTH = 440

    @property
    def height(self) -> int:
        return max(len(self.bars), 1) * self.ROW + 8

    @property
    def description(self) -> str:
        return "; ".join(f"{bar.label}: {bar.display}" for bar in self.bars)


@dataclass(frozen=True)
class Table:
    slug: str
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    note: str = ""
    chart: Chart | None = None
    numeric_columns: list[bool] = field(default_factory=list)

    @property
    def headers(self) -> list[tuple[str, bool]]:
        """Each column's title and whether it holds numbers (aligned right)."""
        return list(zip(self.columns, self.numeric_columns, strict=True))

    def plain_rows(self) -> list[list[str | int | Decimal]]:
        return [[cell.plain for cell in row] for row in self.rows]


def _chart(title: str, rows: Iterable[tuple[str, Cell]]) -> Chart:
    rows = list(rows)
    biggest = max((float(cell.value or 0) for _label, cell in rows), default=0) or 1
    bars = [
        Bar(
            label=label,
            display=cell.display,
            # At least a sliver, so that a small value is not mistaken for none.
            width=max(
                round(float(cell.value or 0) / biggest * Chart.WIDTH), 2 if cell.value else 0
            ),
            y=index * Chart.ROW,
        )
        for index, (label, cell) in enumerate(rows)
    ]
    return Chart(title=title, bars=bars)


def _table(slug: str, title: str, columns: Sequence[str], rows: list[list[Cell]], **extra):
    numeric = [any(row[i].numeric for row in rows) for i in range(len(columns))]
    return Table(
        slug=slug, title=title, columns=list(columns), rows=rows, numeric_columns=numeric, **extra
    )


def _share(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1")) if whole else None


STATUS_ORDER = (
    S.DRAFT,
    S.SIGNED,
    S.IN_REVIEW,
    S.RETURNED,
    S.APPROVED,
    S.DISBURSED,
    S.REJECTED,
    S.CANCELLED,
    S.EXPIRED,
)


def program_tables(figures: ProgramFigures) -> list[Table]:
    summary = _table(
        "resumen",
        _("Cifras del periodo"),
        [_("Indicador"), _("Valor")],
        [
            [Cell(_("Solicitudes recibidas")), Cell(figures.received, Kind.INTEGER)],
            [Cell(_("Préstamos pagados")), Cell(figures.paid, Kind.INTEGER)],
            [Cell(_("Monto solicitado")), Cell(figures.amount_requested, Kind.MONEY)],
            [
                Cell(_("Monto aprobado (aprobadas y pagadas)")),
                Cell(figures.amount_approved, Kind.MONEY),
            ],
            [Cell(_("Monto pagado")), Cell(figures.amount_paid, Kind.MONEY)],
            [
                Cell(_("Interés proyectado de los préstamos pagados")),
                Cell(figures.interest_paid, Kind.MONEY),
            ],
            [
                Cell(_("Tasa anual promedio ponderada por monto (pagados)")),
                Cell(figures.weighted_rate, Kind.PERCENT),
            ],
            [
                Cell(_("Plazo promedio ponderado por monto (quincenas, pagados)")),
                Cell(figures.weighted_term, Kind.DECIMAL),
            ],
            [
                Cell(_("Mediana de días de la firma al pago")),
                Cell(figures.median_days_to_payment, Kind.DECIMAL),
            ],
        ],
    )
    status_rows = [
        [
            Cell(str(S(status).label)),
            Cell(figures.by_status[status], Kind.INTEGER),
            Cell(_share(figures.by_status[status], figures.received), Kind.PERCENT),
            Cell(figures.amount_by_status[status], Kind.MONEY),
        ]
        for status in STATUS_ORDER
    ]
    statuses = _table(
        "estados",
        _("Solicitudes por estado actual"),
        [_("Estado"), _("Solicitudes"), _("% de las recibidas"), _("Monto solicitado")],
        status_rows,
        chart=_chart(_("Solicitudes por estado actual"), ((r[0].value, r[1]) for r in status_rows)),
    )
    rejected = figures.by_status[S.REJECTED]
    reason_rows = [
        [
            Cell(reason.label),
            Cell(reason.applications, Kind.INTEGER),
            Cell(_share(reason.applications, rejected), Kind.PERCENT),
        ]
        for reason in figures.rejection_reasons
    ]
    reasons = _table(
        "rechazos",
        _("Motivos de rechazo"),
        [_("Motivo"), _("Solicitudes"), _("% de las rechazadas")],
        reason_rows,
        chart=_chart(_("Motivos de rechazo"), ((r[0].value, r[1]) for r in reason_rows)),
    )
    month_rows = [
        [
            Cell(row.month, Kind.MONTH),
            Cell(row.received, Kind.INTEGER),
            Cell(row.paid, Kind.INTEGER),
            Cell(row.amount_paid, Kind.MONEY),
        ]
        for row in figures.by_month
    ]
    months = _table(
        "meses",
        _("Por mes de recepción"),
        [_("Mes"), _("Recibidas"), _("Pagadas"), _("Monto pagado")],
        month_rows,
        chart=_chart(
            _("Solicitudes recibidas por mes"), ((r[0].display, r[1]) for r in month_rows)
        ),
    )
    return [
        summary,
        statuses,
        reasons,
        months,
        _breakdown_table("productos", _("Por producto"), _("Producto"), figures.by_product, True),
        _breakdown_table(
            "dependencias", _("Por dependencia"), _("Dependencia"), figures.by_employer, False
        ),
        _breakdown_table(
            "municipios", _("Por municipio"), _("Municipio"), figures.by_municipality, False
        ),
    ]


def _breakdown_table(
    slug: str, title: str, column: str, rows: list[BreakdownRow], with_chart: bool
) -> Table:
    cells = [
        [
            Cell(row.label),
            Cell(row.received, Kind.INTEGER),
            Cell(row.paid, Kind.INTEGER),
            Cell(row.amount_requested, Kind.MONEY),
            Cell(row.amount_paid, Kind.MONEY),
        ]
        for row in rows
    ]
    return _table(
        slug,
        title,
        [column, _("Recibidas"), _("Pagadas"), _("Monto solicitado"), _("Monto pagado")],
        cells,
        chart=_chart(title, ((r[0].value, r[1]) for r in cells)) if with_chart else None,
    )


SATISFACTION_LABELS = {
    1: _("1 · Muy insatisfecho"),
    2: _("2 · Insatisfecho"),
    3: _("3 · Ni satisfecho ni insatisfecho"),
    4: _("4 · Satisfecho"),
    5: _("5 · Muy satisfecho"),
}


def satisfaction_tables(figures: SatisfactionFigures) -> list[Table]:
    scales = figures.scales
    payment, signing = figures.payment_rate, figures.signing_rate
    summary = _table(
        "satisfaccion",
        _("Satisfacción"),
        [_("Indicador"), _("Valor")],
        [
            [
                Cell(_("Satisfechos (4 o 5 de 5)")),
                Cell(figures.satisfied_share, Kind.PERCENT),
            ],
            [
                Cell(_("Satisfacción promedio (1 a 5)")),
                Cell(figures.satisfaction.average, Kind.DECIMAL),
            ],
            [Cell(_("NPS (−100 a 100)")), Cell(figures.nps, Kind.DECIMAL)],
            [Cell(_("Invitaciones después del pago")), Cell(payment.invited, Kind.INTEGER)],
            [Cell(_("Respuestas después del pago")), Cell(payment.answered, Kind.INTEGER)],
            [Cell(_("Tasa de respuesta después del pago")), Cell(payment.percent, Kind.PERCENT)],
            [
                Cell(_("Facilidad del trámite en línea (1 a 5)")),
                Cell(scales[C.EASE].average, Kind.DECIMAL),
            ],
            [
                Cell(_("Tiempo hasta recibir el dinero (1 a 5)")),
                Cell(scales[C.SPEED].average, Kind.DECIMAL),
            ],
            [
                Cell(_("Tuvieron que acudir a una oficina")),
                Cell(scales[C.OFFICE].share((1,)), Kind.PERCENT),
            ],
            [Cell(_("Invitaciones al firmar")), Cell(signing.invited, Kind.INTEGER)],
            [Cell(_("Tasa de respuesta al firmar")), Cell(signing.percent, Kind.PERCENT)],
            [
                Cell(_("Facilidad al firmar (1 a 5)")),
                Cell(scales[C.SIGNING_EASE].average, Kind.DECIMAL),
            ],
            [
                Cell(_("Acudieron a una oficina antes de firmar")),
                Cell(scales[C.SIGNING_OFFICE].share((1,)), Kind.PERCENT),
            ],
        ],
    )
    satisfaction = figures.satisfaction
    score_rows = [
        [
            Cell(SATISFACTION_LABELS[value]),
            Cell(satisfaction.counts.get(value, 0), Kind.INTEGER),
            Cell(_share(satisfaction.counts.get(value, 0), satisfaction.responses), Kind.PERCENT),
        ]
        for value in (5, 4, 3, 2, 1)
    ]
    scores = _table(
        "calificaciones",
        _("Satisfacción general: respuestas por calificación"),
        [_("Calificación"), _("Respuestas"), _("% de las respuestas")],
        score_rows,
        chart=_chart(_("Respuestas por calificación"), ((r[0].value, r[1]) for r in score_rows)),
    )
    trend_rows = [
        [
            Cell(row.month, Kind.MONTH),
            Cell(row.scale.responses, Kind.INTEGER),
            Cell(row.scale.share((4, 5)), Kind.PERCENT),
            Cell(row.scale.average, Kind.DECIMAL),
        ]
        for row in figures.by_month
    ]
    trend = _table(
        "satisfaccion-mensual",
        _("Satisfacción por mes de respuesta"),
        [_("Mes"), _("Respuestas"), _("Satisfechos (4 o 5)"), _("Promedio (1 a 5)")],
        trend_rows,
        chart=_chart(_("Satisfechos (4 o 5) por mes"), ((r[0].display, r[2]) for r in trend_rows)),
    )
    return [summary, scores, trend]


def comments_table(answers: Iterable[Answer], *, note: str = "") -> Table:
    rows = []
    for answer in answers:
        response = answer.response
        if response.contact_consent:
            application = response.invitation.application
            person = _("%(name)s · %(folio)s · %(email)s %(phone)s") % {
                "name": application.affiliate.full_name,
                "folio": application.folio,
                "email": application.email or application.applicant.email,
                "phone": application.phone,
            }
        else:
            person = _("Anónimo (no autorizó que lo contacten)")
        rows.append(
            [
                Cell(response.submitted_at, Kind.DATETIME),
                Cell(answer.text),
                Cell(person.strip()),
            ]
        )
    return _table(
        "comentarios",
        _("Comentarios"),
        [_("Fecha"), _("Comentario"), _("Persona")],
        rows,
        note=note,
    )


# --- Files -----------------------------------------------------------------------------------


def table_csv(table: Table) -> bytes:
    """UTF-8 with BOM (Excel in Spanish opens it with accents right), comma separated."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.columns)
    for row in table.plain_rows():
        writer.writerow([spreadsheet_safe(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def table_xlsx(table: Table, *, period: str) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=table.slug[:31])
    sheet.append([table.title])
    sheet.append([period])
    sheet.append(table.columns)
    for row in table.rows:
        sheet.append([_xlsx_cell(sheet, cell) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# How a spreadsheet shows each kind of number; the value stays the plain number.
XLSX_FORMATS = {Kind.MONEY: '"$"#,##0.00', Kind.INTEGER: "#,##0", Kind.PERCENT: "0.0"}


def _xlsx_cell(sheet, cell: Cell):
    value = _xlsx_value(cell)
    if cell.kind not in XLSX_FORMATS or not isinstance(value, (int, float)):
        return value
    formatted = WriteOnlyCell(sheet, value=value)
    formatted.number_format = XLSX_FORMATS[cell.kind]
    return formatted


def _xlsx_value(cell: Cell):
    value = cell.plain
    if isinstance(value, Decimal):
        # openpyxl writes numbers as floats; two decimals survive that exactly enough.
        return float(value)
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return value


def period_label(first: date, last: date) -> str:
    return _("Solicitudes recibidas de %(first)s a %(last)s") % {
        "first": month_label(first),
        "last": month_label(last),
    }


def generated_label(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M")
