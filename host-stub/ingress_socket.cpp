#include "ingress_socket.hpp"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "received_ttl.hpp"
#include "socket_name.hpp"
#include "tempos/system_status.hpp"

namespace tempos::mom {

namespace {

constexpr int kBatch = 32;
constexpr std::size_t kMaxDatagram = 65536;
constexpr std::size_t kControlSize = CMSG_SPACE(sizeof(std::uint32_t)) + kTtlControlSize;

std::string describe_address(const SocketAddress& address) { return "UDP " + format_socket_address(address); }

// A UDP socket of the address's family; an IPv6 one with IPV6_V6ONLY as asked.
Result<UniqueFd> open_socket(const SocketAddress& address, bool v6only) {
    UniqueFd fd(::socket(address.ip6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return system_status(address.ip6 ? "socket(AF_INET6)" : "socket()", errno);
    const int only = v6only ? 1 : 0;
    if (address.ip6 && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof only) != 0)
        return system_status("setsockopt(IPV6_V6ONLY)", errno);
    return fd;
}

// A burst of best-effort events must wait in the socket, not be dropped by it: the default (rmem_default, often
// 208 KiB) holds only a few hundred datagrams. SO_RCVBUFFORCE (CAP_NET_ADMIN, which the XDP adapter needs anyway)
// may exceed net.core.rmem_max; without it the kernel caps SO_RCVBUF there, and the shortfall is said once.
std::int64_t set_receive_buffer(int fd, std::int64_t wanted, const std::string& name, spdlog::logger& log) {
    const int request = static_cast<int>(wanted);
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &request, sizeof request) != 0)
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &request, sizeof request);
    int granted = 0;
    socklen_t len = sizeof granted;
    ::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &len);
    granted /= 2;  // the kernel reports twice the size asked for (bookkeeping overhead included)
    if (granted < request)
        log.warn("{} ingress receive buffer is {} bytes, {} asked for: raise net.core.rmem_max or grant "
                 "CAP_NET_ADMIN, or bursts may be dropped by the socket",
                 name, granted, request);
    else
        log.info("{} ingress receive buffer: {} bytes", name, granted);
    return granted;
}

}  // namespace

Result<std::uint16_t> claim_free_port(const SocketAddress& listen, bool v6only) {
    Result<UniqueFd> opened = open_socket(listen, v6only);
    if (!opened) return opened.status();
    const UniqueFd probe = std::move(*opened);
    SocketEndpoint addr = to_sockaddr(listen);
    if (::bind(probe.get(), addr.get(), addr.length) != 0) {
        const int err = errno;
        if (err == EADDRINUSE)
            return Status::error(ErrorCode::system_error,
                                 "cannot bind " + describe_address(listen) +
                                     ": another socket holds it (another process, or another tempos-mom); "
                                     "tempos-mom does not share its port");
        return system_status("cannot bind " + describe_address(listen), err);
    }
    socklen_t len = sizeof addr.addr;
    ::getsockname(probe.get(), addr.get(), &len);
    return addr.port();
}

IngressSocket::IngressSocket(UniqueFd fd, std::int64_t receive_buffer)
    : fd_(std::move(fd)),
      receive_buffer_(receive_buffer),
      buffers_(kBatch * kMaxDatagram),
      control_(kBatch * kControlSize) {}

IngressSocket::IngressSocket(IngressSocket&& other) noexcept
    : fd_(std::move(other.fd_)),
      receive_buffer_(other.receive_buffer_),
      buffers_(std::move(other.buffers_)),
      control_(std::move(other.control_)),
      overflow_(other.overflow_.load()) {}

Result<IngressSocket> IngressSocket::bind(const SocketAddress& address, bool v6only, std::int64_t receive_buffer,
                                          const std::string& name, spdlog::logger& log) {
    Result<UniqueFd> opened = open_socket(address, v6only);
    if (!opened) return opened.status();
    UniqueFd fd = std::move(*opened);
    const int on = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)
        return system_status("setsockopt(SO_REUSEPORT)", errno);
    SocketEndpoint addr = to_sockaddr(address);
    if (::bind(fd.get(), addr.get(), addr.length) != 0)
        return system_status("cannot bind " + describe_address(address), errno);
    return configure(std::move(fd), address, receive_buffer, name, log);
}

Result<IngressSocket> IngressSocket::adopt(UniqueFd fd, const SocketAddress& address, bool v6only,
                                           std::int64_t receive_buffer, const std::string& name, spdlog::logger& log) {
    const std::string wanted = describe_address(address);
    const SocketEndpoint expected = to_sockaddr(address);
    SocketEndpoint bound;
    bound.length = sizeof bound.addr;
    int type = 0, reuse_port = 0, only = 0;
    socklen_t type_len = sizeof type, reuse_len = sizeof reuse_port, only_len = sizeof only;
    if (::getsockname(fd.get(), bound.get(), &bound.length) != 0 ||
        ::getsockopt(fd.get(), SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 || type != SOCK_DGRAM ||
        bound.family() != expected.family())
        return Status::error(ErrorCode::invalid_argument,
                             "a socket passed by the service manager is not UDP of [mom] listen's family (" + wanted +
                                 "): tempos-mom.socket's ListenDatagram= must name the same address, twice");
    if (bound.length != expected.length || std::memcmp(&bound.addr, &expected.addr, expected.length) != 0)
        return Status::error(ErrorCode::invalid_argument,
                             "a socket passed by the service manager is not bound to [mom] listen (" + wanted +
                                 "): make tempos-mom.socket's ListenDatagram= match it");
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &reuse_port, &reuse_len) != 0 || reuse_port == 0)
        return Status::error(ErrorCode::invalid_argument, "a socket passed by the service manager for " + wanted +
                                                              " has no SO_REUSEPORT: tempos-mom.socket needs ReusePort=yes");
    // Only `::` can be dual-stack: Linux makes a socket bound to any other IPv6 address IPv6-only whatever was set.
    const bool any_address = address.ip6 && *address.ip6 == Ipv6{};
    if (any_address && (::getsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &only, &only_len) != 0 || (only != 0) != v6only))
        return Status::error(ErrorCode::invalid_argument,
                             "a socket passed by the service manager for " + wanted + (only ? " is" : " is not") +
                                 " IPv6-only, [mom] v6only says otherwise: set tempos-mom.socket's BindIPv6Only=");
    return configure(std::move(fd), address, receive_buffer, name, log);
}

Result<IngressSocket> IngressSocket::configure(UniqueFd fd, const SocketAddress& address, std::int64_t receive_buffer,
                                               const std::string& name, spdlog::logger& log) {
    const int on = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on) != 0)
        return system_status("setsockopt(SO_RXQ_OVFL)", errno);
    if (Status ttl = enable_received_ttl(fd.get(), address.ip6 ? AF_INET6 : AF_INET); !ttl) return ttl;
    const std::int64_t granted = set_receive_buffer(fd.get(), receive_buffer, name, log);
    return IngressSocket(std::move(fd), granted);
}

int IngressSocket::receive_batch(const Handler& handle) {
    std::array<iovec, kBatch> iov{};
    std::array<mmsghdr, kBatch> msgs{};
    for (int i = 0; i < kBatch; ++i) {
        iov[i] = {buffers_.data() + i * kMaxDatagram, kMaxDatagram};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_control = control_.data() + i * kControlSize;
        msgs[i].msg_hdr.msg_controllen = kControlSize;
    }
    const int n = ::recvmmsg(fd_.get(), msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) return -errno;
    for (int i = 0; i < n; ++i) {
        msghdr& header = msgs[i].msg_hdr;
        for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL) continue;
            std::uint32_t dropped = 0;
            std::memcpy(&dropped, CMSG_DATA(c), sizeof dropped);
            overflow_.store(dropped, std::memory_order_relaxed);
        }
        handle(buffers_.data() + i * kMaxDatagram, msgs[i].msg_len, received_ttl(header));
    }
    return n;
}

std::uint64_t IngressSocket::drops() const {
    std::uint64_t drops = overflow_.load(std::memory_order_relaxed);
    std::array<std::uint32_t, SK_MEMINFO_VARS> meminfo{};
    socklen_t len = sizeof meminfo;
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_MEMINFO, meminfo.data(), &len) == 0 &&
        len > SK_MEMINFO_DROPS * sizeof(std::uint32_t))
        drops = std::max<std::uint64_t>(drops, meminfo[SK_MEMINFO_DROPS]);
    return drops;
}

}  // namespace tempos::mom
