"""The addresses of an applicant's pages: the simulator's start, the wizard's steps, the
application's own page."""

from django.urls import reverse


def start_url() -> str:
    return reverse("loans:application_start")


def step_url(application, step: int) -> str:
    return reverse(
        "loans:application_step", kwargs={"public_id": application.public_id, "step": step}
    )


def detail_url(application) -> str:
    return reverse("loans:application_detail", kwargs={"public_id": application.public_id})
