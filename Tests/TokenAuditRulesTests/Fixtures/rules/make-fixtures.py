#!/usr/bin/env python3
"""Generates keys.json for the rule coverage tests (RuleCoverageTests.swift). Run from this folder:
python3 make-fixtures.py > keys.json. Every key here is a throw-away test key made by this script."""
import base64, json, hashlib, datetime
from cryptography.hazmat.primitives.asymmetric import rsa, ec, padding
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography import x509
from cryptography.x509.oid import NameOID

NOW = 1795860000
ISS = "https://issuer.test"

def b64(data): return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
def uint(n): return b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))
def seg(obj): return b64(json.dumps(obj, separators=(",", ":")).encode())

def rsa_jwk(key, kid):
    nums = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "n": uint(nums.n), "e": uint(nums.e), "x-issuer": ISS}

def ec_jwk(key, kid=None):
    nums = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64(nums.x.to_bytes(32, "big")), "y": b64(nums.y.to_bytes(32, "big"))}
    if kid: jwk["kid"] = kid
    return jwk

def rs256(key, header, claims):
    data = (seg(header) + "." + seg(claims)).encode()
    return data.decode() + "." + b64(key.sign(data, padding.PKCS1v15(), hashes.SHA256()))

def es256(key, header, claims):
    data = (seg(header) + "." + seg(claims)).encode()
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return data.decode() + "." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

claims = {"iss": ISS, "sub": "u1", "aud": "https://api.test", "client_id": "c1", "scope": "read",
          "iat": NOW - 600, "exp": NOW + 3000, "jti": "j1"}

small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
weak_e = rsa.generate_private_key(public_exponent=3, key_size=2048)
good = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ec_conf = ec.generate_private_key(ec.SECP256R1())
attacker = ec.generate_private_key(ec.SECP256R1())

def cert_der(key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rules-test")])
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()

jwks = {"keys": [rsa_jwk(small, "rsa1024"), rsa_jwk(weak_e, "weak-e"), rsa_jwk(good, "rsa2048"), ec_jwk(ec_conf, "ec1") | {"x-issuer": ISS}]}
out = {
    "jwks": json.dumps(jwks),
    "rsa1024_token": rs256(small, {"alg": "RS256", "kid": "rsa1024", "typ": "at+jwt"}, claims),
    "rsa2048_token": rs256(good, {"alg": "RS256", "kid": "rsa2048", "typ": "at+jwt"}, claims),
    "x5c_untrusted_token": rs256(good, {"alg": "RS256", "kid": "rsa2048", "typ": "at+jwt", "x5c": [cert_der(attacker)]}, claims),
    "x5c_trusted_token": rs256(good, {"alg": "RS256", "kid": "rsa2048", "typ": "at+jwt", "x5c": [cert_der(good)]}, claims),
    "self_signed_jwk_token": es256(attacker, {"alg": "ES256", "typ": "at+jwt", "jwk": ec_jwk(attacker)}, claims),
    "foreign_jwk_token": es256(attacker, {"alg": "ES256", "typ": "at+jwt", "jwk": ec_jwk(ec_conf)}, claims),
    "dpop_proof_get_orders": es256(attacker, {"typ": "dpop+jwt", "alg": "ES256", "jwk": ec_jwk(attacker)},
                                   {"jti": "p1", "htm": "GET", "htu": "https://api.test/v1/orders", "iat": NOW}),
}
print(json.dumps(out, indent=1, sort_keys=True))
