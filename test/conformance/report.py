#!/usr/bin/env python3
"""Turn the relay's exchanges into a conformance verdict.  Standard library only.

    report.py --exchanges exchanges.jsonl --journal standin-journal.jsonl \\
              --prism-log prism.log [--prism-log-offset BYTES] --allow expected-violations.txt

Findings (each one fails the run unless a pattern of the allow-list matches it):
  - every error-level violation Prism reported for a request or a response;
  - "Selected route not found": the FDW called something the spec does not declare (a warning
    in Prism, an error here);
  - Prism failing to validate an exchange (e.g. a response body that is not JSON);
  - an exchange whose response never arrived complete (stall, truncation, client gave up);
  - a disagreement between the error-level Violation lines of Prism's log and the violations
    the exchanges carry (nothing may slip past the per-request accounting).
Warnings are summed up by rule and do not fail the run.

Each finding is one line, which is also what allow-list patterns are matched against:
    METHOD TARGET -> STATUS fault=FAULT | RULE
STATUS is `none` when no complete response came; FAULT is the stand-in's fault note for that
request (compact JSON, from its --journal, strings cut to 40 characters) or `-`.

The allow-list has one Python regular expression per line, searched in the finding line, and a
mandatory reason after ` #`.  Blank lines and lines starting with `#` are comments.

Last line: `conformance: N requests validated, M violations`; exit status 1 if M > 0 (N == 0 counts
as a violation).
"""
import argparse
import collections
import json
import re
import sys
import time

LOG_ERROR = re.compile(r"\[VALIDATOR\].*\berror\s+Violation:")
LOG_TERMINATED = re.compile(r"\berror\b.*Request terminated with error")


def load_jsonl(path):
    """The JSON lines of path ([] if it does not exist)."""
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def load_allow(path):
    """[(compiled pattern, text, reason)] from the allow-list; exits on a line without a reason."""
    out = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            pattern, sep, reason = stripped.partition(" #")
            if not sep or not reason.strip():
                sys.exit("%s:%d: a pattern needs a reason after ' #': %s" % (path, number, stripped))
            try:
                out.append((re.compile(pattern.strip()), pattern.strip(), reason.strip()))
            except re.error as err:
                sys.exit("%s:%d: bad pattern: %s" % (path, number, err))
    return out


def attach_faults(exchanges, journal):
    """Give each exchange the stand-in's log entry for it: same client port, method, path and query, in order."""
    pending = collections.defaultdict(collections.deque)
    for entry in journal:
        pending[entry["client_port"]].append(entry)
    for ex in exchanges:
        ex["fault"] = None
        queue = pending.get(ex["upstream_port"])
        while queue:
            entry = queue.popleft()
            if (entry["method"], entry["path"], entry["query"]) == (ex["method"], ex["path"], ex["query"]):
                ex["fault"] = entry.get("fault")
                break


def findings_of(ex):
    """(errors, warnings) of one exchange, as rule strings."""
    errors, warnings = [], []
    for v in ex["violations"]:
        rule = "%s: %s" % (".".join(v.get("location") or []) or "-", v.get("message"))
        if v.get("severity") == "Error":
            errors.append(rule)
        elif v.get("message") == "Selected route not found":
            errors.append(rule + " (no operation of the spec matches this method and path)")
        else:
            warnings.append(rule)
    if ex.get("prism_error"):
        errors.append("prism: " + ex["prism_error"])
    if ex.get("incomplete"):
        errors.append("transport: " + ex["incomplete"])
    return errors, warnings


def describe(ex, rule):
    """The finding line (what allow-list patterns are matched against)."""
    fault = "-"
    if ex["fault"]:
        note = {k: (v[:40] + "...") if isinstance(v, str) and len(v) > 43 else v for k, v in ex["fault"].items()}
        fault = json.dumps(note, sort_keys=True, separators=(",", ":"))
    status = ex["status"] if ex["status"] is not None else "none"
    return "%s %s -> %s fault=%s | %s" % (ex["method"], ex["target"], status, fault, rule)


def prism_log_errors(path, offset):
    """How many error-level Violation lines and 'Request terminated' lines Prism logged after offset."""
    with open(path, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    lines = text.splitlines()
    return sum(1 for line in lines if LOG_ERROR.search(line)), sum(1 for line in lines if LOG_TERMINATED.search(line))


def main(argv=None):
    """Print the findings and the verdict."""
    parser = argparse.ArgumentParser(description="conformance verdict from the relay's exchanges")
    parser.add_argument("--exchanges", required=True)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--prism-log", required=True)
    parser.add_argument("--prism-log-offset", type=int, default=0)
    parser.add_argument("--allow", required=True)
    parser.add_argument("--settle", type=float, default=0,
                        help="Prism still runs: give its log this many seconds to catch up")
    parser.add_argument("--quiet-expected", action="store_true", help="do not list allow-listed findings")
    args = parser.parse_args(argv)

    allow = load_allow(args.allow)
    exchanges = [ex for ex in load_jsonl(args.exchanges) if not ex["control"]]
    control = sum(1 for ex in load_jsonl(args.exchanges) if ex["control"])
    attach_faults(exchanges, load_jsonl(args.journal))

    violations, expected, warnings = [], [], collections.Counter()
    used = collections.Counter()
    for ex in sorted(exchanges, key=lambda e: e["seq"]):
        errors, warns = findings_of(ex)
        for rule in warns:
            warnings[rule] += 1
        for rule in errors:
            line = describe(ex, rule)
            match = next((a for a in allow if a[0].search(line)), None)
            if match:
                used[match[1]] += 1
                expected.append((line, match[2]))
            else:
                violations.append(line)

    carried = sum(ex.get("prism_logged_errors", 0) for ex in exchanges)
    deadline = time.time() + args.settle
    while True:
        logged_violations, logged_terminated = prism_log_errors(args.prism_log, args.prism_log_offset)
        if logged_violations >= carried or time.time() >= deadline:
            break
        time.sleep(0.1)
    if logged_violations != carried:
        violations.append("prism.log has %d error-level Violation lines but the exchanges carry %d"
                          % (logged_violations, carried))
    prism_failed = sum(1 for ex in exchanges if ex.get("prism_error") and (ex.get("prism_status") or 0) >= 500)
    if logged_terminated > prism_failed:
        violations.append("prism.log has %d 'Request terminated with error' lines, the exchanges only %d"
                          % (logged_terminated, prism_failed))

    if not exchanges:
        violations.append("no API request was recorded (is the suite pointed at the relay?)")

    for rule, count in sorted(warnings.items()):
        print("warning (not a failure): %d x %s" % (count, rule))
    if not args.quiet_expected:
        for line, reason in expected:
            print("expected: %s   [%s]" % (line, reason))
    for pattern, _, reason in allow:
        if not used[pattern.pattern]:
            print("note: allow-list pattern matched nothing: %s" % pattern.pattern)
    for line in violations:
        print("VIOLATION: %s" % line)
    print("(%d control requests passed through unvalidated; %d expected findings set aside)"
          % (control, len(expected)))
    print("conformance: %d requests validated, %d violations" % (len(exchanges), len(violations)))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
