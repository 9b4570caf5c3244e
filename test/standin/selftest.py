#!/usr/bin/env python3
"""Self-test of the LaunchDarkly stand-in (ld_standin.py); standard library only.

Starts the stand-in on a free port (with --check-responses), exercises reads, paging,
writes, errors, the control API, faults and gzip, validates responses against the
OpenAPI schemas with a small independent validator, then stops the server.

    python3 test/standin/selftest.py        # prints "standin selftest: N passed, 0 failed"
"""
import gzip
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "ld_standin.py")
SPEC = os.path.join(HERE, "openapi-subset.json")
KEY = "api-selftest-0123456789"
P = "/api/v2/projects/default"
CLOCK_START = 1767225600000
ODD_CONFIG = "ops%2Ftriage%3Fv%3D2%25"
ODD_OPT = "opt%2Fwith%3Fodd%25key"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
TESTS = []


# ---------------------------------------------------------------------------
# A small, independent OpenAPI schema validator (for responses)
# ---------------------------------------------------------------------------

class Validator:
    """Checks values against the spec's component schemas: $ref, required, type, enum, nullable, oneOf."""

    TYPES = {"string": (str,), "boolean": (bool,), "array": (list,), "object": (dict,),
             "integer": (int,), "number": (int, float)}

    def __init__(self, path):
        """Load the component schemas of the spec at path."""
        with open(path, encoding="utf-8") as f:
            self.schemas = json.load(f)["components"]["schemas"]

    def errors(self, value, schema, where="$"):
        """All problems of value against schema (a dict or a component name)."""
        if isinstance(schema, str):
            schema = {"$ref": "#/components/schemas/" + schema}
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].split("/")[-1]]
        if value is None:
            return [] if schema.get("nullable") else ["%s is null" % where]
        out = []
        if "oneOf" in schema:
            n = sum(1 for s in schema["oneOf"] if not self.errors(value, s, where))
            if n != 1:
                out.append("%s matches %d oneOf alternatives" % (where, n))
        kind = schema.get("type", "object" if "properties" in schema else None)
        if kind:
            ok = isinstance(value, self.TYPES[kind]) and not (isinstance(value, bool) and kind != "boolean")
            if not ok:
                return out + ["%s is not %s" % (where, kind)]
        if "enum" in schema and value not in schema["enum"]:
            out.append("%s=%r not in enum" % (where, value))
        if schema.get("format") == "uuid" and not UUID_RE.match(value):
            out.append("%s=%r is not a uuid" % (where, value))
        if kind == "array":
            for i, item in enumerate(value):
                out += self.errors(item, schema.get("items", {}), "%s[%d]" % (where, i))
        if kind == "object":
            for name in schema.get("required", []):
                if name not in value:
                    out.append("%s.%s is required" % (where, name))
            for name, sub in schema.get("properties", {}).items():
                if name in value:
                    out += self.errors(value[name], sub, "%s.%s" % (where, name))
        return out


VALIDATOR = Validator(SPEC)


def conforms(value, schema_name):
    """Assert value validates against component schema_name."""
    problems = VALIDATOR.errors(value, schema_name)
    assert not problems, "%s: %s" % (schema_name, problems[:5])


# ---------------------------------------------------------------------------
# Server process and HTTP helpers
# ---------------------------------------------------------------------------

class Server:
    """A stand-in subprocess on a free port."""

    def __init__(self, *extra, env_key=False):
        """Start the stand-in and wait for its port file."""
        self.dir = tempfile.mkdtemp(prefix="standin-selftest-")
        self.port_file = os.path.join(self.dir, "port")
        args = [sys.executable, STANDIN, "--port", "0", "--port-file", self.port_file,
                "--max-lifetime", "120", "--check-responses"] + list(extra)
        env = dict(os.environ)
        if env_key:
            env["LDAI_STANDIN_API_KEY"] = KEY
        else:
            args += ["--api-key", KEY]
        self.proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while not os.path.exists(self.port_file):
            assert time.time() < deadline and self.proc.poll() is None, "stand-in did not start"
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())

    def stop(self):
        """SIGTERM the server; return (exit code, seconds it took, stderr)."""
        start = time.time()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = "killed"
        err = self.proc.stderr.read().decode("utf-8", "replace")
        return code, time.time() - start, err


class Response:
    """Status, lower-case headers, raw body and JSON of one HTTP exchange."""

    def __init__(self, resp, raw, elapsed):
        """Capture the response."""
        self.status = resp.status
        self.headers = {k.lower(): v for k, v in resp.getheaders()}
        self.raw, self.elapsed = raw, elapsed
        data = gzip.decompress(raw) if self.headers.get("content-encoding") == "gzip" else raw
        try:
            self.json = json.loads(data) if data else None
        except ValueError:
            self.json = None


def call(method, path, body=None, headers=None, auth=KEY, conn=None, timeout=10):
    """One HTTP request to the stand-in; body dicts/lists are sent as JSON."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", SERVER.port, timeout=timeout)
    hdrs = {}
    if auth is not None:
        hdrs["Authorization"] = auth
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    start = time.time()
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return Response(resp, resp.read(), time.time() - start)
    finally:
        if own:
            conn.close()


def ctl(method, name, body=None):
    """A control-API call; returns its JSON."""
    resp = call(method, "/_test/" + name, body, auth=None)
    assert resp.status == 200, (name, resp.status, resp.raw)
    return resp.json


def log():
    """The request log."""
    return ctl("GET", "requests")


def expect_error(resp, status, code):
    """Assert an error response with status and code, conforming to Error."""
    assert resp.status == status, (resp.status, resp.raw[:300])
    assert resp.json and resp.json.get("code") == code, resp.json
    conforms(resp.json, "Error")


def test(fn):
    """Register a test."""
    TESTS.append(fn)
    return fn


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

@test
def health_and_port_file():
    """The control API answers and the port file names the port."""
    assert ctl("GET", "health") == {"ok": True}


@test
def auth_rejected_and_logged():
    """Missing, wrong and Bearer tokens get 401 (before 404), logged without the key."""
    expect_error(call("GET", P + "/ai-configs", auth=None), 401, "unauthorized")
    expect_error(call("GET", P + "/ai-configs", auth="wrong"), 401, "unauthorized")
    expect_error(call("GET", P + "/ai-configs", auth="Bearer " + KEY), 401, "unauthorized")
    expect_error(call("GET", P + "/no-such-thing", auth=None), 401, "unauthorized")
    assert call("GET", P + "/ai-configs").status == 200
    entries = log()
    assert [e["status"] for e in entries] == [401, 401, 401, 401, 200]
    assert "authorization" not in entries[0]["headers"]
    assert entries[1]["headers"]["authorization"] == "invalid"
    assert entries[4]["headers"]["authorization"] == "valid"
    assert KEY not in json.dumps(entries)
    assert call("GET", "/_test/requests", auth=None).status == 200 and len(log()) == 5


@test
def list_configs_and_schema():
    """AI Config list: all six on one default page, schema-valid, modes and unicode present."""
    resp = call("GET", P + "/ai-configs")
    body = resp.json
    conforms(body, "AIConfigs")
    assert body["totalCount"] == 6 and len(body["items"]) == 6
    assert "next" not in body["_links"] and "prev" not in body["_links"]
    assert {c["mode"] for c in body["items"]} == {"agent", "completion", "judge"}
    assert any(c["tags"] == [] for c in body["items"])
    assert any(c["name"] == "Résumé Screener ✨" for c in body["items"])
    kinds = [c.get("_maintainer", {}).get("kind") for c in body["items"]]
    assert "member" in kinds and "team" in kinds and None in kinds
    assert any(c.get("dependencies") for c in body["items"])
    assert all(len(str(c["createdAt"])) == 13 for c in body["items"])


@test
def paging_links():
    """limit/offset slice the list; next/prev/first/last links use the effective limit."""
    body = call("GET", P + "/ai-configs?limit=2&offset=2").json
    assert [len(body["items"]), body["totalCount"]] == [2, 6]
    links = body["_links"]
    assert links["self"]["href"] == P + "/ai-configs?limit=2&offset=2"
    assert links["next"]["href"] == P + "/ai-configs?limit=2&offset=4"
    assert links["prev"]["href"] == P + "/ai-configs?limit=2&offset=0"
    assert links["last"]["href"] == P + "/ai-configs?limit=2&offset=4"
    assert links["first"]["type"] == "application/json"
    last = call("GET", P + "/ai-configs?limit=2&offset=4").json
    assert "next" not in last["_links"] and len(last["items"]) == 2
    beyond = call("GET", P + "/ai-configs?offset=50").json
    assert beyond["items"] == [] and beyond["totalCount"] == 6


@test
def default_limit_and_cap():
    """Default limit 20; limit above 1000 is capped; the control API's page_cap caps further."""
    body = call("GET", P + "/agent-optimizations/support-triage/all-results").json
    conforms(body, "AgentOptimizationResults")
    assert len(body["items"]) == 20 and body["totalCount"] == 308
    assert body["_links"]["next"]["href"].endswith("all-results?limit=20&offset=20")
    big = call("GET", P + "/agent-optimizations/support-triage/all-results?limit=5000").json
    assert len(big["items"]) == 308 and big["_links"]["self"]["href"].endswith("limit=1000&offset=0")
    created = [r["createdAt"] for r in big["items"]]
    assert created == sorted(created)
    ctl("POST", "config", {"page_cap": 7})
    capped = call("GET", P + "/agent-optimizations/support-triage/all-results?limit=50&offset=7").json
    assert len(capped["items"]) == 7 and capped["_links"]["next"]["href"].endswith("limit=7&offset=14")
    ctl("POST", "config", {"default_limit": 3, "page_cap": None})
    assert len(call("GET", P + "/agent-optimizations").json["items"]) == 3


@test
def invalid_paging():
    """Negative or non-integer limit/offset is a 400 invalid_request."""
    for query in ("limit=-1", "limit=abc", "offset=-5", "offset=1.5", "limit="):
        expect_error(call("GET", P + "/ai-configs?" + query), 400, "invalid_request")


@test
def omit_toggles():
    """omit_total_count drops totalCount only where optional; omit_links drops _links."""
    ctl("POST", "config", {"omit_total_count": True, "omit_links": True})
    runs = call("GET", P + "/agent-optimizations/support-triage/runs").json
    assert "totalCount" not in runs and "_links" not in runs and len(runs["items"]) == 10
    conforms(runs, "AgentOptimizationRuns")
    configs = call("GET", P + "/ai-configs").json
    assert configs["totalCount"] == 6 and "_links" not in configs


@test
def escaped_keys():
    """Keys with / ? % are one percent-encoded path segment."""
    resp = call("GET", P + "/ai-configs/" + ODD_CONFIG)
    assert resp.status == 200 and resp.json["key"] == "ops/triage?v=2%"
    conforms(resp.json, "AIConfig")
    assert resp.json["_links"]["self"]["href"] == P + "/ai-configs/" + ODD_CONFIG
    keys = [c["key"] for c in call("GET", P + "/ai-configs").json["items"]]
    assert "ops/triage?v=2%" in keys
    opt = call("GET", P + "/agent-optimizations/" + ODD_OPT)
    assert opt.status == 200 and opt.json["key"] == "opt/with?odd%key"
    results = call("GET", P + "/agent-optimizations/%s/all-results?limit=4" % ODD_OPT).json
    assert results["totalCount"] == 6
    assert results["_links"]["next"]["href"] == P + "/agent-optimizations/%s/all-results?limit=4&offset=4" % ODD_OPT
    assert call("GET", P + "/ai-configs/ops/triage").status == 404


@test
def projects():
    """Unknown project is 404 everywhere; empty-project lists nothing."""
    for path in ("/ai-configs", "/ai-configs/x", "/agent-optimizations/x/runs"):
        resp = call("GET", "/api/v2/projects/nope" + path)
        expect_error(resp, 404, "not_found")
        assert resp.json["message"] == "Project not found"
    empty = call("GET", "/api/v2/projects/empty-project/agent-optimizations").json
    assert empty["items"] == [] and empty["totalCount"] == 0
    assert call("GET", "/api/v2/projects/empty-project/ai-configs").json["totalCount"] == 0


@test
def optimizations_seed():
    """Five optimizations with the documented keys and result counts."""
    body = call("GET", P + "/agent-optimizations").json
    conforms(body, "AgentOptimizations")
    keys = [o["key"] for o in body["items"]]
    assert keys == ["code-review-bot", "no-runs-yet", "opt/with?odd%key", "resume-screener-tuning",
                    "support-triage"], keys
    counts = {}
    for key in keys:
        path = "%s/agent-optimizations/%s/all-results?limit=1" % (P, key.replace("/", "%2F").replace(
            "?", "%3F").replace("%k", "%25k"))
        counts[key] = call("GET", path).json["totalCount"]
    assert counts == {"code-review-bot": 120, "no-runs-yet": 0, "opt/with?odd%key": 6,
                      "resume-screener-tuning": 16, "support-triage": 308}, counts
    st = call("GET", P + "/agent-optimizations/support-triage").json
    conforms(st, "AgentOptimization")
    assert st["version"] == 3 and st["modelChoices"]
    assert call("GET", P + "/agent-optimizations/no-runs-yet/runs").json["items"] == []
    expect_error(call("GET", P + "/agent-optimizations/nope/runs"), 404, "not_found")


@test
def runs_and_results():
    """Runs DESC with one still running; /results has one latest result per run; run results not paged."""
    runs = call("GET", P + "/agent-optimizations/support-triage/runs?limit=100").json
    conforms(runs, "AgentOptimizationRuns")
    items = runs["items"]
    assert len(items) == 10 and [r["createdAt"] for r in items] == sorted((r["createdAt"] for r in items),
                                                                           reverse=True)
    running = [r for r in items if r["status"] == "RUNNING"]
    assert len(running) == 1 and running[0]["completedAt"] is None and running[0]["activity"] == "VALIDATING"
    assert {r["agentOptimizationVersion"] for r in items} == {1, 2, 3}
    latest = call("GET", P + "/agent-optimizations/support-triage/results?limit=100").json
    conforms(latest, "AgentOptimizationResults")
    assert [r["runId"] for r in latest["items"]] == [r["runId"] for r in items]
    run_id = items[3]["runId"]
    per_run = call("GET", P + "/agent-optimizations/support-triage/runs/%s/results?limit=2" % run_id).json
    conforms(per_run, "AgentOptimizationResults")
    iterations = [r["iteration"] for r in per_run["items"]]
    assert iterations == sorted(iterations, reverse=True) and len(iterations) == per_run["totalCount"] > 2
    assert per_run["_links"]["self"]["href"].endswith("/runs/%s/results" % run_id)
    assert latest["items"][3]["iteration"] == iterations[0]
    expect_error(call("GET", P + "/agent-optimizations/support-triage/runs/not-a-uuid/results"), 400,
                 "invalid_request")
    expect_error(call("GET", P + "/agent-optimizations/support-triage/runs/%s/results"
                      % "00000000-0000-4000-8000-000000000000"), 404, "not_found")
    everything = call("GET", P + "/agent-optimizations/code-review-bot/all-results?limit=200").json["items"]
    activities = {r["activity"] for r in everything}
    assert "GENERATING_VARIATION" in activities
    assert all("completedAt" not in r for r in everything if r["status"] == "RUNNING")


@test
def variation_versions():
    """The variations GET lists every version of a key, newest first."""
    resp = call("GET", P + "/ai-configs/support-triage-agent/variations/baseline")
    conforms(resp.json, "AIConfigVariationsResponse")
    assert [v["version"] for v in resp.json["items"]] == [3, 2, 1] and resp.json["totalCount"] == 3
    expect_error(call("GET", P + "/ai-configs/support-triage-agent/variations/nope"), 404, "not_found")


@test
def config_writes():
    """POST/PATCH/DELETE ai-configs: status codes, clock, version, maintainer, 409 and 400s."""
    body = {"key": "new-cfg", "name": "New config", "tags": ["a"], "maintainerId": "65f1c2a9e4b0a1d2c3f40022"}
    resp = call("POST", P + "/ai-configs", body)
    assert resp.status == 201, resp.raw
    conforms(resp.json, "AIConfig")
    cfg = resp.json
    assert (cfg["version"], cfg["description"], cfg["variations"], cfg["mode"]) == (1, "", [], "completion")
    assert cfg["createdAt"] == cfg["updatedAt"] == CLOCK_START and cfg["_maintainer"]["kind"] == "member"
    expect_error(call("POST", P + "/ai-configs", body), 409, "conflict")
    resp = call("POST", P + "/ai-configs", {"key": "x"})
    expect_error(resp, 400, "invalid_request")
    assert "name" in resp.json["message"]
    resp = call("POST", P + "/ai-configs", {"key": "x", "name": "X", "colour": "red"})
    expect_error(resp, 400, "invalid_request")
    assert "colour" in resp.json["message"]
    expect_error(call("POST", P + "/ai-configs", {"key": "x", "name": 5}), 400, "invalid_request")
    expect_error(call("POST", P + "/ai-configs", {"key": "x", "name": "X", "mode": "chat"}), 400,
                 "invalid_request")
    resp = call("POST", P + "/ai-configs", "{not json", {"Content-Type": "application/json"})
    expect_error(resp, 400, "invalid_request")
    assert resp.json["message"] == "Invalid JSON body"
    expect_error(call("POST", P + "/ai-configs", "[1]", {"Content-Type": "application/json"}), 400,
                 "invalid_request")
    expect_error(call("POST", P + "/ai-configs", '{"key":"y","name":"Y"}', {"Content-Type": "text/plain"}),
                 400, "invalid_request")
    resp = call("PATCH", P + "/ai-configs/new-cfg", {"description": "d", "maintainerTeamKey": "ai-platform"})
    assert resp.status == 200 and resp.json["version"] == 2 and resp.json["description"] == "d"
    assert resp.json["_maintainer"] == {"kind": "team", "key": "ai-platform", "name": "AI Platform"}
    assert resp.json["updatedAt"] > CLOCK_START and resp.json["createdAt"] == CLOCK_START
    expect_error(call("PATCH", P + "/ai-configs/new-cfg", {"mode": "agent"}), 400, "invalid_request")
    expect_error(call("PATCH", P + "/ai-configs/new-cfg", {"key": "k2"}), 400, "invalid_request")
    expect_error(call("PATCH", P + "/ai-configs/nope", {"name": "n"}), 404, "not_found")
    resp = call("DELETE", P + "/ai-configs/new-cfg")
    assert resp.status == 204 and resp.raw == b"" and resp.headers["content-length"] == "0"
    expect_error(call("GET", P + "/ai-configs/new-cfg"), 404, "not_found")
    expect_error(call("DELETE", P + "/ai-configs/new-cfg"), 404, "not_found")


@test
def variation_writes():
    """POST/PATCH/DELETE variations: 201, 409, new versions kept, 204."""
    path = P + "/ai-configs/ticket-summarizer/variations"
    new = {"key": "v-new", "name": "New", "model": {"modelName": "gpt-4o", "parameters": {"max_tokens": 10}},
           "messages": [{"role": "system", "content": "Be brief."}]}
    resp = call("POST", path, new)
    assert resp.status == 201 and resp.json["version"] == 1 and UUID_RE.match(resp.json["_id"])
    conforms(resp.json, "AIConfigVariation")
    expect_error(call("POST", path, new), 409, "conflict")
    expect_error(call("POST", path, {"key": "v2", "name": "x", "messages": [{"role": "user"}]}), 400,
                 "invalid_request")
    resp = call("PATCH", path + "/v-new", {"name": "Renamed", "state": "published"})
    assert resp.status == 200 and resp.json["version"] == 2 and resp.json["state"] == "published"
    versions = call("GET", path + "/v-new").json["items"]
    assert [v["version"] for v in versions] == [2, 1] and versions[1]["name"] == "New"
    cfg = call("GET", P + "/ai-configs/ticket-summarizer").json
    assert [v for v in cfg["variations"] if v["key"] == "v-new"][0]["name"] == "Renamed"
    assert call("DELETE", path + "/v-new").status == 204
    expect_error(call("DELETE", path + "/v-new"), 404, "not_found")


@test
def optimization_writes():
    """POST/PATCH/DELETE agent-optimizations: defaults, 409, immutable keys, version + 1."""
    body = {"key": "new-opt", "aiConfigKey": "ticket-summarizer", "maxAttempts": 3, "judgeModel": "gpt-4o"}
    resp = call("POST", P + "/agent-optimizations", body)
    assert resp.status == 201, resp.raw
    conforms(resp.json, "AgentOptimization")
    assert resp.json["version"] == 1 and resp.json["modelChoices"] == [] and UUID_RE.match(resp.json["id"])
    expect_error(call("POST", P + "/agent-optimizations", body), 409, "conflict")
    expect_error(call("POST", P + "/agent-optimizations", {"key": "k", "aiConfigKey": "c", "judgeModel": "m"}),
                 400, "invalid_request")
    expect_error(call("POST", P + "/agent-optimizations", dict(body, key="k2", maxAttempts="3")), 400,
                 "invalid_request")
    resp = call("PATCH", P + "/agent-optimizations/new-opt", {"maxAttempts": 9, "label": "L"})
    assert resp.status == 200 and resp.json["version"] == 2 and resp.json["maxAttempts"] == 9
    expect_error(call("PATCH", P + "/agent-optimizations/new-opt", {"aiConfigKey": "x"}), 400, "invalid_request")
    expect_error(call("PATCH", P + "/agent-optimizations/nope", {"label": "x"}), 404, "not_found")
    assert call("DELETE", P + "/agent-optimizations/new-opt").status == 204
    expect_error(call("DELETE", P + "/agent-optimizations/new-opt"), 404, "not_found")


@test
def result_writes_and_run_delete():
    """POST/PATCH results and DELETE runs: 201, 409, 400s, completedAt, beta 403, 204, 404."""
    run = "3f2b8c1e-9d4a-4e6f-8a7b-1c2d3e4f5a6b"
    path = P + "/agent-optimizations/no-runs-yet/results"
    first = {"runId": run, "agentOptimizationVersion": 1, "iteration": 1, "instructions": "Be brief.",
             "userInput": "Ünïcode ✓", "parameters": {"temperature": 0.1}}
    resp = call("POST", path, first)
    assert resp.status == 201, resp.raw
    conforms(resp.json, "AgentOptimizationResult")
    result = resp.json
    assert (result["status"], result["activity"], result["runId"]) == ("RUNNING", "PENDING", run)
    assert "completedAt" not in result and result["createdAt"] == result["updatedAt"] == CLOCK_START
    expect_error(call("POST", path, first), 409, "conflict")
    expect_error(call("POST", path, dict(first, runId="__preflight__", iteration=-1)), 400, "invalid_request")
    expect_error(call("POST", path, dict(first, iteration=2, status="PASSED")), 400, "invalid_request")
    assert call("POST", path, dict(first, iteration=2)).status == 201
    resp = call("PATCH", path + "/" + result["id"], {"status": "PASSED", "activity": "COMPLETED",
                                                      "scores": {"j": {"score": 0.9}}, "generationLatency": 12})
    assert resp.status == 200 and resp.json["completedAt"] == resp.json["updatedAt"] > CLOCK_START
    conforms(resp.json, "AgentOptimizationResult")
    expect_error(call("PATCH", path + "/" + result["id"], {"iteration": 5}), 400, "invalid_request")
    expect_error(call("PATCH", path + "/" + result["id"], {"status": "DONE"}), 400, "invalid_request")
    expect_error(call("PATCH", path + "/00000000-0000-4000-8000-000000000000", {"status": "FAILED"}), 404,
                 "not_found")
    runs = call("GET", P + "/agent-optimizations/no-runs-yet/runs").json["items"]
    assert len(runs) == 1 and runs[0]["runId"] == run and runs[0]["createdAt"] == CLOCK_START
    assert runs[0]["status"] == "PASSED" and runs[0]["completedAt"] is None  # iteration 2 still runs
    run_path = P + "/agent-optimizations/no-runs-yet/runs/" + run
    resp = call("DELETE", run_path)
    expect_error(resp, 403, "forbidden")
    assert "LD-API-Version: beta" in resp.json["message"]
    assert call("DELETE", run_path, headers={"LD-API-Version": "beta"}).status == 204
    expect_error(call("DELETE", run_path, headers={"LD-API-Version": "beta"}), 404, "not_found")
    assert call("GET", P + "/agent-optimizations/no-runs-yet/all-results").json["totalCount"] == 0


@test
def clock_and_ids_reset():
    """Each write advances the clock 1000 ms; reset restores the clock and the id sequence."""
    body = {"key": "c1", "name": "C1"}
    a = call("POST", P + "/ai-configs", body).json
    b = call("POST", P + "/ai-configs", dict(body, key="c2")).json
    assert b["createdAt"] - a["createdAt"] == 1000
    opt = {"key": "o1", "aiConfigKey": "c1", "maxAttempts": 1, "judgeModel": "m"}
    first_id = call("POST", P + "/agent-optimizations", opt).json["id"]
    ctl("POST", "reset")
    assert call("GET", P + "/ai-configs/c1").status == 404
    again = call("POST", P + "/agent-optimizations", opt).json
    assert again["id"] == first_id and again["createdAt"] == CLOCK_START


@test
def seed_is_deterministic():
    """The seed is identical after a reset."""
    before = call("GET", P + "/agent-optimizations/code-review-bot/all-results?limit=1000").raw
    ctl("POST", "reset")
    assert call("GET", P + "/agent-optimizations/code-review-bot/all-results?limit=1000").raw == before


@test
def methods_and_paths():
    """Wrong method on a known path is 405 with Allow; unknown paths are 404."""
    resp = call("PUT", P + "/ai-configs", {"key": "x"})
    expect_error(resp, 405, "method_not_allowed")
    assert "GET" in resp.headers["allow"] and "POST" in resp.headers["allow"]
    expect_error(call("POST", P + "/agent-optimizations/support-triage/runs", {}), 405, "method_not_allowed")
    expect_error(call("GET", P + "/flags"), 404, "not_found")
    expect_error(call("GET", "/api/v2/other"), 404, "not_found")


@test
def scripted_status_fault():
    """A queued 503/429 fault answers once (with its headers) and is logged; then normal service."""
    ctl("POST", "faults", [{"method": "GET", "path": "/ai-configs$", "status": 429, "headers": {"Retry-After": "1"}},
                           {"path": "all-results", "status": 503, "times": 2}])
    assert len(ctl("GET", "faults")) == 2
    resp = call("GET", P + "/ai-configs")
    expect_error(resp, 429, "rate_limited")
    assert resp.headers["retry-after"] == "1"
    assert call("GET", P + "/ai-configs").status == 200
    for _ in range(2):
        expect_error(call("GET", P + "/agent-optimizations/support-triage/all-results"), 503, "service_unavailable")
    assert call("GET", P + "/agent-optimizations/support-triage/all-results").status == 200
    assert ctl("GET", "faults") == []
    entries = log()
    assert [e["status"] for e in entries] == [429, 200, 503, 503, 200] and "fault" in entries[0]
    ctl("POST", "faults", {"status": 500, "body": "oops"})
    resp = call("GET", P + "/ai-configs")
    assert resp.status == 500 and resp.raw == b"oops"
    ctl("POST", "faults", {"times": 5})
    assert ctl("DELETE", "faults") == []


@test
def delay_and_slow_body_faults():
    """delay_ms answers late; slow_body_ms sends the whole body, slowly; content_type overrides."""
    ctl("POST", "faults", {"delay_ms": 300})
    resp = call("GET", P + "/ai-configs?limit=1")
    assert resp.status == 200 and resp.elapsed >= 0.28
    ctl("POST", "faults", {"slow_body_ms": 300, "content_type": "text/html"})
    resp = call("GET", P + "/ai-configs")
    assert resp.status == 200 and resp.elapsed >= 0.25 and resp.json["totalCount"] == 6
    assert resp.headers["content-type"] == "text/html"


@test
def stall_truncate_malformed_faults():
    """stall_ms closes without an answer; truncate sends a short body; malformed is broken JSON."""
    ctl("POST", "faults", {"stall_ms": 300})
    start = time.time()
    try:
        call("GET", P + "/ai-configs")
        raise AssertionError("stalled request got an answer")
    except (http.client.RemoteDisconnected, ConnectionError):
        pass
    assert time.time() - start >= 0.28
    ctl("POST", "faults", {"stall_ms": 5000})
    try:
        call("GET", P + "/ai-configs", timeout=0.3)
        raise AssertionError("stalled request got an answer")
    except socket.timeout:
        pass
    ctl("POST", "faults", {"truncate": True})
    try:
        call("GET", P + "/ai-configs")
        raise AssertionError("truncated body read in full")
    except http.client.IncompleteRead:
        pass
    ctl("POST", "faults", {"malformed": True})
    resp = call("GET", P + "/ai-configs")
    assert resp.status == 200 and resp.json is None and resp.raw.startswith(b"{")
    ctl("POST", "faults", {"body_hex": "7b2261223a22ff227d"})
    resp = call("GET", P + "/ai-configs")
    assert resp.status == 200 and resp.raw == b'{"a":"\xff"}', resp.raw
    statuses = [e["status"] for e in log()]
    assert statuses == [None, None, 200, 200, 200], statuses
    assert call("GET", P + "/ai-configs").status == 200


@test
def gzip_responses():
    """Large bodies are gzipped when asked (Content-Length = compressed size); small ones are not."""
    resp = call("GET", P + "/agent-optimizations/support-triage/all-results", headers={"Accept-Encoding": "gzip"})
    assert resp.headers.get("content-encoding") == "gzip"
    assert int(resp.headers["content-length"]) == len(resp.raw)
    assert resp.json["totalCount"] == 308
    plain = call("GET", P + "/agent-optimizations/support-triage/all-results")
    assert "content-encoding" not in plain.headers and plain.json == resp.json
    small = call("GET", P + "/ai-configs/nope", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


@test
def chunked_request_body():
    """A chunked request body is decoded, served and logged with "chunked": true."""
    payload = json.dumps({"key": "chunky", "name": "Chunky ✓"}).encode("utf-8")
    conn = http.client.HTTPConnection("127.0.0.1", SERVER.port, timeout=5)
    conn.putrequest("POST", P + "/ai-configs")
    conn.putheader("Authorization", KEY)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    for piece in (payload[:10], payload[10:]):
        conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
    conn.send(b"0\r\n\r\n")
    resp = conn.getresponse()
    assert resp.status == 201 and json.loads(resp.read())["name"] == "Chunky ✓"
    conn.close()
    entry = log()[-1]
    assert entry["chunked"] is True and json.loads(entry["body"])["key"] == "chunky"


@test
def keep_alive_is_fast():
    """Many requests on one keep-alive connection, none stalled by Nagle."""
    conn = http.client.HTTPConnection("127.0.0.1", SERVER.port, timeout=5)
    start = time.time()
    for _ in range(30):
        assert call("GET", P + "/ai-configs?limit=1", conn=conn).status == 200
    for i in range(10):
        assert call("PATCH", P + "/ai-configs/resume-screener", {"description": "d%d" % i}, conn=conn).status == 200
    conn.close()
    assert time.time() - start < 1.0, time.time() - start


@test
def request_log_format():
    """The log records raw path, raw query, headers, body and status; jsonl has sorted keys."""
    call("POST", P + "/ai-configs/%s/variations" % ODD_CONFIG, {"key": "k", "name": "N"})
    call("GET", P + "/ai-configs?limit=1&offset=0")
    entries = log()
    assert entries[0]["path"] == P + "/ai-configs/%s/variations" % ODD_CONFIG
    assert entries[0]["status"] == 201 and json.loads(entries[0]["body"]) == {"key": "k", "name": "N"}
    assert entries[0]["headers"]["content-type"] == "application/json"
    assert entries[1]["query"] == "limit=1&offset=0" and entries[1]["body"] is None
    assert entries[1]["seq"] == entries[0]["seq"] + 1
    lines = call("GET", "/_test/requests?format=jsonl", auth=None).raw.decode("utf-8").splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["query"] == "limit=1&offset=0"
    assert list(json.loads(lines[0])) == sorted(json.loads(lines[0]))
    ctl("POST", "clear-log")
    assert log() == []


@test
def control_and_framing_errors():
    """Bad control-API input is a 400; an unreadable request body is a logged 400."""
    for body in ({"page_cap": 0}, {"default_limit": -1}, {"bogus": 1}, {"omit_links": "yes"}):
        assert call("POST", "/_test/config", body, auth=None).status == 400, body
    for body in ({"status": "503"}, {"times": 0}, {"path": "("}, {"colour": 1}):
        assert call("POST", "/_test/faults", body, auth=None).status == 400, body
    sock = socket.create_connection(("127.0.0.1", SERVER.port), timeout=5)
    sock.sendall(b"POST " + P.encode() + b"/ai-configs HTTP/1.1\r\nHost: x\r\nAuthorization: " + KEY.encode()
                 + b"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    answer = sock.recv(65536)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    entry = log()[-1]
    assert entry["status"] == 400 and entry["chunked"] is True


@test
def scaled_server_from_env_key():
    """--scale multiplies results per run; the key may come from LDAI_STANDIN_API_KEY."""
    global SERVER
    main, SERVER = SERVER, Server("--scale", "2", env_key=True)
    try:
        body = call("GET", P + "/agent-optimizations/support-triage/all-results?limit=1").json
        assert body["totalCount"] == 616
    finally:
        code, _, _ = SERVER.stop()
        SERVER = main
    assert code == 0


@test
def journal_keeps_every_entry():
    """--journal appends each request-log entry with the client's port; resets do not clear it."""
    global SERVER
    main, SERVER = SERVER, Server("--journal", os.path.join(tempfile.mkdtemp(prefix="standin-journal-"), "j"))
    journal = SERVER.proc.args[SERVER.proc.args.index("--journal") + 1]
    try:
        conn = http.client.HTTPConnection("127.0.0.1", SERVER.port, timeout=10)
        call("GET", P + "/ai-configs?limit=1", conn=conn)
        port = conn.sock.getsockname()[1]
        ctl("POST", "reset")
        ctl("POST", "faults", {"method": "GET", "path": "/agent-optimizations$", "status": 503})
        call("GET", P + "/agent-optimizations", conn=conn)
        conn.close()
        ctl("GET", "health")
    finally:
        code, _, _ = SERVER.stop()
        SERVER = main
    with open(journal, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f]
    assert code == 0
    assert [(e["method"], e["path"], e["query"], e["status"], e["client_port"]) for e in lines] == [
        ("GET", P + "/ai-configs", "limit=1", 200, port), ("GET", P + "/agent-optimizations", "", 503, port)], lines
    assert "fault" not in lines[0] and lines[1]["fault"]["status"] == 503, lines
    assert lines[0]["headers"]["authorization"] == "valid"


@test
def model_configs():
    """ai_model_configs: bare-array list (filter), item, POST 200 / duplicate 400, DELETE, restricted list."""
    resp = call("GET", P + "/ai-configs/model-configs")
    assert resp.status == 200 and isinstance(resp.json, list), resp.raw[:200]
    for item in resp.json:
        conforms(item, "ModelConfig")
    assert [m["key"] for m in resp.json] == sorted(m["key"] for m in resp.json)
    restricted = call("GET", P + "/ai-configs/model-configs?restricted=true").json
    assert [m["key"] for m in restricted] == ["Anthropic.claude-3-5-haiku-latest"], restricted
    expect_error(call("GET", P + "/ai-configs/model-configs?restricted=maybe"), 400, "invalid_request")
    resp = call("GET", P + "/ai-configs/model-configs/OpenAI.gpt-4o")
    assert resp.status == 200 and resp.json["costPerInputToken"] == 2.5e-06, resp.raw
    expect_error(call("GET", P + "/ai-configs/model-configs/nope"), 404, "not_found")
    body = {"key": "m1", "id": "model-1", "name": "Model 1", "costPerInputToken": 1e-06}
    resp = call("POST", P + "/ai-configs/model-configs", body)
    assert resp.status == 200 and resp.json["global"] is False and resp.json["isRestricted"] is False, resp.raw
    conforms(resp.json, "ModelConfig")
    expect_error(call("POST", P + "/ai-configs/model-configs", body), 400, "invalid_request")
    expect_error(call("POST", P + "/ai-configs/model-configs", {"key": "m2", "name": "no id"}), 400,
                 "invalid_request")
    resp = call("POST", P + "/ai-configs/model-configs/restricted", {"keys": ["m1", "ghost"]})
    assert resp.status == 200, resp.raw
    conforms(resp.json, "RestrictedModelsResponse")
    assert resp.json == {"successes": ["m1"], "errors": [
        {"key": "ghost", "message": "Model config not found", "code": 404}]}, resp.json
    assert call("GET", P + "/ai-configs/model-configs/m1").json["isRestricted"] is True
    expect_error(call("DELETE", P + "/ai-configs/model-configs/restricted", {"keys": ["m1", "ghost"]}), 404,
                 "not_found")
    assert call("GET", P + "/ai-configs/model-configs/m1").json["isRestricted"] is True
    resp = call("DELETE", P + "/ai-configs/model-configs/restricted", {"keys": ["m1"]})
    assert resp.status == 204 and resp.raw == b"", resp.raw
    assert call("GET", P + "/ai-configs/model-configs/m1").json["isRestricted"] is False
    assert call("DELETE", P + "/ai-configs/model-configs/m1").status == 204
    expect_error(call("DELETE", P + "/ai-configs/model-configs/m1"), 404, "not_found")


@test
def ratelimit_windows():
    """The account limit (issue 18): off by default; headers count down; a full window is a 429 with
    Retry-After that is not served; a route window is per route; the window ends; reset turns it off."""
    assert "x-ratelimit-global-remaining" not in call("GET", P + "/ai-configs?limit=1").headers
    assert ctl("POST", "ratelimit", {"window_ms": 700, "global": 3, "route": 2, "timestamps": True})["limited"] == 0
    ctl("POST", "clear-log")
    got = [call("GET", P + "/ai-configs?limit=1") for _ in range(3)]
    assert [r.status for r in got] == [200, 200, 429], [r.status for r in got]
    assert [r.headers["x-ratelimit-route-remaining"] for r in got] == ["1", "0", "0"]
    assert [r.headers["x-ratelimit-global-remaining"] for r in got] == ["2", "1", "1"]
    assert got[2].headers["retry-after"] == "1" and got[2].json["code"] == "rate_limited"
    reset = int(got[0].headers["x-ratelimit-reset"])
    assert 0 < reset - time.time() * 1000 <= 700, reset
    other = call("GET", P + "/agent-optimizations")
    assert other.status == 200 and other.headers["x-ratelimit-global-remaining"] == "0"
    assert call("GET", P + "/agent-optimizations").status == 429
    entries = log()
    assert [e["status"] for e in entries] == [200, 200, 429, 200, 429] and all("at_ms" in e for e in entries)
    time.sleep(0.75)
    assert call("GET", P + "/ai-configs?limit=1").headers["x-ratelimit-global-remaining"] == "2"
    assert ctl("GET", "ratelimit")["limited"] == 2
    expect_error(call("POST", "/_test/ratelimit", {"global": -1}, auth=None), 400, "invalid_request")
    ctl("POST", "reset")
    assert ctl("GET", "ratelimit")["global"] is None
    assert "x-ratelimit-reset" not in call("GET", P + "/ai-configs?limit=1").headers


# ---------------------------------------------------------------------------
# catalog: prompt snippets, AI tools, agent graphs, targeting (issue 16)
# ---------------------------------------------------------------------------

BETA = {"LD-API-Version": "beta"}
ODD_SNIPPET = "pii%2Fredact%3Fall%3D1%25"


@test
def snippets_read():
    """Snippet list pages, item, versions newest first, references; the literal route beats {configKey}."""
    resp = call("GET", P + "/ai-configs/prompt-snippets?limit=2&offset=2")
    conforms(resp.json, "PromptSnippets")
    assert [s["key"] for s in resp.json["items"]] == ["language-mirroring", "pii/redact?all=1%"]
    assert resp.json["totalCount"] == 5 and "next" in resp.json["_links"]
    resp = call("GET", P + "/ai-configs/prompt-snippets/" + ODD_SNIPPET)
    conforms(resp.json, "PromptSnippet")
    assert resp.json["key"] == "pii/redact?all=1%" and resp.json["_maintainer"]["kind"] == "member"
    resp = call("GET", P + "/ai-configs/prompt-snippets/brand-voice/versions")
    conforms(resp.json, "PromptSnippets")
    assert [s["version"] for s in resp.json["items"]] == [3, 2, 1]
    resp = call("GET", P + "/ai-configs/prompt-snippets/brand-voice/references?limit=3")
    conforms(resp.json, "SnippetReferences")
    assert resp.json["totalCount"] == 4 and len(resp.json["items"]) == 3
    assert resp.json["items"][0]["aiConfigName"] == "Support Triage Agent"
    expect_error(call("GET", P + "/ai-configs/prompt-snippets/nope"), 404, "not_found")
    expect_error(call("GET", P + "/ai-configs/prompt-snippets/nope/references"), 404, "not_found")


@test
def snippet_writes():
    """POST 201 / 409 / 400, PATCH makes a version, DELETE 204."""
    path = P + "/ai-configs/prompt-snippets"
    resp = call("POST", path, {"key": "new-snip", "name": "N", "text": "T", "maintainerTeamKey": "ai-platform"})
    assert resp.status == 201 and resp.json["version"] == 1 and resp.json["tags"] == []
    conforms(resp.json, "PromptSnippet")
    expect_error(call("POST", path, {"key": "new-snip", "name": "N", "text": "T"}), 409, "conflict")
    expect_error(call("POST", path, {"key": "x", "name": "N"}), 400, "invalid_request")
    resp = call("PATCH", path + "/new-snip", {"text": "T2"})
    assert resp.status == 200 and resp.json["version"] == 2 and resp.json["text"] == "T2"
    assert [s["version"] for s in call("GET", path + "/new-snip/versions").json["items"]] == [2, 1]
    assert call("DELETE", path + "/new-snip").status == 204
    expect_error(call("DELETE", path + "/new-snip"), 404, "not_found")


@test
def tools_read_and_write():
    """Tools: list, item, versions, references; POST duplicate is 400; PATCH, DELETE."""
    resp = call("GET", P + "/ai-tools?limit=3")
    conforms(resp.json, "AITools")
    assert [t["key"] for t in resp.json["items"]] == ["create-zendesk-ticket", "lookup-order", "run/sql?safe=1%"]
    resp = call("GET", P + "/ai-tools/lookup-order/versions")
    assert [t["version"] for t in resp.json["items"]] == [2, 1]
    resp = call("GET", P + "/ai-tools/lookup-order/references")
    conforms(resp.json, "ToolReferences")
    assert [r["toolVersion"] for r in resp.json["items"]] == [2, 1]
    body = {"key": "new-tool", "schema": {"type": "object"}}
    resp = call("POST", P + "/ai-tools", body)
    assert resp.status == 201
    conforms(resp.json, "AITool")
    expect_error(call("POST", P + "/ai-tools", body), 400, "invalid_request")
    resp = call("PATCH", P + "/ai-tools/new-tool", {"description": "d"})
    assert resp.json["version"] == 2 and resp.json["description"] == "d"
    assert call("DELETE", P + "/ai-tools/new-tool").status == 204
    expect_error(call("GET", P + "/ai-tools/new-tool"), 404, "not_found")


@test
def graphs_beta_and_edges():
    """Agent graphs need the beta header; the list has no edges, the item has; topology checks."""
    expect_error(call("GET", P + "/agent-graphs"), 403, "forbidden")
    expect_error(call("GET", P + "/agent-graphs/support-flow"), 403, "forbidden")
    resp = call("GET", P + "/agent-graphs", headers=BETA)
    conforms(resp.json, "AgentGraphs")
    assert [g["key"] for g in resp.json["items"]] == ["draft/graph?x=1%", "pr-review-pipeline", "support-flow"]
    assert all("edges" not in g for g in resp.json["items"])
    resp = call("GET", P + "/agent-graphs/support-flow", headers=BETA)
    conforms(resp.json, "AgentGraph")
    assert len(resp.json["edges"]) == 3
    path = P + "/agent-graphs"
    expect_error(call("POST", path, {"key": "g", "name": "G", "rootConfigKey": "ticket-summarizer"}, BETA),
                 400, "invalid_request")
    expect_error(call("POST", path, {"key": "g", "name": "G"}), 403, "forbidden")
    resp = call("POST", path, {"key": "g", "name": "G"}, BETA)
    assert resp.status == 201 and "edges" not in resp.json
    expect_error(call("POST", path, {"key": "g", "name": "G"}, BETA), 400, "invalid_request")
    edges = [{"key": "e", "sourceConfig": "ticket-summarizer", "targetConfig": "resume-screener"}]
    resp = call("PATCH", path + "/g", {"rootConfigKey": "ticket-summarizer", "edges": edges}, BETA)
    assert resp.status == 200 and resp.json["edges"] == edges
    expect_error(call("PATCH", path + "/g", {"edges": edges}, BETA), 400, "invalid_request")
    assert call("DELETE", path + "/g", headers=BETA).status == 204
    expect_error(call("DELETE", path + "/g", headers=BETA), 404, "not_found")


@test
def targeting_environments():
    """Targeting: an environments map per AI Config; 404 for an unknown one."""
    resp = call("GET", P + "/ai-configs/" + ODD_CONFIG + "/targeting")
    conforms(resp.json, "AIConfigTargeting")
    assert sorted(resp.json["environments"]) == ["production", "test"]
    assert resp.json["environments"]["test"]["_environmentName"] == "Test ✓"
    expect_error(call("GET", P + "/ai-configs/nope/targeting"), 404, "not_found")


# ---------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------

def main():
    """Run every test against a fresh stand-in and report."""
    global SERVER
    started = time.time()
    SERVER = Server()
    passed = failed = 0
    try:
        for fn in TESTS:
            try:
                ctl("POST", "reset")
                fn()
                passed += 1
            except Exception:
                failed += 1
                print("FAIL %s: %s" % (fn.__name__, fn.__doc__))
                traceback.print_exc(limit=3)
    finally:
        code, took, err = SERVER.stop()
    if code == 0 and took < 3:
        passed += 1
    else:
        failed += 1
        print("FAIL clean shutdown: exit %s after %.1fs" % (code, took))
    if os.path.exists(SERVER.port_file):
        failed += 1
        print("FAIL port file left behind")
    if "violates the spec" in err:
        failed += 1
        print("FAIL response schema violations:\n" + err)
    print("took %.1fs" % (time.time() - started))
    print("standin selftest: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
