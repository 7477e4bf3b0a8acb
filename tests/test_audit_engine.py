"""`audit(engine=...)`: a caller that asks the engine more questions (kaudit diff) builds
it once and the audit answers from that engine."""

from __future__ import annotations

from pathlib import Path

from kaudit.audit import audit
from kaudit.collect.manifests import load_manifests
from kaudit.netpol import PolicyEngine

DEMO = Path(__file__).resolve().parents[1] / "kaudit" / "demo" / "insecure"


def test_the_audit_answers_from_the_engine_it_is_given() -> None:
    snapshot = load_manifests([str(DEMO)])
    engine = PolicyEngine(snapshot)
    given = audit(snapshot, engine=engine)
    # The engine keeps its summary once built: the report holds that very object.
    assert given.reachability is engine.summary()
    own = audit(snapshot)
    assert own.reachability is not engine.summary()
    assert own.reachability == given.reachability
    assert own.findings == given.findings
