"""Flags shared by the subcommands, and how each setting is resolved.

A setting comes from its flag, else its environment variable (Rancher's names where it had one),
else the ``--config`` file, else the default.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..guards import DEFAULT_DELETE_PCENT_THRESHOLD, DEFAULT_MAX_DELETES
from ..records import DEFAULT_TEMPLATE, DEFAULT_TTL
from ..source import DEFAULT_DEADLINE

log = logging.getLogger("octodns_rancher")

EXIT_OK, EXIT_CHANGES, EXIT_ERROR = 0, 1, 2

# Every option of `generate` has an environment variable; Rancher's own names where it had one.
ENV = {
    "metadata_url": "METADATA_URL",
    "metadata_file": "METADATA_FILE",
    "api_version": "METADATA_API_VERSION",
    "zone": "ROOT_DOMAIN",
    "environment": "RANCHER_ENVIRONMENT",
    "ttl": "TTL",
    "name_template": "NAME_TEMPLATE",
    "zones_dir": "ZONES_DIR",
    "format": "OUTPUT_FORMAT",
    "delete_pcent_threshold": "DELETE_PCENT_THRESHOLD",
    "max_deletes": "MAX_DELETES",
    "lock_wait": "LOCK_WAIT",
    "timeout": "METADATA_TIMEOUT",
    "deadline": "METADATA_DEADLINE",
    "max_answer_size": "METADATA_MAX_SIZE",
    "source": "SOURCE",
    "cluster": "KUBERNETES_CLUSTER",
    "kubeconfig": "KUBECONFIG",
    "context": "KUBE_CONTEXT",
    "kubernetes_file": "KUBERNETES_FILE",
    "subtrees": "KUBERNETES_SUBTREES",
    "namespaces": "KUBERNETES_NAMESPACES",
    "label_selector": "KUBERNETES_LABEL_SELECTOR",
    "annotation_filter": "KUBERNETES_ANNOTATION_FILTER",
    "ingress_class": "KUBERNETES_INGRESS_CLASS",
    "unannotated_services": "KUBERNETES_UNANNOTATED_SERVICES",
    "service_template": "KUBERNETES_SERVICE_TEMPLATE",
}


# The watch loop's timing: (flag, environment variable, default, type, help).
WATCH_NUMBERS = (
    ("--quiet-period", "QUIET_PERIOD", 2.0, float, "seconds of no change before regenerating"),
    ("--resync-interval", "RESYNC_INTERVAL", 600.0, float, "seconds between full resyncs"),
    ("--max-wait", "METADATA_MAX_WAIT", 60, int, "maxWait of the /version long-poll, 1-120 s"),
    ("--backoff-max", "BACKOFF_MAX", 60.0, float, "longest pause between retries, seconds"),
)


# Safety overrides: flag or environment only, never the config file (a run-by-run decision).
FORCE_ENV = "FORCE_REMOVALS"


DEFAULTS: dict[str, Any] = {
    "metadata_url": "http://rancher-metadata.rancher.internal",
    "metadata_file": None,
    "api_version": "2016-07-29",
    "zone": None,
    "environment": None,
    "ttl": DEFAULT_TTL,
    "name_template": DEFAULT_TEMPLATE,
    "zones_dir": "zones",
    "format": "octodns",
    "delete_pcent_threshold": DEFAULT_DELETE_PCENT_THRESHOLD,
    "max_deletes": DEFAULT_MAX_DELETES,
    "lock_wait": 0.0,
    "timeout": 10.0,
    "deadline": DEFAULT_DEADLINE,
    "max_answer_size": "512MiB",
    "source": "rancher",
    "cluster": None,
    "kubeconfig": None,
    "context": None,
    "kubernetes_file": None,
    "subtrees": "",
    "namespaces": "",
    "label_selector": "",
    "annotation_filter": "",
    "ingress_class": "",
    "unannotated_services": False,
    "service_template": None,  # the Kubernetes rules' default, imported only when used
}


def log_flags(p: argparse.ArgumentParser) -> None:
    default = argparse.SUPPRESS if p.prog != "octodns-rancher" else 0
    p.add_argument("-v", "--verbose", action="count", default=default, help="more logging")
    p.add_argument("-q", "--quiet", action="count", default=default, help="less logging")
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=argparse.SUPPRESS if p.prog != "octodns-rancher" else None,
        help="text lines, or one JSON object per line (env LOG_FORMAT; default text)",
    )


def metadata_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("metadata")
    g.add_argument(
        "--metadata-url",
        help=f"rancher-metadata base URL (env METADATA_URL; default {DEFAULTS['metadata_url']})",
        default=None,
    )
    g.add_argument(
        "--api-version",
        choices=("2016-07-29", "2015-12-19"),
        default=None,
        help=f"rancher-metadata API version (env METADATA_API_VERSION; default {DEFAULTS['api_version']})",
    )
    g.add_argument(
        "--timeout",
        default=None,
        help="seconds a request may take, from connecting to the last byte of the answer "
        "(env METADATA_TIMEOUT; default 10)",
    )
    g.add_argument(
        "--deadline",
        default=None,
        help="seconds all of a run's requests to rancher-metadata may take together, "
        f"retries included (env METADATA_DEADLINE; default {DEFAULT_DEADLINE:g})",
    )
    g.add_argument(
        "--max-answer-size",
        default=None,
        help="largest answer (or --metadata-file) read, in bytes or with KiB/MiB/GiB "
        "(env METADATA_MAX_SIZE; default 512MiB)",
    )


def source_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        choices=("rancher", "kubernetes"),
        default=None,
        help="where the services come from: a Rancher 1.x environment's rancher-metadata, or a "
        "Kubernetes cluster's Services and Ingresses (env SOURCE; default rancher)",
    )


def kubernetes_flags(p: argparse.ArgumentParser, rules: bool = True) -> None:
    g = p.add_argument_group("kubernetes (with --source kubernetes; see docs/kubernetes.md)")
    g.add_argument(
        "--kubeconfig",
        default=None,
        help="kubeconfig file (env KUBECONFIG, read by the client; default ~/.kube/config, or "
        "the in-cluster service account inside a pod)",
    )
    g.add_argument(
        "--context",
        default=None,
        help="kubeconfig context (env KUBE_CONTEXT; default the current context)",
    )
    if not rules:
        return
    g.add_argument(
        "--kubernetes-file",
        type=Path,
        default=None,
        help="read a snapshot file instead of the cluster (env KUBERNETES_FILE)",
    )
    g.add_argument(
        "--cluster",
        default=None,
        help="the cluster's name, one DNS label: its names lie below <cluster>.<zone> "
        "(env KUBERNETES_CLUSTER; required)",
    )
    g.add_argument(
        "--subtrees",
        default=None,
        help="comma-separated names the cluster may publish below, instead of <cluster>.<zone> "
        "(env KUBERNETES_SUBTREES)",
    )
    g.add_argument(
        "--namespaces",
        default=None,
        help="comma-separated namespaces to read (env KUBERNETES_NAMESPACES; default all)",
    )
    g.add_argument(
        "--label-selector",
        default=None,
        help="only objects whose labels match, kubectl -l syntax (env KUBERNETES_LABEL_SELECTOR)",
    )
    g.add_argument(
        "--annotation-filter",
        default=None,
        help="only objects whose annotations match, same syntax (env KUBERNETES_ANNOTATION_FILTER)",
    )
    g.add_argument(
        "--ingress-class",
        default=None,
        help="comma-separated ingress classes to read (env KUBERNETES_INGRESS_CLASS; default all)",
    )
    g.add_argument(
        "--unannotated-services",
        action="store_true",
        default=None,
        help="also publish LoadBalancer Services without a hostname annotation, named by "
        "--service-template (env KUBERNETES_UNANNOTATED_SERVICES=1)",
    )
    g.add_argument(
        "--service-template",
        default=None,
        help="name of an unannotated Service (env KUBERNETES_SERVICE_TEMPLATE; default "
        "%%{{service_name}}.%%{{namespace}}.%%{{cluster_name}})",
    )


def records_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("records")
    g.add_argument(
        "--zone", default=None, help="the DNS zone, e.g. example.com (env ROOT_DOMAIN; required)"
    )
    g.add_argument(
        "--environment",
        default=None,
        help="environment name (env RANCHER_ENVIRONMENT; default: from /self/stack)",
    )
    g.add_argument(
        "--ttl",
        type=int,
        default=None,
        help=f"record TTL in seconds (env TTL; default {DEFAULT_TTL})",
    )
    g.add_argument(
        "--name-template",
        default=None,
        help="record name template (env NAME_TEMPLATE; default %%{{service_name}}."
        "%%{{stack_name}}.%%{{environment_name}})",
    )


def output_flags(p: argparse.ArgumentParser, check: bool) -> None:
    g = p.add_argument_group("output")
    g.add_argument(
        "--zones-dir",
        type=Path,
        default=None,
        help="directory of zone files (env ZONES_DIR; default zones)",
    )
    g.add_argument(
        "--format",
        choices=("octodns", "terraform", "all"),
        default=None,
        help="what to write: the octoDNS zone file <zone>.yaml, the same records as Terraform "
        "aws_route53_record resources in <zone>.tf.json, or both (env OUTPUT_FORMAT; "
        "default octodns)",
    )
    if check:
        g.add_argument(
            "--check",
            action="store_true",
            help="write nothing; exit 1 if the zone file would change (for CI)",
        )
    g.add_argument(
        "--allow-empty",
        action="store_true",
        help="allow metadata without services or hosts to empty a zone with records",
    )


def git_flags(p: argparse.ArgumentParser) -> None:
    env = os.environ.get
    g = p.add_argument_group("git (see README: GitOps workflow)")
    g.add_argument(
        "--commit",
        action="store_true",
        default=truthy(env("ZONES_COMMIT")),
        help="commit the zone files (and nothing else) when they changed (env ZONES_COMMIT=1)",
    )
    g.add_argument(
        "--push",
        action="store_true",
        default=truthy(env("ZONES_PUSH")),
        help="push the commit; on a race, regenerate on the remote tip and retry "
        "(implies --commit; env ZONES_PUSH=1)",
    )
    g.add_argument(
        "--remote",
        default=env("ZONES_GIT_REMOTE") or "origin",
        help="remote to push to (env ZONES_GIT_REMOTE; default origin)",
    )
    g.add_argument(
        "--branch",
        default=env("ZONES_GIT_BRANCH") or None,
        help="branch to push to (env ZONES_GIT_BRANCH; default: the current branch)",
    )


def safety_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("safety (see docs/safety.md)")
    g.add_argument(
        "--force",
        action="store_true",
        default=None,
        help=f"write even if more records would be removed than the thresholds allow "
        f"(env {FORCE_ENV}=1)",
    )
    g.add_argument(
        "--delete-pcent-threshold",
        type=float,
        default=None,
        help="refuse to remove more than this fraction of the zone's records in one run, "
        "with at least 10 records, as octoDNS does (env DELETE_PCENT_THRESHOLD; default "
        f"{DEFAULT_DELETE_PCENT_THRESHOLD})",
    )
    g.add_argument(
        "--max-deletes",
        type=int,
        default=None,
        help="refuse to remove more than this many records in one run, 0 for no limit "
        f"(env MAX_DELETES; default {DEFAULT_MAX_DELETES})",
    )
    g.add_argument(
        "--lock-wait",
        type=float,
        default=None,
        help="seconds to wait for another run's lock on the zones directory before giving up "
        "(env LOCK_WAIT; default 0: fail at once)",
    )


def options_from(args: argparse.Namespace) -> Any:
    """The pipeline's Options from flags, environment and config file (generate and watch)."""
    from ..guards import Thresholds
    from ..pipeline import Options, formats

    values = resolve(args, url_beats_config_file(args, load_config(args.config)))
    if not values["zone"]:
        raise ConfigError("no zone given: pass --zone or set ROOT_DOMAIN")
    return Options(
        zone=values["zone"],
        environment=values["environment"] or None,
        ttl=values["ttl"],
        name_template=values["name_template"],
        zones_dir=Path(values["zones_dir"]),
        formats=formats(values["format"]),
        metadata_url=values["metadata_url"],
        metadata_file=Path(values["metadata_file"]) if values["metadata_file"] else None,
        api_version=values["api_version"],
        timeout=values["timeout"],
        deadline=values["deadline"],
        max_bytes=values["max_answer_size"],
        allow_empty=args.allow_empty,
        force=force_requested(args),
        thresholds=Thresholds(
            delete_pcent_threshold=values["delete_pcent_threshold"],
            max_deletes=values["max_deletes"],
        ),
        lock_wait=values["lock_wait"],
        source=values["source"],
        kubernetes=kubernetes_options(values) if values["source"] == "kubernetes" else None,
    )


def kubernetes_options(values: dict[str, Any]) -> Any:
    """The Kubernetes source's options from the resolved settings."""
    from ..kubernetes.rules import DEFAULT_SERVICE_TEMPLATE
    from ..kubernetes.stage import KubeOptions

    if not values["cluster"]:
        raise ConfigError("no cluster name given: pass --cluster or set KUBERNETES_CLUSTER")
    return KubeOptions(
        cluster=str(values["cluster"]),
        kubeconfig=values["kubeconfig"] or None,
        context=values["context"] or None,
        snapshot_file=Path(values["kubernetes_file"]) if values["kubernetes_file"] else None,
        subtrees=listed(values["subtrees"]),
        namespaces=listed(values["namespaces"]),
        label_selector=str(values["label_selector"] or ""),
        annotation_filter=str(values["annotation_filter"] or ""),
        ingress_classes=listed(values["ingress_class"]),
        unannotated_services=bool(values["unannotated_services"]),
        service_template=str(values["service_template"] or DEFAULT_SERVICE_TEMPLATE),
    )


def listed(value: Any) -> tuple[str, ...]:
    """A comma-separated string (flag, environment) or a list (config file) as a tuple."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    return tuple(str(v).strip() for v in items if str(v).strip())


def force_requested(args: argparse.Namespace) -> bool:
    if args.force:
        return True
    raw = os.environ.get(FORCE_ENV, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ConfigError(f"invalid {FORCE_ENV} {raw!r}: expected 1/true/yes or 0/false/no")


def watch_number(args: argparse.Namespace, flag: str, var: str, default: float, kind: type) -> Any:
    """A watch timing: the flag, else its environment variable, else the default."""
    value = getattr(args, flag[2:].replace("-", "_"))
    if value is not None:
        return value
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"invalid {var} {raw!r}: expected a number of seconds") from None


def url_beats_config_file(args: argparse.Namespace, config: dict[str, Any]) -> dict[str, Any]:
    """A metadata URL from a flag or the environment overrides the config file's snapshot file."""
    url = getattr(args, "metadata_url", None) or env_value("metadata_url")
    file = getattr(args, "metadata_file", None) or env_value("metadata_file")
    if url and not file and config.get("metadata_file"):
        return {k: v for k, v in config.items() if k != "metadata_file"}
    return config


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def env_value(key: str) -> Any:
    raw = os.environ.get(ENV[key], "")
    return raw if raw != "" else None


def load_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror or e}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"config {path} is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a mapping of option: value")
    unknown = sorted(set(data) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"config {path}: unknown option(s) {', '.join(unknown)}")
    for key in ("metadata_file", "kubernetes_file"):
        if data.get(key):
            # Relative paths in a config file are relative to the file, not the working directory.
            data[key] = str((path.parent / str(data[key])).resolve())
    return data


def resolve(args: argparse.Namespace, config: dict[str, Any]) -> dict[str, Any]:
    """Flag, else environment variable, else the config file, else the default."""
    out = {}
    for key, default in DEFAULTS.items():
        value = getattr(args, key, None)
        if value is None:
            value = env_value(key)
        if value is None:
            value = config.get(key, default)
        out[key] = value
    try:
        out["ttl"] = int(out["ttl"])
    except (TypeError, ValueError) as e:
        raise ConfigError(f"invalid TTL {out['ttl']!r}: expected a whole number of seconds") from e
    if out["source"] not in ("rancher", "kubernetes"):
        raise ConfigError(f"invalid source {out['source']!r}: expected rancher or kubernetes")
    if isinstance(out["unannotated_services"], str):
        out["unannotated_services"] = truthy(out["unannotated_services"])
    for key, kind, what in (
        ("delete_pcent_threshold", float, "a fraction such as 0.3"),
        ("max_deletes", int, "a whole number of records"),
        ("lock_wait", float, "a number of seconds"),
    ):
        try:
            out[key] = kind(out[key])
        except (TypeError, ValueError) as e:
            raise ConfigError(f"invalid {key} {out[key]!r}: expected {what}") from e
    for key in ("timeout", "deadline"):
        out[key] = seconds(out[key], f"--{key} ({ENV[key]})")
    out["max_answer_size"] = size(out["max_answer_size"], "--max-answer-size (METADATA_MAX_SIZE)")
    for key in ("zone", "environment", "name_template", "metadata_url", "api_version", "format"):
        if out[key] is not None and not isinstance(out[key], str):
            raise ConfigError(f"invalid {key} {out[key]!r}: expected text")
    for key in ("zones_dir", "metadata_file"):
        if out[key] is not None and not isinstance(out[key], str | Path):
            raise ConfigError(f"invalid {key} {out[key]!r}: expected a path")
    return out


def seconds(value: Any, what: str) -> float:
    """A positive, finite number of seconds, or a ConfigError naming the setting."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not 0 < number < float("inf"):
        raise ConfigError(f"invalid {what} {value!r}: expected a number of seconds above 0")
    return number


_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2}
_UNITS.update({"mib": 1024**2, "g": 1024**3, "gb": 1024**3, "gib": 1024**3})


def size(value: Any, what: str) -> int:
    """Bytes from ``123``, ``64KiB``, ``512MiB`` or ``1G`` (binary units), or a ConfigError."""
    text = str(value).strip().lower()
    digits = len(text) - len(text.lstrip("0123456789"))
    unit = text[digits:].strip()
    if isinstance(value, bool) or not digits or unit not in _UNITS or int(text[:digits]) <= 0:
        raise ConfigError(f"invalid {what} {value!r}: expected a size such as 512MiB")
    return int(text[:digits]) * _UNITS[unit]
