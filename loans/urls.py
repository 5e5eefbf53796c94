from django.urls import path

from loans.views import applications, simulator

app_name = "loans"

urlpatterns = [
    path("simulador/", simulator.simulator, name="simulator"),
    *applications.urlpatterns,
]
