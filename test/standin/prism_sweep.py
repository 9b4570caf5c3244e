#!/usr/bin/env python3
"""Walk every stand-in endpoint through a Prism validating proxy and report spec violations.

    npx prism proxy openapi-ai-configs.json http://127.0.0.1:<standin-port> -p 4011
    python3 test/standin/prism_sweep.py 4011 KEY

Reads every page of every list, every item, and runs one of each write (cleaning up after itself).
Prints each response that carries an `sl-violations` header. Expected are the three requests that
are invalid on purpose (a non-UUID runId, a missing name) and the 409 on a duplicate POST /ai-configs,
which the spec does not declare. Exit status 0 when no other violation is seen.
"""
import gzip
import http.client
import json
import sys
from urllib.parse import quote

P = "/api/v2/projects/default"
EXPECTED = {("GET", "runs/not-a-uuid/results", 400), ("POST", "/ai-configs", 409), ("POST", "/ai-configs", 400)}


class Sweep:
    """Sends requests to the proxy and collects violations."""

    def __init__(self, port, key):
        """Remember where to send requests and with which key."""
        self.port, self.key = port, key
        self.count, self.unexpected = 0, 0

    def call(self, method, path, body=None, headers=None):
        """One request; returns (status, JSON or raw body) and reports violations."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        hdrs = {"Accept-Encoding": "gzip", "Authorization": self.key}
        if body is not None:
            body = json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        if resp.getheader("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        self.count += 1
        violations = resp.getheader("sl-violations")
        if violations:
            expected = any(m == method and path.endswith(p) and s == resp.status for m, p, s in EXPECTED)
            self.unexpected += not expected
            print("%s %s %s %d %s" % ("expected" if expected else "VIOLATION", method, path, resp.status,
                                      violations[:400]))
        return resp.status, (json.loads(raw) if raw[:1] in (b"{", b"[") else raw)

    def walk(self, path):
        """Read every page of a list; returns all items."""
        items, offset = [], 0
        while True:
            status, body = self.call("GET", "%s?limit=50&offset=%d" % (path, offset))
            assert status == 200, (path, status, body)
            items += body["items"]
            if "next" not in body.get("_links", {}):
                return items
            offset += 50

    def reads(self):
        """Every list page and every item of the seed."""
        for cfg in self.walk(P + "/ai-configs"):
            key = quote(cfg["key"], safe="")
            self.call("GET", P + "/ai-configs/" + key)
            for variation in cfg["variations"]:
                self.call("GET", P + "/ai-configs/%s/variations/%s" % (key, quote(variation["key"], safe="")))
        for opt in self.walk(P + "/agent-optimizations"):
            key = quote(opt["key"], safe="")
            self.call("GET", P + "/agent-optimizations/" + key)
            self.walk(P + "/agent-optimizations/%s/results" % key)
            self.walk(P + "/agent-optimizations/%s/all-results" % key)
            for run in self.walk(P + "/agent-optimizations/%s/runs" % key):
                self.call("GET", P + "/agent-optimizations/%s/runs/%s/results" % (key, run["runId"]))

    def errors(self):
        """A few error answers."""
        self.call("GET", P + "/ai-configs/nope")
        self.call("GET", "/api/v2/projects/nope/ai-configs")
        self.call("GET", P + "/ai-configs?limit=-1")
        self.call("GET", P + "/agent-optimizations/support-triage/runs/not-a-uuid/results")

    def writes(self):
        """One of each write, cleaning up after itself."""
        cfg = P + "/ai-configs/sweep-cfg"
        self.call("POST", P + "/ai-configs", {"key": "sweep-cfg", "name": "Sweep", "maintainerId":
                  "65f1c2a9e4b0a1d2c3f40011", "defaultVariation": {"key": "d", "name": "D"}})
        self.call("POST", P + "/ai-configs", {"key": "sweep-cfg", "name": "Sweep"})
        self.call("POST", P + "/ai-configs", {"key": "sweep-2"})
        self.call("PATCH", cfg, {"tags": ["x"], "maintainerTeamKey": "ai-platform"})
        self.call("POST", cfg + "/variations", {"key": "v", "name": "V", "toolKeys": ["t"], "judgeConfiguration":
                  {"judges": [{"judgeConfigKey": "j", "samplingRate": 0.5}]}})
        self.call("PATCH", cfg + "/variations/v", {"published": True})
        self.call("GET", cfg + "/variations/v")
        self.call("DELETE", cfg + "/variations/v")
        self.call("DELETE", cfg)
        opt = P + "/agent-optimizations/sweep-opt"
        self.call("POST", P + "/agent-optimizations", {"key": "sweep-opt", "aiConfigKey": "x", "maxAttempts": 2,
                                                       "judgeModel": "m"})
        self.call("PATCH", opt, {"tokenLimit": 5})
        run = "3f2b8c1e-9d4a-4e6f-8a7b-1c2d3e4f5a6b"
        _, result = self.call("POST", opt + "/results", {"runId": run, "agentOptimizationVersion": 2,
                                                         "iteration": 1, "instructions": "i", "userInput": "u"})
        self.call("PATCH", opt + "/results/" + result["id"], {"status": "FAILED", "activity": "COMPLETED"})
        self.call("GET", opt + "/runs")
        self.call("DELETE", opt + "/runs/" + run, headers={"LD-API-Version": "beta"})
        self.call("DELETE", opt)


def main():
    """Run the sweep against the proxy port given on the command line."""
    if len(sys.argv) != 3:
        sys.exit("usage: prism_sweep.py PROXY_PORT API_KEY")
    sweep = Sweep(int(sys.argv[1]), sys.argv[2])
    sweep.reads()
    sweep.errors()
    sweep.writes()
    print("prism sweep: %d requests, %d unexpected violations" % (sweep.count, sweep.unexpected))
    return 1 if sweep.unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
