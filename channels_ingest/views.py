"""Provider webhooks at /webhooks/<kind>/<slug>/: verify, store, acknowledge.

The order is fixed (REFERENCE 0.1): raw body, authenticate, parse, store, 200. Nothing is
parsed before the signature holds, nothing is stored when it does not, and processing
happens after the answer, from the stored rows.
"""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from channels_ingest.models import ChannelAccount
from channels_ingest.services import Answer, accept_webhook, webhook_account
from channels_ingest.signatures import META_KINDS, meta_challenge, x_crc_response
from complaints.choices import Channel
from config.health import unavailable

logger = logging.getLogger(__name__)

WEBHOOK_KINDS = frozenset(
    {Channel.WHATSAPP, Channel.MESSENGER, Channel.INSTAGRAM, Channel.X, Channel.TELEGRAM}
)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest, kind: str, slug: str) -> HttpResponse:
    if kind not in WEBHOOK_KINDS:
        raise Http404
    account = webhook_account(kind, slug)
    if account is None:
        raise Http404
    if request.method == "GET":
        return _handshake(account, request)
    if not account.webhook_secret:
        logger.error("%s has no webhook secret: refusing every delivery", account)
        return unavailable()
    body = request.body  # raw bytes, before anything parses them
    if len(body) != _declared_length(request):
        # The sender hung up mid-body: nothing to verify, and no one to answer.
        return JsonResponse({"code": "invalid", "detail": "Incomplete body."}, status=400)
    return answer_response(accept_webhook(account, request.headers, body))


def answer_response(answer: Answer) -> HttpResponse:
    """The provider's answer: an empty 200, or the refusal as JSON."""
    if answer.code:
        return JsonResponse({"code": answer.code, "detail": answer.detail}, status=answer.status)
    return HttpResponse(status=answer.status)


def _handshake(account: ChannelAccount, request: HttpRequest) -> HttpResponse:
    if account.kind in META_KINDS:
        challenge = meta_challenge(account.verify_token, request.GET)
        if challenge is None:
            return _refused("Verification refused.")
        return HttpResponse(challenge, content_type="text/plain")
    if account.kind == Channel.X and "crc_token" in request.GET:
        if not account.webhook_secret:
            return unavailable()
        return JsonResponse(x_crc_response(account.webhook_secret, request.GET["crc_token"]))
    return HttpResponse(status=405, headers={"Allow": "POST"})


def _declared_length(request: HttpRequest) -> int:
    """The body length the sender announced (a chunked body announces none: its own)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or len(request.body))
    except ValueError:
        return len(request.body)


def _refused(detail: str) -> JsonResponse:
    return JsonResponse({"code": "forbidden", "detail": detail}, status=403)
