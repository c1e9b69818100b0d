from django.urls import URLPattern, URLResolver, path

from webchat import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("start/", api.StartView.as_view(), name="chat-start"),
    path("<str:conversation>/token/", api.TokenView.as_view(), name="chat-token"),
    path("<str:conversation>/events/", api.EventsView.as_view(), name="chat-events"),
]
