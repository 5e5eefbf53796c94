"""Benchmark of signing a contract (PAdES B-LT) and sealing it (B-LTA), against plain pyHanko.

    DJANGO_DEBUG=1 .venv/bin/python bench/signing.py [--runs 15] [--quincenas 48] [--json F]

Builds on bench/contract_render.py (same throw-away SQLite database and applications). A demo
PKI with fresh keys is served over HTTP on a free localhost port, as in the tests, behind a WSGI
middleware that counts the requests it answers (TSA, OCSP, CRL). Each run is one applicant
signing their own contract through `loans.signing`, the applicant's side done with
`cryptography` as the browser does with node-forge (not timed):

- prepare: check the certificate (chain, OCSP and CRL over HTTP), render the final contract,
  add the signature placeholder and compute the signed attributes;
- finish: verify the signature value, get the RFC 3161 time-stamp, embed the CMS, fetch and
  embed the revocation data (B-LT), store the PDF and move the application to `signed`;
- seal: `loans.signing.application_seal_contract`, the institute's seal at B-LTA on the signed
  contract, stored as a new document.

Against each, in the same run and alternating with it (ABAB...), plain pyHanko does the same
signature on the same PDF with the same PKI: `PdfSigner` with a `SimpleSigner` (the applicant's
key and certificate, or the seal's PKCS#12, loaded once), `HTTPTimeStamper` on the same TSA, a
`ValidationContext` on the same trust roots with fetching allowed and hard-fail revocation,
`embed_validation_info=True` (B-LT), and for the seal a document time-stamp (B-LTA). The
contract's rendering, which the portal does inside prepare, is timed apart and left out of the
signing ratio (the baseline signs a PDF it is given); a second ratio includes it on both sides.
Targets: each ratio of medians at most 1.3.
"""

import argparse
import asyncio
import base64
import json
import logging
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
import contract_render as base
from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_der_private_key
from django.test import override_settings
from django.utils import timezone
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.registry import SimpleCertificateStore

import loans.signing as portal_signing
from demo.pki.authority import DEMO_SEAL_PASSWORD, DemoPKI
from demo.pki.server import DemoPKIServer, free_port
from loans.models import LoanApplication
from loans.signing import (
    APPLICANT_FIELD,
    SEAL_FIELD,
    application_seal_contract,
    application_sign_finish,
    application_sign_prepare,
)
from signatures.certificates import load_certificate
from signatures.trust import trust_store

TARGET = 1.3
SERVICES = ("tsa", "ocsp", "crl", "other")


class RequestCounter:
    """WSGI middleware counting the demo PKI's requests by service."""

    def __init__(self, app) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if "/tsa/" in path:
            service = "tsa"
        elif "/ocsp/" in path:
            service = "ocsp"
        elif "/crls/" in path or path.endswith(".crl"):
            service = "crl"
        else:
            service = "other"
        with self.lock:
            self.counts[service] += 1
        return self.app(environ, start_response)

    def snapshot(self) -> Counter[str]:
        with self.lock:
            return Counter(self.counts)


class Measured:
    """Wall-clock samples and PKI requests of one kind of operation."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.requests: list[Counter[str]] = []

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def requests_per_call(self) -> dict[str, float]:
        return {
            service: statistics.median(counts[service] for counts in self.requests)
            for service in SERVICES
        }


def plain_validation_context(session: aiohttp.ClientSession) -> ValidationContext:
    store = trust_store()
    return ValidationContext(
        trust_roots=list(store.roots),
        other_certs=list(store.intermediates),
        allow_fetching=True,
        revocation_mode="hard-fail",
        # pyHanko's default fetchers (aiohttp), on a session closed after each signature.
        fetcher_backend=AIOHttpFetcherBackend(session=session),
    )


def plain_sign(
    pdf: bytes, signer: signers.Signer, tsa_url: str, *, field_name: str, lta: bool
) -> bytes:
    """Plain pyHanko: B-LT (signature time-stamp, validation data in the DSS), + B-LTA."""

    async def sign() -> bytes:
        # pyHanko's HTTPTimeStamper is aiohttp's; its session is closed here, not left open.
        async with aiohttp.ClientSession() as session:
            metadata = signers.PdfSignatureMetadata(
                field_name=field_name,
                md_algorithm="sha256",
                subfilter=fields.SigSeedSubFilter.PADES,
                embed_validation_info=True,
                use_pades_lta=lta,
                timestamp_field_name=f"{field_name}SelloDeTiempo" if lta else None,
                validation_context=plain_validation_context(session),
            )
            pdf_signer = signers.PdfSigner(
                metadata,
                signer=signer,
                timestamper=HTTPTimeStamper(tsa_url, session=session),
                new_field_spec=fields.SigFieldSpec(sig_field_name=field_name, on_page=-1),
            )
            output = await pdf_signer.async_sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)))
        return output.getvalue()

    return asyncio.run(sign())


def applicant_signer(certificate_der: bytes, key) -> signers.SimpleSigner:
    store = trust_store()
    key_der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return signers.SimpleSigner(
        signing_cert=load_certificate(certificate_der),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([*store.intermediates, *store.roots]),
    )


class RenderTimer:
    """Times the contract renders `loans.signing` does inside prepare."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.original = portal_signing.contract_pdf

    def __call__(self, *args, **kwargs) -> bytes:
        started = time.perf_counter()
        try:
            return self.original(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def ratio(numerator: list[float], denominator: list[float]) -> float:
    return statistics.median(numerator) / statistics.median(denominator)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quincenas", type=int, default=48)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    options = parser.parse_args()
    # The PKI server's access log: one line per request, counted here instead.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    pki = DemoPKI(base.TEMPORARY / "demo_pki", f"http://127.0.0.1:{port}")
    pki.ensure()
    tsa_url = pki.service_url("tsa")
    settings = override_settings(
        MEDIA_ROOT=base.TEMPORARY / "media",
        SIGNATURES_TRUST_DIR=pki.trust_dir,
        SIGNATURES_TSA_URL=tsa_url,
        SIGNATURES_SEAL_PKCS12=pki.export_seal(DEMO_SEAL_PASSWORD),
        SIGNATURES_SEAL_PASSWORD=DEMO_SEAL_PASSWORD,
    )
    server = DemoPKIServer(pki, "127.0.0.1", port)
    counter = RequestCounter(server.server.app)
    server.server.app = counter
    render_timer = RenderTimer()
    portal_signing.contract_pdf = render_timer
    measured = {
        name: Measured()
        for name in (
            "prepare",
            "finish",
            "portal_sign",
            "portal_render",
            "plain_render",
            "plain_sign",
            "portal_seal",
            "plain_seal",
        )
    }
    try:
        with server, settings:
            base.call_command("migrate", verbosity=0)
            product = base.create_product()
            seal_signer = signers.SimpleSigner.load_pkcs12(
                pki.seal_path,
                other_certs=trust_store().intermediates,
                passphrase=DEMO_SEAL_PASSWORD.encode(),
            )
            for index in range(options.runs + 1):  # the first run warms up and is not counted
                run = _one_run(
                    index=index,
                    options=options,
                    product=product,
                    pki=pki,
                    counter=counter,
                    render_timer=render_timer,
                    seal_signer=seal_signer,
                    tsa_url=tsa_url,
                )
                if index:
                    for name, (seconds, requests) in run.items():
                        measured[name].seconds.append(seconds)
                        measured[name].requests.append(requests)
                print(
                    f"  run {index}/{options.runs}{' (warm-up)' if not index else ''}: "
                    + ", ".join(f"{name} {seconds:.3f} s" for name, (seconds, _r) in run.items()),
                    flush=True,
                )
    finally:
        portal_signing.contract_pdf = render_timer.original
        base.shutil.rmtree(base.TEMPORARY, ignore_errors=True)
    figures = _figures(measured, options)
    _print(figures, options)
    if options.json:
        Path(options.json).write_text(json.dumps(figures, indent=2))


def _one_run(*, index, options, product, pki, counter, render_timer, seal_signer, tsa_url):
    """One applicant: portal signature and plain signature (order alternating), then the
    portal's seal and the plain seal (order alternating). Returns {name: (seconds, requests)}."""
    application = base.create_application(quincenas=options.quincenas, product=product, index=index)
    LoanApplication.objects.filter(pk=application.pk).update(completed_at=timezone.now())
    application.refresh_from_db()
    affiliate = application.affiliate
    issued = pki.issue(
        curp=affiliate.curp,
        rfc=affiliate.rfc,
        name=affiliate.full_name.upper(),
        out_dir=base.TEMPORARY / "efirmas",
    )
    certificate_der = issued.certificate_path.read_bytes()
    key = load_der_private_key(issued.key_path.read_bytes(), issued.password.encode())
    plain_applicant = applicant_signer(certificate_der, key)
    result: dict[str, tuple[float, Counter]] = {}

    def portal() -> None:
        before = counter.snapshot()
        render_timer.seconds = 0.0
        started = time.perf_counter()
        prepared = application_sign_prepare(
            application=application, user=application.applicant, certificate_data=certificate_der
        )
        prepare_seconds = time.perf_counter() - started
        after_prepare = counter.snapshot()
        signature = key.sign(prepared.signed_attributes, padding.PKCS1v15(), hashes.SHA256())
        started = time.perf_counter()
        application_sign_finish(
            application=application,
            user=application.applicant,
            token=prepared.token,
            signature_b64=base64.b64encode(signature).decode(),
            ip_address=None,
        )
        finish_seconds = time.perf_counter() - started
        after = counter.snapshot()
        result["prepare"] = (prepare_seconds, after_prepare - before)
        result["finish"] = (finish_seconds, after - after_prepare)
        result["portal_render"] = (render_timer.seconds, Counter())
        result["portal_sign"] = (
            prepare_seconds + finish_seconds - render_timer.seconds,
            after - before,
        )

    def plain() -> None:
        started = time.perf_counter()
        pdf = base.contract_pdf(
            application,
            draft=False,
            signed_on=timezone.localdate(),
            verification_token=uuid.uuid4(),
        )
        render_seconds = time.perf_counter() - started
        before = counter.snapshot()
        started = time.perf_counter()
        plain_sign(pdf, plain_applicant, tsa_url, field_name=APPLICANT_FIELD, lta=False)
        result["plain_sign"] = (time.perf_counter() - started, counter.snapshot() - before)
        result["plain_render"] = (render_seconds, Counter())

    for step in (portal, plain) if index % 2 == 0 else (plain, portal):
        step()

    signed = portal_signing.application_signed_contract(application)
    with signed.file.open("rb") as handle:
        signed_pdf = handle.read()

    def portal_seal() -> None:
        before = counter.snapshot()
        started = time.perf_counter()
        application_seal_contract(application)
        result["portal_seal"] = (time.perf_counter() - started, counter.snapshot() - before)

    def plain_seal() -> None:
        before = counter.snapshot()
        started = time.perf_counter()
        plain_sign(signed_pdf, seal_signer, tsa_url, field_name=SEAL_FIELD, lta=True)
        result["plain_seal"] = (time.perf_counter() - started, counter.snapshot() - before)

    for step in (portal_seal, plain_seal) if index % 2 == 0 else (plain_seal, portal_seal):
        step()
    return result


def _figures(measured: dict[str, Measured], options) -> dict:
    m = measured
    portal_total = [p + f for p, f in zip(m["prepare"].seconds, m["finish"].seconds, strict=True)]
    plain_total = [
        r + s for r, s in zip(m["plain_render"].seconds, m["plain_sign"].seconds, strict=True)
    ]
    return {
        "runs": options.runs,
        "quincenas": options.quincenas,
        "target": TARGET,
        "median_s": {name: item.median for name, item in m.items()},
        "p95_s": {name: base.percentile(item.seconds, 0.95) for name, item in m.items()},
        "requests_per_call": {
            name: m[name].requests_per_call()
            for name in (
                "prepare",
                "finish",
                "portal_sign",
                "plain_sign",
                "portal_seal",
                "plain_seal",
            )
        },
        "sign_ratio": ratio(m["portal_sign"].seconds, m["plain_sign"].seconds),
        "sign_with_render_ratio": ratio(portal_total, plain_total),
        "seal_ratio": ratio(m["portal_seal"].seconds, m["plain_seal"].seconds),
        "peak_rss_mib": base.peak_mib(),
    }


def _print(figures: dict, options) -> None:
    median, p95 = figures["median_s"], figures["p95_s"]
    print(f"{options.runs} runs, {options.quincenas} quincenas, alternating with plain pyHanko:")
    for name in median:
        print(f"  {name:<14} median {median[name]:6.3f} s  p95 {p95[name]:6.3f} s")
    for name, requests in figures["requests_per_call"].items():
        print(
            f"  requests per call, {name:<12} "
            + ", ".join(f"{service.upper()} {count:g}" for service, count in requests.items())
        )
    print(
        f"Applicant signature (prepare + finish, without the render) / plain pyHanko B-LT: "
        f"{figures['sign_ratio']:.2f} (target <= {TARGET}); with the render on both sides: "
        f"{figures['sign_with_render_ratio']:.2f}"
    )
    print(
        f"Institutional seal / plain pyHanko B-LTA: {figures['seal_ratio']:.2f} "
        f"(target <= {TARGET})"
    )
    print(f"peak RSS {figures['peak_rss_mib']:4.0f} MiB")


if __name__ == "__main__":
    main()
