#!/bin/sh
# Regenerates the independent verification fixtures in this folder with the openssl command line.
# python3 is used only for base64url, JSON and DER (ECDSA r||s) glue. Private keys live in a temporary
# directory and are deleted; only public keys (PEM, JWKS), the HMAC JWKS (oct secrets are keys by nature),
# a self-signed certificate and the tokens are written here.
#
# Outputs: rsa.pem ec256.pem ec384.pem ec521.pem ed25519.pem ec256-cert.pem public.jwks.json hmac.jwks.json
#          tokens.json (alg -> compact JWS, plus "confusion-HS256" MACed with the bytes of rsa.pem)
set -eu
OUT=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec256.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec384.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out ec521.key
openssl genpkey -algorithm ED25519 -out ed25519.key
for k in rsa ec256 ec384 ec521 ed25519; do
  openssl pkey -in $k.key -pubout -out "$OUT/$k.pem"
  openssl pkey -in $k.key -pubout -outform DER -out $k.spki.der
done
openssl rand 64 > hmac.secret
openssl req -x509 -new -key ec256.key -subj "/CN=fixture-issuer.example" -days 3650 -sha256 \
  -out "$OUT/ec256-cert.pem" 2>/dev/null

python3 - "$OUT" <<'PY'
import base64, json, subprocess, sys
out = sys.argv[1]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def spki_tail(name, n):
    return open(f"{name}.spki.der", "rb").read()[-n:]

def rsa_jwk():
    text = subprocess.run(["openssl", "pkey", "-pubin", "-in", f"{out}/rsa.pem", "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    hexpart = text.split("Modulus:")[1].split("Exponent:")[0]
    n = bytes.fromhex("".join(c for c in hexpart if c in "0123456789abcdef"))
    n = n.lstrip(b"\x00")
    e = int(text.split("Exponent:")[1].split()[0])
    return {"kty": "RSA", "kid": "rsa-1", "use": "sig", "n": b64(n), "e": b64(e.to_bytes(3, "big"))}

def ec_jwk(name, crv, size, alg):
    point = spki_tail(name, 1 + 2 * size)
    assert point[0] == 4
    return {"kty": "EC", "kid": name, "crv": crv, "alg": alg, "use": "sig",
            "x": b64(point[1:1 + size]), "y": b64(point[1 + size:])}

ed = {"kty": "OKP", "kid": "ed25519", "crv": "Ed25519", "alg": "EdDSA", "x": b64(spki_tail("ed25519", 32))}
public = {"keys": [rsa_jwk(), ec_jwk("ec256", "P-256", 32, "ES256"), ec_jwk("ec384", "P-384", 48, "ES384"),
                   ec_jwk("ec521", "P-521", 66, "ES512"), ed]}
json.dump(public, open(f"{out}/public.jwks.json", "w"), indent=1)
secret = open("hmac.secret", "rb").read()
hmac = {"keys": [{"kty": "oct", "kid": "hmac-1", "use": "sig", "k": b64(secret)}]}
json.dump(hmac, open(f"{out}/hmac.jwks.json", "w"), indent=1)

def der_to_raw(der, size):
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 3
    ints = []
    for _ in range(2):
        assert der[i] == 0x02
        length = der[i + 1]
        ints.append(der[i + 2:i + 2 + length].lstrip(b"\x00").rjust(size, b"\x00"))
        i += 2 + length
    return ints[0] + ints[1]

def sign(alg, kid, key_args):
    header = b64(json.dumps({"alg": alg, "kid": kid, "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64(json.dumps({"iss": "https://issuer.example", "sub": "fixture", "iat": 1700000000},
                             separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    open("input", "wb").write(signing_input)
    sig = subprocess.run(key_args, capture_output=True, check=True).stdout
    return signing_input, sig

tokens = {}
for bits in (256, 384, 512):
    si, sig = sign(f"HS{bits}", "hmac-1", ["openssl", "dgst", f"-sha{bits}", "-mac", "HMAC", "-macopt",
                                           f"hexkey:{secret.hex()}", "-binary", "input"])
    tokens[f"HS{bits}"] = si.decode() + "." + b64(sig)
    si, sig = sign(f"RS{bits}", "rsa-1", ["openssl", "dgst", f"-sha{bits}", "-sign", "rsa.key", "-binary", "input"])
    tokens[f"RS{bits}"] = si.decode() + "." + b64(sig)
    si, sig = sign(f"PS{bits}", "rsa-1", ["openssl", "dgst", f"-sha{bits}", "-sign", "rsa.key", "-sigopt",
                                          "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest",
                                          "-sigopt", f"rsa_mgf1_md:sha{bits}", "-binary", "input"])
    tokens[f"PS{bits}"] = si.decode() + "." + b64(sig)
for bits, name, size in ((256, "ec256", 32), (384, "ec384", 48), (512, "ec521", 66)):
    si, sig = sign(f"ES{bits}", name, ["openssl", "dgst", f"-sha{bits}", "-sign", f"{name}.key", "-binary", "input"])
    tokens[f"ES{bits}"] = si.decode() + "." + b64(der_to_raw(sig, size))
si, sig = sign("EdDSA", "ed25519", ["openssl", "pkeyutl", "-sign", "-inkey", "ed25519.key", "-rawin", "-in", "input"])
tokens["EdDSA"] = si.decode() + "." + b64(sig)
# RS/HS confusion: an HS256 token whose MAC secret is the RSA public key PEM file, byte for byte.
pem = open(f"{out}/rsa.pem", "rb").read()
si, sig = sign("HS256", "rsa-1", ["openssl", "dgst", "-sha256", "-mac", "HMAC", "-macopt", f"hexkey:{pem.hex()}",
                                  "-binary", "input"])
tokens["confusion-HS256"] = si.decode() + "." + b64(sig)
json.dump(tokens, open(f"{out}/tokens.json", "w"), indent=1)
PY
echo "fixtures written to $OUT"
