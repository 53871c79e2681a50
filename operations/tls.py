"""The dashboard's TLS certificate (the operator's, or a self-signed one made once on the host),
and the CAs its clients' certificates must come from when they need one."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import File
from pyinfra.operations import server

from . import optional_file, public_file
from .layout import TLS_CERTIFICATE, TLS_CLIENT_CA, TLS_KEY
from .secret import secret_file
from .service import Changes
from .settings import HorizonConfig


def _subject_alt_name(name: str) -> str:
    try:
        ipaddress.ip_address(name)
        return f"IP:{name}"
    except ValueError:
        return f"DNS:{name}"


@deploy("TLS certificates")
def install_certificates(config: HorizonConfig) -> Changes:
    """
    The dashboard's certificate and key (see ``server_certificate``) and the CAs of its clients'
    certificates (0644; removed when ``horizon_tls_client_ca`` is unset). NGINX reloads for them.
    """
    client_ca = optional_file("CA certificates of the dashboard's clients", config.tls_client_ca, TLS_CLIENT_CA)
    return Changes.of("nginx", reload=[*client_ca, *server_certificate(config)], files=(TLS_CERTIFICATE, TLS_KEY, TLS_CLIENT_CA))


def server_certificate(config: HorizonConfig) -> list:
    """
    The given certificate (0644) and key (0600, never shown); without them a self-signed
    certificate for the server name, generated on the host once and never regenerated.
    """
    if not config.tls:
        host.noop("horizon_tls is false: TLS ends at the proxy in front")
        return []
    if config.tls_certificate:
        return [
            public_file("TLS certificate", config.tls_certificate, TLS_CERTIFICATE),
            secret_file(name="TLS private key", path=TLS_KEY, user="root", group="root", value=Path(config.tls_key).read_text()),
        ]
    if host.get_fact(File, path=TLS_KEY):
        host.noop(f"{TLS_KEY} exists: its certificate is kept, never regenerated")
        return []
    name = f"{config.server_name} (no horizon_tls_certificate given)"
    return [self_signed_certificate(name, config.server_name, TLS_CERTIFICATE, TLS_KEY)]


def self_signed_certificate(name: str, server_name: str, certificate: str, key: str, **arguments):
    """A self-signed certificate for ``server_name`` (0644) and its key (0600, made so)."""
    return server.shell(
        name=f"Self-signed certificate for {name}",
        commands=[
            # umask first: the key is never readable by others, not even for a moment.
            "umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -sha256 "
            f"-days 3650 -nodes -subj '/CN={server_name}' "
            f"-addext 'subjectAltName={_subject_alt_name(server_name)}' "
            f"-keyout {key} -out {certificate} 2>/dev/null",
            f"chmod 0644 {certificate}",
        ],
        **arguments,
    )
