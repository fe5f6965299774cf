"""``watch``: the long-running loop, with its timing flags."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .options import (
    WATCH_NUMBERS,
    git_flags,
    kubernetes_flags,
    log_flags,
    metadata_flags,
    options_from,
    output_flags,
    records_flags,
    safety_flags,
    source_flag,
    watch_number,
)


def add_watch(sub: Any) -> None:
    from ..metrics import DEFAULT_LISTEN

    env = os.environ.get
    p = sub.add_parser(
        "watch",
        help="keep the zone file in step with rancher-metadata (long-poll), commit or apply",
        description="Long-poll rancher-metadata's /version; after a quiet period regenerate the "
        "zone file, and when it changed commit it (and push it with --push) for review, or with "
        "--apply run octoDNS's sync itself. A full resync runs every --resync-interval even "
        "without events. Serves /healthz and /metrics. SIGTERM/SIGINT stop it between steps. "
        "With --source kubernetes, follows the cluster's Services and Ingresses with the watch "
        "API instead. See docs/deploy.md and docs/kubernetes.md.",
    )
    log_flags(p)
    p.add_argument(
        "--config",
        type=Path,
        help="YAML file with any of the generate options "
        "(keys as the long flags, with _); flags and environment win over it",
    )
    metadata_flags(p)
    records_flags(p)
    source_flag(p)
    kubernetes_flags(p)
    output_flags(p, check=False)
    safety_flags(p)
    git_flags(p)
    g = p.add_argument_group("watch")
    g.add_argument(
        "--mode",
        choices=("gitops", "apply"),
        default=env("WATCH_MODE") or "gitops",
        help="gitops: commit the zone file (and push with --push) for review; apply: run "
        "octoDNS's sync in-process, no review (env WATCH_MODE; default gitops)",
    )
    g.add_argument(
        "--apply",
        dest="mode",
        action="store_const",
        const="apply",
        help="the same as --mode apply",
    )
    g.add_argument(
        "--octodns-config",
        type=Path,
        default=Path(env("OCTODNS_CONFIG") or "config/octodns.yaml"),
        help="octoDNS config for --apply (env OCTODNS_CONFIG; default config/octodns.yaml)",
    )
    g.add_argument(
        "--repository",
        default=env("GIT_REPOSITORY") or None,
        help="git URL to clone into the current directory when it is not a checkout yet "
        "(env GIT_REPOSITORY)",
    )
    for flag, var, default, kind, what in WATCH_NUMBERS:
        g.add_argument(
            flag,
            type=kind,
            default=None,
            help=f"{what} (env {var}; default {default:g})",
        )
    g.add_argument(
        "--listen",
        default=env("LISTEN_ADDRESS") or DEFAULT_LISTEN,
        help="address of /healthz and /metrics, HOST:PORT, or off "
        f"(env LISTEN_ADDRESS; default {DEFAULT_LISTEN})",
    )
    p.set_defaults(func=cmd_watch)


def cmd_watch(args: argparse.Namespace) -> int:
    from ..metrics import Metrics, MetricsServer
    from ..pipeline import server_of
    from ..watch import ApplyPublisher, GitPublisher, Watcher, WatchSettings, ensure_checkout

    if args.mode not in ("gitops", "apply"):
        raise ConfigError(f"invalid WATCH_MODE {args.mode!r}: expected gitops or apply")
    if args.repository:
        ensure_checkout(args.repository, Path.cwd(), args.branch)
    opts = options_from(args)
    if opts.metadata_file is not None:
        raise ConfigError("watch reads rancher-metadata; --metadata-file cannot be watched")
    timing = {
        flag[2:].replace("-", "_"): watch_number(args, flag, var, default, kind)
        for flag, var, default, kind, _ in WATCH_NUMBERS
    }
    settings = WatchSettings(**timing, backoff_min=min(1.0, timing["backoff_max"]))
    if args.mode == "apply":
        publisher: Any = ApplyPublisher(args.octodns_config, opts.zone, opts.zones_dir)
    else:
        publisher = GitPublisher(
            opts.zones_dir, push=args.push, remote=args.remote, branch=args.branch
        )
    metrics = Metrics(server=server_of(opts.source))
    server = None
    if args.listen.strip().lower() not in ("off", "none", ""):
        server = MetricsServer(metrics, args.listen).start()
    try:
        client = None
        if opts.source == "kubernetes":
            from ..kubernetes.watch import watcher_client

            client = watcher_client(opts)
        return Watcher(opts, settings, publisher, metrics, client=client, freeze_heap=True).run()
    finally:
        if server is not None:
            server.stop()
