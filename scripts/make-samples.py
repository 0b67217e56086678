#!/usr/bin/env python3
"""Generates TokenAudit's bundled sample data under samples/ (keys, tokens, logs, expected.json).

Run from anywhere: `python3 scripts/make-samples.py`. Needs python3 and the `cryptography` package,
plus the `zstd` command-line tool for the Apache sample.

Reproducible by construction:
* every time claim is relative to the fixed log day 2026-11-28 (UTC), never to the wall clock;
* every choice comes from seeded random generators;
* key material is generated once and then re-read from samples/private/ and samples/keys/hmac.jwk.json;
* ECDSA signatures use RFC 6979 deterministic nonces and PS256 uses a salt derived from the message,
  so a re-run with the committed keys rewrites byte-identical files.

expected.json is written from the same in-memory data that produced the logs: it is the independent
oracle the end-to-end tests compare the scanner against. Nothing in it is hand-written.

ALL KEYS HERE ARE TEST KEYS. They protect nothing and must never be used outside the samples.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import hmac
import io
import ipaddress
import json
import os
import random
import shutil
import subprocess
import sys
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
PRIVATE = SAMPLES / "private"
KEYS = SAMPLES / "keys"
TOKENS = SAMPLES / "tokens"
LOGS = SAMPLES / "logs"

UTC = dt.timezone.utc
LOG_DAY = dt.datetime(2026, 11, 28, tzinfo=UTC)
DAY_START = int(LOG_DAY.timestamp())
DAY_END = DAY_START + 86400 - 1

ISSUER = "https://issuer.example.com"
INTERNAL_ISSUER = "https://internal.example.com"
LEGACY_ISSUER = "https://legacy.example.com"
TOKEN_ENDPOINT = ISSUER + "/oauth2/token"
API = "https://api.example.com"
INTERNAL_API = "https://internal-api.example.com"
LEGACY_API = "https://legacy-api.example.com"
WEB_CLIENT = "webapp-3f9c"
CLIENT_ASSERTION_CLIENT = "billing-batch"

ACCEPTED = range(200, 300)
REJECTED = (401, 403)


def at(h: int, m: int = 0, s: int = 0) -> int:
    """Seconds since the epoch at h:m:s on the log day (UTC)."""
    return DAY_START + h * 3600 + m * 60 + s


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_int(value: int, length: int) -> str:
    return b64u(value.to_bytes(length, "big"))


def compact_json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class KeySpec:
    kid: str
    kty: str          # RSA, EC, OKP
    param: object     # RSA bits, EC curve name, or "Ed25519"
    alg: str
    issuer: Optional[str]
    not_after: Optional[str] = None
    published: bool = True   # False: a throwaway key nobody publishes


KEY_SPECS = [
    KeySpec("rs256-2025", "RSA", 2048, "RS256", ISSUER),
    KeySpec("rs256-2024", "RSA", 2048, "RS256", ISSUER, not_after="2026-06-30T00:00:00Z"),
    KeySpec("ps256", "RSA", 2048, "PS256", ISSUER),
    KeySpec("es256", "EC", "P-256", "ES256", ISSUER),
    KeySpec("es384", "EC", "P-384", "ES384", ISSUER),
    KeySpec("ed25519", "OKP", "Ed25519", "EdDSA", ISSUER),
    KeySpec("rsa1024-legacy", "RSA", 1024, "RS256", ISSUER),
    # Signs unknown-kid.jwt under a kid the issuer never published.
    KeySpec("throwaway-unknown-kid", "RSA", 2048, "RS256", None, published=False),
    # The private_key_jwt client's own key; published in its own registered JWKS.
    KeySpec("billing-batch-2026", "EC", "P-256", "ES256", CLIENT_ASSERTION_CLIENT),
]

CURVES = {"P-256": (ec.SECP256R1, 32), "P-384": (ec.SECP384R1, 48)}


def load_or_create_key(spec: KeySpec):
    """Loads samples/private/<kid>.pem, or creates it once. Re-runs never churn keys."""
    path = PRIVATE / f"{spec.kid}.pem"
    if path.exists():
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    if spec.kty == "RSA":
        key = rsa.generate_private_key(public_exponent=65537, key_size=spec.param)
    elif spec.kty == "EC":
        key = ec.generate_private_key(CURVES[spec.param][0]())
    else:
        key = ed25519.Ed25519PrivateKey.generate()
    PRIVATE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return key


def public_jwk(spec: KeySpec, key) -> dict:
    jwk = {"kty": spec.kty, "use": "sig", "alg": spec.alg, "kid": spec.kid}
    pub = key.public_key()
    if spec.kty == "RSA":
        numbers = pub.public_numbers()
        jwk["n"] = b64u_int(numbers.n, (numbers.n.bit_length() + 7) // 8)
        jwk["e"] = b64u_int(numbers.e, (numbers.e.bit_length() + 7) // 8)
    elif spec.kty == "EC":
        size = CURVES[spec.param][1]
        numbers = pub.public_numbers()
        jwk["crv"] = spec.param
        jwk["x"] = b64u_int(numbers.x, size)
        jwk["y"] = b64u_int(numbers.y, size)
    else:
        jwk["crv"] = "Ed25519"
        jwk["x"] = b64u(pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    if spec.issuer:
        jwk["x-issuer"] = spec.issuer
    if spec.not_after:
        jwk["x-not-after"] = spec.not_after
    return jwk


def load_or_create_hmac() -> dict:
    path = KEYS / "hmac.jwk.json"
    if path.exists():
        existing = json.loads(path.read_text())
        k = existing["k"]
    else:
        k = b64u(os.urandom(32))
    return {"kty": "oct", "use": "sig", "alg": "HS256", "kid": "hs256-internal", "k": k,
            "x-issuer": INTERNAL_ISSUER}


# ---------------------------------------------------------------------------------------------------------------
# Signing
# ---------------------------------------------------------------------------------------------------------------

def pss_sign_deterministic(key: rsa.RSAPrivateKey, message: bytes) -> bytes:
    """RSASSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt) with a salt derived from the message.

    RFC 8017 §9.1.1 EMSA-PSS-ENCODE followed by the raw RSA private operation. The salt is
    deterministic only so that re-running the generator does not churn files; verifiers cannot tell.
    """
    numbers = key.private_numbers()
    n, d = numbers.public_numbers.n, numbers.d
    mod_bits = n.bit_length()
    em_bits = mod_bits - 1
    em_len = (em_bits + 7) // 8
    h_len = s_len = 32
    m_hash = hashlib.sha256(message).digest()
    salt = hashlib.sha256(b"tokenaudit-sample-pss-salt" + m_hash).digest()
    h = hashlib.sha256(b"\x00" * 8 + m_hash + salt).digest()
    ps = b"\x00" * (em_len - s_len - h_len - 2)
    db = ps + b"\x01" + salt
    mask = b""
    counter = 0
    while len(mask) < em_len - h_len - 1:
        mask += hashlib.sha256(h + counter.to_bytes(4, "big")).digest()
        counter += 1
    masked = bytes(a ^ b for a, b in zip(db, mask[: em_len - h_len - 1]))
    masked = bytes([masked[0] & (0xFF >> (8 * em_len - em_bits))]) + masked[1:]
    em = masked + h + b"\xbc"
    sig = pow(int.from_bytes(em, "big"), d, n).to_bytes((mod_bits + 7) // 8, "big")
    key.public_key().verify(sig, message, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    return sig


def sign(alg: str, key, data: bytes) -> bytes:
    if alg == "RS256":
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if alg == "PS256":
        return pss_sign_deterministic(key, data)
    if alg in ("ES256", "ES384"):
        hash_alg, size = (hashes.SHA256(), 32) if alg == "ES256" else (hashes.SHA384(), 48)
        der = key.sign(data, ec.ECDSA(hash_alg, deterministic_signing=True))
        r, s = decode_dss_signature(der)
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if alg == "EdDSA":
        return key.sign(data)
    if alg == "HS256":
        return hmac.new(key, data, hashlib.sha256).digest()
    raise ValueError(alg)


def jws(header: dict, payload: bytes, alg: str, key) -> str:
    signing_input = b64u(compact_json(header)) + "." + b64u(payload)
    return signing_input + "." + b64u(sign(alg, key, signing_input.encode("ascii")))


# ---------------------------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------------------------

# Rules whose absence the tests may assert (must_not = CORE_RULES - rules - incidental_rules).
CORE_RULES = [
    "expired-at-request-time", "not-yet-valid", "missing-aud", "missing-exp", "missing-iss", "alg-none",
    "alg-not-allowed", "rsa-key-too-small", "weak-hmac-secret", "scope-privileged", "scope-too-many",
    "invalid-signature", "unknown-kid", "unknown-issuer", "malformed-token", "token-truncated", "jwe-token",
    "non-jwt-payload", "key-not-valid-at-request-time",
]

# Base rule -> the group N escalation it gets when the same request was accepted (2xx).
ESCALATIONS = {
    "alg-none": "accepted-alg-none",
    "invalid-signature": "accepted-invalid-signature",
    "expired-at-request-time": "accepted-expired-token",
    "not-yet-valid": "accepted-not-yet-valid",
    "unknown-kid": "accepted-unknown-kid",
    "missing-aud": "accepted-wrong-audience",
    "unknown-issuer": "accepted-untrusted-issuer",
    "malformed-token": "accepted-malformed-token",
    "id-token-as-bearer": "accepted-wrong-token-type",
    "client-assertion-as-bearer": "accepted-wrong-token-type",
    "token-in-url-query": "accepted-token-in-query",
}

FORGED_RULES = {"alg-none", "invalid-signature"}


@dataclass
class Token:
    name: str                 # file stem, e.g. "valid-rs256"
    value: str
    alg: Optional[str]
    kid: Optional[str]
    typ: Optional[str]
    iss: Optional[str]
    kind: str                 # access, id, client-assertion, legacy, jws-not-jwt, jwe
    verification: str
    rules: list
    incidental: list
    purpose: str
    use_from: int             # the window in which log lines may use it without tripping time rules
    use_to: int
    host: str                 # the API host it is meant for
    ua: str
    ips: list
    claims: Optional[dict] = None
    notes: str = ""

    @property
    def file(self) -> str:
        return f"{self.name}.jwt"


USER_AGENTS = {
    "curl": "curl/8.5.0",
    "py": "python-requests/2.32.3",
    "okhttp": "okhttp/4.12.0",
    "firefox": "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "chrome": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "safari": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "go": "Go-http-client/1.1",
    "sync": "orders-sync/3.2 (+https://example.com/bots)",
    "billing": "billing-batch/1.4",
    "attacker": "python-requests/2.31.0",
    "probe": "Mozilla/5.0 (compatible; jwt-probe/0.3)",
    "legacy": "Apache-HttpClient/4.5.14 (Java/11.0.21)",
    "mobile": "ExampleApp/5.12.1 (Android 15; Pixel 8)",
}

ATTACKER_IPS = ["198.51.100.66", "198.51.100.67", "2001:db8:bad:1::66", "2001:db8:bad:2::7", "192.0.2.250"]


class TokenFactory:
    def __init__(self, keys: dict, hmac_jwk: dict, rng: random.Random):
        self.keys = keys
        self.hmac_key = base64.urlsafe_b64decode(hmac_jwk["k"] + "=" * (-len(hmac_jwk["k"]) % 4))
        self.rng = rng
        self.tokens: dict[str, Token] = {}

    def jti(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def access_claims(self, iat: int, sub: str, client_id: str, scope: str, aud: Optional[str] = API,
                      iss: str = ISSUER, lifetime: int = 3600, **extra) -> dict:
        claims = {"iss": iss, "sub": sub}
        if aud is not None:
            claims["aud"] = aud
        claims.update({"client_id": client_id, "scope": scope, "iat": iat, "exp": iat + lifetime,
                       "jti": self.jti()})
        claims.update(extra)
        return claims

    def add(self, token: Token) -> Token:
        assert token.name not in self.tokens
        self.tokens[token.name] = token
        return token

    def signed_access(self, name: str, kid: str, alg: str, claims: dict, *, verification="valid", rules=(),
                      incidental=(), purpose: str, host="api.example.com", ua="curl", ips=(), typ="at+jwt",
                      kind="access", use_from=None, use_to=None, key=None, notes="") -> Token:
        header = {"alg": alg, "kid": kid, "typ": typ} if kid else {"alg": alg, "typ": typ}
        value = jws(header, compact_json(claims), alg, key if key is not None else self.keys[kid])
        use_from = use_from if use_from is not None else claims["iat"] + 60
        use_to = use_to if use_to is not None else claims["exp"] - 180
        return self.add(Token(name, value, alg, kid, typ, claims.get("iss"), kind, verification, list(rules),
                              list(incidental), purpose, use_from, use_to, host, USER_AGENTS[ua], list(ips),
                              claims, notes))


def build_tokens(keys: dict, hmac_jwk: dict) -> dict[str, Token]:
    f = TokenFactory(keys, hmac_jwk, random.Random(20261128))
    ca = f.access_claims

    f.signed_access("valid-rs256", "rs256-2025", "RS256",
                    ca(at(9, 0), "user-48213", WEB_CLIENT, "orders:read orders:write profile"),
                    purpose="Baseline RS256 access token (RFC 9068 shape).", ua="chrome",
                    ips=["203.0.113.10", "203.0.113.11"])
    f.signed_access("valid-es256", "es256", "ES256",
                    ca(at(10, 15), "user-1187", "mobile-ios", "orders:read profile"),
                    purpose="Baseline ES256 access token; also sent once with the DPoP scheme and in a cookie.",
                    ua="safari", ips=["198.51.100.20", "198.51.100.21"])
    f.signed_access("valid-ps256", "ps256", "PS256",
                    ca(at(11, 30), "svc-reports", "svc-reports", "reports:read orders:read"),
                    purpose="Baseline PS256 access token; also sent once with a lowercase 'bearer' scheme.",
                    ua="py", ips=["192.0.2.30", "192.0.2.31"])
    f.signed_access("valid-eddsa", "ed25519", "EdDSA",
                    ca(at(13, 40), "user-7731", WEB_CLIENT, "profile orders:read"),
                    purpose="Baseline EdDSA (Ed25519) access token; also leaked through a Referer.",
                    ua="firefox", ips=["203.0.113.40", "203.0.113.41"])
    f.signed_access("valid-hs256", "hs256-internal", "HS256",
                    ca(at(15, 0), "svc-inventory", "svc-inventory", "inventory:read inventory:write",
                       aud=INTERNAL_API, iss=INTERNAL_ISSUER),
                    purpose="HS256 access token of the internal issuer, strong 32-byte key (hmac.jwk.json).",
                    host="internal-api.example.com", ua="go", ips=["10.20.0.15", "10.20.0.16"],
                    key=f.hmac_key)
    f.signed_access("valid-es384", "es384", "ES384",
                    ca(at(16, 20), "user-9042", WEB_CLIENT, "orders:read invoices:read"),
                    purpose="Baseline ES384 access token; also sent once in the query string.",
                    ua="chrome", ips=["198.51.100.50", "198.51.100.51"])

    exp_claims = ca(at(-3, 0), "user-3120", WEB_CLIENT, "orders:read profile")  # 2026-11-27 21:00-22:00
    f.signed_access("expired", "rs256-2025", "RS256", exp_claims, rules=["expired-at-request-time"],
                    purpose="Expired at 2026-11-27T22:00:00Z, before every log line of the day.",
                    ua="okhttp", ips=["203.0.113.60", "203.0.113.61"], use_from=DAY_START + 60, use_to=DAY_END - 60)
    nyv = ca(at(12, 0), "user-5551", WEB_CLIENT, "orders:read", lifetime=7 * 3600, nbf=at(18, 0))
    f.signed_access("not-yet-valid", "rs256-2025", "RS256", nyv, rules=["not-yet-valid"],
                    purpose="nbf 18:00Z; every log line using it is between 12:01Z and 17:50Z.",
                    ua="okhttp", ips=["198.51.100.70"], use_from=at(12, 1), use_to=at(17, 50))

    # alg none, lowercase and case variant. The claims are a plausible forgery of a real user's token.
    for name, header, ips, rules, incidental, t0 in (
        ("alg-none", {"alg": "none", "typ": "at+jwt"}, ATTACKER_IPS[:2], ["alg-none"], ["alg-not-allowed"],
         at(14, 10)),
        ("alg-none-case", {"alg": "nOnE", "kid": "rs256-2025", "typ": "at+jwt"}, ATTACKER_IPS[2:4], ["alg-none"],
         ["alg-not-allowed", "alg-unregistered"], at(14, 30)),
    ):
        claims = ca(t0, "user-48213", WEB_CLIENT, "orders:read orders:write profile")
        value = b64u(compact_json(header)) + "." + b64u(compact_json(claims)) + "."
        f.add(Token(name, value, header["alg"], header.get("kid"), "at+jwt", ISSUER, "access", "unsigned", rules,
                    incidental, f"Unsecured JWS, alg {header['alg']!r}, empty signature segment.", t0 + 60,
                    t0 + 3600 - 180, "api.example.com", USER_AGENTS["attacker"], ips, claims))

    # bad-signature: a token of its own (distinct jti), one raw signature byte flipped.
    bs_claims = ca(at(17, 0), "user-2208", WEB_CLIENT, "orders:read orders:write")
    good = jws({"alg": "RS256", "kid": "rs256-2025", "typ": "at+jwt"}, compact_json(bs_claims), "RS256",
               keys["rs256-2025"])
    head, payload, sig = good.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=="))
    raw[len(raw) // 2] ^= 0x01
    f.add(Token("bad-signature", f"{head}.{payload}.{b64u(bytes(raw))}", "RS256", "rs256-2025", "at+jwt", ISSUER,
                "access", "invalid-signature", ["invalid-signature"], [],
                "Well-formed RS256 token with byte 128 of the 256-byte signature flipped.",
                at(17, 1), at(17, 57), "api.example.com", USER_AGENTS["probe"], ATTACKER_IPS[4:] + ATTACKER_IPS[:1],
                bs_claims))

    f.signed_access("unknown-kid", "rs256-2026-rotation", "RS256",
                    ca(at(19, 0), "user-6170", WEB_CLIENT, "orders:read"),
                    verification="unknown-key", rules=["unknown-kid"], key=keys["throwaway-unknown-kid"],
                    purpose="kid 'rs256-2026-rotation' is not in jwks.json; signed with a throwaway key "
                            "(samples/private/throwaway-unknown-kid.pem).",
                    ua="go", ips=["192.0.2.90", "192.0.2.91"])
    f.signed_access("missing-aud", "rs256-2025", "RS256",
                    ca(at(20, 0), "svc-exports", "svc-exports", "orders:read", aud=None),
                    rules=["missing-aud"], purpose="Access token without aud.", ua="sync",
                    ips=["203.0.113.100", "203.0.113.101"])

    legacy_claims = {"iss": LEGACY_ISSUER, "sub": "legacy-user-17", "aud": LEGACY_API, "scope": "orders:read",
                     "iat": at(21, 0), "exp": at(22, 0), "jti": f.jti()}
    value = jws({"alg": "HS256", "typ": "JWT"}, compact_json(legacy_claims), "HS256", b"your-256-bit-secret")
    f.add(Token("weak-secret", value, "HS256", None, "JWT", LEGACY_ISSUER, "legacy", "unknown-key",
                ["weak-hmac-secret", "unknown-issuer", "alg-not-allowed"], [],
                "HS256 signed with the secret 'your-256-bit-secret' (jwt.io's old default, in the wallarm "
                "wordlist); no kid; issuer https://legacy.example.com has no key configured.",
                at(21, 1), at(21, 57), "legacy-api.example.com", USER_AGENTS["legacy"], ["192.0.2.120", "192.0.2.121"],
                legacy_claims))

    jwtio_claims = {"sub": "1234567890", "name": "John Doe", "admin": True, "iat": 1516239022}
    value = jws({"alg": "HS256", "typ": "JWT"}, compact_json(jwtio_claims), "HS256",
                b"a-string-secret-at-least-256-bits-long")
    assert value == ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiYWRtaW4"
                     "iOnRydWUsImlhdCI6MTUxNjIzOTAyMn0.KMUFsIDTnFmyG3nMiGM6H9FNFUROf3wh7SmqJp-QV30"), value
    f.add(Token("jwtio-default", value, "HS256", None, "JWT", None, "legacy", "unknown-key",
                ["weak-hmac-secret", "missing-exp", "missing-iss", "missing-aud", "scope-privileged",
                 "alg-not-allowed"], ["missing-jti", "pii-in-token", "unknown-issuer"],
                "The exact jwt.io default token (secret 'a-string-secret-at-least-256-bits-long', not in the "
                "wallarm wordlist: needs a built-in supplementary secret list); admin:true, no exp/iss/aud.",
                DAY_START + 60, DAY_END - 60, "api.example.com", USER_AGENTS["curl"], ["203.0.113.130"], jwtio_claims))

    f.signed_access("rsa1024", "rsa1024-legacy", "RS256",
                    ca(at(8, 0), "user-48213", WEB_CLIENT, "orders:read profile"),
                    rules=["rsa-key-too-small"], purpose="Signed with the 1024-bit key rsa1024-legacy (verifies).",
                    ua="okhttp", ips=["198.51.100.140", "198.51.100.141"])
    f.signed_access("scope-admin", "rs256-2025", "RS256",
                    ca(at(11, 0), "user-0001", "admin-console", "read write admin"),
                    rules=["scope-privileged"],
                    purpose="scope 'read write admin'. In nginx/access.log.1 it is replayed from 5 networks "
                            "within the hour (token-multi-ip).",
                    ua="chrome",
                    ips=["203.0.113.150", "198.51.100.150", "192.0.2.150", "2001:db8:a1::17", "2001:db8:b2::9"])
    many = ("orders:read orders:write orders:cancel invoices:read invoices:write payments:read payments:refund "
            "customers:read customers:write products:read products:write inventory:read inventory:write "
            "reports:read reports:export shipping:read shipping:write returns:read returns:write "
            "webhooks:read webhooks:write audit:read settings:read profile email")
    assert len(many.split()) == 25
    f.signed_access("scope-many", "rs256-2025", "RS256", ca(at(12, 30), "svc-integrations", "svc-integrations", many),
                    rules=["scope-too-many"], purpose="25 scopes (max_scopes default 20).", ua="py",
                    ips=["192.0.2.160", "192.0.2.161"])

    # OIDC ID token: nonce, at_hash of valid-rs256, aud = the web client's client_id, typ JWT.
    at_hash = b64u(hashlib.sha256(f.tokens["valid-rs256"].value.encode()).digest()[:16])
    id_claims = {"iss": ISSUER, "sub": "user-48213", "aud": WEB_CLIENT, "exp": at(10, 5), "iat": at(9, 5),
                 "auth_time": at(9, 4, 40), "nonce": b64u(f.rng.randbytes(16)), "at_hash": at_hash,
                 "sid": f.jti()}
    f.signed_access("id-token", "rs256-2025", "RS256", id_claims, typ="JWT", kind="id",
                    purpose="OIDC ID token for client webapp-3f9c (at_hash of valid-rs256). Posted to /callback "
                            "(form_post, 302) and replayed as a bearer token at the API (200).",
                    ua="chrome", ips=["203.0.113.10"])

    ca_claims = {"iss": CLIENT_ASSERTION_CLIENT, "sub": CLIENT_ASSERTION_CLIENT, "aud": TOKEN_ENDPOINT,
                 "iat": at(10, 40), "exp": at(10, 45), "jti": f.jti()}
    f.signed_access("client-assertion", "billing-batch-2026", "ES256", ca_claims, typ="JWT",
                    kind="client-assertion", incidental=["client-assertion-aud-invalid", "unknown-issuer"],
                    purpose="RFC 7523 private_key_jwt assertion of client billing-batch (key in "
                            "keys/client-billing-batch.jwks.json). Posted once to the token endpoint and "
                            "once sent as a bearer token to the API.",
                    ua="billing", ips=["10.30.0.5"], use_from=at(10, 40, 5), use_to=at(10, 44, 30))

    # truncated: a valid RS256 token, as HAProxy's 512-byte capture of "Bearer <token>" stores it.
    tr_claims = ca(at(18, 10), "user-3344", "mobile-android", "orders:read profile")
    full = jws({"alg": "RS256", "kid": "rs256-2025", "typ": "at+jwt"}, compact_json(tr_claims), "RS256",
               keys["rs256-2025"])
    cut = ("Bearer " + full)[:512][len("Bearer "):]
    sig_start = full.rindex(".") + 1
    assert sig_start < len(cut) < len(full), "the cut must fall inside the signature"
    # A cut signature may be non-canonical base64url (length or trailing bits): malformed-token is incidental.
    f.add(Token("truncated", cut, "RS256", "rs256-2025", "at+jwt", ISSUER, "access", "truncated",
                ["token-truncated"], ["malformed-token"],
                f"Valid RS256 token cut after {len(cut)} characters (inside the signature, "
                f"{len(cut) - sig_start} of 342 signature characters kept) by HAProxy "
                "'capture request header Authorization len 512'.",
                at(18, 11), at(19, 7), "api.example.com", USER_AGENTS["mobile"], ["198.51.100.180", "198.51.100.181"],
                tr_claims, notes="fingerprint_of_full_token=" + sha256_hex(full)))

    # malformed: '=' padding in the payload segment (signed over the padded input).
    mal_claims = ca(at(17, 30), "user-8080", WEB_CLIENT, "orders:read")
    while len(compact_json(mal_claims)) % 3 == 0:
        mal_claims["sub"] += "x"
    mh = b64u(compact_json({"alg": "RS256", "kid": "rs256-2025", "typ": "at+jwt"}))
    mp = base64.urlsafe_b64encode(compact_json(mal_claims)).decode()
    assert mp.endswith("=")
    ms = b64u(sign("RS256", keys["rs256-2025"], f"{mh}.{mp}".encode()))
    f.add(Token("malformed", f"{mh}.{mp}.{ms}", "RS256", "rs256-2025", "at+jwt", ISSUER, "access", "malformed",
                ["malformed-token"], [],
                "Payload segment carries base64 '=' padding (non-canonical base64url). The RS256 signature "
                "is over the padded text, so a lenient parser would accept it.",
                at(17, 31), at(18, 27), "api.example.com", USER_AGENTS["go"], ["192.0.2.200"], mal_claims))

    text = b"hello from the nightly export job; this payload is not JSON"
    value = jws({"alg": "RS256", "kid": "rs256-2025"}, text, "RS256", keys["rs256-2025"])
    f.add(Token("not-json-payload", value, "RS256", "rs256-2025", None, None, "jws-not-jwt", "valid",
                ["non-jwt-payload"], [], "RS256 JWS with a valid signature whose payload is plain text.",
                DAY_START + 60, DAY_END - 60, "api.example.com", USER_AGENTS["sync"], ["203.0.113.210"]))

    jr = random.Random(7516)
    jwe_header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "rs256-2025"}
    value = ".".join([b64u(compact_json(jwe_header)), b64u(jr.randbytes(256)), b64u(jr.randbytes(12)),
                      b64u(jr.randbytes(187)), b64u(jr.randbytes(16))])
    f.add(Token("jwe", value, "RSA-OAEP-256", "rs256-2025", None, None, "jwe", "unsupported", ["jwe-token"], [],
                "Compact JWE shape (5 segments); the key, IV, ciphertext and tag are random bytes, not a real "
                "encryption.", DAY_START + 60, DAY_END - 60, "api.example.com", USER_AGENTS["okhttp"],
                ["198.51.100.220"]))

    f.signed_access("retired-key", "rs256-2024", "RS256", ca(at(22, 0), "user-4410", WEB_CLIENT, "orders:read"),
                    rules=["key-not-valid-at-request-time"], incidental=["unknown-kid"],
                    purpose="Signed with rs256-2024 (x-not-after 2026-06-30T00:00:00Z); used and accepted (200) "
                            "on 2026-11-28.", ua="firefox", ips=["203.0.113.230", "203.0.113.231"])
    return f.tokens


# ---------------------------------------------------------------------------------------------------------------
# Requests and log lines
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class Occ:
    token: str        # token name
    location: str     # TokenLocation raw value


@dataclass
class Request:
    t: float
    ip: str
    method: str
    host: str
    uri: str
    status: int
    size: int
    rt: float                 # request time, seconds
    ua: str = "-"
    referer: Optional[str] = None
    auth: Optional[str] = None
    cookie: Optional[str] = None
    xff: Optional[str] = None
    body: Optional[str] = None
    port: int = 443
    occ: list = field(default_factory=list)
    fragment: Optional[dict] = None
    frontend: Optional[str] = None
    app_text: Optional[str] = None     # misc/app.log only


API_GETS = ["/v1/orders", "/v1/orders?status=open&page=2", "/v1/profile", "/v1/invoices?year=2026",
            "/v1/orders/10482", "/v1/orders/10483/items", "/v1/products?limit=50"]


class LogBuilder:
    """Turns a scenario (token uses) plus filler into time-ordered requests for one log file."""

    def __init__(self, tokens: dict[str, Token], seed: int, span: tuple[int, int]):
        self.tokens = tokens
        self.rng = random.Random(seed)
        self.span = span
        self.requests: list[Request] = []

    def pick_time(self, tok: Optional[Token]) -> float:
        lo, hi = self.span
        if tok is not None:
            lo, hi = max(lo, tok.use_from), min(hi, tok.use_to)
        assert lo < hi, (tok.name if tok else None, self.span)
        return self.rng.randint(lo, hi) + self.rng.randint(0, 999) / 1000

    def use(self, name: str, loc: str = "bearer", statuses=(200,), n: int = 1, host: Optional[str] = None,
            ips: Optional[list] = None, path: Optional[str] = None, method: Optional[str] = None,
            frontend: Optional[str] = None):
        tok = self.tokens[name]
        for i in range(n):
            status = statuses[i % len(statuses)]
            ip = (ips or tok.ips)[i % len(ips or tok.ips)]
            m = method or ("DELETE" if status == 204 else "GET")
            uri = path or (f"/v1/orders/{self.rng.randint(10000, 10999)}" if m == "DELETE"
                           else ("/v1/orders/999999" if status == 404 else self.rng.choice(API_GETS)))
            r = Request(self.pick_time(tok), ip, m, host or tok.host, uri, status,
                        self.size_for(status), self.rt(), ua=tok.ua, frontend=frontend)
            self.attach(r, tok, loc)
            self.requests.append(r)

    def attach(self, r: Request, tok: Token, loc: str):
        v = tok.value
        if loc == "bearer":
            r.auth = "Bearer " + v
            r.occ.append(Occ(tok.name, "authorization-bearer"))
        elif loc == "bearer-lower":
            r.auth = "bearer " + v
            r.occ.append(Occ(tok.name, "authorization-bearer"))
        elif loc == "dpop":
            r.auth = "DPoP " + v
            r.occ.append(Occ(tok.name, "authorization-dpop"))
        elif loc == "query":
            sep = "&" if "?" in r.uri else "?"
            r.uri = r.uri + sep + "access_token=" + v
            r.occ.append(Occ(tok.name, "query"))
        elif loc == "cookie":
            r.cookie = f"_ga=GA1.2.1187.1732700000; access_token={v}; theme=dark"
            r.occ.append(Occ(tok.name, "cookie"))
        elif loc == "bearer+cookie":
            r.auth = "Bearer " + v
            r.cookie = f"access_token={v}; lang=en"
            r.occ += [Occ(tok.name, "authorization-bearer"), Occ(tok.name, "cookie")]
        elif loc == "bearer+referer":
            r.auth = "Bearer " + v
            r.referer = f"https://app.example.com/dashboard?access_token={v}&state=af0ifjsldkj"
            r.occ += [Occ(tok.name, "authorization-bearer"), Occ(tok.name, "referer")]
        elif loc == "body-assertion":
            r.method, r.uri, r.host = "POST", "/oauth2/token", "issuer.example.com"
            r.body = ("grant_type=client_credentials&scope=invoices%3Awrite"
                      "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
                      f"&client_assertion={v}")
            r.occ.append(Occ(tok.name, "body"))
        elif loc == "body-idtoken":
            r.method, r.uri, r.host = "POST", "/callback", "app.example.com"
            r.referer = "https://issuer.example.com/"
            r.body = f"state=Zq3xT9bKc1&id_token={v}"
            r.occ.append(Occ(tok.name, "body"))
        elif loc == "unknown":
            r.occ.append(Occ(tok.name, "unknown"))
        else:
            raise ValueError(loc)

    def size_for(self, status: int) -> int:
        return {200: self.rng.randint(180, 9000), 204: 0, 302: 0, 304: 0, 401: 0, 403: 61,
                404: 153}.get(status, 120)

    def rt(self) -> float:
        return self.rng.randint(1, 180) / 1000

    def fill(self, fraction_tokenless: float = 0.3, host: str = "api.example.com", basic_auth: bool = False):
        """Adds tokenless requests so that about `fraction_tokenless` of all lines carry no token."""
        n_tok = len(self.requests)
        n = max(1, round(n_tok * fraction_tokenless / (1 - fraction_tokenless)))
        browsers = [USER_AGENTS[k] for k in ("firefox", "chrome", "safari")]
        menu = [
            ("GET", "/", 200, host), ("GET", "/static/app.3f9c1e.js", 200, host), ("GET", "/favicon.ico", 404, host),
            ("GET", "/healthz", 200, host), ("GET", "/login", 200, host), ("GET", "/account", 302, host),
            ("GET", "/v1/orders", 401, host), ("GET", "/wp-login.php", 404, host), ("GET", "/.env", 404, host),
            ("GET", "/robots.txt", 200, host), ("GET", "/static/logo.svg", 304, host),
            ("GET", "/.well-known/openid-configuration", 200, "issuer.example.com"),
            ("GET", "/oauth2/jwks", 200, "issuer.example.com"),
        ]
        for i in range(n):
            m, uri, status, h = menu[i % len(menu)]
            ip = "10.0.0.5" if uri == "/healthz" else self.rng.choice(
                ["203.0.113.77", "198.51.100.88", "192.0.2.99", "2001:db8:c3::42", "203.0.113.78"])
            ua = "kube-probe/1.31" if uri == "/healthz" else self.rng.choice(browsers)
            r = Request(self.pick_time(None), ip, m, h, uri, status, self.size_for(status), self.rt(), ua=ua)
            if uri == "/account":
                r.referer = "https://app.example.com/"
            self.requests.append(r)
        if basic_auth:   # client_secret_basic at the token endpoint: an Authorization header with no JWT
            r = Request(self.pick_time(None), "10.30.0.9", "POST", "issuer.example.com", "/oauth2/token", 200, 1187,
                        self.rt(), ua=USER_AGENTS["go"], auth="Basic c3ZjLWxlZ2FjeTpub3QtYS1yZWFsLXNlY3JldA==",
                        body="grant_type=client_credentials&scope=orders%3Aread")
            self.requests.append(r)

    def ordered(self) -> list[Request]:
        reqs = sorted(self.requests, key=lambda r: (r.t, r.ip, r.uri))
        for r in reqs:
            r.port = self.rng.randint(32768, 60999)
        return reqs


# --- renderers -------------------------------------------------------------------------------------------------

def clf_time(t: float) -> str:
    return dt.datetime.fromtimestamp(t, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def dash(v: Optional[str]) -> str:
    return "-" if v is None or v == "" else v


NGINX_EXT_FORMAT = ("log_format tokenaudit '$remote_addr - $remote_user [$time_local] \"$request\" $status "
                    "$body_bytes_sent \"$http_referer\" \"$http_user_agent\" \"$http_authorization\" "
                    "\"$http_cookie\" \"$http_x_forwarded_for\" \"$request_body\"';")


def render_nginx_ext(r: Request) -> str:
    return (f'{r.ip} - - [{clf_time(r.t)}] "{r.method} {r.uri} HTTP/1.1" {r.status} {r.size} '
            f'"{dash(r.referer)}" "{dash(r.ua)}" "{dash(r.auth)}" "{dash(r.cookie)}" "{dash(r.xff)}" '
            f'"{dash(r.body)}"')


APACHE_FORMAT = ('LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\" '
                 '\\"%{Authorization}i\\" %D" tokenaudit')


def render_apache(r: Request) -> str:
    size = "-" if r.size == 0 else str(r.size)
    return (f'{r.ip} - - [{clf_time(r.t)}] "{r.method} {r.uri} HTTP/1.1" {r.status} {size} '
            f'"{dash(r.referer)}" "{dash(r.ua)}" "{dash(r.auth)}" {int(r.rt * 1_000_000)}')


NGINX_CUSTOM_FORMAT = ("log_format tokenaudit_iso '$time_iso8601 $remote_addr $host $request_time \"$request\" "
                       "$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" \"$http_authorization\"';")


def render_nginx_custom(r: Request) -> str:
    t = dt.datetime.fromtimestamp(int(r.t), UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return (f'{t} {r.ip} {r.host} {r.rt:.3f} "{r.method} {r.uri} HTTP/1.1" {r.status} {r.size} '
            f'"{dash(r.referer)}" "{dash(r.ua)}" "{dash(r.auth)}"')


def render_caddy(r: Request) -> str:
    headers = {"User-Agent": [r.ua], "Accept": ["application/json" if r.uri.startswith("/v1") else "*/*"],
               "Accept-Encoding": ["gzip, deflate, br"]}
    if r.auth:
        headers["Authorization"] = [r.auth]
    if r.cookie:
        headers["Cookie"] = [r.cookie]
    if r.referer:
        headers["Referer"] = [r.referer]
    obj = {
        "level": "info", "ts": round(r.t + 0.000123, 7), "logger": "http.log.access.log0", "msg": "handled request",
        "request": {"remote_ip": r.ip, "remote_port": str(r.port), "client_ip": r.ip, "proto": "HTTP/2.0",
                    "method": r.method, "host": r.host, "uri": r.uri, "headers": headers,
                    "tls": {"resumed": False, "version": 772, "cipher_suite": 4865, "proto": "h2",
                            "server_name": r.host}},
        "bytes_read": 0, "user_id": "", "duration": r.rt, "size": r.size, "status": r.status,
        "resp_headers": {"Server": ["Caddy"], "Content-Type": ["application/json"]},
    }
    return json.dumps(obj, separators=(",", ":"))


NGINX_JSON_FORMAT = ("log_format tokenaudit_json escape=json '{\"time_iso8601\":\"$time_iso8601\","
                     "\"remote_addr\":\"$remote_addr\",\"host\":\"$host\",\"request\":\"$request\","
                     "\"status\":$status,\"body_bytes_sent\":$body_bytes_sent,\"request_time\":$request_time,"
                     "\"http_referer\":\"$http_referer\",\"http_user_agent\":\"$http_user_agent\","
                     "\"http_authorization\":\"$http_authorization\",\"http_cookie\":\"$http_cookie\"}';")


def render_nginx_json(r: Request) -> str:
    t = dt.datetime.fromtimestamp(int(r.t), UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    esc = lambda s: json.dumps(s or "")[1:-1]  # noqa: E731  (escape=json: unset variables become "")
    return ('{"time_iso8601":"%s","remote_addr":"%s","host":"%s","request":"%s","status":%d,'
            '"body_bytes_sent":%d,"request_time":%.3f,"http_referer":"%s","http_user_agent":"%s",'
            '"http_authorization":"%s","http_cookie":"%s"}' % (
                t, r.ip, r.host, esc(f"{r.method} {r.uri} HTTP/1.1"), r.status, r.size, r.rt, esc(r.referer),
                esc(r.ua), esc(r.auth), esc(r.cookie)))


def render_traefik(r: Request, count: int) -> str:
    start = dt.datetime.fromtimestamp(r.t, UTC)
    dur = int(r.rt * 1e9)
    obj = {
        "ClientAddr": f"{'[' + r.ip + ']' if ':' in r.ip else r.ip}:{r.port}", "ClientHost": r.ip,
        "ClientPort": str(r.port), "ClientUsername": "-", "DownstreamContentSize": r.size,
        "DownstreamStatus": r.status, "Duration": dur, "OriginContentSize": r.size, "OriginDuration": dur - 91000,
        "OriginStatus": r.status, "Overhead": 91000, "RequestAddr": r.host, "RequestContentSize": 0,
        "RequestCount": count, "RequestHost": r.host, "RequestMethod": r.method, "RequestPath": r.uri,
        "RequestPort": "-", "RequestProtocol": "HTTP/2.0", "RequestScheme": "https", "RetryAttempts": 0,
        "RouterName": "api@docker", "ServiceAddr": "172.18.0.7:8080", "ServiceName": "api@docker",
        "ServiceURL": "http://172.18.0.7:8080", "StartLocal": start.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z",
        "StartUTC": start.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z", "entryPointName": "websecure",
        "level": "info", "msg": "",
    }
    if r.auth:
        obj["request_Authorization"] = r.auth
    if r.referer:
        obj["request_Referer"] = r.referer
    obj["request_User-Agent"] = r.ua
    obj["time"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(obj, separators=(",", ":"))


ENVOY_FORMAT = {
    "start_time": "%START_TIME%", "method": "%REQ(:METHOD)%", "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "protocol": "%PROTOCOL%", "response_code": "%RESPONSE_CODE%", "response_flags": "%RESPONSE_FLAGS%",
    "bytes_received": "%BYTES_RECEIVED%", "bytes_sent": "%BYTES_SENT%", "duration": "%DURATION%",
    "upstream_service_time": "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%", "x_forwarded_for": "%REQ(X-FORWARDED-FOR)%",
    "user_agent": "%REQ(USER-AGENT)%", "request_id": "%REQ(X-REQUEST-ID)%", "authority": "%REQ(:AUTHORITY)%",
    "upstream_host": "%UPSTREAM_HOST%", "downstream_remote_address": "%DOWNSTREAM_REMOTE_ADDRESS%",
    "referer": "%REQ(REFERER)%", "authorization": "%REQ(AUTHORIZATION)%",
}


def render_envoy(r: Request, rid: str) -> str:
    start = dt.datetime.fromtimestamp(r.t, UTC)
    ms = int(r.rt * 1000)
    obj = {
        "start_time": start.strftime("%Y-%m-%dT%H:%M:%S.") + f"{start.microsecond // 1000:03d}Z",
        "method": r.method, "path": r.uri, "protocol": "HTTP/2", "response_code": r.status,
        "response_flags": "NR" if r.status == 404 and r.uri.startswith("/wp") else "-",
        "bytes_received": 0, "bytes_sent": r.size, "duration": ms, "upstream_service_time": str(max(ms - 1, 0)),
        "x_forwarded_for": r.ip, "user_agent": r.ua, "request_id": rid, "authority": r.host,
        "upstream_host": "10.40.1.12:8080", "downstream_remote_address": (f"[{r.ip}]" if ":" in r.ip else r.ip)
        + f":{r.port}", "referer": r.referer, "authorization": r.auth,
    }
    return json.dumps(dict(sorted(obj.items())), separators=(",", ":"))


HAPROXY_FRONTENDS = {
    "fe_api": 1024,       # capture request header Authorization len 1024
    "fe_mobile": 512,     # capture request header Authorization len 512  -> cuts RS256 tokens
    "fe_partner": 64,     # capture request header Authorization len 64   -> cuts every token
}


def render_haproxy(r: Request, pid: int) -> str:
    t = dt.datetime.fromtimestamp(r.t, UTC)
    sys_ts = t.strftime("%b %d %H:%M:%S")
    tr = t.strftime("%d/%b/%Y:%H:%M:%S.") + f"{t.microsecond // 1000:03d}"
    fe = r.frontend or "fe_api"
    limit = HAPROXY_FRONTENDS[fe]
    auth = (r.auth or "")[:limit]
    ua = r.ua[:128]
    ms = int(r.rt * 1000)
    server = "be_api/api1" if r.status != 404 else "be_api/api2"
    return (f"{sys_ts} lb1 haproxy[{pid}]: {r.ip}:{r.port} [{tr}] {fe}~ {server} 0/0/1/{max(ms - 2, 0)}/{ms} "
            f"{r.status} {r.size + 230} - - ---- 12/12/3/1/0 0/0 {{{auth}|{r.host[:64]}|{ua}}} "
            f'"{r.method} {r.uri} HTTP/1.1"')


# ---------------------------------------------------------------------------------------------------------------
# Scenarios: which token goes where, with what status. One builder per log file.
# ---------------------------------------------------------------------------------------------------------------

def scen_nginx(tokens):
    spans = {"access.log.2.gz": (DAY_START, at(9, 30) - 1), "access.log.1": (at(9, 30), at(15, 30) - 1),
             "access.log": (at(15, 30), DAY_END)}
    b2 = LogBuilder(tokens, 1002, spans["access.log.2.gz"])
    b2.use("rsa1024", n=6, statuses=(200, 200, 204, 200, 200, 200))
    b2.use("valid-rs256", n=5, statuses=(200, 200, 204, 200, 404))
    b2.use("valid-rs256", "query", n=2, path="/v1/export?format=csv")
    b2.use("expired", n=3, statuses=(401,))
    b2.use("jwtio-default", n=2, statuses=(401,))
    b2.use("jwe", n=2)
    b2.use("not-json-payload", n=2, statuses=(401,))
    b2.fill(basic_auth=True)

    b1 = LogBuilder(tokens, 1001, spans["access.log.1"])
    b1.use("valid-rs256", n=4, statuses=(200, 200, 204, 200))
    b1.use("id-token", "body-idtoken", statuses=(302,))
    b1.use("valid-es256", "dpop")
    b1.use("valid-es256", n=4, statuses=(200, 200, 204, 403))
    b1.use("valid-es256", "cookie", n=2)
    b1.use("valid-es256", "bearer+cookie")
    b1.use("client-assertion", "body-assertion")
    b1.use("client-assertion", statuses=(401,), path="/v1/invoices?year=2026")
    b1.use("scope-admin", n=6, statuses=(200, 200, 200, 204, 200, 200), ips=tokens["scope-admin"].ips + ["203.0.113.150"])
    b1.use("valid-ps256", n=4)
    b1.use("valid-ps256", "bearer-lower")
    b1.use("not-yet-valid", n=3, statuses=(401,))
    b1.use("scope-many", n=3)
    b1.use("valid-eddsa", n=3)
    b1.use("valid-eddsa", "bearer+referer")
    b1.use("alg-none", n=2, statuses=(401,))
    b1.use("alg-none-case", n=2, statuses=(401,))
    b1.use("valid-hs256", n=2, host="internal-api.example.com")
    b1.fill(basic_auth=True)

    b0 = LogBuilder(tokens, 1000, spans["access.log"])
    b0.use("valid-hs256", n=3, statuses=(200, 204, 200))
    b0.use("valid-es384", n=4)
    b0.use("valid-es384", "query", path="/v1/reports/daily.csv")
    b0.use("not-yet-valid", n=2, statuses=(401,))
    b0.use("bad-signature", n=3, statuses=(401,))
    b0.use("malformed", n=2, statuses=(401,))
    b0.use("unknown-kid", n=3, statuses=(401,))
    b0.use("missing-aud", n=3)
    b0.use("expired", n=3, statuses=(200, 401, 401))
    b0.use("retired-key", n=3, statuses=(200, 200, 204))
    b0.fill()
    return [("nginx/access.log.2.gz", b2), ("nginx/access.log.1", b1), ("nginx/access.log", b0)]


def scen_apache(tokens):
    b = LogBuilder(tokens, 2000, (DAY_START, DAY_END))
    b.use("rsa1024", n=3)
    b.use("valid-rs256", n=3, statuses=(200, 200, 404))
    b.use("valid-rs256", "bearer+referer")
    b.use("alg-none", n=3, statuses=(200, 401, 401), ips=["198.51.100.66", "198.51.100.67", "198.51.100.67"])
    b.use("jwtio-default", n=2, statuses=(401,))
    b.use("valid-ps256", n=3)
    b.use("scope-many", n=2)
    b.use("expired", n=2, statuses=(401,))
    b.use("valid-es384", n=3, statuses=(200, 204, 200))
    b.use("missing-aud", n=2)
    b.use("valid-eddsa", "query", path="/v1/orders?status=open")
    b.fill()
    return [("apache/access_log.zst", b)]


def scen_nginx_custom(tokens):
    b = LogBuilder(tokens, 3000, (DAY_START, DAY_END))
    b.use("valid-rs256", n=3)
    b.use("valid-es256", n=3, statuses=(200, 200, 404))
    b.use("weak-secret", n=4, statuses=(200, 200, 200, 204))
    b.use("retired-key", n=2)
    b.use("unknown-kid", n=2, statuses=(401,))
    b.use("valid-hs256", n=3, host="internal-api.example.com")
    b.use("bad-signature", n=2, statuses=(401,))
    b.use("expired", n=2, statuses=(401,))
    b.use("valid-ps256", "query", path="/v1/orders?page=1")
    b.fill()
    return [("nginx-custom/access.log", b)]


def scen_caddy(tokens):
    b = LogBuilder(tokens, 4000, (DAY_START, DAY_END))
    b.use("id-token", n=2)
    b.use("bad-signature", n=3, statuses=(200, 401, 401))
    b.use("valid-eddsa", n=3)
    b.use("valid-es256", "cookie")
    b.use("valid-ps256", n=3, statuses=(200, 204, 200))
    b.use("alg-none-case", statuses=(401,))
    b.use("valid-es384", n=2)
    b.use("valid-ps256", "query", path="/v1/invoices?year=2026")
    b.use("not-yet-valid", n=2, statuses=(401,))
    b.fill()
    return [("caddy/access.json", b)]


def scen_nginx_json(tokens):
    b = LogBuilder(tokens, 5000, (DAY_START, DAY_END))
    b.use("valid-rs256", n=3)
    b.use("valid-es256", n=2)
    b.use("scope-many", n=2)
    b.use("unknown-kid", statuses=(401,))
    b.use("missing-aud", n=2)
    b.use("malformed", statuses=(401,))
    b.use("jwe")
    b.use("not-json-payload", statuses=(401,))
    b.use("valid-eddsa", "cookie")
    b.use("expired", n=2, statuses=(401,))
    b.fill()
    return [("nginx-json/access.log", b)]


def scen_traefik(tokens):
    b = LogBuilder(tokens, 6000, (DAY_START, DAY_END))
    b.use("unknown-kid", n=3, statuses=(200, 401, 401))
    b.use("valid-es384", n=3)
    b.use("valid-eddsa", n=2)
    b.use("alg-none", statuses=(401,), ips=["198.51.100.67"])
    b.use("retired-key", n=1)
    b.use("weak-secret", n=2)
    b.use("valid-es256", "query", path="/v1/profile")
    b.use("valid-rs256", n=2, statuses=(200, 404))
    b.fill()
    return [("traefik/access.json", b)]


def scen_envoy(tokens):
    b = LogBuilder(tokens, 7000, (DAY_START, DAY_END))
    b.use("retired-key", n=2)
    b.use("valid-ps256", n=3)
    b.use("valid-hs256", n=2, host="internal-api.example.com")
    b.use("expired", n=2, statuses=(401,))
    b.use("not-yet-valid", n=2, statuses=(401,))
    b.use("valid-rs256", n=2)
    b.use("scope-many", statuses=(403,))
    b.fill()
    return [("envoy/access.json", b)]


def scen_haproxy(tokens):
    b = LogBuilder(tokens, 8000, (DAY_START, DAY_END))
    b.use("valid-rs256", n=3, frontend="fe_api")
    b.use("valid-ps256", n=2, frontend="fe_api")
    b.use("unknown-kid", statuses=(401,), frontend="fe_api")
    b.use("valid-es384", n=2, frontend="fe_api")
    b.use("bad-signature", statuses=(401,), frontend="fe_api")
    b.use("expired", statuses=(401,), frontend="fe_api")
    b.use("truncated", n=3, frontend="fe_mobile")
    b.use("valid-es256", n=2, frontend="fe_mobile")
    b.use("valid-eddsa", n=2, frontend="fe_mobile")
    b.fill()
    # One partner request whose 64-byte capture cut valid-rs256 inside its header segment.
    tok = tokens["valid-rs256"]
    r = Request(b.pick_time(tok), "192.0.2.70", "GET", "partner-api.example.com", "/v1/orders?since=2026-11-27",
                200, 2311, 0.041, ua=USER_AGENTS["legacy"], auth="Bearer " + tok.value, frontend="fe_partner")
    captured = r.auth[:64]
    r.fragment = {"fragment_of": tok.file, "captured_value": captured, "captured_length": len(captured),
                  "capture_len": 64, "fingerprint": sha256_hex(captured[len("Bearer "):])}
    b.requests.append(r)
    for req in b.requests:
        if req.auth and req.frontend:
            limit = HAPROXY_FRONTENDS[req.frontend]
            # Every token in fe_api/fe_mobile must survive its capture except the deliberate truncations.
            if req.occ and req.occ[0].token != "truncated":
                assert len(req.auth) <= limit, (req.occ[0].token, req.frontend, len(req.auth))
    return [("haproxy/haproxy.log", b)]


def scen_misc(tokens):
    b = LogBuilder(tokens, 9000, (DAY_START, DAY_END))
    b.use("valid-rs256", "unknown", n=2)
    b.use("bad-signature", "unknown")
    b.use("expired", "unknown")
    b.use("valid-es256", "unknown")
    b.use("weak-secret", "unknown")
    b.use("valid-eddsa", "unknown")
    b.use("scope-many", "unknown")
    b.fill(fraction_tokenless=0.7)
    return [("misc/app.log", b)]


APP_TEMPLATES_TOKEN = [
    "{ts} WARN  [http-nio-8080-exec-{n}] c.e.gateway.AuthFilter - token rejected: {why}, token={tok}",
    "{ts} DEBUG [scheduler-{n}] c.e.sync.UpstreamClient - calling https://partner.example.net/v2/sync "
    "with headers {{Authorization=Bearer {tok}, Accept=application/json}}",
    "{ts} INFO  [http-nio-8080-exec-{n}] c.e.orders.OrderController - created order 10{n}77 for caller "
    "jwt:{tok} (sub resolved later)",
]
APP_TEMPLATES_PLAIN = [
    "{ts} INFO  [main] c.e.orders.Application - Started Application in 7.412 seconds (process running for 8.1)",
    "{ts} INFO  [http-nio-8080-exec-{n}] c.e.gateway.AuthFilter - accepted sub=user-48213 path=/v1/orders",
    "{ts} WARN  [HikariPool-1 housekeeper] c.z.hikari.pool.HikariPool - HikariPool-1 - Thread starvation or "
    "clock leap detected (housekeeper delta=1m2s).",
    "{ts} ERROR [http-nio-8080-exec-{n}] c.e.orders.OrderController - lookup failed\n"
    "java.lang.IllegalStateException: order 10482 not found\n"
    "\tat com.example.orders.OrderService.find(OrderService.java:88)\n"
    "\tat com.example.orders.OrderController.get(OrderController.java:41)",
]


def render_app(r: Request, i: int, rng: random.Random) -> str:
    t = dt.datetime.fromtimestamp(r.t, UTC)
    ts = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    n = rng.randint(1, 9)
    if r.occ:
        tok_name = r.occ[0].token
        why = {"bad-signature": "signature check failed", "expired": "token expired",
               "weak-secret": "issuer not trusted"}.get(tok_name, "introspection timed out")
        return APP_TEMPLATES_TOKEN[i % len(APP_TEMPLATES_TOKEN)].format(ts=ts, n=n, why=why, tok=r.app_text)
    return APP_TEMPLATES_PLAIN[i % len(APP_TEMPLATES_PLAIN)].format(ts=ts, n=n)


# ---------------------------------------------------------------------------------------------------------------
# Expected-data bookkeeping
# ---------------------------------------------------------------------------------------------------------------

def occurrence_rules(tok: Token, loc: str, status: Optional[int], line_locs: set) -> list:
    """Log-context rules the catalogue says this occurrence triggers (group A, H and N)."""
    rules = []
    if loc == "query":
        rules.append("token-in-url-query")
    elif loc == "referer":
        rules.append("token-in-referer")
    elif loc == "cookie":
        rules.append("token-in-cookie")
    credential = loc in ("authorization-bearer", "authorization-dpop", "query", "cookie")
    if loc.startswith("authorization"):
        if tok.kind == "id":
            rules.append("id-token-as-bearer")
        if tok.kind == "client-assertion":
            rules.append("client-assertion-as-bearer")
        if line_locs & {"query", "cookie", "body"}:
            rules.append("multiple-token-methods")
    if credential and status is not None and status in ACCEPTED:
        for base in tok.rules + rules:
            if base in ESCALATIONS and ESCALATIONS[base] not in rules:
                rules.append(ESCALATIONS[base])
    return rules


def network_of(ip: str) -> str:
    addr = ipaddress.ip_address(ip)
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def check_forgery_pacing(requests: list[Request], tokens: dict[str, Token], path: str):
    """Keeps forged-token-probing (>= 5 forged tokens from one source in 10 min) from firing by accident."""
    forged = [(r.t, r.ip) for r in requests for o in r.occ if set(tokens[o.token].rules) & FORGED_RULES]
    for t, ip in forged:
        n = sum(1 for t2, ip2 in forged if ip2 == ip and t <= t2 < t + 600)
        assert n <= 4, f"{path}: {n} forged tokens from {ip} within 10 min"


# ---------------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------------

FORMATS = {
    "nginx": ("nginx-combined-tokenaudit", NGINX_EXT_FORMAT),
    "apache": ("apache-custom", APACHE_FORMAT),
    "nginx-custom": ("nginx-custom-iso8601", NGINX_CUSTOM_FORMAT),
    "caddy": ("caddy-json", "Caddy JSON access log (log directive, format json; servers { log_credentials })"),
    "nginx-json": ("nginx-json", NGINX_JSON_FORMAT),
    "traefik": ("traefik-json", "Traefik accessLog format json; fields.headers.names: Authorization, Referer, "
                                "User-Agent = keep"),
    "envoy": ("envoy-json", "Envoy file access log, log_format.json_format = " + json.dumps(ENVOY_FORMAT)),
    "haproxy": ("haproxy-httplog", "HAProxy option httplog via syslog; captures: Authorization (len 1024/512/64 "
                                   "per frontend), Host len 64, User-Agent len 128"),
    "misc": ("fallback", "none (application log; tokens found by the fallback scanner)"),
}

# Locations each format can carry (a scenario asking for anything else is a bug in this script).
CAPS = {
    "nginx": {"authorization-bearer", "authorization-dpop", "query", "cookie", "referer", "body"},
    "apache": {"authorization-bearer", "authorization-dpop", "query", "referer"},
    "nginx-custom": {"authorization-bearer", "authorization-dpop", "query", "referer"},
    "caddy": {"authorization-bearer", "authorization-dpop", "query", "cookie", "referer"},
    "nginx-json": {"authorization-bearer", "authorization-dpop", "query", "cookie", "referer"},
    "traefik": {"authorization-bearer", "authorization-dpop", "query", "referer"},
    "envoy": {"authorization-bearer", "authorization-dpop", "query", "referer"},
    "haproxy": {"authorization-bearer", "authorization-dpop", "query"},
    "misc": {"unknown"},
}


def render_file(kind: str, reqs: list[Request]) -> list[str]:
    out = []
    rng = random.Random(len(reqs) * 31 + len(kind))
    for i, r in enumerate(reqs):
        if kind == "nginx":
            out.append(render_nginx_ext(r))
        elif kind == "apache":
            out.append(render_apache(r))
        elif kind == "nginx-custom":
            out.append(render_nginx_custom(r))
        elif kind == "caddy":
            out.append(render_caddy(r))
        elif kind == "nginx-json":
            out.append(render_nginx_json(r))
        elif kind == "traefik":
            out.append(render_traefik(r, 4200 + i))
        elif kind == "envoy":
            out.append(render_envoy(r, str(uuid.UUID(int=rng.getrandbits(128), version=4))))
        elif kind == "haproxy":
            out.append(render_haproxy(r, 2211))
        elif kind == "misc":
            out.append(render_app(r, i, rng))
    return out


def write_log(rel: str, kind: str, builder: LogBuilder, tokens: dict[str, Token]) -> dict:
    reqs = builder.ordered()
    for r in reqs:
        for o in r.occ:
            assert o.location in CAPS[kind], (rel, o.location)
            tok = tokens[o.token]
            if tok.claims and "exp" in tok.claims and tok.name not in ("expired",):
                assert tok.use_from <= r.t <= tok.use_to, (rel, tok.name)
        if kind == "misc" and r.occ:
            r.app_text = tokens[r.occ[0].token].value
    check_forgery_pacing(reqs, tokens, rel)
    rendered = render_file(kind, reqs)

    # Line numbers: a rendered record may span several physical lines (the app log's stack trace).
    occurrences, fragments, line_no = [], [], 0
    token_lines = 0
    for r, text in zip(reqs, rendered):
        first = line_no + 1
        line_no += text.count("\n") + 1
        if r.occ:
            token_lines += 1
        line_locs = {o.location for o in r.occ}
        for o in r.occ:
            tok = tokens[o.token]
            status = None if kind == "misc" else r.status
            occurrences.append({
                "line": first, "token": tok.file, "location": o.location, "status": status,
                "time": iso(r.t), "client_ip": None if kind == "misc" else r.ip,
                "host": None if kind in ("nginx", "apache", "misc") else r.host,
                "rules": occurrence_rules(tok, o.location, status, line_locs),
            })
            assert tok.value in text, (rel, tok.name)
        if r.fragment:
            fragments.append(dict(line=first, location="authorization-bearer", status=r.status, **r.fragment))
    data = ("\n".join(rendered) + "\n").encode("utf-8")
    path = LOGS / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    compression = "none"
    if rel.endswith(".gz"):
        compression = "gzip"
        buf = io.BytesIO()
        with gzip.GzipFile(filename=Path(rel).stem, mode="wb", fileobj=buf, mtime=at(9, 30)) as gz:
            gz.write(data)
        path.write_bytes(buf.getvalue())
    elif rel.endswith(".zst"):
        compression = "zstd"
        subprocess.run(["zstd", "-q", "-f", "-19", "--no-progress", "-o", str(path)], input=data, check=True)
    else:
        path.write_bytes(data)
    fmt_id, fmt_string = FORMATS[kind]
    return {
        "path": "logs/" + rel, "format": fmt_id, "format_string": fmt_string, "compression": compression,
        "lines": line_no, "records": len(reqs), "token_bearing_lines": token_lines,
        "tokenless_lines": line_no - token_lines, "first_time": iso(reqs[0].t), "last_time": iso(reqs[-1].t),
        "occurrences": occurrences, "fragments": fragments,
    }


def write_bad(tokens: dict[str, Token]) -> list[dict]:
    bad = LOGS / "bad"
    bad.mkdir(parents=True, exist_ok=True)
    entries = []

    # 1. A gzip file cut in the middle, as a copy interrupted mid-transfer leaves it.
    b = LogBuilder(tokens, 11000, (DAY_START, DAY_END))
    b.use("valid-rs256", n=12)
    b.use("valid-ps256", n=12)
    b.use("valid-es384", n=12)
    b.use("expired", n=12, statuses=(401,))
    b.fill()
    reqs = b.ordered()
    lines = [render_nginx_ext(r) for r in reqs]
    data = ("\n".join(lines) + "\n").encode()
    buf = io.BytesIO()
    with gzip.GzipFile(filename="access.log.3", mode="wb", fileobj=buf, mtime=at(0, 0)) as gz:
        gz.write(data)
    whole = buf.getvalue()
    cut = whole[: len(whole) // 2]
    (bad / "truncated.log.gz").write_bytes(cut)
    recovered = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(cut)
    complete = recovered.count(b"\n")
    occ = [{"line": i + 1, "token": tokens[o.token].file, "location": o.location, "status": r.status}
           for i, r in enumerate(reqs[:complete]) for o in r.occ]
    entries.append({
        "path": "logs/bad/truncated.log.gz", "format": "nginx-combined-tokenaudit", "format_string": NGINX_EXT_FORMAT,
        "compression": "gzip", "expect": "read error (unexpected end of gzip stream) after the recoverable lines",
        "original_lines": len(lines), "compressed_bytes": len(cut), "original_compressed_bytes": len(whole),
        "recoverable_complete_lines": complete, "recoverable_bytes": len(recovered),
        "recoverable_token_bearing_lines": sum(1 for r in reqs[:complete] if r.occ),
        "occurrences_in_recoverable_lines": occ,
    })

    # 2. Binary garbage.
    garbage = random.Random(666).randbytes(8192)
    (bad / "binary-garbage.log").write_bytes(garbage)
    entries.append({"path": "logs/bad/binary-garbage.log", "format": "unknown", "compression": "none",
                    "expect": "no tokens; the file is counted and reported (not a log)", "bytes": len(garbage),
                    "newline_bytes": garbage.count(b"\n"), "token_bearing_lines": 0, "occurrences": []})

    # 3. Normal nginx lines around one invalid-UTF-8 line and one 100 KiB line.
    b = LogBuilder(tokens, 12000, (at(9, 0), at(13, 0)))
    b.use("valid-rs256", n=6)
    b.use("valid-es256", n=6)
    b.fill()
    reqs = b.ordered()
    raw_lines = [render_nginx_ext(r).encode() for r in reqs]
    invalid_at, long_at = 4, 9    # 0-based indexes where the two odd lines are inserted
    bad_utf8 = (b'203.0.113.77 - - [28/Nov/2026:10:11:12 +0000] "GET /static/app.3f9c1e.js HTTP/1.1" 200 5120 '
                b'"-" "Mozilla/5.0 \xff\xfe\xc3( broken-agent" "-" "-" "-" "-"')
    head = b'198.51.100.88 - - [28/Nov/2026:11:02:03 +0000] "GET /search?q='
    tail = b' HTTP/1.1" 414 0 "-" "curl/8.5.0" "-" "-" "-" "-"'
    long_line = head + b"A" * (102400 - len(head) - len(tail)) + tail
    assert len(long_line) == 102400
    raw_lines.insert(invalid_at, bad_utf8)
    raw_lines.insert(long_at, long_line)
    (bad / "mixed.log").write_bytes(b"\n".join(raw_lines) + b"\n")
    occ, ln = [], 0
    req_iter = iter(reqs)
    token_lines = 0
    for idx, raw in enumerate(raw_lines):
        if idx in (invalid_at, long_at):
            continue
        r = next(req_iter)
        if r.occ:
            token_lines += 1
        for o in r.occ:
            occ.append({"line": idx + 1, "token": tokens[o.token].file, "location": o.location, "status": r.status})
    entries.append({
        "path": "logs/bad/mixed.log", "format": "nginx-combined-tokenaudit", "format_string": NGINX_EXT_FORMAT,
        "compression": "none", "lines": len(raw_lines), "token_bearing_lines": token_lines,
        "invalid_utf8_line": invalid_at + 1, "long_line": long_at + 1, "long_line_bytes": len(long_line),
        "expect": "every normal line is read; the invalid-UTF-8 and the 100 KiB line carry no token and are "
                  "either parsed or counted as skipped, never fatal",
        "occurrences": occ,
    })
    return entries


LOG_READMES = {
    "nginx": ("nginx `combined` plus four quoted fields",
              "Three files of one server, rotated by size during the day (oldest first): `access.log.2.gz` "
              "(00:00–09:30Z, gzip), `access.log.1` (09:30–15:30Z), `access.log` (15:30–24:00Z).",
              "```nginx\n" + NGINX_EXT_FORMAT + "\naccess_log /var/log/nginx/access.log tokenaudit;\n```\n\n"
              "Empty values are logged as `-`. `$request_body` is only filled for proxied requests whose body "
              "nginx read (the POSTs to `/oauth2/token` and `/callback`). `$time_local` is in UTC (+0000)."),
    "apache": ("Apache httpd custom LogFormat, zstd-compressed",
               "`access_log.zst`: one zstd frame (`zstd -19`), decompress with `zstd -dc`.",
               "```apache\n" + APACHE_FORMAT + "\nCustomLog /var/log/apache2/access_log tokenaudit\n```\n\n"
               "The file was compressed at rotation with `zstd -19`.\n\nThe LogFormat string itself (without the Apache quoting) is:\n\n```\n"
               + APACHE_FORMAT[len('LogFormat "'):-len('" tokenaudit')].replace('\\"', '"') + "\n```\n\n"
               "`%b` is `-` for an empty body; `%D` is the request duration in microseconds; `%t` is UTC (+0000)."),
    "nginx-custom": ("nginx custom log_format, ISO-8601 time first",
                     "`access.log`: fields in a different order from `combined`, with `$host` and "
                     "`$request_time` (seconds, millisecond resolution).",
                     "```nginx\n" + NGINX_CUSTOM_FORMAT + "\naccess_log /var/log/nginx/access.log tokenaudit_iso;\n```"),
    "caddy": ("Caddy JSON access log", "`access.json`: one JSON object per line (`ts` is a float Unix time).",
              "```caddy\n{\n\tservers {\n\t\tlog_credentials\n\t}\n}\n\napi.example.com {\n\tlog {\n"
              "\t\toutput file /var/log/caddy/access.json\n\t\tformat json\n\t}\n\treverse_proxy 127.0.0.1:8080\n}\n```"
              "\n\nWithout `log_credentials`, Caddy writes `\"Authorization\":[\"REDACTED\"]` (and the same for "
              "Cookie, Set-Cookie and Proxy-Authorization). Tokens are in `request.headers.Authorization[0]`, "
              "`request.headers.Cookie[0]`, `request.headers.Referer[0]` and `request.uri`."),
    "nginx-json": ("nginx JSON log_format (escape=json)", "`access.log`: one JSON object per line.",
                   "```nginx\n" + NGINX_JSON_FORMAT + "\naccess_log /var/log/nginx/access.log tokenaudit_json;\n```"
                   "\n\nWith `escape=json`, unset variables are written as empty strings (not `-`); `status`, "
                   "`body_bytes_sent` and `request_time` are bare numbers."),
    "traefik": ("Traefik JSON access log", "`access.json`: one JSON object per line.",
                "```yaml\naccessLog:\n  filePath: /var/log/traefik/access.json\n  format: json\n  fields:\n"
                "    headers:\n      defaultMode: drop\n      names:\n        Authorization: keep\n"
                "        Referer: keep\n        User-Agent: keep\n```\n\nKept headers appear as "
                "`request_<Name>` members (`request_Authorization`). `RequestPath` includes the query string."),
    "envoy": ("Envoy JSON access log (custom json_format)", "`access.json`: one JSON object per line, keys sorted.",
              "```yaml\naccess_log:\n- name: envoy.access_loggers.file\n  typed_config:\n"
              "    \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n"
              "    path: /var/log/envoy/access.json\n    log_format:\n      json_format:\n"
              + "".join(f"        {k}: \"{v}\"\n" for k, v in ENVOY_FORMAT.items()) + "```\n\n"
              "Numbers (`response_code`, `duration`, `bytes_*`) are typed; unset headers are `null`. "
              "`x_forwarded_for` is the client address (Envoy at the edge with `use_remote_address: true`)."),
    "haproxy": ("HAProxy `option httplog` through syslog", "`haproxy.log`: rsyslog lines "
                "(`Mmm dd HH:MM:SS host haproxy[pid]: `) followed by the httplog format.",
                "```haproxy\nglobal\n    log /dev/log local0\ndefaults\n    log global\n    mode http\n"
                "    option httplog\nfrontend fe_api\n    bind :443 ssl crt /etc/haproxy/api.pem\n"
                "    capture request header Authorization len 1024\n    capture request header Host len 64\n"
                "    capture request header User-Agent len 128\n    default_backend be_api\nfrontend fe_mobile\n"
                "    bind :8443 ssl crt /etc/haproxy/api.pem\n    capture request header Authorization len 512\n"
                "    capture request header Host len 64\n    capture request header User-Agent len 128\n"
                "    default_backend be_api\nfrontend fe_partner\n    bind :9443 ssl crt /etc/haproxy/api.pem\n"
                "    capture request header Authorization len 64\n    capture request header Host len 64\n"
                "    capture request header User-Agent len 128\n    default_backend be_api\n```\n\n"
                "httplog is `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc "
                "%ac/%fc/%bc/%sc/%rc %sq/%bq %hr %{+Q}r`; `%hr` is `{Authorization|Host|User-Agent}`. "
                "`fe_mobile` (len 512) cuts RS256 tokens inside the signature: that is `tokens/truncated.jwt`. "
                "`fe_partner` (len 64) cut one token inside its header segment (see `fragments` in expected.json)."),
    "misc": ("Application log (no standard format)", "`app.log`: a Java-style application log with ISO-8601 "
             "timestamps, a multi-line stack trace, and tokens embedded in free text; no status codes.",
             "No format string: the scanner's fallback extraction finds the token shapes and the first ISO "
             "timestamp of the line."),
    "bad": ("Broken inputs", "The scanner must count, report and skip these, never crash or lose other files.",
            "* `truncated.log.gz`: an nginx-format gzip file cut at half its compressed size.\n"
            "* `binary-garbage.log`: 8 KiB of random bytes.\n"
            "* `mixed.log`: nginx-format lines with one invalid-UTF-8 line and one 102,400-byte line "
            "(line numbers in expected.json `bad_logs`)."),
}


def write_log_readmes():
    for folder, (title, what, how) in LOG_READMES.items():
        text = (f"# {title}\n\nGenerated by `scripts/make-samples.py` (do not edit by hand). Log day 2026-11-28 (UTC). "
                f"Every token and key here is a test artefact.\n\n{what}\n\n## Format\n\n{how}\n")
        (LOGS / folder / "README.md").write_text(text)


SAMPLES_README_HEAD = """# TokenAudit sample data

> **Every key and token in this folder is a TEST ARTEFACT.** The private keys in `private/` and the HMAC
> secret in `keys/hmac.jwk.json` were generated for these samples, are published in this repository, and
> protect nothing. Never configure them anywhere real. The host names use `example.com`, and the client
> addresses use the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32).

Generated by `scripts/make-samples.py` (python3 + `cryptography`, plus the `zstd` tool). Regenerate with:

```sh
python3 scripts/make-samples.py
```

Re-running is byte-for-byte reproducible: keys are created once and then re-read from `private/` and
`keys/hmac.jwk.json`; choices come from fixed seeds; ECDSA uses RFC 6979 deterministic nonces and the PS256
salt is derived from the message. Delete a key file to rotate that key (and every token it signs).

**Log day: 2026-11-28, UTC.** Every time claim is fixed relative to that day, never to the wall clock, so
a token that is valid in a log line stays valid there forever. Judge tokens at the log line's time.

## Layout

| path | what |
|---|---|
| `keys/jwks.json` | Public JWKS of issuer `https://issuer.example.com` (top-level and per-key `x-issuer`). Kids: rs256-2025 (RSA 2048, RS256), rs256-2024 (RSA 2048, RS256, **retired**: `x-not-after` 2026-06-30T00:00:00Z), ps256 (RSA 2048, PS256), es256 (P-256), es384 (P-384), ed25519 (OKP Ed25519, EdDSA), rsa1024-legacy (RSA 1024, RS256). |
| `keys/hmac.jwk.json` | One symmetric JWK (kty oct, kid hs256-internal, HS256, random 32-byte `k`) of issuer `https://internal.example.com`. It is a secret by nature: a verification key, not a published JWKS. |
| `keys/client-billing-batch.jwks.json` | Public JWKS of the private_key_jwt client `billing-batch` (kid billing-batch-2026, ES256, `x-issuer` = the client id), which verifies `client-assertion.jwt`. |
| `keys/pem/rs256-2025.pem` | The rs256-2025 public key as SPKI PEM (same key as in jwks.json, no kid or issuer metadata). |
| `private/*.pem` | PKCS#8 private keys of all of the above, plus `throwaway-unknown-kid.pem` (signs unknown-kid.jwt; never published). TEST ONLY. |
| `tokens/*.jwt` | One token per file, no trailing newline (table below). |
| `logs/<format>/` | Access logs of 2026-11-28 in every supported format, each with a README giving the exact server configuration (table below). |
| `logs/bad/` | Broken inputs: truncated gzip, binary garbage, invalid UTF-8 and a 100 KiB line. |
| `expected.json` | The oracle for end-to-end tests, written from the same data that produced the logs: per token its fingerprint, alg, kid, intended verification status and rules; per log its format, line counts and every (line, token, location, status) occurrence with its log-context rules. |

Issuers: `https://issuer.example.com` (asymmetric, keys/jwks.json), `https://internal.example.com`
(symmetric, keys/hmac.jwk.json), client `billing-batch` (keys/client-billing-batch.jwks.json). The
legacy issuer `https://legacy.example.com` is deliberately **not** configured.

Access tokens follow RFC 9068: typ `at+jwt`, iss, sub, aud (`https://api.example.com`, or
`https://internal-api.example.com` for the internal issuer), client_id, scope, iat, exp (1 h lifetime), jti.
Each token is only used in log lines inside its own validity window, except where the point is that it is
not (expired, not-yet-valid, retired-key).

## Tokens

Verification status is what a verifier holding `keys/` should conclude. `rules` are the catalogue rule ids
(shared/rules-catalogue.md) the token is built to trigger; `in logs` adds the log-context rules its
occurrences trigger. See `expected.json` for incidental and must-not rules.

| file | alg | kid | verification | rules | in logs |
|---|---|---|---|---|---|
"""


def write_samples_readme(token_entries: list, log_entries: list):
    rows = []
    for t in token_entries:
        extra = [r for r in t["rules_in_logs"] if r not in t["rules"]]
        rows.append(f"| `{t['file'][7:]}` | {t['alg']} | {t['kid'] or '—'} | {t['verification']} | "
                    f"{', '.join(t['rules']) or '—'} | {', '.join(extra) or '—'} |")
    purposes = "\n".join(f"* `{t['file'][7:]}`: {t['purpose']}" for t in token_entries)
    logs = "\n".join(
        f"| `{e['path'][5:]}` | {e['format']} | {e['compression']} | {e['lines']} | {e['token_bearing_lines']} | "
        f"{len(e['occurrences'])} |" for e in log_entries)
    text = (SAMPLES_README_HEAD + "\n".join(rows) + "\n\n" + purposes + "\n\n## Logs\n\n"
            "| file | format id | compression | lines | token lines | occurrences |\n|---|---|---|---|---|---|\n"
            + logs + "\n\n"
            "About 30 % of the request lines carry no token (the app log is mostly tokenless). Tokens travel in "
            "`Authorization: Bearer` (plus one `DPoP` scheme and one lowercase `bearer`), the `access_token` "
            "query parameter, the Cookie header, the Referer, and logged form bodies (`client_assertion` at "
            "`/oauth2/token`, `id_token` at `/callback`). Statuses: 200/204 accepted, 401/403 rejected, "
            "302/304/404 neither. Deliberate escalations: alg-none.jwt answered 200 once (apache), "
            "bad-signature.jwt 200 once (caddy), expired.jwt 200 once (nginx/access.log), unknown-kid.jwt 200 "
            "once (traefik), retired-key.jwt 200 (nginx, nginx-custom, traefik, envoy), id-token.jwt 200 as a "
            "bearer token (caddy). scope-admin.jwt is replayed from 5 networks within an hour in "
            "nginx/access.log.1 (token-multi-ip). HAProxy's 512-byte capture produced truncated.jwt; its "
            "64-byte capture cut one more token inside the header (`fragments` in expected.json).\n\n"
            "Each log folder's README.md gives the exact log_format / LogFormat / config that produces it.\n")
    (SAMPLES / "README.md").write_text(text)


def main() -> int:
    if shutil.which("zstd") is None:
        print("make-samples: the zstd command-line tool is required", file=sys.stderr)
        return 2
    KEYS.mkdir(parents=True, exist_ok=True)
    keys, jwks, client_jwks = {}, [], []
    for spec in KEY_SPECS:
        key = load_or_create_key(spec)
        keys[spec.kid] = key
        if not spec.published:
            continue
        (client_jwks if spec.issuer == CLIENT_ASSERTION_CLIENT else jwks).append(public_jwk(spec, key))
    hmac_jwk = load_or_create_hmac()

    def dump(path: Path, obj):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(obj, indent=2) + "\n")

    dump(KEYS / "jwks.json", {"x-issuer": ISSUER, "keys": jwks})
    dump(KEYS / "client-billing-batch.jwks.json", {"x-issuer": CLIENT_ASSERTION_CLIENT, "keys": client_jwks})
    dump(KEYS / "hmac.jwk.json", hmac_jwk)
    (KEYS / "pem").mkdir(exist_ok=True)
    (KEYS / "pem" / "rs256-2025.pem").write_bytes(keys["rs256-2025"].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    tokens = build_tokens(keys, hmac_jwk)
    if TOKENS.exists():
        for old in TOKENS.glob("*.jwt"):
            old.unlink()
    TOKENS.mkdir(parents=True, exist_ok=True)
    for tok in tokens.values():
        (TOKENS / tok.file).write_text(tok.value)   # no trailing newline

    if LOGS.exists():
        shutil.rmtree(LOGS / "bad", ignore_errors=True)
    log_entries = []
    for kind, scen in (("nginx", scen_nginx), ("apache", scen_apache), ("nginx-custom", scen_nginx_custom),
                       ("caddy", scen_caddy), ("nginx-json", scen_nginx_json), ("traefik", scen_traefik),
                       ("envoy", scen_envoy), ("haproxy", scen_haproxy), ("misc", scen_misc)):
        for rel, builder in scen(tokens):
            log_entries.append(write_log(rel, kind, builder, tokens))
    bad_entries = write_bad(tokens)
    write_log_readmes()

    # token-multi-ip: more than 3 networks within one hour, over all regular logs together.
    uses: dict[str, list] = {}
    for entry in log_entries:
        for o in entry["occurrences"]:
            if o["client_ip"]:
                uses.setdefault(o["token"], []).append((dt.datetime.fromisoformat(o["time"].replace("Z", "+00:00"))
                                                        .timestamp(), network_of(o["client_ip"])))
    multi_ip = set()
    for name, pts in uses.items():
        for t, _ in pts:
            if len({net for t2, net in pts if t <= t2 < t + 3600}) > 3:
                multi_ip.add(name)
    assert multi_ip == {"scope-admin.jwt"}, multi_ip

    # The escalation scenarios the README promises: accepted at least once, and rejected elsewhere.
    def statuses_of(file):
        return [o["status"] for e in log_entries for o in e["occurrences"] if o["token"] == file]
    for file in ("alg-none.jwt", "bad-signature.jwt", "expired.jwt", "unknown-kid.jwt"):
        st = statuses_of(file)
        assert sum(1 for x in st if x in ACCEPTED) == 1 and any(x in REJECTED for x in st), (file, st)
    assert any(x in ACCEPTED for x in statuses_of("retired-key.jwt"))
    assert any(x in ACCEPTED for x in statuses_of("id-token.jwt"))

    token_entries = []
    for tok in tokens.values():
        in_logs = sorted({r for e in log_entries for o in e["occurrences"] if o["token"] == tok.file
                          for r in o["rules"]} | ({"token-multi-ip"} if tok.file in multi_ip else set()))
        n_occ = sum(1 for e in log_entries for o in e["occurrences"] if o["token"] == tok.file)
        claims = tok.claims or {}
        token_entries.append({
            "file": "tokens/" + tok.file, "fingerprint": sha256_hex(tok.value), "length": len(tok.value),
            "segments": tok.value.count(".") + 1, "alg": tok.alg, "kid": tok.kid, "typ": tok.typ, "iss": tok.iss,
            "kind": tok.kind, "verification": tok.verification, "rules": tok.rules,
            "incidental_rules": tok.incidental,
            "must_not_rules": [r for r in CORE_RULES if r not in tok.rules and r not in tok.incidental],
            "rules_in_logs": in_logs, "occurrences_in_logs": n_occ,
            "time_claims": {k: claims[k] for k in ("iat", "nbf", "exp") if k in claims},
            "aud": claims.get("aud"), "scope": claims.get("scope"),
            "used_between": [iso(tok.use_from), iso(tok.use_to)], "purpose": tok.purpose,
            **({"notes": tok.notes} if tok.notes else {}),
        })

    expected = {
        "generator": "scripts/make-samples.py",
        "log_day": "2026-11-28", "timezone": "UTC",
        "verification_statuses": ["valid", "invalid-signature", "unknown-key", "alg-key-mismatch", "unsupported",
                                  "unsigned", "malformed", "truncated"],
        "conventions": {
            "fingerprint": "lowercase hex SHA-256 of the token string exactly as it appears in the token file and logs",
            "rules": "rule ids of shared/rules-catalogue.md the token is built to trigger wherever it is used in "
                     "these logs (default profile, keys from samples/keys); every one must fire",
            "incidental_rules": "rules that may also fire depending on policy or implementation choices; do not "
                                "assert either way",
            "must_not_rules": "rules from a core set that must NOT fire for this token",
            "occurrence.rules": "log-context rules (token-in-*, *-as-bearer, multiple-token-methods, accepted-*) "
                                "for that occurrence; accepted = 2xx, rejected = 401/403",
            "rules_in_logs": "union of occurrence rules, plus token-multi-ip when computed over all regular logs",
            "locations": "TokenLocation raw values of TokenAuditModel",
            "line": "1-based physical line number in the decompressed file",
            "not_listed": "info/hygiene rules (not-sender-constrained, bearer-token-logged, at-typ-missing, ...) "
                          "are not enumerated",
        },
        "issuers": {
            ISSUER: {"keys": "keys/jwks.json", "kids": [k["kid"] for k in jwks]},
            INTERNAL_ISSUER: {"keys": "keys/hmac.jwk.json", "kids": ["hs256-internal"], "symmetric": True},
            CLIENT_ASSERTION_CLIENT: {"keys": "keys/client-billing-batch.jwks.json",
                                      "kids": [k["kid"] for k in client_jwks], "note": "a client (RFC 7523 issuer)"},
        },
        "untrusted_issuers_in_samples": [LEGACY_ISSUER],
        "retired_keys": {"rs256-2024": "2026-06-30T00:00:00Z"},
        "tokens": token_entries,
        "logs": log_entries,
        "bad_logs": bad_entries,
    }
    (SAMPLES / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    write_samples_readme(token_entries, log_entries)

    total = sum(e["lines"] for e in log_entries)
    bearing = sum(e["token_bearing_lines"] for e in log_entries)
    print(f"make-samples: {len(tokens)} tokens, {len(log_entries)} logs ({total} lines, {bearing} with tokens, "
          f"{100 * (total - bearing) / total:.0f}% without), {len(bad_entries)} bad files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
