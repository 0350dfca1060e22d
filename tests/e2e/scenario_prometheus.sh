#!/usr/bin/env bash
# tempos-mom's /metrics read by its real consumer: Debian's prometheus scrapes it every second with the shipped
# packaging/prometheus/ configuration and alerting rules. After known traffic (N strict events through the
# kernel, M best-effort events through the socket path), a scrape taken after the traffic holds every tempos_*
# series of /metrics with the same labels and values, and the expected counts; every rule evaluates healthy and
# no alert is active; every metric the Grafana dashboard (packaging/grafana/) and the rules use is one Prometheus
# stored, and every dashboard query runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/prometheus.sh"
N=${N:-1000}
M=${M:-600}
setup one-legged 2
trap 'stop_prometheus; e2e_cleanup' EXIT
trap 'stop_prometheus; e2e_cleanup; exit 130' INT
trap 'stop_prometheus; e2e_cleanup; exit 143' TERM

{ mom_config_header; topic_toml 1 strict --mac sub1; topic_toml 2 best-effort sub2; } >"$E2E_TMP/mom.toml"
start_mom "$E2E_TMP/mom.toml"  # first: scrapes of a MoM not yet up would make TemposMomDown pending
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
    --expect "tempos_adapter_sent_total{topic=\"1\"}=0" \
    --expect "tempos_events_received_total{topic=\"1\",path=\"sq\"}=0" \
    --expect "tempos_kernel_packets_total{topic=\"2\"}=0" \
    --expect "tempos_adapter_sent_total{topic=\"2\"}=$M" \
    --expect "tempos_events_received_total{topic=\"2\",path=\"bq\"}=$M" \
    --expect "tempos_events_sent_total{topic=\"2\",path=\"bq\"}=$M" \
    --expect "tempos_adapter_send_errors_total=0" \
    --expect "tempos_kernel_dropped_total=0" \
    --expect "tempos_adapter_mode{mode=\"native\"}=1"
prometheus_check rules
prometheus_check names --dashboard "$E2E_ROOT/packaging/grafana/tempos-dashboard.json"
stop_prometheus
stop_mom
echo PASS
