#!/usr/bin/env python3
"""Writes docs/benchmarks.md and its PNG plots (gnuplot) from the JSON of `tempos-bench all --json`.

Usage: render_report.py ALL_JSON OUT_MD IMG_DIR [--seconds-total S] [--load-before L]
"""
import argparse
import json
import os
import platform
import subprocess
import tempfile
import time


def machine():
    def field(path, name):  # what follows the ':' of the first line of `path` that starts with `name`
        with open(path) as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith(name)), None)

    with open("/etc/os-release") as f:
        osr = dict(l.rstrip().split("=", 1) for l in f if "=" in l)
    return {"cpu": field("/proc/cpuinfo", "model name") or "unknown", "cores": os.cpu_count(),
            "kernel": platform.release(), "os": osr.get("PRETTY_NAME", "").strip('"'),
            "memory_gib": round(int((field("/proc/meminfo", "MemTotal") or "0").split()[0]) / 1024 / 1024, 1)}


def fmt(v):
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 100:
        return str(int(v)) if float(v).is_integer() else f"{v:.1f}"
    return f"{v:.2f}" if a >= 10 else f"{v:.3g}" if a >= 1 else f"{v:.4g}"


def target_rows(d):
    """(what, value text, met?) for every target of issues 6, 12 and 14; met None when a figure is missing."""
    g = d.get

    def have(*keys):
        return all(isinstance(g(k), (int, float)) for k in keys)

    def at_most(ours, div, *theirs):  # (keys, measure) of the target ours ≤ the smallest of theirs / div
        best = lambda: min(g(k) for k in theirs)
        return (ours, *theirs), lambda: (f"{fmt(g(ours))} vs {fmt(best())}/{div} = {best() / div:.1f} µs",
                                         g(ours) <= best() / div)

    def added_p50():
        added = g("lat_xdp_p50_us") - g("lat_direct_p50_us")
        text = f"{fmt(g('lat_xdp_p50_us'))} − {fmt(g('lat_direct_p50_us'))} = {added:+.2f} µs"
        met = added <= 3
        if have("lat_xdp_added_p50_us"):
            paired = g("lat_xdp_added_p50_us")
            text += (f"; paired within each run: median {paired:+.2f} µs ({g('lat_xdp_added_p50_us_min'):+.2f} to "
                     f"{g('lat_xdp_added_p50_us_max'):+.2f})")
            if (paired <= 3) != met:
                met = "paired only" if paired <= 3 else "medians only"
        return text, met

    targets = [
        ("xdp_mpps ≥ 5 with xdp_loss = 0", ("xdp_mpps", "xdp_loss"),
         lambda: (f"{fmt(g('xdp_mpps'))} Mpps, loss {fmt(g('xdp_loss'))}", g("xdp_mpps") >= 5 and g("xdp_loss") == 0)),
        ("xdp_vs_socket ≥ 15", ("xdp_vs_socket",), lambda: (fmt(g("xdp_vs_socket")), g("xdp_vs_socket") >= 15)),
        ("XDP adds ≤ 3 µs p50 over direct", ("lat_xdp_p50_us", "lat_direct_p50_us"), added_p50),
        ("strict p50 ≤ 1/3 of the better peer's p50", *at_most("lat_xdp_p50_us", 3, "mosquitto_p50_us", "nats_p50_us")),
        ("strict p99 ≤ 1/2 of the better peer's p99", *at_most("lat_xdp_p99_us", 2, "mosquitto_p99_us", "nats_p99_us")),
        ("strict p99 under flood ≤ 1/10 of NATS's p99 under flood",
         *at_most("lat_strict_flood_p99_us", 10, "nats_flood_p99_us")),
    ]

    # Issue 14: with persist, a restart (SIGTERM), a crash (SIGKILL) and an upgrade lose no strict event, and the
    # longest delivery gap stays within 2x the inter-arrival p99 of the same stream without a restart.
    def restart_lost(case):
        return (f"{fmt(g(f'restart_{case}_persist_lost'))} of {fmt(g('restart_count'))} at {fmt(g('restart_rate_eps'))}/s "
                f"(without persist: {fmt(g(f'restart_{case}_no_persist_lost'))})", g(f"restart_{case}_persist_lost") == 0)

    def restart_gap(case):
        gap_us = 1000 * g(f"restart_{case}_persist_gap_ms")
        return (f"{fmt(g(f'restart_{case}_persist_gap_ms'))} ms vs 2 × {fmt(g('restart_idle_gap_p99_us'))} µs "
                f"(the idle stream's own longest gap: {fmt(g('restart_idle_gap_max_us') / 1000)} ms; without persist "
                f"{fmt(g(f'restart_{case}_no_persist_gap_ms'))} ms)", gap_us <= 2 * g("restart_idle_gap_p99_us"))

    # Issue 12: the isolation sweep's three configurations, ratios within one run (the per-run ratios' worst).
    def worst(k):
        return g(f"{k}_max", g(k))

    targets += [
        ("isolation on: 0 strict events lost at every flood step", ("lat_strict_on_max_strict_lost",),
         lambda: (f"at most {fmt(worst('lat_strict_on_max_strict_lost'))} per step (every run; off: "
                  f"{fmt(g('lat_strict_off_max_strict_lost'))}, socket: {fmt(g('lat_strict_socket_max_strict_lost'))})",
                  worst("lat_strict_on_max_strict_lost") == 0)),
        ("isolation on: strict p99 at the heaviest flood ≤ 1.2× idle", ("lat_strict_on_flood_ratio",),
         lambda: (f"{fmt(g('lat_strict_on_flood_p99_us'))} / {fmt(g('lat_strict_on_idle_p99_us'))} µs; per run "
                  f"{fmt(g('lat_strict_on_flood_ratio'))}× (worst {fmt(worst('lat_strict_on_flood_ratio'))}×; off: "
                  f"{fmt(g('lat_strict_off_flood_ratio'))}×)", worst("lat_strict_on_flood_ratio") <= 1.2)),
        ("socket path alone: strict p99 under flood ≤ 2× idle", ("lat_strict_socket_flood_ratio",),
         lambda: (f"{fmt(g('lat_strict_socket_flood_p99_us'))} / {fmt(g('lat_strict_socket_idle_p99_us'))} µs; per "
                  f"run {fmt(g('lat_strict_socket_flood_ratio'))}× (worst {fmt(worst('lat_strict_socket_flood_ratio'))}×)",
                  worst("lat_strict_socket_flood_ratio") <= 2)),
        ("best-effort: offered = delivered + counted drops (heaviest flood)", ("lat_be_on_unaccounted",),
         lambda: ("unaccounted: " + ", ".join(f"{c} {fmt(g(f'lat_be_{c}_unaccounted'))}" for c in ISO),
                  all(abs(worst(f"lat_be_{c}_unaccounted") or 0) == 0 for c in ISO))),
    ]
    for case, what in (("term", "restart (SIGTERM)"), ("kill", "crash (SIGKILL)"), ("upgrade", "upgrade")):
        targets.append((f"persist, {what}: 0 strict events lost",
                        (f"restart_{case}_persist_lost", f"restart_{case}_no_persist_lost", "restart_count"),
                        lambda case=case: restart_lost(case)))
        targets.append((f"persist, {what}: longest gap ≤ 2× idle inter-arrival p99",
                        (f"restart_{case}_persist_gap_ms", f"restart_{case}_no_persist_gap_ms", "restart_idle_gap_p99_us",
                         "restart_idle_gap_max_us"), lambda case=case: restart_gap(case)))
    # Issue 16: a put reaches every broker's kernel path (the slowest of three per change), idle and under churn.
    topics = int(g("cluster_topics") or 0)
    for phase, what in (("prop", "idle table"), ("churn_prop", f"{topics} topics × 16 members churned")):
        targets.append((f"cluster, {what}: put → every broker p99 ≤ 100 ms (aim ≤ 20)", (f"cluster_{phase}_all_p99_ms",),
                        lambda phase=phase: (f"{fmt(g(f'cluster_{phase}_all_p99_ms'))} ms (per broker p50 "
                                             f"{fmt(g(f'cluster_{phase}_p50_ms'))}, p99 {fmt(g(f'cluster_{phase}_p99_ms'))})",
                                             g(f"cluster_{phase}_all_p99_ms") <= 100)))
    targets.append((f"cluster: a broker's full resync of {topics} topics ≤ 1 s (target for 256)", ("cluster_resync_ms",),
                    lambda: (f"{fmt(g('cluster_resync_ms'))} ms ({fmt(g('cluster_resync_keys'))} keys; its start to "
                             f"synced {fmt(g('cluster_start_to_synced_ms'))} ms)", g("cluster_resync_ms") <= 1000)))
    return [(what, *measured()) if have(*keys) else (what, "missing", None) for what, keys, measured in targets]


def dat(tmp, name, rows):
    """A gnuplot data file of `rows` (tuples) in `tmp`; its path."""
    fn = os.path.join(tmp, f"{name}.dat")
    with open(fn, "w") as f:
        f.writelines(" ".join(str(v) for v in row) + "\n" for row in rows)
    return fn


def gnuplot(png, title, xlabel, ylabel, plots):
    """One log-log PNG plot; True."""
    return not subprocess.run(["gnuplot"], text=True, check=True, input=f"""set terminal pngcairo size 900,560 font 'sans,10' noenhanced
set output '{png}'
set title '{title}'
set xlabel '{xlabel}'
set ylabel '{ylabel}'
set logscale xy
set grid
set key top left
plot {plots}
""").returncode


def line(fn, using, style, color, title, run):
    """A plot's series: titled for the first run only."""
    return f"'{fn}' using {using} with {style.format(color)} " + (f"title '{title}'" if run == 0 else "notitle")


def generator(value):
    """The load generator a part recorded (its *_generator field; absent before there was a choice)."""
    return "AF_PACKET generator" if value == "af_packet" else "live-frames generator"


def plot_throughput(runs, img_dir, tmp):
    series = []
    for path, color, title in (("xdp", "#1f77b4", "XDP strict path"),
                               ("socket", "#d62728", "tempos-mom socket path (xdp_mode off)"),
                               ("baseline", "#2ca02c", "recvmmsg/sendmmsg forwarder")):
        for i, run in enumerate(runs):
            if pts := run.get(f"{path}_curve"):
                fn = dat(tmp, f"tp_{path}_{i}", ((p[0], max(p[1], 1e-4)) for p in sorted(pts)))
                series.append(line(fn, "1:2", "linespoints lc rgb '{}' pt 7 ps 0.6 lw 1.5", color, title, i))
    return bool(series) and gnuplot(
        os.path.join(img_dir, "throughput.png"), "Offered vs delivered, 64-byte strict events (every run)",
        f"offered (Mpps, {generator(runs[0].get('throughput_generator'))})", "delivered to the subscriber (Mpps)",
        "x with lines dt 2 lc rgb '#888888' title 'no loss (delivered = offered)', " + ", ".join(series))


ISO = {"on": ("isolation on (best-effort via the cpumap)", "#1f77b4"),
       "off": ("isolation off (best-effort XDP_PASSed)", "#d62728"),
       "socket": ("socket path alone (xdp_mode off)", "#2ca02c")}


def iso_curves(run):
    """{configuration: [step]} of one latency run."""
    return {c: run[f"isolation_{c}_curve"] for c in ISO if run.get(f"isolation_{c}_curve")}


def plot_isolation(runs, img_dir, tmp):
    latency, delivered, idle_on = [], [], []
    for i, run in enumerate(runs):
        for c, steps in iso_curves(run).items():
            title, color = ISO[c]
            fn = dat(tmp, f"iso_{c}_{i}", ((p["offered_mpps"], p["p99_us"], max(p["delivered_mpps"], 1e-4))
                                           for p in sorted(steps, key=lambda p: p["offered_mpps"]) if p["offered_mpps"] > 0))
            if c == "on":
                idle_on.append(steps[0]["p99_us"])
            latency.append(line(fn, "1:2", "linespoints lc rgb '{}' pt 7 ps 0.6", color, title, i))
            delivered.append(line(fn, "1:3", "linespoints lc rgb '{}' pt 7 ps 0.6", color, title, i))
    target = (f"{1.2 * sorted(idle_on)[len(idle_on) // 2]} with lines dt 3 lc rgb '#000000' title '1.2 × idle p99, "
              "on (target)', ") if idle_on else ""
    return bool(latency) and gnuplot(
        os.path.join(img_dir, "isolation.png"),
        "Strict p99 (10 k/s through tempos-mom) under a best-effort flood, three configurations (every run)",
        f"best-effort flood offered (Mpps, {generator(runs[0].get('latency_generator'))})",
        "strict one-way latency p99 (µs)",
        target + ", ".join(latency)) and gnuplot(
        os.path.join(img_dir, "isolation-delivered.png"), "Best-effort delivered to its subscriber (every run)",
        "best-effort flood offered (Mpps)", "best-effort delivered (Mpps)",
        "x with lines dt 2 lc rgb '#888888' title 'delivered = offered', " + ", ".join(delivered))


def plot_cluster(runs, img_dir, tmp):
    """Propagation put → first event on the new route, per broker and change: the fraction of samples above x."""
    series = []
    for i, run in enumerate(runs):
        for (phase, samples), color in zip((run.get("cluster_prop_ms") or {}).items(), ("#1f77b4", "#d62728")):
            fn = dat(tmp, f"cluster_{phase}_{i}",
                     ((max(v, 1e-3), (len(samples) - j) / len(samples)) for j, v in enumerate(sorted(samples))))
            title = "idle table" if phase == "cluster_prop" else "members churned"
            series.append(line(fn, "1:2", "steps lc rgb '{}' lw 1.5", color, title, i))
    return bool(series) and gnuplot(os.path.join(img_dir, "cluster.png"), "etcd put → first strict event along the "
                                    "new route, 3 brokers", "propagation (ms)", "fraction of samples above", ", ".join(series))


def cluster_accounting(d, runs):
    """The cluster's event accounting as lines: the medians, then each run's (whose terms add up); unaccounted ≠ 0
    flagged."""
    def equation(r):
        terms = [r.get(f"cluster_{k}") for k in ("offered", "delivered", "counted_losses", "unaccounted")]
        if not all(isinstance(t, (int, float)) for t in terms):
            return None
        offered, delivered, counted, unaccounted = (f"{t:.12g}" for t in terms)
        flag = " — **unaccounted ≠ 0: events neither delivered nor counted lost**" if terms[3] != 0 else ""
        return f"{offered} = {delivered} + {counted} (+ {unaccounted}){flag}"

    lines = [f"- medians (each term's, over the runs): {equation(d)}"] if equation(d) else []
    return lines + [f"- run {i + 1}: {e}" for i, e in enumerate(map(equation, runs)) if e]


def why_missed(d, runs):
    """One measured explanation per missed target (from the figures of this run, not from guesses)."""
    g = d.get
    out = []
    num = lambda k: isinstance(g(k), (int, float))
    if num("xdp_mpps") and g("xdp_mpps") < 5:
        tp = runs.get("throughput", [])
        lossless = tp and all(all(p[2] == 0 for p in r.get("xdp_curve", [])) for r in tp)
        out.append(f"- **xdp_mpps**: {fmt(g('xdp_mpps'))} Mpps (runs: {fmt(g('xdp_mpps_min'))}–{fmt(g('xdp_mpps_max'))}), "
                   f"the generators' limit {fmt(g('xdp_generator_limit_mpps'))} Mpps, loss {fmt(g('xdp_loss'))}"
                   + ("; no step of any run lost a frame" if lossless else "") + ". The figure is the limit of the "
                   f"{generator(g('throughput_generator'))}, which shares the 2 cores with the receive path (a veth runs the receiver's "
                   "XDP program on the sending CPU), not of the router; it varies with the machine's other load.")
    if num("xdp_vs_socket") and g("xdp_vs_socket") < 15:
        out.append(f"- **xdp_vs_socket**: {fmt(g('xdp_vs_socket'))} = {fmt(g('xdp_mpps'))} / {fmt(g('socket_mpps'))} "
                   "Mpps; the numerator is the generator's limit (above).")
    if num("lat_xdp_p50_us") and num("lat_direct_p50_us") and g("lat_xdp_p50_us") - g("lat_direct_p50_us") > 3:
        out.append(f"- **XDP p50 over direct**: {fmt(g('lat_xdp_p50_us'))} vs {fmt(g('lat_direct_p50_us'))} µs (medians "
                   f"of different runs); within each run {fmt(g('lat_xdp_added_p50_us'))} µs (median; "
                   f"{fmt(g('lat_xdp_added_p50_us_min'))} to {fmt(g('lat_xdp_added_p50_us_max'))}), direct p50 itself "
                   f"{fmt(g('lat_direct_p50_us_min'))}–{fmt(g('lat_direct_p50_us_max'))} µs. The program costs "
                   f"{fmt(g('prog_ns'))} ns per event; the spread is the endpoints' and softirqs' scheduling on a loaded VM.")
    # Isolation: per configuration that missed, what the counters of the heaviest step (first run) say.
    heaviest = {c: steps[-1] for c, steps in iso_curves((runs.get("latency") or [{}])[0]).items()}
    for c, limit in (("on", 1.2), ("off", 1.2), ("socket", 2)):
        lost, ratio = (g(f"lat_strict_{c}_{k}_max", g(f"lat_strict_{c}_{k}")) for k in ("max_strict_lost", "flood_ratio"))
        if c not in heaviest or not num(f"lat_strict_{c}_flood_ratio") or (ratio <= limit and not lost):
            continue
        h = heaviest[c]
        drops = ", ".join(f"{k} {fmt(v)}" for k, v in h.get("drops", {}).items() if v) or "no drop counter moved"
        out.append(f"- **isolation {c}**: strict p99 ×{fmt(ratio)} idle at worst (target {limit}×), up to {fmt(lost)} "
                   f"strict events lost in a step. Heaviest step of run 1: {fmt(h['offered_mpps'])} Mpps offered, "
                   f"{fmt(h['delivered_mpps'])} delivered to sub2, strict p99 {fmt(h['p99_us'])} µs, "
                   f"{fmt(h.get('strict_sent', 0) - h.get('strict_received', 0))} strict lost, of which pub:eth0 refused "
                   f"{fmt(h.get('strict_pub_tx_dropped'))} (mom:eth0's receive ring, shared by both classes, full before "
                   f"any XDP program runs); counters: {drops}; tempos-mom {fmt(h.get('mom_cpu_ms_per_mev'))} and softirq "
                   f"{fmt(h.get('softirq_ms_per_mev'))} CPU ms per million events.")
    if num("lat_xdp_p50_us") and num("mosquitto_p50_us") and num("nats_p50_us"):
        best = min(g("mosquitto_p50_us"), g("nats_p50_us"))
        if g("lat_xdp_p50_us") > best / 3:
            out.append(f"- **p50 vs the better peer**: ours {fmt(g('lat_xdp_p50_us'))} µs, direct UDP without any "
                       f"broker {fmt(g('lat_direct_p50_us'))} µs, better peer {fmt(best)} µs: a third of the peer is "
                       "below what the publisher→subscriber kernel path itself takes on this VM.")
    for what, ours, div, theirs, vs in (("p99 vs the better peer", "lat_xdp_p99_us", 2, ("mosquitto", "nats"), ""),
                                        ("flood p99 vs NATS", "lat_strict_flood_p99_us", 10, ("nats_flood",), "NATS ")):
        if num(ours) and all(num(f"{t}_p99_us") for t in theirs):
            best = min(g(f"{t}_p99_us") for t in theirs)
            if g(ours) > best / div:
                out.append(f"- **{what}**: ours {fmt(g(ours))} µs vs {vs}{fmt(best)} µs.")
    return out


FIELD_NOTES = {
    "prog_ns": "our XDP program, ns per packet (BPF_PROG_TEST_RUN)",
    "thesis_ns": "the thesis's program, ns per packet",
    "prog_speedup": "thesis_ns / prog_ns",
    "prog_ns_v6": "our XDP program on the same event as IPv6 (84 bytes), ns per packet",
    "xdp_mpps": "XDP strict path: highest delivered rate (Mpps)",
    "xdp_loss": "loss at the offer of xdp_mpps",
    "socket_mpps": "tempos-mom socket path (xdp_mode off): highest delivered rate",
    "baseline_mpps": "bare recvmmsg/sendmmsg forwarder: highest delivered rate",
    "xdp_vs_socket": "xdp_mpps / socket_mpps",
    "lat_direct_p50_us": "tempos-pub → tempos-sub on their own veth, no MoM",
    "lat_xdp_p50_us": "through the MoM, strict, XDP",
    "lat_xdp_p50_us_v6": "the same with IPv6 events (tempos-mom on [::], sub1 at its IPv6 address)",
    "lat_socket_p99_us": "through the MoM, strict, socket path (xdp off, SCHED_FIFO dispatcher)",
    "lat_socket_be_p99_us": "through the MoM, best-effort, socket path",
    "lat_strict_idle_p99_us": "isolation series, no flood",
    "lat_strict_flood_p99_us": "isolation series, heaviest flood (the generator unpaced)",
    "lat_strict_on_flood_ratio": "isolation on (cpumap): heaviest flood p99 / idle p99, within the run",
    "lat_strict_off_flood_ratio": "isolation off (best_effort_cpus = \"\"): the same",
    "lat_strict_socket_flood_ratio": "socket path alone (xdp_mode off): the same",
    "lat_strict_on_max_strict_lost": "isolation on: most strict events lost in one step",
    "lat_be_on_unaccounted": "isolation on, heaviest step: best-effort offered − delivered − counted drops",
    "dds_p50_us": "Cyclone DDS ddsperf ping/pong, half the round trip",
    "sockperf_p50_us": "sockperf UDP ping-pong, half the round trip (no broker)",
    "restart_idle_gap_p99_us": "restart: the strict stream without a restart, time between arrivals at sub1, p99",
    "restart_idle_gap_max_us": "restart: the same stream's longest time between arrivals",
    "restart_term_persist_lost": "SIGTERM and start at once, persist = true (docs/restart.md)",
    "restart_term_persist_gap_ms": "the longest time between arrivals across that restart",
    "restart_kill_persist_lost": "SIGKILL and start at once, persist = true",
    "restart_upgrade_persist_lost": "SIGTERM and start with the rebuilt router object (tests/e2e/upgrade), persist = true",
    "restart_term_no_persist_lost": "SIGTERM and start at once, persist = false",
    "cluster_prop_p99_ms": "etcd put sent → first event along the new route, per broker (3) and change (docs/cluster.md)",
    "cluster_prop_all_p99_ms": "the same, the slowest broker of each change",
    "cluster_churn_prop_p99_ms": "the same while member keys of the other topics are deleted and written again",
    "cluster_resync_ms": "a broker started against the full prefix: its range read + applying every topic (its log)",
    "cluster_start_to_synced_ms": "the same broker from exec to /metrics at the prefix's revision (start-up included)",
    "cluster_offered": "topic 1's events the three tempos-pub sent over both phases (their summaries)",
    "cluster_delivered": "of those, arrived on the route sockets",
    "cluster_counted_losses": "losses counted on the way: pub's tx drops, the brokers' drop counters, the subscribers' Udp InErrors",
    "cluster_unaccounted": "offered − delivered − counted losses (0: every event accounted for)",
}


# The peers table: (system, idle prefix, under-flood prefix, flood rate field).
PEERS = (("tempos-mom, XDP strict (isolation on)", "lat_xdp", "lat_strict_flood", None),
         ("direct UDP, no broker", "lat_direct", None, None),
         ("Mosquitto", "mosquitto", "mosquitto_flood", "mosquitto_flood_msgs"),
         ("NATS", "nats", "nats_flood", "nats_flood_msgs"),
         ("Cyclone DDS (ddsperf)", "dds", "dds_flood", "dds_flood_msgs"),
         ("sockperf UDP ping-pong (kernel floor)", "sockperf", "sockperf_flood", "sockperf_flood_msgs"))


def main():
    ap = argparse.ArgumentParser()
    for positional in ("all_json", "out_md", "img_dir"):
        ap.add_argument(positional)
    ap.add_argument("--seconds-total", type=float, default=0)
    ap.add_argument("--load-before", default="")
    ap.add_argument("--command", default="scripts/bench.sh")
    a = ap.parse_args()

    with open(a.all_json) as f:
        d = json.load(f)
    runs = d.get("runs", {})
    os.makedirs(a.img_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        have_tp = plot_throughput(runs.get("throughput", []), a.img_dir, tmp)
        have_iso = plot_isolation(runs.get("latency", []), a.img_dir, tmp)
        have_cluster = plot_cluster(runs.get("cluster", []), a.img_dir, tmp)

    m = machine()
    img_rel = os.path.relpath(a.img_dir, os.path.dirname(os.path.abspath(a.out_md)))
    merged = {k: v for k, v in d.items() if k != "runs"}
    lines = []
    w = lines.extend  # w(line, ...): the page's lines; "" is an empty line
    w(["# Benchmarks", "",
       f"Generated by `{a.command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
       f"(`tempos-bench all --json`, {d.get('runs_per_figure', '?')} runs of every subcommand, interleaved; "
       f"{a.seconds_total:.0f} s in all). Every figure is the **median** of the runs with the **min–max** beside it.",
       "", "## Machine", "", f"- CPU: {m['cpu']}, {m['cores']} cores (a VM)",
       f"- Kernel: {m['kernel']}; {m['os']}; {m['memory_gib']} GiB RAM"])
    if d.get("part_seconds"):
        w(["- Time per subcommand (all runs): " + ", ".join(f"{k} {v:.0f} s" for k, v in d["part_seconds"].items())])
    if a.load_before:
        w([f"- Load average before the run: {a.load_before} (other work on the machine shows in the tails)"])
    w(["", "## Targets (issues 6, 12, 14 and 16)", "", "| target | measured (medians) | met |", "|---|---|---|"])
    for what, value, met in target_rows(d):
        verdict = met if isinstance(met, str) else ("yes" if met else ("no" if met is not None else "not measured"))
        w([f"| {what} | {value} | {verdict} |"])
    w([""])
    why = why_missed(d, runs)
    if why:
        w(["Why the missed ones were missed (from this run's figures):", "", *why, ""])
    errors = d.get("errors") or {}
    missing = d.get("missing_fields") or []
    if errors or missing:
        w(["**Incomplete run.** " + ("Errors: " + "; ".join(f"`{k}`: {' / '.join(e.replace(chr(10), ' ').strip() for e in v)}" for k, v in errors.items())
                                      if errors else "") + (f" Missing fields: {', '.join(missing)}." if missing else ""), ""])
    w(["## Every figure", "", "| field | median | min–max | what |", "|---|---|---|---|"])
    for k, v in d.items():
        if k in ("runs", "errors", "missing_fields", "runs_per_figure", "part_seconds") or k.endswith("_min") or k.endswith("_max"):
            continue
        lo, hi = d.get(k + "_min"), d.get(k + "_max")
        rng = f"{fmt(lo)}–{fmt(hi)}" if lo is not None else ""
        w([f"| `{k}` | {fmt(v)} | {rng} | {FIELD_NOTES.get(k, '')} |"])
    w([""])
    if have_tp:
        w(["## Throughput", "", f"![offered vs delivered]({img_rel}/throughput.png)", ""])
    if have_iso:
        w(["## Isolation", "", f"![strict p99 vs flood rate]({img_rel}/isolation.png)", "",
           f"![best-effort delivered vs flood rate]({img_rel}/isolation-delivered.png)", "",
           "Best-effort counted = the drop counters that add up to lost best-effort events (method below); "
           "unaccounted = offered − delivered − counted.", "",
           "| config | run | flood offered (Mpps) | delivered (Mpps) | strict p50 / p99 / p99.9 / max (µs) | strict "
           "delivered | BE counted drops | BE unaccounted | CPU ms per M events (tempos-mom, softirq, cpumap threads) |",
           "|---|---|---|---|---|---|---|---|---|"])
        for i, run in enumerate(runs.get("latency", [])):
            for c, steps in iso_curves(run).items():
                w([f"| {c} | {i + 1} | {p['offered_mpps']:.3f} | {p['delivered_mpps']:.3f} | "
                   + " / ".join(fmt(p.get(k)) for k in ("p50_us", "p99_us", "p999_us", "max_us"))
                   + f" | {100 * p['strict_delivered']:.2f} % | {fmt(p.get('be_counted'))} | "
                   f"{fmt(p.get('be_unaccounted'))} | {fmt(p.get('mom_cpu_ms_per_mev'))}, "
                   f"{fmt(p.get('softirq_ms_per_mev'))}, {fmt(p.get('cpumap_ms_per_mev'))} |" for p in steps])
        w([""])
    accounting = cluster_accounting(d, runs.get("cluster", []))
    if have_cluster or accounting:
        w(["## Cluster (issue 16)", ""])
    if have_cluster:
        w([f"![propagation of an etcd put to three brokers]({img_rel}/cluster.png)", ""])
    if accounting:
        w(["Strict events of topic 1 over route changes and churn, offered = delivered + counted losses "
           "(+ unaccounted):", "", *accounting, ""])
    w(["## Peers", "", "Medians; DDS and sockperf figures are half their round trips (method below).", "",
       "| system | p50 (µs) | p99 | p99.9 | under flood: p50 | p99 | p99.9 | flood delivered (msg/s) |",
       "|---|---|---|---|---|---|---|---|"])
    for label, idle, flood, rate in PEERS:
        w([f"| {label} | " + " | ".join(fmt(d.get(f"{idle}_{q}_us")) for q in ("p50", "p99", "p999")) + " | "
           + " | ".join(fmt(d.get(f"{flood}_{q}_us")) if flood else "" for q in ("p50", "p99", "p999"))
           + f" | {fmt(d.get(rate)) if rate else ''} |"])
    w([""])
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "benchmarks_method.md")) as f:
        w(["## Method", "", f.read().rstrip(), "", "## The JSON of this run", "",
           "Merged medians (`runs`, the raw object of every run with the curves, left out here):", "", "```json",
           json.dumps(merged, indent=None, separators=(", ", ": ")), "```", ""])
    with open(a.out_md, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
