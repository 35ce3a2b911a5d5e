#!/usr/bin/env python3
"""A Google OAuth2 token endpoint that verifies service-account JWT assertions for real.

    oauth_token_oracle.py PORT CREDENTIALS_JSON_OUT

Generates an RSA key, writes a service-account credentials file whose token_uri points
here, and answers POST /token only for an assertion that is RS256-signed by that key with
the claims Google requires (iss, aud = token_uri, scope, iat/exp at most an hour apart).
GET /__stats returns {"issued": N, "refused": N}.
"""
import base64
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

EMAIL = "volumed-test@volumed-test.iam.gserviceaccount.com"
SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
LOCK = threading.Lock()
STATS = {"issued": 0, "refused": 0}


def b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Oracle(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    public_key = None
    token_uri = None

    def log_message(self, fmt, *args):
        sys.stderr.write("oauth-oracle: " + (fmt % args) + "\n")

    def do_GET(self):
        with LOCK:
            self.reply(200, dict(STATS))

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        form = dict(urllib.parse.parse_qsl(body))
        problem = self.check(form)
        with LOCK:
            STATS["refused" if problem else "issued"] += 1
            count = STATS["issued"]
        if problem:
            return self.reply(400, {"error": "invalid_grant", "error_description": problem})
        self.reply(200, {"access_token": f"test-token-{count}", "expires_in": 3600, "token_type": "Bearer"})

    def check(self, form):
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return "grant_type must be jwt-bearer"
        try:
            header, payload, signature = form.get("assertion", "").split(".")
            self.public_key.verify(b64decode(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except Exception as error:  # malformed or badly signed
            return f"bad assertion signature: {error!r}"
        head, claims = json.loads(b64decode(header)), json.loads(b64decode(payload))
        if head.get("alg") != "RS256":
            return "alg must be RS256"
        if claims.get("iss") != EMAIL or claims.get("aud") != self.token_uri or claims.get("scope") != SCOPE:
            return f"unexpected claims {claims}"
        if not (claims["iat"] - 60 <= time.time() <= claims["exp"]) or claims["exp"] - claims["iat"] > 3600:
            return "iat/exp out of range"
        return None

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    port, credentials_path = int(sys.argv[1]), sys.argv[2]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    Oracle.public_key = key.public_key()
    Oracle.token_uri = f"http://127.0.0.1:{port}/token"
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    with open(credentials_path, "w") as f:
        json.dump({"type": "service_account", "project_id": "volumed-test", "private_key_id": "test",
                   "private_key": pem, "client_email": EMAIL, "token_uri": Oracle.token_uri}, f)
    ThreadingHTTPServer(("127.0.0.1", port), Oracle).serve_forever()
