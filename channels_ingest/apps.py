from django.apps import AppConfig


class ChannelsIngestConfig(AppConfig):
    name = "channels_ingest"
    verbose_name = "Channels in and out"

    def ready(self) -> None:
        from anymail.signals import inbound

        from channels_ingest.mailin import on_inbound

        # Provider inbound webhooks (/anymail/<provider>/inbound/) store into the inbox.
        inbound.connect(on_inbound, dispatch_uid="aduan-inbound-mail")
