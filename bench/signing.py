"""Benchmark of signing a contract: time to prepare and to finish a signature (PAdES B-LT).

    DJANGO_DEBUG=1 .venv/bin/python bench/signing.py [--runs 15] [--quincenas 48]

Builds on bench/contract_render.py (same throw-away SQLite database and applications). A demo
PKI with fresh keys is served over HTTP on a free localhost port, as in the tests; each run is
one applicant signing their own contract through `loans.signing`, the applicant's side
done with `cryptography` as the browser does with node-forge:

- prepare: check the certificate (chain, OCSP and CRL over HTTP), render the final contract,
  add the signature placeholder and compute the signed attributes;
- finish: verify the signature value, get the RFC 3161 time-stamp, embed the CMS, fetch and
  embed the revocation data (B-LT), store the PDF and move the application to `signed`.
"""

import argparse
import base64
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contract_render as base
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_der_private_key
from django.test import override_settings
from django.utils import timezone

from loans.models import LoanApplication
from loans.signing import application_sign_finish, application_sign_prepare
from signatures.demo_pki.authority import DemoPKI
from signatures.demo_pki.server import DemoPKIServer, free_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quincenas", type=int, default=48)
    options = parser.parse_args()
    port = free_port()
    pki = DemoPKI(base.TEMPORARY / "demo_pki", f"http://127.0.0.1:{port}")
    pki.ensure()
    settings = override_settings(
        MEDIA_ROOT=base.TEMPORARY / "media",
        SIGNATURES_TRUST_DIR=pki.trust_dir,
        SIGNATURES_TSA_URL=pki.service_url("tsa"),
    )
    try:
        with DemoPKIServer(pki, "127.0.0.1", port), settings:
            base.call_command("migrate", verbosity=0)
            product = base.create_product()
            prepare_times, finish_times = [], []
            for index in range(options.runs + 1):  # the first run warms up and is not counted
                application = base.create_application(
                    quincenas=options.quincenas, product=product, index=index
                )
                LoanApplication.objects.filter(pk=application.pk).update(
                    completed_at=timezone.now()
                )
                application.refresh_from_db()
                affiliate = application.affiliate
                issued = pki.issue(
                    curp=affiliate.curp,
                    rfc=affiliate.rfc,
                    name=affiliate.full_name.upper(),
                    out_dir=base.TEMPORARY / "efirmas",
                )
                key = load_der_private_key(issued.key_path.read_bytes(), issued.password.encode())

                started = time.perf_counter()
                prepared = application_sign_prepare(
                    application=application,
                    user=application.applicant,
                    certificate_data=issued.certificate_path.read_bytes(),
                )
                prepare_seconds = time.perf_counter() - started
                signature = key.sign(
                    prepared.signed_attributes, padding.PKCS1v15(), hashes.SHA256()
                )
                started = time.perf_counter()
                application_sign_finish(
                    application=application,
                    user=application.applicant,
                    token=prepared.token,
                    signature_b64=base64.b64encode(signature).decode(),
                    ip_address=None,
                )
                finish_seconds = time.perf_counter() - started
                if index:
                    prepare_times.append(prepare_seconds)
                    finish_times.append(finish_seconds)
            for name, samples in (("prepare", prepare_times), ("finish", finish_times)):
                print(
                    f"{name:>7} ({options.quincenas} quincenas, {options.runs} runs): "
                    f"median {statistics.median(samples):5.2f} s, "
                    f"p95 {base.percentile(samples, 0.95):5.2f} s, "
                    f"min {min(samples):5.2f} s"
                )
            print(f"peak RSS {base.peak_mib():4.0f} MiB")
    finally:
        base.shutil.rmtree(base.TEMPORARY, ignore_errors=True)


if __name__ == "__main__":
    main()
