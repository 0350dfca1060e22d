#include "process/held_sockets.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "endpoint_arg.hpp"
#include "topology/netns.hpp"

namespace tempos::testkit {

namespace {

constexpr int kMaxSockets = 8;

Status os_error(const std::string& what) {
    return Status::error(ErrorCode::system_error, what + ": " + std::strerror(errno));
}

Result<sockaddr_un> unix_address(const std::filesystem::path& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.string().size() >= sizeof addr.sun_path)
        return Status::error(ErrorCode::invalid_argument, path.string() + ": too long for a Unix socket");
    std::strcpy(addr.sun_path, path.c_str());
    return addr;
}

// One byte of data and room for kMaxSockets descriptors (SCM_RIGHTS).
struct RightsMessage {
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxSockets)]{};
    msghdr msg{};
    RightsMessage() {
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
    }
    RightsMessage(const RightsMessage&) = delete;
    RightsMessage& operator=(const RightsMessage&) = delete;
};

}  // namespace

Result<std::vector<UniqueFd>> bind_listen_sockets(const std::string& netns, const std::string& listen, int count) {
    const std::optional<tools::SocketEndpoint> addr = tools::parse_socket_endpoint(listen);
    if (!addr) return Status::error(ErrorCode::invalid_argument, "\"" + listen + "\" is not IPv4:PORT or [IPv6]:PORT");
    std::vector<UniqueFd> sockets;
    auto bind_all = [&]() -> Status {
        for (int i = 0; i < count; ++i) {
            UniqueFd fd(::socket(addr->family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
            const int on = 1, dual_stack = 0;
            if (fd.get() < 0 || ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0 ||
                (addr->family() == AF_INET6 &&
                 ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &dual_stack, sizeof dual_stack) != 0) ||
                ::bind(fd.get(), addr->get(), addr->length) != 0)
                return os_error("binding " + listen);
            sockets.push_back(std::move(fd));
        }
        return Status::ok();
    };
    if (Status st = netns.empty() ? bind_all() : run_in_netns(netns, bind_all); !st) return st;
    return sockets;
}

Status serve_sockets(const std::filesystem::path& path, const std::vector<UniqueFd>& sockets) {
    if (sockets.empty() || sockets.size() > kMaxSockets)
        return Status::error(ErrorCode::invalid_argument, "1 to " + std::to_string(kMaxSockets) + " sockets to serve");
    // Bound under another name and renamed once listening: a client that sees `path` can connect.
    const std::filesystem::path partial = path.string() + ".partial";
    Result<sockaddr_un> partial_addr = unix_address(partial);
    if (!partial_addr) return partial_addr.status();
    // Non-blocking: the loop below looks for SIGTERM between two accepts.
    UniqueFd server(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    ::unlink(partial.c_str());
    if (server.get() < 0 ||
        ::bind(server.get(), reinterpret_cast<sockaddr*>(&*partial_addr), sizeof *partial_addr) != 0 ||
        ::listen(server.get(), 4) != 0 || ::rename(partial.c_str(), path.c_str()) != 0)
        return os_error("serving sockets at " + path.string());
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    const timespec tick{0, 50'000'000};
    Status result = Status::ok();
    while (sigtimedwait(&stop, nullptr, &tick) < 0) {
        UniqueFd client(::accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (client.get() < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            result = os_error("accepting at " + path.string());
            break;
        }
        RightsMessage rights;
        msghdr& msg = rights.msg;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * sockets.size());
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * sockets.size());
        for (std::size_t i = 0; i < sockets.size(); ++i) {
            const int fd = sockets[i].get();
            std::memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof fd);
        }
        if (::sendmsg(client.get(), &msg, MSG_NOSIGNAL) != 1) {
            result = os_error("handing the sockets over at " + path.string());
            break;
        }
    }
    ::unlink(path.c_str());
    return result;
}

Result<std::vector<UniqueFd>> fetch_sockets(const std::filesystem::path& path) {
    Result<sockaddr_un> addr = unix_address(path);
    if (!addr) return addr.status();
    UniqueFd client(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (client.get() < 0 || ::connect(client.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0)
        return os_error("connecting to the socket holder at " + path.string());
    RightsMessage rights;
    msghdr& msg = rights.msg;
    if (::recvmsg(client.get(), &msg, MSG_CMSG_CLOEXEC) != 1)
        return os_error("receiving the sockets from " + path.string());
    std::vector<UniqueFd> sockets;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        const std::size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < n; ++i) {
            int fd = -1;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            sockets.emplace_back(fd);
        }
    }
    if (sockets.empty())
        return Status::error(ErrorCode::system_error, "the socket holder at " + path.string() + " sent no socket");
    return sockets;
}

}  // namespace tempos::testkit
