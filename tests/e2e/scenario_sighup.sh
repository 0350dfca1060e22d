#!/usr/bin/env bash
# Scenario 6: SIGHUP with a changed subscriber list under 50k events/s. A strict topic served by sub1..sub3 is
# reloaded, mid-stream, with sub3 removed. Nothing is lost overall; once the reload has returned (tempos-mom
# counts it in tempos_reloads_total{result="ok"} only after the new route is in the kernel), no event sent
# after that moment reaches sub3: its latest send time (tempos-pub stamps CLOCK_MONOTONIC, which all
# namespaces share) is earlier than the moment the reload was seen done.
. "$(dirname "$0")/lib.sh"
RATE=${RATE:-50000}
N=${N:-150000}
setup one-legged 3

topic_config() {
    { mom_config_header; topic_toml 1 strict --mac "$@"; } >"$E2E_TMP/next.toml"
    mv "$E2E_TMP/next.toml" "$E2E_TMP/mom.toml"
}
topic_config sub1 sub2 sub3
start_mom "$E2E_TMP/mom.toml"
for s in sub1 sub2 sub3; do start_sub $s "$N" 30; done
[ "$(metric 'tempos_reloads_total\{result="ok"\}')" -eq 0 ] || fail "a reload counted before SIGHUP"

mark_stack_counters sub1 sub2 sub3
topo_exec pub taskset -c 0 "$BIN/tempos-pub" --to "$TOPO_IP_mom:$MOM_PORT" --topic 1 --count "$N" --rate "$RATE" \
    --max-seconds 60 --json >"$E2E_TMP/pub.json" &
pub=$!
# The reload must come mid-stream: once a fifth of the events have arrived (bounded wait).
flowing_from=$(sum_snmp_udp InDatagrams sub1 sub2 sub3)
for ((i = 0; i < 200; i++)); do
    (($(sum_snmp_udp InDatagrams sub1 sub2 sub3) - flowing_from >= N / 5)) && break
    sleep 0.05
done
topic_config sub1 sub2
watch_metric 'tempos_reloads_total{result="ok"}' 1 5 >"$E2E_TMP/reload_done" &
watcher=$!
for ((i = 0; i < 100; i++)); do [ -f "$E2E_TMP/watch.ready" ] && break; sleep 0.02; done
hup_at=$(mono_ns)
kill -HUP "$MOM_PID"
wait "$watcher" || fail "the reload was not counted as ok within 5 s of SIGHUP"
done_at=$(cat "$E2E_TMP/reload_done")
wait "$pub" || fail "tempos-pub failed"
end_traffic
kernel=$(metric 'tempos_kernel_packets_total\{.*topic="1"')
socket=$(metric 'tempos_adapter_sent_total\{.*topic="1"')
stop_mom
grep -q "reload: topic 1 changed" "$E2E_TMP/mom.log" || fail "tempos-mom did not log the change of topic 1"

read -r total min max dups corrupt <<<"$(topic_totals 1 sub1 sub2 sub3)"
read -r _ sub3_last <<<"$(topic_send_span 1 sub3)"
read -r _ kept_last <<<"$(topic_send_span 1 sub1 sub2)"
read -r first_sent last_sent <<<"$(topic_send_span 1 sub1 sub2 sub3)"
for s in sub1 sub2 sub3; do echo "$s: unique=$(json_field "$E2E_TMP/$s.json" 1 unique)"; done
echo "publisher: $(cat "$E2E_TMP/pub.json")"
echo "sent=$N delivered=$total dups=$dups corrupt=$corrupt kernel=$kernel socket=$socket" \
     "MoM InDatagrams +$mom_in InCsumErrors +$csum;" \
     "reload seen done $(((done_at - hup_at) / 1000)) us after SIGHUP, $(((done_at - first_sent) / 1000000)) ms into the stream;" \
     "sub3's last event was sent $(((done_at - sub3_last) / 1000)) us before that," \
     "sub1/sub2 kept receiving until $(((last_sent - done_at) / 1000000)) ms after it"
[ "$total" -eq "$N" ] || fail "delivered $total of $N events"
[ $((dups + corrupt)) -eq 0 ] || fail "duplicates or changed payloads"
((first_sent < hup_at && last_sent > done_at)) || fail "the reload did not happen while events were flowing"
(($(json_field "$E2E_TMP/sub3.json" 1 unique) > 0)) || fail "sub3 received nothing before the reload"
((sub3_last < done_at)) || fail "sub3 received an event sent $(((sub3_last - done_at) / 1000)) us after the reload was done"
((kept_last > done_at)) || fail "sub1/sub2 received nothing after the reload"
[ "$csum" -eq 0 ] || fail "subscribers counted UDP checksum errors"
echo PASS
