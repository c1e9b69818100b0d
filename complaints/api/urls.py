from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from complaints.api import views

router = SimpleRouter()
router.register("tickets", views.TicketViewSet, basename="ticket")

urlpatterns: list[URLPattern | URLResolver] = [
    path("auth/register/", views.RegisterView.as_view(), name="register"),
    path("auth/token/", views.TokenView.as_view(), name="token"),
    path("categories/", views.CategoryList.as_view(), name="categories"),
    *router.urls,
]
