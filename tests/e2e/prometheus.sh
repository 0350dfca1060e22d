# Sourced by scenario_prometheus.sh after lib.sh: Debian's prometheus server in the mom namespace, scraping
# tempos-mom's /metrics (127.0.0.1:9100 there) with the shipped packaging/prometheus/ configuration, the scrape
# and rule evaluation intervals shortened to 1 s.
PROM_ADDR=127.0.0.1:9090
PROM_DIR=$E2E_TMP/prometheus
PROM_PID=

# start_prometheus: writes the configuration into $PROM_DIR, starts prometheus on it and waits until /-/ready
# answers; stop_prometheus (the scenario's traps call it) ends it and removes $PROM_DIR.
start_prometheus() {
    command -v prometheus >/dev/null || fail "prometheus not found (Debian package prometheus, scripts/lib/packages.sh)"
    mkdir -p "$PROM_DIR/data"
    cp "$E2E_ROOT/packaging/prometheus/prometheus.yml" "$E2E_ROOT/packaging/prometheus/tempos-alerts.yml" "$PROM_DIR/"
    sed -i 's/^\(  \(scrape\|evaluation\)_interval:\) 15s$/\1 1s/' "$PROM_DIR/prometheus.yml"
    [ "$(grep -c '^  [a-z]*_interval: 1s$' "$PROM_DIR/prometheus.yml")" -eq 2 ] ||
        fail "packaging/prometheus/prometheus.yml no longer has the two 15 s intervals this scenario shortens"
    # ip netns exec directly (not topo_exec): $! must be prometheus itself.
    ip netns exec "$TOPO_NS_mom" prometheus --config.file="$PROM_DIR/prometheus.yml" \
        --storage.tsdb.path="$PROM_DIR/data" --web.listen-address="$PROM_ADDR" --log.level=warn \
        >"$PROM_DIR/prometheus.log" 2>&1 &
    PROM_PID=$!
    local i
    for ((i = 0; i < 300; i++)); do
        topo_exec mom python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
            "http://$PROM_ADDR/-/ready" 2>/dev/null && return 0
        kill -0 "$PROM_PID" 2>/dev/null || fail "prometheus exited during start: $(cat "$PROM_DIR/prometheus.log")"
        sleep 0.1
    done
    fail "prometheus was not ready within 30 s: $(tail -n 20 "$PROM_DIR/prometheus.log")"
}

stop_prometheus() {
    if [ -n "$PROM_PID" ]; then
        kill -TERM "$PROM_PID" 2>/dev/null || true
        wait "$PROM_PID" 2>/dev/null || true
        PROM_PID=
    fi
    rm -rf "$PROM_DIR"
}

# prometheus_check COMMAND ARGS...: tests/e2e/prometheus_check.py against this Prometheus, from the mom namespace.
prometheus_check() {
    local command=$1
    shift
    topo_exec mom python3 "$E2E_ROOT/tests/e2e/prometheus_check.py" "$command" --prometheus "http://$PROM_ADDR" "$@" ||
        fail "prometheus check '$command' failed; prometheus log: $(tail -n 20 "$PROM_DIR/prometheus.log")"
}
