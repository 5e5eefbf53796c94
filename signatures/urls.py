from django.urls import path

from signatures import api, downloads, views

app_name = "signatures"

urlpatterns = [
    path("solicitudes/<str:folio>/firma/", views.sign_page, name="sign"),
    path("solicitudes/<str:folio>/firma/preparar/", api.prepare, name="prepare"),
    path("solicitudes/<str:folio>/firma/completar/", api.finish, name="finish"),
    path(
        "solicitudes/<str:folio>/contrato-firmado/",
        downloads.signed_contract_download,
        name="signed_contract",
    ),
]
