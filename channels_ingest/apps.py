from django.apps import AppConfig


class ChannelsIngestConfig(AppConfig):
    name = "channels_ingest"
    verbose_name = "Channels in and out"
