#include "socket_path.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

namespace tempos::xdp {

namespace {
// Error-queue entries read by a dispatcher after a send: bounds the time it spends on them; the rest wait for the
// next send or collect_queued_errors(), which reads more (a queue holds a few hundred, bounded by SO_RCVBUF).
constexpr std::size_t kSendErrorQueueBatch = 64;
constexpr std::size_t kCollectErrorQueueBatch = 4096;
}  // namespace

Result<std::unique_ptr<SocketPath>> SocketPath::open() {
    Result<ClassSocket> strict = ClassSocket::open(Qos::strict);
    if (!strict) return strict.status().prefixed("strict send socket");
    Result<ClassSocket> best_effort = ClassSocket::open(Qos::best_effort);
    if (!best_effort) return best_effort.status().prefixed("best-effort send socket");
    return std::unique_ptr<SocketPath>(new SocketPath(std::move(*strict), std::move(*best_effort)));
}

void SocketPath::set_topic(const TopicConfig& topic) {
    auto route = std::make_shared<Route>(topic.qos, topic.groups.size());
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

void SocketPath::count(std::uint8_t topic, SendErrorReason reason) {
    counters_[topic].by_reason[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
}

void SocketPath::read_error_queue(const ClassSocket& socket, std::size_t limit) {
    socket.read_error_queue([this](std::uint8_t topic, SendErrorReason reason) { count(topic, reason); }, limit);
}

Status SocketPath::send(std::uint8_t topic, std::span<const std::uint8_t> payload) {
    const std::shared_ptr<Route> route = this->route(topic);
    if (!route)
        return Status::error(ErrorCode::invalid_argument, "topic " + std::to_string(topic) + " is not configured");
    const std::size_t copies = route->groups.size();
    if (copies == 0) return Status::ok();

    iovec data{const_cast<std::uint8_t*>(payload.data()), payload.size()};
    std::vector<mmsghdr> messages(copies);
    std::vector<int> errors(copies, 0);
    for (std::size_t g = 0; g < copies; ++g) {
        Group& group = route->groups[g];
        const std::uint32_t pick = group.next.fetch_add(1, std::memory_order_relaxed) % group.members.size();
        msghdr& header = messages[g].msg_hdr;
        header.msg_name = &group.members[pick];  // the kernel only reads it
        header.msg_namelen = sizeof(sockaddr_in);
        header.msg_iov = &data;
        header.msg_iovlen = 1;
    }

    const ClassSocket& socket = this->socket(route->qos);
    const ClassSocket::Sent sent = socket.send(messages, errors);
    AtomicCounters& counters = counters_[topic];
    counters.sent.fetch_add(sent.sent, std::memory_order_relaxed);
    counters.bytes.fetch_add(sent.sent * payload.size(), std::memory_order_relaxed);
    int last_error = 0;
    for (const int err : errors) {
        if (err == 0) continue;
        count(topic, reason_of_errno(err));
        last_error = err;
    }
    if (sent.errors_queued) read_error_queue(socket, kSendErrorQueueBatch);
    if (sent.sent == copies) return Status::ok();
    return Status::error(ErrorCode::system_error, "topic " + std::to_string(topic) + ": " +
                                                      std::to_string(copies - sent.sent) + " of " +
                                                      std::to_string(copies) +
                                                      " copies not sent: " + std::strerror(last_error));
}

void SocketPath::collect_queued_errors() {
    read_error_queue(strict_, kCollectErrorQueueBatch);
    read_error_queue(best_effort_, kCollectErrorQueueBatch);
}

SocketCounters SocketPath::counters(std::uint8_t topic) const {
    const AtomicCounters& c = counters_[topic];
    SocketCounters result{c.sent.load(std::memory_order_relaxed), c.bytes.load(std::memory_order_relaxed), 0, {}};
    for (std::size_t r = 0; r < kSendErrorReasons; ++r) {
        result.by_reason[r] = c.by_reason[r].load(std::memory_order_relaxed);
        if (!was_sent(static_cast<SendErrorReason>(r))) result.errors += result.by_reason[r];
    }
    return result;
}

}  // namespace tempos::xdp
