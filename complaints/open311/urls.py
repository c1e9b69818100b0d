from django.urls import URLPattern, URLResolver, path

from complaints.open311 import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("services.json", views.Services.as_view(), name="open311-services"),
    path("requests.json", views.Requests.as_view(), name="open311-requests"),
    path(
        "requests/<str:service_request_id>.json",
        views.RequestDetail.as_view(),
        name="open311-request",
    ),
]
