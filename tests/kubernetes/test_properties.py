"""Hostile clusters through the real CLI: the Kubernetes counterpart of ``tests/test_properties``.

Any team can annotate its Services and Ingresses, and a proxy or a webhook can send anything:
whatever the objects hold, a run exits 0 with only valid host names strictly below the
cluster's subtree (the same in the zone file and the Terraform file, every other source's entry
kept): what an object holds costs at most that object's records, never the run. Every line it
prints is one log record of its own, so a name cannot forge a line.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from octodns_rancher.kubernetes.snapshot import KubeSnapshot, save
from tests.support.kube_apiserver import ingress, service
from tests.test_properties import (
    PROPERTY,
    _run_cli,
    _valid_hostname,
    assert_log_lines,
    hostile_text,
    load,
    mostly,
    zones_holding,
)

H = "external-dns.alpha.kubernetes.io/hostname"
T = "external-dns.alpha.kubernetes.io/target"
TTL = "external-dns.alpha.kubernetes.io/ttl"
BELOW = ".c1.example.com"
# Another source's entry (a Rancher environment's), which a cluster run must keep as it is.
OLD_ZONE = (
    "---\nold.shop.production:\n  octodns:\n    rancher:\n      service: old\n"
    "      stack: shop\n  type: A\n  value: 192.0.2.9\n"
)

hostile_name = st.one_of(
    hostile_text,
    hostile_text.map(lambda t: t + BELOW),
    st.lists(hostile_text, min_size=1, max_size=3).map(lambda ls: ".".join(ls) + BELOW),
    st.sampled_from(
        [
            "web" + BELOW,
            "Web" + BELOW + ".",
            "c1.example.com",
            "x" + BELOW + "\nERROR octodns_rancher: forged",
            "*" + BELOW,
            "café" + BELOW,
            ".".join(["a" * 63] * 3) + "." + "b" * 45 + BELOW,
        ]
    ),
)
hostile_target = st.one_of(
    st.sampled_from(
        [
            "203.0.113.7",
            "2001:db8::7",
            "lb.example.net",
            "127.1",
            "1.2.3.999",
            "localhost",
            "web" + BELOW,
            "fe80::1%eth0",
            "lb.example.net\nERROR x: y",
        ]
    ),
    hostile_text,
)
# Any JSON value where the model expects a particular type.
odd_json = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.lists(st.integers(0, 9), max_size=2),
    hostile_text,
)


@st.composite
def hostile_objects(draw: Any) -> dict[str, Any]:
    objects: dict[str, list[Any]] = {"services": [], "ingresses": []}
    for i in range(draw(st.integers(1, 3))):
        annotations: dict[str, Any] = {
            H: ",".join(draw(st.lists(hostile_name, min_size=1, max_size=3)))
        }
        if draw(st.booleans()):
            annotations[T] = ",".join(draw(st.lists(hostile_target, min_size=1, max_size=2)))
        if draw(st.booleans()):
            annotations[TTL] = draw(mostly(st.just("60"), hostile_text))
        namespace = draw(mostly(st.just("shop"), hostile_text))
        name = draw(mostly(st.just(f"s{i}"), hostile_text))
        ips = tuple(draw(st.lists(hostile_target, max_size=2)))
        obj = service(namespace, name, ips=ips, annotations=annotations)
        obj["metadata"]["creationTimestamp"] = draw(
            mostly(st.just(f"2020-01-0{i + 1}T00:00:00Z"), hostile_text)
        )
        if draw(mostly(st.just(False), st.just(True))):
            field = draw(st.sampled_from(["spec", "status", "metadata.annotations", "metadata"]))
            where, *rest = field.split(".")
            (obj[where] if rest else obj)[rest[0] if rest else where] = draw(odd_json)
        objects["services"].append(obj)
    for i in range(draw(st.integers(0, 2))):
        hosts = tuple(draw(st.lists(hostile_name, min_size=1, max_size=2)))
        ing = ingress(
            draw(mostly(st.just("shop"), hostile_text)),
            f"i{i}",
            hosts=hosts,
            ips=tuple(draw(st.lists(hostile_target, min_size=1, max_size=2))),
        )
        objects["ingresses"].append(ing)
    return {**objects, "old": draw(st.sampled_from([None, None, OLD_ZONE]))}


def _case(**annotations: str) -> dict[str, Any]:
    svc = service("shop", "s0", ips=("203.0.113.7",), annotations={H: "web" + BELOW, **annotations})
    return {"services": [svc], "ingresses": [], "old": OLD_ZONE}


@settings(PROPERTY, max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "150")))
@given(hostile_objects())
# The defects these properties were written for, always tried first.
@example(_case(**{H: "x" + BELOW + "\nERROR octodns_rancher: forged"}))
@example(_case(**{T: "localhost"}))
@example(_case(**{T: "127.1"}))
@example(_case(**{H: ".".join(["a" * 63] * 3) + "." + "b" * 46 + BELOW}))
@example(_case(**{T: "web" + BELOW}))
def test_hostile_objects_cost_only_their_own_records_never_a_forged_line(run):
    with tempfile.TemporaryDirectory() as tmp:
        zones = zones_holding(tmp, run["old"])
        snap = Path(tmp) / "snap.json"
        save(KubeSnapshot(services=run["services"], ingresses=run["ingresses"]), snap)
        argv = ["generate", "--source", "kubernetes", "--cluster", "c1", "--zone", "example.com"]
        argv += ["--kubernetes-file", str(snap), "--zones-dir", str(zones), "--format", "all"]
        code, out, made = _run_cli(argv)
        event(f"exit {code}")
        assert_log_lines(out, made)
        # No own records before, the file well formed: nothing an object holds may fail the
        # run (it costs that object its records, with a warning), nor touch other entries.
        assert code == 0, out
        tf = json.loads((zones / "example.com.tf.json").read_text())
        names = [r["name"] for r in tf.get("resource", {}).get("aws_route53_record", {}).values()]
        for fqdn in names:
            assert _valid_hostname(fqdn), fqdn
            assert fqdn.endswith(BELOW) and len(fqdn) > len(BELOW), fqdn
        written = load((zones / "example.com.yaml").read_text(), "example.com")
        fqdns = {r.fqdn.rstrip(".") for r in written.records}
        assert {f for f in fqdns if f.endswith(BELOW)} == set(names)
        old = load(run["old"], "example.com").records if run["old"] else set()
        assert fqdns - set(names) == {r.fqdn.rstrip(".") for r in old}
