// One of tempos-mom's two ingress sockets: UDP on the MoM's port, SO_REUSEPORT (so that the strict and the
// best-effort socket share the port, each chosen per datagram by the steering program, ingress_steering.hpp),
// its own receive buffer, and SO_RXQ_OVFL (the kernel tells, with each datagram, how many it dropped because
// this socket's buffer was full).
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "config.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::mom {

// Makes sure no socket holds `listen` yet (any process's: a socket of the same user with SO_REUSEPORT would
// otherwise silently share the port), and picks the port when `listen.port` is 0. Returns the port to bind.
// A plain bind, released again at once: a socket that takes the port in between is not detected.
// An IPv6 `listen` takes IPv4 as well unless v6only (IPV6_V6ONLY, set explicitly: the sysctl
// net.ipv6.bindv6only must not decide).
Result<std::uint16_t> claim_free_port(const SocketAddress& listen, bool v6only = false);

class IngressSocket {
public:
    // Binds to `address` (a non-zero port) with SO_REUSEPORT and a receive buffer of `receive_buffer` bytes, or
    // the largest the kernel grants (a warning says so). `name` ("strict") names it in the log. An IPv6 address
    // gives an AF_INET6 socket, dual-stack unless v6only.
    static Result<IngressSocket> bind(const SocketAddress& address, bool v6only, std::int64_t receive_buffer,
                                      const std::string& name, spdlog::logger& log);
    // Takes a socket the service manager bound (inherited_sockets.hpp) in place of bind(): refused unless it is a
    // UDP socket bound to exactly `address` with SO_REUSEPORT (and IPV6_V6ONLY as `v6only` says), as
    // tempos-mom.socket creates it; then configured as bind() configures its own.
    static Result<IngressSocket> adopt(UniqueFd fd, const SocketAddress& address, bool v6only,
                                       std::int64_t receive_buffer, const std::string& name, spdlog::logger& log);
    IngressSocket(IngressSocket&&) noexcept;
    IngressSocket& operator=(IngressSocket&&) = delete;
    IngressSocket(const IngressSocket&) = delete;

    int fd() const { return fd_.get(); }
    std::int64_t receive_buffer() const { return receive_buffer_; }

    // Reads the datagrams waiting (one recvmmsg batch, without blocking) into the socket's own buffers and calls
    // handle(data, size, ttl) for each, ttl its IP TTL or hop limit when the kernel reported it (received_ttl.hpp). Returns how
    // many were read, or -errno.
    using Handler = std::function<void(const std::uint8_t* data, std::size_t size, std::optional<int> ttl)>;
    int receive_batch(const Handler& handle);

    // Datagrams the kernel dropped at this socket (its receive buffer full) since it was bound: the larger of the
    // count SO_RXQ_OVFL reported with the last datagram read and the socket's current drop count (SO_MEMINFO),
    // so drops after the last read are not hidden until the next one.
    std::uint64_t drops() const;

private:
    IngressSocket(UniqueFd fd, std::int64_t receive_buffer);
    // SO_RXQ_OVFL, the received TTL and the receive buffer, for bind() and adopt() alike.
    static Result<IngressSocket> configure(UniqueFd fd, const SocketAddress& address, std::int64_t receive_buffer,
                                           const std::string& name, spdlog::logger& log);

    UniqueFd fd_;
    std::int64_t receive_buffer_ = 0;
    std::vector<std::uint8_t> buffers_;  // one maximum-size datagram per batch slot
    std::vector<std::uint8_t> control_;  // one SO_RXQ_OVFL control message per batch slot
    std::atomic<std::uint32_t> overflow_{0};
};

}  // namespace tempos::mom
