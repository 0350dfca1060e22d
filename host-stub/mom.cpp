#include "mom.hpp"

#include <chrono>
#include <exception>
#include <functional>

#include "fatal.hpp"
#include "loop_check.hpp"
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

// `table`'s entry `id` as it is in `running` (absent there: absent).
template <typename Table>
void keep_running_entry(Table& table, const Table& running, std::uint8_t id) {
    table.erase(id);
    if (const auto it = running.find(id); it != running.end()) table.emplace(id, it->second);
}

}  // namespace

Status Mom::start(const MomConfig& config) {
    if (started_) return Status::error(ErrorCode::invalid_argument, "the MoM is already started");
    started_ = true;
    if (Status loops = check_no_self_subscriber(config); !loops) return loops;
    // Bind first: adapters are told the port actually bound (it may have been 0).
    if (Status bound = ingress_.bind(config.listen, config.receive_buffer, config.v6only,
                                     std::move(options_.inherited_sockets));
        !bound)
        return bound;

    if (Status opened = adapters_.open(config, ingress_.local_address().port, options_.plugin_dir,
                                       log_context_.adapter_env());
        !opened)
        return opened;
    if (adapters_.size() == 0) log_->warn("no adapter is enabled: events will be received and counted only");

    if (Status limited = adapters_.configure_publisher_limit(config.publisher_limit); !limited) {
        adapters_.close();
        return limited;
    }
    // Every topic in one call to each adapter (one RCU grace period for the xdp adapter's routes, not one each).
    std::vector<TopicConfig> topics;
    for (const auto& [id, topic] : config.topics) topics.push_back(topic);
    const std::vector<Status> configured = adapters_.configure_topics(topics);
    for (std::size_t i = 0; i < topics.size(); ++i) {
        if (!configured[i]) {
            adapters_.close();
            return located(config.where(topics[i].id), configured[i]);
        }
    }
    for (const TopicConfig& topic : topics) set_topic_class(topic.id, topic.qos);
    if (Status removed = adapters_.remove_unconfigured(config.topics); !removed) {
        adapters_.close();
        return removed;
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
    sq_.set_capacity_bytes(static_cast<std::size_t>(config.queue_bytes));
    bq_.set_capacity_bytes(static_cast<std::size_t>(config.queue_bytes));
    sq_dispatcher_ = std::make_unique<Dispatcher>(DispatcherPolicy{Path::sq, true, config.sq_priority}, sq_,
                                                  adapters_, counters_, log_context_);
    bq_dispatcher_ =
        std::make_unique<Dispatcher>(DispatcherPolicy{Path::bq, false, 0}, bq_, adapters_, counters_, log_context_);
    sq_dispatcher_->start();
    bq_dispatcher_->start();
    ingress_.start(config.sq_priority);
    log_->info("tempos-mom running: {} adapter(s), {} topic(s)", adapters_.size(), config.topics.size());
    return Status::ok();
}

Status Mom::reload() {
    std::lock_guard apply_lock(apply_mutex_);
    const auto source = running_config().source;
    log_->info("reloading {}", source.string());
    Result<MomConfig> loaded = load_config(source);
    if (loaded && reload_overlay_) reload_overlay_(*loaded);
    if (!loaded) {
        counters_.reloads_failed.fetch_add(1);
        log_->error("reload refused, keeping the running configuration: {}", describe(loaded.status()));
        return loaded.status();
    }
    if (Status loops = check_no_self_subscriber(*loaded); !loops) {
        counters_.reloads_failed.fetch_add(1);
        log_->error("reload refused, keeping the running configuration: {}", describe(loops));
        return loops;
    }
    return apply_locked(*loaded);
}

Status Mom::apply(const MomConfig& wanted) {
    std::lock_guard apply_lock(apply_mutex_);
    return apply_locked(wanted);
}

Status Mom::update(const std::function<Status(MomConfig&)>& edit,
                   const std::function<void(const TopicRefusals&)>& on_applied) {
    std::lock_guard apply_lock(apply_mutex_);
    MomConfig wanted = running_config();
    if (Status edited = edit(wanted); !edited) return edited;
    // The rules a reload checks beyond the topics' own.
    if (Status loops = check_no_self_subscriber(wanted); !loops) return loops;
    const MomConfig running = running_config();
    // Nothing to change (a cluster key written with the value it had): no reload logged or counted.
    const bool unchanged = diff_topics(running.topics, wanted.topics).empty() &&
                           running.topic_locations == wanted.topic_locations;
    TopicRefusals refused;
    if (!unchanged) {
        if (Status applied = apply_locked(wanted, &refused); !applied) return applied;
    }
    if (on_applied) on_applied(refused);
    return refused.empty() ? Status::ok() : refused.begin()->second;
}

void Mom::set_reload_overlay(std::function<void(MomConfig&)> overlay) {
    reload_overlay_ = std::move(overlay);
}

void Mom::set_extra_metrics(std::function<std::string()> render) { extra_metrics_ = std::move(render); }

Status Mom::apply_locked(const MomConfig& wanted, TopicRefusals* refused) {
    const MomConfig running = running_config();
    warn_about_restart_only_changes(wanted);
    auto refuse = [&](const Status& why) {
        counters_.reloads_failed.fetch_add(1);
        log_->error("reload refused, keeping the running configuration: {}", describe(why));
        return why;
    };
    // The publisher limit first: if the topics then fail, it is put back.
    const bool publisher_limit_changed = wanted.publisher_limit != running.publisher_limit;
    if (publisher_limit_changed) {
        if (Status limited = adapters_.configure_publisher_limit(wanted.publisher_limit); !limited) {
            (void)adapters_.configure_publisher_limit(running.publisher_limit);
            return refuse(limited);
        }
        log_->info("reload: publisher limit changed");
    }
    if (Status applied = apply_topics(running.topics, wanted, refused); !applied) {
        if (publisher_limit_changed) (void)adapters_.configure_publisher_limit(running.publisher_limit);
        return refuse(applied);
    }
    // What runs now: `wanted`, but for the topics refused one by one, which keep their running value and origin.
    MomConfig applied = wanted;
    if (refused) {
        for (const auto& [id, why] : *refused) {
            counters_.reloads_failed.fetch_add(1);
            log_->error("topic {} refused, keeping its running configuration: {}", id, describe(why));
            keep_running_entry(applied.topics, running.topics, id);
            keep_running_entry(applied.topic_locations, running.topic_locations, id);
            keep_running_entry(applied.member_locations, running.member_locations, id);
        }
    }
    {
        // Only the topics and the publisher limit took effect; the rest of the running config stays as started.
        std::lock_guard lock(config_mutex_);
        running_.topics = applied.topics;
        // Where each topic comes from goes with it: errors name it, and the cluster tells its own topics by it.
        running_.topic_locations = applied.topic_locations;
        running_.member_locations = applied.member_locations;
        running_.publisher_limit = applied.publisher_limit;
        running_.source = applied.source.empty() ? running_.source : applied.source;
    }
    // A change whose every topic was refused took no effect.
    if (!refused || refused->empty() || !diff_topics(running.topics, applied.topics).empty())
        counters_.reloads_ok.fetch_add(1);
    return Status::ok();
}

Status Mom::apply_topics(const std::map<std::uint8_t, TopicConfig>& running, const MomConfig& wanted,
                         TopicRefusals* refused) {
    const TopicDiff diff = diff_topics(running, wanted.topics);
    if (diff.empty()) {
        log_->info("reload: no topic changed");
        return Status::ok();
    }
    // Undo steps for what already took effect, run in reverse if a later step fails. A step that fails leaves the
    // adapters and the running state apart, which no file describes: that ends the process (roll_back_failed).
    std::vector<std::function<Status()>> undo;
    auto roll_back = [&](Status failure) {
        for (auto it = undo.rbegin(); it != undo.rend(); ++it)
            if (Status step = (*it)(); !step) roll_back_failed(failure, step);
        return failure;
    };
    // A topic that failed gets its running value back (or none, if it was new); without that, nothing runs it.
    auto restore = [&](std::uint8_t id, const Status& failure) {
        const auto old = running.find(id);
        const Status step = old == running.end() ? adapters_.remove_topic(id) : adapters_.configure_qos(old->second);
        if (!step) roll_back_failed(failure, step);
    };
    // Added and changed topics in one call to each adapter, so that it can publish them together.
    std::vector<TopicConfig> batch = diff.added;
    batch.insert(batch.end(), diff.changed.begin(), diff.changed.end());
    const std::vector<Status> results = adapters_.configure_topics(batch);
    Status first_failure = Status::ok();
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const TopicConfig& topic = batch[i];
        const bool added = i < diff.added.size();
        if (!results[i]) {
            const Status why = located(wanted.where(topic.id), results[i]);
            restore(topic.id, why);
            if (refused) {
                refused->emplace(topic.id, why);
            } else if (first_failure) {
                first_failure = why;
            }
            continue;
        }
        set_topic_class(topic.id, topic.qos);
        if (added) {
            undo.push_back([this, id = topic.id] {
                erase_topic_class(id);
                return adapters_.remove_topic(id);
            });
        } else {
            undo.push_back([this, old = running.at(topic.id)] {
                set_topic_class(old.id, old.qos);
                return adapters_.configure_qos(old);
            });
        }
        log_->info("reload: topic {} {}", topic.id, added ? "added" : "changed");
    }
    if (!first_failure) return roll_back(first_failure);
    // Removed topics in one call to each adapter too. Stop accepting them before the adapters forget them.
    for (const std::uint8_t id : diff.removed) erase_topic_class(id);
    const std::vector<Status> removed = adapters_.remove_topics(diff.removed);
    for (std::size_t i = 0; i < diff.removed.size(); ++i) {
        const TopicConfig& old = running.at(diff.removed[i]);
        if (!removed[i]) {
            set_topic_class(old.id, old.qos);
            restore(old.id, removed[i]);
            if (refused)
                refused->emplace(old.id, removed[i]);
            else if (first_failure)
                first_failure = removed[i];
            continue;
        }
        undo.push_back([this, old] {
            set_topic_class(old.id, old.qos);
            return adapters_.configure_qos(old);
        });
        log_->info("reload: topic {} removed", old.id);
    }
    if (!first_failure) return roll_back(first_failure);
    return Status::ok();
}

void Mom::roll_back_failed(const Status& failure, const Status& step) {
    counters_.rollbacks_failed.fetch_add(1);
    const std::string reason = "a reload failed (" + describe(failure) + ") and undoing it failed too (" +
                               describe(step) + "): the adapters no longer match the running configuration";
    log_->error("{}; exiting so that the supervisor restarts tempos-mom from the file", reason);
    raise_fatal(reason);
}

void Mom::warn_about_restart_only_changes(const MomConfig& wanted) const {
    const MomConfig running = running_config();
    if (!(wanted.listen == running.listen) || wanted.v6only != running.v6only || wanted.interface != running.interface ||
        wanted.metrics != running.metrics || wanted.sq_priority != running.sq_priority ||
        wanted.receive_buffer != running.receive_buffer || wanted.drain_timeout != running.drain_timeout ||
        wanted.queue_bytes != running.queue_bytes ||
        wanted.adapters != running.adapters || wanted.cluster != running.cluster)
        log_->warn("reload: changes to [mom] (but its publisher limit), [[adapters]] or [cluster] need a restart; only topic "
                   "and publisher limit changes are applied");
}

void Mom::stop() {
    if (!started_ || stopped_) return;
    stopped_ = true;
    ingress_.stop();
    sq_.close();
    bq_.close();
    drain();
    if (metrics_) metrics_->stop();
    adapters_.close();
    log_->info("tempos-mom stopped; adapters closed");
}

// The topic table and the ingress steering program's map change together.
void Mom::set_topic_class(std::uint8_t topic, Qos qos) {
    topic_table_.set(topic, qos);
    ingress_.steer(topic, topic_table_.route(topic));
}

void Mom::erase_topic_class(std::uint8_t topic) {
    topic_table_.erase(topic);
    ingress_.steer(topic, std::nullopt);
}

// The dispatchers send what is queued until both queues are empty or drain_timeout has passed; what is left is
// counted as abandoned. Then the totals of every topic are logged: /metrics ends with the process.
void Mom::drain() {
    const auto begin = std::chrono::steady_clock::now();
    const std::chrono::milliseconds timeout = running_config().drain_timeout;
    const std::size_t queued = sq_.depth() + bq_.depth();
    if (queued > 0) log_->info("draining {} queued event(s), at most {} ms", queued, timeout.count());
    for (Dispatcher* dispatcher : {sq_dispatcher_.get(), bq_dispatcher_.get()})
        if (dispatcher) dispatcher->request_stop(begin + timeout);
    for (Dispatcher* dispatcher : {sq_dispatcher_.get(), bq_dispatcher_.get()})
        if (dispatcher) dispatcher->join();
    std::uint64_t abandoned = 0;
    for (const Path path : {Path::sq, Path::bq}) {
        for (const Event& event : (path == Path::sq ? sq_ : bq_).take_all()) {
            counters_.at(event.topic, path).abandoned.fetch_add(1, std::memory_order_relaxed);
            ++abandoned;
        }
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);
    if (queued > 0 || abandoned > 0)
        log_->info("drain ended after {} ms: {} event(s) abandoned", took.count(), abandoned);
    for (int topic = 0; topic < 256; ++topic) {
        for (const Path path : {Path::sq, Path::bq}) {
            const PathCounters& c = counters_.at(static_cast<std::uint8_t>(topic), path);
            if (c.received.load() == 0) continue;
            log_->info("final counters: topic {} path {}: received={} queued={} dropped={} sent={} send_errors={} "
                       "abandoned={}",
                       topic, path_name(path), c.received.load(), c.queued.load(), c.dropped.load(), c.sent.load(),
                       c.send_errors.load(), c.abandoned.load());
        }
    }
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
    const MomConfig running = running_config();
    snapshot.topics = running.topics;
    snapshot.interface = running.interface;
    snapshot.stack = read_stack_drops(running.interface);
    snapshot.sq_depth = sq_.depth();
    snapshot.sq_capacity = sq_.capacity();
    snapshot.bq_depth = bq_.depth();
    snapshot.bq_capacity = bq_.capacity();
    snapshot.sq_bytes = sq_.bytes();
    snapshot.sq_capacity_bytes = sq_.capacity_bytes();
    snapshot.bq_bytes = bq_.bytes();
    snapshot.bq_capacity_bytes = bq_.capacity_bytes();
    snapshot.adapters = adapters_.stats();
    snapshot.ingress_isolated = ingress_.isolated();
    snapshot.ingress_socket_drops = {ingress_.socket_drops(Path::sq), ingress_.socket_drops(Path::bq)};
    return render_metrics(snapshot) + (extra_metrics_ ? extra_metrics_() : std::string());
}

}  // namespace tempos::mom
