"""ldai_fdw benchmark driver (issue 8): P1-P5 and their baselines.

Run by bench/run.sh inside `pg_virtualenv` (PG* variables point at a throwaway
cluster) while bench/build/ldbench_server listens on --port.  Standard library
only.  Prints the table and writes bench/RESULTS.md.
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")

# data sets the server is started with (run.sh passes the same numbers)
BIG = 100_000      # P2: 100 pages of 1000
P3_ROWS = 10_000   # P3: 100 pages of 100
SMALL = 10_000     # P4 reference
HUGE = 1_000_000   # P4
INSERT_ROWS = 1000  # P5
UPDATE_ROWS = 1000  # P5, UPDATE
DELAY_MS = 50       # P3, P5

RUN_ID = "c0ffee00-0000-4000-8000-000000000001"


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------
# helpers: psql, the server's control routes, timing


class SqlError(Exception):
    pass


def psql(sql, check=True, quiet=True, timeout=900):
    """Run sql in a fresh psql session; returns stdout (unaligned, tuples only)."""
    cmd = ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1"]
    if quiet:
        cmd.append("-q")
    p = subprocess.run(cmd, input=sql, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise SqlError(p.stderr.strip() or p.stdout.strip())
    return p.stdout.strip() if p.returncode == 0 else None, p.stderr.strip()


def sql_out(sql, **kw):
    return psql(sql, **kw)[0]


class Server:
    def __init__(self, port, key):
        self.base = f"http://127.0.0.1:{port}"
        self.key = key

    def _call(self, method, path):
        req = urllib.request.Request(self.base + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def stats(self):
        return self._call("GET", "/_bench/stats")

    def reset(self):
        self._call("POST", "/_bench/reset")

    def delay(self, ms):
        self._call("POST", f"/_bench/delay?ms={ms}")


def timed(argv_or_sql, *, sql=False, stdin=None, timeout=900):
    """Wall time of one run; returns (seconds, stdout)."""
    if sql:
        cmd = ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", argv_or_sql]
    else:
        cmd = argv_or_sql
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=stdin)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SqlError(f"{shlex.join(cmd)[:200]}: {p.stderr.strip()[:2000]}")
    return dt, p.stdout.strip()


def repeat(label, fn, runs, warmup, expect=None):
    """Run fn() warmup+runs times; fn returns (seconds, output).  Checks output."""
    times, out = [], None
    for i in range(warmup + runs):
        dt, out = fn()
        if expect is not None and out != expect:
            raise SqlError(f"{label}: expected {expect!r}, got {out!r}")
        if i >= warmup:
            times.append(dt)
    med = statistics.median(times)
    log(f"  {label:<48} median {fmt_s(med)}  (min {fmt_s(min(times))}, max {fmt_s(max(times))}, n={len(times)})  -> {out}")
    return {"median": med, "min": min(times), "max": max(times), "n": len(times), "out": out, "times": times}


def fmt_s(s):
    if s is None:
        return "-"
    return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.2f} s"


# ---------------------------------------------------------------------------
# setup


PLPY_FUNCTION = r"""
CREATE OR REPLACE FUNCTION bench_py_results(base_url text, api_key text, project text, opt text, page_size int)
RETURNS TABLE (optimization_key text, id uuid, run_id uuid, agent_optimization_id uuid,
               agent_optimization_version int, status text, activity text, iteration int,
               instructions text, user_input text, parameters jsonb, completion_response text,
               variation jsonb, scores jsonb, generation_tokens jsonb, evaluation_tokens jsonb,
               generation_latency int, evaluation_latencies jsonb, created_variation_key text,
               created_at timestamptz, updated_at timestamptz, completed_at timestamptz, attrs jsonb)
LANGUAGE plpython3u AS $py$
import datetime
import json
import urllib.parse
import urllib.request

utc = datetime.timezone.utc

def ts(v):
    return None if v is None else datetime.datetime.fromtimestamp(v / 1000, utc).isoformat()

def js(v):
    return None if v is None else json.dumps(v)

path = "%s/api/v2/projects/%s/agent-optimizations/%s/all-results" % (
    base_url, urllib.parse.quote(project, safe=""), urllib.parse.quote(opt, safe=""))
offset = 0
while True:
    req = urllib.request.Request("%s?limit=%d&offset=%d" % (path, page_size, offset),
                                 headers={"Authorization": api_key, "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        page = json.load(resp)
    items = page.get("items") or []
    for it in items:
        g = it.get
        yield (opt, it["id"], it["runId"], it["agentOptimizationId"], it["agentOptimizationVersion"],
               it["status"], it["activity"], it["iteration"], it["instructions"], it["userInput"],
               js(g("parameters")), g("completionResponse"), js(g("variation")), js(g("scores")),
               js(g("generationTokens")), js(g("evaluationTokens")), g("generationLatency"),
               js(g("evaluationLatencies")), g("createdVariationKey"), ts(it["createdAt"]),
               ts(it["updatedAt"]), ts(g("completedAt")), json.dumps(it))
    offset += len(items)
    total = page.get("totalCount")
    if not items or "next" not in (page.get("_links") or {}) or (total is not None and offset >= total):
        break
$py$;
"""


def setup(args):
    """Extension, servers (with the options that may not exist yet), tables.

    Returns {feature: None | error text} for max_concurrency and batch_size."""
    base = f"http://127.0.0.1:{args.port}"
    psql("DROP EXTENSION IF EXISTS ldai_fdw CASCADE; CREATE EXTENSION ldai_fdw;"
         "CREATE EXTENSION IF NOT EXISTS plpython3u;" + PLPY_FUNCTION)
    servers = {
        # name: (page_size, extra options, feature it needs)
        "s1000": (1000, "", None),
        "s100": (100, "", None),
        "s1000_seq": (1000, ", max_concurrency '1'", "max_concurrency"),
        "s100_seq": (100, ", max_concurrency '1'", "max_concurrency"),
        "s_b1": (1000, ", batch_size '1'", "batch_size"),
        # batch_size rows are sent concurrently: let all 10 of a batch be in flight
        "s_b10": (1000, ", batch_size '10', max_concurrency '10'", "batch_size"),
        # calls queued and sent at COMMIT, 4 in flight (the default max_concurrency)
        "s_oc": (1000, ", write_mode 'on_commit'", "write_mode"),
    }
    tables = {"big": BIG, "p3": P3_ROWS, "small": SMALL, "huge": HUGE, "ins": 0, "upd": UPDATE_ROWS}
    features = {"max_concurrency": None, "batch_size": None, "write_mode": None}
    made = []
    for name, (ps, extra, feature) in servers.items():
        if args.fake_options:
            extra = ""
        out, err = psql(f"CREATE SERVER {name} FOREIGN DATA WRAPPER ldai_fdw OPTIONS "
                        f"(base_url '{base}', project_key 'bench', page_size '{ps}'{extra});", check=False)
        if out is None:
            if feature is None:
                raise SqlError(err)
            features[feature] = err.splitlines()[0] if err else "error"
            continue
        made.append(name)
        psql(f"CREATE USER MAPPING FOR CURRENT_USER SERVER {name} OPTIONS (api_key '{args.key}');"
             f"CREATE SCHEMA {name};")
        for t in tables:
            psql(f'IMPORT FOREIGN SCHEMA "bench" LIMIT TO (agent_optimization_results) FROM SERVER {name} INTO {name};'
                 f"ALTER FOREIGN TABLE {name}.agent_optimization_results RENAME TO {t};"
                 f"ALTER FOREIGN TABLE {name}.{t} OPTIONS (ADD optimization_key '{t}');")
    return features, made


# ---------------------------------------------------------------------------
# the measures


def server_throughput(args, srv, res):
    """The fake server's own speed: 100 pages of 1000 by one curl, 4 curls at once,
    and Python's ThreadingHTTPServer serving one pre-rendered page for comparison."""
    log("\n== server throughput (the server must not be the bottleneck)")
    curl_cfg = write_curl_config(args, "big", 1000, BIG)
    cmd = ["curl", "-s", "-H", f"Authorization: {args.key}", "-K", curl_cfg]
    r = repeat("C server, 1 curl, 100 pages x 1000", lambda: timed(cmd), args.runs, 1)
    mb = page_bytes(args, "big", 1000, BIG) / 1e6
    res["server"] = {"seq_s": r["median"], "mb": mb, "seq_mbps": mb / r["median"], "seq_pps": 100 / r["median"]}
    # 4 concurrent keep-alive connections, 25 pages each
    cfgs = [write_curl_config(args, "big", 1000, BIG, part=(i, 4)) for i in range(4)]

    def par():
        t0 = time.perf_counter()
        ps = [subprocess.Popen(["curl", "-s", "-H", f"Authorization: {args.key}", "-K", c]) for c in cfgs]
        for p in ps:
            p.wait()
        return time.perf_counter() - t0, "ok"
    r = repeat("C server, 4 curls at once, 25 pages each", par, args.runs, 1)
    res["server"].update(par_s=r["median"], par_mbps=mb / r["median"])
    # 50 ms delay, 8 concurrent requests: must overlap (~50 ms, not 400 ms)
    srv.delay(DELAY_MS)
    url = f"http://127.0.0.1:{args.port}/api/v2/projects/bench/agent-optimizations/small"

    def delayed():
        t0 = time.perf_counter()
        ps = [subprocess.Popen(["curl", "-s", "-o", "/dev/null", "-H", f"Authorization: {args.key}", url])
              for _ in range(8)]
        for p in ps:
            p.wait()
        return time.perf_counter() - t0, "ok"
    r = repeat(f"8 concurrent requests with {DELAY_MS} ms delay", delayed, 3, 0)
    srv.delay(0)
    res["server"]["delay8_s"] = r["median"]
    # the Python alternative, best case: one pre-rendered body, no rendering at all
    body = os.path.join(OUT, "page1000.json")
    subprocess.run(["curl", "-s", "-o", body, "-H", f"Authorization: {args.key}",
                    f"http://127.0.0.1:{args.port}/api/v2/projects/bench/agent-optimizations/big/all-results?limit=1000&offset=0"],
                   check=True)
    py = subprocess.Popen([sys.executable, os.path.join(HERE, "py_probe_server.py"), "0", body, "120"],
                          stdout=subprocess.PIPE, text=True)
    try:
        pport = int(py.stdout.readline())
        pcfg = os.path.join(OUT, "curl_py.cfg")
        with open(pcfg, "w") as f:
            for i in range(100):
                f.write(f'url = "http://127.0.0.1:{pport}/p?offset={i * 1000}"\noutput = "/dev/null"\n')
        r = repeat("Python ThreadingHTTPServer, same bytes, 100 pages", lambda: timed(["curl", "-s", "-K", pcfg]),
                   args.runs, 1)
        res["server"]["py_s"] = r["median"]
    finally:
        py.kill()
        py.wait()


def write_curl_config(args, opt, page_size, rows, part=None):
    pages = list(range(0, rows, page_size))
    name = f"curl_{opt}_{page_size}"
    if part:
        pages = pages[part[0]::part[1]]
        name += f"_{part[0]}of{part[1]}"
    path = os.path.join(OUT, name + ".cfg")
    with open(path, "w") as f:
        for off in pages:
            f.write(f'url = "http://127.0.0.1:{args.port}/api/v2/projects/bench/agent-optimizations/{opt}'
                    f'/all-results?limit={page_size}&offset={off}"\noutput = "/dev/null"\n')
    return path


_page_bytes = {}


def page_bytes(args, opt, page_size, rows):
    key = (opt, page_size, rows)
    if key not in _page_bytes:
        cfg = write_curl_config(args, opt, page_size, rows)
        p = subprocess.run(["curl", "-s", "-H", f"Authorization: {args.key}", "-K", cfg, "-w", "%{size_download}\n"],
                           capture_output=True, text=True, check=True)
        _page_bytes[key] = sum(int(x) for x in p.stdout.split())
    return _page_bytes[key]


def p1(args, srv, res):
    log("\n== P1: LIMIT n -> ceil(n / page_size) GETs (pushed-down LIMIT)")
    cases = [("s100", 100, n) for n in (1, 99, 100, 101, 250, 1000, 2500)] + [("s1000", 1000, 2500)]
    rows = []
    ok = True
    for server, ps, n in cases:
        srv.reset()
        out = sql_out(f"SELECT count(*) FROM (SELECT id FROM {server}.big LIMIT {n}) t;")
        time.sleep(0.05)
        st = srv.stats()
        want = math.ceil(n / ps)
        good = st["gets"] == want and int(out) == n
        ok &= good
        rows.append({"server": server, "page_size": ps, "n": n, "rows": int(out), "gets": st["gets"],
                     "expected": want, "max_inflight": st["max_inflight"], "ok": good})
        log(f"  page_size {ps:>4}  LIMIT {n:>5}: {st['gets']} GETs (expected {want}), {out} rows"
            f"{'' if good else '   <-- MISMATCH'}")
    # informational: a LIMIT that is not pushed (local filter): how far does the scan read ahead?
    srv.reset()
    out = sql_out("SELECT count(*) FROM (SELECT id FROM s100.big WHERE status IS NOT NULL LIMIT 250) t;")
    time.sleep(0.05)
    st = srv.stats()
    log(f"  (info) not pushed: LIMIT 250 over a local filter, page_size 100: {st['gets']} GETs (3 needed), {out} rows")
    res["p1"] = {"rows": rows, "ok": ok, "unpushed_gets": st["gets"]}


def p2(args, srv, res):
    log(f"\n== P2: full scan of {BIG} results (100 pages of 1000), no delay")
    srv.delay(0)
    r = {}
    cfg = write_curl_config(args, "big", 1000, BIG)
    r["curl"] = repeat("curl, one process, 100 URLs, keep-alive", lambda: timed(
        ["curl", "-s", "-H", f"Authorization: {args.key}", "-K", cfg]), args.runs, 1)
    # count(id), not count(*): a pushed count(*) is one GET (totalCount), not a scan
    q_count = "SELECT count(id) FROM s1000.big"
    q_all = "SELECT count(r) FROM s1000.big r"
    r["fdw_count"] = repeat("FDW count(id)", lambda: timed(q_count, sql=True), args.runs, 1, expect=str(BIG))
    r["fdw_all"] = repeat("FDW every column (count(r))", lambda: timed(q_all, sql=True), args.runs, 1,
                          expect=str(BIG))
    if "s1000_seq" in res["servers"]:
        r["fdw_count_seq"] = repeat("FDW count(id), max_concurrency 1", lambda: timed(
            "SELECT count(id) FROM s1000_seq.big", sql=True), args.runs, 1, expect=str(BIG))
    fn = f"bench_py_results('http://127.0.0.1:{args.port}', '{args.key}', 'bench', 'big', 1000)"
    r["py_count"] = repeat("PL/Python count(*)", lambda: timed(f"SELECT count(*) FROM {fn}", sql=True),
                           args.py_runs, 1, expect=str(BIG))
    r["py_all"] = repeat("PL/Python every column (count(r))", lambda: timed(
        f"SELECT count(r) FROM {fn} r", sql=True), args.py_runs, 0, expect=str(BIG))
    # the same rows?  total text of every row (also timed: the cost of printing the rows), and row 1
    q_text = "SELECT count(*), sum(octet_length(r::text)) FROM {} r"
    r["fdw_text"] = repeat("FDW rows as text (sum(octet_length(r::text)))",
                           lambda: timed(q_text.format("s1000.big"), sql=True), 1, 0)
    r["py_text"] = repeat("PL/Python rows as text", lambda: timed(q_text.format(fn), sql=True), 1, 0)
    r["same_text"] = r["fdw_text"]["out"] == r["py_text"]["out"]
    r["text_diff"] = ""
    if not r["same_text"]:
        a = sql_out("SELECT r::text FROM s1000.big r LIMIT 1")
        b = sql_out(f"SELECT r::text FROM {fn} r LIMIT 1")
        i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
        r["text_diff"] = f"first difference in row 1: FDW …{a[max(0, i - 30):i + 10]}… vs PL/Python …{b[max(0, i - 30):i + 10]}…"
    log(f"  FDW and PL/Python rows have the same text: {r['same_text']} "
        f"({r['fdw_text']['out']} vs {r['py_text']['out']}) {r['text_diff']}")
    r["mb"] = page_bytes(args, "big", 1000, BIG) / 1e6
    res["p2"] = r


def p3(args, srv, res):
    log(f"\n== P3: full scan of {P3_ROWS} results, 100 pages of 100, {DELAY_MS} ms per request")
    r = {}
    srv.delay(DELAY_MS)
    try:
        def run(server):
            def f():
                srv.reset()
                out = timed(f"SELECT count(id) FROM {server}.p3", sql=True)
                st = srv.stats()
                r.setdefault(server + "_inflight", []).append(st["max_inflight"])
                r.setdefault(server + "_gets", []).append(st["gets"])
                return out
            return f
        r["default"] = repeat("FDW, default (prefetch)", run("s100"), args.delay_runs, 0, expect=str(P3_ROWS))
        if "s100_seq" in res["servers"]:
            r["seq"] = repeat("FDW, max_concurrency '1' (sequential)", run("s100_seq"), args.delay_runs, 0,
                              expect=str(P3_ROWS))
        # the curl baseline of P2 once the network has a round trip: the same 100 pages, one after another
        cfg = write_curl_config(args, "p3", 100, P3_ROWS)
        r["curl"] = repeat("curl, one process, same 100 URLs, keep-alive (info)", lambda: timed(
            ["curl", "-s", "-H", f"Authorization: {args.key}", "-K", cfg]), args.delay_runs, 0)
        log(f"  max requests in flight: default {max(r['s100_inflight'])}"
            + (f", sequential {max(r['s100_seq_inflight'])}" if "seq" in r else "")
            + f"; GETs per scan: {r['s100_gets'][-1]}")
    finally:
        srv.delay(0)
    res["p3"] = r


def rss_of(query):
    """Run query in one session; return (VmHWM kB, VmRSS kB, RssAnon kB, seconds, output)."""
    script = ("SELECT pg_backend_pid() AS pid \\gset\n"
              f"{query};\n"
              "SELECT pg_read_file('/proc/' || :pid || '/status');\n")
    t0 = time.perf_counter()
    out = sql_out(script)
    dt = time.perf_counter() - t0
    vals = {}
    for k in ("VmHWM", "VmRSS", "RssAnon", "RssShmem"):
        m = re.search(rf"^{k}:\s+(\d+) kB", out, re.M)
        vals[k] = int(m.group(1)) if m else None
    first = out.splitlines()[0]
    return vals, dt, first


def p4(args, srv, res):
    log(f"\n== P4: backend peak RSS (VmHWM), {SMALL} vs {HUGE} results, page_size 1000")
    r = {}
    base, _, _ = rss_of("SELECT 1")
    r["idle"] = base
    log(f"  fresh backend after SELECT 1: VmHWM {base['VmHWM']} kB")
    for label, q in (("count", "SELECT count(id) FROM s1000.{t}"),
                     ("all", "SELECT count(r) FROM s1000.{t} r")):
        for t, n in (("small", SMALL), ("huge", HUGE)):
            vals, dt, out = rss_of(q.format(t=t))
            if not out.startswith(str(n)):
                raise SqlError(f"P4 {t}: expected {n} rows, got {out}")
            r[f"{label}_{t}"] = {"vals": vals, "s": dt, "out": out}
            log(f"  {label:<5} {t:<5} ({n:>7} rows): VmHWM {vals['VmHWM']:>7} kB  RssAnon {vals['RssAnon']:>7} kB"
                f"  RssShmem {vals['RssShmem']:>6} kB  in {fmt_s(dt)}  ({n / dt:,.0f} rows/s)")
    res["p4"] = r


INSERT_SQL = ("INSERT INTO {srv}.ins (optimization_key, run_id, agent_optimization_version, iteration, "
              "instructions, user_input) SELECT 'ins', '" + RUN_ID + "', 1, n, 'Answer from the FAQ only.', "
              "'bench case ' || n FROM generate_series(1, {n}) n")


def p5(args, srv, res):
    log(f"\n== P5: INSERT ... SELECT of {INSERT_ROWS} results, {DELAY_MS} ms per request")
    r = {}
    srv.delay(DELAY_MS)
    try:
        def run(server, returning=False):
            def f():
                srv.reset()
                q = INSERT_SQL.format(srv=server, n=INSERT_ROWS)
                if returning:
                    q = f"WITH ins AS ({q} RETURNING iteration) SELECT count(*), sum(iteration) FROM ins"
                dt, out = timed(q, sql=True)
                st = srv.stats()
                r.setdefault(server + ("_ret" if returning else ""), []).append(
                    {"posts": st["posts"], "hash": st["post_hash"], "inflight": st["max_inflight"], "out": out})
                return dt, out
            return f
        if "s_b1" in res["servers"]:
            r["b1"] = repeat("FDW, batch_size '1'", run("s_b1"), args.seq_insert_runs, 0,
                             expect=f"INSERT 0 {INSERT_ROWS}")
            r["b10"] = repeat("FDW, batch_size '10', max_concurrency '10'", run("s_b10"), args.delay_runs, 0,
                              expect=f"INSERT 0 {INSERT_ROWS}")
            r["dflt"] = repeat("FDW, default options (batch_size 10, max_concurrency 4)", run("s1000"),
                               args.delay_runs, 0, expect=f"INSERT 0 {INSERT_ROWS}")
            r["b10_ret"] = repeat("FDW, batch_size '10', with RETURNING (info)", run("s_b10", True), 1, 0)
            hashes = {x["hash"] for k in ("s_b1", "s_b10", "s1000") for x in r[k]}
            posts = {x["posts"] for k in ("s_b1", "s_b10", "s1000") for x in r[k]}
            r["same_rows"] = len(hashes) == 1 and posts == {INSERT_ROWS}
            log(f"  POSTs per statement {sorted(posts)}, body hashes {sorted(hashes)} -> same rows: {r['same_rows']};"
                f" max in flight: batch 1 {max(x['inflight'] for x in r['s_b1'])},"
                f" batch 10 {max(x['inflight'] for x in r['s_b10'])}")
        else:
            r["default"] = repeat("FDW, default (no batch_size option yet)", run("s1000"), 1, 0,
                                  expect=f"INSERT 0 {INSERT_ROWS}")
            log(f"  POSTs: {r['s1000'][0]['posts']}, max in flight {r['s1000'][0]['inflight']}")
    finally:
        srv.delay(0)
    res["p5"] = r


UPDATE_SQL = "UPDATE {srv}.upd SET status = 'PASSED', completion_response = 'reviewed ' || id"


def p5u(args, srv, res):
    """UPDATE of every result of a 1000-result data set: one GET, then one PATCH
    per row, one at a time (max_concurrency '1') or kept in flight while the
    next rows are read (up to max_concurrency)."""
    log(f"\n== P5 (UPDATE): UPDATE of {UPDATE_ROWS} results, {DELAY_MS} ms per request")
    r = {}
    if "s1000_seq" not in res["servers"]:
        log("  max_concurrency not available: skipped")
        return
    srv.delay(DELAY_MS)
    try:
        def run(server):
            def f():
                srv.reset()
                dt, out = timed(UPDATE_SQL.format(srv=server), sql=True)
                st = srv.stats()
                r.setdefault(server, []).append(
                    {"patches": st["patches"], "hash": st["patch_hash"], "gets": st["gets"],
                     "inflight": st["max_inflight"], "out": out})
                return dt, out
            return f
        expect = f"UPDATE {UPDATE_ROWS}"
        r["b1"] = repeat("FDW, max_concurrency '1' (one at a time)", run("s1000_seq"), args.seq_insert_runs, 0,
                         expect=expect)
        r["default"] = repeat("FDW, default options (max_concurrency 4)", run("s1000"),
                              args.delay_runs, 0, expect=expect)
        r["b10"] = repeat("FDW, max_concurrency '10'", run("s_b10"), args.delay_runs, 0,
                          expect=expect)
        keys = ["s1000_seq", "s1000", "s_b10"]
        if "s_oc" in res["servers"]:
            # autocommit: the statement queues 1000 PATCHes, its COMMIT sends them
            r["oc"] = repeat("FDW, write_mode 'on_commit' (sent at COMMIT, max_concurrency 4)", run("s_oc"),
                             args.delay_runs, 0, expect=expect)
            keys.append("s_oc")
        hashes = {x["hash"] for k in keys for x in r[k]}
        patches = {x["patches"] for k in keys for x in r[k]}
        r["same_rows"] = len(hashes) == 1 and patches == {UPDATE_ROWS}
        log(f"  PATCHes per statement {sorted(patches)} -> same rows: {r['same_rows']}; max in flight: "
            + ", ".join(f"{k} {max(x['inflight'] for x in r[k])}" for k in keys))
    finally:
        srv.delay(0)
    res["p5u"] = r


def perf_profile(args, srv, res):
    """perf record of the backend during the every-column scan of 100k results."""
    log("\n== perf profile of the backend (every column, 100k results)")
    if subprocess.run(["which", "perf"], capture_output=True).returncode != 0:
        log("  perf not installed: skipped")
        return
    data = os.path.join(OUT, "perf.data")
    script = ("SELECT pg_backend_pid() AS pid \\gset\n"
              "\\o " + os.path.join(OUT, "perf.pid") + "\nSELECT :pid;\n\\o\n"
              "SELECT pg_sleep(1);\n"
              "SELECT count(r) FROM s1000.big r;\n"
              "SELECT count(r) FROM s1000.big r;\n")
    pidfile = os.path.join(OUT, "perf.pid")
    if os.path.exists(pidfile):
        os.unlink(pidfile)
    p = subprocess.Popen(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, text=True)
    p.stdin.write(script)
    p.stdin.close()
    for _ in range(100):
        if os.path.exists(pidfile) and open(pidfile).read().strip():
            break
        time.sleep(0.05)
    pid = open(pidfile).read().strip()
    rec = subprocess.Popen(["perf", "record", "-q", "-F", "999", "-o", data, "-p", pid],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p.wait(timeout=300)
    time.sleep(0.2)
    rec.terminate()
    rec.wait(timeout=30)
    lines = []
    for sort, limit in (("dso", 0.5), ("dso,symbol", 1.0)):
        rep = subprocess.run(["perf", "report", "-i", data, "--sort", sort, "--stdio",
                              "--percent-limit", str(limit)], capture_output=True, text=True)
        with open(os.path.join(OUT, f"perf_{sort.replace(',', '_')}.txt"), "w") as f:
            f.write(rep.stdout)
        got = [x.rstrip() for x in rep.stdout.splitlines() if x.strip() and not x.startswith("#")][:25]
        lines += [f"-- self time by {sort}"] + got
    for x in lines:
        log("  " + x)
    res["perf"] = lines


# ---------------------------------------------------------------------------
# report


def verdict(ok):
    return "PASS" if ok else "FAIL"


def table(res):
    """Rows of the summary: id, measure, measured, baseline, ratio, goal, result."""
    rows = []
    p1r = res.get("p1")
    if p1r:
        cases = ", ".join(f"{c['n']}/{c['page_size']}→{c['gets']}" for c in p1r["rows"])
        rows.append(("P1", "LIMIT n: GETs (n/page_size→GETs)", cases, "ceil(n/page_size)",
                     f"{sum(c['ok'] for c in p1r['rows'])}/{len(p1r['rows'])} exact", "all exact",
                     verdict(p1r["ok"])))
    p2r = res.get("p2")
    if p2r:
        curl = p2r["curl"]["median"]
        for key, what in (("fdw_count", "count(id)"), ("fdw_all", "every column, count(r)")):
            t = p2r[key]["median"]
            rows.append(("P2", f"100k scan, {what} vs curl", fmt_s(t), f"curl {fmt_s(curl)}",
                         f"{t / curl:.2f}×", "≤ 1.25×", verdict(t <= 1.25 * curl)))
        for key, pkey, what in (("fdw_count", "py_count", "count(id)"), ("fdw_all", "py_all", "every column, count(r)")):
            t, py = p2r[key]["median"], p2r[pkey]["median"]
            rows.append(("P2", f"100k scan, {what} vs PL/Python", fmt_s(t), f"PL/Python {fmt_s(py)}",
                         f"{py / t:.2f}× faster", "≥ 3×", verdict(py / t >= 3)))
    p3r = res.get("p3")
    if p3r is not None:
        if "seq" in p3r:
            t, s = p3r["default"]["median"], p3r["seq"]["median"]
            rows.append(("P3", "100 pages × 50 ms: prefetch vs max_concurrency 1", fmt_s(t), f"sequential {fmt_s(s)}",
                         f"{s / t:.2f}× faster", "≥ 3.3×", verdict(s / t >= 3.3)))
        else:
            rows.append(("P3", "100 pages × 50 ms: prefetch vs max_concurrency 1",
                         f"default {fmt_s(p3r['default']['median'])}", "-", "-", "≥ 3.3×",
                         "option not available yet"))
    p3r = res.get("p3")
    if p3r and "curl" in p3r:
        t, c = p3r["default"]["median"], p3r["curl"]["median"]
        rows.append(("P2/P3", "100 pages × 50 ms: FDW (prefetch) vs plain curl, sequential", fmt_s(t),
                     f"curl {fmt_s(c)}", f"{t / c:.2f}×", "info: P2's curl goal with a round trip",
                     "info"))
    p4r = res.get("p4")
    if p4r:
        for label, what in (("count", "count(id)"), ("all", "every column, count(r)")):
            a, b = p4r[f"{label}_small"]["vals"]["VmHWM"], p4r[f"{label}_huge"]["vals"]["VmHWM"]
            rows.append(("P4", f"peak RSS 1M vs 10k, {what}", f"{b / 1024:.1f} MB", f"10k: {a / 1024:.1f} MB",
                         f"+{(b - a) / 1024:.1f} MB", "≤ +16 MB", verdict(b - a <= 16 * 1024)))
    p5r = res.get("p5")
    if p5r is not None:
        if "b1" in p5r:
            t, s = p5r["b10"]["median"], p5r["b1"]["median"]
            rows.append(("P5", f"INSERT…SELECT {INSERT_ROWS} × 50 ms: batch 10 vs 1", fmt_s(t), f"batch 1 {fmt_s(s)}",
                         f"{s / t:.2f}× faster", "≥ 4×, same rows",
                         verdict(s / t >= 4 and p5r["same_rows"])
                         + ("" if p5r["same_rows"] else " (rows differ)")))
            if "dflt" in p5r:
                t = p5r["dflt"]["median"]
                rows.append(("P5", f"INSERT…SELECT {INSERT_ROWS} × 50 ms: default options (4 in flight) vs 1",
                             fmt_s(t), f"batch 1 {fmt_s(s)}", f"{s / t:.2f}× faster",
                             "info: 4 in flight cap it at 4×", "info"))
        else:
            rows.append(("P5", f"INSERT…SELECT {INSERT_ROWS} × 50 ms: batch 10 vs 1",
                         f"default {fmt_s(p5r['default']['median'])}", "-", "-", "≥ 4×",
                         "option not available yet"))
    pu = res.get("p5u")
    if pu:
        s = pu["b1"]["median"]
        t = pu["b10"]["median"]
        rows.append(("P5", f"UPDATE {UPDATE_ROWS} × 50 ms: max_concurrency 10 vs one at a time", fmt_s(t),
                     f"max_concurrency 1 {fmt_s(s)}", f"{s / t:.2f}× faster", "≥ 4×, same rows",
                     verdict(s / t >= 4 and pu["same_rows"])
                     + ("" if pu["same_rows"] else " (rows differ)")))
        t = pu["default"]["median"]
        rows.append(("P5", f"UPDATE {UPDATE_ROWS} × 50 ms: default max_concurrency 4 vs one at a time", fmt_s(t),
                     f"max_concurrency 1 {fmt_s(s)}", f"{s / t:.2f}× faster",
                     "info: 4 in flight cap it at 4×", "info"))
        if "oc" in pu:
            t = pu["oc"]["median"]
            rows.append(("P5", f"UPDATE {UPDATE_ROWS} × 50 ms: write_mode 'on_commit', sent at COMMIT (4 in flight) "
                         "vs one at a time", fmt_s(t), f"max_concurrency 1 {fmt_s(s)}", f"{s / t:.2f}× faster",
                         "≥ 3.3×, same rows", verdict(s / t >= 3.3 and pu["same_rows"])
                         + ("" if pu["same_rows"] else " (rows differ)")))
    return rows


def md_table(rows):
    out = ["| id | measure | measured (median) | baseline (median) | ratio | goal | result |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append("| " + " | ".join(str(x) for x in r) + " |")
    return "\n".join(out)


def machine_info():
    def first(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0].strip()
        except Exception:  # noqa: BLE001 (a missing tool is just not reported)
            return "?"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1024 / 1024
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "mem": f"{mem:.1f} GiB", "kernel": platform.release(),
        "postgres": sql_out("SELECT version()"), "curl": first(["curl", "--version"]),
        "python": sys.version.split()[0], "gcc": first(["gcc", "--version"]),
    }


def write_results(args, res, rows, path):
    m = res["machine"]
    f = res["features"]
    lines = [
        "# ldai_fdw benchmark results (issue 8)",
        "",
        f"Written by `{args.command}` on {res['date']} (measures took {res['elapsed']:.0f} s). "
        "Re-run that command to refresh this file; see bench/README.md for what each measure does.",
        "",
        "**Harness self-test (--fake-options): the max_concurrency/batch_size servers were created WITHOUT "
        "those options; P3 and P5 compare the default with itself.**" if args.fake_options else "",
        "## Machine",
        "",
        f"- nproc: {m['nproc']}; CPU: {m['cpu']}; memory: {m['mem']}; kernel: {m['kernel']}",
        f"- {m['postgres']}",
        f"- {m['curl']}",
        f"- Python {m['python']} (PL/Python baseline: plpython3u), {m['gcc']}",
        f"- FDW: git {res['git']}",
        "",
        "## Summary",
        "",
        md_table(rows),
        "",
        "Options under test: "
        + "; ".join(f"`{k}`: " + ("available" if v is None else f"not available yet ({v})") for k, v in f.items()),
        "",
    ]
    s = res.get("server")
    if s:
        lines += [
            "## The fake LaunchDarkly server (bench/ldbench_server.c)",
            "",
            f"- One curl, 100 pages × 1000 results ({s['mb']:.0f} MB), keep-alive: {fmt_s(s['seq_s'])} "
            f"= {s['seq_mbps']:.0f} MB/s, {s['seq_pps']:.0f} pages/s.",
            f"- Four curls at once (25 pages each): {fmt_s(s['par_s'])} = {s['par_mbps']:.0f} MB/s.",
            f"- Eight concurrent requests with a {DELAY_MS} ms delay: {fmt_s(s['delay8_s'])} "
            "(the delays overlap: a delay never blocks another connection).",
            f"- For comparison, Python's ThreadingHTTPServer serving the same bytes from memory, no rendering at all: "
            f"{fmt_s(s.get('py_s'))} for the 100 pages ({s['mb'] / s['py_s']:.0f} MB/s)." if s.get("py_s") else "",
            "",
        ]
    lines += ["## Details", ""]
    p1r = res.get("p1")
    if p1r:
        lines += ["### P1: LIMIT pushdown", "",
                  "| page_size | LIMIT n | rows | GETs | expected | max in flight |", "|---|---|---|---|---|---|"]
        lines += [f"| {c['page_size']} | {c['n']} | {c['rows']} | {c['gets']} | {c['expected']} | {c['max_inflight']} |"
                  for c in p1r["rows"]]
        lines += ["", f"Not pushed down (a local filter under `LIMIT 250`, page_size 100; 3 pages are needed): "
                      f"{p1r['unpushed_gets']} GETs.", ""]
    p2r = res.get("p2")
    if p2r:
        lines += ["### P2: full scan of 100,000 results (100 pages of 1000, "
                  f"{p2r['mb']:.0f} MB of JSON), no delay", "",
                  "| what | median | min | max | runs | output |", "|---|---|---|---|---|---|"]
        names = {"curl": "curl, one process, 100 URLs, keep-alive, -o /dev/null",
                 "fdw_count": "FDW `SELECT count(id)`", "fdw_all": "FDW `SELECT count(r)` (every column)",
                 "fdw_count_seq": "FDW `count(id)`, max_concurrency 1",
                 "py_count": "PL/Python `count(*)`", "py_all": "PL/Python `count(r)` (every column)",
                 "fdw_text": "FDW `count(*), sum(octet_length(r::text))`",
                 "py_text": "PL/Python `count(*), sum(octet_length(r::text))`"}
        for k, n in names.items():
            if k in p2r:
                x = p2r[k]
                lines.append(f"| {n} | {fmt_s(x['median'])} | {fmt_s(x['min'])} | {fmt_s(x['max'])} | {x['n']} | "
                             f"{x['out'] if not k.startswith('curl') else '-'} |")
        fdw = p2r["fdw_all"]["median"]
        lines += ["", f"FDW throughput, every column: {BIG / fdw:,.0f} rows/s, {p2r['mb'] / fdw:.0f} MB/s of JSON. "
                      f"FDW and PL/Python rows have the same text: {p2r['same_text']}. {p2r['text_diff']}", ""]
    p3r = res.get("p3")
    if p3r:
        lines += [f"### P3: 100 pages of 100 with {DELAY_MS} ms per request", ""]
        for k, n in (("default", "default (prefetch)"), ("seq", "max_concurrency '1'"),
                     ("curl", "plain curl, the same 100 URLs one after another (info)")):
            if k in p3r:
                x = p3r[k]
                lines.append(f"- {n}: median {fmt_s(x['median'])} (min {fmt_s(x['min'])}, max {fmt_s(x['max'])}, "
                             f"{x['n']} runs)")
        lines.append(f"- most requests in flight: default {max(p3r['s100_inflight'])}"
                     + (f", sequential {max(p3r['s100_seq_inflight'])}" if "seq" in p3r else ""))
        lines.append(f"- lower bound of a sequential scan: 100 × {DELAY_MS} ms = {100 * DELAY_MS / 1000:.1f} s")
        lines.append("")
    p4r = res.get("p4")
    if p4r:
        lines += ["### P4: backend memory", "",
                  f"A fresh backend after `SELECT 1`: VmHWM {p4r['idle']['VmHWM'] / 1024:.1f} MB.", "",
                  "| query | results | VmHWM | RssAnon at end | RssShmem at end | time | rows/s |",
                  "|---|---|---|---|---|---|---|"]
        for label in ("count", "all"):
            for t, n in (("small", SMALL), ("huge", HUGE)):
                x = p4r[f"{label}_{t}"]
                v = x["vals"]
                lines.append(f"| {'count(id)' if label == 'count' else 'every column'} | {n:,} | "
                             f"{v['VmHWM'] / 1024:.1f} MB | {v['RssAnon'] / 1024:.1f} MB | "
                             f"{v['RssShmem'] / 1024:.1f} MB | {fmt_s(x['s'])} | {n / x['s']:,.0f} |")
        lines.append("")
    p5r = res.get("p5")
    if p5r:
        lines += [f"### P5: INSERT … SELECT of {INSERT_ROWS} results, {DELAY_MS} ms per request", ""]
        for k, n in (("b1", "batch_size '1'"), ("b10", "batch_size '10', max_concurrency '10'"),
                     ("dflt", "default options (batch_size 10, max_concurrency 4)"),
                     ("b10_ret", "batch_size '10' with RETURNING (info)"), ("default", "default (no option yet)")):
            if k in p5r:
                x = p5r[k]
                lines.append(f"- {n}: median {fmt_s(x['median'])} (runs: {x['n']}), {x['out']}")
        if "same_rows" in p5r:
            lines.append(f"- same rows created (POST count and order-independent hash of the bodies): {p5r['same_rows']}")
        for k in ("s_b1", "s_b10", "s1000"):
            if k in p5r:
                lines.append(f"- `{k}`: POSTs {[x['posts'] for x in p5r[k]]}, most in flight "
                             f"{max(x['inflight'] for x in p5r[k])}")
        lines.append(f"- lower bound one at a time: {INSERT_ROWS} × {DELAY_MS} ms = {INSERT_ROWS * DELAY_MS / 1000:.0f} s")
        lines.append("")
    pu = res.get("p5u")
    if pu:
        lines += [f"### P5 (UPDATE): UPDATE of {UPDATE_ROWS} results, {DELAY_MS} ms per request", "",
                  f"`{UPDATE_SQL.format(srv='<server>')}`: one GET of the {UPDATE_ROWS} rows, then one PATCH "
                  "per row.", ""]
        for k, n in (("b1", "max_concurrency '1' (one at a time)"), ("default", "default options (max_concurrency 4)"),
                     ("b10", "max_concurrency '10'"), ("oc", "write_mode 'on_commit' (queued, sent at COMMIT)")):
            if k not in pu:
                continue
            x = pu[k]
            lines.append(f"- {n}: median {fmt_s(x['median'])} (runs: {x['n']}), {x['out']}")
        lines.append(f"- same rows changed (PATCH count and order-independent hash of the bodies): {pu['same_rows']}")
        for k in ("s1000_seq", "s1000", "s_b10", "s_oc"):
            if k not in pu:
                continue
            lines.append(f"- `{k}`: PATCHes {[x['patches'] for x in pu[k]]}, GETs {[x['gets'] for x in pu[k]]}, "
                         f"most in flight {max(x['inflight'] for x in pu[k])}")
        lines.append(f"- lower bound one at a time: {UPDATE_ROWS} × {DELAY_MS} ms = {UPDATE_ROWS * DELAY_MS / 1000:.0f} s")
        lines.append("")
    if res.get("perf"):
        lines += ["### Where the backend spends its time (perf, every-column scan of 100k results)", "",
                  "```"] + res["perf"] + ["```", ""]
    # the sections other scripts write (bench/p8.sh, bench/reads.sh) stay as they are
    kept = []
    if os.path.exists(path):
        with open(path) as fh:
            kept = re.findall(r"\n(## (?:P8|Issue)\b.*?)(?=\n## |\Z)", fh.read(), flags=re.S)
    with open(path, "w") as fh:
        fh.write(re.sub(r"\n{3,}", "\n\n", "\n".join(x for x in lines + kept if x is not None)).rstrip("\n")
                 + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--runs", type=int, default=5, help="timed runs of the fast measures")
    ap.add_argument("--py-runs", type=int, default=3, help="timed runs of the PL/Python baseline")
    ap.add_argument("--delay-runs", type=int, default=3, help="timed runs of the 50 ms measures")
    ap.add_argument("--seq-insert-runs", type=int, default=1, help="runs of the one-at-a-time INSERT (50 s each)")
    ap.add_argument("--only", default="server,p1,p2,p3,p4,p5,p5u", help="comma-separated subset")
    ap.add_argument("--perf", action="store_true", help="also profile the backend with perf")
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--command", default=os.environ.get("BENCH_COMMAND", "bash bench/run.sh"))
    ap.add_argument("--fake-options", action="store_true",
                    help="harness self-test: create the max_concurrency/batch_size servers without those options, "
                         "with 40-row inserts, so the code paths for when the options exist can be tried today")
    args = ap.parse_args()
    if args.fake_options:
        global INSERT_ROWS
        INSERT_ROWS = 40
    os.makedirs(OUT, exist_ok=True)
    t0 = time.time()
    srv = Server(args.port, args.key)
    res = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    res["git"] = subprocess.run(["git", "-C", os.path.dirname(HERE), "describe", "--always", "--dirty"],
                                capture_output=True, text=True).stdout.strip() or "?"
    res["machine"] = machine_info()
    features, made = setup(args)
    res["features"], res["servers"] = features, made
    for k, v in features.items():
        log(f"option {k}: " + ("available" if v is None else f"NOT available yet: {v}"))
    only = set(args.only.split(","))
    steps = [("server", server_throughput), ("p1", p1), ("p2", p2), ("p3", p3), ("p4", p4), ("p5", p5), ("p5u", p5u)]
    failed = []
    for name, fn in steps:
        if name in only:
            try:
                fn(args, srv, res)
            except Exception as e:  # noqa: BLE001 (report it, go on with the other measures)
                failed.append(name)
                log(f"  !! {name} failed: {e}")
    if args.perf:
        try:
            perf_profile(args, srv, res)
        except Exception as e:  # noqa: BLE001
            log(f"  !! perf failed: {e}")
    res["elapsed"] = time.time() - t0
    rows = table(res)
    log("\n" + md_table(rows))
    if failed:
        log(f"\nmeasures that could not run: {', '.join(failed)}")
    write_results(args, res, rows, args.results)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(res, f, indent=1, default=str)
    log(f"\nwrote {args.results} ({res['elapsed']:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
