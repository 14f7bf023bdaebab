"""Risk and intrusion detection: rules as data (``rules.json``) over a stream of payment and
security events, with outcomes (alert, step-up, decline, block), a block list that only an
authorised user lifts, alerts to the console and a signed webhook, and Prometheus counters."""

from zhifu.security.risk.engine import Alert, Event, RiskEngine, RiskStore, Verdict
from zhifu.security.risk.rules import Rule, load_rules

__all__ = ["Alert", "Event", "RiskEngine", "RiskStore", "Rule", "Verdict", "load_rules"]
