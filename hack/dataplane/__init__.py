"""A real NetworkPolicy dataplane for the local control plane (see docs/dataplane.md).

kube-router's network-policy controller (iptables and ipset, the one k3s embeds)
enforces the policies stored in the local API server; every pod kwok runs on the
dataplane node becomes a Linux network namespace holding the pod IP kwok assigned,
with a listener on each of its container ports. Probes are real packets between
those namespaces, over one bridge that has no uplink.

The package talks to the control plane only through a kubeconfig and the API (the
matching kubectl), so it works with any local cluster whose pods carry IPs.
"""
