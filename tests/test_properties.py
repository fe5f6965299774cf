"""Properties over arbitrary metadata: whatever rancher-metadata says, the zone file is safe.

Hypothesis builds environments from awkward parts (unicode and empty-ish names, every kind of
label including hostile name templates, valid and invalid IPs, odd port specs, all container
states) and checks, for each:

- octoDNS accepts the file: ``YamlProvider`` (with order enforcement) loads it back;
- every name lies strictly inside ``<environment>.<zone>``: octoDNS's own
  ``NameAllowlistFilter`` from the generated config keeps every record; no wildcard;
- no invalid IP is ever written: each value is valid rdata of its type for dnspython;
- the output is deterministic: the same metadata in another order gives identical bytes;
- a name-template label never takes a name another service's default name gives it.

Runs are derandomised (the same examples every time, so CI is reproducible); set
``HYPOTHESIS_RANDOM=1`` to explore new ones and ``HYPOTHESIS_EXAMPLES`` to change the count.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import tempfile
from typing import Any

import dns.rdata
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from octodns.processor.filter import NameAllowlistFilter
from octodns.provider.yaml import YamlProvider
from octodns.zone import Zone

from octodns_rancher import model
from octodns_rancher.config import allowlist_pattern
from octodns_rancher.errors import ConfigError
from octodns_rancher.records import (
    LABEL_HOST_ENABLED,
    LABEL_HOST_IP,
    LABEL_MODE,
    LABEL_TEMPLATE,
    Settings,
    desired_records,
    environment_label,
)
from octodns_rancher.render import render_octodns
from octodns_rancher.source import Snapshot
from tests.support import scenario as sc

ZONE = "example.com"

PROPERTY = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "300")),
    deadline=None,
    derandomize=not os.environ.get("HYPOTHESIS_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

# -- strategies --------------------------------------------------------------------------------


# Most draws are ordinary so that most examples publish records; the rest are hostile.
def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` about five times in six, ``odd`` otherwise."""
    return st.sampled_from(range(6)).flatmap(lambda i: odd if i == 0 else usual)


def weighted(usual: list[Any], odd: list[Any]) -> st.SearchStrategy[Any]:
    """One draw: a ``usual`` value about six times in seven, an ``odd`` one otherwise."""
    return st.sampled_from(usual * max(1, 6 * len(odd) // len(usual)) + odd)


# Names as Rancher users type them: mostly plain, sometimes unicode, symbols, very long.
plain = st.sampled_from(["web", "api", "db", "Web_1", "shop", "a-b", "cache", "Shop", "www"])
odd_names = st.one_of(
    st.sampled_from(["x" * 70, "café", "ü", "a.b", "-", "*", "_", " web ", "WEB", "a--b"]),
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8
    ),
)
names = mostly(plain, odd_names).filter(lambda s: s.strip() != "")

BAD_IPS = [
    "",
    "0.0.0.0",
    "::",
    "999.1.1.1",
    "1.2.3",
    "010.1.1.1",
    "not-an-ip",
    "fe80::1%eth0",
    "%!s(<nil>)",
    "1.2.3.4/24",
    "::ffff:999.1.1.1",
    " 192.0.2.1",
]
ips = mostly(
    st.one_of(st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(str)),
    st.one_of(
        st.sampled_from(BAD_IPS),
        st.ip_addresses(v=6).map(lambda ip: f"{ip}%eth0"),  # scoped: not an AAAA value
        st.text(max_size=5),
    ),
)

TEMPLATES = [
    "%{{service_name}}.%{{stack_name}}.%{{environment_name}}",
    "%{{service_name}}.evil.org.",
    "%{{service_name}}.%{{environment_name}}.example.com",
    "*.%{{environment_name}}",
    "*",
    "www",
    "%{{environment_name}}",
    "a..b.%{{environment_name}}",
    "%{{service_name}}.%{{stack_name}}.other-env",
    "%{{ service_name }}-x.%{{environment_name}}",
    "%{{nope}}.%{{environment_name}}",
    "web.shop.%{{environment_name}}",
    "api.shop.%{{environment_name}}",
    "..",
    "",
]
templates = st.one_of(st.sampled_from(TEMPLATES), st.text(max_size=12))

port_specs = st.builds(
    lambda ip, pub, form: form.format(ip=ip, pub=pub),
    ips,
    st.integers(0, 70000),
    mostly(
        st.sampled_from(["{pub}:80/tcp", "{ip}:{pub}:80/tcp", "[{ip}]:{pub}:80/udp"]),
        st.sampled_from(["{ip}", "", "{pub}", "{ip}:{pub}:80/", ":::"]),
    ),
)
no_labels = st.just({})
service_labels = mostly(
    no_labels,
    st.fixed_dictionaries(
        {},
        optional={
            LABEL_MODE: st.sampled_from(["auto", "always", "never", "Always", "bogus", ""]),
            LABEL_TEMPLATE: templates,
        },
    ),
)
host_labels = mostly(
    no_labels,
    st.fixed_dictionaries(
        {},
        optional={
            LABEL_HOST_IP: ips,
            LABEL_HOST_ENABLED: st.sampled_from(["true", "false", "FALSE", ""]),
        },
    ),
)
states = weighted(["running"], ["stopped", "starting", "", "Running"])
healths = weighted(["healthy", None], ["unhealthy", "", "updating-healthy", "initializing"])
kinds = weighted(["service"], ["loadBalancerService", "externalService", ""])


@st.composite
def environments(draw: Any) -> dict[str, Any]:
    host_names = draw(st.lists(names, min_size=1, max_size=2, unique=True))
    hosts = [sc.host(h, draw(ips), draw(host_labels)) for h in host_names]
    on_host = mostly(st.sampled_from(host_names), st.one_of(st.none(), names))
    keys = draw(st.lists(st.tuples(names, names), min_size=1, max_size=4, unique=True))
    services = []
    for i, (stack, name) in enumerate(keys):
        containers = [
            sc.container(
                stack,
                name,
                10 * i + j,
                draw(on_host),
                draw(mostly(st.lists(port_specs, min_size=1, max_size=2), st.none())),
                draw(states),
                draw(healths),
            )
            for j in range(draw(st.integers(1, 2)))
        ]
        services.append(sc.service(stack, name, containers, draw(kinds), draw(service_labels)))
    environment = draw(mostly(st.sampled_from(["Production", "Staging 2", "prod_EU"]), names))
    return {"services": services, "hosts": hosts, "environment": environment}


def snapshot(env: dict[str, Any]) -> Snapshot:
    return Snapshot(
        api_version="2016-07-29",
        services=env["services"],
        hosts=env["hosts"],
        self_stack=sc.self_stack(env["environment"]),
    )


def generate(env: dict[str, Any]) -> tuple[str, str] | None:
    """(environment label, zone file text), or None for an environment name with no label."""
    try:
        label = environment_label(env["environment"])
    except ConfigError as e:
        assert repr(env["environment"]) in str(e)  # the error names the object
        return None
    built = model.build(snapshot(env))
    return label, render_octodns(desired_records(built, Settings(zone=ZONE)), ZONE)


def load(text: str) -> Zone:
    """Load a zone file back the way octodns-sync does."""
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, f"{ZONE}.yaml"), "w", encoding="utf-8") as fh:
            fh.write(text)
        zone = Zone(f"{ZONE}.", [])
        YamlProvider(
            "rancher", tmp, enforce_order=True, escaped_semicolons=False, default_ttl=300
        ).populate(zone)
    return zone


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    """Hostile input logs many warnings by design; keep them out of the report."""
    caplog.set_level(logging.CRITICAL, logger="octodns_rancher")


# -- properties --------------------------------------------------------------------------------


@PROPERTY
@given(environments())
def test_output_is_valid_octodns_inside_the_subtree_with_valid_ips(env):
    """Three properties checked on every example (they share the expensive part, the load)."""
    out = generate(env)
    if out is None:
        return
    label, text = out
    zone = load(text)

    # 1. octoDNS accepts the file and reads back exactly the records we meant.
    built = model.build(snapshot(env))
    wanted = {
        (r.name, r.type, r.ttl, tuple(sorted(r.values)))
        for r in desired_records(built, Settings(zone=ZONE))
    }
    loaded = {
        (r.name, r._type, r.ttl, tuple(sorted(str(v) for v in r.values))) for r in zone.records
    }
    assert loaded == wanted

    # 2. Every name lies strictly inside <environment>.<zone>: the config's own filter keeps all.
    allow = NameAllowlistFilter("rancher-subtree", [allowlist_pattern(label)])
    kept = allow.process_source_zone(zone.copy(), sources=[])
    assert {r.name for r in kept.records} == {r.name for r in zone.records}
    for record in zone.records:
        assert record.fqdn.endswith(f".{label}.{ZONE}.")
        assert "*" not in record.name

    # 3. No invalid IP: each value is valid rdata of its type, and came from the metadata.
    given_strings = _all_strings(env)
    for record in zone.records:
        assert record._type in ("A", "AAAA")
        for value in record.values:
            dns.rdata.from_text("IN", record._type, str(value))  # raises if invalid
            ip = ipaddress.ip_address(str(value))
            assert not ip.is_unspecified
            assert ip.version == (4 if record._type == "A" else 6)
            assert any(str(value) in s for s in given_strings)  # never made up


@PROPERTY
@given(environments(), st.randoms(use_true_random=False))
def test_same_metadata_in_any_order_gives_the_same_bytes(env, rnd):
    first = generate(env)
    shuffled = {
        "environment": env["environment"],
        "hosts": rnd.sample(env["hosts"], len(env["hosts"])),
        "services": [
            {
                **_shuffled_dict(s, rnd),
                "containers": rnd.sample(s["containers"], len(s["containers"])),
                "labels": _shuffled_dict(s["labels"], rnd),
            }
            for s in rnd.sample(env["services"], len(env["services"]))
        ],
    }
    assert generate(shuffled) == first


@PROPERTY
@given(environments())
def test_a_label_never_takes_another_services_default_name(env):
    """The owner of each name is the first claimant: default names before labels, then by
    (stack, service); a service claiming a name only through its label never wins over one
    whose default name it is."""
    if generate(env) is None:
        return
    built = model.build(snapshot(env))
    settings_ = Settings(zone=ZONE)
    owners = {(r.name, r.type): r.service for r in desired_records(built, settings_)}
    claims: dict[tuple[str, str], list[tuple[bool, str, str, str]]] = {}
    for service in built.services:
        alone = model.Environment(built.name, built.uuid, built.hosts, (service,))
        for r in desired_records(alone, settings_):
            labelled = bool(service.labels.get(LABEL_TEMPLATE))
            claims.setdefault((r.name, r.type), []).append(
                (labelled, service.stack_name, service.name, service.uuid)
            )
    assert set(owners) == set(claims)
    for key, claimants in claims.items():
        _, stack, name, uuid = min(claimants)
        assert (owners[key].stack, owners[key].service, owners[key].uuid) == (stack, name, uuid)


def _shuffled_dict(d: dict[str, Any], rnd: Any) -> dict[str, Any]:
    items = list(d.items())
    rnd.shuffle(items)
    return dict(items)


def _all_strings(env: dict[str, Any]) -> list[str]:
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(env)
    return out
