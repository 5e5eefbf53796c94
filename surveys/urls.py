from django.urls import path

from surveys.views import answer

app_name = "surveys"

urlpatterns = [
    # The invitation's link: the token is the only credential, no login needed.
    path("encuesta/<str:token>/", answer.survey_answer, name="answer"),
    path("encuesta/<str:token>/gracias/", answer.survey_thanks, name="thanks"),
]
