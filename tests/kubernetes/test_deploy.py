"""deploy/kubernetes: the manifests against the Kubernetes JSON schemas (kubernetes-validate's,
shipped in the package: no network), least privilege, and agreement with the command's flags."""

from __future__ import annotations

import socket

import pytest
import yaml
from kubernetes_validate import utils as kv

from octodns_rancher.cli import build_parser
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy" / "kubernetes"
# The oldest and newest minor versions this deployment is checked against.
VERSIONS = ("1.28.0", kv.latest_version())


def documents() -> list[dict]:
    docs = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def by_kind(kind: str) -> dict:
    [doc] = [d for d in documents() if d["kind"] == kind]
    return doc


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_validates_strictly_offline(version, monkeypatch):
    # Any network use would fail: name resolution and connections are refused here.
    def refuse(*args, **kwargs):
        raise AssertionError("the validator tried to use the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    docs = documents()
    assert {d["kind"] for d in docs} == {
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
    }
    for doc in docs:
        kv.validate(doc, version, strict=True)


def test_the_validator_catches_a_mistake():
    bad = by_kind("Deployment")
    bad["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["path"] = 7
    with pytest.raises(kv.ValidationError):
        kv.validate(bad, VERSIONS[-1], strict=True)
    typo = by_kind("ClusterRole")
    typo["rules"][0]["verb"] = ["get"]
    with pytest.raises(kv.ValidationError):
        kv.validate(typo, VERSIONS[-1], strict=True)


def test_cluster_role_grants_only_reads_of_services_and_ingresses():
    role = by_kind("ClusterRole")
    grants = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert grants == {
        (g, r, v)
        for g, r in (("", "services"), ("networking.k8s.io", "ingresses"))
        for v in ("get", "list", "watch")
    }
    binding = by_kind("ClusterRoleBinding")
    account = by_kind("ServiceAccount")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": account["metadata"]["name"],
            "namespace": account["metadata"]["namespace"],
        }
    ]


def test_deployment_runs_watch_for_kubernetes_and_probes_healthz():
    deploy = by_kind("Deployment")
    pod = deploy["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == by_kind("ServiceAccount")["metadata"]["name"]
    [container] = pod["containers"]
    args = build_parser().parse_args(container["args"])
    assert args.command == "watch" and args.source == "kubernetes"
    env = {e["name"]: e["value"] for e in container["env"]}
    port = int(env["LISTEN_ADDRESS"].rsplit(":", 1)[1])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/healthz" and ports[get["port"]] == port
    # Every variable is one the command documents (docs/cli.md), or read by git.
    cli = (ROOT / "docs" / "cli.md").read_text()
    for name in env:
        assert name == "GIT_SSH_COMMAND" or f"env {name}" in cli or f"{name}=" in cli, name
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    files = {p.name for p in DEPLOY.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
