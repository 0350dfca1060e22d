#!/usr/bin/env bash
# tempos-mom's /metrics read by its real consumer: Debian's prometheus scrapes it every second with the shipped
# packaging/prometheus/ configuration and alerting rules (tests/e2e/prometheus.sh).
# Healthy traffic (N strict events of topic 1 through the kernel, M best-effort events of topic 2 through the
# socket path): a scrape taken after it holds every tempos_* series of /metrics with the same labels and values,
# and the counts sent; every rule evaluates healthy and no alert is active; every metric the Grafana dashboard
# (packaging/grafana/) and the rules use is one Prometheus stored, and every dashboard query runs.
# Then three faults, each firing its alert from the real series: K strict events of topic 3 (1800-byte payloads:
# IP fragments, which the router passes up) take the socket path, a SIGHUP reload of a broken config is
# refused, and tempos-mom stops.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/prometheus.sh"
N=${N:-1000}
M=${M:-600}
K=${K:-50}
setup one-legged 2
trap 'stop_prometheus; e2e_cleanup' EXIT
trap 'stop_prometheus; e2e_cleanup; exit 130' INT
trap 'stop_prometheus; e2e_cleanup; exit 143' TERM
start_mom_topics "1 strict --mac sub1" "2 best-effort sub2" "3 strict --mac sub1"  # first: scrapes of a MoM not yet up would make TemposMomDown pending
start_prometheus
start_sub sub1 "$N" 30
start_sub sub2 "$M" 30
publish 1 "$N" 5000
publish 2 "$M" 5000
wait_subs
read -r strict_total _ _ strict_dups strict_corrupt <<<"$(topic_totals 1 sub1)"
read -r be_total _ _ be_dups be_corrupt <<<"$(topic_totals 2 sub2)"
echo "strict: $strict_total of $N delivered; best-effort: $be_total of $M delivered;" \
     "duplicates $((strict_dups + be_dups)), corrupt $((strict_corrupt + be_corrupt))"
[ "$strict_total" -eq "$N" ] && [ "$be_total" -eq "$M" ] || fail "events lost"
[ $((strict_dups + be_dups + strict_corrupt + be_corrupt)) -eq 0 ] || fail "events duplicated or changed"

prometheus_check stored --metrics "http://127.0.0.1:9100/metrics" \
    --expect "tempos_kernel_packets_total{topic=\"1\"}=$N" \
    --expect "tempos_kernel_passed_total{topic=\"1\"}=0" \
    --expect "tempos_events_received_total{topic=\"1\",path=\"sq\"}=0" \
    --expect "tempos_adapter_sent_total{topic=\"1\"}=0" \
    --expect "tempos_kernel_packets_total{topic=\"2\"}=0" \
    --expect "tempos_kernel_passed_total{topic=\"2\"}=$M" \
    --expect "tempos_events_received_total{topic=\"2\",path=\"bq\"}=$M" \
    --expect "tempos_events_sent_total{topic=\"2\",path=\"bq\"}=$M" \
    --expect "tempos_adapter_sent_total{topic=\"2\"}=$M" \
    --expect "tempos_adapter_send_errors_total=0" \
    --expect "tempos_kernel_dropped_total=0" \
    --expect "tempos_events_dropped_total=0" \
    --expect "tempos_adapter_mode{mode=\"native\"}=1"
prometheus_check alerts
prometheus_check names --dashboard "$E2E_ROOT/packaging/grafana/tempos-dashboard.json"

start_sub sub1 "$K" 30
publish_on 0 3 "$K" 1000 1800  # over the 1500-byte MTU: fragments, reassembled by the MoM's stack
wait_subs
read -r fault_total _ _ fault_dups _ <<<"$(topic_totals 3 sub1)"
[ "$fault_total" -eq "$K" ] && [ "$fault_dups" -eq 0 ] || fail "topic 3: $fault_total of $K delivered, $fault_dups duplicates"
echo "[mom" >"$E2E_TMP/mom.toml"
kill -HUP "$MOM_PID"
watch_metric 'tempos_reloads_total{result="failed"}' 1 10 >/dev/null || fail "the broken config's reload was not counted"
prometheus_check stored --metrics "http://127.0.0.1:9100/metrics" \
    --expect "tempos_events_received_total{topic=\"3\",path=\"sq\"}=$K" \
    --expect "tempos_adapter_sent_total{topic=\"3\"}=$K" \
    --expect "tempos_kernel_packets_total{topic=\"3\"}=0" \
    --expect "tempos_reloads_total{result=\"failed\"}=1"
prometheus_check alerts --active "TemposStrictEventsOnSocketPath{topic=\"3\"}=firing" --active "TemposReloadFailed=firing"
stop_mom
prometheus_check alerts --active "TemposStrictEventsOnSocketPath{topic=\"3\"}=firing" --active "TemposReloadFailed=firing" \
    --active "TemposMomDown{job=\"tempos-mom\"}=pending"
stop_prometheus
echo PASS
