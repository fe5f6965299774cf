"""The client against a real HTTP API server: chunked lists, watches, 410 Gone, authentication."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from octodns_rancher.errors import ConfigError
from octodns_rancher.kubernetes.client import CHUNK, Gone, KubeClient, configuration
from octodns_rancher.kubernetes.model import ClusterError
from tests.support.kube_apiserver import KubeApiServer


def client(path: Path, context: str | None = None) -> KubeClient:
    return KubeClient(configuration(str(path), context), timeout=5)


def test_list_is_read_in_chunks_from_one_consistent_version(kube, kubeconfig):
    for i in range(CHUNK * 2 + 34):
        kube.add_service("bulk", f"s{i:04d}", ips=("203.0.113.1",))
    before = len(kube.requests)
    c = client(kubeconfig)
    listing = c.list("services")
    assert len(listing.items) == CHUNK * 2 + 34 + 2
    assert listing.requests == 3
    assert listing.resource_version == str(kube.rv)
    asked = kube.requests[before:]
    assert all(f"limit={CHUNK}" in r for r in asked)
    assert "continue=" not in asked[0] and all("continue=" in r for r in asked[1:])
    # Items as a real server lists them: full metadata, no kind/apiVersion.
    item = listing.items[0]
    assert {"uid", "resourceVersion", "creationTimestamp", "managedFields"} <= set(item["metadata"])
    assert "kind" not in item


def test_an_expired_continue_token_lists_again(kube, kubeconfig, caplog):
    for i in range(CHUNK + 10):
        kube.add_service("bulk", f"s{i:04d}", ips=("203.0.113.1",))
    kube.expire_continue = 1
    listing = client(kubeconfig).list("services")
    assert len(listing.items) == CHUNK + 12
    assert "410 Gone" in caplog.text and "listing services again from the start" in caplog.text


def test_wrong_token_is_a_clear_error(kube, tmp_path):
    path = tmp_path / "kc"
    path.write_text(json.dumps(kube.kubeconfig(token="wrong")))
    with pytest.raises(ClusterError, match=r"/api/v1/services: 401 Unauthorized"):
        client(path).list("services")


def test_context_selects_the_credentials(kube, tmp_path):
    cfg = kube.kubeconfig(token="wrong", context="bad")
    cfg["users"].append({"name": "good", "user": {"token": kube.token}})
    cfg["contexts"].append({"name": "good", "context": {"cluster": "test", "user": "good"}})
    path = tmp_path / "kc"
    path.write_text(json.dumps(cfg))
    with pytest.raises(ClusterError, match="401"):
        client(path).list("ingresses")
    assert len(client(path, "good").list("ingresses").items) == 1
    with pytest.raises(ConfigError, match="cannot use the Kubernetes configuration"):
        configuration(str(path), "nope")


def test_exec_credential_plugin(kube, tmp_path):
    """The kubeconfig's exec plugin runs (as for EKS, GKE, AKS) and its token is sent."""
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "import json\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
        f"'kind': 'ExecCredential', 'status': {{'token': {kube.token!r}}}}}))\n"
    )
    cfg = kube.kubeconfig()
    cfg["users"] = [
        {
            "name": "test",
            "user": {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": sys.executable,
                    "args": [str(plugin)],
                    "interactiveMode": "Never",
                }
            },
        }
    ]
    path = tmp_path / "kc"
    path.write_text(json.dumps(cfg))
    assert len(client(path).list("services").items) == 2


def test_a_server_the_kubeconfig_does_not_trust_is_refused(kube, tmp_path):
    """The cluster's CA comes from the kubeconfig: a server whose certificate another CA
    signed (a man in the middle, a wrong cluster) is refused before any token is sent."""
    from tests.support.tls import issue

    cfg = kube.kubeconfig()
    other_ca = base64.b64encode(issue("127.0.0.1", "another-ca").ca_pem).decode()
    cfg["clusters"][0]["cluster"]["certificate-authority-data"] = other_ca
    path = tmp_path / "kc"
    path.write_text(json.dumps(cfg))
    before = len(kube.requests)
    with pytest.raises(ClusterError, match=r"(?i)certificate verify failed"):
        client(path).list("services")
    assert len(kube.requests) == before


SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def _private_mounts() -> bool:
    """Whether this process may make a private mount namespace (root, or user namespaces)."""
    try:
        probe = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def test_in_cluster_service_account_end_to_end(kube, tmp_path):
    """Inside a pod: no kubeconfig, KUBERNETES_SERVICE_HOST/PORT set, the service account's
    token and CA at their fixed path. The CLI runs in a private mount namespace in which that
    path holds this server's token and CA (nothing on the machine itself is touched), and
    reads the cluster over HTTPS with them."""
    if not _private_mounts():
        pytest.skip("no private mount namespace here (unshare --mount needs root)")
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(kube.token)
    (account / "ca.crt").write_bytes(kube.ca_pem)
    (account / "namespace").write_text("dns")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(home),
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(kube.port),
    }
    run_dir = str(Path("/var/run").resolve())
    script = 'set -e; mount -t tmpfs tmpfs "$1"; mkdir -p "$2"; cp "$3"/* "$2"/; shift 3; exec "$@"'
    zones = tmp_path / "zones"
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
         run_dir, SERVICE_ACCOUNT, str(account),
         str(Path(sys.executable).parent / "octodns-rancher"), "generate",
         "--zone", "example.com", "--zones-dir", str(zones),
         "--source", "kubernetes", "--cluster", "c1"],
        env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = (zones / "example.com.yaml").read_text()
    assert "web.c1:" in text and "203.0.113.10" in text
    assert any(r.startswith("/api/v1/services") for r in kube.requests)
    assert not Path(SERVICE_ACCOUNT, "token").exists() or (
        Path(SERVICE_ACCOUNT, "token").read_text() != kube.token
    )  # the machine's own path was never written


def test_in_cluster_is_chosen_inside_a_pod(monkeypatch):
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    # No service account here: the in-cluster loader says so (it was the one used).
    with pytest.raises(ConfigError, match=r"(?i)service (token|host)|token file"):
        configuration()


def test_watch_events_after_the_list(kube, kubeconfig):
    c = client(kubeconfig)
    listing = c.list("services")

    def change() -> None:
        time.sleep(0.1)
        kube.add_service("shop", "new", ips=("203.0.113.50",))
        kube.update(
            "services",
            "shop",
            "web",
            lambda o: o["metadata"].setdefault("labels", {}).update(x="1"),
        )
        kube.delete("services", "shop", "elb")

    threading.Thread(target=change).start()
    seen = []
    for event in c.watch("services", listing.resource_version, timeout_seconds=1):
        meta = event["object"]["metadata"]
        seen.append((event["type"], meta.get("name")))
        assert int(meta["resourceVersion"]) > int(listing.resource_version)
    kinds = [t for t, _ in seen]
    assert seen[:3] == [("ADDED", "new"), ("MODIFIED", "web"), ("DELETED", "elb")]
    assert "BOOKMARK" in kinds
    assert any("allowWatchBookmarks=true" in r and "watch=1" in r for r in kube.requests)


def test_watch_from_a_compacted_version_is_gone(kube, kubeconfig):
    c = client(kubeconfig)
    listing = c.list("services")
    kube.add_service("shop", "new", ips=("203.0.113.50",))
    kube.compact()
    with pytest.raises(Gone, match="410 Gone: too old resource version"):
        list(c.watch("services", listing.resource_version, timeout_seconds=1))


def test_unreachable_server(tmp_path):
    srv = KubeApiServer()
    cfg = srv.kubeconfig()
    srv.httpd.server_close()
    path = tmp_path / "kc"
    path.write_text(json.dumps(cfg))
    cfg = configuration(str(path))
    cfg.retries = None
    c = KubeClient(cfg, timeout=1)
    with pytest.raises(ClusterError, match=r"127\.0\.0\.1:\d+/api/v1/services"):
        c.list("services")
