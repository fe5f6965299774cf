"""A Kubernetes API server on 127.0.0.1 with a kubeconfig for it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.kube_apiserver import KubeApiServer

H = "external-dns.alpha.kubernetes.io/hostname"


@pytest.fixture
def kube() -> Iterator[KubeApiServer]:
    """An API server with a small cluster: two Services (address, host name) and an Ingress;
    HTTPS with its own CA, as a real cluster serves."""
    with KubeApiServer(bookmark_interval=0.2, tls=True) as srv:
        srv.add_service(
            "shop",
            "web",
            ips=("203.0.113.10", "2001:db8::10"),
            annotations={H: "web.c1.example.com"},
        )
        srv.add_service(
            "shop", "elb", hostnames=("a1.elb.example.net",), annotations={H: "elb.c1.example.com"}
        )
        srv.add_ingress("shop", "site", hosts=("www.c1.example.com",), ips=("198.51.100.7",))
        yield srv


@pytest.fixture
def kubeconfig(kube: KubeApiServer, tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(kube.kubeconfig()))
    return path
