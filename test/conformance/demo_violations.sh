#!/usr/bin/env bash
# Proof that the checker can fail: three requests sent by hand with curl through the relay
# (so through Prism), then report.py over just those exchanges must find exactly
#   - the result POST without `userInput`  (a request violation), and
#   - a scripted 200 whose gzip'd body has `items` as a string  (a response violation),
# and must pass the plain GET.  Run by scripts/conformance.sh before the suite, with
#   RELAY_URL, STANDIN_URL, LDAI_TEST_API_KEY, CONF_WORK (holding exchanges.jsonl, journal.jsonl,
#   prism.log) set.  Moves the demo's exchanges to $CONF_WORK/demo-exchanges.jsonl.
# Prints "ok - ..." or "not ok - ..." lines; exit status 0 when the checker behaved.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
P=/api/v2/projects/default
auth=(-H "Authorization: $LDAI_TEST_API_KEY")
fail=0

curl -sS -o /dev/null "${auth[@]}" "$RELAY_URL$P/ai-configs?limit=5"
curl -sS -o /dev/null "${auth[@]}" -H 'Content-Type: application/json' \
  --data-binary '{"runId": "3f2b8c1e-9d4a-4e6f-8a7b-1c2d3e4f5a6b", "agentOptimizationVersion": 2, "iteration": 1, "instructions": "i"}' \
  "$RELAY_URL$P/agent-optimizations/support-triage/results"
pad=$(printf 'x%.0s' $(seq 1 1500))
curl -sS -f -o /dev/null -X POST -H 'Content-Type: application/json' \
  --data-binary "{\"method\": \"GET\", \"path\": \"/ai-configs\$\", \"status\": 200, \"body\": \"{\\\"items\\\": \\\"not a list\\\", \\\"totalCount\\\": 0, \\\"pad\\\": \\\"$pad\\\"}\"}" \
  "$STANDIN_URL/_test/faults"
gz=$(curl -sS -o /dev/null -w '%{content_type} %header{content-encoding}' "${auth[@]}" -H 'Accept-Encoding: gzip' \
  "$RELAY_URL$P/ai-configs")
curl -sS -f -o /dev/null -X DELETE "$STANDIN_URL/_test/faults"
case "$gz" in
  *gzip*) ;;
  *) echo "not ok - the scripted body did not come back gzip'd through the relay: $gz"; fail=1 ;;
esac

# wait for the relay to have validated the three exchanges, then take them out of the main file
for _ in $(seq 1 100); do
  [ "$(cat "$CONF_WORK/exchanges.jsonl" 2>/dev/null | grep -c .)" -ge 3 ] && break
  sleep 0.1
done
mv "$CONF_WORK/exchanges.jsonl" "$CONF_WORK/demo-exchanges.jsonl" 2>/dev/null

out=$(python3 "$here/report.py" --exchanges "$CONF_WORK/demo-exchanges.jsonl" --journal "$CONF_WORK/journal.jsonl" \
        --prism-log "$CONF_WORK/prism.log" --allow "$here/expected-violations.txt" --settle 5 2>&1)
code=$?
want_request="VIOLATION: POST $P/agent-optimizations/support-triage/results -> 400 fault=- | request.body: Request body must have required property 'userInput'"
want_response="VIOLATION: GET $P/ai-configs -> 200 fault=.* | response.body.items: .*array"
if [ "$code" -ne 0 ] && grep -qxF "$want_request" <<<"$out" && grep -qE "^$want_response" <<<"$out" \
   && grep -qx 'conformance: 3 requests validated, 2 violations' <<<"$out"; then
  echo "ok - the checker reports a result POST without userInput and a gzip'd list with a bad items field"
else
  echo "not ok - the checker missed a deliberate violation (exit $code):"
  sed 's/^/    /' <<<"$out"
  fail=1
fi
exit "$fail"
