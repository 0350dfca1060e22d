#include "veth_peer_counters.hpp"

#include <linux/capability.h>
#include <pthread.h>

#include <chrono>

#include "device_xdp_info.hpp"
#include "tempos/thread_capabilities.hpp"

namespace tempos::xdp {

Result<std::unique_ptr<VethPeerCounters>> VethPeerCounters::start(std::shared_ptr<spdlog::logger> log) {
    std::unique_ptr<VethPeerCounters> counters(new VethPeerCounters(std::move(log)));
    try {
        counters->thread_ = std::thread([c = counters.get()] { c->run(); });
    } catch (const std::system_error& e) {
        return Status::error(ErrorCode::system_error, std::string("veth peer counters: no thread: ") + e.what());
    }
    return counters;
}

VethPeerCounters::~VethPeerCounters() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::map<int, Result<PeerDrops>> VethPeerCounters::read(const std::vector<int>& veths) {
    std::lock_guard one_reader(reader_);
    std::unique_lock lock(mutex_);
    asked_ = veths;
    const std::uint64_t request = ++requested_;
    changed_.notify_all();
    if (!changed_.wait_for(lock, std::chrono::seconds(1), [&] { return answered_ >= request || stopping_; }) ||
        answered_ < request) {
        std::map<int, Result<PeerDrops>> none;
        for (const int ifindex : veths)
            none.emplace(ifindex, Status::error(ErrorCode::system_error, "the veth peer counter thread did not answer"));
        return none;
    }
    return answer_;
}

void VethPeerCounters::run() noexcept {
    try {
        pthread_setname_np(pthread_self(), "tempos-vethpeer");
        if (Status dropped = drop_thread_capabilities(std::uint64_t{1} << CAP_NET_ADMIN); !dropped)
            log_->error("the veth peer counter thread kept all of its capabilities: {}", dropped.message());
        std::unique_lock lock(mutex_);
        for (;;) {
            changed_.wait(lock, [&] { return stopping_ || requested_ > answered_; });
            if (stopping_) return;
            const std::uint64_t request = requested_;
            const std::vector<int> asked = asked_;
            lock.unlock();
            std::map<int, Result<PeerDrops>> answer;
            for (const int ifindex : asked) answer.emplace(ifindex, veth_peer_drops(ifindex));
            lock.lock();
            answer_ = std::move(answer);
            answered_ = request;
            changed_.notify_all();
        }
    } catch (const std::exception& e) {
        log_->error("veth peer counters stopped: {}; veth ring-full drops are no longer exported", e.what());
    } catch (...) {
        log_->error("veth peer counters stopped; veth ring-full drops are no longer exported");
    }
}

}  // namespace tempos::xdp
