"""WebSocket routes. The chat and agent consumers join here as their apps provide them."""

from django.urls import URLPattern, URLResolver

websocket_urlpatterns: list[URLPattern | URLResolver] = []
