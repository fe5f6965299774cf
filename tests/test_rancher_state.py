"""rancher_state: reading Rancher's external DNS state record the way DNS compares names."""

from __future__ import annotations

import pytest

from octodns_rancher.errors import ConfigError
from octodns_rancher.rancher_state import (
    check_environment_uuid,
    dns_name,
    in_subtree,
    listed_names,
    relative_name,
    state_record_name,
    uuid_from_metadata,
)
from tests.support.metadata_server import MetadataServer

UUID = "a3c1f0de-5b8e-4c1a-9d2e-0f1e2d3c4b5a"


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ('"web.shop.production.example.com."', "web.shop.production.example.com"),
        ("Web.Shop.Production.Example.COM", "web.shop.production.example.com"),
        (' "web.example.com" ', "web.example.com"),
        ("web.example.com.", "web.example.com"),
    ],
)
def test_names_compare_as_dns_does(raw, name):
    assert dns_name(raw) == name


def test_listed_names_are_relative_to_the_zone_and_the_rest_is_reported():
    values = [
        '"web.shop.production.example.com."',  # Route53 / PowerDNS 4: quoted, final dot
        "API.shop.production.example.com",  # another provider: no dot, any case
        "lb-host.example.com.",  # a load balancer host name, outside the subtree
        "example.com.",  # the apex: never a service name
        "web.shop.production.example.org.",  # another zone
    ]
    inside, outside = listed_names(values, "example.com.")
    assert inside == {"web.shop.production", "api.shop.production", "lb-host"}
    assert outside == ["example.com.", "web.shop.production.example.org."]
    assert relative_name("x.badexample.com", "example.com") is None


def test_subtree_membership_is_strictly_below_the_environment():
    assert in_subtree("web.shop.production", "production")
    assert in_subtree("WEB.shop.Production", "production")
    assert not in_subtree("production", "production")
    assert not in_subtree("web.shop.preproduction", "production")


def test_state_record_name_is_lower_case():
    assert state_record_name(UUID.upper()) == f"external-dns-{UUID}"


@pytest.mark.parametrize(
    "bad", ["", " ", "a b", "x" * 51, "-leading", "trailing-", "dots.in.it", "ünï", 42, None]
)
def test_invalid_uuids_are_refused_naming_them(bad):
    with pytest.raises(ConfigError, match="invalid environment uuid"):
        check_environment_uuid(bad)


def test_uuid_is_read_from_self_stack():
    tree = {
        "2016-07-29": {
            "self": {"stack": {"environment_name": "Production", "environment_uuid": UUID}},
            "services": [],
            "hosts": [],
        }
    }
    with MetadataServer(tree) as srv:
        assert uuid_from_metadata(srv.url) == UUID
