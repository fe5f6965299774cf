"""external-dns's conventions, the cluster's subtree, conflicts and refusals."""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from octodns_rancher.errors import ConfigError
from octodns_rancher.kubernetes import model
from octodns_rancher.kubernetes.rules import KubeSettings, desired_records, parse_ttl
from tests.support.kube_apiserver import ingress, service

H = "external-dns.alpha.kubernetes.io/hostname"
T = "external-dns.alpha.kubernetes.io/target"
TTL = "external-dns.alpha.kubernetes.io/ttl"
ZONE = "example.com"


def records(services=(), ingresses=(), **settings):
    cluster = model.build("c1", list(services), list(ingresses))
    s = KubeSettings(zone=ZONE, cluster="c1", **settings)
    return [
        (r.name, r.type, r.ttl, r.values, r.origin.describe()) for r in desired_records(cluster, s)
    ]


def test_load_balancer_service_ip_and_hostname_targets():
    got = records(
        [
            service(
                "shop",
                "web",
                ips=("203.0.113.2", "203.0.113.10", "2001:db8::1"),
                annotations={H: "web.c1.example.com"},
            ),
            service(
                "shop",
                "elb",
                hostnames=("a1.elb.amazonaws.com",),
                annotations={H: "elb.c1.example.com."},
            ),
        ]
    )
    assert got == [
        ("elb.c1", "CNAME", 300, ("a1.elb.amazonaws.com.",), "Service shop/elb"),
        ("web.c1", "A", 300, ("203.0.113.2", "203.0.113.10"), "Service shop/web"),
        ("web.c1", "AAAA", 300, ("2001:db8::1",), "Service shop/web"),
    ]


def test_hostname_annotation_is_a_comma_separated_list():
    got = records(
        [
            service(
                "shop",
                "web",
                ips=("203.0.113.2",),
                annotations={H: " a.c1.example.com, b.c1.example.com ,"},
            )
        ]
    )
    assert [g[0] for g in got] == ["a.c1", "b.c1"]


def test_only_load_balancer_services():
    got = records(
        [
            service(
                "shop",
                "web",
                type="ClusterIP",
                annotations={H: "web.c1.example.com", T: "203.0.113.2"},
            )
        ]
    )
    assert got == []


def test_ingress_rules_tls_hosts_and_annotation():
    got = records(
        ingresses=[
            ingress(
                "shop",
                "site",
                hosts=("www.c1.example.com", "shop.c1.example.com"),
                tls_hosts=("secure.c1.example.com", "www.c1.example.com"),
                ips=("198.51.100.7",),
                annotations={H: "extra.c1.example.com"},
            )
        ]
    )
    assert [g[0] for g in got] == ["extra.c1", "secure.c1", "shop.c1", "www.c1"]
    assert {g[3] for g in got} == {("198.51.100.7",)}


def test_target_annotation_replaces_the_targets():
    got = records(
        [
            service(
                "shop",
                "web",
                ips=("203.0.113.2",),
                annotations={H: "web.c1.example.com", T: "198.51.100.1,198.51.100.2"},
            )
        ]
    )
    assert got == [("web.c1", "A", 300, ("198.51.100.1", "198.51.100.2"), "Service shop/web")]


@pytest.mark.parametrize(
    ("raw", "ttl"),
    [
        ("60", 60),
        ("1m30s", 90),
        ("2h", 7200),
        ("0", 300),
        ("x", 300),
        ("9" * 5000, 300),
        ("1.5m", 90),
    ],
)
def test_ttl_annotation(raw, ttl, caplog):
    got = records(
        [
            service(
                "shop", "web", ips=("203.0.113.2",), annotations={H: "web.c1.example.com", TTL: raw}
            )
        ]
    )
    assert got[0][2] == ttl
    if ttl == 300:
        assert "Service shop/web: external-dns.alpha.kubernetes.io/ttl=" in caplog.text


def test_parse_ttl_range():
    assert parse_ttl("2147483647") == 2147483647
    assert parse_ttl("2147483648") is None
    assert parse_ttl("1m\n") == 60  # surrounding whitespace only
    assert parse_ttl("1m 1s") is None


def test_names_outside_the_cluster_subtree_are_refused(caplog):
    names = "www.example.com,example.com,c1.example.com,x.c2.example.com,x.c1.example.org,ok.c1.example.com"
    got = records([service("shop", "web", ips=("203.0.113.2",), annotations={H: names})])
    assert [g[0] for g in got] == ["ok.c1"]
    for name in (
        "www.example.com",
        "example.com",
        "c1.example.com",
        "x.c2.example.com",
        "x.c1.example.org",
    ):
        assert f"Service shop/web: name {name} lies outside c1.example.com" in caplog.text


def test_configured_subtrees_replace_the_default():
    svc = service(
        "shop",
        "web",
        ips=("203.0.113.2",),
        annotations={H: "web.apps.example.com,web.c1.example.com"},
    )
    got = records([svc], subtrees=("apps.example.com",))
    assert [g[0] for g in got] == ["web.apps"]


def test_unannotated_services_by_template():
    svcs = [
        service("Shop", "web", ips=("203.0.113.2",)),
        service("shop", "api", ips=("203.0.113.3",)),
    ]
    svcs[0]["metadata"]["namespace"] = "shop"
    assert records(svcs) == []
    got = records(svcs, unannotated_services=True)
    assert [g[0] for g in got] == ["api.shop.c1", "web.shop.c1"]
    got = records(
        svcs,
        unannotated_services=True,
        service_template="%{{service_name}}-%{{namespace}}.%{{cluster_name}}",
    )
    assert [g[0] for g in got] == ["api-shop.c1", "web-shop.c1"]


def test_two_objects_one_name_template_first_then_oldest_wins(caplog):
    old = service(
        "a",
        "old",
        ips=("203.0.113.1",),
        annotations={H: "web.c1.example.com"},
        created="2024-01-01T00:00:00Z",
    )
    new = service(
        "b",
        "new",
        ips=("203.0.113.2",),
        annotations={H: "web.c1.example.com"},
        created="2025-01-01T00:00:00Z",
    )
    ing = ingress(
        "a",
        "ing",
        hosts=("web.c1.example.com",),
        ips=("203.0.113.3",),
        created="2023-01-01T00:00:00Z",
    )
    for order in ([old, new], [new, old]):
        assert records(order) == [("web.c1", "A", 300, ("203.0.113.1",), "Service a/old")]
    assert (
        "Service b/new: name web.c1.example.com is already taken by Service a/old; no record"
        in caplog.text
    )
    # The oldest object wins whatever its kind: a new object never takes a name in use.
    assert records([old, new], [ing]) == [("web.c1", "A", 300, ("203.0.113.3",), "Ingress a/ing")]
    # A name the template gives a Service (web.shop.c1 for shop/web) cannot be taken by another
    # object's annotation or host, however old: only the namespace's own Service has it.
    svc = service("shop", "web", ips=("203.0.113.4",), created="2026-01-01T00:00:00Z")
    thief = ingress(
        "other",
        "thief",
        hosts=("web.shop.c1.example.com",),
        ips=("203.0.113.5",),
        created="2020-01-01T00:00:00Z",
    )
    got = records([svc], [thief], unannotated_services=True)
    assert got == [("web.shop.c1", "A", 300, ("203.0.113.4",), "Service shop/web")]
    assert (
        "Ingress other/thief: name web.shop.c1.example.com is already taken by Service shop/web"
        in caplog.text
    )


def test_mixed_targets_are_refused(caplog):
    got = records(
        [
            service(
                "shop",
                "web",
                ips=("203.0.113.2",),
                hostnames=("a.elb.amazonaws.com",),
                annotations={H: "web.c1.example.com"},
            )
        ]
    )
    assert got == []
    assert "Service shop/web: targets mix addresses and host names" in caplog.text


def test_two_hostname_targets_are_refused(caplog):
    got = records(
        [
            service(
                "shop",
                "web",
                hostnames=("a.example.net", "b.example.net"),
                annotations={H: "web.c1.example.com"},
            )
        ]
    )
    assert got == []
    assert "a CNAME holds one" in caplog.text


@pytest.mark.parametrize(
    "target",
    [
        "0.0.0.0",
        "127.0.0.1",
        "fe80::1%eth0",
        "::",
        "224.0.0.1",
        "255.255.255.255",
        "::ffff:1.2.3.4",
        "64:ff9b::102:304",
        "bad_host!",
        "xn--zz.example.net",
        "a\nb",
        "x" * 300,
    ],
)
def test_invalid_targets_are_refused(target, caplog):
    got = records([service("shop", "web", annotations={H: "web.c1.example.com", T: target})])
    assert got == []
    assert "Service shop/web: " in caplog.text and "no record" in caplog.text


@pytest.mark.parametrize(
    "name",
    [
        "*.c1.example.com",
        "web\n.c1.example.com",
        "we b.c1.example.com",
        "xn--zz.c1.example.com",
        "ab--c.c1.example.com",
        ("x" * 64) + ".c1.example.com",
        ".".join(["a"] * 130) + ".c1.example.com",
        "-web.c1.example.com",
        "web_1.c1.example.com",
    ],
)
def test_invalid_names_are_refused(name, caplog):
    caplog.set_level(logging.WARNING)
    got = records(
        [service("shop", "web", ips=("203.0.113.2",), annotations={H: name + ",ok.c1.example.com"})]
    )
    assert [g[0] for g in got] == ["ok.c1"]
    assert "Service shop/web: name " in caplog.text and "; no record" in caplog.text
    # A name with a newline is shown as its repr: the log line stays one line.
    assert all(line.startswith(("WARNING", "INFO", "DEBUG")) for line in caplog.text.splitlines())


def test_unicode_names_are_published_as_a_labels():
    got = records(
        [service("shop", "web", ips=("203.0.113.2",), annotations={H: "café.c1.example.com"})]
    )
    assert got[0][0] == "xn--caf-dma.c1"


def test_filters():
    objs = [
        service(
            "a",
            "one",
            ips=("203.0.113.1",),
            labels={"team": "x"},
            annotations={H: "one.c1.example.com"},
        ),
        service(
            "b",
            "two",
            ips=("203.0.113.2",),
            labels={"team": "y"},
            annotations={H: "two.c1.example.com", "dns": "public"},
        ),
    ]
    ings = [
        ingress(
            "a", "pub", hosts=("pub.c1.example.com",), ips=("203.0.113.3",), ingress_class="public"
        ),
        ingress(
            "a",
            "legacy",
            hosts=("old.c1.example.com",),
            ips=("203.0.113.4",),
            ingress_class=None,
            annotations={"kubernetes.io/ingress.class": "public"},
        ),
        ingress(
            "a",
            "int",
            hosts=("int.c1.example.com",),
            ips=("203.0.113.5",),
            ingress_class="internal",
        ),
    ]
    names = lambda **kw: [g[0] for g in records(objs, ings, **kw)]  # noqa: E731
    assert names(namespaces=("b",)) == ["two.c1"]
    assert names(label_selector="team in (x)") == ["one.c1"]
    assert names(label_selector="team=y") == ["two.c1"]
    assert names(label_selector="team!=y,team") == ["one.c1"]
    assert names(annotation_filter="dns=public") == ["two.c1"]
    assert names(ingress_classes=("public",)) == ["old.c1", "one.c1", "pub.c1", "two.c1"]


def test_controller_annotation_leaves_the_object_to_another_controller():
    svc = service(
        "a",
        "one",
        ips=("203.0.113.1",),
        annotations={
            H: "one.c1.example.com",
            "external-dns.alpha.kubernetes.io/controller": "other",
        },
    )
    assert records([svc]) == []
    svc["metadata"]["annotations"]["external-dns.alpha.kubernetes.io/controller"] = "dns-controller"
    assert len(records([svc])) == 1


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"cluster": "a.b"}, "invalid cluster name"),
        ({"cluster": "bad\n"}, "invalid cluster name"),
        ({"subtrees": ("apps.example.org",)}, "is not inside the zone"),
        ({"label_selector": "a in b"}, "invalid label selector"),
        ({"service_template": "%{{nope}}"}, "invalid service template"),
        ({"ttl": 0}, "invalid TTL"),
    ],
)
def test_bad_settings(kw, message):
    args = {"zone": ZONE, "cluster": "c1", **kw}
    with pytest.raises(ConfigError, match=message):
        KubeSettings(**args)


def test_a_watch_memo_gives_what_a_fresh_run_gives_as_objects_change():
    """The watch keeps each object's dict until an event replaces it; objects it did not
    replace keep their model object and their claims, and the records are a fresh run's."""
    s = KubeSettings(zone=ZONE, cluster="c1")
    services = [
        service("shop", f"s{i}", ips=(f"203.0.113.{i + 1}",), annotations={H: f"s{i}.c1.{ZONE}"})
        for i in range(6)
    ]
    ingresses = [
        ingress("shop", "www", hosts=(f"s0.c1.{ZONE}", f"w.c1.{ZONE}"), ips=("192.0.2.9",))
    ]
    objects: dict = {}
    claims: dict = {}
    first = model.build("c1", services, ingresses, objects)
    assert desired_records(first, s, claims) == desired_records(
        model.build("c1", services, ingresses), s
    )
    steps = [
        lambda sv: sv.__setitem__(
            2, service("shop", "s2", ips=("198.51.100.2",), annotations={H: f"s2.c1.{ZONE}"})
        ),
        lambda sv: sv.pop(0),  # s0's name goes to the Ingress
        lambda sv: sv.append(
            service("shop", "late", ips=("198.51.100.9",), annotations={H: f"w.c1.{ZONE}"})
        ),
    ]
    for step in steps:
        before = {id(o): o for o in model.build("c1", services, ingresses, objects).services}
        step(services)
        cluster = model.build("c1", services, ingresses, objects)
        fresh = desired_records(model.build("c1", services, ingresses), s)
        assert desired_records(cluster, s, claims) == fresh
        # Objects that were not replaced are the very objects read before.
        assert sum(id(o) in before for o in cluster.services) >= len(services) - 1


# -- what octoDNS would refuse is refused here, per object --------------------------------------


def _published(services=(), ingresses=(), **settings):
    """The records, rendered as the zone file is (octoDNS's own validators included)."""
    from octodns_rancher.render import render_octodns

    cluster = model.build("c1", list(services), list(ingresses))
    s = KubeSettings(zone=ZONE, cluster="c1", **settings)
    recs = desired_records(cluster, s)
    render_octodns(recs, ZONE, subtrees=s.subtrees)  # raises if octoDNS refuses a record
    return sorted({r.name for r in recs})


def test_names_of_253_characters_are_refused_as_octodns_counts_the_final_dot(caplog):
    # 252 characters is the longest name octoDNS takes: its fqdn (with the final dot) is 253.
    suffix = ".c1.example.com"
    longest = ".".join(["a" * 61] * 3) + "." + "b" * (252 - 3 * 62 - len(suffix)) + suffix
    too_long = "c" + longest
    assert len(longest) == 252 and len(too_long) == 253
    got = _published(
        [
            service("shop", "ok", ips=("203.0.113.2",), annotations={H: longest}),
            service("shop", "long", ips=("203.0.113.3",), annotations={H: too_long}),
        ]
    )
    assert got == [longest[: -len(".example.com")]]
    assert "Service shop/long: name " in caplog.text and "longer than 252" in caplog.text


@pytest.mark.parametrize(
    "target",
    [
        "foo",  # one label: not a host name a resolver can find
        "localhost",
        "2130706433",
        "1.2.3.999",  # looks like an address, is not one
        "01.2.3.4",
        "127.1",
        "0x7f.0.0.1",
        "203.0.113.010",
        "1.2.3.4.5",
        "lb.example.123",  # an all-digit top-level label
        ("a" * 60 + ".") * 4 + "com",  # 245 + the final dot: fine; longer below
        ("a" * 62 + ".") * 4 + "com",  # 255 characters
    ],
)
def test_targets_octodns_would_refuse_cost_only_their_object(target, caplog):
    good = service("shop", "good", ips=("203.0.113.9",), annotations={H: "good.c1.example.com"})
    bad = service("shop", "bad", annotations={H: "bad.c1.example.com", T: target})
    got = _published([good, bad])
    if target.startswith("a" * 60 + "."):
        assert got == ["bad.c1", "good.c1"]
        return
    assert got == ["good.c1"]
    assert "Service shop/bad: target " in caplog.text and "; no record" in caplog.text


def test_a_cname_to_itself_is_refused(caplog):
    got = records(
        [service("shop", "t", annotations={H: "t.c1.example.com", T: "t.c1.example.com"})]
    )
    assert got == []
    assert "Service shop/t: name t.c1.example.com would point at itself; no record" in caplog.text


@pytest.mark.parametrize("raw", ["\u0661\u0662", "\uff11\uff12m", "\u0663s", "1\u0662s"])
def test_ttl_digits_are_ascii_only(raw):
    assert parse_ttl(raw) is None


@pytest.mark.parametrize("created", [None, "", "2019", "yesterday", "2019-13-45T99:00:00Z"])
def test_an_object_without_a_valid_creation_time_never_takes_a_name_in_use(created, caplog):
    old = _web("a", "old", "2020-01-01T00:00:00Z")
    new = _web("b", "new", "2019-01-01T00:00:00Z")
    new["metadata"]["creationTimestamp"] = created
    for order in ([old, new], [new, old]):
        assert records(order) == [("web.c1", "A", 300, ("203.0.113.1",), "Service a/old")]


def _web(namespace: str, name: str, created: str) -> dict:
    """A Service claiming web.c1.example.com, created at ``created``."""
    return service(
        namespace,
        name,
        ips=("203.0.113.1",),
        annotations={H: "web.c1.example.com"},
        created=created,
    )


def test_creation_times_compare_as_times_not_text():
    # 00:00:00.5Z is later than 00:00:00Z, though "." sorts before "Z" as text; +01:00 is UTC-1h.
    first = _web("b", "first", "2020-01-01T00:30:00+01:00")
    second = _web("a", "second", "2020-01-01T00:00:00.5Z")
    third = _web("a", "third", "2020-01-01T00:00:00Z")
    assert records([second, third])[0][4] == "Service a/third"
    assert records([second, first])[0][4] == "Service b/first"


def test_a_service_wins_over_an_ingress_of_the_same_age():
    t = "2020-01-01T00:00:00Z"
    svc = service(
        "z", "svc", ips=("203.0.113.1",), annotations={H: "web.c1.example.com"}, created=t
    )
    ing = ingress("a", "ing", hosts=("web.c1.example.com",), ips=("203.0.113.2",), created=t)
    assert records([svc], [ing]) == [("web.c1", "A", 300, ("203.0.113.1",), "Service z/svc")]


def test_the_whole_zone_is_never_a_clusters_subtree():
    with pytest.raises(ConfigError, match="is the whole zone"):
        KubeSettings(zone=ZONE, cluster="c1", subtrees=("example.com",))


_PIECES = [
    "a",
    "web",
    "1",
    "999",
    "0x7f",
    "010",
    "255",
    "localhost",
    "xn--zz",
    "xn--caf-dma",
    "café",
    "\uff21\uff22",  # full-width letters
    "ﬁ",
    "-",
    "a-",
    "--",
    "ab--c",
    "*",
    "_x",
    "a" * 63,
    "a" * 64,
    "b" * 61,
    "\n",
    "\x1b",
    " ",
    "",
    "c1",
    "example",
    "com",
    "123",
    "::1",
    "fe80::1%eth0",
    "1.2.3.4",
    "ß",
    "\u200b",
]
_hostile = st.lists(st.sampled_from(_PIECES), min_size=1, max_size=8).map(".".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(st.one_of(_hostile, _hostile.map(lambda n: n + ".c1.example.com")), max_size=3),
    targets=st.lists(
        st.one_of(_hostile, st.sampled_from(["203.0.113.7", "2001:db8::7"])), max_size=2
    ),
    ttl=st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["60", "1m30s", "\u0661\u0662"])),
)
def test_whatever_an_annotation_says_only_its_object_can_lose(names, targets, ttl):
    """Any annotation text: the rules keep or refuse each object's records, the zone always
    renders with octoDNS's own validators, and every name lies inside the cluster's subtree."""
    annotations = {H: ",".join([*names, "fine.c1.example.com"])}
    if targets:
        annotations[T] = ",".join(targets)
    if ttl is not None:
        annotations[TTL] = ttl
    objs = [
        service("shop", "x", ips=("203.0.113.9",), annotations=annotations),
        service("shop", "y", ips=("203.0.113.8",), annotations={H: "other.c1.example.com"}),
    ]
    got = _published(objs)
    assert "other.c1" in got
    assert all(n.endswith(".c1") for n in got)
