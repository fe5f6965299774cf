"""compact: typed answers give the model exactly what the raw answers give, or step aside."""

from __future__ import annotations

import json

import pytest

from octodns_rancher import compact, model
from octodns_rancher.errors import MetadataError
from octodns_rancher.source import MetadataClient, Snapshot, load_snapshot, save_snapshot
from tests.support import scenario as sc
from tests.support.metadata_server import MetadataServer


def generic(snap: Snapshot) -> Snapshot:
    """The same answers as plain decoded JSON, read by the model's generic reader."""
    return Snapshot(snap.api_version, snap.services, snap.hosts, snap.self_stack, snap.origin)


def odd_environment() -> tuple[list, list]:
    """Answers with what rancher-metadata passes on: padding, nulls, missing and empty fields."""
    hosts = [sc.host("h1", "203.0.113.10"), sc.host("h2", " 203.0.113.11 ", {"a": " b "})]
    hosts[1]["name"] = None
    web = [
        sc.container("shop", "web", i, "h1" if i % 2 else "h2", ["8080:80/tcp"]) for i in range(4)
    ]
    web[0]["name"] = ""
    web[1]["ports"] = ["", "8081:80/tcp"]
    web[2]["health_state"] = None
    del web[3]["state"]
    services = [
        sc.service("shop", " web ", web, labels={"io.rancher.dns.mode": " always "}),
        sc.service("shop", "db", [sc.container("shop", "db", 1, "h1", None)], kind="service"),
        sc.service("ops", "lb", [], kind="loadBalancerService"),
    ]
    services[1]["containers"] = None
    del services[2]["labels"]
    return services, hosts


def test_fetch_decodes_into_compact_answers_and_the_model_reads_them_alike(metadata):
    for version in ("2016-07-29", "2015-12-19"):
        snap = MetadataClient(metadata.url, api_version=version).fetch()
        typed = snap.compact is not None
        env = model.build(snap)
        assert typed or version == "2015-12-19"
        assert env == model.build(generic(snap))
        assert env.services and env.hosts


def test_odd_but_readable_answers_build_the_same_environment(tmp_path):
    services, hosts = odd_environment()
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(sc.snapshot(services, hosts, "Prod")))
    snap = load_snapshot(path)
    assert snap.compact is not None
    env = model.build(snap)
    assert env == model.build(generic(load_snapshot(path)))
    web = next(s for s in env.services if s.name == "web")
    assert web.labels == {"io.rancher.dns.mode": "always"}
    assert web.containers[0].name == "service shop/web container [0]"
    assert ("8081:80/tcp",) in [c.ports for c in web.containers]


def test_answers_of_another_shape_fall_back_to_the_generic_reader(tmp_path):
    services, hosts = odd_environment()
    services[0]["name"] = 42  # a number where a name should be: read as its text
    hosts[0]["labels"] = {"weight": 3}
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(sc.snapshot(services, hosts, "Prod")))
    snap = load_snapshot(path)
    assert snap.compact is None
    env = model.build(snap)
    assert "42" in {s.name for s in env.services}
    assert env.hosts[sc.uid("host", "h1")].labels == {"weight": "3"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s, h: s[0].update(containers={"a": 1}),
            "service shop/web containers is not a list",
        ),
        (lambda s, h: s.insert(1, "web"), r"/services\[1\] is not an object"),
        (
            lambda s, h: s[0]["containers"].append(7),
            r"service shop/web container \[4\] is not an object",
        ),
        (lambda s, h: s[0].update(name=" "), "service .* has no name or stack_name"),
        (lambda s, h: h[0].update(uuid=None), r"host /hosts\[0\] \(h1\) has no uuid"),
        (lambda s, h: s[1].update(labels=["a"]), "service shop/db labels are not a map"),
    ],
)
def test_unreadable_answers_are_named_as_before(tmp_path, change, message):
    services, hosts = odd_environment()
    services[0]["name"] = "web"
    change(services, hosts)
    trees = {"2016-07-29": sc.tree(services, hosts, "Prod")}
    with MetadataServer(trees) as srv:
        snap = MetadataClient(srv.url).fetch()
        with pytest.raises(MetadataError, match=message):
            model.build(snap)
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(sc.snapshot(services, hosts, "Prod")))
    with pytest.raises(MetadataError, match=message):
        model.build(load_snapshot(path))


def test_a_snapshot_saves_what_the_server_said(tmp_path):
    services, hosts = odd_environment()
    with MetadataServer({"2016-07-29": sc.tree(services, hosts, "Prod")}) as srv:
        snap = MetadataClient(srv.url).fetch()
    assert snap.compact is not None
    save_snapshot(snap, tmp_path / "snap.json")
    saved = json.loads((tmp_path / "snap.json").read_text())
    assert saved["services"] == services and saved["hosts"] == hosts
    assert snap.compact is None  # the raw answers are in use from now on


def test_changes_to_the_raw_answers_reach_the_model(tmp_path):
    services, hosts = odd_environment()
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(sc.snapshot(services, hosts, "Prod")))
    snap = load_snapshot(path)
    snap.services = [s for s in snap.services if s["name"] != "db"]
    assert "db" not in {s.name for s in model.build(snap).services}
    snap = load_snapshot(path)
    snap.hosts.clear()
    assert model.build(snap).hosts == {}


@pytest.mark.parametrize(
    "data",
    [b"[1]", b'[{"name": 1e400}]', b'[{"name": "\\ud800"}]', b'[{"name": "\xff"}]', b"{", b""],
)
def test_compact_decoding_refuses_what_it_cannot_hold(data):
    with pytest.raises(compact.NotCompact):
        compact.services(data)


def test_invalid_json_is_reported_as_before(tmp_path):
    with MetadataServer({"2016-07-29": sc.tree([], [], "Prod")}) as srv:
        srv.garbage = b'[{"name": "web"'
        with pytest.raises(
            MetadataError,
            match=r"sent invalid JSON for http://.*/2016-07-29/services: '\[\{\"name\": \"web\"'",
        ):
            MetadataClient(srv.url).fetch(environment_known=True)
