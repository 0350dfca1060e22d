// A program the benchmarks start (in a network namespace, through `ip netns exec`, which execs in place so the
// pid is the program's own), with stdout and stderr captured in files; killed when the object goes.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace tempos::bench {

class ChildProcess {
public:
    ChildProcess() = default;
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // ns_name empty: no namespace. Output goes to temporary files, read back with output()/errors().
    std::string start(const std::string& ns_name, const std::vector<std::string>& argv);
    bool running();
    // Waits up to `seconds`; then SIGKILL. Returns the exit status (128 + signal when killed by one).
    int wait(double seconds);
    void signal(int sig);
    pid_t pid() const { return pid_; }
    std::string output() const;
    std::string errors() const;

private:
    pid_t pid_ = -1;
    int status_ = -1;
    std::string out_path_, err_path_;
};

// The directory of the running executable (where the other binaries are built).
std::string executable_dir();

}  // namespace tempos::bench
