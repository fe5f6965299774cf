"""Lists decoded down to the fields the model reads: the same cluster, the same warnings."""

from __future__ import annotations

import json

import orjson
import pytest

from octodns_rancher.kubernetes import model, snapshot, trimmed
from octodns_rancher.kubernetes.client import KubeClient, configuration
from tests.kubernetes.test_model import _broken
from tests.support.kube_apiserver import ingress, service


def _objects() -> tuple[list[dict], list[dict]]:
    services = [
        service("shop", "web", ips=("203.0.113.1", "2001:db8::1"), labels={"team": "a"}),
        service("shop", "lb", hostnames=("lb.example.net",), annotations={"k": "v"}),
        service("ops", "internal", type="ClusterIP"),
    ]
    ingresses = [
        ingress(
            "shop",
            "www",
            hosts=("w.c1.example.com", "x.c1.example.com"),
            tls_hosts=("t.c1.example.com",),
            ips=("203.0.113.9",),
        ),
        ingress("shop", "bare", hosts=("b.c1.example.com",)),
    ]
    return services, ingresses


def test_trimmed_items_give_the_same_cluster_as_whole_objects():
    services, ingresses = _objects()
    whole = model.build("c1", services, ingresses)
    cut = model.build(
        "c1",
        trimmed.items(orjson.dumps(services)),
        trimmed.items(orjson.dumps(ingresses)),
    )
    assert cut == whole
    # What is dropped is what the model never reads.
    [item] = trimmed.items(orjson.dumps([ingresses[0]]))
    assert "managedFields" not in item["metadata"] and "http" not in item["spec"]["rules"][0]
    assert set(item) == {"metadata", "spec", "status"}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("spec", []),
        ("spec.rules", {"host": "x"}),
        ("spec.rules.0", "x"),
        ("spec.rules.0.host", 5),
        ("status.loadBalancer", "x"),
        ("status", 3),
        ("metadata", "x"),
        ("metadata.labels", {"a": 1}),
    ],
)
def test_an_item_of_another_shape_is_decoded_whole_and_named(path, value, caplog):
    good = ingress("shop", "good", hosts=("g.c1.example.com",))
    items = [_broken(path, value), good]
    whole = model.build("c1", [], json.loads(json.dumps(items)))
    expected = caplog.text
    caplog.clear()
    cut = model.build("c1", [], trimmed.items(orjson.dumps(items)))
    assert cut == whole
    assert [i.ref.name for i in cut.ingresses] == ["good"]
    # The same warning, word for word.
    assert (
        caplog.text.splitlines()[-1].split(" ", 2)[-1]
        == expected.splitlines()[-1].split(" ", 2)[-1]
    )


def test_items_that_are_not_objects_are_kept_for_the_model_to_name():
    assert trimmed.items(b'[null, "x", 5, {"metadata": null}]') == [None, "x", 5, {}]


def test_a_snapshot_file_of_another_shape_is_read_the_generic_way(tmp_path):
    services, ingresses = _objects()
    good = snapshot.KubeSnapshot(services, ingresses, {"services": "7", "ingresses": "8"})
    path = tmp_path / "snap.json"
    snapshot.save(good, path)
    fast = snapshot.load(path)
    assert fast.versions == {"services": "7", "ingresses": "8"}
    assert model.build("c1", fast.services, fast.ingresses) == model.build(
        "c1", services, ingresses
    )
    data = json.loads(path.read_text())
    data["services"]["metadata"] = "not an object"  # the typed decode refuses it
    path.write_text(json.dumps(data))
    slow = snapshot.load(path)
    assert slow.versions["services"] == "" and len(slow.services) == len(services)
    data["ingresses"]["items"] = {"not": "a list"}
    path.write_text(json.dumps(data))
    with pytest.raises(model.ClusterError, match="ingresses is not a IngressList"):
        snapshot.load(path)


def test_a_run_reads_trimmed_lists_and_snapshot_keeps_them_whole(kube, kubeconfig):
    for i in range(3):
        kube.add_service("bulk", f"s{i}", ips=("203.0.113.1",))
    kube.add_ingress("bulk", "i", hosts=("i.c1.example.com",))
    client = KubeClient(configuration(str(kubeconfig)), timeout=5)
    run = snapshot.fetch(client, trim=True)
    whole = snapshot.fetch(client)
    assert all("managedFields" not in s["metadata"] for s in run.services + run.ingresses)
    assert all("managedFields" in s["metadata"] for s in whole.services + whole.ingresses)
    assert model.build("c1", run.services, run.ingresses) == model.build(
        "c1", whole.services, whole.ingresses
    )
    assert run.requests == whole.requests == 2
