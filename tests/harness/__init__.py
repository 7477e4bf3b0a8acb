"""Unit tests of the control-plane harness (hack.controlplane) that need no cluster."""
