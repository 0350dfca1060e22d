// Each libmosquitto client runs its loop in the caller's thread (no loop thread): a publish goes straight out.
#include <mosquitto.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "peers.hpp"

namespace tempos::bench::peers {

namespace {

constexpr int kKeepaliveS = 60;
constexpr int kHandshakeMs = 3000;
constexpr int kStallMs = 2000;

Status mosq_error(const std::string& what, int rc) {
    return Status::error(ErrorCode::system_error, what + ": " + mosquitto_strerror(rc));
}

// A publisher or a subscriber of `topic`; callbacks land in this object, in the thread that runs its loop.
class MosquittoClient : public PeerConnection {
public:
    explicit MosquittoClient(std::string topic) : topic_(std::move(topic)) {
        static std::atomic<int> counter{0};
        const std::string id = "tempos-bench-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
        mosq_ = mosquitto_new(id.c_str(), true, this);
        if (!mosq_) return;
        mosquitto_connect_callback_set(
            mosq_, [](mosquitto*, void* self, int rc) { static_cast<MosquittoClient*>(self)->connack_ = rc; });
        mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int, int, const int*) {
            static_cast<MosquittoClient*>(self)->subscribed_ = true;
        });
        mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
            auto* c = static_cast<MosquittoClient*>(self);
            if (c->handler_)
                c->handler_(std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(m->payload),
                                                          static_cast<std::size_t>(m->payloadlen)));
        });
    }
    ~MosquittoClient() override {
        if (!mosq_) return;
        if (connack_ == 0) {
            mosquitto_disconnect(mosq_);
            mosquitto_loop(mosq_, 0, 1);
        }
        mosquitto_destroy(mosq_);
    }
    MosquittoClient(const MosquittoClient&) = delete;
    MosquittoClient& operator=(const MosquittoClient&) = delete;

    Status connect(const std::string& host, int port) {
        if (!mosq_) return Status::error(ErrorCode::system_error, "mosquitto_new failed");
        if (int rc = mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1); rc != MOSQ_ERR_SUCCESS)
            return mosq_error("MOSQ_OPT_TCP_NODELAY", rc);
        if (int rc = mosquitto_connect(mosq_, host.c_str(), port, kKeepaliveS); rc != MOSQ_ERR_SUCCESS)
            return mosq_error("connecting to mosquitto " + host + ":" + std::to_string(port), rc);
        if (Status st = loop_until([this] { return connack_ >= 0; }, "CONNACK"); !st) return st;
        if (connack_ != 0)
            return Status::error(ErrorCode::system_error, std::string("mosquitto refused the connection: ") +
                                                              mosquitto_connack_string(connack_));
        return Status::ok();
    }

    Status subscribe(PayloadHandler handler) {
        handler_ = std::move(handler);
        if (int rc = mosquitto_subscribe(mosq_, nullptr, topic_.c_str(), 0); rc != MOSQ_ERR_SUCCESS)
            return mosq_error("subscribe", rc);
        return loop_until([this] { return subscribed_; }, "SUBACK");
    }

    Status send(std::span<const std::uint8_t> payload) override {
        const int rc = mosquitto_publish(mosq_, nullptr, topic_.c_str(), static_cast<int>(payload.size()),
                                         payload.data(), 0, false);
        if (rc != MOSQ_ERR_SUCCESS) return mosq_error("publish", rc);
        // libmosquitto writes at once; what the socket did not take waits in its queue until the loop runs.
        return mosquitto_want_write(mosq_) ? flush() : Status::ok();
    }

    // Waits until everything queued is on the socket (bounded).
    Status flush() override {
        return within(
            kStallMs, "writing to mosquitto: no progress for 2 s", [this] { return !mosquitto_want_write(mosq_); },
            [this] { return receive(10); });
    }

    Status service() override { return receive(0); }
    Status receive(int timeout_ms) override {
        const int rc = mosquitto_loop(mosq_, timeout_ms, 1);
        return rc == MOSQ_ERR_SUCCESS ? Status::ok() : mosq_error("mosquitto_loop", rc);
    }

private:
    template <typename Done>
    Status loop_until(Done done, const char* what) {
        return within(kHandshakeMs, std::string("no ") + what + " from mosquitto", done,
                      [this] { return receive(50); });
    }

    std::string topic_;
    mosquitto* mosq_ = nullptr;
    int connack_ = -1;
    bool subscribed_ = false;
    PayloadHandler handler_;
};

// Mosquitto's defaults plus what a latency-minded user sets: TCP_NODELAY (its default leaves Nagle on, ~2 ms).
Result<std::vector<std::string>> command_line(const std::string& program_path, const std::string& ip, int port,
                                              const std::string& dir) {
    const std::string conf = dir + "/mosquitto.conf";
    std::ofstream out(conf);
    out << "# generated by tempos-bench peers\nlistener " << port << " " << ip << "\n"
        << "allow_anonymous true\nset_tcp_nodelay true\npersistence false\nlog_dest stderr\n"
        << "log_type error\nlog_type warning\nlog_type notice\n";
    out.close();
    if (!out) return measurement_error("writing " + conf + ": " + std::strerror(errno));
    return std::vector<std::string>{program_path, "-c", conf};
}

// libmosquitto has no batching of its own: each publish is one write, as for every libmosquitto user (at_once or not).
Result<std::unique_ptr<PeerConnection>> connect_client(const std::string& host, int port,
                                                       const std::string& topic, bool, PayloadHandler handler) {
    auto client = std::make_unique<MosquittoClient>(topic);
    TEMPOS_RETURN_IF_ERROR(client->connect(host, port));
    if (handler) TEMPOS_RETURN_IF_ERROR(client->subscribe(std::move(handler)));
    return std::unique_ptr<PeerConnection>(std::move(client));
}

}  // namespace

const Broker kMosquitto{"mosquitto", "mosquitto", "mosquitto", 1883, command_line, [] { mosquitto_lib_init(); },
                        connect_client};

}  // namespace tempos::bench::peers
