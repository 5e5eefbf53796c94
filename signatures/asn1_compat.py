"""Make asn1crypto read the names in SAT-issued certificates.

RFC 4519 defines ``x500UniqueIdentifier`` (2.5.4.45) as a BIT STRING and asn1crypto insists on
it (asn1crypto issue 228), but the SAT's certification authorities, and therefore every e.firma
and CSD, encode the holder's RFC there as a PrintableString. Without this patch merely reading
``cert.subject`` raises, so pyHanko and pyhanko-certvalidator (which compare and hash names while
building chains) cannot handle the certificates our applicants sign with.

asn1crypto picks the value type of each name attribute from ``NameTypeAndValue._oid_specs``,
keyed by attribute name; pyHanko itself extends asn1crypto through these same tables. We swap the
entry for ``unique_identifier`` for a choice that still accepts the standard BIT STRING and also
the directory string types, so the certificate bytes are kept as they are (signatures and hashes
over the DER stay intact) and only the decoding becomes tolerant.
"""

from asn1crypto import core, x509


class UniqueIdentifierValue(core.Choice):
    """x500UniqueIdentifier as found in the wild: the standard BIT STRING or a string."""

    _alternatives = [
        ("bit_string", core.OctetBitString),
        *x509.DirectoryString._alternatives,
    ]


def install() -> None:
    """Register the tolerant value type; safe to call any number of times."""
    x509.NameTypeAndValue._oid_specs["unique_identifier"] = UniqueIdentifierValue


def is_installed() -> bool:
    return x509.NameTypeAndValue._oid_specs.get("unique_identifier") is UniqueIdentifierValue
