// The project's namespace topology (scripts/lib/topology.sh, one-legged layout) seen from C++: created by the
// script, torn down by the destructor, and entered per call so that sockets are born in the right namespace.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace tempos::bench::peers {

class NamespaceTopology {
public:
    // pub, mom, lan and sub1..subN; nullptr and `error` set on failure (nothing is left behind).
    static std::unique_ptr<NamespaceTopology> create(const std::string& script, int subscribers, std::string& error);
    ~NamespaceTopology();
    NamespaceTopology(const NamespaceTopology&) = delete;
    NamespaceTopology& operator=(const NamespaceTopology&) = delete;

    // Namespace name and IPv4 address of a node ("pub", "mom", "sub1", ...); empty if unknown.
    std::string ns(const std::string& node) const;
    std::string ip(const std::string& node) const;

private:
    NamespaceTopology(std::string script, std::string id, std::string build_dir)
        : script_(std::move(script)), id_(std::move(id)), build_dir_(std::move(build_dir)) {}

    std::string script_;
    std::string id_;
    std::string build_dir_;
    std::map<std::string, std::pair<std::string, std::string>> nodes_;  // node -> (namespace, address)
};

// Runs `fn` with the calling thread in network namespace `ns` (a name under /run/netns), then moves the thread
// back. Sockets created inside stay in `ns`. Returns fn's error, or why the namespace could not be entered.
std::string in_namespace(const std::string& ns, const std::function<std::string()>& fn);

}  // namespace tempos::bench::peers
