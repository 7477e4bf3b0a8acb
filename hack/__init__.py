"""Development tooling: the local control plane for the live tests (hack.controlplane)."""
