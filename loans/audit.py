"""The audit chain of application events: canonical serialization, hashes and verification.

Every state change of an application writes one event. Events form a single chain over the
whole portal, in the order they were written: each event stores the hash of the one before it
and its own hash over a canonical serialization of its content. An edited row no longer matches
its own hash; a deleted row breaks the link of the next one; a deleted last row no longer
matches the chain head, which records the last sequence number and hash.

This module is pure (no database access): `loans.services` writes events, the `verify_audit`
command feeds the stored rows to `verify_chain`.
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# The previous hash of the first event.
GENESIS_HASH = "0" * 64

# The fields that enter the hash, in this order. Adding one changes every hash: a new field
# needs a new chain version, never an edit of this tuple.
HASHED_FIELDS = (
    "sequence",
    "application_id",
    "folio",
    "from_status",
    "to_status",
    "actor_id",
    "reason",
    "ip_address",
    "created_at",
)


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    """One byte string per event content: sorted keys, no spaces, UTC ISO times."""
    values: dict[str, Any] = {}
    for name in HASHED_FIELDS:
        value = fields[name]
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("Audit times must be timezone-aware.")
            value = value.astimezone(UTC).isoformat(timespec="microseconds")
        values[name] = value
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(*, previous_hash: str, fields: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    digest.update(previous_hash.encode())
    digest.update(b"\n")
    digest.update(canonical_bytes(fields))
    return digest.hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    sequence: int | None
    event_id: int | None
    reason: str


@dataclass(frozen=True)
class ChainReport:
    events_checked: int
    problem: ChainProblem | None

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify_chain(
    events: Iterable[dict[str, Any]],
    *,
    head_sequence: int | None,
    head_hash: str | None,
) -> ChainReport:
    """Check events given in sequence order; stop at the first problem.

    Each event is a dict with HASHED_FIELDS plus "id", "previous_hash" and "hash". The head is
    what the chain-head row says was written last (None when no event was ever written).
    """
    expected_previous = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    for event in events:
        sequence = event["sequence"]
        if sequence != expected_sequence:
            return ChainReport(
                checked,
                ChainProblem(
                    sequence,
                    event["id"],
                    f"se encontró la secuencia {sequence} donde se esperaba la {expected_sequence} "
                    f"(falta el evento {expected_sequence})",
                ),
            )
        if event["previous_hash"] != expected_previous:
            return ChainReport(
                checked,
                ChainProblem(
                    sequence,
                    event["id"],
                    "su hash anterior no coincide con el hash del evento previo",
                ),
            )
        recomputed = event_hash(previous_hash=event["previous_hash"], fields=event)
        if recomputed != event["hash"]:
            return ChainReport(
                checked,
                ChainProblem(
                    sequence, event["id"], "su contenido no coincide con su hash guardado"
                ),
            )
        expected_previous = event["hash"]
        expected_sequence += 1
        checked += 1
    last_sequence = expected_sequence - 1
    if head_sequence is None:
        if checked:
            return ChainReport(checked, ChainProblem(None, None, "falta la cabeza de la cadena"))
        return ChainReport(checked, None)
    if last_sequence != head_sequence or expected_previous != head_hash:
        return ChainReport(
            checked,
            ChainProblem(
                head_sequence,
                None,
                f"la cabeza de la cadena registra el evento {head_sequence}, pero el último "
                f"evento encontrado es el {last_sequence}",
            ),
        )
    return ChainReport(checked, None)
