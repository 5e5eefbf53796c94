from django.http import Http404


def dashboard(request):
    raise Http404


def dashboard_export(request, table: str, file_format: str):
    raise Http404
