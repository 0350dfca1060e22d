#include "cluster_counters.hpp"

#include <sstream>

namespace tempos::cluster {

std::string render_cluster_metrics(const ClusterCounters& c) {
    std::ostringstream out;
    auto metric = [&](const char* name, const char* type, const char* help, auto value) {
        out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
            << name << ' ' << value << '\n';
    };
    metric("tempos_cluster_connected", "gauge", "1 while the watch on the etcd cluster is established.",
           c.connected.load() ? 1 : 0);
    metric("tempos_cluster_revision_applied", "gauge", "The etcd revision whose topics are in force.",
           c.revision_applied.load());
    metric("tempos_cluster_watch_restarts_total", "counter",
           "Watches on etcd that ended (etcd lost, history compacted) and were started again.", c.watch_restarts.load());
    metric("tempos_cluster_refused_keys_total", "counter",
           "Cluster keys refused: not a topic key, a bad value, a topic the file defines, or refused by an adapter.",
           c.refused_keys.load());
    return out.str();
}

}  // namespace tempos::cluster
