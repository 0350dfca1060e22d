#include "child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace tempos::bench {

namespace {
std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}
std::string temp_path(const char* what) {
    char path[] = "/tmp/tempos-bench.XXXXXX";
    const int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    return std::string(path) + (fd >= 0 ? "" : what);
}
}  // namespace

ChildProcess::~ChildProcess() {
    if (pid_ > 0 && status_ < 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    if (!out_path_.empty()) unlink(out_path_.c_str());
    if (!err_path_.empty()) unlink(err_path_.c_str());
}

std::string ChildProcess::start(const std::string& ns_name, const std::vector<std::string>& argv) {
    out_path_ = temp_path(".out");
    err_path_ = temp_path(".err");
    std::vector<std::string> full;
    if (!ns_name.empty()) full = {"ip", "netns", "exec", ns_name};
    full.insert(full.end(), argv.begin(), argv.end());
    std::vector<char*> args;
    for (std::string& a : full) args.push_back(a.data());
    args.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) return std::string("fork: ") + std::strerror(errno);
    if (pid == 0) {
        const int out = open(out_path_.c_str(), O_WRONLY | O_TRUNC);
        const int err = open(err_path_.c_str(), O_WRONLY | O_TRUNC);
        if (out >= 0) dup2(out, STDOUT_FILENO);
        if (err >= 0) dup2(err, STDERR_FILENO);
        // Children start with an unrestricted CPU mask whatever the bench pinned itself to.
        cpu_set_t all;
        CPU_ZERO(&all);
        for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
        sched_setaffinity(0, sizeof(all), &all);
        execvp(args[0], args.data());
        _exit(127);
    }
    pid_ = pid;
    status_ = -1;
    return {};
}

bool ChildProcess::running() {
    if (pid_ <= 0 || status_ >= 0) return false;
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return false;
    }
    return true;
}

int ChildProcess::wait(double seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (running()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            kill(pid_, SIGKILL);
            int st = 0;
            waitpid(pid_, &st, 0);
            status_ = 128 + SIGKILL;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return status_;
}

void ChildProcess::signal(int sig) {
    if (running()) kill(pid_, sig);
}

std::string ChildProcess::output() const { return read_file(out_path_); }
std::string ChildProcess::errors() const { return read_file(err_path_); }

std::string executable_dir() {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0) return ".";
    std::string path(buf, static_cast<std::size_t>(n));
    return path.substr(0, path.rfind('/'));
}

}  // namespace tempos::bench
