#include "broker_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "event_format.hpp"
#include "topology/netns.hpp"

namespace tempos::bench::peers {

namespace {

std::string describe_status(int ws) {
    if (WIFEXITED(ws)) return "exited with status " + std::to_string(WEXITSTATUS(ws));
    if (WIFSIGNALED(ws)) return std::string("killed by signal ") + strsignal(WTERMSIG(ws));
    return "ended";
}

// One connection attempt, from the calling thread's namespace.
bool connects(const std::string& ip, int port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    return ok;
}

}  // namespace

std::unique_ptr<BrokerProcess> BrokerProcess::start(const std::string& ns, const std::vector<std::string>& argv_s,
                                                    const std::string& log_path, std::string& error) {
    const int ns_fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (ns_fd < 0) {
        error = "opening namespace " + ns + ": " + std::strerror(errno);
        return nullptr;
    }
    const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        error = "creating " + log_path + ": " + std::strerror(errno);
        close(ns_fd);
        return nullptr;
    }
    std::vector<std::string> args = argv_s;
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
        // Only async-signal-safe calls between fork and exec.
        prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed bench leaves no broker behind
        if (getppid() != parent) _exit(126);
        setpgid(0, 0);  // Ctrl-C reaches the bench, which stops the broker in order
        if (setns(ns_fd, CLONE_NEWNET) != 0) _exit(125);
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
        execv(argv[0], argv.data());
        _exit(127);
    }
    const int fork_errno = errno;
    close(ns_fd);
    close(log_fd);
    if (pid < 0) {
        error = std::string("fork: ") + std::strerror(fork_errno);
        return nullptr;
    }
    const std::string name = argv_s.empty() ? "broker" : argv_s[0].substr(argv_s[0].rfind('/') + 1);
    return std::unique_ptr<BrokerProcess>(new BrokerProcess(pid, name, log_path));
}

BrokerProcess::~BrokerProcess() { stop(); }

std::string BrokerProcess::exited() {
    if (!ended_.empty()) return ended_;
    int ws = 0;
    const pid_t r = waitpid(pid_, &ws, WNOHANG);
    if (r == pid_) ended_ = name_ + " " + describe_status(ws);
    return ended_;
}

std::string BrokerProcess::wait_listening(const std::string& client_ns, const std::string& ip, int port,
                                          double seconds) {
    const std::uint64_t deadline = tools::monotonic_ns() + static_cast<std::uint64_t>(seconds * 1e9);
    while (tools::monotonic_ns() < deadline) {
        if (std::string e = exited(); !e.empty()) return e + " before listening";
        bool up = false;
        if (Status entered = testkit::run_in_netns(client_ns, [&] {
                up = connects(ip, port);
                return Status::ok();
            });
            !entered)
            return entered.message();
        if (up) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return name_ + " not listening on " + ip + ":" + std::to_string(port) + " after " + std::to_string(seconds) +
           " s";
}

std::string BrokerProcess::stop() {
    if (stopped_) return {};
    stopped_ = true;
    if (!exited().empty()) return ended_ + " before it was stopped";
    kill(pid_, SIGTERM);
    for (int i = 0; i < 300; ++i) {
        if (!exited().empty()) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid_, SIGKILL);
    int ws = 0;
    while (waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
    }
    ended_ = name_ + " " + describe_status(ws);
    return name_ + " ignored SIGTERM for 3 s and was killed";
}

std::string BrokerProcess::log_tail(std::size_t count) const {
    std::ifstream in(log_);
    std::string line, all;
    std::vector<std::string> lines;
    while (std::getline(in, line)) lines.push_back(line);
    const std::size_t from = lines.size() > count ? lines.size() - count : 0;
    for (std::size_t i = from; i < lines.size(); ++i) all += "  " + lines[i] + "\n";
    return all;
}

std::string find_program(const std::string& name) {
    std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
    dirs += ":/usr/sbin:/usr/local/sbin:/sbin";
    std::istringstream in(dirs);
    std::string dir;
    while (std::getline(in, dir, ':')) {
        if (dir.empty()) continue;
        const std::string path = dir + "/" + name;
        if (access(path.c_str(), X_OK) == 0) return path;
    }
    return {};
}

}  // namespace tempos::bench::peers
