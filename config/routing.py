"""WebSocket routes."""

from django.urls import URLPattern, URLResolver, path

from complaints.consumers import AgentConsumer, AgentGate
from webchat.consumers import ChatConsumer, ChatGate

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/chat/<str:conversation>/", ChatGate(ChatConsumer.as_asgi())),
    path("ws/agents/", AgentGate(AgentConsumer.as_asgi())),
]
