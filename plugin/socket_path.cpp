#include "socket_path.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

#include "tempos/system_status.hpp"

namespace tempos::xdp {

Result<std::unique_ptr<SocketPath>> SocketPath::open() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return system_status("UDP socket", errno);
    return std::unique_ptr<SocketPath>(new SocketPath(fd));
}

SocketPath::~SocketPath() { ::close(fd_); }

void SocketPath::set_topic(const TopicConfig& topic) {
    auto route = std::make_shared<Route>(topic.groups.size());
    for (std::size_t g = 0; g < topic.groups.size(); ++g) {
        for (const Endpoint& member : topic.groups[g].members) {
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_port = htons(member.port);
            std::memcpy(&address.sin_addr.s_addr, member.ip.data(), member.ip.size());
            route->groups[g].members.push_back(address);
        }
    }
    std::unique_lock lock(routes_mutex_);
    routes_[topic.id] = std::move(route);
}

void SocketPath::remove_topic(std::uint8_t topic) {
    std::unique_lock lock(routes_mutex_);
    routes_[topic].reset();
}

bool SocketPath::has_topic(std::uint8_t topic) const { return route(topic) != nullptr; }

std::shared_ptr<SocketPath::Route> SocketPath::route(std::uint8_t topic) const {
    std::shared_lock lock(routes_mutex_);
    return routes_[topic];
}

Status SocketPath::send(std::uint8_t topic, std::span<const std::uint8_t> payload) {
    const std::shared_ptr<Route> route = this->route(topic);
    if (!route)
        return Status::error(ErrorCode::invalid_argument, "topic " + std::to_string(topic) + " is not configured");
    const std::size_t copies = route->groups.size();
    if (copies == 0) return Status::ok();

    iovec data{const_cast<std::uint8_t*>(payload.data()), payload.size()};
    std::vector<mmsghdr> messages(copies);
    for (std::size_t g = 0; g < copies; ++g) {
        Group& group = route->groups[g];
        const std::uint32_t pick = group.next.fetch_add(1, std::memory_order_relaxed) % group.members.size();
        msghdr& header = messages[g].msg_hdr;
        header.msg_name = &group.members[pick];  // the kernel only reads it
        header.msg_namelen = sizeof(sockaddr_in);
        header.msg_iov = &data;
        header.msg_iovlen = 1;
    }

    AtomicCounters& counters = counters_[topic];
    std::size_t done = 0;
    std::uint64_t failed = 0;
    int last_error = 0;
    // Every iteration either sends >= 1 message or skips the one that failed: at most `copies` rounds.
    while (done < copies) {
        const int sent = ::sendmmsg(fd_, messages.data() + done, static_cast<unsigned>(copies - done), 0);
        if (sent > 0) {
            done += static_cast<std::size_t>(sent);
        } else {
            last_error = sent < 0 ? errno : EIO;
            ++failed;
            ++done;
        }
    }
    const std::uint64_t delivered = copies - failed;
    counters.sent.fetch_add(delivered, std::memory_order_relaxed);
    counters.bytes.fetch_add(delivered * payload.size(), std::memory_order_relaxed);
    if (failed == 0) return Status::ok();
    counters.errors.fetch_add(failed, std::memory_order_relaxed);
    return Status::error(ErrorCode::system_error, "topic " + std::to_string(topic) + ": " + std::to_string(failed) +
                                                      " of " + std::to_string(copies) +
                                                      " copies not sent: " + std::strerror(last_error));
}

SocketCounters SocketPath::counters(std::uint8_t topic) const {
    const AtomicCounters& c = counters_[topic];
    return {c.sent.load(std::memory_order_relaxed), c.bytes.load(std::memory_order_relaxed),
            c.errors.load(std::memory_order_relaxed)};
}

}  // namespace tempos::xdp
