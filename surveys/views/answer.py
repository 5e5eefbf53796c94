from django.http import Http404


def survey_answer(request, token: str):
    raise Http404
