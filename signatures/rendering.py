"""HTML to PDF with WeasyPrint, reading nothing but the project's own static files.

A contract is rendered from a template that holds applicant data, so the renderer must never
reach the network or the file system on the document's say-so. `StaticFilesFetcher` serves
`static:<path>` URLs from the staticfiles finders (the same files `{% static %}` names, in
development and in production) and `data:` URLs (decoded in memory); any other URL is refused,
and a refusal stops the rendering with `PdfRenderingError` instead of leaving a hole in the
document.

Fonts are subset by HarfBuzz (libharfbuzz-subset) when WeasyPrint finds it, and by fontTools
otherwise, which is much slower and, WeasyPrint warns, soon unsupported;
`harfbuzz_subsets_fonts()` says which one this process uses (the tests insist on HarfBuzz).
"""

import mimetypes
import posixpath
from pathlib import Path
from urllib.parse import unquote

from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from weasyprint import HTML
from weasyprint.pdf import fonts as weasyprint_fonts
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

STATIC_SCHEME = "static"


class ResourceRefused(ValueError):
    """A URL the document asked for that is not one of the project's static files."""


class PdfRenderingError(Exception):
    """The document asked for a resource that was refused or could not be read."""


class StaticFilesFetcher(URLFetcher):
    """WeasyPrint's URL fetcher restricted to `static:<path>` and `data:` URLs.

    `fail_on_errors=True` turns any exception raised here into WeasyPrint's
    FatalURLFetchingError, which stops the rendering; without it WeasyPrint would log a
    warning and go on without the font or image.
    """

    def __init__(self) -> None:
        # What the parent class may still open itself: only data: URLs, decoded by urllib's
        # DataHandler without any I/O.
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, fail_on_errors=True)

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        scheme, _colon, rest = url.partition(":")
        scheme = scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != STATIC_SCHEME:
            raise ResourceRefused(f"Only static files may be used in a PDF, not {url[:200]!r}")
        path = _static_file(rest)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(
            url, body=path.read_bytes(), headers={"Content-Type": content_type}
        )


def _static_file(relative: str) -> Path:
    """The file of the project's static files named `relative` ("css/contract.css")."""
    relative = unquote(relative)
    normalized = posixpath.normpath(relative)
    # finders.find joins the name to each static folder; keep it inside them.
    if (
        not relative
        or "\\" in relative
        or "\x00" in relative
        or normalized.startswith(("/", "../"))
        or normalized in {".", ".."}
    ):
        raise ResourceRefused(f"Not a static file name: {relative[:200]!r}")
    try:
        found = finders.find(normalized)
    except SuspiciousFileOperation as error:
        raise ResourceRefused(f"Not a static file name: {relative[:200]!r}") from error
    if not found:
        raise ResourceRefused(f"No such static file: {relative[:200]!r}")
    return Path(found)


def html_to_pdf(html: str) -> bytes:
    """The PDF of `html`, whose resources are `static:` or `data:` URLs."""
    document = HTML(string=html, url_fetcher=StaticFilesFetcher())
    try:
        return document.write_pdf()
    except FatalURLFetchingError as error:
        # A BaseException in WeasyPrint: made an ordinary error so callers (a view, a task)
        # handle it like any other failure.
        cause = error.__cause__ or error
        raise PdfRenderingError(str(cause)) from error


def harfbuzz_subsets_fonts() -> bool:
    """Whether WeasyPrint subsets embedded fonts with HarfBuzz in this process.

    The same condition as weasyprint.pdf.fonts.Font.subset (WeasyPrint 70): the subset library
    was loaded and HarfBuzz is at least 4.1.0; otherwise it falls back to fontTools.
    """
    return bool(weasyprint_fonts.harfbuzz_subset) and bool(
        weasyprint_fonts.harfbuzz.hb_version_atleast(4, 1, 0)
    )
