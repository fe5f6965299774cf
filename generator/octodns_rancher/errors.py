"""Errors that end a run: each carries a one-line message naming the object at fault."""


class RancherDnsError(Exception):
    """Base class: a run that raises this cannot be trusted and must not write anything."""


class MetadataError(RancherDnsError):
    """rancher-metadata was unreachable, answered an error, or sent data we cannot read."""


class ConfigError(RancherDnsError):
    """A setting (flag, environment variable or config file) is missing or invalid."""


class PublishError(RancherDnsError):
    """Writing, committing or pushing the generated files failed."""
