"""model: raw metadata to typed, sorted data; what cannot be read is an error naming it."""

from __future__ import annotations

import logging

import pytest

from octodns_rancher import model
from octodns_rancher.errors import MetadataError
from octodns_rancher.source import Snapshot
from tests.conftest import run, write_snapshot
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


# -- ports: one rule for every shape ----------------------------------------------------------


@pytest.mark.parametrize(
    ("ports", "kept", "warned"),
    [
        (["0.0.0.0:80:80/tcp", "", None], ("0.0.0.0:80:80/tcp",), "null"),
        ([80, None, {"a": 1}], (), '80, null, {"a": 1}'),
        (["80:80/tcp", 1, 2, 3, 4], ("80:80/tcp",), "1, 2, 3 and 1 more"),
        ("80:80/tcp", (), "ports is str, not a list"),
        ({"80": "tcp"}, (), "ports is dict, not a list"),
        (80, (), "ports is int, not a list"),
    ],
)
def test_what_is_not_a_port_string_is_ignored_with_a_warning(caplog, ports, kept, warned):
    c = sc.container("s", "a", 1, "h1", ports)
    env = model.build(snap([sc.service("s", "a", [c])], [sc.host("h1", "192.0.2.1")]), "e")
    assert env.services[0].containers[0].ports == kept
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 1 and lines[0].startswith("service s/a: container s-a-1: ")
    assert warned in lines[0]


def test_port_strings_are_kept_without_a_word(caplog):
    c = sc.container("s", "a", 1, "h1", ["0.0.0.0:80:80/tcp", "", "0.0.0.0:443:443/tcp"])
    env = model.build(snap([sc.service("s", "a", [c])], [sc.host("h1", "192.0.2.1")]), "e")
    assert env.services[0].containers[0].ports == ("0.0.0.0:80:80/tcp", "0.0.0.0:443:443/tcp")
    assert not caplog.records


@pytest.mark.parametrize("odd", [[80, None, {"a": 1}], "80:80/tcp"])
def test_odd_ports_through_the_cli(tmp_path, odd):
    """Non-string entries used to count as published ports (the service was published in
    auto mode), and one string ended the run; now neither publishes, and both are warnings."""
    hosts = [sc.host("h1", "203.0.113.1")]
    services = [
        sc.service("shop", "web", [sc.container("shop", "web", 1, "h1", ["80:80/tcp"])]),
        sc.service("shop", "odd", [sc.container("shop", "odd", 1, "h1", odd)]),
    ]
    path = write_snapshot(tmp_path / "snap.json", sc.snapshot(services, hosts, "Production"))
    proc = run(
        [
            "octodns-rancher",
            "generate",
            "--metadata-file",
            str(path),
            "--zone",
            "example.com",
            "--zones-dir",
            str(tmp_path / "zones"),
        ]
    )
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "zones" / "example.com.yaml").read_text()
    assert "web.shop.production:" in text and "odd" not in text
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and "service shop/odd: container shop-odd-1: ports" in warnings[0]
