from django.urls import path

from signatures import views

app_name = "signatures"

urlpatterns = [
    path("verificar/", views.verify, name="verify"),
    path("verificar/reporte.pdf", views.verify_report, name="verify_report"),
    # The contract's QR code leads here (loans.contract.verification_url).
    path("verificar/<uuid:token>/", views.verify_token, name="verify_token"),
    path(
        "verificar/<uuid:token>/reporte.pdf", views.verify_token_report, name="verify_token_report"
    ),
]
