#!/usr/bin/env bash
# The shipped Prometheus files (packaging/prometheus/) as promtool, from Debian's prometheus package, reads them:
# the scrape configuration and the rule file it names are valid, and the unit tests in tempos-alerts.test.yml
# (each alert fires on a synthetic series of its fault, stays silent on a healthy one) pass.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
command -v promtool >/dev/null || { echo "FAIL: promtool not found (Debian package prometheus)" >&2; exit 1; }
promtool check config "$ROOT/packaging/prometheus/prometheus.yml"
promtool check rules "$ROOT/packaging/prometheus/tempos-alerts.yml"
promtool test rules "$ROOT/tests/monitoring/tempos-alerts.test.yml"
# promtool does not notice an alert without a test: every alert of the rule file must be one of the tests'.
untested=$(comm -23 <(sed -n 's/^ *- alert: *//p' "$ROOT/packaging/prometheus/tempos-alerts.yml" | sort -u) \
    <(sed -n 's/^ *- alertname: *//p' "$ROOT/tests/monitoring/tempos-alerts.test.yml" | sort -u))
[ -z "$untested" ] || { echo "FAIL: alerts without a unit test: $untested" >&2; exit 1; }
echo PASS
