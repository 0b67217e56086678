#!/usr/bin/env python3
"""Deterministic benchmark corpus for `tokenaudit scan` (see docs/performance.md).

Writes, under --out (default .bench/corpus):
  keys/jwks.json, keys/hmac.jwk.json   the keys that verify the tokens (test-only keys, derived from --seed)
  logs/web-NN.access.log.gz            nginx combined + Authorization/Cookie/X-Forwarded-For/body fields
  logs/api-NN.access.json.gz           nginx `escape=json` JSON lines
  manifest.json                        the parameters, counts and sizes

Files alternate between the two formats; each file is one server's log for the whole day (2026-11-28 UTC, or
--day days later) with timestamps increasing through the day, so every file is its own stream and can be read in
parallel. `--day N` makes night N of a nightly series: the same keys, users, clients and servers, but that day's
timestamps and its own tokens (new `jti`s, signatures and mix), so the scans of days 0, 1, 2… into one database
measure what a nightly cron job meets as its database grows.

Tokens: --tokens distinct JWTs split into 24 hourly cohorts (each cohort's access tokens are valid for that
hour: lifetime 3600 s, so valid tokens are judged valid at their request time). Inside an hour, lines pick a
cohort token with a Zipf (s = 1) distribution over a shuffled popularity rank, plus an even sweep (each file
takes a share of the cohort) so every distinct token appears at least once in the corpus. Mix: RS256 45 %, ES256 33 %, PS256 9 %, EdDSA 7 %, HS256 6 %;
about 5 % of the distinct tokens are defective (expired, bad signature, unknown key, `alg: none`, malformed).
About 30 % of lines carry no token (probes, static assets, login pages).

Everything — keys included — is derived from --seed, so the same flags give byte-identical files (ECDSA uses
RFC 6979 deterministic signing, PS256 a salt derived from the seed). Signing is done once per distinct token
and cached in <out>/tokens-<hash>.txt, so a corpus of another size with the same --seed/--tokens reuses it.

Needs python3 and the `cryptography` package (pip install cryptography).
"""

import argparse
import base64
import bisect
import calendar
import gzip
import hashlib
import hmac
import itertools
import json
import multiprocessing
import os
import random
import sys
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

DAY_START = calendar.timegm((2026, 11, 28, 0, 0, 0))  # moved by --day before any worker starts
ISSUER = "https://issuer.example.com"
INTERNAL_ISSUER = "https://internal.example.com"
TOKEN_FORMAT_VERSION = 1  # bump when token contents change, to invalidate caches

ALG_MIX = [("RS256", 45), ("ES256", 33), ("PS256", 9), ("EdDSA", 7), ("HS256", 6)]
DEFECTS = ["expired", "bad-signature", "unknown-key", "alg-none", "malformed"]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_int(value):
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


# ---------------------------------------------------------------------------------------------------- keys

def is_probable_prime(n, rng):
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(24):
        a = rng.randrange(2, n - 2)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def deterministic_prime(rng, bits, e):
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if candidate % e != 1 and is_probable_prime(candidate, rng):
            return candidate


def deterministic_rsa(rng, bits=2048, e=65537):
    while True:
        p = deterministic_prime(rng, bits // 2, e)
        q = deterministic_prime(rng, bits // 2, e)
        if p == q:
            continue
        n = p * q
        if n.bit_length() != bits:
            continue
        phi = (p - 1) * (q - 1)
        d = pow(e, -1, phi)
        numbers = rsa.RSAPrivateNumbers(
            p=p, q=q, d=d, dmp1=d % (p - 1), dmq1=d % (q - 1), iqmp=pow(q, -1, p),
            public_numbers=rsa.RSAPublicNumbers(e, n))
        return numbers.private_key()


def make_keys(seed):
    rng = random.Random(f"keys-{seed}")
    keys = {
        "rs256": deterministic_rsa(rng),
        "ps256": deterministic_rsa(rng),
        "es256": ec.derive_private_key(rng.randrange(1, 2**255), ec.SECP256R1()),
        "ed25519": ed25519.Ed25519PrivateKey.from_private_bytes(rng.getrandbits(256).to_bytes(32, "big")),
        "hs256": rng.getrandbits(512).to_bytes(64, "big"),
    }
    return keys


def public_jwks(keys):
    entries = []
    for kid, alg in (("rs256", "RS256"), ("ps256", "PS256")):
        numbers = keys[kid].public_key().public_numbers()
        entries.append({"kty": "RSA", "use": "sig", "alg": alg, "kid": f"bench-{kid}",
                        "n": b64url_int(numbers.n), "e": b64url_int(numbers.e), "x-issuer": ISSUER})
    numbers = keys["es256"].public_key().public_numbers()
    entries.append({"kty": "EC", "use": "sig", "alg": "ES256", "kid": "bench-es256", "crv": "P-256",
                    "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big")),
                    "x-issuer": ISSUER})
    raw = keys["ed25519"].public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    entries.append({"kty": "OKP", "use": "sig", "alg": "EdDSA", "kid": "bench-ed25519", "crv": "Ed25519",
                    "x": b64url(raw), "x-issuer": ISSUER})
    return {"keys": entries}


def hmac_jwk(keys):
    return {"kty": "oct", "use": "sig", "alg": "HS256", "kid": "bench-hs256", "k": b64url(keys["hs256"]),
            "x-issuer": INTERNAL_ISSUER}


# ---------------------------------------------------------------------------------------------------- signing

def pss_sign(key, message, salt):
    """RSASSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt) with a caller-chosen salt, for determinism."""
    numbers = key.private_numbers()
    n, d = numbers.public_numbers.n, numbers.d
    em_bits = n.bit_length() - 1
    em_len = (em_bits + 7) // 8
    m_hash = hashlib.sha256(message).digest()
    h = hashlib.sha256(b"\x00" * 8 + m_hash + salt).digest()
    db = b"\x00" * (em_len - len(salt) - 32 - 2) + b"\x01" + salt
    mask, counter = b"", 0
    while len(mask) < len(db):
        mask += hashlib.sha256(h + counter.to_bytes(4, "big")).digest()
        counter += 1
    masked = bytes(a ^ b for a, b in zip(db, mask))
    masked = bytes([masked[0] & (0xFF >> (8 * em_len - em_bits))]) + masked[1:]
    em = int.from_bytes(masked + h + b"\xbc", "big")
    # CRT exponentiation
    p, q = numbers.p, numbers.q
    m1, m2 = pow(em, numbers.dmp1, p), pow(em, numbers.dmq1, q)
    s = m2 + q * ((numbers.iqmp * (m1 - m2)) % p)
    assert pow(s, numbers.public_numbers.e, n) == em
    return s.to_bytes((n.bit_length() + 7) // 8, "big")


def sign(keys, alg, signing_input, salt):
    if alg == "RS256":
        return keys["rs256"].sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    if alg == "PS256":
        return pss_sign(keys["ps256"], signing_input, salt)
    if alg == "ES256":
        der = keys["es256"].sign(signing_input, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == "EdDSA":
        return keys["ed25519"].sign(signing_input)
    if alg == "HS256":
        return hmac.new(keys["hs256"], signing_input, hashlib.sha256).digest()
    raise ValueError(alg)


CLIENTS = ["webapp-3f9c", "mobile-ios-7a21", "mobile-android-19be", "partner-acme", "billing-batch", "reports-ui"]
SCOPES = ["orders:read", "orders:read orders:write", "profile", "orders:read profile", "invoices:read",
          "inventory:read inventory:write"]
KIDS = {"RS256": "bench-rs256", "PS256": "bench-ps256", "ES256": "bench-es256", "EdDSA": "bench-ed25519",
        "HS256": "bench-hs256"}


def token_plan(seed, count):
    """(index, hour, alg, defect) for every distinct token: cheap, no signing. `seed` is the token seed."""
    rng = random.Random(f"plan-{seed}")
    algs = [alg for alg, weight in ALG_MIX for _ in range(weight)]
    plan = []
    for index in range(count):
        alg = algs[rng.randrange(len(algs))]
        defect = DEFECTS[rng.randrange(len(DEFECTS))] if rng.random() < 0.05 else None
        plan.append((index, index % 24, alg, defect))
    return plan


def make_token(keys, seed, index, hour, alg, defect):
    rng = random.Random(f"token-{seed}-{index}")
    iat = DAY_START + hour * 3600 - 30
    exp = iat + 3600
    if defect == "expired":
        iat -= 7200
        exp = iat + 3600
    issuer = INTERNAL_ISSUER if alg == "HS256" else ISSUER
    header = {"alg": alg, "kid": KIDS[alg], "typ": "at+jwt"}
    if defect == "unknown-key":
        header["kid"] = f"retired-{alg.lower()}-2023"
    if defect == "alg-none":
        header = {"alg": "none", "typ": "at+jwt"}
    claims = {
        "iss": issuer, "sub": f"user-{index * 7919 % 1000003}",
        "aud": "https://internal-api.example.com" if alg == "HS256" else "https://api.example.com",
        "client_id": CLIENTS[index % len(CLIENTS)], "scope": SCOPES[rng.randrange(len(SCOPES))],
        "iat": iat, "exp": exp, "jti": f"{rng.getrandbits(128):032x}",
    }
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{head}.{body}".encode()
    if defect == "alg-none":
        return f"{head}.{body}."
    signature = sign(keys, alg, signing_input, rng.getrandbits(256).to_bytes(32, "big"))
    if defect == "bad-signature":
        signature = bytes([signature[0] ^ 0x55]) + signature[1:]
    token = f"{head}.{body}.{b64url(signature)}"
    if defect == "malformed":
        token = f"{head}.{body[: len(body) // 2]}!{body[len(body) // 2:]}.{b64url(signature)}"
    return token


_WORKER_KEYS = {}


def serialize_keys(keys):
    out = {"hs256": keys["hs256"]}
    for name in ("rs256", "ps256", "es256", "ed25519"):
        out[name] = keys[name].private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return out


def init_signer(serialized):
    _WORKER_KEYS.clear()
    _WORKER_KEYS["hs256"] = serialized["hs256"]
    for name in ("rs256", "ps256", "es256", "ed25519"):
        _WORKER_KEYS[name] = serialization.load_der_private_key(serialized[name], password=None)


def sign_range(args):
    seed, plan = args
    return [make_token(_WORKER_KEYS, seed, *entry) for entry in plan]


def load_tokens(keys, seed, count, out, jobs):
    tag = hashlib.sha256(f"{TOKEN_FORMAT_VERSION}-{seed}-{count}".encode()).hexdigest()[:16]
    cache = os.path.join(out, f"tokens-{tag}.txt")
    plan = token_plan(seed, count)
    if os.path.exists(cache):
        with open(cache) as handle:
            tokens = handle.read().split("\n")[:count]
        if len(tokens) == count:
            return plan, tokens
    started = time.time()
    chunks = [plan[i:i + 2000] for i in range(0, count, 2000)]
    with multiprocessing.Pool(jobs, initializer=init_signer, initargs=(serialize_keys(keys),)) as pool:
        tokens = list(itertools.chain.from_iterable(pool.map(sign_range, [(seed, chunk) for chunk in chunks])))
    fd = os.open(cache + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(tokens))
    os.replace(cache + ".tmp", cache)
    print(f"signed {count} tokens in {time.time() - started:.1f}s (cached in {cache})", file=sys.stderr)
    return plan, tokens


# ---------------------------------------------------------------------------------------------------- lines

ENDPOINTS = [("GET", "/v1/orders"), ("GET", "/v1/orders/{id}"), ("POST", "/v1/orders"), ("GET", "/v1/profile"),
             ("GET", "/v1/invoices/{id}"), ("PUT", "/v1/orders/{id}"), ("GET", "/v1/products"),
             ("DELETE", "/v1/orders/{id}"), ("GET", "/v1/inventory/{id}"), ("GET", "/v1/cart")]
ENDPOINT_WEIGHTS = list(itertools.accumulate([30, 20, 8, 12, 6, 4, 10, 2, 5, 3]))
ANONYMOUS = [("GET", "/healthz", 200, "kube-probe/1.31"), ("GET", "/static/app.js", 200, None),
             ("GET", "/static/app.css", 304, None), ("GET", "/login", 200, None), ("GET", "/favicon.ico", 404, None),
             ("POST", "/oauth2/token", 200, "okhttp/4.12.0"), ("GET", "/v1/products", 401, None)]
AGENTS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
          "okhttp/4.12.0", "Go-http-client/1.1", "python-requests/2.32.3"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def clf_time(t):
    """The combined format's `[%d/%b/%Y:%H:%M:%S +0000]`, with English month names whatever the locale."""
    moment = time.gmtime(t)
    return time.strftime(f"%d/{MONTHS[moment.tm_mon - 1]}/%Y:%H:%M:%S +0000", moment)


def client_ip(index, second):
    if second:
        return f"198.51.100.{index % 250 + 1}"
    return f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"


def write_file(args):
    (path, fmt, file_index, files, lines, seed, plan_summary, tokens_path, level) = args
    with open(tokens_path) as handle:
        tokens = handle.read().split("\n")
    defects = plan_summary
    count = len(tokens)
    rng = random.Random(f"lines-{seed}-{file_index}")
    # Popularity: inside each hourly cohort a Zipf(1) rank over a shuffled order of the cohort's tokens.
    cohorts = [list(range(hour, count, 24)) for hour in range(24)]
    for members in cohorts:
        random.Random(f"rank-{seed}-{members[0] if members else 0}").shuffle(members)
    longest = max(len(m) for m in cohorts) or 1
    zipf_cum = list(itertools.accumulate(1.0 / rank for rank in range(1, longest + 1)))
    token_lines = anonymous_lines = 0
    written_raw = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, gzip.GzipFile(filename=os.path.basename(path)[:-3], mode="wb",
                                                    fileobj=raw, compresslevel=level, mtime=0) as out:
        per_hour = [lines // 24 + (1 if hour < lines % 24 else 0) for hour in range(24)]
        line_number = 0
        for hour in range(24):
            members = cohorts[hour]
            size = len(members)
            n = per_hour[hour]
            if n == 0:
                continue
            has_token = [rng.random() >= 0.30 for _ in range(n)]
            n_tok = sum(has_token)
            cum = zipf_cum[:size]
            picks = rng.choices(range(size), cum_weights=cum, k=n_tok) if size else []
            # Sweep: this file's share of the cohort (files split it), spread evenly over the hour, so that every
            # distinct token appears at least once in the corpus while most lines still follow the Zipf draw.
            first, last = size * file_index // files, size * (file_index + 1) // files
            share = last - first
            if share and n_tok:
                step = n_tok / share if n_tok >= share else 1.0
                for k in range(min(share, n_tok)):
                    picks[int(k * step)] = first + k
            pick_iter = iter(picks)
            buffer = []
            for j in range(n):
                t = DAY_START + hour * 3600 + (j * 3600) // n
                line_number += 1
                if has_token[j]:
                    index = members[next(pick_iter)]
                    token = tokens[index]
                    defect = defects.get(index)
                    r = rng.random()
                    method, template = ENDPOINTS[bisect.bisect_left(ENDPOINT_WEIGHTS, rng.random() * ENDPOINT_WEIGHTS[-1])]
                    target = template.replace("{id}", str(10000 + (index * 31 + int(r * 3)) % 50000))
                    status = 401 if defect else (201 if method == "POST" else 204 if method == "DELETE" else
                                                 404 if r < 0.01 else 200)
                    ip = client_ip(index, r > 0.9)
                    agent = AGENTS[index % len(AGENTS)]
                    auth = "Bearer " + token
                    token_lines += 1
                else:
                    method, target, status, agent = ANONYMOUS[rng.randrange(len(ANONYMOUS))]
                    agent = agent or AGENTS[rng.randrange(2)]
                    ip = f"203.0.113.{rng.randrange(1, 255)}"
                    auth = None
                    anonymous_lines += 1
                size_sent = 0 if status in (204, 304, 401) else 200 + (line_number * 97) % 5000
                if fmt == "combined":
                    stamp = clf_time(t)
                    buffer.append(
                        f'{ip} - - [{stamp}] "{method} {target} HTTP/1.1" {status} {size_sent} "-" "{agent}" '
                        f'"{auth or "-"}" "-" "-" "-"\n')
                else:
                    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))
                    buffer.append(
                        f'{{"time_iso8601":"{stamp}","remote_addr":"{ip}","host":"api.example.com",'
                        f'"request":"{method} {target} HTTP/1.1","status":{status},"body_bytes_sent":{size_sent},'
                        f'"request_time":0.{(line_number * 7) % 1000:03d},"http_referer":"","http_user_agent":"{agent}",'
                        f'"http_authorization":"{auth or ""}","http_cookie":""}}\n')
                if len(buffer) >= 4096:
                    chunk = "".join(buffer).encode()
                    written_raw += len(chunk)
                    out.write(chunk)
                    buffer.clear()
            if buffer:
                chunk = "".join(buffer).encode()
                written_raw += len(chunk)
                out.write(chunk)
    return {"path": path, "format": fmt, "lines": lines, "token_lines": token_lines,
            "lines_without_token": anonymous_lines, "uncompressed_bytes": written_raw,
            "compressed_bytes": os.path.getsize(path)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="total log lines (default 1e6)")
    parser.add_argument("--files", type=int, default=4, help="gzip files, alternating combined / JSON (default 4)")
    parser.add_argument("--tokens", type=int, default=200_000, help="distinct tokens (default 200000)")
    parser.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    parser.add_argument("--level", type=int, default=6, help="gzip level (default 6, as logrotate)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes (default: cores)")
    parser.add_argument("--per-alg", type=int, default=5000,
                        help="distinct valid tokens per algorithm in alg/<ALG>.log, one per line (default 5000)")
    parser.add_argument("--day", type=int, default=0,
                        help="night N of a nightly series: the date moves N days on, the tokens are that day's own, "
                             "the keys stay (default 0)")
    parser.add_argument("--out", default=".bench/corpus", help="output directory (default .bench/corpus)")
    options = parser.parse_args()
    if options.lines < 1 or options.files < 1 or options.tokens < 24:
        parser.error("--lines and --files must be positive, --tokens at least 24")
    if options.day < 0:
        parser.error("--day must not be negative")
    global DAY_START
    DAY_START += options.day * 86400

    os.makedirs(os.path.join(options.out, "logs"), exist_ok=True)
    os.makedirs(os.path.join(options.out, "keys"), exist_ok=True)
    for name in os.listdir(os.path.join(options.out, "logs")):
        os.remove(os.path.join(options.out, "logs", name))

    keys = make_keys(options.seed)
    for name, document in (("jwks.json", public_jwks(keys)), ("hmac.jwk.json", hmac_jwk(keys))):
        fd = os.open(os.path.join(options.out, "keys", name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")

    # Day 0 keeps the seed as it was (the same files and token cache as before --day existed).
    token_seed = options.seed if options.day == 0 else f"{options.seed}-d{options.day}"
    plan, tokens = load_tokens(keys, token_seed, options.tokens, options.out, options.jobs)
    tag = hashlib.sha256(f"{TOKEN_FORMAT_VERSION}-{token_seed}-{options.tokens}".encode()).hexdigest()[:16]
    tokens_path = os.path.join(options.out, f"tokens-{tag}.txt")
    defects = {index: defect for index, _, _, defect in plan if defect}

    # alg/<ALG>.log: one combined line per distinct valid token of that algorithm, for tokens-per-second figures.
    os.makedirs(os.path.join(options.out, "alg"), exist_ok=True)
    for alg, _ in ALG_MIX:
        chosen = [(index, hour) for index, hour, a, defect in plan if a == alg and not defect][: options.per_alg]
        fd = os.open(os.path.join(options.out, "alg", f"{alg}.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            for index, hour in chosen:
                stamp = clf_time(DAY_START + hour * 3600 + 600)
                handle.write(f'{client_ip(index, False)} - - [{stamp}] "GET /v1/orders HTTP/1.1" 200 512 "-" '
                             f'"okhttp/4.12.0" "Bearer {tokens[index]}" "-" "-" "-"\n')

    started = time.time()
    jobs = []
    for f in range(options.files):
        fmt = "combined" if f % 2 == 0 else "json"
        name = f"web-{f + 1:02d}.access.log.gz" if fmt == "combined" else f"api-{f + 1:02d}.access.json.gz"
        lines = options.lines // options.files + (1 if f < options.lines % options.files else 0)
        jobs.append((os.path.join(options.out, "logs", name), fmt, f, options.files, lines, token_seed, defects, tokens_path,
                     options.level))
    with multiprocessing.Pool(min(options.jobs, options.files)) as pool:
        files = pool.map(write_file, jobs)

    by_alg = {}
    for _, _, alg, defect in plan:
        by_alg.setdefault(alg, 0)
        by_alg[alg] += 1
    manifest = {
        "seed": options.seed, "day": options.day, "lines": options.lines, "files": files, "distinct_tokens": options.tokens,
        "tokens_by_alg": by_alg, "defective_tokens": len(defects),
        "defects": {d: sum(1 for v in defects.values() if v == d) for d in DEFECTS},
        "token_lines": sum(f["token_lines"] for f in files),
        "uncompressed_bytes": sum(f["uncompressed_bytes"] for f in files),
        "compressed_bytes": sum(f["compressed_bytes"] for f in files),
    }
    with open(os.path.join(options.out, "manifest.json"), "w") as handle:
        json.dump(manifest, handle, indent=2)
        handle.write("\n")
    print(f"wrote {options.lines} lines in {options.files} files ({manifest['compressed_bytes'] / 1e6:.1f} MB gz, "
          f"{manifest['uncompressed_bytes'] / 1e6:.1f} MB raw) in {time.time() - started:.1f}s -> {options.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
