// A real adapter for tests: it delivers nothing on the network but records every call, one line each,
// appended to the file named by the option `record_file`:
//   connect interface=I mom=IP:PORT
//   configure_qos topic=T qos=strict|best-effort groups=N
//   remove_topic topic=T
//   send topic=T group=G member=IP:PORT policy=SCHED_FIFO|SCHED_OTHER thread=NAME payload=HEX
//   close
// `send` lines are one per group copy, with the member chosen round-robin within that group, and record the
// scheduling policy and name of the calling thread so tests can see which dispatcher delivered the event.
// Option `fail_on = "connect" | "configure_qos"` makes that call fail, to test the host's error paths;
// `fail_on = "configure_qos_throws"` makes configure_qos throw, to test the plugin boundary (adapter_boundary.hpp).
// Option `hold_file = PATH`: send() waits while that file exists (at most 30 s a call), so that a test can keep
// events queued in the MoM (the SIGTERM drain).
// `fail_topic = "T"` makes configure_qos of topic T fail and `fail_on = "remove_topic"` every remove_topic, to
// test a reload whose rollback fails.
#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include <boost/dll/alias.hpp>
#include <spdlog/logger.h>

#include "tempos/adapter.hpp"
#include "tempos/adapter_boundary.hpp"
#include "recording_test_support.hpp"

namespace {

using tempos::at_boundary;
using tempos::ErrorCode;
using tempos::Status;

std::string ip_port(const tempos::Ipv4& ip, std::uint16_t port, const std::optional<tempos::Ipv6>& ip6 = std::nullopt) {
    if (ip6) {
        char text[INET6_ADDRSTRLEN] = {};
        inet_ntop(AF_INET6, ip6->data(), text, sizeof text);
        return "[" + std::string(text) + "]:" + std::to_string(port);
    }
    return std::to_string(ip[0]) + "." + std::to_string(ip[1]) + "." + std::to_string(ip[2]) + "." +
           std::to_string(ip[3]) + ":" + std::to_string(port);
}

std::string calling_thread() {
    const char* policy = "SCHED_OTHER";
    switch (sched_getscheduler(0)) {
        case SCHED_FIFO: policy = "SCHED_FIFO"; break;
        case SCHED_RR: policy = "SCHED_RR"; break;
        default: break;
    }
    char name[32] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    return std::string("policy=") + policy + " thread=" + name;
}

class RecordingAdapter final : public tempos::Adapter {
public:
    explicit RecordingAdapter(const tempos::AdapterEnv& env)
        : log_(std::make_shared<spdlog::logger>("recording", env.log_sinks.begin(), env.log_sinks.end())) {
        log_->set_level(env.log_level);
    }
    ~RecordingAdapter() override { close(); }

    std::string name() const noexcept override { return "recording"; }

    // A limit to test the host's use of the checks with (the xdp adapter has one of 16 groups): at most
    // kMaxGroups subscription groups per topic. Option `refuse = "channel"` makes check_channel refuse.
    // connect() and configure_qos() refuse the same, as the contract requires. Like every adapter method (noexcept,
    // adapter.hpp), each runs through at_boundary: an exception becomes a Status.
    static constexpr std::size_t kMaxGroups = 3;
    Status check_channel(const tempos::ChannelConfig& channel) const noexcept override {
        return at_boundary("check_channel", [&]() -> Status {
            const auto refuse = channel.options.find("refuse");
            if (refuse != channel.options.end() && refuse->second == "channel")
                return Status::error(ErrorCode::invalid_argument, "refuse = channel");
            return Status::ok();
        });
    }
    Status check_topic(const tempos::TopicConfig& topic) const noexcept override {
        return at_boundary("check_topic", [&]() -> Status {
            if (topic.groups.empty()) return Status::error(ErrorCode::invalid_argument, "topic without groups");
            if (topic.groups.size() > kMaxGroups)
                return Status::error(ErrorCode::invalid_argument, std::to_string(topic.groups.size()) +
                                                                      " groups, the recording adapter takes at most " +
                                                                      std::to_string(kMaxGroups));
            return Status::ok();
        });
    }

    Status connect(const tempos::ChannelConfig& channel) noexcept override {
        return at_boundary("connect", [&]() -> Status {
            std::lock_guard lock(mutex_);
            if (Status valid = check_channel(channel); !valid) return valid;
            for (const auto& [key, value] : channel.options) {
                if (key == "record_file") {
                    fd_ = ::open(value.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                    if (fd_ < 0)
                        return Status::error(ErrorCode::system_error,
                                             "cannot open record_file " + value + ": " + std::strerror(errno));
                } else if (key == "fail_on") {
                    fail_on_ = value;
                } else if (key == "hold_file") {
                    hold_file_ = value;
                } else if (key == "fail_topic") {
                    fail_topic_ = value;
                } else if (key == "refuse") {
                    // handled by check_channel
                } else {
                    log_->warn("ignoring option {} = {}", key, value);
                }
            }
            if (fail_on_ == "connect") return Status::error(ErrorCode::unsupported, "fail_on = connect");
            connected_ = true;
            record("connect interface=" + channel.interface + " mom=" + ip_port(channel.mom_address, channel.port, channel.mom_address6));
            return Status::ok();
        });
    }

    Status configure_qos(const tempos::TopicConfig& topic) noexcept override {
        return at_boundary("configure_qos", [&]() -> Status {
            std::lock_guard lock(mutex_);
            if (!connected_) return Status::error(ErrorCode::not_connected, "configure_qos before connect");
            if (fail_on_ == "configure_qos")
                return Status::error(ErrorCode::invalid_argument, "fail_on = configure_qos");
            if (fail_on_ == "configure_qos_throws") throw std::runtime_error("fail_on = configure_qos_throws");
            if (fail_topic_ == std::to_string(topic.id))
                return Status::error(ErrorCode::invalid_argument, "fail_topic = " + fail_topic_);
            if (Status valid = check_topic(topic); !valid) return valid;
            auto& state = topics_[topic.id];
            state.config = topic;
            state.next_member.assign(topic.groups.size(), 0);
            record("configure_qos topic=" + std::to_string(topic.id) +
                   " qos=" + (topic.qos == tempos::Qos::strict ? "strict" : "best-effort") +
                   " groups=" + std::to_string(topic.groups.size()));
            return Status::ok();
        });
    }

    Status remove_topic(std::uint8_t topic) noexcept override {
        return at_boundary("remove_topic", [&]() -> Status {
            std::lock_guard lock(mutex_);
            if (!connected_) return Status::error(ErrorCode::not_connected, "remove_topic before connect");
            if (fail_on_ == "remove_topic") return Status::error(ErrorCode::system_error, "fail_on = remove_topic");
            topics_.erase(topic);
            record("remove_topic topic=" + std::to_string(topic));
            return Status::ok();
        });
    }

    Status send(std::uint8_t topic, std::span<const std::uint8_t> payload) noexcept override {
        return at_boundary("send", [&]() -> Status {
            const std::string thread = calling_thread();
            hold();
            std::lock_guard lock(mutex_);
            if (!connected_) return Status::error(ErrorCode::not_connected, "send after close");
            const auto it = topics_.find(topic);
            if (it == topics_.end())
                return Status::error(ErrorCode::invalid_argument, "topic " + std::to_string(topic) + " not configured");
            auto& state = it->second;
            auto& stats = stats_[topic];
            for (std::size_t g = 0; g < state.config.groups.size(); ++g) {
                const auto& members = state.config.groups[g].members;
                const auto& member = members[state.next_member[g]];
                state.next_member[g] = (state.next_member[g] + 1) % members.size();
                record("send topic=" + std::to_string(topic) + " group=" + std::to_string(g) +
                       " member=" + ip_port(member.ip, member.port, member.ip6) + " " + thread +
                       " payload=" + tempos::test::to_hex(payload));
                ++stats.socket_sent;
                stats.socket_bytes += payload.size();
            }
            return Status::ok();
        });
    }

    tempos::AdapterStats stats() const noexcept override {
        try {
            std::lock_guard lock(mutex_);
            tempos::AdapterStats all;
            all.mode = "recording";
            for (const auto& [topic, counters] : stats_) {
                tempos::TopicStats t = counters;
                t.topic = topic;
                all.topics.push_back(t);
            }
            return all;
        } catch (...) {
            return {};
        }
    }

    void close() noexcept override {
        try {
            std::lock_guard lock(mutex_);
            if (!connected_ && fd_ < 0) return;
            if (connected_) record("close");
            connected_ = false;
            if (fd_ >= 0) ::close(fd_);
            fd_ = -1;
        } catch (...) {
            // record() failed to build its line: the file stays open until the adapter is destroyed
        }
    }

private:
    struct TopicState {
        tempos::TopicConfig config;
        std::vector<std::size_t> next_member;  // per group
    };

    void hold() const {
        if (hold_file_.empty()) return;
        for (int i = 0; i < 30000 && ::access(hold_file_.c_str(), F_OK) == 0; ++i) ::usleep(1000);
    }

    // One write per line: O_APPEND keeps lines whole even for readers in another process.
    void record(const std::string& line) {
        if (fd_ < 0) return;
        const std::string text = line + "\n";
        if (::write(fd_, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
            log_->error("cannot append to record_file: {}", std::strerror(errno));
    }

    std::shared_ptr<spdlog::logger> log_;
    mutable std::mutex mutex_;
    int fd_ = -1;
    bool connected_ = false;
    std::string fail_on_;
    std::string hold_file_;  // set in connect(), read by send() afterwards
    std::string fail_topic_;
    std::map<std::uint8_t, TopicState> topics_;
    std::map<std::uint8_t, tempos::TopicStats> stats_;
};

tempos::Adapter* create_recording_adapter(const tempos::AdapterEnv& env) noexcept {
    try {
        return new RecordingAdapter(env);
    } catch (...) {
        return nullptr;
    }
}

}  // namespace

TEMPOS_DECLARE_ADAPTER(create_recording_adapter)
