"""The rule catalogue: one module per family, assembled by `registry.py`.

Each family module defines its rules with `@rule` (see definition.py) and lists
them in `RULES`; `kaudit.rules.registry` builds the one immutable catalogue from
those lists. IDs are stable and never reused.
"""
