"""The Kubernetes source's part of a run: read (cluster or snapshot), model, rules.

It ends in the pipeline's ``Desired``, like Rancher's part; the pipeline does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import model, rules
from . import snapshot as snapshots
from .client import KubeClient, configuration
from .rules import DEFAULT_SERVICE_TEMPLATE, KubeSettings


@dataclass
class KubeOptions:
    """The Kubernetes source's settings (the pipeline's Options hold the shared ones)."""

    cluster: str
    kubeconfig: str | None = None
    context: str | None = None
    snapshot_file: Path | None = None
    subtrees: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    label_selector: str = ""
    annotation_filter: str = ""
    ingress_classes: tuple[str, ...] = ()
    unannotated_services: bool = False
    service_template: str = DEFAULT_SERVICE_TEMPLATE


def settings(opts: Any) -> KubeSettings:
    k: KubeOptions | None = opts.kubernetes
    if k is None:
        raise ConfigError("--source kubernetes needs the cluster's settings (--cluster)")
    return KubeSettings(
        zone=opts.zone,
        cluster=k.cluster,
        ttl=opts.ttl,
        subtrees=k.subtrees,
        namespaces=k.namespaces,
        label_selector=k.label_selector,
        annotation_filter=k.annotation_filter,
        ingress_classes=k.ingress_classes,
        unannotated_services=k.unannotated_services,
        service_template=k.service_template,
    )


def read(opts: Any) -> snapshots.KubeSnapshot:
    """The cluster's lists: from the snapshot file when one is given, else from the cluster.

    Within the run's limits, as Rancher's part reads rancher-metadata: ``--timeout`` for each
    request (connection to last byte), ``--deadline`` for both lists together (retries and
    pauses included), ``--max-answer-size`` for each answer and each list (or the file)."""
    k: KubeOptions = opts.kubernetes
    if k.snapshot_file is not None:
        return snapshots.load(k.snapshot_file, opts.max_bytes, opts.deadline)
    client = KubeClient(
        configuration(k.kubeconfig, k.context, opts.timeout),
        opts.timeout,
        deadline=opts.deadline,
        max_bytes=opts.max_bytes,
    )
    try:
        return snapshots.fetch(client, trim=True)
    finally:
        client.close()


def desired(opts: Any, snapshot: object | None = None, memo: dict[str, Any] | None = None) -> Any:
    """The cluster's records. ``memo``: a long-running caller's memory between runs (the
    pipeline's ``RunCache.source``): objects the watch did not replace are not read again,
    nor their records made again, while the settings stay the same."""
    from ..pipeline import Desired, server_of

    s = settings(opts)
    snap = snapshot if isinstance(snapshot, snapshots.KubeSnapshot) else read(opts)
    objects = claims = None
    if memo is not None:
        if memo.get("kubernetes-settings") != s:
            memo.clear()
            memo["kubernetes-settings"] = s
        objects = memo.setdefault("kubernetes-objects", {})
        claims = memo.setdefault("kubernetes-claims", {})
    cluster = model.build(s.cluster, snap.services, snap.ingresses, objects)
    records = rules.desired_records(cluster, s, claims)
    listed = len(snap.services) + len(snap.ingresses)
    if cluster.services or cluster.ingresses:
        empty = "the cluster gave no records"
    elif listed:
        empty = f"the cluster listed {listed} Services and Ingresses, none of them readable"
    else:
        empty = "the cluster gave no Services or Ingresses"
    return Desired(
        records=records,
        name=s.cluster,
        subtrees=s.subtrees,
        empty=empty,
        requests=snap.requests,
        edit_hint="Edit the Kubernetes Services and Ingresses, not this file.",
        server=server_of("kubernetes"),
    )
