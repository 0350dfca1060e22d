#include "ingress.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <vector>

#include "tempos/system_status.hpp"

namespace tempos::mom {

namespace {
constexpr int kBatch = 32;
constexpr std::size_t kMaxDatagram = 65536;
constexpr int kPollIntervalMs = 100;  // bounds how long stop() waits for the thread
}  // namespace

Ingress::Ingress(const TopicTable& topics, EventQueue& sq, EventQueue& bq, MomCounters& counters,
                 const LogContext& log)
    : topics_(topics), sq_(sq), bq_(bq), counters_(counters), log_(log.make_logger("ingress")) {}

Ingress::~Ingress() {
    stop();
    if (fd_ >= 0) ::close(fd_);
}

Status Ingress::bind(const SocketAddress& listen, std::int64_t receive_buffer) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return system_status("socket()", errno);
    set_receive_buffer(receive_buffer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(listen.port);
    std::memcpy(&addr.sin_addr, listen.ip.data(), 4);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const int err = errno;
        ::close(fd_);
        fd_ = -1;
        return system_status("cannot bind UDP " + format_ipv4(listen.ip) + ":" + std::to_string(listen.port), err);
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    bound_.ip = listen.ip;
    bound_.port = ntohs(addr.sin_port);
    log_->info("listening on udp {}:{}", format_ipv4(bound_.ip), bound_.port);
    return Status::ok();
}

// A burst of best-effort events must wait in the socket, not be dropped by it: the default (rmem_default, often
// 208 KiB) holds only a few hundred datagrams. SO_RCVBUFFORCE (CAP_NET_ADMIN, which the XDP adapter needs anyway)
// may exceed net.core.rmem_max; without it the kernel caps SO_RCVBUF there, and the shortfall is said once.
void Ingress::set_receive_buffer(std::int64_t wanted) {
    const int request = static_cast<int>(wanted);
    if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &request, sizeof request) != 0)
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &request, sizeof request);
    int granted = 0;
    socklen_t len = sizeof granted;
    ::getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &granted, &len);
    granted /= 2;  // the kernel reports twice the size asked for (bookkeeping overhead included)
    receive_buffer_ = granted;
    if (granted < request)
        log_->warn("ingress receive buffer is {} bytes, {} asked for: raise net.core.rmem_max or grant "
                   "CAP_NET_ADMIN, or bursts may be dropped by the socket",
                   granted, request);
    else
        log_->info("ingress receive buffer: {} bytes", granted);
}

void Ingress::start() {
    stopping_ = false;
    buffers_.assign(kBatch * kMaxDatagram, 0);
    thread_ = std::thread([this] { run(); });
}

void Ingress::stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
}

void Ingress::run() noexcept {
    try {
        pthread_setname_np(pthread_self(), "tempos-ingress");
        while (!stopping_.load(std::memory_order_relaxed)) {
            pollfd pfd{fd_, POLLIN, 0};
            const int ready = ::poll(&pfd, 1, kPollIntervalMs);
            if (ready < 0 && errno != EINTR) {
                log_->error("poll(): {}", std::strerror(errno));
                break;
            }
            if (ready > 0) receive_batch();
        }
    } catch (const std::exception& e) {
        log_->critical("receiver thread stopped: {}", e.what());
    }
}

void Ingress::receive_batch() {
    std::array<iovec, kBatch> iov{};
    std::array<mmsghdr, kBatch> msgs{};
    for (int i = 0; i < kBatch; ++i) {
        iov[i] = {buffers_.data() + i * kMaxDatagram, kMaxDatagram};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = ::recvmmsg(fd_, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            counters_.receive_errors.fetch_add(1, std::memory_order_relaxed);
            log_->warn("recvmmsg(): {}", std::strerror(errno));
        }
        return;
    }
    for (int i = 0; i < n; ++i) classify(buffers_.data() + i * kMaxDatagram, msgs[i].msg_len);
}

void Ingress::classify(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        counters_.empty_datagrams.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const std::uint8_t topic = data[0];
    const auto path = topics_.route(topic);
    if (!path) {
        counters_.unknown_topic.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    PathCounters& c = counters_.at(topic, *path);
    c.received.fetch_add(1, std::memory_order_relaxed);
    EventQueue& queue = *path == Path::sq ? sq_ : bq_;
    if (queue.try_push(Event{topic, std::vector<std::uint8_t>(data, data + size)}))
        c.queued.fetch_add(1, std::memory_order_relaxed);
    else
        c.dropped.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace tempos::mom
