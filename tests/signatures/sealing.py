"""The institute's seal put on a signed document by `signatures.seal` alone, under a kind and a
field of the tests' own (loans' seal of a contract is `loans.signing.application_seal_contract`,
tests/builders.py `seal`)."""

from signatures.models import SignedDocument
from signatures.seal import document_seal

SEAL_FIELD = "SelloISSEG"
SEAL_KIND = "contrato-sellado"


def seal_document(document: SignedDocument) -> SignedDocument:
    return document_seal(
        document=document,
        kind=SEAL_KIND,
        field_name=SEAL_FIELD,
        reason="Contrato autorizado",
        location="Guanajuato, Gto.",
    )
