"""Objects read defensively: a wrong type skips its object with a warning naming it."""

from __future__ import annotations

import logging

import pytest

from octodns_rancher.kubernetes import model
from tests.support.kube_apiserver import ingress, service


def test_reads_services_and_ingresses_sorted():
    c = model.build(
        "c1",
        [service("b", "x", ips=("203.0.113.1",)), service("a", "y", hostnames=("h.example.net",))],
        [
            ingress(
                "a",
                "i",
                hosts=("w.c1.example.com",),
                tls_hosts=("t.c1.example.com", "w.c1.example.com"),
            )
        ],
    )
    assert [s.ref.describe() for s in c.services] == ["Service a/y", "Service b/x"]
    assert c.services[0].load_balancer == (model.LoadBalancerIngress(hostname="h.example.net"),)
    assert c.services[1].service_type == "LoadBalancer"
    assert c.ingresses[0].hosts == ("w.c1.example.com", "t.c1.example.com")
    assert c.ingresses[0].ingress_class == "nginx"
    assert c.ingresses[0].ref.annotation() == {
        "kind": "Ingress",
        "name": "i",
        "namespace": "a",
        "uid": c.ingresses[0].ref.uid,
    }


def _broken(path: str, value: object) -> dict:
    obj = ingress("shop", "bad", hosts=("w.c1.example.com",), ips=("203.0.113.1",))
    *parents, last = path.split(".")
    node = obj
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    node[int(last) if last.isdigit() else last] = value
    return obj


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("spec", [], "spec is list, not an object"),
        ("spec.rules", {"host": "x"}, "spec.rules is dict, not a list"),
        ("spec.rules.0.host", 5, "spec.rules[0].host is int, not a string"),
        ("spec.ingressClassName", ["a"], "spec.ingressClassName is list"),
        ("status.loadBalancer", "x", "status.loadBalancer is str"),
        ("status.loadBalancer.ingress.0.ip", None, None),
        ("status.loadBalancer.ingress.0", "1.2.3.4", "status.loadBalancer.ingress[0] is str"),
        ("metadata.labels", {"a": 1}, "metadata.labels[a] is int, not a string"),
        (
            "metadata.annotations",
            {"a": "x" * 300_000},
            "metadata.annotations are larger than the API allows",
        ),
        ("metadata.creationTimestamp", 17, "metadata.creationTimestamp is int"),
    ],
)
def test_wrong_types_skip_the_object_with_a_warning(path, value, reason, caplog):
    good = ingress("shop", "good", hosts=("g.c1.example.com",))
    c = model.build("c1", [], [_broken(path, value), good])
    if reason is None:  # null is "not set": the object is read
        assert len(c.ingresses) == 2
        return
    assert [i.ref.name for i in c.ingresses] == ["good"]
    assert f"Ingress shop/bad: {reason}" in caplog.text
    assert "skipped" in caplog.text


@pytest.mark.parametrize(
    "name", ["", None, 5, "UPPER", "a\nb", "a" * 300, "\x1b[31mred", "ns/../x"]
)
def test_unusable_names_are_named_safely(name, caplog):
    caplog.set_level(logging.WARNING)
    obj = service("shop", "x", ips=("203.0.113.1",))
    obj["metadata"]["name"] = name
    c = model.build("c1", [obj], [])
    assert c.services == ()
    [record] = caplog.records
    assert "must be DNS labels; skipped" in record.getMessage()
    assert "\n" not in record.getMessage() and "\x1b" not in record.getMessage()


def test_items_that_are_not_objects(caplog):
    c = model.build("c1", [None, "x", service("a", "b")], [])
    assert len(c.services) == 1
    assert "Service #0 of the list is null, not an object; skipped" in caplog.text


def test_a_list_that_is_not_a_list_fails_the_run():
    with pytest.raises(model.ClusterError, match="the Ingress list's items are dict"):
        model.build("c1", [], {"items": []})
