from signatures.checks_system import trust_store_present


def test_deploy_check_passes_with_a_trust_store(demo_pki):
    assert trust_store_present(None) == []


def test_deploy_check_names_a_missing_trust_store(settings, tmp_path):
    settings.SIGNATURES_TRUST_DIR = tmp_path / "nowhere"
    [error] = trust_store_present(None)
    assert error.id == "signatures.E001"
    assert "SIGNATURES_TRUST_DIR" in error.hint
