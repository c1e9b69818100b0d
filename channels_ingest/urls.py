from django.urls import path

from channels_ingest import views

urlpatterns = [
    path("<str:kind>/<slug:slug>/", views.webhook, name="webhook"),
]
