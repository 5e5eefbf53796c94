"""Deployment checks (`manage.py check --deploy`): signing needs a trust store."""

from django.core.checks import Error, register

from signatures.trust import TrustStoreMissing, trust_store


@register(deploy=True)
def trust_store_present(app_configs, **kwargs) -> list[Error]:
    try:
        trust_store()
    except (TrustStoreMissing, OSError) as error:
        return [
            Error(
                f"Sin almacén de confianza para las firmas: {error}",
                hint=(
                    "Apunte SIGNATURES_TRUST_DIR a la carpeta con los certificados raíz e "
                    "intermedios aceptados (en demostración: manage.py demo_pki setup)."
                ),
                id="signatures.E001",
            )
        ]
    return []
