#include "topology/command.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace tempos::testkit {

namespace {

// What a file descriptor holds from its start (a memfd the child wrote).
std::string read_all(int fd) {
    std::string text;
    char buf[4096];
    for (off_t at = 0;;) {
        const ssize_t n = ::pread(fd, buf, sizeof(buf), at);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        at += n;
    }
    return text;
}

std::string quoted(const std::vector<std::string>& argv) {
    std::string text;
    for (const std::string& a : argv) text += (text.empty() ? "" : " ") + a;
    return "`" + text + "`";
}

}  // namespace

Result<std::string> run_command(const std::vector<std::string>& argv) {
    if (argv.empty()) return Result<std::string>::error(ErrorCode::invalid_argument, "run_command: no command");
    // Memory files, not pipes: the child can write any amount without waiting for a reader.
    const int out = ::memfd_create("command-stdout", MFD_CLOEXEC);
    const int err = ::memfd_create("command-stderr", MFD_CLOEXEC);
    if (out < 0 || err < 0) {
        const std::string why = std::strerror(errno);
        if (out >= 0) ::close(out);
        if (err >= 0) ::close(err);
        return Result<std::string>::error(ErrorCode::system_error, "memfd_create: " + why);
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err, STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    Result<std::string> result = Result<std::string>::error(ErrorCode::internal, "unset");
    if (spawned != 0) {
        result = Result<std::string>::error(spawned == ENOENT ? ErrorCode::not_found : ErrorCode::system_error,
                                            "cannot run " + quoted(argv) + ": " + std::strerror(spawned));
    } else {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            result = read_all(out);
        } else {
            std::string errors = read_all(err);
            while (!errors.empty() && (errors.back() == '\n' || errors.back() == ' ')) errors.pop_back();
            const std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                                      : "was killed by signal " + std::to_string(WTERMSIG(status));
            result = Result<std::string>::error(ErrorCode::system_error,
                                                quoted(argv) + " " + how + (errors.empty() ? "" : ": " + errors));
        }
    }
    ::close(out);
    ::close(err);
    return result;
}

std::vector<std::string> veth_pair_command(const std::string& ns, const std::string& a, const std::string& b,
                                           const std::string& peer_ns, int queues) {
    std::vector<std::string> queue_args;
    if (queues > 0) queue_args = {"numtxqueues", std::to_string(queues), "numrxqueues", std::to_string(queues)};
    std::vector<std::string> args{"ip"};
    if (!ns.empty()) args.insert(args.end(), {"-n", ns});
    args.insert(args.end(), {"link", "add", a});
    args.insert(args.end(), queue_args.begin(), queue_args.end());
    args.insert(args.end(), {"type", "veth", "peer", "name", b});
    args.insert(args.end(), queue_args.begin(), queue_args.end());
    if (!peer_ns.empty()) args.insert(args.end(), {"netns", peer_ns});
    return args;
}

}  // namespace tempos::testkit
