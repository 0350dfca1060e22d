#include "namespace_topology.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

namespace tempos::bench::peers {

namespace {

// Runs `bash -c script _ args...`, returns its stdout; stderr goes to ours so the script's errors are seen.
std::string run_bash(const std::string& script, const std::vector<std::string>& args, int& status) {
    int out[2];
    status = -1;
    if (pipe2(out, O_CLOEXEC) != 0) return {};
    std::vector<std::string> argv_s{"bash", "-c", script, "bash"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) {
        close(out[0]);
        close(out[1]);
        return {};
    }
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        execvp("bash", argv.data());
        _exit(127);
    }
    close(out[1]);
    std::string text;
    char buf[4096];
    for (;;) {
        const ssize_t n = read(out[0], buf, sizeof(buf));
        if (n > 0) {
            text.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break;
    }
    close(out[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
    return text;
}

// topo_create installs an EXIT trap that tears the topology down when the shell ends; on success we clear it
// (the destructor owns the teardown from then on), on failure it still runs.
constexpr const char* kCreateScript = R"(
TOPO_ID=$2
export TEMPOS_BUILD_DIR=${TEMPOS_BUILD_DIR:-$4}
source "$1" || exit 1
topo_create one-legged "$3" || exit 1
trap - EXIT INT TERM
echo "pub $TOPO_NS_pub $TOPO_IP_pub"
echo "mom $TOPO_NS_mom $TOPO_IP_mom"
for ((i = 1; i <= $3; i++)); do
    ns=TOPO_NS_sub$i; ip=TOPO_IP_sub$i
    echo "sub$i ${!ns} ${!ip}"
done
)";

constexpr const char* kDestroyScript = R"(
TOPO_ID=$2
export TEMPOS_BUILD_DIR=${TEMPOS_BUILD_DIR:-$3}
source "$1" || exit 1
topo_destroy
)";

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// The build tree this binary lives in (<build>/bin/tempos-bench): the topology takes its XDP_PASS peer program
// (bpf/veth_peer_pass.bpf.o) from there unless TEMPOS_BUILD_DIR says otherwise.
std::string own_build_dir() {
    char exe[4096];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) return {};
    std::string path(exe, static_cast<std::size_t>(n));
    for (int up = 0; up < 2; ++up) {
        const std::size_t slash = path.rfind('/');
        if (slash == std::string::npos || slash == 0) return {};
        path.resize(slash);
    }
    return path;
}

}  // namespace

std::unique_ptr<NamespaceTopology> NamespaceTopology::create(const std::string& script, int subscribers,
                                                             std::string& error) {
    if (access(script.c_str(), R_OK) != 0) {
        error = errno_text(("topology script " + script).c_str());
        return nullptr;
    }
    static std::atomic<int> counter{0};
    // Short: interface and namespace names derive from it.
    std::string id = "pr" + std::to_string(getpid()) + "x" + std::to_string(counter++);
    std::unique_ptr<NamespaceTopology> topo(new NamespaceTopology(script, id, own_build_dir()));
    int status = 0;
    const std::string out =
        run_bash(kCreateScript, {script, id, std::to_string(subscribers), topo->build_dir_}, status);
    std::istringstream lines(out);
    std::string node, ns, ip;
    while (lines >> node >> ns >> ip) topo->nodes_[node] = {ns, ip};
    // Every namespace must really exist: the script goes on past a failing `ip` command.
    std::string missing;
    for (const std::string& n : {std::string("pub"), std::string("mom")}) {
        if (topo->ns(n).empty()) missing += " " + n;
    }
    for (int i = 1; i <= subscribers; ++i) {
        if (topo->ns("sub" + std::to_string(i)).empty()) missing += " sub" + std::to_string(i);
    }
    for (const auto& [n, entry] : topo->nodes_) {
        if (access(("/run/netns/" + entry.first).c_str(), F_OK) != 0) missing += " " + n;
    }
    if (status != 0 || !missing.empty()) {
        error = "building the topology with " + script + " failed (exit status " + std::to_string(status) +
                (missing.empty() ? "" : ", missing namespaces:" + missing) +
                "); its own message, if any, is above; it needs root";
        return nullptr;  // the destructor removes whatever was made
    }
    return topo;
}

NamespaceTopology::~NamespaceTopology() {
    int status = 0;
    run_bash(kDestroyScript, {script_, id_, build_dir_}, status);
}

std::string NamespaceTopology::ns(const std::string& node) const {
    auto it = nodes_.find(node);
    return it == nodes_.end() ? std::string() : it->second.first;
}

std::string NamespaceTopology::ip(const std::string& node) const {
    auto it = nodes_.find(node);
    return it == nodes_.end() ? std::string() : it->second.second;
}

std::string in_namespace(const std::string& ns, const std::function<std::string()>& fn) {
    const int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0) return errno_text("opening this thread's network namespace");
    const int target = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (target < 0) {
        std::string e = errno_text(("opening namespace " + ns).c_str());
        close(home);
        return e;
    }
    std::string result;
    if (setns(target, CLONE_NEWNET) != 0) {
        result = errno_text(("entering namespace " + ns).c_str());
    } else {
        result = fn();
        if (setns(home, CLONE_NEWNET) != 0) {
            // Every later socket would silently land in the wrong namespace: not recoverable.
            std::fprintf(stderr, "tempos-bench peers: %s\n", errno_text("returning to the home namespace").c_str());
            std::abort();
        }
    }
    close(target);
    close(home);
    return result;
}

}  // namespace tempos::bench::peers
