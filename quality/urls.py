from django.urls import path

from quality.views import csat

urlpatterns = [path("<str:token>/", csat, name="csat")]
