"""Structured logs: one JSON object per line, each with the id of the request that wrote it.

- `RequestLogMiddleware` gives every request an id (the load balancer's `X-Request-ID` when it
  sends a well-formed one, a new one otherwise), returns it in the response's `X-Request-ID`
  header, and writes one line per request: method, the URL *pattern* (never the path, which
  holds folios and survey tokens), status and duration.
- `RequestIdFilter` puts that id on every record logged while the request runs, from any logger.
- `JsonFormatter` writes the record as JSON and masks what could identify a person or open a
  document, wherever a message or a traceback carries it: CURP, RFC, CLABE, email addresses,
  UUIDs and long tokens. Code should not log personal data in the first place; this is the net
  under it.

With LOG_FORMAT=plain (the default under DEBUG) the lines are for a person at a terminal.
"""

import logging
import re
import time
import uuid
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
logger = logging.getLogger("isseg_portal.request")

_INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

# Order matters: the specific shapes first, then anything token-like that is left.
_REDACTIONS = [
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[correo]"),
    (re.compile(r"\b[A-Z][AEIOUX][A-Z]{2}\d{6}[HM][A-Z]{5}[0-9A-Z]\d\b"), "[CURP]"),
    (re.compile(r"\b[A-ZÑ&]{3,4}\d{6}[A-Z0-9]{3}\b"), "[RFC]"),
    (re.compile(r"\b\d{18}\b"), "[CLABE]"),
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
            r"[0-9a-fA-F]{12}\b"
        ),
        "[uuid]",
    ),
    # A SHA-256 (64 hexadecimal digits) identifies a document, not a person: it stays.
    (
        re.compile(r"[A-Za-z0-9_:-]{32,}"),
        lambda match: match[0] if re.fullmatch(r"[0-9a-f]{64}", match[0]) else "[token]",
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(BaseJsonFormatter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("timestamp", True)
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)

    def add_fields(self, log_record: dict, record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record["level"] = record.levelname
        log_record["logger"] = record.name
        log_record["request_id"] = getattr(record, "request_id", "-")
        for key in ("message", "exc_info", "stack_info"):
            if isinstance(log_record.get(key), str):
                log_record[key] = redact(log_record[key])


class PlainFormatter(logging.Formatter):
    """For a terminal: the same masking, without JSON."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _INCOMING_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            match = getattr(request, "resolver_match", None)
            route = f"/{match.route}" if match else None
            logger.info(
                "%s %s %s",
                request.method,
                route or "-",
                response.status_code,
                extra={
                    "method": request.method,
                    "route": route,
                    "view": match.view_name if match else None,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "authenticated": getattr(
                        getattr(request, "user", None), "is_authenticated", False
                    ),
                },
            )
            return response
        finally:
            request_id_var.reset(token)
