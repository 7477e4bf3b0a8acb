"""The rule catalogue. Importing this package registers every rule.

One module per family; each rule is a `check(ctx)` function registered with
`@rule` (see registry.py). IDs are stable and never reused.
"""

from kaudit.rules import ingress, lateral, pods, policy, services

__all__ = ["ingress", "lateral", "pods", "policy", "services"]
