"""ASGI entry point: Django over HTTP and Channels consumers over WebSocket.

HTTP requests run Django's WSGI handler on a thread pool (a2wsgi): every view is
synchronous, and one hand-off per request costs far less than the several sync/async
hops of Django's ASGI handler (healthz on 2 cores: about 4x the requests per second).
Provider deliveries (channels_ingest.receiver) and a citizen's ticket list, detail and new
complaints (complaints.api.fastpath) are answered on the event loop, past Django's request
cycle.
"""

import gc
import os

from a2wsgi import WSGIMiddleware
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

# Django must be set up before consumers (which import models) are imported.
django_http_app = get_wsgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from channels_ingest.receiver import WebhookReceiver  # noqa: E402
from complaints.api.fastpath import CitizenFastPath  # noqa: E402
from complaints.live import LiveServer  # noqa: E402
from config import redact  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402

redact.install()

application = LiveServer(
    ProtocolTypeRouter(
        {
            # HttpResponse is iterable over bytes, which the stubs do not say.
            "http": WebhookReceiver(
                CitizenFastPath(
                    WSGIMiddleware(
                        django_http_app,  # type: ignore[arg-type]
                        workers=settings.ADUAN_HTTP_THREADS,
                    )
                )
            ),
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
            ),
        }
    )
)

# Everything loaded so far lives as long as the process: out of the collector's sight, a
# full collection scans only what requests left behind (on 2 cores: pauses of 70-90 ms,
# a create's p99, down to about 10 ms).
gc.freeze()
