"""``generate`` (metadata to zone files, optionally committed and pushed) and ``snapshot``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..names import printable
from .options import (
    EXIT_CHANGES,
    EXIT_OK,
    git_flags,
    kubernetes_flags,
    log,
    log_flags,
    metadata_flags,
    options_from,
    output_flags,
    records_flags,
    resolve,
    safety_flags,
    source_flag,
)


def add_generate(sub: Any) -> None:
    p = sub.add_parser(
        "generate",
        help="write zones/<zone>.yaml from rancher-metadata or a snapshot",
        description="Compute the desired records of one Rancher environment and write them as "
        "an octoDNS zone file. Only names under <environment>.<zone> are ever produced.",
    )
    log_flags(p)
    p.add_argument(
        "--config",
        type=Path,
        help="YAML file with any of the options below "
        "(keys as the long flags, with _); flags and environment win over it",
    )
    metadata_flags(p)
    p.add_argument(
        "--metadata-file",
        type=Path,
        default=None,
        help="read a snapshot file instead of the server (env METADATA_FILE)",
    )
    records_flags(p)
    source_flag(p)
    kubernetes_flags(p)
    output_flags(p, check=True)
    safety_flags(p)
    git_flags(p)
    p.set_defaults(func=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    from ..pipeline import generate

    opts = options_from(args)
    repo = _git_repo(args, opts)
    result = generate(opts, write=not args.check)
    s = result.summary
    files = result.files or {result.path: result.text}
    log.info(
        "%s: %d record(s) for %s %s; %s",
        ", ".join(str(p) for p in files),
        len(result.records),
        "cluster" if opts.source == "kubernetes" else "environment",
        printable(result.environment),
        s.counts(),
    )
    for line in s.lines():
        log.info("%s", line)
    if args.check:
        stale = result.changed_files
        for path in stale:
            log.warning("%s is out of date (run without --check to update it)", path)
        if stale:
            return EXIT_CHANGES
        for path in files:
            log.info("%s is up to date", path)
        return EXIT_OK
    for path in files:
        if path in result.written_files:
            log.info("wrote %s", path)
        else:
            log.info("%s unchanged; not written", path)
    if repo is not None:
        _commit(args, opts, result, repo)
    return EXIT_OK


def _git_repo(args: argparse.Namespace, opts: Any) -> Any:
    """The repository holding the zones directory, checked before anything is written."""
    if not (args.commit or args.push):
        return None
    if args.check:
        raise ConfigError("--check writes nothing; it cannot be combined with --commit/--push")
    from ..gitrepo import GitRepo
    from ..pipeline import zone_path

    repo = GitRepo.discover(opts.zones_dir)
    repo.relative(zone_path(opts.zones_dir, opts.zone))
    return repo


def _commit(args: argparse.Namespace, opts: Any, result: Any, repo: Any) -> None:
    """Commit (and push) the generated files; a refused push regenerates on the remote tip."""
    from ..gitpush import commit_and_push
    from ..pipeline import generate, terraform_path, zone_path

    paths = list(result.files or {result.path: result.text})
    owned = [zone_path(opts.zones_dir, opts.zone), terraform_path(opts.zones_dir, opts.zone)]
    outcome = commit_and_push(
        repo,
        paths,
        zone=opts.zone,
        summary=result.summary,
        regenerate=lambda: generate(opts).summary,
        push=args.push,
        remote=args.remote,
        branch=args.branch,
        owned=owned,
    )
    if outcome.sha:
        log.info("commit %s: %s", outcome.sha[:12], outcome.message.splitlines()[0])
    else:
        log.info("zone files unchanged; no commit")
    if outcome.pushed:
        log.info("pushed to %s after %d attempt(s)", args.remote, outcome.attempts)


def add_snapshot(sub: Any) -> None:
    p = sub.add_parser(
        "snapshot",
        help="save rancher-metadata's (or a cluster's) answers to a JSON file for offline runs",
        description="Read /self/stack, /services and /hosts once and save them in one JSON "
        "file that `generate --metadata-file` reads; with --source kubernetes, the cluster's "
        "Service and Ingress lists, for `generate --kubernetes-file`.",
    )
    log_flags(p)
    metadata_flags(p)
    source_flag(p)
    kubernetes_flags(p, rules=False)
    p.add_argument("-o", "--output", type=Path, required=True, help="file to write")
    p.set_defaults(func=cmd_snapshot)


def cmd_snapshot(args: argparse.Namespace) -> int:
    from ..source import MetadataClient, save_snapshot

    values = resolve(args, {})
    if values["source"] == "kubernetes":
        return _kubernetes_snapshot(args, values)
    client = MetadataClient(
        values["metadata_url"],
        values["api_version"],
        timeout=values["timeout"],
        deadline=values["deadline"],
        max_bytes=values["max_answer_size"],
    )
    snap = client.fetch()
    save_snapshot(snap, args.output)
    log.info(
        "saved %d service(s) and %d host(s) from %s to %s in %d requests",
        len(snap.services),
        len(snap.hosts),
        client.shown,
        args.output,
        snap.requests,
    )
    return EXIT_OK


def _kubernetes_snapshot(args: argparse.Namespace, values: dict[str, Any]) -> int:
    from ..kubernetes import snapshot
    from ..kubernetes.client import KubeClient, configuration

    cfg = configuration(values["kubeconfig"], values["context"], values["timeout"])
    client = KubeClient(
        cfg, values["timeout"], deadline=values["deadline"], max_bytes=values["max_answer_size"]
    )
    try:
        snap = snapshot.fetch(client)
    finally:
        client.close()
    snapshot.save(snap, args.output)
    log.info(
        "saved %d Service(s) and %d Ingress(es) from %s to %s in %d requests",
        len(snap.services),
        len(snap.ingresses),
        client.host,
        args.output,
        snap.requests,
    )
    return EXIT_OK
