"""Operations' background work: the hourly verification of the audit chain."""

import logging

from isseg_portal.background import Every
from loans.services.audit_chain import audit_chain_verify

logger = logging.getLogger(__name__)


def audit_chain_check() -> bool:
    """Verify the audit chain and keep the result (the admin shows the last one, with its
    time); an altered chain is logged as an error for whoever watches the logs."""
    check = audit_chain_verify()
    if not check.intact:
        logger.error(
            "Cadena de auditoría ALTERADA en el evento %s: %s",
            check.problem_sequence,
            check.problem,
        )
    return check.intact


SCHEDULES = {audit_chain_check: Every(minutes=60)}
