"""A real SMTP server for the delivery tests (aiosmtpd from PyPI): STARTTLS required,
AUTH (PLAIN/LOGIN) only after it, one .eml file per message received.

Usage: smtp_server.py PORT CERT KEY OUTDIR USER PASSWORD
Prints "ready" when it listens; runs until killed.
"""
import pathlib
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, cert, key, outdir, user, password = sys.argv[1:7]


class Keep:
    async def handle_DATA(self, server, session, envelope):
        number = len(list(pathlib.Path(outdir).glob("*.eml")))
        pathlib.Path(outdir, f"{number}.eml").write_bytes(envelope.content)
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == user
        and auth_data.password.decode() == password
    )
    return AuthResult(success=ok)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(
    Keep(),
    hostname="127.0.0.1",
    port=int(port),
    tls_context=context,
    require_starttls=True,
    authenticator=authenticate,
    auth_require_tls=True,
)
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
