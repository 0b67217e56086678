#!/usr/bin/env python3
"""Simulates nights of a log being written, rotated and scanned, and checks the database against one scan.

A writer appends lines to a live log (sometimes leaving the last one half-written until the next night), a
rotation scheme moves the files around as logrotate would, and `tokenaudit scan` runs on the directory each
night, sometimes killed (SIGKILL) part-way and run again, sometimes interrupted (SIGINT). At the end every line is
complete, a last scan runs, and the database must hold what one scan of all the lines, in order, holds: the same
tokens, usage rows, findings and token days (the `sources` rows and run history differ by design).

Not a test of the suite (it takes a minute or more); a tool for finding what the suite does not cover:

    scripts/nightly-sim.py --lines-from .bench/1m-20k/logs/web-01.access.log.gz --keys .bench/1m-20k/keys \\
        --scheme delaycompress --nights 12 --seed 3

Schemes (logrotate's options): delaycompress (`compress` + `delaycompress`: access.log -> .1 -> .2.gz),
compress (access.log -> .1.gz at once), rename (no compression: .1, .2, ...), copytruncate (the live file is
copied to .1 and emptied; .1 -> .2.gz the night after), olddir (dateext + compress into old/).
"""

import argparse
import datetime
import gzip
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

TABLE_QUERIES = [
    ("tokens", "SELECT fingerprint, kind, alg, kid, iss, sub, verification_status, first_seen, last_seen, use_count "
               "FROM tokens ORDER BY fingerprint"),
    ("usage", "SELECT * FROM usage ORDER BY token_fingerprint, client_ip, method, host, path, status"),
    ("findings", "SELECT rule_id, token_fingerprint, discriminator, severity, first_seen, last_seen, count, "
                 "status_codes, suppressed FROM findings ORDER BY rule_id, token_fingerprint, discriminator"),
    ("token_days", "SELECT t.fingerprint, d.day FROM token_days AS d JOIN token_records AS t ON t.id = d.token_id "
                   "ORDER BY 1, 2"),
]


def dump(path):
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    result = {name: connection.execute(sql).fetchall() for name, sql in TABLE_QUERIES}
    connection.close()
    return result


class Log:
    """The live log and its rotated members in `directory`, rotated by `scheme`."""

    def __init__(self, directory, scheme, rng, name="access.log", keep=0):
        self.directory = directory
        self.scheme = scheme
        self.rng = rng
        self.name = name
        self.keep = keep
        self.live = os.path.join(directory, name)
        self.day = 0
        self.pending = b""
        self.compressing_during_scan = False
        self.unfinished = []
        open(self.live, "wb").close()

    def members(self):
        """Rotated members by number (1 = newest), as (number, path)."""
        found = []
        for name in os.listdir(self.directory):
            if name.startswith(self.name + "."):
                number = name[len(self.name) + 1:].split(".")[0]
                if number.isdigit():
                    found.append((int(number), os.path.join(self.directory, name)))
        return sorted(found)

    def write(self, lines, half_line):
        """Appends `lines`, finishing last night's half line first; leaves the last one half-written if asked."""
        with open(self.live, "ab") as live:
            live.write(self.pending)
            self.pending = b""
            for line in lines[:-1]:
                live.write(line)
            last = lines[-1]
            if half_line and len(last) > 2:
                cut = self.rng.randint(1, len(last) - 2)
                live.write(last[:cut])
                self.pending = last[cut:]
            else:
                live.write(last)

    def finish_line(self):
        """The writer finishes its line in the file it has open (before a reopen, or at the end)."""
        if self.pending:
            with open(self.live, "ab") as live:
                live.write(self.pending)
            self.pending = b""

    def drop_old(self):
        """logrotate's `rotate N`: members beyond the newest `keep` are deleted."""
        if not self.keep:
            return
        if self.scheme == "olddir":
            old = os.path.join(self.directory, "old")
            names = sorted(n for n in os.listdir(old) if n.startswith(self.name + "-"))
            for name in names[:-self.keep]:
                os.remove(os.path.join(old, name))
            return
        for number, path in self.members():
            if number > self.keep:
                os.remove(path)

    def gzip_file(self, path):
        with open(path, "rb") as source:
            data = gzip.compress(source.read(), mtime=0)
        if self.compressing_during_scan:
            # gzip still at work when the scan runs: half the compressed file beside the whole original.
            with open(path + ".gz", "wb") as target:
                target.write(data[:len(data) // 2])
            self.unfinished.append((path, data))
            return
        with open(path + ".gz", "wb") as target:
            target.write(data)
        os.remove(path)

    def finish_compressions(self):
        for path, data in self.unfinished:
            with open(path + ".gz", "wb") as target:
                target.write(data)
            os.remove(path)
        self.unfinished = []

    def rotate(self):
        self.day += 1
        if self.scheme == "olddir":
            old = os.path.join(self.directory, "old")
            os.makedirs(old, exist_ok=True)
            date = datetime.date(2026, 1, 1) + datetime.timedelta(days=self.day)
            target = os.path.join(old, f"{self.name}-{date:%Y%m%d}")
            os.rename(self.live, target)
            self.gzip_file(target)
            open(self.live, "wb").close()
            return
        # Shift the numbered members up by one, newest last.
        for number, path in reversed(self.members()):
            suffix = path[len(os.path.join(self.directory, f"{self.name}.{number}")):]
            os.rename(path, os.path.join(self.directory, f"{self.name}.{number + 1}{suffix}"))
        first = os.path.join(self.directory, f"{self.name}.1")
        if self.scheme == "copytruncate":
            shutil.copyfile(self.live, first)
            with open(self.live, "r+b") as live:
                live.truncate(0)
        else:
            os.rename(self.live, first)
            open(self.live, "wb").close()
        if self.scheme == "compress":
            self.gzip_file(first)
        if self.scheme in ("delaycompress", "copytruncate"):
            second = os.path.join(self.directory, f"{self.name}.2")
            if os.path.exists(second):
                self.gzip_file(second)


def run_scan(tool, directory, database, keys, kill_after=None, interrupt_after=None):
    arguments = [tool, "scan", directory, "--db", database, "--commit-interval", "0.2"]
    if keys:
        arguments += ["--keys", keys]
    process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    delay = kill_after if kill_after is not None else interrupt_after
    if delay is not None:
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL if kill_after is not None else signal.SIGINT)
    _, stderr = process.communicate()
    return process.returncode, stderr.decode(errors="replace")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines-from", required=True, help="a log (plain or .gz) whose lines are written in order")
    parser.add_argument("--keys", default="", help="the key set for every scan")
    parser.add_argument("--tool", default=".build/release/tokenaudit")
    parser.add_argument("--scheme", default="delaycompress",
                        choices=["delaycompress", "compress", "rename", "copytruncate", "olddir"])
    parser.add_argument("--nights", type=int, default=10)
    parser.add_argument("--lines-per-night", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--logs", type=int, default=1, choices=[1, 2, 3], help="logs written side by side")
    parser.add_argument("--keep", type=int, default=0,
                        help="rotated members kept (logrotate's `rotate N`; 0: all). A member is deleted only "
                             "after a scan read it whole: use 4 or more")
    parser.add_argument("--keep-work", action="store_true", help="keep the working directory")
    options = parser.parse_args()
    rng = random.Random(options.seed)
    opener = gzip.open if options.lines_from.endswith(".gz") else open
    with opener(options.lines_from, "rb") as source:
        pool = [line for _, line in zip(range(options.nights * options.lines_per_night * 2 * options.logs), source)]
    work = tempfile.mkdtemp(prefix="nightly-sim-")
    logs = os.path.join(work, "logs")
    os.makedirs(logs)
    database = os.path.join(work, "audit.sqlite")
    names = ["access.log", "api.log", "auth.log"][:options.logs]
    logs_in_use = [Log(logs, options.scheme, rng, name, options.keep) for name in names]
    written = []       # every line, complete
    cursor = 0
    events = []
    for night in range(options.nights):
        for log in logs_in_use:
            count = rng.randint(max(1, options.lines_per_night // 2), options.lines_per_night * 3 // 2)
            chunk = pool[cursor:cursor + count]
            cursor += count
            log.write(chunk, half_line=rng.random() < 0.3)
            written.extend(chunk)
            if rng.random() < 0.15:
                # Rotated before tonight's scan (the writer finishes its line first), sometimes with its gzip
                # still at work while the scan runs.
                log.finish_line()
                log.compressing_during_scan = rng.random() < 0.4
                log.rotate()
                log.compressing_during_scan = False
                log.drop_old()
                events.append(f"night {night}: {log.name} rotated before the scan"
                              + (" (gzip at work during it)" if log.unfinished else ""))
        outcome = rng.random()
        if outcome < 0.2:
            code, stderr = run_scan(options.tool, logs, database, options.keys, kill_after=rng.uniform(0.05, 0.8))
            events.append(f"night {night}: killed (exit {code})")
        elif outcome < 0.3:
            code, stderr = run_scan(options.tool, logs, database, options.keys,
                                    interrupt_after=rng.uniform(0.05, 0.8))
            events.append(f"night {night}: interrupted (exit {code})")
        code, stderr = run_scan(options.tool, logs, database, options.keys)
        compressing = any(log.unfinished for log in logs_in_use)
        if code not in (0, 1) and not (code == 3 and compressing):
            print(f"night {night}: scan exited {code}:\n{stderr}", file=sys.stderr)
            sys.exit(2)
        notes = [l for l in stderr.splitlines() if "keys:" not in l]
        if notes:
            events.append(f"night {night}: exit {code}: " + " / ".join(notes)[:300])
        for log in logs_in_use:
            log.finish_compressions()
        for log in logs_in_use:
            if rng.random() < 0.5:
                log.finish_line()
                log.rotate()
                log.drop_old()
                events.append(f"night {night}: {log.name} rotated after the scan")
    # The writers finish their lines; the last night.
    for log in logs_in_use:
        log.finish_line()
    code, stderr = run_scan(options.tool, logs, database, options.keys)
    if code not in (0, 1):
        print(f"final scan exited {code}:\n{stderr}", file=sys.stderr)
        sys.exit(2)
    # One scan of every line in order.
    reference_log = os.path.join(work, "reference", "all.log.1")
    os.makedirs(os.path.dirname(reference_log))
    with open(reference_log, "wb") as out:
        out.writelines(written)
    reference = os.path.join(work, "reference.sqlite")
    code, stderr = run_scan(options.tool, os.path.dirname(reference_log), reference, options.keys)
    got, expected = dump(database), dump(reference)
    failures = 0
    for name, _ in TABLE_QUERIES:
        if got[name] != expected[name]:
            failures += 1
            missing = set(expected[name]) - set(got[name])
            extra = set(got[name]) - set(expected[name])
            print(f"{name}: {len(got[name])} rows, expected {len(expected[name])}; "
                  f"{len(missing)} missing or different, {len(extra)} extra or different", file=sys.stderr)
            for row in sorted(missing)[:3]:
                print(f"  expected {row}", file=sys.stderr)
            for row in sorted(extra)[:3]:
                print(f"  got      {row}", file=sys.stderr)
    print(f"scheme {options.scheme}, seed {options.seed}: {len(written)} lines over {options.nights} nights; "
          + ("database equals one scan" if failures == 0 else f"{failures} tables differ"))
    if failures:
        for event in events:
            print("  " + event, file=sys.stderr)
        print(f"  work directory: {work}", file=sys.stderr)
    elif not options.keep_work:
        shutil.rmtree(work)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
