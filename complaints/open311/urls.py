from django.urls import URLPattern, URLResolver, re_path

from complaints.open311 import views

FORMAT = r"\.(?P<format>json|xml)$"

urlpatterns: list[URLPattern | URLResolver] = [
    re_path(rf"^services{FORMAT}", views.Services.as_view(), name="open311-services"),
    re_path(rf"^requests{FORMAT}", views.Requests.as_view(), name="open311-requests"),
    re_path(
        rf"^requests/(?P<service_request_id>[^/]+){FORMAT}",
        views.RequestDetail.as_view(),
        name="open311-request",
    ),
]
