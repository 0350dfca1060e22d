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
    auto path = std::unique_ptr<SocketPath>(new SocketPath(std::move(*strict), std::move(*best_effort)));
    // A host without IPv6 (ipv6.disable=1, or a sandbox without AF_INET6) still serves IPv4 topics; a topic with an
    // IPv6 member is refused there (check_topic).
    Result<ClassSocket> strict6 = ClassSocket::open(Qos::strict, AF_INET6);
    Result<ClassSocket> best_effort6 = strict6 ? ClassSocket::open(Qos::best_effort, AF_INET6)
                                               : Result<ClassSocket>(strict6.status());
    if (!best_effort6) {
        path->ipv6_ = best_effort6.status();
        return path;
    }
    path->strict6_.emplace(std::move(*strict6));
    path->best_effort6_.emplace(std::move(*best_effort6));
    return path;
}

const ClassSocket* SocketPath::socket6(Qos qos) const {
    const std::optional<ClassSocket>& socket = qos == Qos::strict ? strict6_ : best_effort6_;
    return socket ? &*socket : nullptr;
}

Status SocketPath::check_topic(const TopicConfig& topic) const {
    if (ipv6_) return Status::ok();
    for (const SubscriptionGroup& group : topic.groups)
        for (const Endpoint& member : group.members)
            if (member.ip6)
                return Status::error(ErrorCode::invalid_argument,
                                     "topic " + std::to_string(topic.id) +
                                         " has an IPv6 subscriber, and this host cannot open IPv6 sockets (" +
                                         ipv6_.message() + ")");
    return Status::ok();
}

void SocketPath::set_topic(const TopicConfig& topic) {
    auto route = std::make_shared<Route>(topic.qos, topic.groups.size());
    for (std::size_t g = 0; g < topic.groups.size(); ++g) {
        for (const Endpoint& endpoint : topic.groups[g].members) {
            Member member{};
            member.ipv6 = endpoint.ip6.has_value();
            if (member.ipv6) {
                member.address.v6.sin6_family = AF_INET6;
                member.address.v6.sin6_port = htons(endpoint.port);
                std::memcpy(&member.address.v6.sin6_addr, endpoint.ip6->data(), endpoint.ip6->size());
            } else {
                member.address.v4.sin_family = AF_INET;
                member.address.v4.sin_port = htons(endpoint.port);
                std::memcpy(&member.address.v4.sin_addr.s_addr, endpoint.ip.data(), endpoint.ip.size());
            }
            route->groups[g].members.push_back(member);
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

std::size_t SocketPath::send_through(const ClassSocket& socket, std::uint8_t topic, std::span<mmsghdr> messages,
                                     std::span<int> errors) {
    if (messages.empty()) return 0;
    const ClassSocket::Sent sent = socket.send(messages, errors);
    for (const int err : errors)
        if (err != 0) count(topic, reason_of_errno(err));
    if (sent.errors_queued) read_error_queue(socket, kSendErrorQueueBatch);
    return sent.sent;
}

Status SocketPath::send(std::uint8_t topic, std::span<const std::uint8_t> payload) {
    const std::shared_ptr<Route> route = this->route(topic);
    if (!route)
        return Status::error(ErrorCode::invalid_argument, "topic " + std::to_string(topic) + " is not configured");
    const std::size_t copies = route->groups.size();
    if (copies == 0) return Status::ok();

    // IPv4 copies first, IPv6 ones after them: each family leaves through its own socket of the class.
    iovec data{const_cast<std::uint8_t*>(payload.data()), payload.size()};
    std::vector<mmsghdr> messages(copies);
    std::vector<int> errors(copies, 0);
    std::size_t ipv4 = 0, ipv6 = copies;
    for (std::size_t g = 0; g < copies; ++g) {
        Group& group = route->groups[g];
        const std::uint32_t pick = group.next.fetch_add(1, std::memory_order_relaxed) % group.members.size();
        Member& member = group.members[pick];
        msghdr& header = messages[member.ipv6 ? --ipv6 : ipv4++].msg_hdr;
        header.msg_name = &member.address;  // the kernel only reads it
        header.msg_namelen = member.ipv6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
        header.msg_iov = &data;
        header.msg_iovlen = 1;
    }

    std::size_t sent = send_through(socket(route->qos), topic, std::span(messages).first(ipv4),
                                    std::span(errors).first(ipv4));
    if (ipv4 < copies) {
        // set_topic() takes IPv6 members only where check_topic() found the AF_INET6 sockets.
        sent += send_through(*socket6(route->qos), topic, std::span(messages).subspan(ipv4),
                             std::span(errors).subspan(ipv4));
    }
    AtomicCounters& counters = counters_[topic];
    counters.sent.fetch_add(sent, std::memory_order_relaxed);
    counters.bytes.fetch_add(sent * payload.size(), std::memory_order_relaxed);
    if (sent == copies) return Status::ok();
    int last_error = 0;
    for (const int err : errors)
        if (err != 0) last_error = err;
    return Status::error(ErrorCode::system_error, "topic " + std::to_string(topic) + ": " +
                                                      std::to_string(copies - sent) + " of " +
                                                      std::to_string(copies) +
                                                      " copies not sent: " + std::strerror(last_error));
}

void SocketPath::collect_queued_errors() {
    read_error_queue(strict_, kCollectErrorQueueBatch);
    read_error_queue(best_effort_, kCollectErrorQueueBatch);
    if (strict6_) read_error_queue(*strict6_, kCollectErrorQueueBatch);
    if (best_effort6_) read_error_queue(*best_effort6_, kCollectErrorQueueBatch);
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
