"""An applicant's e.firma in tests, and signing with it as the browser page does."""

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_der_private_key

from demo.pki.authority import IssuedCredentials


@dataclass(frozen=True)
class Credentials:
    cer_path: Path
    key_path: Path
    password: str

    @classmethod
    def from_issued(cls, issued: IssuedCredentials) -> "Credentials":
        return cls(issued.certificate_path, issued.key_path, issued.password)

    @property
    def certificate(self) -> bytes:
        return self.cer_path.read_bytes()

    def sign(self, signed_attributes: bytes) -> bytes:
        """Decrypt the .key with its password and sign RSASSA-PKCS1-v1_5 / SHA-256, like
        signing.js does with node-forge on the applicant's device."""
        key = load_der_private_key(self.key_path.read_bytes(), self.password.encode())
        return key.sign(signed_attributes, padding.PKCS1v15(), hashes.SHA256())
