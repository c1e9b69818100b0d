"""HTTP side of web chat: start a conversation, renew its socket token, read its events."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from complaints.api.throttles import ChatStartThrottle
from complaints.api.views import KnownQueryParameters
from webchat import services
from webchat.models import Conversation

SOCKET_PATH = "/ws/chat/{}/"


class ChatStartIn(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ChatStartOut(serializers.Serializer[Any]):
    conversation = serializers.CharField()
    token = serializers.CharField(help_text="Opens the socket: `/ws/chat/<conversation>/?t=`.")
    resume_secret = serializers.CharField(help_text="Keep it: it renews the token later.")
    socket = serializers.CharField()


class ChatTokenIn(serializers.Serializer[Any]):
    resume_secret = serializers.CharField(max_length=200)


class ChatTokenOut(serializers.Serializer[Any]):
    token = serializers.CharField()


class ChatEventsOut(serializers.Serializer[Any]):
    events = serializers.ListField(child=serializers.DictField())
    last_seq = serializers.IntegerField()


class ChatView(APIView):
    authentication_classes: list[Any] = []  # the conversation's own secrets authenticate
    permission_classes = [AllowAny]


@extend_schema(tags=["chat"], request=ChatStartIn, responses={201: ChatStartOut})
class StartView(ChatView):
    """Start a web chat conversation; the first message sent on its socket opens a ticket."""

    throttle_classes = [ChatStartThrottle]

    def post(self, request: Request) -> Response:
        data = ChatStartIn(data=request.data)
        data.is_valid(raise_exception=True)
        started = services.start_conversation(name=data.validated_data.get("name", ""))
        public_id = started.conversation.public_id
        body = {
            "conversation": public_id,
            "token": started.token,
            "resume_secret": started.resume_secret,
            "socket": SOCKET_PATH.format(public_id),
        }
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(tags=["chat"], request=ChatTokenIn, responses={200: ChatTokenOut})
class TokenView(ChatView):
    """A fresh socket token for the holder of the conversation's resume secret."""

    def post(self, request: Request, conversation: str) -> Response:
        data = ChatTokenIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token = services.renew_token(conversation, data.validated_data["resume_secret"])
        except services.ChatError as exc:
            raise (NotFound if exc.code == "not_found" else PermissionDenied)(exc.message) from exc
        return Response({"token": token})


@extend_schema(
    tags=["chat"],
    parameters=[
        OpenApiParameter("after_seq", int, description="Events after this sequence number."),
        OpenApiParameter("t", str, description="The socket token."),
    ],
    responses={200: ChatEventsOut},
)
class EventsView(KnownQueryParameters, ChatView):
    """The conversation's events after `after_seq` (at most 500), to resynchronise."""

    query_parameters = frozenset({"t", "after_seq"})

    def get(self, request: Request, conversation: str) -> Response:
        found = services.conversation_for_token(conversation, request.query_params.get("t", ""))
        if found is None:
            raise PermissionDenied("Token missing, invalid or expired.")
        after = _non_negative(request.query_params.get("after_seq", "0"))
        events = services.events_after(found, after)
        frames = [services.frame(event, found.public_id) for event in events]
        return Response({"events": frames, "last_seq": found.last_seq})


def _non_negative(raw: str) -> int:
    if not raw.isdigit():
        raise serializers.ValidationError({"after_seq": ["A non-negative integer."]})
    return int(raw)


__all__ = ["Conversation", "EventsView", "StartView", "TokenView"]
