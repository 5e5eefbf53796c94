"""The applicant's applications: the wizard, "Mis solicitudes", an application's page."""

urlpatterns: list = []
