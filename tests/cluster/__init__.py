"""Tests against the real local control plane (fixtures: tests/plugins/cluster.py)."""
