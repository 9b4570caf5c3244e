#!/usr/bin/env python3
"""Issue 14's rows of the benchmark (see bench/reads.sh): P1b, P6, P7.

P1b  a LIMIT that is not pushed (a local filter): GETs <= pages needed + 1
P6   every result of a project of 50 optimizations (1-2 pages each) at 50 ms per request:
     default options vs max_concurrency '1' (goal >= 3.3x) and vs curl --parallel --parallel-max 4
P7   count(*) of 100k results: 1 request, < 100 ms at no delay
Writes the "Issue 14" section of bench/RESULTS.md (replacing an older one)."""
import argparse
import math
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (psql, timed, repeat, Server, log)

P6_OPTS = [(f"o{i:02d}", 150 if i % 2 else 80) for i in range(1, 51)]


def setup(args):
    base = f"http://127.0.0.1:{args.port}"
    base6 = f"http://127.0.0.1:{args.p6_port}"
    bench.psql("DROP EXTENSION IF EXISTS ldai_fdw CASCADE; CREATE EXTENSION ldai_fdw;")
    for name, url, proj, extra in (("s100", base, "bench", ""), ("s1000", base, "bench", ""),
                                   ("p6", base6, "p6", ""), ("p6_seq", base6, "p6", ", max_concurrency '1'")):
        ps = 1000 if name == "s1000" else 100
        bench.psql(f"CREATE SERVER {name} FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url '{url}', "
                   f"project_key '{proj}', page_size '{ps}'{extra});"
                   f"CREATE USER MAPPING FOR CURRENT_USER SERVER {name} OPTIONS (api_key '{args.key}');"
                   f"CREATE SCHEMA {name};"
                   f'IMPORT FOREIGN SCHEMA "{proj}" LIMIT TO (agent_optimization_results) FROM SERVER {name} INTO {name};')
        if proj == "bench":
            bench.psql(f"ALTER FOREIGN TABLE {name}.agent_optimization_results OPTIONS (ADD optimization_key 'big');")


def p1b(args, srv, res):
    bench.log("\n== P1b: LIMIT under a local filter (not pushed): GETs <= pages needed + 1")
    rows = []
    for n in (1, 50, 99, 250, 1000):
        srv.reset()
        out = bench.sql_out(f"SELECT count(*) FROM (SELECT id FROM s100.agent_optimization_results "
                            f"WHERE status IS NOT NULL LIMIT {n}) t;")
        time.sleep(0.05)
        gets = srv.stats()["gets"]
        need = math.ceil(n / 100)
        rows.append((n, int(out), gets, need, gets <= need + 1))
        bench.log(f"  LIMIT {n:>5}: {gets} GETs, {need} pages needed")
    res["p1b"] = rows


def p7(args, srv, res):
    bench.log("\n== P7: count(*) of 100k results, no delay")
    srv.delay(0)
    srv.reset()
    r = bench.repeat("count(*) (pushed: totalCount)", lambda: bench.timed(
        "SELECT count(*) FROM s1000.agent_optimization_results", sql=True), 5, 1, expect="100000")
    r["gets"] = srv.stats()["gets"] / 6
    # what the psql process itself costs, to read the FDW's share
    r["psql"] = bench.repeat("psql SELECT 1 (baseline)", lambda: bench.timed("SELECT 1", sql=True), 5, 1)
    res["p7"] = r


def p6(args, srv6, res):
    total = sum(n for _, n in P6_OPTS)
    pages = sum(math.ceil(n / 100) for _, n in P6_OPTS)
    bench.log(f"\n== P6: every result of 50 optimizations ({total} results, {pages} pages + the list), 50 ms per request")
    srv6.delay(50)
    r = {"pages": pages, "results": total}
    try:
        q = "SELECT count(id) FROM {}.agent_optimization_results"
        for name, server in (("default", "p6"), ("seq", "p6_seq")):
            def run(server=server):
                srv6.reset()
                out = bench.timed(q.format(server), sql=True)
                st = srv6.stats()
                r.setdefault(server + "_gets", []).append(st["gets"])
                r.setdefault(server + "_inflight", []).append(st["max_inflight"])
                return out
            r[name] = bench.repeat(f"FDW {server}", run, 3, 0, expect=str(total))
        cfg = os.path.join(bench.OUT, "curl_p6.cfg")
        with open(cfg, "w") as f:
            base = f"http://127.0.0.1:{args.p6_port}/api/v2/projects/p6/agent-optimizations"
            f.write(f'url = "{base}?limit=100&offset=0"\noutput = "/dev/null"\n')
            for o, n in P6_OPTS:
                for off in range(0, n, 100):
                    f.write(f'url = "{base}/{o}/all-results?limit=100&offset={off}"\noutput = "/dev/null"\n')
        r["curl4"] = bench.repeat("curl --parallel --parallel-max 4, the same pages", lambda: bench.timed(
            ["curl", "-s", "--parallel", "--parallel-max", "4", "-H", f"Authorization: {args.key}", "-K", cfg]), 3, 0)
    finally:
        srv6.delay(0)
    res["p6"] = r


def section(res):
    L = ["## Issue 14: project-wide reads (bench/reads.sh)", "",
         f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, git {res['git']}, same machine as above. "
         "Medians; `bash bench/reads.sh` reproduces them.", "",
         "| id | goal | measured | result |", "|---|---|---|---|"]
    if "p1b" in res:
        bad = [f"LIMIT {n}: {g} GETs for {need} pages" for n, _, g, need, ok in res["p1b"] if not ok]
        L.append("| P1b | a LIMIT under a local filter: GETs ≤ pages needed + 1 | "
                 + ", ".join(f"LIMIT {n}: {g} GETs ({need} needed)" for n, _, g, need, _ in res["p1b"])
                 + f" | {'fail: ' + '; '.join(bad) if bad else 'pass'} |")
    if "p7" in res:
        p = res["p7"]
        ms = p["median"] * 1000
        L.append(f"| P7 | count(*) of 100k results: 1 request, < 100 ms at no delay | {p['gets']:.0f} request per "
                 f"count, {ms:.0f} ms wall (psql's own start-up and `SELECT 1`: {p['psql']['median'] * 1000:.0f} ms) | "
                 f"{'pass' if p['gets'] == 1 and ms < 100 else 'fail'} |")
    if "p6" in res:
        p = res["p6"]
        ratio = p["seq"]["median"] / p["default"]["median"]
        vs_curl = p["default"]["median"] / p["curl4"]["median"]
        L.append(f"| P6 | 50 optimizations ({p['pages']} pages + the list) at 50 ms: default ≥ 3.3× faster than "
                 f"`max_concurrency '1'` | {ratio:.2f}× ({p['default']['median']:.2f} s vs {p['seq']['median']:.2f} s; "
                 f"GETs {p['p6_gets'][-1]} vs {p['p6_seq_gets'][-1]}, most in flight {max(p['p6_inflight'])}) | "
                 f"{'pass' if ratio >= 3.3 else 'fail'} |")
        L.append(f"| P6 | the same pages: default within 1.3× of `curl --parallel --parallel-max 4` | "
                 f"FDW {p['default']['median']:.2f} s, curl {p['curl4']['median']:.2f} s: {vs_curl:.2f}× curl's time | "
                 f"{'pass' if vs_curl <= 1.3 else 'fail'} |")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--p6-port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    args = ap.parse_args()
    os.makedirs(bench.OUT, exist_ok=True)
    res = {"git": subprocess.run(["git", "-C", os.path.dirname(HERE), "describe", "--always", "--dirty"],
                                 capture_output=True, text=True).stdout.strip() or "?"}
    setup(args)
    srv, srv6 = bench.Server(args.port, args.key), bench.Server(args.p6_port, args.key)
    p1b(args, srv, res)
    p7(args, srv, res)
    p6(args, srv6, res)
    text = section(res)
    bench.log("\n" + text)
    old = open(args.results).read() if os.path.exists(args.results) else ""
    old = re.sub(r"\n## Issue 14: project-wide reads.*?(?=\n## |\Z)", "\n", old, flags=re.S).rstrip("\n")
    with open(args.results, "w") as f:
        f.write(old + "\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
