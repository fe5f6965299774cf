"""model: raw metadata to typed, sorted data; what cannot be read is an error naming it."""

from __future__ import annotations

import pytest

from octodns_rancher import model
from octodns_rancher.errors import MetadataError
from octodns_rancher.source import Snapshot
from tests.support import scenario as sc


def snap(services=None, hosts=None, self_stack=None):
    return Snapshot("2016-07-29", services or [], hosts or [], self_stack)


def test_environment_from_self_stack_or_override():
    assert model.build(snap(self_stack=sc.self_stack("Prod"))).name == "Prod"
    assert model.build(snap(self_stack=sc.self_stack("Prod")), "Other").name == "Other"
    assert model.build(snap(), "Given").name == "Given"


def test_environment_unknown_is_an_error():
    with pytest.raises(MetadataError, match="cannot tell the environment"):
        model.build(snap())
    with pytest.raises(MetadataError, match="no environment_name"):
        model.build(snap(self_stack={"name": "x"}))


def test_missing_null_and_empty_are_alike():
    c = sc.container("s", "a", 1, "h1", None, health=None)
    del c["ports"]
    services = [
        sc.service("s", "a", [c]),
        {**sc.service("s", "b", []), "containers": None, "labels": None},
    ]
    env = model.build(snap(services, [sc.host("h1", "192.0.2.1")]), "e")
    a, b = env.services
    assert a.containers[0].ports == () and a.containers[0].health_state == ""
    assert b.containers == () and b.labels == {}


def test_lists_are_sorted():
    hosts = [sc.host(n, "192.0.2.1") for n in ("b", "a", "c")]
    services = [sc.service(st, n, []) for st, n in (("z", "a"), ("a", "z"), ("a", "b"))]
    env = model.build(snap(services, hosts), "e")
    assert [s.ref for s in env.services] == ["a/b", "a/z", "z/a"]
    assert list(env.hosts) == sorted(env.hosts)


@pytest.mark.parametrize(
    ("services", "hosts", "message"),
    [
        ({"not": "a list"}, [], r"/services is not a list \(got dict\)"),
        (["x"], [], r"/services\[0\] is not an object"),
        ([{"uuid": "u-1", "stack_name": "s"}], [], "service u-1 has no name or stack_name"),
        (
            [{**sc.service("s", "a", []), "containers": "x"}],
            [],
            "service s/a containers is not a list",
        ),
        ([{**sc.service("s", "a", []), "labels": ["x"]}], [], "service s/a labels are not a map"),
        ([], [{"name": "h"}], r"host /hosts\[0\] \(h\) has no uuid"),
    ],
)
def test_unreadable_metadata_names_the_object(services, hosts, message):
    with pytest.raises(MetadataError, match=message):
        model.build(Snapshot("2016-07-29", services, hosts, None), "e")
