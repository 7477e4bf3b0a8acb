"""kaudit: audit the network exposure of a Kubernetes cluster."""

__version__ = "0.1.0"
