"""The control plane's PKI: one CA, the API server's serving cert, an admin client cert, SA keys.

Keys are ECDSA P-256: every component accepts them and they are generated in microseconds, which
keeps start-up fast. Nothing here touches the disk except :func:`write_pki`.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ADMIN_USER = "admin"
ADMIN_GROUP = "system:masters"
SERVING_HOSTS = ("localhost", "127.0.0.1")
_VALIDITY = datetime.timedelta(days=365)
_CLOCK_SKEW = datetime.timedelta(hours=1)


@dataclasses.dataclass(frozen=True)
class KeyPair:
    """A PEM certificate (or PEM public key) and its PEM private key."""

    cert_pem: bytes
    key_pem: bytes


@dataclasses.dataclass(frozen=True)
class Pki:
    """Everything the API server, the controllers and the admin client need, as PEM bytes."""

    ca: KeyPair
    serving: KeyPair
    """kube-apiserver's serving certificate (SANs ``localhost``, ``127.0.0.1``)."""
    admin: KeyPair
    """Client certificate CN=admin, O=system:masters (the RBAC super-user group)."""
    service_account: KeyPair
    """Service-account token signing key; ``cert_pem`` holds the PEM public key."""


@dataclasses.dataclass(frozen=True)
class PkiPaths:
    """Where :func:`write_pki` put each file."""

    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path
    sa_public_key: Path
    sa_private_key: Path


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + _VALIDITY)
    )


def _san(hosts: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _new_ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _new_key()
    name = _name(common_name)
    cert = (
        _builder(name, name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _new_leaf(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    hosts: Sequence[str] = (),
) -> KeyPair:
    key = _new_key()
    builder = (
        _builder(subject, ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if hosts:
        builder = builder.add_extension(_san(hosts), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def generate_pki(serving_hosts: Sequence[str] = SERVING_HOSTS, ca_name: str = "rayjob-devenv-ca") -> Pki:
    """Create a fresh CA and the three identities the control plane uses."""
    ca_cert, ca_key = _new_ca(ca_name)
    serving = _new_leaf(ca_cert, ca_key, _name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, serving_hosts)
    admin = _new_leaf(ca_cert, ca_key, _name(ADMIN_USER, ADMIN_GROUP), ExtendedKeyUsageOID.CLIENT_AUTH)
    sa_key = _new_key()
    sa_public = sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Pki(
        ca=KeyPair(ca_cert.public_bytes(serialization.Encoding.PEM), _key_pem(ca_key)),
        serving=serving,
        admin=admin,
        service_account=KeyPair(sa_public, _key_pem(sa_key)),
    )


def issue_serving_cert(ca: KeyPair, common_name: str, hosts: Sequence[str] = SERVING_HOSTS) -> KeyPair:
    """A new serving certificate for ``hosts``, signed by the CA ``ca`` (PEM cert and key, e.g. read back from disk).

    Servers the API server calls (webhooks) present it; the CA's certificate is their ``caBundle``.
    """
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"the CA key is a {type(ca_key).__name__}, not an EC key")
    return _new_leaf(ca_cert, ca_key, _name(common_name), ExtendedKeyUsageOID.SERVER_AUTH, hosts)


def write_pki(pki: Pki, directory: Path) -> PkiPaths:
    """Write every PEM file into ``directory`` (private keys readable by the owner only)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = PkiPaths(
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        serving_cert=directory / "apiserver.crt",
        serving_key=directory / "apiserver.key",
        admin_cert=directory / "admin.crt",
        admin_key=directory / "admin.key",
        sa_public_key=directory / "sa.pub",
        sa_private_key=directory / "sa.key",
    )
    contents = {
        paths.ca_cert: pki.ca.cert_pem,
        paths.ca_key: pki.ca.key_pem,
        paths.serving_cert: pki.serving.cert_pem,
        paths.serving_key: pki.serving.key_pem,
        paths.admin_cert: pki.admin.cert_pem,
        paths.admin_key: pki.admin.key_pem,
        paths.sa_public_key: pki.service_account.cert_pem,
        paths.sa_private_key: pki.service_account.key_pem,
    }
    for path, data in contents.items():
        path.write_bytes(data)
        path.chmod(0o600)
    return paths


def issue_client_cert(ca: KeyPair, user: str, group: str | None = ADMIN_GROUP) -> KeyPair:
    """A client certificate for another identity (CN=``user``, O=``group``), signed by ``ca``.

    The API server sees it as that user, e.g. to tell one client's requests apart in an audit log.
    """
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError("the CA key is not an EC key (it was not made by generate_pki)")
    return _new_leaf(ca_cert, ca_key, _name(user, group), ExtendedKeyUsageOID.CLIENT_AUTH)
