"""Bench-only URLs in front of the portal's (bench/settings.py).

- ``/bench/hello/``: a plain HttpResponse, the floor of a request through gunicorn and the
  middleware.
- ``/bench/template-only/?path=<a portal page>``: that page's template rendered with the context
  its real view built, captured once per process and user (querysets turned into lists), so the
  view's own queries and logic are left out; middleware and context processors run as on the
  real page. The ratio page / template-only is what the view costs beyond its template.
"""

import copy
import threading
from collections.abc import Callable
from typing import Any

from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Page
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import render
from django.template import loader
from django.template.response import TemplateResponse
from django.urls import Resolver404, path, resolve

from isseg_portal.urls import urlpatterns as portal_urlpatterns

_capturing = threading.local()
_captured: dict[tuple[str, Any], tuple[str, dict, bool]] = {}
_lock = threading.Lock()
_render_to_string: Callable[..., str] = loader.render_to_string


def _recording_render_to_string(template_name, context=None, request=None, using=None):
    """`render` (django.shortcuts) goes through here: while a capture is on in this thread, the
    first template and context are kept."""
    if getattr(_capturing, "on", False) and getattr(_capturing, "found", None) is None:
        _capturing.found = (template_name, context or {})
    return _render_to_string(template_name, context, request, using)


loader.render_to_string = _recording_render_to_string


def freeze(value: Any) -> Any:
    """The context with its lazy parts evaluated once: querysets become lists."""
    if isinstance(value, QuerySet):
        return list(value)
    if isinstance(value, Page):
        value.object_list = list(value.object_list)
        return value
    if isinstance(value, ChangeList):
        value.result_list = list(value.result_list)
        return value
    if isinstance(value, dict):
        return {key: freeze(item) for key, item in value.items()}
    if isinstance(value, list):
        return [freeze(item) for item in value]
    return value


def capture(request: HttpRequest, page: str) -> tuple[str, dict, bool]:
    """Call the real view of `page` as this request's user; its template and frozen context."""
    page_path, _mark, query = page.partition("?")
    match = resolve(page_path)
    # The page's own request: its path and query string, this request's user and session.
    page_request = copy.copy(request)
    page_request.path = page_request.path_info = page_path
    page_request.GET = QueryDict(query)
    page_request.META = {**request.META, "PATH_INFO": page_path, "QUERY_STRING": query}
    _capturing.on, _capturing.found = True, None
    try:
        response = match.func(page_request, *match.args, **match.kwargs)
        if isinstance(response, TemplateResponse):
            # The admin's views answer unrendered: template and context are there.
            template, context, is_template_response = (
                response.template_name,
                response.context_data or {},
                True,
            )
            response.render()
        elif _capturing.found is not None:
            template, context = _capturing.found
            is_template_response = False
        else:
            raise ValueError(f"{page} rendered no template (status {response.status_code})")
    finally:
        _capturing.on, _capturing.found = False, None
    return template, freeze(context), is_template_response


def template_only(request: HttpRequest) -> HttpResponse:
    page = request.GET.get("path", "")
    key = (page, request.user.pk)
    with _lock:
        captured = _captured.get(key)
    if captured is None:
        try:
            captured = capture(request, page)
        except Resolver404:
            return HttpResponseBadRequest("unknown path")
        with _lock:
            _captured[key] = captured
    template, context, is_template_response = captured
    if is_template_response:
        # `request` in the admin's context is the page's; rendering gets this one's.
        return TemplateResponse(request, template, context)
    return render(request, template, context)


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Hola", content_type="text/plain")


urlpatterns = [
    path("bench/hello/", hello),
    path("bench/template-only/", template_only),
    *portal_urlpatterns,
]
