"""Kubernetes as a source: Services and Ingresses to the shared record type.

``client`` reads the cluster (the official client's kubeconfig handling, lists and watches),
``snapshot`` saves and loads what it read, ``model`` turns the API's objects into typed data,
``rules`` applies external-dns's conventions inside the cluster's subtree, ``stage`` puts them
together for the pipeline, and ``watch`` follows the cluster's watch streams.
"""
