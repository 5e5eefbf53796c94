from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("tablero/", views.dashboard, name="dashboard"),
    path(
        "tablero/exportar/<slug:table>.<str:file_format>",
        views.dashboard_export,
        name="dashboard_export",
    ),
]
