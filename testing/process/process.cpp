#include "process/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "tempos/unique_fd.hpp"

extern char** environ;

namespace tempos::testkit {

namespace {

ErrorCode code_of(int err) {
    if (err == EACCES || err == EPERM) return ErrorCode::permission_denied;
    if (err == ENOENT) return ErrorCode::not_found;
    return ErrorCode::system_error;
}

Status os_error(const std::string& what, int err = errno) {
    return Status::error(code_of(err), what + ": " + std::strerror(err));
}

// What the child reports through the exec pipe when it cannot get as far as running the program.
struct ChildFailure {
    int stage;  // kStage*
    int error;  // errno
};
constexpr int kStageNetns = 1, kStageCpu = 2, kStageExec = 3;

bool executable(const std::filesystem::path& path) { return ::access(path.c_str(), X_OK) == 0; }

// argv[0] as execve needs it: itself when it names a path, else its first match in PATH.
Result<std::filesystem::path> resolve(const std::string& program) {
    if (program.find('/') != std::string::npos) return std::filesystem::path(program);
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');)
        if (!dir.empty() && executable(std::filesystem::path(dir) / program)) return std::filesystem::path(dir) / program;
    return Result<std::filesystem::path>::error(ErrorCode::not_found, program + " not found in PATH");
}

// NAME=value entries of the environment, with `extra` added or replacing those of the same NAME.
std::vector<std::string> environment(const std::vector<std::string>& extra) {
    std::vector<std::string> env;
    auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry = *e;
        bool replaced = false;
        for (const std::string& x : extra) replaced = replaced || name_of(x) == name_of(entry);
        if (!replaced) env.push_back(entry);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (std::string& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

int open_output(const std::filesystem::path& file) {
    return ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

// Closes the descriptors the parent opened for the child, whatever happens to the start.
struct Fds {
    int ns = -1, out = -1, err = -1, in = -1, report[2] = {-1, -1};
    ~Fds() {
        for (int fd : {ns, out, err, in, report[0], report[1]})
            if (fd >= 0) ::close(fd);
    }
};

}  // namespace

Process::~Process() { kill_and_reap(); }

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      ended_(other.ended_),
      wait_status_(other.wait_status_),
      name_(std::move(other.name_)),
      dir_(std::move(other.dir_)),
      stdout_file_(std::move(other.stdout_file_)),
      stderr_file_(std::move(other.stderr_file_)) {
    other.dir_.reset();
}

Process& Process::operator=(Process&& other) noexcept {
    if (this != &other) {
        kill_and_reap();
        pid_ = std::exchange(other.pid_, -1);
        ended_ = other.ended_;
        wait_status_ = other.wait_status_;
        name_ = std::move(other.name_);
        dir_ = std::move(other.dir_);
        other.dir_.reset();
        stdout_file_ = std::move(other.stdout_file_);
        stderr_file_ = std::move(other.stderr_file_);
    }
    return *this;
}

Result<Process> Process::start(const std::vector<std::string>& argv, ProcessOptions options) {
    if (argv.empty()) return Result<Process>::error(ErrorCode::invalid_argument, "no program to start");
    Process process;
    process.name_ = std::filesystem::path(argv[0]).filename().string();
    const std::string what = "starting " + argv[0];
    Result<std::filesystem::path> program = resolve(argv[0]);
    if (!program) return program.status().prefixed(what);

    if (options.stdout_file.empty() || options.stderr_file.empty()) {
        process.dir_.emplace("process");
        if (process.dir_->path().empty()) return os_error(what + ": cannot create a temporary directory");
    }
    process.stdout_file_ = options.stdout_file.empty() ? process.dir_->path() / "stdout" : options.stdout_file;
    process.stderr_file_ = options.stderr_file.empty() ? process.dir_->path() / "stderr" : options.stderr_file;

    Fds fds;
    if (!options.netns.empty()) {
        const std::string ns_path = "/run/netns/" + options.netns;
        if ((fds.ns = ::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC)) < 0)
            return os_error(what + ": cannot open network namespace " + ns_path);
    }
    if ((fds.out = open_output(process.stdout_file_)) < 0)
        return os_error(what + ": cannot create " + process.stdout_file_.string());
    fds.err = process.stderr_file_ == process.stdout_file_ ? ::fcntl(fds.out, F_DUPFD_CLOEXEC, 0)
                                                           : open_output(process.stderr_file_);
    if (fds.err < 0) return os_error(what + ": cannot create " + process.stderr_file_.string());
    if ((fds.in = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) return os_error(what + ": cannot open /dev/null");
    if (::pipe2(fds.report, O_CLOEXEC) != 0) return os_error(what + ": pipe");

    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    if (options.cpu >= 0)
        CPU_SET(options.cpu, &cpus);
    else
        for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &cpus);
    std::vector<std::string> arg_strings = argv;
    std::vector<std::string> extra_env = options.env;
    // Above every fd the child may still have below them, so that moving them down to 3.. clobbers none.
    std::vector<UniqueFd> listen_fds;
    for (int fd : options.listen_fds) {
        listen_fds.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, 64));
        if (listen_fds.back().get() < 0) return os_error(what + ": cannot duplicate a listen socket");
    }
    // LISTEN_PID is the child's own pid: written in the child, into room made here (no allocation after fork).
    constexpr std::size_t kPidDigits = 20;
    if (!listen_fds.empty()) {
        extra_env.push_back("LISTEN_FDS=" + std::to_string(listen_fds.size()));
        extra_env.push_back("LISTEN_PID=" + std::string(kPidDigits, ' '));
    }
    std::vector<std::string> env_strings = environment(extra_env);
    std::vector<char*> args = pointers(arg_strings);
    std::vector<char*> env = pointers(env_strings);
    const std::string path = program->string();
    const pid_t parent = ::getpid();
    char* listen_pid = nullptr;
    for (char* entry : env)
        if (entry && std::strncmp(entry, "LISTEN_PID=", 11) == 0) listen_pid = entry + 11;

    const pid_t pid = ::fork();
    if (pid < 0) return os_error(what + ": fork");
    if (pid == 0) {
        // Only async-signal-safe calls between fork and exec.
        auto fail = [&](int stage) {
            const ChildFailure failure{stage, errno};
            [[maybe_unused]] const ssize_t n = ::write(fds.report[1], &failure, sizeof failure);
            ::_exit(127);
        };
        ::setpgid(0, 0);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(126);  // the parent is already gone
        if (fds.ns >= 0 && ::setns(fds.ns, CLONE_NEWNET) != 0) fail(kStageNetns);
        // Ignored when a CPU of the full mask does not exist; a chosen CPU must.
        if (::sched_setaffinity(0, sizeof cpus, &cpus) != 0 && options.cpu >= 0) fail(kStageCpu);
        ::dup2(fds.in, STDIN_FILENO);
        ::dup2(fds.out, STDOUT_FILENO);
        ::dup2(fds.err, STDERR_FILENO);
        for (std::size_t i = 0; i < listen_fds.size(); ++i)  // dup2 clears close-on-exec on the copy
            if (::dup2(listen_fds[i].get(), static_cast<int>(3 + i)) < 0) fail(kStageExec);
        if (listen_pid != nullptr) {
            char digits[kPidDigits];
            std::size_t n = 0;
            for (pid_t self = ::getpid(); self > 0 && n < kPidDigits; self /= 10) digits[n++] = static_cast<char>('0' + self % 10);
            for (std::size_t i = 0; i < n; ++i) listen_pid[i] = digits[n - 1 - i];
            listen_pid[n] = '\0';
        }
        ::execve(path.c_str(), args.data(), env.data());
        fail(kStageExec);
    }
    ::setpgid(pid, pid);  // also here: kill_and_reap may signal the group before the child got to it
    process.pid_ = pid;
    ::close(fds.report[1]);
    fds.report[1] = -1;
    ChildFailure failure{};
    ssize_t n;
    while ((n = ::read(fds.report[0], &failure, sizeof failure)) < 0 && errno == EINTR) {
    }
    if (n == static_cast<ssize_t>(sizeof failure)) {
        process.kill_and_reap();
        const char* stage = failure.stage == kStageNetns ? "cannot enter network namespace "
                            : failure.stage == kStageCpu ? "cannot pin to CPU "
                                                         : "cannot execute ";
        const std::string object = failure.stage == kStageNetns ? options.netns
                                   : failure.stage == kStageCpu ? std::to_string(options.cpu)
                                                                : path;
        return os_error(what + ": " + stage + object, failure.error);
    }
    return process;
}

void Process::reap(int wait_status) {
    ended_ = true;
    wait_status_ = wait_status;
}

bool Process::running() {
    if (pid_ <= 0 || ended_) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) reap(st);
    return !ended_;
}

Result<int> Process::wait(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return Result<int>::error(ErrorCode::not_found, "no process");
    if (!poll_until([&] { return !running(); }, timeout))
        return Result<int>::error(ErrorCode::internal, name_ + " (pid " + std::to_string(pid_) +
                                                           ") still running after " +
                                                           std::to_string(timeout.count()) + " ms");
    return WIFEXITED(wait_status_) ? WEXITSTATUS(wait_status_) : 128 + WTERMSIG(wait_status_);
}

Status Process::signal(int sig) {
    if (!running()) return Status::error(ErrorCode::not_found, name_ + " is not running (" + how_it_ended() + ")");
    return ::kill(pid_, sig) == 0 ? Status::ok() : os_error("signalling " + name_);
}

int Process::kill_and_reap() {
    if (pid_ <= 0) return -1;
    if (!ended_) {
        if (::kill(-pid_, SIGKILL) != 0) ::kill(pid_, SIGKILL);
        int st = 0;
        while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
        }
        reap(st);
    }
    return WIFEXITED(wait_status_) ? WEXITSTATUS(wait_status_) : 128 + WTERMSIG(wait_status_);
}

Result<int> Process::terminate(std::chrono::milliseconds grace) {
    if (Status sent = signal(SIGTERM); !sent) {
        if (pid_ > 0 && ended_) return kill_and_reap();  // it had ended already: its status
        return sent;
    }
    if (Result<int> status = wait(grace)) return status;
    kill_and_reap();
    return Result<int>::error(ErrorCode::internal, name_ + " ignored SIGTERM for " + std::to_string(grace.count()) +
                                                       " ms and was killed");
}

std::string Process::how_it_ended() {
    if (pid_ <= 0) return "not started";
    if (running()) return "running";
    if (WIFEXITED(wait_status_)) return "exited with status " + std::to_string(WEXITSTATUS(wait_status_));
    return std::string("killed by signal ") + strsignal(WTERMSIG(wait_status_));
}

std::string Process::output() const { return read_text(stdout_file_); }

std::string Process::errors() const { return read_text(stderr_file_); }

std::string Process::output_tail(std::size_t lines) const {
    if (stdout_file_ == stderr_file_) return last_lines(output(), lines);
    return last_lines(output(), lines) + last_lines(errors(), lines);
}

Status Process::wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                           const std::string& what) {
    bool ended = false;
    const bool met = poll_until(
        [&] {
            if (condition()) return true;
            ended = !running();
            return ended;
        },
        timeout);
    if (met && !ended) return Status::ok();
    if (ended && condition()) return Status::ok();  // it printed what was awaited, then ended
    const std::string why = ended ? name_ + " " + how_it_ended() + " before " + what
                                  : name_ + ": no " + what + " within " + std::to_string(timeout.count()) + " ms";
    return Status::error(ended ? ErrorCode::not_connected : ErrorCode::internal, why + "; its output:\n" + output_tail());
}

Status Process::wait_for_output(std::string_view text, std::chrono::milliseconds timeout) {
    return wait_until(
        [&] { return output().find(text) != std::string::npos || errors().find(text) != std::string::npos; },
        timeout, "\"" + std::string(text) + "\" in its output");
}

bool poll_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) return condition();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

std::uint64_t poll_until_settled(const std::function<std::uint64_t()>& counter, std::uint64_t target,
                                 std::chrono::milliseconds quiet, std::chrono::milliseconds timeout) {
    std::uint64_t last = counter();
    auto changed = std::chrono::steady_clock::now();
    poll_until(
        [&] {
            const std::uint64_t now = counter();
            if (now != last) last = now, changed = std::chrono::steady_clock::now();
            return last >= target || std::chrono::steady_clock::now() - changed >= quiet;
        },
        timeout);
    return last;
}

Result<std::filesystem::path> find_program(const std::string& name) {
    std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
    dirs += ":/usr/sbin:/usr/local/sbin:/sbin";
    std::istringstream in(dirs);
    for (std::string dir; std::getline(in, dir, ':');)
        if (!dir.empty() && executable(std::filesystem::path(dir) / name)) return std::filesystem::path(dir) / name;
    return Result<std::filesystem::path>::error(ErrorCode::not_found,
                                                name + " not found (PATH, /usr/sbin, /usr/local/sbin, /sbin)");
}

std::filesystem::path executable_dir() {
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path(".") : exe.parent_path();
}

std::string read_text(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string last_lines(const std::string& text, std::size_t lines) {
    std::size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') --pos;  // a final newline does not start a line
    while (lines > 0 && pos != std::string::npos && pos > 0) {
        pos = text.rfind('\n', pos - 1);
        --lines;
    }
    return pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1);
}

}  // namespace tempos::testkit
