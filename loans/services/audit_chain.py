"""Verifying the whole audit chain and keeping the result, for the pages that show its state."""

from django.utils import timezone

from loans.models import AuditChainCheck
from loans.selectors import audit_chain_report


def audit_chain_verify() -> AuditChainCheck:
    """Check every event against its hash, its predecessor and the chain's head (linear in the
    number of events: run on a schedule, never on a page view), and record the outcome."""
    report = audit_chain_report()
    problem = report.problem
    return AuditChainCheck.objects.create(
        checked_at=timezone.now(),
        events_checked=report.events_checked,
        intact=problem is None,
        problem_sequence=problem.sequence if problem else None,
        problem=problem.reason if problem else "",
    )
