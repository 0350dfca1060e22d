#!/usr/bin/env python3
"""Checks run against a live Prometheus that scrapes tempos-mom (scenario_prometheus.sh), through its HTTP API.

  stored    waits for a scrape taken after /metrics was read, then: every tempos_* sample Prometheus stored equals
            the same sample of /metrics (names, labels, values), and each --expect SELECTOR=VALUE holds in both.
  alerts    every loaded rule is healthy and, at an evaluation after now (waited for), the active alerts are exactly
            the --active ones (none when not given).
  names     every metric the Grafana dashboard and the loaded alerting rules use is one Prometheus stored, and every
            dashboard query runs.
Exits 1 with the reason on stderr when a check fails.
"""
import argparse
import datetime
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

JOB = "tempos-mom"
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
SAMPLE = re.compile(r"^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$")


def fail(why):
    print(f"FAIL: {why}", file=sys.stderr)
    sys.exit(1)


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


class Prometheus:
    def __init__(self, base):
        self.base = base.rstrip("/")

    def api(self, path, **params):
        try:
            reply = json.loads(get(f"{self.base}/api/v1/{path}?{urllib.parse.urlencode(params)}"))
        except urllib.error.HTTPError as e:  # a rejected query: the body says why
            reply = json.loads(e.read().decode())
        if reply.get("status") != "success":
            fail(f"Prometheus /api/v1/{path} {params}: {reply.get('error', reply)}")
        return reply["data"]

    def query(self, expr):
        """The instant vector of EXPR as [(labels, value)]."""
        data = self.api("query", query=expr)
        return [(r["metric"], r["value"]) for r in data["result"]]


def unescape(value):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def parse_labels(text):
    return {k: unescape(v) for k, v in LABEL.findall(text or "")}


def parse_exposition(text):
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    samples = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            fail(f"/metrics line not in the text format: {line!r}")
        samples[(m.group(1), frozenset(parse_labels(m.group(2)).items()))] = float(m.group(3))
    return samples


def parse_selector(selector):
    m = re.fullmatch(r"([A-Za-z_:][\w:]*)(?:\{(.*)\})?", selector)
    if not m:
        fail(f"not a selector: {selector}")
    return m.group(1), parse_labels(m.group(2))


def wait_for_scrape_after(prom, after, timeout):
    """Waits until Prometheus holds a successful scrape of the job started after AFTER (Unix seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for labels, (_, stamp) in prom.query(f'timestamp(up{{job="{JOB}"}})'):
            if float(stamp) > after:
                up = prom.query(f'up{{job="{JOB}"}}')
                if not up or float(up[0][1][1]) != 1:
                    targets = prom.api("targets")["activeTargets"]
                    fail(f"Prometheus could not scrape tempos-mom: {[t.get('lastError') for t in targets]}")
                return float(stamp)
        time.sleep(0.2)
    fail(f"no scrape of job {JOB} stored within {timeout} s")


def stored(args):
    prom = Prometheus(args.prometheus)
    exposed = parse_exposition(get(args.metrics))
    read_at = time.time()
    scrape = wait_for_scrape_after(prom, read_at, args.timeout)
    kept = {}
    for labels, (_, value) in prom.query(f'{{job="{JOB}", __name__=~"tempos_.+"}}'):
        name = labels.pop("__name__")
        labels.pop("job"), labels.pop("instance")
        kept[(name, frozenset(labels.items()))] = float(value)
    missing = sorted(str(k) for k in exposed.keys() - kept.keys())
    extra = sorted(str(k) for k in kept.keys() - exposed.keys())
    if missing or extra:
        fail(f"series on /metrics but not in Prometheus: {missing}; in Prometheus but not on /metrics: {extra}")
    differ = [(k, exposed[k], kept[k]) for k in exposed if exposed[k] != kept[k]]
    if differ:
        fail(f"values Prometheus stored differ from /metrics (series, /metrics, Prometheus): {differ}")
    print(f"scrape at {scrape:.3f} (after /metrics was read at {read_at:.3f}): all {len(exposed)} tempos_* series "
          f"of /metrics stored by Prometheus with the same labels and values")
    for expectation in args.expect:
        selector, want = expectation.rsplit("=", 1)
        name, labels = parse_selector(selector)
        matching = [v for (n, ls), v in exposed.items() if n == name and labels.items() <= dict(ls).items()]
        if not matching:
            fail(f"no series {selector} on /metrics")
        on_metrics = sum(matching)
        matchers = ", ".join([f'job="{JOB}"'] + [f'{k}="{v}"' for k, v in labels.items()])
        result = prom.query(f"sum({name}{{{matchers}}})")
        in_prometheus = float(result[0][1][1]) if result else None
        stored_text = "no series" if in_prometheus is None else f"{in_prometheus:g}"
        print(f"{selector}: expected {want}, /metrics {on_metrics:g}, Prometheus {stored_text}")
        if not (on_metrics == in_prometheus == float(want)):
            fail(f"{selector}: expected {want} in /metrics and Prometheus")


def evaluated_at(stamp):
    # RFC 3339 with nanoseconds; fromisoformat takes at most microseconds.
    stamp = re.sub(r"(\.\d{6})\d+", r"\1", stamp).replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(stamp).timestamp()


def describe(alerts):
    return ", ".join(f"{labels['alertname']}{{{','.join(f'{k}={v}' for k, v in sorted(labels.items()) if k != 'alertname')}}}"
                     f" {state}" for labels, state in alerts) or "none"


def alerts(args):
    """Waits until, at an evaluation after the start, the active alerts are exactly --active NAME{LABELS}=STATE."""
    prom = Prometheus(args.prometheus)
    expected = []
    for expectation in args.active:
        selector, state = expectation.rsplit("=", 1)
        expected.append((*parse_selector(selector), state))
    start = time.time()
    deadline = time.monotonic() + args.timeout
    active = []
    while True:
        groups = prom.api("rules")["groups"]
        loaded = [r for g in groups for r in g["rules"]]
        if groups and all(evaluated_at(g["lastEvaluation"]) > start for g in groups):
            sick = [(r["name"], r["health"], r.get("lastError")) for r in loaded if r["health"] != "ok"]
            if sick:
                fail(f"rules that Prometheus cannot evaluate: {sick}")
            active = [(a["labels"], a["state"]) for r in loaded for a in r.get("alerts", [])]
            found = [[a for a in active if a[0]["alertname"] == name and labels.items() <= a[0].items() and a[1] == state]
                     for name, labels, state in expected]
            if all(len(f) == 1 for f in found) and len(active) == len(expected):
                break
        if time.monotonic() > deadline:
            fail(f"active alerts within {args.timeout} s: {describe(active)}; expected: {args.active or 'none'}")
        time.sleep(0.2)
    print(f"{len(loaded)} rules loaded, all healthy ({', '.join(r['name'] for r in loaded)}); "
          f"active alerts: {describe(active)}")


FUNCTION_OR_KEYWORD = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and",
                       "or", "unless", "inf", "nan"}


def metric_names(expr):
    """The metric names a PromQL expression selects (strings, matchers, ranges and label lists removed)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    words = re.findall(r"(?<![\w:$.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()", e)
    return {w for w in words if w.lower() not in FUNCTION_OR_KEYWORD}


def dashboard_queries(dashboard):
    """(where, expr) of every panel query (rows' panels included) and every query variable."""
    queries = []
    panels = list(dashboard.get("panels", []))
    while panels:
        panel = panels.pop(0)
        panels.extend(panel.get("panels", []))
        for target in panel.get("targets", []):
            if not target.get("expr"):
                fail(f"panel {panel.get('title')!r} has a query without expr")
            queries.append((f"panel {panel.get('title')!r}", target["expr"]))
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            m = re.fullmatch(r"label_values\((.*),\s*\w+\)", query)
            if not m:
                fail(f"variable {var['name']}: not a label_values(SELECTOR, LABEL) query: {query}")
            queries.append((f"variable {var['name']!r}", m.group(1)))
    return queries


def grafana_to_promql(expr):
    return expr.replace("$__rate_interval", "1m").replace("$instance", ".*")


def names(args):
    prom = Prometheus(args.prometheus)
    known = set(prom.api("label/__name__/values"))
    dashboard = json.load(open(args.dashboard))
    ids = [p["id"] for p in dashboard["panels"]]
    if len(ids) != len(set(ids)):
        fail(f"{args.dashboard}: panel ids repeat: {ids}")
    queries = dashboard_queries(dashboard)
    queries += [(f"rule {r['name']}", r["query"]) for g in prom.api("rules")["groups"] for r in g["rules"]]
    used = {}
    for where, expr in queries:
        found = metric_names(expr)
        if not found:
            fail(f"{where}: no metric found in {expr}")
        for name in found:
            used.setdefault(name, []).append(where)
        if where.startswith(("panel", "variable")):
            prom.query(grafana_to_promql(expr))  # fails on a query Prometheus rejects
    unknown = {n: w for n, w in used.items() if n not in known}
    if unknown:
        fail(f"metrics used but not stored by Prometheus from tempos-mom: {unknown}")
    unused = sorted(n for n in known if n.startswith("tempos_") and n not in used)
    print(f"{len(queries)} queries (dashboard and rules) use {len(used)} metrics, all stored by Prometheus: "
          f"{', '.join(sorted(used))}; tempos metrics on no panel or rule: {unused or 'none'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("stored")
    p.add_argument("--metrics", required=True, help="tempos-mom's /metrics URL")
    p.add_argument("--expect", action="append", default=[], help="SELECTOR=VALUE, e.g. m{topic=\"1\"}=1000")
    p.set_defaults(run=stored)
    p = sub.add_parser("alerts")
    p.add_argument("--active", action="append", default=[], help="NAME{LABELS}=pending|firing, each alert expected")
    p.set_defaults(run=alerts)
    p = sub.add_parser("names")
    p.add_argument("--dashboard", required=True)
    p.set_defaults(run=names)
    for p in sub.choices.values():
        p.add_argument("--prometheus", required=True, help="Prometheus base URL")
        p.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
