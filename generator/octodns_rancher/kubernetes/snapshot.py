"""What one read of a cluster gave: the Service and Ingress lists, saved and loaded as JSON.

``octodns-rancher snapshot --source kubernetes`` saves it so that ``generate`` can run offline
(in CI, in a review) on exactly the objects a cluster had; ``generate --kubernetes-file`` reads
it back. The file holds each list as the API sent it (``apiVersion``, ``kind``,
``metadata.resourceVersion``, ``items``), so ``kubectl get services -A -o json`` output can be
put together into one by hand.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import orjson

from ..errors import MetadataError
from ..publish import write_atomic
from ..source import DEFAULT_DEADLINE, DEFAULT_MAX_BYTES, read_limited
from . import trimmed
from .client import KubeClient
from .model import ClusterError

FORMAT = "octodns-rancher/kubernetes-snapshot/v1"
KINDS = {"services": ("v1", "ServiceList"), "ingresses": ("networking.k8s.io/v1", "IngressList")}


@dataclass
class KubeSnapshot:
    services: list[Any]
    ingresses: list[Any]
    versions: dict[str, str] = field(default_factory=dict)  # list → its resourceVersion
    requests: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": FORMAT}
        for what, (api_version, kind) in KINDS.items():
            out[what] = {
                "apiVersion": api_version,
                "kind": kind,
                "metadata": {"resourceVersion": self.versions.get(what, "")},
                "items": getattr(self, what),
            }
        return out


def fetch(client: KubeClient, trim: bool = False) -> KubeSnapshot:
    """Both lists, each whole (chunked), with the resourceVersion to watch from; ``trim``: each
    object holds only what the model reads (for a run, not for a snapshot file).

    One run of the client: both lists, their retries and pauses included, end within its
    deadline (``--deadline``)."""
    # Both at once: while one waits for the API server, the other's pages are decoded.
    with client.run(), ThreadPoolExecutor(max_workers=2, thread_name_prefix="list") as pool:
        pending = pool.submit(client.list, "ingresses", trim)
        services = client.list("services", trim)
        ingresses = pending.result()
    return KubeSnapshot(
        services=services.items,
        ingresses=ingresses.items,
        versions={
            "services": services.resource_version,
            "ingresses": ingresses.resource_version,
        },
        requests=services.requests + ingresses.requests,
    )


def save(snap: KubeSnapshot, path: str | Path) -> None:
    """Write the lists (orjson, at most 254 levels deep: ``fetch`` refuses, when it reads, an
    object nested deeper than the file can hold, ``client.MAX_DEPTH``)."""
    write_atomic(Path(path), orjson.dumps(snap.to_json(), option=orjson.OPT_INDENT_2).decode())


def load(
    path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES, wait: float = DEFAULT_DEADLINE
) -> KubeSnapshot:
    """A snapshot file's lists, their objects trimmed to what the model reads when the file
    has the usual shape (``trimmed.py``), else decoded whole and checked here.

    The file is read as Rancher's snapshot is (``source.read_limited``): refused past
    ``max_bytes`` (``--max-answer-size``, its size checked before reading), a pipe past
    ``wait`` seconds. Every failure, a file nested too deep to decode included, is one line
    naming the file."""
    p = Path(path)
    raw = _read(p, max_bytes, wait)
    fast = _trimmed(raw)
    if fast is not None:
        return fast
    try:
        data = orjson.loads(raw)
    except (orjson.JSONDecodeError, RecursionError) as e:
        raise ClusterError(f"Kubernetes snapshot {p} is not valid JSON: {e}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ClusterError(f"{p} is not a Kubernetes snapshot (expected format {FORMAT})")
    lists: dict[str, list[Any]] = {}
    versions: dict[str, str] = {}
    for what, (_api_version, kind) in KINDS.items():
        value = data.get(what)
        if not isinstance(value, dict) or not isinstance(value.get("items"), list):
            raise ClusterError(f"Kubernetes snapshot {p}: {what} is not a {kind}")
        lists[what] = value["items"]
        meta = value.get("metadata")
        versions[what] = str(meta.get("resourceVersion") or "") if isinstance(meta, dict) else ""
    return KubeSnapshot(lists["services"], lists["ingresses"], versions)


def _read(p: Path, max_bytes: int, wait: float) -> bytes:
    try:
        return read_limited(p, max_bytes, wait, what="Kubernetes snapshot")
    except OSError as e:
        raise ClusterError(f"cannot read Kubernetes snapshot {p}: {e.strerror or e}") from None
    except MetadataError as e:
        raise ClusterError(str(e)) from None


def _trimmed(raw: bytes) -> KubeSnapshot | None:
    """The file decoded the fast way, or None when it cannot be (another shape, an object
    nested too deep for msgspec): the generic decode then names what is wrong, if anything."""
    try:
        data = trimmed.snapshot_file(raw)
        if data.format != FORMAT or data.services is None or data.ingresses is None:
            return None
        lists = {what: getattr(data, what) for what in KINDS}
        items = {what: trimmed.items(one.items) for what, one in lists.items()}
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None
    versions = {
        what: str((one.metadata or {}).get("resourceVersion") or "") for what, one in lists.items()
    }
    return KubeSnapshot(items["services"], items["ingresses"], versions)
