"""A real SMTP server (aiosmtpd) on loopback for the e-mail tests, optionally with STARTTLS + AUTH.

The TLS variant uses a throwaway CA made here with ``cryptography``; the client verifies the
server against it (``ca_file``), exactly as it would a private CA in real use.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import socket
import ssl
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Inbox:
    messages: list[Message] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_tls(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """Return a server TLS context for 127.0.0.1 and the path of the CA that signed it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "MendCRM test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context, ca_path


def echoed_token(mechanism: str, login: bytes, password: bytes) -> str:
    """Return the base64 token a client sent for ``mechanism``, as a careless server repeats it:
    AUTH PLAIN's ``\\0login\\0password`` (RFC 4616 §2), AUTH LOGIN's password line."""
    raw = b"\0" + login + b"\0" + password if mechanism == "PLAIN" else password
    return base64.b64encode(raw).decode("ascii")


class SmtpServer:
    """aiosmtpd on a free loopback port; ``password`` turns on STARTTLS-only AUTH.

    ``echo_auth`` ("PLAIN" or "LOGIN") offers only that mechanism and rejects every login with a
    535 reply that repeats the client's base64 token, as some servers do in their logs and replies.
    """

    def __init__(
        self, folder: Path, *, username: str = "", password: str = "", echo_auth: str = ""
    ) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.ca_file: Path | None = None
        kwargs: dict[str, Any] = {}
        if password:
            context, self.ca_file = make_tls(folder)

            def authenticate(
                server: Any, session: Any, envelope: Any, mechanism: str, data: Any
            ) -> AuthResult:
                ok = isinstance(data, LoginPassword) and (
                    data.login.decode(),
                    data.password.decode(),
                ) == (username, password)
                if echo_auth and isinstance(data, LoginPassword):
                    token = echoed_token(mechanism, data.login, data.password)
                    message = f"535 5.7.8 AUTH {mechanism} {token} rejected"
                    return AuthResult(success=False, handled=False, message=message)
                return AuthResult(success=ok, handled=False)

            kwargs = {
                "tls_context": context,
                "require_starttls": True,
                "auth_required": True,
                "authenticator": authenticate,
            }
            if echo_auth:
                other = {"PLAIN": "LOGIN", "LOGIN": "PLAIN"}[echo_auth]
                kwargs["auth_exclude_mechanism"] = [other]
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
