from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from partners.api import PartnerTicketViewSet

router = SimpleRouter()
router.register("tickets", PartnerTicketViewSet, basename="partner-ticket")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
