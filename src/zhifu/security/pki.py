"""A local PKI for one machine's run: a CA, a server certificate, client certificates, and the
TLS 1.3 contexts that use them (``zhifu pki init``; ``docs/security.md``).

The CA and the leaf keys are ECDSA P-256; certificates carry the right key usages (the CA:
``keyCertSign``; the server: ``serverAuth`` with SANs ``127.0.0.1``, ``::1`` and ``localhost``;
clients: ``clientAuth``); private keys are written with mode 0600 and never printed. The
contexts refuse anything below TLS 1.3; a server context made with ``client_auth`` asks every
client for a certificate of this CA (mutual TLS).

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> files = init_local_pki(folder, clients=["terminal"])
>>> sorted(p.name for p in folder.iterdir())
['ca.key', 'ca.pem', 'client-terminal.key', 'client-terminal.pem', 'server.key', 'server.pem']
>>> server_context(folder).minimum_version.name
'TLSv1_3'
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from zhifu.core.errors import UsageError

__all__ = ["client_context", "init_local_pki", "server_context"]

_DAYS = 825


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "zhifu local PKI"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])  # fmt: skip


PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
KEY_TYPES = ("ec", "rsa")
"""ECDSA P-256 (the default) or RSA-2048 keys and certificates."""


def _new_key(key_type: str) -> PrivateKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: PrivateKey) -> None:
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())  # fmt: skip
    path.write_bytes(b"")
    path.chmod(0o600)
    path.write_bytes(data)


def _cert(
    subject: str, key: PrivateKey, issuer: x509.Name,
    issuer_key: PrivateKey, *, ca: bool, usage: x509.ObjectIdentifier | None,
    sans: list[x509.GeneralName] | None = None,
) -> x509.Certificate:  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_DAYS))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                     encipher_only=False, decipher_only=False), critical=True)
    )  # fmt: skip
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def init_local_pki(
    folder: Path | str, *, clients: Iterable[str] = (), key_type: str = "ec"
) -> list[Path]:
    """Make the CA, the server certificate and one client certificate per name in ``folder``
    (``key_type``: ``ec`` for ECDSA P-256, ``rsa`` for RSA-2048)."""
    if key_type not in KEY_TYPES:
        raise UsageError("ec or rsa", argument="--key-type")
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    if (root / "ca.pem").exists():
        raise UsageError(f"{root} already holds a CA: choose an empty folder", argument="--folder")
    ca_key = _new_key(key_type)
    ca = _cert("zhifu local CA", ca_key, _name("zhifu local CA"), ca_key, ca=True, usage=None)
    written = [root / "ca.pem", root / "ca.key"]
    written[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    _write_key(written[1], ca_key)
    sans: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")), x509.DNSName("localhost"),
    ]  # fmt: skip
    leaves: list[tuple[str, str, x509.ObjectIdentifier, list[x509.GeneralName] | None]] = [
        ("server", "zhifu server", ExtendedKeyUsageOID.SERVER_AUTH, sans)
    ]
    for name in clients:
        if not name.isidentifier():
            raise UsageError("a client name is letters, digits and _", argument="--client")
        leaves.append((f"client-{name}", f"zhifu client {name}", ExtendedKeyUsageOID.CLIENT_AUTH,
                       None))  # fmt: skip
    for stem, subject, usage, names in leaves:
        key = _new_key(key_type)
        cert = _cert(subject, key, ca.subject, ca_key, ca=False, usage=usage, sans=names)
        (root / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(root / f"{stem}.key", key)
        written += [root / f"{stem}.pem", root / f"{stem}.key"]
    return written


def _check(folder: Path, *names: str) -> None:
    for name in names:
        if not (folder / name).exists():
            raise UsageError(f"no {name} in {folder}: run `zhifu pki init` first", argument="--tls")


def server_context(folder: Path | str, *, client_auth: bool = False) -> ssl.SSLContext:
    """TLS 1.3 for a listening port, with the server certificate; ``client_auth``: mutual TLS."""
    root = Path(folder)
    _check(root, "ca.pem", "server.pem", "server.key")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(root / "server.pem", root / "server.key")
    if client_auth:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(root / "ca.pem")
    return context


def client_context(folder: Path | str, client: str | None = None) -> ssl.SSLContext:
    """TLS 1.3 to a server of this CA (hostname checked); ``client`` presents its certificate."""
    root = Path(folder)
    _check(root, "ca.pem")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(root / "ca.pem")
    if client is not None:
        _check(root, f"client-{client}.pem", f"client-{client}.key")
        context.load_cert_chain(root / f"client-{client}.pem", root / f"client-{client}.key")
    return context
