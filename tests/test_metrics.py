"""metrics: the Prometheus exposition and /healthz, served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from octodns_rancher.errors import ConfigError
from octodns_rancher.metrics import ERROR_KINDS, Metrics, MetricsServer, parse_listen


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


@pytest.fixture
def served() -> tuple[Metrics, MetricsServer]:
    metrics = Metrics()
    with MetricsServer(metrics, "127.0.0.1:0") as server:
        yield metrics, server


def test_metrics_parse_with_prometheus_parser(served) -> None:
    metrics, server = served
    metrics.observe_records(["A", "A", "AAAA"])
    metrics.commits.inc()
    metrics.cycle_duration.labels(trigger="change").observe(0.2)
    metrics.failed("metadata", "rancher-metadata unreachable at http://x/version")
    metrics.succeeded(when=1_700_000_000.0)
    status, ctype, body = get(f"{server.url}/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    fams = families(body)
    records = {s.labels["type"]: s.value for s in fams["octodns_rancher_records"].samples}
    assert records == {"A": 2, "AAAA": 1, "CNAME": 0}
    assert fams["octodns_rancher_commits"].type == "counter"
    assert fams["octodns_rancher_commits"].samples[0].value == 1
    errors = {
        s.labels["kind"]: s.value
        for s in fams["octodns_rancher_errors"].samples
        if s.name.endswith("_total")
    }
    assert set(errors) == set(ERROR_KINDS)  # every kind is there from the start, at 0
    assert errors["metadata"] == 1 and errors["publish"] == 0
    hist = fams["octodns_rancher_cycle_duration_seconds"]
    assert hist.type == "histogram"
    count = [s for s in hist.samples if s.name.endswith("_count")]
    assert count[0].labels == {"trigger": "change"} and count[0].value == 1
    last = fams["octodns_rancher_last_success_timestamp_seconds"].samples[0].value
    assert last == 1_700_000_000.0


def test_records_gauge_drops_types_that_disappear() -> None:
    metrics = Metrics()
    metrics.observe_records(["A", "AAAA"])
    metrics.observe_records(["A"])
    assert metrics.registry.get_sample_value("octodns_rancher_records", {"type": "AAAA"}) == 0


def test_registries_are_separate() -> None:
    a, b = Metrics(), Metrics()
    a.commits.inc(3)
    assert b.registry.get_sample_value("octodns_rancher_commits_total") == 0


def test_healthz_follows_metadata_and_last_cycle(served) -> None:
    metrics, server = served
    status, _, body = get(f"{server.url}/healthz")
    assert status == 503 and body.startswith("starting")
    metrics.metadata_reachable(True)
    assert get(f"{server.url}/healthz")[0] == 503  # no cycle yet
    metrics.succeeded()
    assert get(f"{server.url}/healthz")[:3:2] == (200, "ok\n")
    metrics.metadata_reachable(False, "rancher-metadata unreachable at http://m/version")
    status, _, body = get(f"{server.url}/healthz")
    assert status == 503 and "rancher-metadata unreachable at http://m/version" in body
    metrics.metadata_reachable(True)
    metrics.failed("publish", "git push origin main failed: remote hung up")
    status, _, body = get(f"{server.url}/healthz")
    assert status == 503 and body.strip() == "publish: git push origin main failed: remote hung up"
    assert metrics.registry.get_sample_value("octodns_rancher_metadata_up") == 1


def test_unknown_path_is_404(served) -> None:
    _, server = served
    assert get(f"{server.url}/nope")[0] == 404


def test_parse_listen() -> None:
    assert parse_listen(":7979") == ("0.0.0.0", 7979)
    assert parse_listen("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_listen("[::1]:9105") == ("::1", 9105)
    for bad in ("7979", "host:", "host:port", "h:70000"):
        with pytest.raises(ConfigError, match="invalid listen address"):
            parse_listen(bad)


def test_busy_port_is_a_clear_error(served) -> None:
    _, server = served
    with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{server.port}"):
        MetricsServer(Metrics(), f"127.0.0.1:{server.port}")


def test_health_names_the_sources_server():
    metrics = Metrics(server="the Kubernetes API server")
    assert metrics.health.status() == (False, "starting: the Kubernetes API server not asked yet")
    assert Metrics().health.status() == (False, "starting: rancher-metadata not asked yet")


def test_a_port_of_other_digits_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="invalid listen address"):
        parse_listen("127.0.0.1:\u00b2")
