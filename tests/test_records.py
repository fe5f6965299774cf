"""records: Rancher's external DNS rules, on the captured fixture and on scenarios of our own."""

from __future__ import annotations

import logging

import pytest

from octodns_rancher import model
from octodns_rancher.errors import ConfigError
from octodns_rancher.records import (
    Settings,
    desired_records,
    port_bind_ip,
    sanitize_label,
)
from octodns_rancher.source import MetadataClient, Snapshot
from tests.support import scenario as sc

HOSTS = [
    sc.host("h1", "203.0.113.1"),
    sc.host("h2", "203.0.113.2"),
    sc.host("h3", "203.0.113.3", {"io.rancher.host.external_dns_ip": "198.51.100.3"}),
    sc.host("h4", "203.0.113.4", {"io.rancher.host.external_dns": "false"}),
    sc.host("h6", "2001:db8::6"),
]
P80 = ["0.0.0.0:80:80/tcp"]


def records_for(services, hosts=HOSTS, environment="Default", **settings):
    snap = Snapshot("2016-07-29", services, hosts, sc.self_stack(environment))
    env = model.build(snap)
    return {
        (r.name, r.type): r.values
        for r in desired_records(env, Settings(zone="example.com", **settings))
    }


def svc(name="web", stack="shop", containers=None, **kw):
    if containers is None:
        containers = [sc.container(stack, name, 1, "h1", P80)]
    return sc.service(stack, name, containers, **kw)


def test_captured_fixture(metadata):
    for version in ("2016-07-29", "2015-12-19"):
        env = model.build(MetadataClient(metadata.url, api_version=version).fetch())
        got = {
            (r.name, r.type, r.ttl): r.values for r in desired_records(env, Settings("example.com"))
        }
        assert got == {
            ("api.shop.production", "A", 300): ("203.0.113.11",),  # unhealthy one left out
            ("frontend.shop.production", "A", 300): ("203.0.113.10", "203.0.113.11"),
            ("grafana.monitoring.production", "A", 300): ("203.0.113.11",),  # bind IP, lower-cased
            ("prometheus.monitoring.production", "A", 300): ("198.51.100.20",),  # host label
            ("web.shop.production", "A", 300): ("198.51.100.20", "203.0.113.10"),
            ("worker.shop.production", "A", 300): ("203.0.113.10",),  # stopped one left out
        }, version


def test_only_service_and_load_balancer_kinds():
    got = records_for(
        [
            svc("a", kind="service"),
            svc("b", kind="loadBalancerService"),
            svc("c", kind="externalService"),
            svc("d", kind="dnsService"),
        ]
    )
    assert sorted(got) == [("a.shop.default", "A"), ("b.shop.default", "A")]


def test_label_modes():
    no_ports = [sc.container("shop", "x", 1, "h1", None)]
    got = records_for(
        [
            svc("auto-ports"),
            svc("auto-noports", containers=no_ports),
            svc(
                "always",
                containers=[sc.container("shop", "always", 1, "h2", None)],
                labels={"io.rancher.service.external_dns": "always"},
            ),
            svc("never", labels={"io.rancher.service.external_dns": "never"}),
        ]
    )
    assert got == {
        ("auto-ports.shop.default", "A"): ("203.0.113.1",),
        ("always.shop.default", "A"): ("203.0.113.2",),
    }


def test_unknown_label_mode_warns_and_means_auto(caplog):
    got = records_for([svc(labels={"io.rancher.service.external_dns": "sometimes"})])
    assert got == {("web.shop.default", "A"): ("203.0.113.1",)}
    assert "service shop/web: io.rancher.service.external_dns='sometimes'" in caplog.text


@pytest.mark.parametrize(
    ("state", "health", "published"),
    [
        ("running", "healthy", True),
        ("running", "updating-healthy", True),
        ("running", None, True),
        ("running", "", True),
        ("running", "unhealthy", False),
        ("running", "initializing", False),
        ("stopped", "healthy", False),
        ("starting", None, False),
    ],
)
def test_container_state_and_health(state, health, published):
    c = sc.container("shop", "web", 1, "h1", P80, state=state, health=health)
    assert bool(records_for([svc(containers=[c])])) is published


def test_ip_choice_label_then_bind_ip_then_agent_ip():
    got = records_for(
        [
            svc("label", containers=[sc.container("s", "label", 1, "h3", ["192.0.2.9:80:80/tcp"])]),
            svc("bind", containers=[sc.container("s", "bind", 1, "h1", ["192.0.2.9:80:80/tcp"])]),
            svc("agent", containers=[sc.container("s", "agent", 1, "h1", ["0.0.0.0:80:80/tcp"])]),
            svc("plain", containers=[sc.container("s", "plain", 1, "h2", ["8080:80/tcp"])]),
        ]
    )
    assert got == {
        ("label.shop.default", "A"): ("198.51.100.3",),
        ("bind.shop.default", "A"): ("192.0.2.9",),
        ("agent.shop.default", "A"): ("203.0.113.1",),
        ("plain.shop.default", "A"): ("203.0.113.2",),
    }


def test_values_deduplicated_and_sorted_and_excluded_host_skipped():
    cs = [sc.container("shop", "web", i, h, P80) for i, h in enumerate(["h2", "h1", "h2", "h4"])]
    assert records_for([svc(containers=cs)]) == {
        ("web.shop.default", "A"): ("203.0.113.1", "203.0.113.2"),
    }


def test_ipv6_gives_aaaa_beside_a():
    cs = [sc.container("shop", "web", 1, "h1", P80), sc.container("shop", "web", 2, "h6", P80)]
    assert records_for([svc(containers=cs)]) == {
        ("web.shop.default", "A"): ("203.0.113.1",),
        ("web.shop.default", "AAAA"): ("2001:db8::6",),
    }


def test_invalid_ip_is_warned_and_never_written(caplog):
    hosts = [sc.host("bad", "203.0.113.300"), sc.host("ok", "203.0.113.5")]
    cs = [sc.container("shop", "web", 1, "bad", P80), sc.container("shop", "web", 2, "ok", P80)]
    assert records_for([svc(containers=cs)], hosts=hosts) == {
        ("web.shop.default", "A"): ("203.0.113.5",),
    }
    assert "container shop-web-1 on host bad has invalid IP '203.0.113.300'" in caplog.text


def test_every_container_with_an_unusable_address_is_warned(caplog):
    """Addresses are worked out once per host and port; the warnings still name each container."""
    hosts = [sc.host("bad", "203.0.113.300"), sc.host("ok", "203.0.113.5")]
    cs = [sc.container("shop", "web", i, h, P80) for i, h in enumerate(["bad", "ok", "bad", "ok"])]
    other = [sc.container("shop", "api", 1, "bad", P80), sc.container("shop", "api", 2, "ok", P80)]
    assert records_for([svc(containers=cs), svc("api", containers=other)], hosts=hosts) == {
        ("web.shop.default", "A"): ("203.0.113.5",),
        ("api.shop.default", "A"): ("203.0.113.5",),
    }
    for name in ("shop-web-0", "shop-web-2", "shop-api-1"):
        assert f"container {name} on host bad has invalid IP '203.0.113.300'" in caplog.text


def test_unknown_host_uuid_is_warned(caplog):
    c = sc.container("shop", "web", 1, "ghost", P80)
    assert records_for([svc(containers=[c])]) == {}
    assert "container shop-web-1 runs on unknown host" in caplog.text


def test_ttl_is_configurable():
    snap = Snapshot("2016-07-29", [svc()], HOSTS, sc.self_stack())
    (r,) = desired_records(model.build(snap), Settings("example.com", ttl=60))
    assert r.ttl == 60


def test_names_are_sanitised_per_placeholder():
    got = records_for([svc("My_Web App", stack="Shop.Front")], environment="Prod Env")
    assert list(got) == [("my-web-app.shop-front.prod-env", "A")]


@pytest.mark.parametrize(
    ("raw", "label"),
    [("Grafana", "grafana"), ("a__b", "a-b"), ("-x-", "x"), ("ünï", "n"), ("a.b", "a-b"), ("", "")],
)
def test_sanitize_label(raw, label):
    assert sanitize_label(raw) == label


def test_global_and_per_service_templates():
    got = records_for(
        [
            svc("a"),
            svc(
                "b",
                labels={
                    "io.rancher.service.external_dns_name_template": "%{{stack_name}}-%{{service_name}}.%{{environment_name}}"
                },
            ),
        ],
        name_template="%{{service_name}}.svc.%{{environment_name}}",
    )
    assert sorted(got) == [("a.svc.default", "A"), ("shop-b.default", "A")]


@pytest.mark.parametrize(
    "template",
    [
        "www",  # outside the environment
        "%{{service_name}}",  # directly under the zone
        "%{{service_name}}.otherenv",  # another environment
        "x.default.otherzone.com",  # under the env label but not its subtree in this zone
        "%{{environment_name}}",  # the environment apex itself is not ours to take
        "*.%{{environment_name}}",  # wildcards are not labels
        "%{{service_name}}.%{{nope}}.%{{environment_name}}",  # unknown placeholder
    ],
)
def test_templates_that_escape_the_subtree_are_refused(template, caplog):
    label = {"io.rancher.service.external_dns_name_template": template}
    assert records_for([svc(labels=label)]) == {}
    assert "service shop/web" in caplog.text and "no record" in caplog.text


def test_long_labels_and_names_are_refused(caplog):
    long_label = "a" * 64
    assert records_for([svc(long_label)]) == {}
    assert "longer than 63 characters" in caplog.text
    caplog.clear()
    template = ".".join(["b" * 60] * 4) + ".%{{environment_name}}"
    assert (
        records_for([svc(labels={"io.rancher.service.external_dns_name_template": template})]) == {}
    )
    assert "longer than 252 characters" in caplog.text


def test_a_name_of_253_characters_costs_only_its_service(caplog):
    """octoDNS counts the final dot in its limit of 253: a name of 253 characters would be
    refused when the zone is rendered, failing the whole run; the rules refuse it, with a
    warning, and the other services keep their records (the zone renders)."""
    from octodns_rancher.render import render_octodns

    tail = ".default.example.com"
    key = "io.rancher.service.external_dns_name_template"
    head = ".".join(["a" * 60] * 3) + "."

    def template(total: int) -> str:
        return head + "b" * (total - len(head) - len(tail)) + ".%{{environment_name}}"

    env = model.build(
        Snapshot(
            "2016-07-29",
            [
                svc("ok", labels={key: template(252)}),
                svc("long", labels={key: template(253)}),
            ],
            HOSTS,
            sc.self_stack("Default"),
        )
    )
    records = desired_records(env, Settings(zone="example.com"))
    assert [len(r.name) + len(".example.com") for r in records] == [252]
    render_octodns(records, "example.com", subtrees=("default.example.com",))
    assert "service shop/long" in caplog.text and "longer than 252 characters" in caplog.text


def test_part_that_sanitises_to_nothing(caplog):
    assert records_for([svc("___")]) == {}
    assert "service_name sanitises to nothing" in caplog.text


def test_two_services_with_one_name_first_wins(caplog):
    tpl = {"io.rancher.service.external_dns_name_template": "app.%{{environment_name}}"}
    caplog.set_level(logging.WARNING)
    got = records_for(
        [
            svc("zeta", stack="b", labels=tpl),
            svc(
                "alpha",
                stack="a",
                containers=[sc.container("a", "alpha", 1, "h2", P80)],
                labels=tpl,
            ),
        ]
    )
    assert got == {("app.default", "A"): ("203.0.113.2",)}  # stack a sorts first
    assert (
        "service b/zeta: name app.default.example.com is already taken by service a/alpha"
        in caplog.text
    )


def test_deterministic_whatever_the_order():
    services = [
        svc(n, containers=[sc.container("shop", n, i, h, P80) for i, h in enumerate(["h2", "h1"])])
        for n in ("c", "a", "b")
    ]
    first = records_for(services, hosts=HOSTS)
    assert list(first) == sorted(first)
    assert records_for(list(reversed(services)), hosts=list(reversed(HOSTS))) == first


@pytest.mark.parametrize(
    ("spec", "ip"),
    [
        ("0.0.0.0:80:80/tcp", "0.0.0.0"),
        ("203.0.113.11:3000:3000/tcp", "203.0.113.11"),
        ("2001:db8::10:80:80/tcp", "2001:db8::10"),
        ("[2001:db8::10]:80:80/tcp", "2001:db8::10"),
        ("%!s(<nil>):80:80/tcp", ""),
        ("80:80/tcp", ""),
    ],
)
def test_port_bind_ip(spec, ip):
    assert port_bind_ip(spec) == ip


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"zone": "not a zone"}, "invalid zone"),
        ({"zone": "example.com", "ttl": 0}, "invalid TTL"),
        ({"zone": "example.com", "name_template": "%{{host}}.x"}, "unknown placeholder"),
        ({"zone": "example.com", "name_template": " "}, "it is empty"),
    ],
)
def test_invalid_settings(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Settings(**kwargs)


@pytest.mark.parametrize(
    "labels",
    [
        {"io.rancher.service.external_dns_name_template": "x\n" * 500_000 + "%{{nope}}"},
        {"io.rancher.service.external_dns_name_template": "x" * 1_000_000},
        {"io.rancher.service.external_dns": "bogus\n" * 100_000},
    ],
)
def test_huge_or_multi_line_label_values_are_logged_on_one_short_line(caplog, labels):
    records_for([svc(labels=labels)])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and all("\n" not in w and len(w) < 600 for w in warnings), warnings
