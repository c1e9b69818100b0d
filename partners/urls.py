from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from partners.api import ConsultViewSet, PartnerTicketViewSet

router = SimpleRouter()
router.register("tickets", PartnerTicketViewSet, basename="partner-ticket")
router.register("consults", ConsultViewSet, basename="partner-consult")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
