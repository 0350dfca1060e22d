#include "ingress.hpp"

#include <poll.h>
#include <pthread.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "fatal.hpp"
#include "received_ttl.hpp"
#include "tempos/thread_capabilities.hpp"

namespace tempos::mom {

namespace {
constexpr int kPollIntervalMs = 100;  // bounds how long stop() waits for the threads

// Which families an IPv6 listener takes, for the log.
std::string family_note(const SocketAddress& listen, bool v6only) {
    if (!listen.ip6) return "";
    if (*listen.ip6 != Ipv6{}) return " (IPv6 only)";
    return v6only ? " (IPv6 only, v6only)" : " (IPv6 and IPv4, dual-stack)";
}
}  // namespace

Ingress::Ingress(const TopicTable& topics, EventQueue& sq, EventQueue& bq, MomCounters& counters,
                 const LogContext& log)
    : topics_(topics), sq_(sq), bq_(bq), counters_(counters), log_(log.make_logger("ingress")) {}

Ingress::~Ingress() { stop(); }

std::string Ingress::thread_name(Path socket) { return std::string("tempos-rx-") + path_name(socket); }

Status Ingress::bind(const SocketAddress& listen, std::int64_t receive_buffer, bool v6only,
                     std::vector<UniqueFd> inherited) {
    if (!inherited.empty() && (inherited.size() != receivers_.size() || listen.port == 0))
        return Status::error(ErrorCode::invalid_argument,
                             "the service manager passed " + std::to_string(inherited.size()) +
                                 " socket(s); tempos-mom takes exactly " + std::to_string(receivers_.size()) +
                                 ", both bound to [mom] listen with its port given (tempos-mom.socket: "
                                 "ListenDatagram= twice, ReusePort=yes)");
    const Result<std::uint16_t> port =
        inherited.empty() ? claim_free_port(listen, v6only) : Result<std::uint16_t>(listen.port);
    if (!port) return port.status();
    const SocketAddress address{listen.ip, *port, listen.ip6};
    for (std::size_t i = 0; i < receivers_.size(); ++i) {
        Receiver& receiver = receivers_[i];
        const char* name = receiver.path == Path::sq ? "strict" : "best-effort";
        Result<IngressSocket> socket =
            inherited.empty()
                ? IngressSocket::bind(address, v6only, receive_buffer, name, *log_)
                : IngressSocket::adopt(std::move(inherited[i]), address, v6only, receive_buffer, name, *log_);
        if (!socket) {
            for (Receiver& r : receivers_) r.socket.reset();
            return socket.status();
        }
        receiver.socket.emplace(std::move(*socket));
    }
    bound_ = address;

    Result<std::unique_ptr<IngressSteering>> steering = IngressSteering::load();
    Status attached = steering ? (*steering)->attach(receivers_[0].socket->fd(), receivers_[1].socket->fd())
                               : steering.status();
    if (attached) {
        steering_ = std::move(*steering);
        log_->info("listening on udp {}{}: strict and best-effort topics in separate sockets (steered by topic){}",
                   format_socket_address(bound_), family_note(bound_, v6only),
                   inherited.empty() ? "" : "; both sockets from the service manager (held across restarts)");
    } else {
        log_->warn("listening on udp {}{} WITHOUT isolation: the ingress steering program is unavailable ({}); "
                   "strict and best-effort events share both sockets (tempos_ingress_isolated 0)",
                   format_socket_address(bound_), family_note(bound_, v6only), attached.message());
    }
    return Status::ok();
}

std::int64_t Ingress::receive_buffer() const {
    return receivers_[0].socket ? receivers_[0].socket->receive_buffer() : 0;
}

void Ingress::steer(std::uint8_t topic, std::optional<Path> path) {
    if (!steering_) return;
    if (Status set = steering_->set_path(topic, path.value_or(Path::bq)); !set)
        log_->error("topic {} may reach the wrong ingress socket: {}", topic, set.message());
}

void Ingress::start(int strict_priority) {
    stopping_ = false;
    for (Receiver& receiver : receivers_) {
        if (!receiver.socket) continue;
        const int priority = receiver.path == Path::sq ? strict_priority : 0;
        receiver.thread = std::thread([this, &receiver, priority] { run(receiver, priority); });
    }
}

void Ingress::stop() {
    stopping_ = true;
    for (Receiver& receiver : receivers_)
        if (receiver.thread.joinable()) receiver.thread.join();
}

std::uint64_t Ingress::socket_drops(Path socket) const {
    const Receiver& receiver = receivers_[static_cast<int>(socket)];
    return receiver.socket ? receiver.socket->drops() : 0;
}

// The strict receiver under SCHED_FIFO, like the strict dispatcher: a best-effort flood keeping the CPUs busy
// must not keep it from reading. If the kernel refuses, it warns and goes on under SCHED_OTHER.
void Ingress::apply_scheduling(Path path, int priority) {
    if (priority <= 0) return;
    sched_param param{};
    param.sched_priority = priority;
    if (const int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param); rc != 0)
        log_->warn("cannot run the {} receiver under SCHED_FIFO priority {}: {}; continuing under SCHED_OTHER",
                   path_name(path), priority, std::strerror(rc));
    else
        log_->info("{} receiver runs under SCHED_FIFO priority {}", path_name(path), priority);
}

void Ingress::run(Receiver& receiver, int priority) noexcept {
    try {
        pthread_setname_np(pthread_self(), thread_name(receiver.path).c_str());
        apply_scheduling(receiver.path, priority);
        // SCHED_FIFO taken: this thread needs no capability any more.
        if (Status dropped = drop_thread_capabilities(); !dropped)
            log_->error("capabilities not dropped: {}", dropped.message());
        IngressSocket& socket = *receiver.socket;
        const auto handle = [this, &receiver](const std::uint8_t* data, std::size_t size, std::optional<int> ttl) {
            // Re-sent, it would leave with a fresh TTL: a loop through this MoM would never end.
            if (ttl_expired(ttl)) {
                counters_.ttl_expired.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            classify(receiver.path, data, size);
        };
        while (!stopping_.load(std::memory_order_relaxed)) {
            pollfd pfd{socket.fd(), POLLIN, 0};
            int ready = ::poll(&pfd, 1, kPollIntervalMs);
            if (ready > 0 && fault_injected(FaultPoint::ingress_poll)) {
                ready = -1;
                errno = EIO;
            }
            if (ready < 0 && errno != EINTR) {
                const std::string reason = std::string("the ") + path_name(receiver.path) + " receiver stopped: poll(): " + std::strerror(errno);
                log_->critical("{}", reason);
                raise_fatal(reason);
                break;
            }
            if (ready <= 0) continue;
            const int read = socket.receive_batch(handle);
            if (read < 0 && read != -EAGAIN && read != -EINTR) {
                counters_.receive_errors.fetch_add(1, std::memory_order_relaxed);
                log_->warn("recvmmsg(): {}", std::strerror(-read));
            }
        }
    } catch (const std::exception& e) {
        log_->critical("{} receiver thread stopped: {}", path_name(receiver.path), e.what());
        raise_fatal(std::string("the ") + path_name(receiver.path) + " receiver stopped: " + e.what());
    } catch (...) {
        raise_fatal(std::string("the ") + path_name(receiver.path) + " receiver stopped: an unknown exception");
    }
}

void Ingress::classify(Path socket, const std::uint8_t* data, std::size_t size) {
    IngressSocketCounters& by_socket = counters_.ingress_sockets[static_cast<int>(socket)];
    if (size == 0) {
        by_socket.datagrams[kNoClass].fetch_add(1, std::memory_order_relaxed);
        counters_.empty_datagrams.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const std::uint8_t topic = data[0];
    const auto path = topics_.route(topic);
    if (!path) {
        by_socket.datagrams[kNoClass].fetch_add(1, std::memory_order_relaxed);
        counters_.unknown_topic.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    by_socket.datagrams[static_cast<int>(*path)].fetch_add(1, std::memory_order_relaxed);
    PathCounters& c = counters_.at(topic, *path);
    c.received.fetch_add(1, std::memory_order_relaxed);
    EventQueue& queue = *path == Path::sq ? sq_ : bq_;
    if (queue.try_push(Event{topic, std::vector<std::uint8_t>(data, data + size)}))
        c.queued.fetch_add(1, std::memory_order_relaxed);
    else
        c.dropped.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace tempos::mom
