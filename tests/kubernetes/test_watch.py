"""watch --source kubernetes: the shared loop following a cluster through the watch API,
against the test API server, real git and a bare remote on disk."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from octodns_rancher.kubernetes.client import KubeClient, configuration
from octodns_rancher.kubernetes.stage import KubeOptions
from octodns_rancher.kubernetes.watch import KubeWatchClient
from octodns_rancher.metrics import Metrics, MetricsServer
from octodns_rancher.pipeline import Options, zone_path
from octodns_rancher.watch import GitPublisher, Watcher, WatchSettings
from tests.support.kube_apiserver import KubeApiServer
from tests.test_watch import count, git, wait_for
from tests.test_watch import repo as repo  # a fixture

H = "external-dns.alpha.kubernetes.io/hostname"
ZONE = "example.com"
QUIET = 0.3
FAST = WatchSettings(
    quiet_period=QUIET, resync_interval=60, max_wait=1, backoff_min=0.1, backoff_max=0.5
)


@contextmanager
def watching(
    kube: KubeApiServer,
    kubeconfig: Path,
    work: Path,
    metrics: Metrics | None = None,
    settings: WatchSettings = FAST,
) -> Iterator[KubeWatchClient]:
    opts = Options(
        zone=ZONE,
        zones_dir=work / "zones",
        source="kubernetes",
        kubernetes=KubeOptions(cluster="c1"),
        timeout=5,
    )
    cfg = configuration(str(kubeconfig))
    cfg.retries = None
    client = KubeWatchClient(
        KubeClient(cfg, 5), timeout_seconds=2, backoff_min=0.1, backoff_max=0.5
    )
    watcher = Watcher(
        opts,
        settings,
        GitPublisher(opts.zones_dir, push=True, branch="main"),
        metrics,
        client=client,
    )
    thread = threading.Thread(target=watcher.run, name="watch", daemon=True)
    thread.start()
    try:
        yield client
    finally:
        watcher.stop()
        client.close()
        thread.join(timeout=10)
        assert not thread.is_alive(), "watch loop did not stop"


def zone_text(work: Path) -> str:
    path = zone_path(work / "zones", ZONE)
    return path.read_text() if path.exists() else ""


def test_events_after_the_quiet_period_give_one_commit(kube, kubeconfig, repo):
    with watching(kube, kubeconfig, repo) as client:
        wait_for(lambda: count(repo) == 2, what="the first commit")
        assert "www.c1:" in zone_text(repo)
        # A burst of changes: one regeneration, one commit.
        kube.add_service(
            "shop", "api", ips=("203.0.113.30",), annotations={H: "api.c1.example.com"}
        )
        kube.update(
            "ingresses",
            "shop",
            "site",
            lambda o: o["status"]["loadBalancer"]["ingress"][0].update(ip="198.51.100.8"),
        )
        kube.delete("services", "shop", "elb")
        wait_for(lambda: count(repo) == 3, what="one commit for the burst")
        time.sleep(QUIET + 1.0)
        assert count(repo) == 3
        text = zone_text(repo)
        assert "api.c1:" in text and "198.51.100.8" in text and "elb.c1:" not in text
        message = git(repo, "log", "-1", "--format=%B")
        assert "add api.c1" in message and "remove elb.c1" in message
        # Watches resumed from the list's version, with bookmarks.
        assert any("watch=1" in r and "allowWatchBookmarks=true" in r for r in kube.requests)
        assert client.relists == 2


def test_410_gone_relists_and_nothing_is_missed(kubeconfig, repo, kube):
    kube.bookmark_interval = 3600  # no bookmark moves the client's version on meanwhile
    with watching(kube, kubeconfig, repo) as client:
        wait_for(lambda: count(repo) == 2, what="the first commit")
        relists = client.relists
        # The streams drop; meanwhile a change happens and the history is compacted: the
        # watch resumed from the old version gets 410 Gone and the client lists again.
        kube.hold_watches.set()
        time.sleep(1.0)  # every open stream has ended (they check twice a second)
        kube.add_service(
            "shop", "late", ips=("203.0.113.40",), annotations={H: "late.c1.example.com"}
        )
        kube.compact()
        kube.hold_watches.clear()
        wait_for(
            lambda: "late.c1:" in zone_text(repo), timeout=15, what="the change after compaction"
        )
        wait_for(lambda: count(repo) == 3, what="its commit")
        assert client.relists >= relists + 1, kube.requests


def test_api_server_down_then_back_health_and_recovery(kubeconfig, repo, kube):
    metrics = Metrics()
    server = MetricsServer(metrics, "127.0.0.1:0").start()
    url = server.url
    with watching(kube, kubeconfig, repo, metrics) as client:
        wait_for(lambda: count(repo) == 2, what="the first commit")
        # The server refuses every request (a wrong token from now on): streams fail and retry.
        kube.token = "rotated"
        kube.add_service("shop", "x", ips=("203.0.113.50",), annotations={H: "x.c1.example.com"})
        wait_for(lambda: client.errors, timeout=10, what="the stream error")
        wait_for(lambda: _status(url + "/healthz") == 503, timeout=10, what="/healthz 503")
        kube.token = "test-token"
        wait_for(lambda: "x.c1:" in zone_text(repo), timeout=15, what="recovery")
        wait_for(lambda: _status(url + "/healthz") == 200, timeout=10, what="/healthz 200")
    server.stop()


def test_resync_and_metrics_follow_the_cluster(kubeconfig, repo, kube):
    """The shared loop's resync restores a hand-edited file without an event, and /metrics
    tells the API server's state and the cluster's records."""
    settings = WatchSettings(quiet_period=QUIET, resync_interval=1, max_wait=1, backoff_min=0.1)
    metrics = Metrics(server="the Kubernetes API server")
    server = MetricsServer(metrics, "127.0.0.1:0").start()
    try:
        with watching(kube, kubeconfig, repo, metrics, settings):
            wait_for(lambda: count(repo) == 2, what="the first commit")
            path = zone_path(repo / "zones", ZONE)
            path.write_text(path.read_text().replace("198.51.100.7", "192.0.2.66"))
            wait_for(lambda: "198.51.100.7" in path.read_text(), timeout=5, what="the resync")
            assert git(repo, "status", "--porcelain", "--", "zones") == ""
            assert count(repo) == 2  # the file is as committed again: nothing to commit
            sample = metrics.registry.get_sample_value
            wait_for(
                lambda: sample(
                    "octodns_rancher_cycle_duration_seconds_count", {"trigger": "resync"}
                ),
                what="a resync in the cycle histogram",
            )
            with urllib.request.urlopen(server.url + "/metrics", timeout=2) as resp:
                text = resp.read().decode()
            assert "octodns_rancher_metadata_up 1.0" in text
            assert 'octodns_rancher_records{type="CNAME"} 1.0' in text
            assert 'octodns_rancher_records{type="A"} 2.0' in text
    finally:
        server.stop()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0
