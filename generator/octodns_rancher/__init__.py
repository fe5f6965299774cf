"""octodns-rancher: publish Rancher 1.x services in public DNS through octoDNS.

The pipeline, one module per stage: ``source`` (rancher-metadata or a snapshot) → ``model``
→ ``records`` (Rancher's external DNS rules) → ``render`` (octoDNS YAML) → ``publish``.
``RancherSource`` offers the same logic as an octoDNS source class.
"""

__version__ = "0.1.0"

__all__ = ["RancherSource", "__version__"]


def __getattr__(name: str):
    # Imported lazily so that `import octodns_rancher` stays cheap for the CLI's --help.
    if name == "RancherSource":
        from .rancher_source import RancherSource

        return RancherSource
    raise AttributeError(name)
