"""/verificar/ against two hundred damaged copies of a real sealed contract: whatever the bytes,
the page answers with a result (200) or a Spanish refusal (400), never a server error.

The mutations are drawn from a fixed seed, so a failure names the mutation that caused it and
runs again the same way: byte flips, truncations, chunks deleted, duplicated or inserted at
random offsets, and edits of the PDF's own tokens (a reference, a name, a number, a keyword
replaced by another or removed).
"""

import random
import re
from collections.abc import Callable, Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from signatures.models import SignedDocument
from tests.pages import text
from tests.signatures.sealing import seal_document

SEED = 1507
MUTATIONS = 200
# Of those, the ones the QR link's page also reads as the institute's own (damaged) copy.
STORED_MUTATIONS = 24
UNREADABLE = "No se pudo leer el PDF: el archivo está dañado o incompleto."
NOT_A_PDF = "El archivo no es un PDF."
TOKENS = re.compile(
    rb"\d+ \d+ R|/[A-Za-z][A-Za-z0-9]*|-?\d+(?:\.\d+)?|<<|>>|\[|\]|"
    rb"\b(?:obj|endobj|stream|endstream|xref|trailer|startxref|null|true|false)\b"
)
REPLACEMENTS = (
    b"null",
    b"0",
    b"-1",
    b"99999999999",
    b"(x)",
    b"<>",
    b"[]",
    b"<< >>",
    b"/Foo",
    b"1 0 R",
    b"9999 0 R",
    b"<<",
    b">>",
    b"[",
    b"",
)


def _flip(content: bytes, rng: random.Random) -> bytes:
    data = bytearray(content)
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def _truncate(content: bytes, rng: random.Random) -> bytes:
    return content[: rng.randrange(8, len(content))]


def _delete_chunk(content: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(content))
    return content[:start] + content[start + rng.randint(1, 4096) :]


def _duplicate_chunk(content: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(content))
    chunk = content[start : start + rng.randint(1, 4096)]
    at = rng.randrange(len(content))
    return content[:at] + chunk + content[at:]


def _insert_garbage(content: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(content))
    return content[:at] + rng.randbytes(rng.randint(1, 256)) + content[at:]


def _edit_token(content: bytes, rng: random.Random) -> bytes:
    """One of the PDF's tokens (reference, name, number, keyword) replaced or removed."""
    tokens = list(TOKENS.finditer(content))
    for _ in range(rng.randint(1, 3)):
        token = rng.choice(tokens)
        replacement = rng.choice((*REPLACEMENTS, rng.choice(tokens).group(0)))
        content = content[: token.start()] + replacement + content[token.end() :]
        tokens = list(TOKENS.finditer(content))
    return content


MUTATORS: tuple[Callable[[bytes, random.Random], bytes], ...] = (
    _flip,
    _truncate,
    _delete_chunk,
    _duplicate_chunk,
    _insert_garbage,
    _edit_token,
    _edit_token,
)


def mutations(content: bytes, count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    rng = random.Random(seed)
    for number in range(count):
        mutator = rng.choice(MUTATORS)
        mutated = mutator(content, rng)
        if mutated == content:
            mutated = _flip(content, rng)
        yield f"{number}:{mutator.__name__}", mutated


@pytest.fixture
def sealed_contract(signed_contract, seal) -> SignedDocument:
    """The applicant's signature and the institute's seal: two revisions, a DSS, a document
    time-stamp, compressed streams: the most a real contract carries."""
    return seal_document(signed_contract)


@pytest.fixture
def visitor(db, settings) -> Client:
    settings.SIGNATURES_VERIFY_RATE = "100000/m"
    # A server error answers 500 here instead of raising in the test: all are collected.
    return Client(raise_request_exception=False)


def test_no_mutation_of_a_sealed_contract_is_a_server_error(visitor, sealed_contract):
    content = sealed_contract.file.read()
    outcomes: dict[int, int] = {}
    failures = []

    for name, mutated in mutations(content, MUTATIONS, SEED):
        response = visitor.post(
            reverse("signatures:verify"),
            {"documento": SimpleUploadedFile("contrato.pdf", mutated, "application/pdf")},
        )
        outcomes[response.status_code] = outcomes.get(response.status_code, 0) + 1
        page = text(response)
        if response.status_code == 400:
            if UNREADABLE not in page and NOT_A_PDF not in page:
                failures.append((name, 400, page[:200]))
        elif response.status_code != 200:
            failures.append((name, response.status_code, page[:200]))

    assert failures == []
    assert sum(outcomes.values()) == MUTATIONS
    # Both answers occur: the mutations reach the validation, not only the first check.
    assert outcomes.get(200, 0) > 0
    assert outcomes.get(400, 0) > 0


def test_a_damaged_copy_kept_by_the_institute_is_never_a_server_error(
    visitor, sealed_contract, media_root
):
    # Given the institute's own file damaged on disk, one mutation after another
    content = sealed_contract.file.read()
    stored = media_root / sealed_contract.file.name
    url = reverse("signatures:verify_token", args=[sealed_contract.verification_token])
    failures = []

    for name, mutated in mutations(content, STORED_MUTATIONS, SEED + 1):
        stored.write_bytes(mutated)

        response = visitor.get(url)

        # Then the page shows what the copy proves, or says it could not read it
        page = text(response)
        if response.status_code == 503:
            if "El Instituto no pudo leer su copia de este documento." not in page:
                failures.append((name, 503, page[:200]))
        elif response.status_code != 200:
            failures.append((name, response.status_code, page[:200]))

    assert failures == []
