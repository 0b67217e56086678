#!/usr/bin/env python3
"""Adversarial corpora for the memory bound of `tokenaudit scan` (target: peak RSS <= 256 MB whatever the input).

Writes one corpus per --shape into --out/logs/*.gz (gzip, level --level) plus --out/manifest.json. Every shape
is built to make one kind of per-line text (or per-token data) large or numerous, so a structure bounded in
entries rather than bytes shows up as growth of peak RSS with the input. Run a shape at two --scale values to
tell "large" from "growing".

Shapes (default sizes are for --scale 1; lines and distinct tokens scale with --scale):

  long-paths            nginx combined. ~2 000 distinct tokens in 24 hourly cohorts, picked Zipf(1) within the
                        hour (a few tokens carry most lines); every line a unique request path of 2-8 KB
                        (`/v1/search/<base64url blob>`, no `?` query, so nothing is cut). ~100 000 lines, ~520 MB.
  long-agents           nginx combined. ~200 tokens (Zipf); every line a unique User-Agent of 1-4 KB.
                        ~200 000 lines, ~640 MB.
  many-ips              nginx combined. ~500 tokens (Zipf); every line from a new client IP (half IPv4, half
                        IPv6), short paths. ~700 000 lines, ~700 MB.
  many-hosts-methods    nginx escape=json lines. ~500 tokens (Zipf); every line a unique Host (64-200 bytes) and
                        a unique unusual method (6-24 upper-case letters, plus PROPFIND/MKCOL/...). ~600 000 lines.
  many-tokens-per-line  nginx combined. Lines of ~60 KB: one Authorization bearer token plus a Cookie field
                        `c0=<jwt>; c1=<jwt>; ...` of ~70 distinct small JWTs, every token new (iat = line time).
                        ~9 000 lines, ~640 000 distinct tokens, ~540 MB.
  long-lines            nginx combined. Lines just under 64 KiB (the scanner's maximum line length): a ~63 KB
                        Referer (`https://ref.example/<blob>`) and one new bearer token each. ~8 000 lines, ~520 MB.
  big-claims-many       nginx combined. Every line a new ~11 KB token (a 200-GUID `groups` list): ~100 000
                        distinct long tokens, ~1.1 GB.
  big-claims-few        nginx combined. 2 000 distinct ~40 KB tokens (claims with a `groups` array of GUIDs),
                        in hourly cohorts, picked Zipf; short paths. ~14 000 lines, ~560 MB.
  huge-paths            long-paths with paths of 56-63 KB (lines just under the 64 KiB maximum). ~12 000 lines, ~720 MB.
  json                  long-paths as nginx escape=json lines (`request` carries the long path).
  one-token-long-paths  nginx combined. ONE token (valid all day) on every line, each line a unique 2-8 KB path
                        and a new client IP: every row the scan stores belongs to one token (the post-pass reads
                        rows per token). ~100 000 lines, ~520 MB.
  one-token-hosts       nginx escape=json. ONE token, every line a unique Host (64-200 bytes) and a 1-2 KB
                        unique path: the token qualifies for token-multi-audience-use, whose read loads all of a
                        token's usage rows. ~200 000 lines.
  one-token-agents      nginx combined. ONE token, every line a new client IP and a unique 1-4 KB User-Agent:
                        one token with many distinct IPs/agents in request_buckets (the window post-pass).
  many-files            many-ips lines spread over 20 000 small gzip files (50 lines each; --files is ignored):
                        per-file state (sources, readers, resume watermarks). ~1 000 000 lines.
  no-newline            A single line of ~600 MB with no newline (a JWT near the start): the reader must skip an
                        over-long line without buffering it.

Tokens are RS256 JWTs with `"kid":"unknown-kid"` and 256 random signature bytes: verification fails fast
(unknown key), no key search, no HS256 weak-secret search. iat is the line time for per-line tokens and the
cohort's hour start for reused tokens (exp = iat + 2 h, so every token is valid at its line time); the one-token
shapes use iat = 00:00, exp = 24:00. Timestamps increase through 2026-11-28 UTC in every file; each file is
its own stream. Everything is derived from --seed (byte-identical output for the same flags).

Python 3 standard library only.
"""

import argparse
import base64
import bisect
import calendar
import gzip
import itertools
import json
import multiprocessing
import os
import random
import sys
import time

DAY_START = calendar.timegm((2026, 11, 28, 0, 0, 0))
DAY = 86400
ISSUER = "https://issuer.example.com"
HEADER = {"alg": "RS256", "kid": "unknown-kid", "typ": "at+jwt"}
MONTH = "Nov"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


HEADER_B64 = b64url(json.dumps(HEADER, separators=(",", ":")).encode())


def guid(rng):
    return "%08x-%04x-%04x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(16),
                                         rng.getrandbits(16), rng.getrandbits(48))


def make_token(rng, label, iat, exp, claims_bytes=0):
    """An RS256 JWT of unknown kid. claims_bytes > 0 pads the claims with a `groups` array of GUIDs to about
    that many bytes (before base64)."""
    claims = {"iss": ISSUER, "sub": f"user-{label}", "aud": "https://api.example.com", "client_id": "webapp-3f9c",
              "scope": "orders:read", "iat": iat, "exp": exp, "jti": guid(rng)}
    if claims_bytes > 0:
        n = max(0, (claims_bytes - 220) // 39)
        claims["groups"] = [guid(rng) for _ in range(n)]
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{HEADER_B64}.{body}.{b64url(rng.randbytes(256))}"


def blob(rng, size):
    """`size` base64url characters of random data."""
    return b64url(rng.randbytes(size * 3 // 4 + 3))[:size]


def stamp_combined(t):
    return time.strftime(f"%d/{MONTH}/%Y:%H:%M:%S +0000", time.gmtime(t))


def stamp_iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))


def combined(ip, t, method, target, status, agent, auth, *extra, referer="-"):
    fields = "".join(f' "{value}"' for value in extra)
    return (f'{ip} - - [{stamp_combined(t)}] "{method} {target} HTTP/1.1" {status} 512 "{referer}" "{agent}" '
            f'"{auth}"{fields}\n')


def json_line(ip, t, host, method, target, status, agent, auth):
    return (f'{{"time_iso8601":"{stamp_iso(t)}","remote_addr":"{ip}","host":"{host}",'
            f'"request":"{method} {target} HTTP/1.1","status":{status},"body_bytes_sent":512,"request_time":0.012,'
            f'"http_referer":"","http_user_agent":"{agent}","http_authorization":"{auth}","http_cookie":""}}\n')


class Cohorts:
    """`count` reused tokens in 24 hourly cohorts (token i in hour i % 24, iat = hour start, exp = +2 h), picked
    Zipf(1) over a shuffled rank inside the line's hour. Tokens are made lazily and deterministically from
    (seed, index), so every file (process) sees the same token for an index."""

    def __init__(self, seed, count, claims_bytes=0):
        self.seed, self.count, self.claims_bytes = seed, count, claims_bytes
        self.members = [list(range(hour, count, 24)) for hour in range(24)]
        for hour, members in enumerate(self.members):
            random.Random(f"rank-{seed}-{hour}").shuffle(members)
        longest = max(len(m) for m in self.members) or 1
        self.cum = list(itertools.accumulate(1.0 / rank for rank in range(1, longest + 1)))
        self.cache = {}

    def token(self, index):
        token = self.cache.get(index)
        if token is None:
            hour = index % 24
            iat = DAY_START + hour * 3600
            token = make_token(random.Random(f"token-{self.seed}-{index}"), index, iat, iat + 7200, self.claims_bytes)
            self.cache[index] = token
        return token

    def pick(self, rng, t):
        hour = min(23, (t - DAY_START) // 3600)
        members = self.members[hour]
        cum = self.cum[:len(members)]
        rank = bisect.bisect_left(cum, rng.random() * cum[-1])
        return self.token(members[min(rank, len(members) - 1)])


def ipv4(rng):
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def ipv6(rng):
    return "2001:db8:" + ":".join("%x" % rng.getrandbits(16) for _ in range(6))


AGENTS = ["curl/8", "okhttp/4.12.0", "Go-http-client/1.1", "python-requests/2.32.3"]
ODD_METHODS = ["PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "REPORT", "PURGE",
               "LINK", "UNLINK", "MKCALENDAR", "ACL", "BIND", "REBIND", "UNBIND", "ORDERPATCH", "VERSION-CONTROL"]


# ---------------------------------------------------------------------------------------------------- shapes
# Each shape is (lines at scale 1 across all files, writer). A writer gets (rng, seed, file_index, n) and yields
# the file's lines; line j of n is at DAY_START + j * DAY // n.


def times(n):
    for j in range(n):
        yield j, DAY_START + (j * DAY) // n


def shape_long_paths(rng, seed, file_index, n, fmt="combined"):
    cohorts = Cohorts(seed, 2000)
    for j, t in times(n):
        token = cohorts.pick(rng, t)
        target = "/v1/search/" + blob(rng, rng.randrange(2048, 8192))
        ip = f"10.0.{rng.randrange(4)}.{rng.randrange(1, 20)}"
        if fmt == "combined":
            yield combined(ip, t, "GET", target, 200, "curl/8", "Bearer " + token)
        else:
            yield json_line(ip, t, "api.test", "GET", target, 200, "curl/8", "Bearer " + token)


def shape_huge_paths(rng, seed, file_index, n):
    cohorts = Cohorts(seed, 2000)
    for j, t in times(n):
        target = "/v1/search/" + blob(rng, rng.randrange(56 << 10, 63 << 10))
        yield combined(f"10.0.{rng.randrange(4)}.{rng.randrange(1, 20)}", t, "GET", target, 200, "curl/8",
                       "Bearer " + cohorts.pick(rng, t))


def shape_json(rng, seed, file_index, n):
    return shape_long_paths(rng, seed, file_index, n, fmt="json")


def shape_long_agents(rng, seed, file_index, n):
    cohorts = Cohorts(seed, 200)
    for j, t in times(n):
        agent = "Mozilla/5.0 (X11; Linux x86_64) probe/" + blob(rng, rng.randrange(1024, 4096))
        ip = f"10.0.{rng.randrange(4)}.{rng.randrange(1, 20)}"
        yield combined(ip, t, "GET", f"/v1/orders/{rng.randrange(100)}", 200, agent, "Bearer " + cohorts.pick(rng, t))


def shape_many_ips(rng, seed, file_index, n):
    cohorts = Cohorts(seed, 500)
    for j, t in times(n):
        ip = ipv6(rng) if j % 2 else ipv4(rng)
        yield combined(ip, t, "GET", f"/v1/orders/{rng.randrange(100)}", 200, "curl/8", "Bearer " + cohorts.pick(rng, t))


def shape_many_hosts_methods(rng, seed, file_index, n):
    cohorts = Cohorts(seed, 500)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for j, t in times(n):
        host = f"h{blob(rng, rng.randrange(60, 196)).lower().replace('_', 'x').replace('-', 'y')}.api.test"
        if j % 4 == 0:
            method = ODD_METHODS[rng.randrange(len(ODD_METHODS))]
        else:
            method = "".join(rng.choice(letters) for _ in range(rng.randrange(6, 25)))
        ip = f"10.0.{rng.randrange(4)}.{rng.randrange(1, 20)}"
        yield json_line(ip, t, host, method, f"/v1/orders/{rng.randrange(100)}", 200, "curl/8",
                        "Bearer " + cohorts.pick(rng, t))


def shape_many_tokens_per_line(rng, seed, file_index, n):
    for j, t in times(n):
        label = f"f{file_index}l{j}"
        tokens = [make_token(rng, f"{label}c{k}", t, t + 7200) for k in range(71)]
        cookie = "; ".join(f"c{k}={tok}" for k, tok in enumerate(tokens[1:]))
        yield combined(f"10.0.0.{rng.randrange(1, 250)}", t, "GET", f"/v1/orders/{rng.randrange(100)}", 200,
                       "curl/8", "Bearer " + tokens[0], cookie, "-", "-")


def shape_long_lines(rng, seed, file_index, n):
    limit = 64 << 10
    for j, t in times(n):
        token = make_token(rng, f"f{file_index}l{j}", t, t + 7200)
        line = combined(f"10.0.0.{rng.randrange(1, 250)}", t, "GET", f"/v1/orders/{rng.randrange(100)}", 200,
                        "curl/8", "Bearer " + token, referer="https://ref.example/")
        pad = limit - 1 - len(line) - rng.randrange(16, 200)
        yield line.replace('"https://ref.example/"', f'"https://ref.example/{blob(rng, pad)}"', 1)


def shape_big_claims_few(rng, seed, file_index, n):
    cohorts = Cohorts(seed, 2000, claims_bytes=30000)  # ~40 KB once base64url-encoded
    for j, t in times(n):
        yield combined(f"10.0.{rng.randrange(4)}.{rng.randrange(1, 20)}", t, "GET", f"/v1/orders/{rng.randrange(100)}",
                       200, "curl/8", "Bearer " + cohorts.pick(rng, t))


def shape_big_claims_many(rng, seed, file_index, n):
    # Every line a new ~11 KB token (claims with a 200-GUID `groups` list, as identity providers issue for users
    # in many groups), valid at its line time: the token cache and the writer's records fill with long tokens.
    for j, t in times(n):
        token = make_token(rng, f"{file_index}-{j}", t, t + 7200, claims_bytes=8000)
        yield combined(f"10.0.{j % 250}.{1 + j % 200}", t, "GET", f"/v1/orders/{j}", 200, "curl/8", "Bearer " + token)


def day_token(seed):
    return make_token(random.Random(f"day-token-{seed}"), "all-day", DAY_START, DAY_START + DAY)


def shape_one_token_long_paths(rng, seed, file_index, n):
    token = day_token(seed)
    for j, t in times(n):
        ip = ipv6(rng) if j % 2 else ipv4(rng)
        yield combined(ip, t, "GET", "/v1/search/" + blob(rng, rng.randrange(2048, 8192)), 200, "curl/8",
                       "Bearer " + token)


def shape_one_token_hosts(rng, seed, file_index, n):
    token = day_token(seed)
    for j, t in times(n):
        host = f"h{blob(rng, rng.randrange(60, 196)).lower().replace('_', 'x').replace('-', 'y')}.api.test"
        yield json_line(f"10.0.{rng.randrange(4)}.{rng.randrange(1, 20)}", t, host, "GET",
                        "/v1/search/" + blob(rng, rng.randrange(1024, 2048)), 200, "curl/8", "Bearer " + token)


def shape_one_token_agents(rng, seed, file_index, n):
    token = day_token(seed)
    for j, t in times(n):
        ip = ipv6(rng) if j % 2 else ipv4(rng)
        agent = "Mozilla/5.0 (X11; Linux x86_64) probe/" + blob(rng, rng.randrange(1024, 4096))
        yield combined(ip, t, "GET", f"/v1/orders/{rng.randrange(100)}", 200, agent, "Bearer " + token)


def shape_no_newline(rng, seed, file_index, n):
    # n is the line's size in MB; yielded in 1 MB pieces (one line, no newline anywhere).
    token = day_token(seed)
    yield combined("10.0.0.1", DAY_START + 60, "GET", "/v1/orders/1", 200, "curl/8", "Bearer " + token)[:-1]
    yield ' "'
    for _ in range(n):
        yield blob(rng, 1 << 20)


SHAPES = {
    "long-paths": (100_000, shape_long_paths, "access.log"),
    "long-agents": (200_000, shape_long_agents, "access.log"),
    "many-ips": (700_000, shape_many_ips, "access.log"),
    "many-hosts-methods": (600_000, shape_many_hosts_methods, "access.json"),
    "many-tokens-per-line": (9_000, shape_many_tokens_per_line, "access.log"),
    "long-lines": (8_000, shape_long_lines, "access.log"),
    "big-claims-few": (14_000, shape_big_claims_few, "access.log"),
    "big-claims-many": (100_000, shape_big_claims_many, "access.log"),
    "json": (100_000, shape_json, "access.json"),
    "huge-paths": (12_000, shape_huge_paths, "access.log"),
    "one-token-long-paths": (100_000, shape_one_token_long_paths, "access.log"),
    "one-token-hosts": (200_000, shape_one_token_hosts, "access.json"),
    "one-token-agents": (200_000, shape_one_token_agents, "access.log"),
    "no-newline": (600, shape_no_newline, "access.log"),
    "many-files": (1_000_000, shape_many_ips, "access.log"),
}

# Shapes whose file count is fixed (not --files).
FIXED_FILES = {"no-newline": 1, "many-files": 20_000}


def write_file(task):
    shape, seed, file_index, n, path, level = task
    _, writer, _ = SHAPES[shape]
    rng = random.Random(f"lines-{seed}-{shape}-{file_index}")
    raw_bytes = lines = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, gzip.GzipFile(filename=os.path.basename(path)[:-3], mode="wb", fileobj=raw,
                                                    compresslevel=level, mtime=0) as out:
        buffer, buffered = [], 0
        for line in writer(rng, seed, file_index, n):
            data = line.encode()
            buffer.append(data)
            buffered += len(data)
            lines += line.endswith("\n")
            if buffered >= 4 << 20:
                out.write(b"".join(buffer))
                raw_bytes += buffered
                buffer, buffered = [], 0
        out.write(b"".join(buffer))
        raw_bytes += buffered
    return {"path": path, "lines": lines, "uncompressed_bytes": raw_bytes, "compressed_bytes": os.path.getsize(path)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", required=True, choices=sorted(SHAPES), help="which corpus (see above)")
    parser.add_argument("--out", required=True, help="output directory (logs/ and manifest.json are written there)")
    parser.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies the shape's line count (no-newline: its size), e.g. 0.5 and 2 (default 1)")
    parser.add_argument("--files", type=int, default=4, help="gzip files, each a whole day's stream (default 4)")
    parser.add_argument("--level", type=int, default=1, help="gzip level (default 1)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes (default: cores)")
    options = parser.parse_args()

    base, _, stem = SHAPES[options.shape]
    total = max(1, int(base * options.scale))
    files = max(1, min(FIXED_FILES.get(options.shape, options.files), total))
    logs = os.path.join(options.out, "logs")
    os.makedirs(logs, exist_ok=True)
    for name in os.listdir(logs):
        os.remove(os.path.join(logs, name))
    tasks = []
    for index in range(files):
        n = total // files + (1 if index < total % files else 0)
        tasks.append((options.shape, options.seed, index, n, os.path.join(logs, f"{stem}-{index:05d}.gz" if files > 100 else f"{stem}-{index:02d}.gz"), options.level))
    started = time.time()
    if options.jobs > 1 and files > 1:
        with multiprocessing.Pool(min(options.jobs, files)) as pool:
            results = pool.map(write_file, tasks, chunksize=max(1, files // (options.jobs * 8)))
    else:
        results = [write_file(task) for task in tasks]
    manifest = {"shape": options.shape, "seed": options.seed, "scale": options.scale, "files": results,
                "lines": sum(r["lines"] for r in results),
                "uncompressed_bytes": sum(r["uncompressed_bytes"] for r in results),
                "compressed_bytes": sum(r["compressed_bytes"] for r in results)}
    with open(os.path.join(options.out, "manifest.json"), "w") as handle:
        json.dump(manifest, handle, indent=2)
        handle.write("\n")
    print(f"{options.shape}: {manifest['lines']} lines, {manifest['uncompressed_bytes'] / 1e6:.0f} MB uncompressed, "
          f"{manifest['compressed_bytes'] / 1e6:.0f} MB gzip, in {time.time() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
