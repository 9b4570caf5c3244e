"""Deterministic seed data for the LaunchDarkly stand-in (ld_standin.py).

build_seed(scale) returns plain JSON-able dicts. Every run of it with the same
scale returns the same data: all randomness comes from random.Random(SEED).
Timestamps are epoch milliseconds in 2026; ids are version-4-shaped UUIDs.

Project "default" holds six AI Configs and five agent optimizations;
"empty-project" holds nothing. `--scale N` multiplies iterations per run by N.
"""
import calendar
import random
import uuid

SEED = 20261125

MEMBERS = [
    {"_id": "65f1c2a9e4b0a1d2c3f40011", "email": "dana.okafor@acme-support.example",
     "role": "admin", "firstName": "Dana", "lastName": "Okafor"},
    {"_id": "65f1c2a9e4b0a1d2c3f40022", "email": "wei.li@acme-support.example",
     "role": "writer", "firstName": "Wei", "lastName": "Li"},
    {"_id": "65f1c2a9e4b0a1d2c3f40033", "email": "maria.gonzalez@acme-support.example",
     "role": "reader", "firstName": "María"},
]

TEAMS = [
    {"key": "ai-platform", "name": "AI Platform"},
    {"key": "support-ops", "name": "Support Operations"},
]

# Phases of a result in the order the optimizer walks through them.
PHASES = ["PENDING", "GENERATING", "EVALUATING", "VALIDATING", "GENERATING_VARIATION", "COMPLETED"]


def ms(month, day, hour=9, minute=0, second=0):
    """Epoch milliseconds of a 2026 UTC date and time."""
    return calendar.timegm((2026, month, day, hour, minute, second)) * 1000


def new_uuid(rng):
    """A version-4-shaped UUID string drawn from rng."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def member(index):
    """The seeded member at index as a `_maintainer` object."""
    return dict({"kind": "member"}, **MEMBERS[index])


def team(index):
    """The seeded team at index as a `_maintainer` object."""
    return dict({"kind": "team"}, **TEAMS[index])


def model(name, temperature, max_tokens):
    """A variation `model` object."""
    return {"modelName": name, "parameters": {"temperature": temperature, "max_tokens": max_tokens}}


# ---------------------------------------------------------------------------
# AI Configs
# ---------------------------------------------------------------------------

def variation_history(rng, key, name, created, versions, **fields):
    """All versions (oldest first) of one variation; later versions change `fields` slightly."""
    vid = new_uuid(rng)
    history = []
    for number in range(1, versions + 1):
        item = {"_id": vid, "key": key, "name": name, "version": number,
                "createdAt": created + (number - 1) * 86_400_000 * 3}
        item.update(fields)
        if number < versions and "model" in fields:
            older = model(fields["model"]["modelName"],
                          round(fields["model"]["parameters"]["temperature"] + 0.1 * (versions - number), 1),
                          fields["model"]["parameters"]["max_tokens"])
            item["model"] = older
        if number < versions:
            item.pop("state", None)
            item.pop("_publishedAt", None)
            item.pop("_archivedAt", None)
        history.append(item)
    return history


def seed_configs(rng):
    """The AI Configs of project `default`, each with its variation histories."""
    configs = []

    created = ms(2, 3, 10, 15)
    configs.append({
        "key": "support-triage-agent", "name": "Support Triage Agent", "mode": "agent",
        "description": "Routes inbound support tickets to the right queue and drafts a first reply.",
        "tags": ["support", "triage", "production"], "_maintainer": member(0),
        "evaluationMetricKey": "ticket-resolved-first-contact", "isInverted": False,
        "version": 7, "createdAt": created, "updatedAt": ms(5, 18, 16, 42),
        "variations": [
            variation_history(
                rng, "baseline", "Baseline (GPT-4o)", created + 3_600_000, 3,
                model=model("gpt-4o", 0.2, 1024), modelConfigKey="OpenAI.gpt-4o",
                instructions=("You are Acme Cloud's tier-1 support triage agent. Read the ticket, pick one queue "
                              "(billing, shipping, technical, account) and draft a short, friendly first reply. "
                              "Never promise a refund without an order number."),
                tools=[{"key": "lookup-order", "version": 2}, {"key": "create-zendesk-ticket", "version": 1}],
                state="published", _publishedAt=created + 3_600_000 + 6 * 86_400_000 + 60_000),
            variation_history(
                rng, "concise-claude", "Concise (Claude)", created + 7 * 86_400_000, 1,
                model=model("claude-3-7-sonnet-latest", 0.4, 768),
                modelConfigKey="Anthropic.claude-3-7-sonnet-latest",
                description="Shorter replies; escalates anything about data loss.",
                instructions=("Triage the ticket into billing, shipping, technical or account. Reply in at most "
                              "three sentences. Escalate anything that mentions data loss."),
                judgeConfiguration={"judges": [{"judgeConfigKey": "answer-quality-judge", "samplingRate": 0.25}]},
                state="published"),
            variation_history(
                rng, "legacy-gpt35", "Legacy GPT-3.5", created + 1_800_000, 2,
                model=model("gpt-3.5-turbo", 0.7, 512),
                instructions="Classify the ticket and answer the customer.",
                state="archived", _archivedAt=ms(4, 30, 12)),
        ],
    })

    created = ms(2, 17, 14, 5)
    configs.append({
        "key": "code-review-assistant", "name": "Code Review Assistant", "mode": "agent",
        "description": "Reviews pull requests for correctness, style and security issues.",
        "tags": ["engineering", "code-review"], "_maintainer": team(0),
        "dependencies": [{"type": "agent-graph", "key": "pr-review-pipeline"}],
        "version": 4, "createdAt": created, "updatedAt": ms(6, 2, 11, 30),
        "variations": [
            variation_history(
                rng, "default", "Default reviewer", created + 600_000, 2,
                model=model("gpt-4o", 0.1, 2048), modelConfigKey="OpenAI.gpt-4o",
                instructions=("Review the diff. List correctness bugs first, then security issues, then style. "
                              "Quote the line you comment on. Be specific and kind.")),
            variation_history(
                rng, "strict-security", "Strict security focus", created + 5 * 86_400_000, 1,
                model=model("claude-3-7-sonnet-latest", 0.0, 2048),
                instructions=("Review only for security: injection, authz gaps, secrets in code, unsafe "
                              "deserialization. Ignore style.")),
        ],
    })

    created = ms(3, 2, 9, 0)
    configs.append({
        "key": "ticket-summarizer", "name": "Ticket Summarizer", "mode": "completion",
        "description": "Summarizes long support threads for hand-off between shifts.",
        "tags": ["support", "summarization"], "_maintainer": member(1),
        "evaluationMetricKey": "summary-thumbs-up", "isInverted": False,
        "version": 3, "createdAt": created, "updatedAt": ms(3, 20, 17, 5),
        "variations": [
            variation_history(
                rng, "short-summary", "Short summary", created + 900_000, 2,
                model=model("gpt-4o-mini", 0.3, 400), modelConfigKey="OpenAI.gpt-4o-mini",
                messages=[
                    {"role": "system", "content": "You summarize customer support threads in two sentences."},
                    {"role": "user", "content": "Summarize this thread:\n{{ticket_thread}}"},
                ],
                state="published", _publishedAt=created + 86_400_000),
            variation_history(
                rng, "bullet-points", "Bullet points", created + 2 * 86_400_000, 1,
                model=model("gpt-4o-mini", 0.5, 600),
                messages=[
                    {"role": "system", "content": "Summarize the thread as at most five bullet points: "
                                                  "problem, steps tried, customer mood, next action, owner."},
                    {"role": "user", "content": "{{ticket_thread}}"},
                ]),
        ],
    })

    created = ms(3, 11, 8, 45)
    configs.append({
        "key": "resume-screener", "name": "Résumé Screener ✨", "mode": "completion",
        "description": "Scores résumés against a job description — 履歴書を職務記述書と照合します 📄",
        "tags": [], "version": 1, "createdAt": created, "updatedAt": created,
        "variations": [
            variation_history(
                rng, "default", "Défaut", created, 1,
                model=model("gpt-4o", 0.0, 800),
                messages=[
                    {"role": "system", "content": "Évaluez le CV par rapport à l'offre d'emploi. "
                                                  "Répondez avec un score de 0 à 10 et trois raisons."},
                    {"role": "user", "content": "Offre: {{job}}\nCV: {{resume}}"},
                ]),
        ],
    })

    created = ms(3, 24, 13, 20)
    configs.append({
        "key": "answer-quality-judge", "name": "Answer Quality Judge", "mode": "judge",
        "description": "LLM-as-judge that scores support replies for accuracy and hallucinations.",
        "tags": ["judge", "quality"], "_maintainer": team(1),
        "evaluationMetricKey": "hallucination-rate", "isInverted": True,
        "version": 2, "createdAt": created, "updatedAt": ms(4, 8, 10, 0),
        "variations": [
            variation_history(
                rng, "gpt-4o-mini-judge", "GPT-4o mini judge", created + 300_000, 2,
                model=model("gpt-4o-mini", 0.0, 300), modelConfigKey="OpenAI.gpt-4o-mini",
                messages=[
                    {"role": "system", "content": "Score the reply from 0.0 to 1.0 for factual accuracy "
                                                  "against the knowledge base. Explain briefly."},
                    {"role": "user", "content": "Question: {{input}}\nReply: {{output}}"},
                ],
                state="published"),
        ],
    })

    created = ms(4, 14, 22, 10)
    configs.append({
        "key": "ops/triage?v=2%", "name": "Ops Triage v2 (escaped key)", "mode": "agent",
        "description": "On-call alert triage; its key needs URL escaping (/ ? %).",
        "tags": ["ops", "on-call"], "_maintainer": member(2),
        "version": 1, "createdAt": created, "updatedAt": created,
        "variations": [
            variation_history(
                rng, "default", "Default", created, 1,
                model=model("gpt-4o", 0.2, 1024), modelConfigKey="OpenAI.gpt-4o",
                instructions=("Given a PagerDuty alert and recent deploys, say whether it is actionable, "
                              "which service owns it, and the first runbook step.")),
        ],
    })
    return configs


# ---------------------------------------------------------------------------
# Agent optimizations
# ---------------------------------------------------------------------------

SUPPORT_INPUTS = [
    "Where is my order #A-1042? It was due Tuesday.",
    "I was charged twice for my March invoice.",
    "Mon colis n'est pas arrivé — où est-il ?",
    "我的订单 #A-2077 还没有发货，请帮忙查一下。",
    "The app crashes 😡 every time I tap \"Export\".",
    "My backup path is C:\\Users\\dana\\backups and it says \"access denied\".",
    "How do I reset 2FA? I lost my phone.",
]

CODE_INPUTS = [
    "diff --git a/auth.py b/auth.py\n+    if user.is_admin or request.args.get('debug'):",
    "diff --git a/db.go b/db.go\n+\tq := \"SELECT * FROM users WHERE id = \" + id",
    "diff --git a/utils.ts b/utils.ts\n+export const sleep = (ms) => new Promise(r => setTimeout(r, ms));",
    "diff --git a/config.yml b/config.yml\n+aws_secret_access_key: AKIA…REDACTED",
]

OPS_INPUTS = [
    "ALERT p95 latency > 2s on checkout-api (eu-west-1)",
    "ALERT disk 91% on pg-replica-3",
    "ALERT 5xx rate 4% on /api/v2/ai-configs after deploy 8f3c2e",
]

RESUME_INPUTS = [
    "CV: Zoë Müller — 6 ans d'expérience Python, Django, PostgreSQL.",
    "履歴書: 田中 花子 — データエンジニア、5年、Spark と Airflow。",
    "Résumé: José Ñúñez 🚀 — SRE, Kubernetes, Terraform, on-call lead.",
]

REFINEMENTS = [
    "Ask for the order number before discussing refunds.",
    "Mirror the customer's language.",
    "Keep replies under 120 words.",
    "State the queue name on the first line.",
    "Escalate security or data-loss reports immediately.",
    "Offer one concrete next step.",
    "Avoid apologising more than once.",
]


def optimization_specs():
    """Static fields and run plans of the seeded agent optimizations."""
    return [
        {
            "key": "support-triage", "aiConfigKey": "support-triage-agent", "maxAttempts": 40,
            "modelChoices": ["OpenAI.gpt-4o", "Anthropic.claude-3-7-sonnet-latest", "OpenAI.gpt-4o-mini"],
            "judgeModel": "OpenAI.gpt-4o",
            "variableChoices": [{"key": "tone", "values": ["friendly", "formal", "concise"]},
                                {"key": "product", "values": ["Acme Cloud", "Acme Mobile"]}],
            "acceptanceStatements": [
                {"statement": "The reply routes the ticket to the correct queue.", "threshold": 0.9},
                {"statement": "The reply never promises a refund without an order number.", "threshold": 1.0}],
            "judges": [{"key": "answer-quality-judge", "threshold": 0.8}, {"key": "tone-judge", "threshold": 0.7}],
            "userInputOptions": SUPPORT_INPUTS,
            "groundTruthResponses": [
                "Queue: shipping. Thanks for reaching out! Could you confirm order #A-1042's postcode so I can "
                "check with the carrier?",
                "Queue: billing. I can see two charges for March; I've flagged the duplicate for reversal."],
            "metricKey": "ticket-resolved-first-contact", "tokenLimit": 4000, "variationKey": "baseline",
            "label": "Q3 triage tune-up", "latencyOptimization": True, "tokenOptimization": False,
            "autoCommit": False, "version": 3, "createdAt": ms(6, 1, 9, 30),
            "base": "You are Acme Cloud's tier-1 support triage agent.",
            "outputs": ["Queue: shipping. I'm sorry your order is late — let me check with the carrier.",
                        "Queue: billing. I see the duplicate charge and have flagged it for reversal.",
                        "Queue: technical. Thanks for the report; could you tell me your app version?",
                        "Queue: account. You can reset 2FA from the recovery page; here is how."],
            "runs": {1: [(28, "FAILED"), (35, "PASSED"), (31, "PASSED")],
                     2: [(33, "PASSED"), (26, "FAILED"), (38, "PASSED")],
                     3: [(30, "PASSED"), (36, "PASSED"), (27, "ERRORED"), (24, "RUNNING:VALIDATING")]},
            "first_run": ms(6, 3, 8, 0),
        },
        {
            "key": "code-review-bot", "aiConfigKey": "code-review-assistant", "maxAttempts": 32,
            "modelChoices": ["OpenAI.gpt-4o", "Anthropic.claude-3-7-sonnet-latest"],
            "judgeModel": "Anthropic.claude-3-7-sonnet-latest",
            "variableChoices": [{"key": "strictness", "values": ["lenient", "normal", "pedantic"]}],
            "acceptanceStatements": [
                {"statement": "Every reported bug points at a specific line.", "threshold": 0.85}],
            "judges": [{"key": "review-accuracy-judge", "threshold": 0.75}],
            "userInputOptions": CODE_INPUTS,
            "groundTruthResponses": ["auth.py:1 — the debug query parameter bypasses the admin check."],
            "tokenOptimization": True, "autoCommit": True,
            "version": 2, "createdAt": ms(6, 20, 15, 0),
            "base": "You review pull requests for Acme's backend services.",
            "outputs": ["auth.py:1 — `debug` lets anyone act as admin; remove it.",
                        "db.go:1 — SQL built by concatenation; use a placeholder.",
                        "utils.ts:1 — fine; consider typing `ms: number`.",
                        "config.yml:1 — a secret is committed; rotate it and use the vault."],
            "runs": {1: [(22, "PASSED"), (31, "FAILED")],
                     2: [(29, "PASSED"), (25, "PASSED"), (13, "RUNNING:GENERATING_VARIATION")]},
            "first_run": ms(6, 22, 10, 0),
        },
        {
            "key": "no-runs-yet", "aiConfigKey": "ticket-summarizer", "maxAttempts": 5,
            "modelChoices": ["OpenAI.gpt-4o-mini"], "judgeModel": "OpenAI.gpt-4o-mini",
            "variableChoices": [], "acceptanceStatements": [
                {"statement": "The summary names the next action and its owner.", "threshold": 0.8}],
            "judges": [{"key": "answer-quality-judge", "threshold": 0.8}],
            "userInputOptions": ["Customer: my export is stuck at 99%.\nAgent: restarting the job now."],
            "groundTruthResponses": [],
            "version": 1, "createdAt": ms(7, 1, 12, 0), "runs": {},
        },
        {
            "key": "opt/with?odd%key", "aiConfigKey": "ops/triage?v=2%", "maxAttempts": 6,
            "modelChoices": ["OpenAI.gpt-4o"], "judgeModel": "OpenAI.gpt-4o-mini",
            "variableChoices": [{"key": "service", "values": ["checkout-api", "pg-replica"]}],
            "acceptanceStatements": [{"statement": "The first runbook step is correct.", "threshold": 0.75}],
            "judges": [{"key": "runbook-judge", "threshold": 0.75}],
            "userInputOptions": OPS_INPUTS,
            "groundTruthResponses": ["Actionable. Owner: payments. Step 1: roll back deploy 8f3c2e."],
            "label": "Odd key — escaping test", "latencyOptimization": False,
            "version": 1, "createdAt": ms(7, 10, 18, 0),
            "base": "You triage on-call alerts.",
            "outputs": ["Actionable — owner: payments; step 1: roll back the last deploy.",
                        "Not actionable — replica disk grows nightly; it is vacuumed at 03:00."],
            "runs": {1: [(3, "PASSED"), (3, "RUNNING:PENDING")]},
            "first_run": ms(7, 11, 9, 0),
        },
        {
            "key": "resume-screener-tuning", "aiConfigKey": "resume-screener", "maxAttempts": 8,
            "modelChoices": ["OpenAI.gpt-4o", "OpenAI.gpt-4o-mini"], "judgeModel": "OpenAI.gpt-4o",
            "variableChoices": [{"key": "language", "values": ["fr", "ja", "en"]}],
            "acceptanceStatements": [{"statement": "Le score est justifié par trois raisons.", "threshold": 0.8}],
            "judges": [{"key": "fairness-judge", "threshold": 0.9}, {"key": "answer-quality-judge",
                                                                     "threshold": 0.7}],
            "userInputOptions": RESUME_INPUTS,
            "groundTruthResponses": ["Score 8/10 — solide en Python ✅, PostgreSQL ✅, pas de Kubernetes ❌."],
            "metricKey": "screening-agreement", "tokenLimit": 1500, "variationKey": "default",
            "autoCommit": False, "version": 2, "createdAt": ms(8, 4, 7, 15),
            "base": "Vous évaluez des CV pour Acme.",
            "outputs": ["Score 7/10 — Python ✅, Django ✅, pas d'expérience cloud.",
                        "スコア 8/10 — Spark ✅、Airflow ✅、英語の記載なし。",
                        "Score 9/10 — Kubernetes ✅ Terraform ✅ on-call 🚀"],
            "runs": {1: [(5, "FAILED")], 2: [(7, "PASSED"), (4, "RUNNING:EVALUATING")]},
            "first_run": ms(8, 5, 9, 0),
        },
    ]


FIELDS = ["id", "key", "aiConfigKey", "maxAttempts", "modelChoices", "judgeModel", "variableChoices",
          "acceptanceStatements", "judges", "userInputOptions", "groundTruthResponses", "metricKey",
          "tokenLimit", "variationKey", "label", "latencyOptimization", "tokenOptimization", "autoCommit",
          "version", "createdAt"]


def tokens(rng, low, high):
    """A `{total, input, output}` token-usage object."""
    inp, out = rng.randint(low, high), rng.randint(low // 4, high // 3)
    return {"total": inp + out, "input": inp, "output": out}


def judge_scores(rng, judges, progress, status):
    """Per-judge scores consistent with status: all above threshold iff PASSED."""
    scores = {}
    for judge in judges:
        value = min(1.0, max(0.0, 0.4 + 0.45 * progress + rng.uniform(-0.12, 0.08)))
        if status == "PASSED":
            value = max(value, judge["threshold"] + rng.uniform(0.0, 1.0 - judge["threshold"]))
        scores[judge["key"]] = round(value, 3)
    if status == "FAILED" and all(scores[j["key"]] >= j["threshold"] for j in judges):
        judge = rng.choice(judges)
        scores[judge["key"]] = round(max(0.0, judge["threshold"] - rng.uniform(0.02, 0.25)), 3)
    return scores


def rationale(key, value, threshold):
    """A short judge rationale for value against threshold."""
    if value >= threshold:
        return "%s: meets the bar (%.2f ≥ %.2f); accurate and on-tone." % (key, value, threshold)
    return "%s: below the bar (%.2f < %.2f); misses a required step." % (key, value, threshold)


class ResultMaker:
    """Builds the results of one optimization's runs from its spec."""

    def __init__(self, rng, spec, opt_id):
        """Remember the rng, the optimization spec and its id."""
        self.rng, self.spec, self.opt_id = rng, spec, opt_id

    def instructions(self, version, iteration):
        """The instructions tried at an iteration of a run of a version."""
        picks = REFINEMENTS[: (iteration + version) % len(REFINEMENTS)]
        return " ".join([self.spec["base"], "(v%d, attempt %d)" % (version, iteration)] + picks)

    def result(self, run_id, version, iteration, n_iter, start, status, activity):
        """One result; returns (result, time the next iteration may start)."""
        rng, spec = self.rng, self.spec
        judges = spec["judges"]
        params = {"temperature": rng.choice([0.0, 0.2, 0.4, 0.7]), "max_tokens": rng.choice([512, 768, 1024])}
        instructions = self.instructions(version, iteration)
        item = {"id": new_uuid(rng), "runId": run_id, "agentOptimizationId": self.opt_id,
                "agentOptimizationVersion": version, "status": status, "activity": activity,
                "iteration": iteration, "instructions": instructions,
                "userInput": rng.choice(spec["userInputOptions"]), "parameters": params,
                "variation": {"instructions": instructions, "parameters": params,
                              "modelConfigKey": rng.choice(spec["modelChoices"])},
                "createdAt": start}
        phase = PHASES.index(activity)
        gen_latency = rng.randint(700, 5200)
        elapsed = rng.randint(40, 400)
        if phase >= PHASES.index("EVALUATING"):
            item["completionResponse"] = rng.choice(spec["outputs"])
            item["generationTokens"] = tokens(rng, 300, 1800)
            item["generationLatency"] = gen_latency
            elapsed += gen_latency
        if phase >= PHASES.index("VALIDATING") or (status == "ERRORED" and activity == "EVALUATING"):
            verdict = status if status in ("PASSED", "FAILED") else "FAILED"
            values = judge_scores(rng, judges, iteration / n_iter, verdict)
            latencies = {j["key"]: rng.randint(300, 2400) for j in judges}
            item["scores"] = {j["key"]: {"score": values[j["key"]],
                                         "rationale": rationale(j["key"], values[j["key"]], j["threshold"]),
                                         "duration_ms": latencies[j["key"]],
                                         "usage": tokens(rng, 600, 1400)} for j in judges}
            item["evaluationTokens"] = {j["key"]: tokens(rng, 600, 1400) for j in judges}
            item["evaluationLatencies"] = latencies
            elapsed += max(latencies.values())
        if status == "ERRORED" and activity == "EVALUATING":
            del item["scores"]
        elapsed += rng.randint(100, 900)
        item["updatedAt"] = start + elapsed
        if status != "RUNNING":
            item["completedAt"] = start + elapsed
        return item, start + elapsed + rng.randint(50, 400)

    def run(self, run_id, version, n_iter, outcome, start, run_number):
        """All results of one run; outcome is PASSED/FAILED/ERRORED or RUNNING:<activity>."""
        results, t = [], start
        for iteration in range(1, n_iter + 1):
            if iteration < n_iter:
                errored = self.rng.random() < 0.05
                status = "ERRORED" if errored else "FAILED"
                activity = self.rng.choice(["GENERATING", "EVALUATING"]) if errored else "COMPLETED"
            elif outcome.startswith("RUNNING:"):
                status, activity = "RUNNING", outcome.split(":", 1)[1]
            elif outcome == "ERRORED":
                status, activity = "ERRORED", "GENERATING"
            else:
                status, activity = outcome, "COMPLETED"
            item, t = self.result(run_id, version, iteration, n_iter, t, status, activity)
            if status == "PASSED" and (self.spec.get("autoCommit") or run_number % 2 == 0):
                item["createdVariationKey"] = "%s-opt-v%d-r%d" % (
                    self.spec["aiConfigKey"].replace("/", "-").strip("?%"), version, run_number)
            results.append(item)
        return results


def seed_optimizations(rng, scale):
    """The agent optimizations of project `default` and their results by optimization key.

    Optimization and run ids come from rng; results from a per-optimization generator,
    so ids of optimizations and runs do not depend on scale.
    """
    optimizations, results = [], {}
    for spec in optimization_specs():
        opt = {"id": new_uuid(rng)}
        opt.update({k: spec[k] for k in FIELDS if k in spec})
        optimizations.append({k: opt[k] for k in FIELDS if k in opt})
        result_rng = random.Random("%d/%s" % (SEED, spec["key"]))
        maker = ResultMaker(result_rng, spec, opt["id"])
        items, start, run_number = [], spec.get("first_run", 0), 0
        for version in sorted(spec["runs"]):
            for n_iter, outcome in spec["runs"][version]:
                run_number += 1
                run = maker.run(new_uuid(rng), version, n_iter * scale, outcome, start, run_number)
                items.extend(run)
                start = max(r["updatedAt"] for r in run) + result_rng.randint(20, 60) * 3_600_000
        results[spec["key"]] = items
    return optimizations, results


# ---------------------------------------------------------------------------
# AI model configs (ai_model_configs): the models the seeded variations, results and judges name
# (variation.modelConfigKey, judgeModel, modelChoices are model config keys), with their list prices
# in USD per token.

def model_config(key, model_id, name, provider, prices, restricted=False, global_=True, **extra):
    """A ModelConfig; prices is (input, output, cached input or None) in USD per token."""
    item = {"key": key, "id": model_id, "name": name, "provider": provider, "icon": provider.lower(),
            "global": global_, "params": {}, "customParams": {}, "tags": [provider.lower()], "version": 1,
            "costPerInputToken": prices[0], "costPerOutputToken": prices[1], "isRestricted": restricted}
    if prices[2] is not None:
        item["costPerCachedInputToken"] = prices[2]
    item.update(extra)
    return item


def seed_model_configs():
    """The model configs of project `default`, by key."""
    return [
        model_config("OpenAI.gpt-4o", "gpt-4o", "GPT-4o", "OpenAI", (2.5e-06, 1e-05, 1.25e-06),
                     params={"temperature": 0.7, "maxTokens": 4096}),
        model_config("OpenAI.gpt-4o-mini", "gpt-4o-mini", "GPT-4o mini", "OpenAI", (1.5e-07, 6e-07, 7.5e-08),
                     params={"temperature": 0.7, "maxTokens": 4096}),
        model_config("Anthropic.claude-3-7-sonnet-latest", "claude-3-7-sonnet-latest", "Claude 3.7 Sonnet",
                     "Anthropic", (3e-06, 1.5e-05, 3e-07), params={"maxTokens": 8192}),
        model_config("Anthropic.claude-3-5-haiku-latest", "claude-3-5-haiku-latest", "Claude 3.5 Haiku",
                     "Anthropic", (8e-07, 4e-06, 8e-08), restricted=True, params={"maxTokens": 8192}),
        model_config("acme.support-llama", "llama-3.1-70b-instruct", "Acme support Llama (self-hosted)",
                     "Custom", (9e-07, 9e-07, None), global_=False, tags=["self-hosted", "support"],
                     customParams={"endpoint": "https://llm.acme-support.example/v1", "timeoutMs": 30000}),
    ]


def build_seed(scale=1):
    """The whole seed: members, teams and the two projects."""
    rng = random.Random(SEED)
    configs = seed_configs(rng)
    optimizations, results = seed_optimizations(rng, scale)
    return {
        "members": [dict(m) for m in MEMBERS],
        "teams": [dict(t) for t in TEAMS],
        "projects": {
            "default": {"configs": configs, "optimizations": optimizations, "results": results,
                        "model_configs": seed_model_configs(),
                        "catalog": seed_catalog(configs)},
            "empty-project": {"configs": [], "optimizations": [], "results": {}},
        },
    }


# ---------------------------------------------------------------------------
# catalog: prompt snippets, AI tools, agent graphs, targeting (issue 16)
# ---------------------------------------------------------------------------

def versions_of(first, versions, created, **later):
    """All versions (oldest first) of a snippet or tool: later versions take `later`'s fields in turn."""
    out = []
    for number in range(1, versions + 1):
        item = dict(first, version=number, createdAt=created + (number - 1) * 86_400_000)
        for name, values in later.items():
            if number - 2 >= 0 and number - 2 < len(values):
                item[name] = values[number - 2]
        out.append(item)
    return out


def seed_snippets():
    """Prompt snippets of project `default` by key: each a version history, oldest first."""
    return {
        "brand-voice": versions_of(
            {"key": "brand-voice", "name": "Brand voice", "description": "How Acme sounds in every reply.",
             "text": "Be friendly and concise. Avoid jargon.", "tags": ["style"], "_maintainer": member(1)},
            3, ms(1, 20, 9),
            text=["Be friendly and concise. Avoid jargon and exclamation marks.",
                  "Be friendly, concise and concrete. Avoid jargon and exclamation marks."]),
        "escalation-policy": versions_of(
            {"key": "escalation-policy", "name": "Escalation policy",
             "text": "Escalate security or data-loss reports to a human immediately.",
             "tags": ["support", "policy"], "_maintainer": team(1)},
            2, ms(1, 22, 14), text=["Escalate security, data-loss or legal reports to a human immediately."]),
        "language-mirroring": versions_of(
            {"key": "language-mirroring", "name": "Langue du client 🌍",
             "description": "Répondre dans la langue du client — 用客户的语言回复。",
             "text": "Reply in the customer's language; 日本語なら日本語で。", "tags": ["i18n"]},
            1, ms(2, 1, 8)),
        "pii/redact?all=1%": versions_of(
            {"key": "pii/redact?all=1%", "name": "PII redaction (escaped key)",
             "text": "Never repeat e-mail addresses, phone numbers or card numbers.", "tags": [],
             "_maintainer": member(0)},
            1, ms(2, 9, 16)),
        "refund-rules": versions_of(
            {"key": "refund-rules", "name": "Refund rules", "description": "When a refund may be offered.",
             "text": "Offer a refund only with an order number.", "tags": ["support", "billing"]},
            2, ms(2, 12, 11), text=["Offer a refund only with an order number, within 30 days."]),
    }


# (config key, variation key, snippet version) of each variation that uses a snippet
SNIPPET_USES = {
    "brand-voice": [("support-triage-agent", "baseline", 3), ("support-triage-agent", "concise-claude", 2),
                    ("ticket-summarizer", "short-summary", 3), ("resume-screener", "default", 1)],
    "escalation-policy": [("support-triage-agent", "concise-claude", 2),
                          ("support-triage-agent", "legacy-gpt35", 1), ("ops/triage?v=2%", "default", 2)],
    "language-mirroring": [("resume-screener", "default", 1)],
    "pii/redact?all=1%": [("code-review-assistant", "strict-security", 1)],
}


def seed_tools():
    """AI tools of project `default` by key: each a version history, oldest first."""
    order_schema = {"type": "object", "properties": {"orderId": {"type": "string"}}, "required": ["orderId"]}
    return {
        "create-zendesk-ticket": versions_of(
            {"key": "create-zendesk-ticket", "description": "Opens a Zendesk ticket for a human agent.",
             "schema": {"type": "object", "properties": {"subject": {"type": "string"},
                                                         "priority": {"enum": ["low", "normal", "high"]}},
                        "required": ["subject"]},
             "customParameters": {"zendeskGroup": "tier-1"}, "tags": ["support"], "_maintainer": team(1)},
            1, ms(1, 25, 10)),
        "lookup-order": versions_of(
            {"key": "lookup-order", "description": "Looks up an order by id.", "schema": order_schema,
             "customParameters": {"timeoutMs": 2000}, "tags": ["support", "orders"], "_maintainer": member(0)},
            2, ms(1, 26, 9),
            schema=[dict(order_schema, properties={"orderId": {"type": "string"},
                                                   "includeItems": {"type": "boolean"}})]),
        "run/sql?safe=1%": versions_of(
            {"key": "run/sql?safe=1%", "description": "Runs a read-only SQL query (escaped key).",
             "schema": {"type": "object", "properties": {"query": {"type": "string"}}}, "tags": []},
            1, ms(2, 5, 15)),
        "search-kb": versions_of(
            {"key": "search-kb", "description": "Recherche dans la base de connaissances 📚",
             "schema": {"type": "object", "properties": {"q": {"type": "string"}}},
             "customParameters": {"index": "kb-ヘルプ"}, "tags": ["kb"]},
            1, ms(2, 6, 12)),
    }


# (config key, variation key, tool version) of each variation that uses a tool
TOOL_USES = {
    "lookup-order": [("support-triage-agent", "baseline", 2), ("support-triage-agent", "legacy-gpt35", 1)],
    "create-zendesk-ticket": [("support-triage-agent", "baseline", 1), ("ops/triage?v=2%", "default", 1)],
    "search-kb": [("ticket-summarizer", "bullet-points", 1)],
}


def seed_graphs():
    """Agent graphs of project `default`, ordered by key."""
    return [
        {"key": "draft/graph?x=1%", "name": "Brouillon — 草稿", "description": "Metadata only, no nodes yet.",
         "createdAt": ms(5, 2, 9), "updatedAt": ms(5, 2, 9)},
        {"key": "pr-review-pipeline", "name": "PR review pipeline", "description": "Review, then judge the review.",
         "_maintainer": team(0), "rootConfigKey": "code-review-assistant",
         "edges": [{"key": "review-to-judge", "sourceConfig": "code-review-assistant",
                    "targetConfig": "answer-quality-judge", "handoff": {"mode": "full-transcript"}}],
         "createdAt": ms(3, 1, 10), "updatedAt": ms(5, 20, 15)},
        {"key": "support-flow", "name": "Support flow ⚡", "_maintainer": member(1),
         "rootConfigKey": "support-triage-agent",
         "edges": [{"key": "triage-to-summary", "sourceConfig": "support-triage-agent",
                    "targetConfig": "ticket-summarizer", "handoff": {"mode": "summary", "maxTurns": 3}},
                   {"key": "triage-to-ops", "sourceConfig": "support-triage-agent", "targetConfig": "ops/triage?v=2%"},
                   {"key": "ops-back-to-triage", "sourceConfig": "ops/triage?v=2%",
                    "targetConfig": "support-triage-agent", "handoff": {"note": "retour à l'équipe — 返回"}}],
         "createdAt": ms(3, 5, 12), "updatedAt": ms(6, 1, 8)},
    ]


def seed_targeting(configs):
    """Targeting of each AI Config by key: an `environments` map (production, test) and defaults."""
    out = {}
    for number, config in enumerate(configs):
        created = config["createdAt"]
        prod = {"_environmentName": "Production", "_version": 3 + number, "enabled": number % 3 != 2,
                "offVariation": 0, "fallthrough": {"variation": 0}, "trackEvents": number == 0,
                "trackEventsFallthrough": False, "lastModified": created + 86_400_000 * (number + 1),
                "rules": [{"clauses": [{"id": "c-%d" % number, "attribute": "plan", "op": "in", "negate": False,
                                        "values": ["enterprise", "entreprise-é"]}], "trackEvents": False}],
                "targets": [{"contextKind": "user", "values": ["dana", "wei"], "variation": 0}],
                "contextTargets": [{"contextKind": "organization", "values": ["acme-東京"], "variation": 0}]}
        if number == 0:
            prod["fallthrough"] = {"rollout": {"variations": [{"variation": 0, "weight": 60000},
                                                              {"variation": 1, "weight": 40000}],
                                               "bucketBy": "key", "contextKind": "user", "seed": 42}}
        test = {"_environmentName": "Test ✓", "_version": 1, "enabled": False, "offVariation": 0,
                "fallthrough": {"variation": 0}, "trackEvents": False, "trackEventsFallthrough": False,
                "lastModified": created, "rules": [], "targets": [], "contextTargets": []}
        out[config["key"]] = {"production": prod, "test": test}
    return out


def seed_catalog(configs):
    """The issue-16 resources of project `default`."""
    return {"snippets": seed_snippets(), "snippet_uses": SNIPPET_USES, "tools": seed_tools(),
            "tool_uses": TOOL_USES, "graphs": seed_graphs(), "targeting": seed_targeting(configs)}
