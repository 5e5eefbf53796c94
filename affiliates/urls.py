from django.urls import path

from affiliates import views

app_name = "affiliates"

urlpatterns = [
    path("", views.my_affiliation, name="my_affiliation"),
    path("vincular/", views.link, name="link"),
    path("actualizar/", views.refresh, name="refresh"),
]
