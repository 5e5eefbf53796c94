"""Free text as people type it, without the control characters nobody types on purpose.

A comment pasted from a terminal or a PDF can carry a NUL (`\\x00`, which PostgreSQL refuses in a
text column) or a vertical tab (`\\x0b`, which an XLSX file cannot hold): either used to break a
submission or the managers' export. Every free-text field of the portal is a `PlainTextField`
(or cleans its value with `text_clean`), which removes them quietly: the person loses nothing
they could see. Multi-line text keeps its new lines and tabs; a single line turns them into a
space.

- `text_clean("Juan\\x00 Pérez")` gives "Juan Pérez";
- `text_clean("uno\\r\\ndos\\x0b", multiline=True)` gives "uno\\ndos".
"""

import re

from django import forms
from django.db import models

# Unicode's control characters (C0, DEL, C1) other than the tab and the new lines, and the
# line and paragraph separators, which spreadsheets and emails read in different ways.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_SINGLE_LINE_BREAKS = re.compile(r"[\t\r\n]+")


def control_strip(value: str) -> str:
    """`value` without control characters, its tabs and new lines as they are (what a
    spreadsheet cell or a CSV field may hold)."""
    return _CONTROL.sub("", value)


def text_clean(value: str, *, multiline: bool = False) -> str:
    """`value` without control characters; new lines as "\\n" (multi-line) or one space."""
    value = control_strip(value)
    if multiline:
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return _SINGLE_LINE_BREAKS.sub(" ", value)


class PlainTextField(forms.CharField):
    """A CharField whose value has no control characters (`text_clean`), before any check:
    a stray NUL is removed rather than refused, and `max_length` counts what is kept."""

    def __init__(self, *, multiline: bool = False, **kwargs):
        self.multiline = multiline
        if multiline:
            kwargs.setdefault("widget", forms.Textarea)
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str):
            value = text_clean(value, multiline=self.multiline)
        return super().to_python(value)


class PlainTextAdminMixin:
    """For a ModelAdmin or an inline: every free-text field of the model (a CharField or a
    TextField without choices; not an email, a slug or a URL, which have their own checks) is
    edited through a `PlainTextField`, multi-line for a TextField."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if type(db_field) in (models.CharField, models.TextField) and not db_field.choices:
            kwargs.setdefault("form_class", PlainTextField)
            kwargs.setdefault("multiline", isinstance(db_field, models.TextField))
        return super().formfield_for_dbfield(db_field, request, **kwargs)
