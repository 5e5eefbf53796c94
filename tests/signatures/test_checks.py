"""The certificate check against the demo PKI served over HTTP: every reason code."""

import datetime
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from demo.pki.authority import DemoPKI
from demo.pki.server import free_port
from signatures.checks import Reason, check_certificate

SAT_FIEL = Path(__file__).parents[1] / "fixtures" / "sat" / "FIEL_AAA010101AAA" / "certificate.cer"
CURP = "PEGJ800101HGTRRN05"
RFC = "PEGJ800101AB1"


def issue(pki: DemoPKI, tmp_path, **options) -> bytes:
    identity = {"curp": CURP, "rfc": RFC, "name": "JUAN PEREZ GARCIA"}
    identity.update({k: options.pop(k) for k in ("curp", "rfc", "name") if k in options})
    issued = pki.issue(**identity, out_dir=tmp_path / "out", **options)
    return issued.certificate_path.read_bytes()


def test_a_good_certificate_of_the_affiliate_is_accepted(demo_pki, tmp_path):
    check = check_certificate(issue(demo_pki, tmp_path), curp=CURP, rfc=RFC)
    assert check.reasons == []
    assert check.accepted
    assert (check.identity.curp, check.identity.rfc) == (CURP, RFC)
    assert check.identity.name == "JUAN PEREZ GARCIA"


def test_pem_is_read_as_well_as_der(demo_pki, tmp_path):
    import base64

    der = issue(demo_pki, tmp_path)
    body = base64.encodebytes(der).decode()
    pem = f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n".encode()
    assert check_certificate(pem, curp=CURP, rfc=RFC).accepted


def test_expired(demo_pki, tmp_path):
    now = datetime.datetime.now(datetime.UTC)
    data = issue(
        demo_pki,
        tmp_path,
        not_before=now - datetime.timedelta(days=400),
        not_after=now - datetime.timedelta(days=1),
    )
    assert check_certificate(data).reasons == [Reason.EXPIRED]


def test_not_yet_valid(demo_pki, tmp_path):
    now = datetime.datetime.now(datetime.UTC)
    data = issue(demo_pki, tmp_path, not_before=now + datetime.timedelta(days=2))
    assert check_certificate(data).reasons == [Reason.NOT_YET_VALID]


def test_revoked_by_the_authority(demo_pki, tmp_path):
    data = issue(demo_pki, tmp_path, revoked=True)
    assert check_certificate(data).reasons == [Reason.REVOKED]


def test_no_revocation_answer_means_not_accepted(demo_pki, tmp_path):
    # Same authority, but its certificate sends OCSP and CRL questions to a port nobody serves.
    unreachable = DemoPKI(demo_pki.directory, f"http://127.0.0.1:{free_port()}")
    data = issue(unreachable, tmp_path)
    check = check_certificate(data)
    assert check.reasons == [Reason.REVOCATION_UNAVAILABLE]
    assert check.only_transient
    assert "Intenta más tarde" in check.messages[0]


def test_a_certificate_that_cannot_sign_documents(demo_pki, tmp_path):
    data = issue(demo_pki, tmp_path, key_usage_non_repudiation=False)
    assert check_certificate(data).reasons == [Reason.WRONG_KEY_USAGE]


def test_an_authority_certificate_is_not_a_person(demo_pki):
    data = (demo_pki.trust_dir / "interm.cer").read_bytes()
    reasons = check_certificate(data).reasons
    assert Reason.CA_CERTIFICATE in reasons
    assert Reason.WRONG_KEY_USAGE in reasons


def test_somebody_elses_curp_and_rfc(demo_pki, tmp_path):
    data = issue(demo_pki, tmp_path)
    check = check_certificate(data, curp="MACG800101MGTRMD21", rfc="MACG8001016M5")
    assert check.reasons == [Reason.CURP_MISMATCH, Reason.RFC_MISMATCH]


def test_an_authority_outside_the_trust_store(demo_pki, tmp_path):
    stranger = DemoPKI(tmp_path / "other_pki", demo_pki.url_prefix)
    stranger.ensure()
    data = issue(stranger, tmp_path)
    assert check_certificate(data).reasons == [Reason.UNTRUSTED_CHAIN]


def test_unreadable_bytes(demo_pki):
    assert check_certificate(b"not a certificate").reasons == [Reason.UNREADABLE]
    assert check_certificate(b"").reasons == [Reason.UNREADABLE]


def test_the_sat_test_certificate_is_read_and_refused_as_expired_and_untrusted(demo_pki):
    check = check_certificate(SAT_FIEL.read_bytes())
    assert check.identity.rfc == "AAA010101AAA"
    assert check.identity.curp == "HEGT761003MDFRNN09"
    assert check.reasons == [Reason.EXPIRED, Reason.UNTRUSTED_CHAIN]


def run_check(capsys, *arguments) -> tuple[int, dict]:
    with pytest.raises(SystemExit) as exit_info:
        call_command("check_certificate", *arguments, "--json")
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_check_certificate_command_accepts_with_exit_0(demo_pki, tmp_path, capsys):
    path = tmp_path / "good.cer"
    path.write_bytes(issue(demo_pki, tmp_path))
    code, report = run_check(capsys, str(path), "--curp", CURP, "--rfc", RFC)
    assert code == 0
    assert report["accepted"] is True
    assert report["reasons"] == []
    assert set(report["subject"]) == {
        "name",
        "curp",
        "rfc",
        "serial",
        "issuer",
        "not_before",
        "not_after",
    }
    assert report["subject"]["issuer"] == "AC Intermedia de Firma Electrónica (DEMO)"


def test_check_certificate_command_refuses_with_exit_1(demo_pki, capsys):
    code, report = run_check(capsys, str(SAT_FIEL), "--curp", CURP)
    assert code == 1
    assert report["accepted"] is False
    assert report["reasons"] == ["expired", "curp_mismatch", "untrusted_chain"]


def test_check_certificate_command_exits_2_on_a_file_that_is_no_certificate(
    demo_pki, tmp_path, capsys
):
    path = tmp_path / "x.cer"
    path.write_bytes(b"%PDF-1.7 not a certificate")
    code, report = run_check(capsys, str(path))
    assert code == 2
    assert report == {"accepted": False, "reasons": ["unreadable"], "subject": None}
