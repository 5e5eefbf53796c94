"""The demo PKI's services over HTTP: OCSP, CRLs and time stamps, as a WSGI application.

certomancer's Animator serves what its configuration knows (the root's CRL, the TSA, the
certificates); the intermediate's OCSP responder and CRL are answered here because they must
also know the applicant certificates `DemoPKI.issue` made after the configuration was loaded.
"""

import datetime
import socket
import threading

from asn1crypto import crl, ocsp
from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import ArchLabel, ServiceLabel
from certomancer.registry.svc_config.ocsp import OCSPInterface
from certomancer.services import CertomancerServiceError, CRLBuilder, choose_signed_digest
from werkzeug.exceptions import BadRequest
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from demo.pki.authority import ARCHITECTURE, DemoPKI

CRL_LIFETIME = datetime.timedelta(days=1)


class _IssuedAwareOCSP(OCSPInterface):
    """The intermediate's revocation status, for configured and for issued certificates."""

    def __init__(self, pki: DemoPKI, base: OCSPInterface) -> None:
        super().__init__(base.for_issuer, base.pki_arch, base.issuer_cert_label)
        self.pki = pki

    def check_revocation_status(self, cid, at_time):
        record = self.pki.issued_record(cid["serial_number"].native)
        if record is None:
            try:
                return super().check_revocation_status(cid, at_time)
            except CertomancerServiceError:
                # Not issued by us: say so, as a real responder does.
                return ocsp.CertStatus(name="unknown", value=None), []
        if record.revoked_at is not None and record.revoked_at <= at_time:
            status = ocsp.RevokedInfo(
                {"revocation_time": record.revoked_at, "revocation_reason": "key_compromise"}
            )
            return ocsp.CertStatus(name="revoked", value=status), []
        return ocsp.CertStatus(name="good", value=None), []


class DemoPKIApplication:
    def __init__(self, pki: DemoPKI) -> None:
        self.pki = pki
        self.animator = Animator(
            AnimatorArchStore({ArchLabel(ARCHITECTURE): pki.arch}),
            with_web_ui=False,
            allow_time_override=False,
        )
        self.ocsp_path = f"/{ARCHITECTURE}/ocsp/interm"
        self.crl_path = f"/{ARCHITECTURE}/crls/interm/latest.crl"

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == self.ocsp_path and request.method == "POST":
            response = self._ocsp(request)
        elif request.path == self.crl_path and request.method == "GET":
            response = self._intermediate_crl()
        elif request.path == "/":
            response = Response("PKI de demostración del ISSEG\n", mimetype="text/plain")
        else:
            return self.animator(environ, start_response)
        return response(environ, start_response)

    def _ocsp(self, request: Request) -> Response:
        try:
            ocsp_request = ocsp.OCSPRequest.load(request.get_data())
            ocsp_request.native  # noqa: B018 - parse now, so garbage is a 400 and not a 500
        except ValueError as error:
            raise BadRequest("Solicitud OCSP ilegible.") from error
        now = datetime.datetime.now(datetime.UTC)
        responder = self.pki.arch.service_registry.summon_responder(ServiceLabel("interm"), now)
        responder.revinfo_interface = _IssuedAwareOCSP(self.pki, responder.revinfo_interface)
        answer = responder.build_ocsp_response(ocsp_request)
        return Response(answer.dump(), mimetype="application/ocsp-response")

    def _intermediate_crl(self) -> Response:
        arch = self.pki.arch
        issuer = arch.get_cert("interm")
        key = arch.key_set.get_private_key("interm")
        builder = CRLBuilder(
            issuer_name=issuer.subject,
            issuer_key=key,
            signature_algo=choose_signed_digest("sha256", issuer.public_key),
            authority_key_identifier=issuer.key_identifier_value,
        )
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        revoked = [
            CRLBuilder.format_revoked_cert(
                record.serial, crl.CRLReason("key_compromise"), record.revoked_at
            )
            for record in self.pki.revoked_records()
        ]
        revoked_list = builder.build_crl(
            crl_number=int(now.timestamp()),
            this_update=now - datetime.timedelta(minutes=1),
            next_update=now + CRL_LIFETIME,
            revoked_certs=revoked,
        )
        return Response(revoked_list.dump(), mimetype="application/pkix-crl")


class DemoPKIServer:
    """`demo_pki serve` in a thread: for the tests, which need it on a port of their own."""

    def __init__(self, pki: DemoPKI, host: str, port: int) -> None:
        self.server: BaseWSGIServer = make_server(
            host, port, DemoPKIApplication(pki), threaded=True
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "DemoPKIServer":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def free_port() -> int:
    """A localhost port nobody listens on right now, for a PKI of its own (tests, benchmarks)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
