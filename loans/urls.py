from django.urls import path

from loans.views import applications, contract, signing, simulator

app_name = "loans"

urlpatterns = [
    path("simulador/", simulator.simulator, name="simulator"),
    *applications.urlpatterns,
    *signing.urlpatterns,
    *contract.urlpatterns,
]
