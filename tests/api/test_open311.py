"""Open311 GeoReport v2 over the same service layer: services, requests, one request."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from complaints import services
from complaints.models import Ticket
from tests.api.conftest import complaint

pytestmark = pytest.mark.django_db


def key_of(client: APIClient) -> str:
    return services.api_token_for(client.citizen.user)  # type: ignore[attr-defined]


def test_services_list_the_categories(category: Any) -> None:
    response = APIClient().get("/open311/v2/services.json")
    assert response.status_code == 200
    assert response.json() == [
        {
            "service_code": "obat-isoman",
            "service_name": "Pengiriman obat isoman",
            "description": "",
            "metadata": False,
            "type": "realtime",
            "keywords": "",
            "group": "",
        }
    ]


def test_a_request_posted_the_open311_way_becomes_a_numbered_ticket(
    sari: APIClient, category: Any
) -> None:
    client = APIClient()
    posted = client.post(
        "/open311/v2/requests.json",
        {
            "api_key": key_of(sari),
            "service_code": "obat-isoman",
            "lat": "-6.4025",
            "long": "106.7942",
            "description": "Obat belum datang",
        },
    )
    assert posted.status_code == 201
    number = posted.json()[0]["service_request_id"]
    ticket = Ticket.objects.get(number=number)
    assert (ticket.channel, ticket.category.code, str(ticket.latitude)) == (
        "open311",
        "obat-isoman",
        "-6.402500",
    )

    one = client.get(
        f"/open311/v2/requests/{number.lower()}.json", {"api_key": key_of(sari)}
    ).json()
    assert one[0]["service_request_id"] == number and one[0]["status"] == "open"
    listed = client.get(
        "/open311/v2/requests.json", {"api_key": key_of(sari), "status": "open"}
    ).json()
    assert [r["service_request_id"] for r in listed] == [number]


def test_requests_are_private_to_their_citizen(
    sari: APIClient, budi: APIClient, category: Any
) -> None:
    number = sari.post("/api/v1/tickets/", complaint(), format="json").json()["number"]
    client = APIClient()
    other = client.get(f"/open311/v2/requests/{number}.json", {"api_key": key_of(budi)})
    listed = client.get("/open311/v2/requests.json", {"api_key": key_of(budi)})
    anonymous = client.get("/open311/v2/requests.json")
    assert other.status_code == 404 and other.json() == [
        {"code": 404, "description": "service_request_id not found"}
    ]
    assert listed.json() == []
    assert anonymous.status_code == 401 and anonymous.json()[0]["code"] == 401


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"service_code": "nope", "description": "x", "address_string": "Jl. A"}, "service_code"),
        ({"service_code": "obat-isoman", "address_string": "Jl. A"}, "description"),
        ({"service_code": "obat-isoman", "description": "x"}, "lat and long"),
        ({"service_code": "obat-isoman", "description": "x", "lat": "abc", "long": "1"}, "numbers"),
        ({"service_code": "obat-isoman", "description": "x", "lat": "95", "long": "1"}, "range"),
    ],
)
def test_bad_requests_get_the_standards_error_list(
    sari: APIClient, category: Any, fields: dict[str, str], message: str
) -> None:
    response = APIClient().post("/open311/v2/requests.json", {"api_key": key_of(sari), **fields})
    assert response.status_code == 400
    assert response.json()[0]["code"] == 400 and message in response.json()[0]["description"]
    assert not Ticket.objects.exists()


def test_every_resource_also_speaks_the_standards_xml(sari: APIClient, category: Any) -> None:
    from xml.etree import ElementTree

    client = APIClient()
    posted = client.post(
        "/open311/v2/requests.xml",
        {
            "api_key": key_of(sari),
            "service_code": "obat-isoman",
            "address_string": "Jl. Melati 5",
            "description": "Obat belum datang",
        },
    )
    assert posted.status_code == 201 and posted["Content-Type"].startswith("text/xml")
    number = ElementTree.fromstring(posted.content).find("request/service_request_id").text

    services_xml = ElementTree.fromstring(client.get("/open311/v2/services.xml").content)
    one = ElementTree.fromstring(
        client.get(f"/open311/v2/requests/{number}.xml", {"api_key": key_of(sari)}).content
    )
    missing = client.get("/open311/v2/requests/ADU-2611-ZZZZZZ.xml", {"api_key": key_of(sari)})

    assert services_xml.tag == "services"
    assert services_xml.find("service/service_code").text == "obat-isoman"
    assert services_xml.find("service/metadata").text == "false"
    assert one.tag == "service_requests" and one.find("request/status").text == "open"
    assert missing.status_code == 404
    assert ElementTree.fromstring(missing.content).find("error/code").text == "404"
