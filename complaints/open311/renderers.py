"""GeoReport v2 XML: the standard's element names around the same data as the JSON."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from rest_framework.renderers import BaseRenderer


class GeoReportXMLRenderer(BaseRenderer):
    media_type = "text/xml"
    format = "xml"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        context = renderer_context or {}
        response = context.get("response")
        view = context.get("view")
        if response is not None and response.status_code >= 400:
            root_name, item_name = "errors", "error"
        else:
            root_name, item_name = getattr(view, "xml_names", ("service_requests", "request"))
        root = ElementTree.Element(root_name)
        for item in data or []:
            element = ElementTree.SubElement(root, item_name)
            for key, value in item.items():
                child = ElementTree.SubElement(element, key)
                child.text = (
                    ""
                    if value is None
                    else str(value).lower()
                    if isinstance(value, bool)
                    else str(value)
                )
        body: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
        return body
