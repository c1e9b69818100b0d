"""The satisfaction question's page, reached from the signed link in an e-mail."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from complaints.choices import Channel
from complaints.exceptions import TicketConflict
from complaints.services import record_rating
from quality import services
from quality.forms import CsatForm


@require_http_methods(["GET", "POST"])
def csat(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the two questions (a choice clicked in the e-mail comes pre-selected:
    mail scanners open links, so a GET records nothing); POST records the answer."""
    survey = services.survey_from_token(token)
    if survey is None:
        raise Http404
    answered = survey.answered_at is not None
    form = CsatForm(request.POST if request.method == "POST" else None, initial=request.GET)
    error = ""
    if request.method == "POST" and not answered and form.is_valid():
        try:
            record_rating(
                ticket=survey.ticket,
                score=form.cleaned_data["score"],
                solved=form.cleaned_data["solved"],
                comment=form.cleaned_data["comment"],
                channel=Channel.EMAIL,
                resolution_round=survey.resolution_round,
            )
        except (TicketConflict, ValidationError) as exc:
            error = str(exc)
        else:
            answered = True
    status = 400 if request.method == "POST" and not answered else 200
    context = {"ticket": survey.ticket, "form": form, "answered": answered, "error": error}
    return render(request, "quality/csat.html", context, status=status)
