#include "mom.hpp"

#include <exception>
#include <functional>

#include "metrics_text.hpp"
#include "topic_diff.hpp"

namespace tempos::mom {

Mom::Mom(MomOptions options, const LogContext& log)
    : options_(std::move(options)),
      log_context_(log),
      log_(log.make_logger("mom")),
      sq_(options_.queue_capacity),
      bq_(options_.queue_capacity),
      adapters_(log),
      ingress_(topic_table_, sq_, bq_, counters_, log) {}

Mom::~Mom() { stop(); }

namespace {

// `status` at `where`: a location prefix as MomConfig::where gives it ("file:line: ", or "" when unknown).
Status located(const std::string& where, const Status& status) {
    return where.empty() ? status : Status::error(status.code(), where + status.message());
}

}  // namespace

Status Mom::start(const MomConfig& config) {
    if (started_) return Status::error(ErrorCode::invalid_argument, "the MoM is already started");
    started_ = true;
    // Bind first: adapters are told the port actually bound (it may have been 0).
    if (Status bound = ingress_.bind(config.listen, config.receive_buffer); !bound) return bound;

    if (Status opened = adapters_.open(config, ingress_.local_address().port, options_.plugin_dir,
                                       log_context_.adapter_env());
        !opened)
        return opened;
    if (adapters_.size() == 0) log_->warn("no adapter is enabled: events will be received and counted only");

    for (const auto& [id, topic] : config.topics) {
        if (Status configured = adapters_.configure_qos(topic); !configured) {
            adapters_.close();
            return located(config.where(id), configured);
        }
        topic_table_.set(id, topic.qos);
    }
    {
        std::lock_guard lock(config_mutex_);
        running_ = config;
    }

    if (config.metrics) {
        metrics_ = std::make_unique<MetricsServer>([this] { return metrics_text(); }, log_context_);
        if (Status serving = metrics_->start(*config.metrics); !serving) {
            adapters_.close();
            return serving;
        }
    }
    sq_dispatcher_ = std::make_unique<Dispatcher>(DispatcherPolicy{Path::sq, true, config.sq_priority}, sq_,
                                                  adapters_, counters_, log_context_);
    bq_dispatcher_ =
        std::make_unique<Dispatcher>(DispatcherPolicy{Path::bq, false, 0}, bq_, adapters_, counters_, log_context_);
    sq_dispatcher_->start();
    bq_dispatcher_->start();
    ingress_.start();
    log_->info("tempos-mom running: {} adapter(s), {} topic(s)", adapters_.size(), config.topics.size());
    return Status::ok();
}

Status Mom::reload() {
    const auto source = running_config().source;
    log_->info("reloading {}", source.string());
    const Result<MomConfig> loaded = load_config(source);
    if (!loaded) {
        counters_.reloads_failed.fetch_add(1);
        log_->error("reload refused, keeping the running configuration: {}", describe(loaded.status()));
        return loaded.status();
    }
    return apply(*loaded);
}

Status Mom::apply(const MomConfig& wanted) {
    const MomConfig running = running_config();
    warn_about_restart_only_changes(wanted);
    if (Status applied = apply_topics(running.topics, wanted); !applied) {
        counters_.reloads_failed.fetch_add(1);
        log_->error("reload refused, keeping the running configuration: {}", describe(applied));
        return applied;
    }
    {
        // Only the topics took effect; the rest of the running config stays as started.
        std::lock_guard lock(config_mutex_);
        running_.topics = wanted.topics;
        running_.source = wanted.source.empty() ? running_.source : wanted.source;
    }
    counters_.reloads_ok.fetch_add(1);
    return Status::ok();
}

Status Mom::apply_topics(const std::map<std::uint8_t, TopicConfig>& running, const MomConfig& wanted) {
    const TopicDiff diff = diff_topics(running, wanted.topics);
    if (diff.empty()) {
        log_->info("reload: no topic changed");
        return Status::ok();
    }
    // Undo steps for what already took effect, run in reverse if a later step fails.
    std::vector<std::function<void()>> undo;
    auto roll_back = [&] {
        for (auto it = undo.rbegin(); it != undo.rend(); ++it) (*it)();
    };
    for (const auto& topic : diff.added) {
        if (Status configured = adapters_.configure_qos(topic); !configured) {
            (void)adapters_.remove_topic(topic.id);  // some adapters may have taken it
            roll_back();
            return located(wanted.where(topic.id), configured);
        }
        topic_table_.set(topic.id, topic.qos);
        undo.push_back([this, id = topic.id] {
            topic_table_.erase(id);
            (void)adapters_.remove_topic(id);
        });
        log_->info("reload: topic {} added", topic.id);
    }
    for (const auto& topic : diff.changed) {
        const TopicConfig& old = running.at(topic.id);
        if (Status configured = adapters_.configure_qos(topic); !configured) {
            (void)adapters_.configure_qos(old);
            roll_back();
            return located(wanted.where(topic.id), configured);
        }
        topic_table_.set(topic.id, topic.qos);
        undo.push_back([this, old] {
            topic_table_.set(old.id, old.qos);
            (void)adapters_.configure_qos(old);
        });
        log_->info("reload: topic {} changed", topic.id);
    }
    for (const std::uint8_t id : diff.removed) {
        // Stop accepting the topic before the adapters forget it.
        topic_table_.erase(id);
        if (Status removed = adapters_.remove_topic(id); !removed) {
            const TopicConfig& old = running.at(id);
            (void)adapters_.configure_qos(old);
            topic_table_.set(id, old.qos);
            roll_back();
            return removed;
        }
        const TopicConfig& old = running.at(id);
        undo.push_back([this, old] {
            (void)adapters_.configure_qos(old);
            topic_table_.set(old.id, old.qos);
        });
        log_->info("reload: topic {} removed", id);
    }
    return Status::ok();
}

void Mom::warn_about_restart_only_changes(const MomConfig& wanted) const {
    const MomConfig running = running_config();
    if (!(wanted.listen == running.listen) || wanted.interface != running.interface ||
        wanted.metrics != running.metrics || wanted.sq_priority != running.sq_priority ||
        wanted.receive_buffer != running.receive_buffer ||
        wanted.adapters != running.adapters)
        log_->warn("reload: changes to [mom] or [[adapters]] need a restart; only topic changes are applied");
}

void Mom::stop() {
    if (!started_ || stopped_) return;
    stopped_ = true;
    ingress_.stop();
    sq_.close();
    bq_.close();
    if (sq_dispatcher_) sq_dispatcher_->stop();
    if (bq_dispatcher_) bq_dispatcher_->stop();
    if (metrics_) metrics_->stop();
    adapters_.close();
    log_->info("tempos-mom stopped; adapters closed");
}

std::optional<SocketAddress> Mom::metrics_address() const {
    if (!metrics_) return std::nullopt;
    return metrics_->local_address();
}

MomConfig Mom::running_config() const {
    std::lock_guard lock(config_mutex_);
    return running_;
}

std::string Mom::metrics_text() const {
    MetricsSnapshot snapshot;
    snapshot.counters = &counters_;
    snapshot.topics = running_config().topics;
    snapshot.sq_depth = sq_.depth();
    snapshot.sq_capacity = sq_.capacity();
    snapshot.bq_depth = bq_.depth();
    snapshot.bq_capacity = bq_.capacity();
    snapshot.adapters = adapters_.stats();
    return render_metrics(snapshot);
}

}  // namespace tempos::mom
