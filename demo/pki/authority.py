"""The demo certification authority: its keys, its certificates and the ones it issues.

The hierarchy (root, intermediate, OCSP responder, time-stamping authority, the institute's seal)
is certomancer configuration, `certomancer.yml` beside this module; the keys are generated in
``<directory>/keys`` the first time (`DemoPKI.ensure`) and never committed nor overwritten.
Applicant certificates are issued on demand (`DemoPKI.issue`) in the SAT's style and recorded
under ``<directory>/issued`` so that the OCSP responder and the CRL of the intermediate, served
by `demo.pki.server`, answer for them.

Everything here is for demonstrations and tests: production trusts the real authorities through
SIGNATURES_TRUST_DIR and never loads this module.
"""

import datetime
import json
import os
import secrets
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from asn1crypto import algos as asn1_algos
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from certomancer.registry import CertomancerConfig, PKIArchitecture
from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONFIG_PATH = Path(__file__).with_name("certomancer.yml")
ARCHITECTURE = "isseg"
KEY_LABELS = ("root", "interm", "ocsp", "tsa", "seal")
TRUSTED_LABELS = ("root", "interm")
RSA_KEY_SIZE = 2048
# The SAT's .key: PKCS#8 encrypted with PBES2, PBKDF2 (HMAC-SHA1) and des-ede3-cbc.
PBKDF2_ITERATIONS = 2048
APPLICANT_VALIDITY = datetime.timedelta(days=4 * 365)
# The password of the demo users' and the sample keys: printed by seed_demo and the README.
DEMO_KEY_PASSWORD = "Demo-eFirma-2026"  # noqa: S105 - demo credentials, public by design
# The password of the demo seal's PKCS#12 (`export_seal`), the default of SIGNATURES_SEAL_PASSWORD.
DEMO_SEAL_PASSWORD = "Demo-Sello-ISSEG-2026"  # noqa: S105 - demo credentials, public by design
X500_UNIQUE_IDENTIFIER = x509.ObjectIdentifier("2.5.4.45")
X520_NAME = x509.ObjectIdentifier("2.5.4.41")


@dataclass(frozen=True)
class IssuedCredentials:
    certificate_path: Path
    key_path: Path
    password: str
    serial: int


@dataclass(frozen=True)
class IssuedRecord:
    """What the OCSP responder and the CRL need to know about an issued applicant certificate."""

    serial: int
    curp: str
    rfc: str
    name: str
    revoked_at: datetime.datetime | None


class DemoPKI:
    def __init__(self, directory: Path, url_prefix: str) -> None:
        self.directory = Path(directory)
        self.url_prefix = url_prefix.rstrip("/")

    @classmethod
    def from_settings(cls) -> "DemoPKI":
        from django.conf import settings

        return cls(settings.DEMO_PKI_DIR, settings.DEMO_PKI_URL)

    # -- Places -----------------------------------------------------------------------------

    @property
    def keys_dir(self) -> Path:
        return self.directory / "keys"

    @property
    def trust_dir(self) -> Path:
        """The trusted root and intermediate, as SIGNATURES_TRUST_DIR expects them."""
        return self.directory / "trust"

    @property
    def issued_dir(self) -> Path:
        return self.directory / "issued"

    @property
    def demo_users_dir(self) -> Path:
        return self.directory / "efirmas"

    @property
    def seal_path(self) -> Path:
        return self.directory / "seal.p12"

    def service_url(self, kind: str) -> str:
        """Where certomancer's configuration says each service answers."""
        paths = {
            "ocsp": "ocsp/interm",
            "crl": "crls/interm/latest.crl",
            "root_crl": "crls/root/latest.crl",
            "tsa": "tsa/tsa",
        }
        return f"{self.url_prefix}/{ARCHITECTURE}/{paths[kind]}"

    # -- Set-up -----------------------------------------------------------------------------

    def ensure(self) -> list[str]:
        """Generate the keys that are missing and export the trust store. Idempotent.

        Returns the labels of the keys generated now (none on a second run).
        """
        self.keys_dir.mkdir(parents=True, exist_ok=True)
        self.issued_dir.mkdir(parents=True, exist_ok=True)
        created = []
        for label in KEY_LABELS:
            path = self.keys_dir / f"{label}.key.pem"
            if path.exists():
                continue
            key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
            _write_private(
                path,
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            )
            created.append(label)
        self._export_trust_store()
        return created

    def _export_trust_store(self) -> None:
        self.trust_dir.mkdir(parents=True, exist_ok=True)
        for label in TRUSTED_LABELS:
            (self.trust_dir / f"{label}.cer").write_bytes(self.arch.get_cert(label).dump())

    def export_seal(self, password: str) -> Path:
        """The institute's demo seal as a PKCS#12 file, the way production configures its own."""
        key = serialization.load_pem_private_key(self._key_pem("seal"), password=None)
        bundle = pkcs12.serialize_key_and_certificates(
            name=b"sello-isseg-demo",
            key=key,
            cert=self.certificate("seal"),
            cas=[self.certificate("interm"), self.certificate("root")],
            encryption_algorithm=serialization.BestAvailableEncryption(password.encode()),
        )
        _write_private(self.seal_path, bundle)
        # Beside it, the file the settings read its password from (SIGNATURES_SEAL_PASSWORD_FILE).
        _write_private(self.seal_path.with_name("seal.password"), password.encode() + b"\n")
        return self.seal_path

    # -- The hierarchy ----------------------------------------------------------------------

    @cached_property
    def arch(self) -> PKIArchitecture:
        config = CertomancerConfig.from_file(
            str(CONFIG_PATH),
            key_search_dir=str(self.keys_dir),
            allow_external_config=False,
            external_url_prefix=self.url_prefix,
        )
        return config.get_pki_arch(ARCHITECTURE)

    def certificate(self, label: str) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.arch.get_cert(label).dump())

    def asn1_certificate(self, label: str) -> asn1_x509.Certificate:
        return self.arch.get_cert(label)

    def _key_pem(self, label: str) -> bytes:
        return (self.keys_dir / f"{label}.key.pem").read_bytes()

    # -- Applicant certificates -------------------------------------------------------------

    def issue(
        self,
        *,
        curp: str,
        rfc: str,
        name: str,
        out_dir: Path,
        password: str | None = None,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
        revoked: bool = False,
        key_usage_non_repudiation: bool = True,
    ) -> IssuedCredentials:
        """An e.firma-like certificate and encrypted key for one person, written to out_dir.

        The certificate is DER (`<curp>.cer`), the key encrypted PKCS#8 DER (`<curp>.key`),
        exactly the shapes the SAT hands out. ``revoked`` records it as revoked right away
        (for the demo's "revoked certificate"); dates can be moved for the "expired" one.
        """
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        not_before = not_before or now - datetime.timedelta(days=1)
        not_after = not_after or not_before + APPLICANT_VALIDITY
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
        issuer = self.certificate("interm")
        issuer_key = serialization.load_pem_private_key(self._key_pem("interm"), password=None)
        serial = _sat_style_serial()
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, name),
                x509.NameAttribute(X520_NAME, name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                x509.NameAttribute(NameOID.COUNTRY_NAME, "MX"),
                x509.NameAttribute(X500_UNIQUE_IDENTIFIER, rfc, _type=_ASN1Type.PrintableString),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, curp),
            ]
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=key_usage_non_repudiation,
                    key_encipherment=False,
                    data_encipherment=True,
                    key_agreement=True,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()),
                critical=False,
            )
            .add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            full_name=[x509.UniformResourceIdentifier(self.service_url("crl"))],
                            relative_name=None,
                            reasons=None,
                            crl_issuer=None,
                        )
                    ]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            x509.AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier(self.service_url("ocsp")),
                        )
                    ]
                ),
                critical=False,
            )
        )
        certificate = builder.sign(issuer_key, hashes.SHA256())
        password = password or _new_password()

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        certificate_path = out_dir / f"{curp}.cer"
        key_path = out_dir / f"{curp}.key"
        certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.DER))
        _write_private(key_path, sat_encrypted_key(key, password))
        self._record(
            IssuedRecord(
                serial=serial,
                curp=curp,
                rfc=rfc,
                name=name,
                revoked_at=now if revoked else None,
            )
        )
        return IssuedCredentials(certificate_path, key_path, password, serial)

    def _record(self, record: IssuedRecord) -> None:
        self.issued_dir.mkdir(parents=True, exist_ok=True)
        data = {
            "serial": str(record.serial),
            "curp": record.curp,
            "rfc": record.rfc,
            "name": record.name,
            "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
        }
        path = self.issued_dir / f"{record.serial:x}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        temporary.replace(path)

    def issued_record(self, serial: int) -> IssuedRecord | None:
        path = self.issued_dir / f"{serial:x}.json"
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        revoked_at = data["revoked_at"]
        return IssuedRecord(
            serial=int(data["serial"]),
            curp=data["curp"],
            rfc=data["rfc"],
            name=data["name"],
            revoked_at=datetime.datetime.fromisoformat(revoked_at) if revoked_at else None,
        )

    def revoked_records(self) -> list[IssuedRecord]:
        records = (
            self.issued_record(int(path.stem, 16)) for path in self.issued_dir.glob("*.json")
        )
        return [record for record in records if record and record.revoked_at]


def sat_encrypted_key(key: rsa.RSAPrivateKey, password: str) -> bytes:
    """PKCS#8 DER encrypted as the SAT does: PBES2, PBKDF2 with HMAC-SHA1, des-ede3-cbc.

    `cryptography` only writes PBES2 with AES, so the structure is built with asn1crypto from
    the same primitives; `cryptography` reads it back (tests check it does).
    """
    plain = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt = secrets.token_bytes(8)
    iv = secrets.token_bytes(8)
    derived = PBKDF2HMAC(
        algorithm=hashes.SHA1(),  # noqa: S303 - the SAT's format, which browsers' key readers expect
        length=24,
        salt=salt,
        iterations=PBKDF2_ITERATIONS,
    ).derive(password.encode("utf-8"))
    padder = padding.PKCS7(64).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(TripleDES(derived), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padded) + encryptor.finalize()
    return asn1_keys.EncryptedPrivateKeyInfo(
        {
            "encryption_algorithm": {
                "algorithm": "pbes2",
                "parameters": {
                    "key_derivation_func": {
                        "algorithm": "pbkdf2",
                        "parameters": {
                            "salt": asn1_algos.Pbkdf2Salt(name="specified", value=salt),
                            "iteration_count": PBKDF2_ITERATIONS,
                            "prf": {"algorithm": "sha1", "parameters": None},
                        },
                    },
                    "encryption_scheme": {"algorithm": "tripledes_3key", "parameters": iv},
                },
            },
            "encrypted_data": encrypted,
        }
    ).dump()


def _sat_style_serial() -> int:
    # The SAT's serial numbers are 20 ASCII digits read as one big integer
    # ("00001000000504465028" → 0x3030303031...); ours look the same.
    digits = "00001" + "".join(secrets.choice("0123456789") for _ in range(15))
    return int.from_bytes(digits.encode("ascii"), "big")


def _new_password() -> str:
    return secrets.token_urlsafe(9)


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret readable only by its owner, atomically."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    temporary.replace(path)
