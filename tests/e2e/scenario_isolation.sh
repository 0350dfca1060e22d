#!/usr/bin/env bash
# Isolation on the socket path (xdp_mode = "off", docs/isolation.md): a strict topic (1) and a best-effort topic
# (2) at the same time, from two publishers on the two CPUs. The ingress steering program puts every strict event
# into the strict ingress socket, read by the thread tempos-rx-sq (SCHED_FIFO at sq_priority, shown by
# /proc/PID/task/TID/stat), and no best-effort event into it (the per-socket counters of /metrics); every event of
# both topics delivered.
. "$(dirname "$0")/lib.sh"
N=${N:-3000}       # strict events
M=${M:-20000}      # best-effort events, at twice the strict rate
PRIORITY=42
setup one-legged 2

{ "$BIN/tempos-testkit" mom-config header --listen "$TOPO_IP_mom:$MOM_PORT" --interface "$TOPO_MOM_IF" \
      --metrics 127.0.0.1:9100 --xdp-mode off --sq-priority "$PRIORITY"
  topic_toml 1 strict sub1; topic_toml 2 best-effort sub2; } >"$E2E_TMP/mom.toml"
start_mom "$E2E_TMP/mom.toml"
[ "$(metric '^tempos_ingress_isolated$')" -eq 1 ] || fail "tempos_ingress_isolated is not 1: the steering program did not load"

# The receiver threads as the kernel shows them: name, scheduling policy (field 41: 1 = SCHED_FIFO) and
# real-time priority (field 40) from /proc/PID/task/TID/stat.
thread_sched() {  # NAME -> "tid policy rt_priority", empty when no such thread
    local stat
    for stat in /proc/"$MOM_PID"/task/*/stat; do
        python3 - "$stat" "$1" <<'PY' && return 0
import sys
text = open(sys.argv[1]).read()
name = text[text.index("(") + 1:text.rindex(")")]
fields = text[text.rindex(")") + 2:].split()  # fields[0] is field 3 (state)
if name != sys.argv[2]:
    sys.exit(1)
print(sys.argv[1].split("/")[4], fields[41 - 3], fields[40 - 3])
PY
    done
}
read -r sq_tid sq_policy sq_prio <<<"$(thread_sched tempos-rx-sq)"
read -r bq_tid bq_policy bq_prio <<<"$(thread_sched tempos-rx-bq)"
echo "receiver threads: tempos-rx-sq tid=$sq_tid policy=$sq_policy priority=$sq_prio;" \
     "tempos-rx-bq tid=$bq_tid policy=$bq_policy priority=$bq_prio"
[ -n "$sq_tid" ] && [ -n "$bq_tid" ] || fail "tempos-mom has no tempos-rx-sq / tempos-rx-bq thread"
[ "$sq_policy" -eq 1 ] && [ "$sq_prio" -eq "$PRIORITY" ] || fail "tempos-rx-sq is not SCHED_FIFO at $PRIORITY"
[ "$bq_policy" -eq 0 ] || fail "tempos-rx-bq is not SCHED_OTHER"

start_sub sub1 "$N" 60
start_sub sub2 "$M" 60
publish_together 1 "$N" 5000 2 "$M" 10000
wait_subs

datagrams=tempos_ingress_socket_datagrams_total
metrics sq_strict="$datagrams"'\{socket="sq",class="sq"\}' sq_be="$datagrams"'\{socket="sq",class="bq"\}' \
    sq_none="$datagrams"'\{socket="sq",class="none"\}' bq_strict="$datagrams"'\{socket="bq",class="sq"\}' \
    bq_be="$datagrams"'\{socket="bq",class="bq"\}' drops=tempos_ingress_socket_drops_total \
    sent_strict='tempos_adapter_sent_total\{.*topic="1"' sent_be='tempos_adapter_sent_total\{.*topic="2"'
stop_mom

read -r strict_total _ _ strict_dups strict_corrupt <<<"$(topic_totals 1 sub1)"
read -r be_total _ _ be_dups be_corrupt <<<"$(topic_totals 2 sub2)"
echo "strict socket read: strict=$sq_strict best-effort=$sq_be none=$sq_none;" \
     "best-effort socket read: strict=$bq_strict best-effort=$bq_be; ingress socket drops=$drops"
echo "strict: sent=$N delivered=$strict_total (socket path sent $sent_strict);" \
     "best-effort: sent=$M delivered=$be_total (socket path sent $sent_be)"
[ "$sq_be" -eq 0 ] || fail "$sq_be best-effort events in the strict ingress socket"
[ "$sq_none" -eq 0 ] || fail "$sq_none datagrams without a strict topic in the strict ingress socket"
[ "$bq_strict" -eq 0 ] || fail "$bq_strict strict events in the best-effort ingress socket"
[ "$sq_strict" -eq "$N" ] || fail "the strict socket's thread read $sq_strict strict events, expected $N"
[ "$bq_be" -eq "$M" ] || fail "the best-effort socket's thread read $bq_be events, expected $M"
[ "$strict_total" -eq "$N" ] || fail "strict: delivered $strict_total of $N"
[ "$be_total" -eq "$M" ] || fail "best-effort: delivered $be_total of $M"
[ $((strict_dups + be_dups + strict_corrupt + be_corrupt)) -eq 0 ] || fail "duplicates or changed payloads"
echo PASS
