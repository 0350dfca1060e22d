// tempos-testkit's process subcommands, for the e2e shell (tests/e2e/lib.sh):
//   mom-config header ...   the [mom] table and the XDP adapter's [[adapters]] table of a Controller TOML
//   mom-config cluster ...  the [cluster] table
//   mom-config topic ...    one [[topics]] table
//   mom run ...             tempos-mom in a namespace, parent of it until it ends (see add_mom_run)
//   sockets hold ...        tempos-mom.socket's part: its ingress sockets held across restarts (held_sockets.hpp)
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "process/controller_config.hpp"
#include "process/held_sockets.hpp"
#include "process/mom_runner.hpp"

namespace tempos::testkit {

namespace {

[[noreturn]] void fail(const std::string& command, const Status& why, int exit_status = 1) {
    std::cerr << "tempos-testkit " << command << ": " << why.message() << "\n";
    throw CLI::RuntimeError(exit_status);
}

// Prints `text`, or writes it to `file` when one is given.
void emit(const std::string& command, const std::string& text, const std::string& file) {
    if (file.empty()) {
        std::cout << text << std::flush;
        return;
    }
    std::ofstream out(file, std::ios::trunc);
    out << text;
    out.close();
    if (!out) fail(command, Status::error(ErrorCode::system_error, "cannot write " + file));
}

void add_mom_config(CLI::App& app) {
    CLI::App* config = app.add_subcommand("mom-config", "Parts of a Controller TOML (docs/config.md)");
    config->require_subcommand(1);

    struct Header {
        ControllerConfig::Mom mom;
        std::string xdp_mode = "native";
        std::vector<std::string> adapter_options;  // KEY=VALUE
        std::string output;
    };
    auto h = std::make_shared<Header>();
    CLI::App* header = config->add_subcommand("header", "The [mom] table and the XDP adapter's [[adapters]] table");
    header->add_option("--listen", h->mom.listen, "[mom] listen, IP:PORT or [IPv6]:PORT");
    header->add_flag("--v6only", h->mom.v6only, "[mom] v6only = true");
    header->add_option("--interface", h->mom.interface, "[mom] interface");
    header->add_option("--metrics", h->mom.metrics, "[mom] metrics, IP:PORT");
    header->add_option("--sq-priority", h->mom.sq_priority, "[mom] sq_priority");
    header->add_option("--receive-buffer", h->mom.receive_buffer, "[mom] receive_buffer");
    header->add_option("--drain-timeout", h->mom.drain_timeout, "[mom] drain_timeout (\"250ms\", \"1s\")");
    header->add_option("--xdp-mode", h->xdp_mode, "The XDP adapter's xdp_mode")
        ->check(CLI::IsMember({"auto", "native", "generic", "off"}))
        ->capture_default_str();
    header->add_option("--adapter-option", h->adapter_options,
                       "KEY=VALUE: a further option of the XDP adapter (e.g. persist=true); repeatable");
    header->add_option("-o,--output", h->output, "Write to this file instead of printing");
    header->callback([h] {
        ConfigAdapter adapter = xdp_adapter(h->xdp_mode);
        for (const std::string& option : h->adapter_options) {
            const std::size_t equals = option.find('=');
            if (equals == std::string::npos || equals == 0)
                fail("mom-config header", Status::error(ErrorCode::invalid_argument,
                                                        "--adapter-option " + option + ": expected KEY=VALUE"));
            adapter.options.emplace_back(option.substr(0, equals), option.substr(equals + 1));
        }
        emit("mom-config header", mom_table_toml(h->mom) + adapter_toml(adapter), h->output);
    });

    struct Cluster {
        ControllerConfig::Cluster cluster;
        std::string output;
    };
    auto c = std::make_shared<Cluster>();
    CLI::App* cluster = config->add_subcommand("cluster", "The [cluster] table (docs/cluster.md)");
    cluster->add_option("--etcd", c->cluster.etcd, "etcd endpoint(s) http://HOST:PORT")->required()->delimiter(',');
    cluster->add_option("--prefix", c->cluster.prefix, "[cluster] prefix");
    cluster->add_option("--node", c->cluster.node, "[cluster] node");
    cluster->add_option("-o,--output", c->output, "Write to this file instead of printing");
    cluster->callback([c] { emit("mom-config cluster", cluster_table_toml(c->cluster), c->output); });

    struct Topic {
        int id = 0;
        std::string qos;
        std::vector<std::string> groups;
        std::uint64_t rate_limit = 0;
        std::uint64_t burst = 0;
        std::string output;
    };
    auto t = std::make_shared<Topic>();
    CLI::App* topic = config->add_subcommand("topic", "One [[topics]] table");
    topic->add_option("--id", t->id, "Topic id")->required();
    topic->add_option("--qos", t->qos, "strict or best-effort")->required();
    topic->add_option("--subscribers", t->groups,
                      "One subscription group: comma-separated endpoints IP:PORT, IP:PORT@MAC or IP@MAC; given "
                      "more than once: one [[topics.groups]] table each")
        ->required()
        ->allow_extra_args(false);
    topic->add_option("--rate-limit", t->rate_limit, "The topic's rate_limit, events/s (docs/isolation.md)");
    topic->add_option("--burst", t->burst, "The topic's burst, events");
    topic->add_option("-o,--output", t->output, "Write to this file instead of printing");
    topic->callback([t] {
        ConfigTopic out{t->id, t->qos, {}, t->rate_limit, t->burst};
        for (const std::string& group : t->groups) {
            std::vector<ConfigEndpoint>& members = out.groups.emplace_back();
            std::istringstream endpoints(group);
            for (std::string text; std::getline(endpoints, text, ',');) {
                Result<ConfigEndpoint> endpoint = parse_endpoint(text);
                if (!endpoint) fail("mom-config topic", endpoint.status());
                members.push_back(*endpoint);
            }
        }
        emit("mom-config topic", topic_toml(out), t->output);
    });
}

// `mom run`: the e2e scenarios' tempos-mom. It stays tempos-mom's parent: once tempos-mom is ready it writes
// tempos-mom's pid to the ready file (written whole, then renamed), passes SIGTERM, SIGINT and SIGHUP on, and
// exits with tempos-mom's exit status (128 + the signal when one ended it), so `kill -TERM` of it and `wait` give
// the shell tempos-mom's status, and the pid in the ready file can be signalled directly (SIGKILL, SIGHUP).
// Not ready in time, or ended during start: an error on stderr, tempos-mom killed, exit status 1.
void add_mom_run(CLI::App& app) {
    struct Run {
        MomOptions options;
        std::string config, ready_file, plugin_dir, sockets_from;
        double ready_seconds = 10;
        std::vector<UniqueFd> sockets;
    };
    auto r = std::make_shared<Run>();
    CLI::App* mom = app.add_subcommand("mom", "tempos-mom for the e2e scenarios");
    mom->require_subcommand(1);
    CLI::App* run = mom->add_subcommand("run", "Run tempos-mom until it ends; write its pid to a file once ready");
    run->add_option("--ns", r->options.netns, "Network namespace (/run/netns/NAME) to run it in");
    run->add_option("--config", r->config, "The Controller TOML")->required();
    run->add_option("--log", r->options.log_file, "Its stdout and stderr")->required();
    run->add_option("--ready-file", r->ready_file, "Written with its pid once it is ready")->required();
    run->add_option("--mom", r->options.binary, "The tempos-mom binary (default: next to tempos-testkit)");
    run->add_option("--log-level", r->options.log_level, "Its --log-level")->capture_default_str();
    run->add_option("--cpu", r->options.cpu, "Pin it to this CPU");
    run->add_option("--plugin-dir", r->plugin_dir, "Its --plugin-dir (e.g. a test-only build of the adapter)");
    run->add_option("--ready-timeout", r->ready_seconds, "Seconds to wait for it to be ready")->capture_default_str();
    run->add_option("--sockets-from", r->sockets_from,
                    "Pass it the ingress sockets of the `sockets hold` serving at this path (socket activation)");
    run->add_option("wrapper", r->options.wrapper,
                    "After --: a command that execs the rest of its argv (e.g. setpriv ... --), put in front of "
                    "tempos-mom");
    run->callback([r] {
        // Blocked from here on, so a signal sent during the start is passed on once tempos-mom runs.
        sigset_t forwarded;
        sigemptyset(&forwarded);
        for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&forwarded, sig);
        sigprocmask(SIG_BLOCK, &forwarded, nullptr);

        r->options.ready_timeout = std::chrono::milliseconds(static_cast<long>(r->ready_seconds * 1000));
        if (!r->plugin_dir.empty()) r->options.args = {"--plugin-dir", r->plugin_dir};
        if (!r->sockets_from.empty()) {
            Result<std::vector<UniqueFd>> sockets = fetch_sockets(r->sockets_from);
            if (!sockets) fail("mom run", sockets.status());
            r->sockets = std::move(*sockets);
            for (const UniqueFd& fd : r->sockets) r->options.listen_fds.push_back(fd.get());
        }
        Result<MomRunner> started = MomRunner::start(std::filesystem::path(r->config), r->options);
        if (!started) fail("mom run", started.status());
        MomRunner& runner = *started;
        const std::string partial = r->ready_file + ".partial";
        {
            std::ofstream ready(partial, std::ios::trunc);
            ready << runner.pid() << "\n";
        }
        if (::rename(partial.c_str(), r->ready_file.c_str()) != 0)
            fail("mom run", Status::error(ErrorCode::system_error, "cannot write " + r->ready_file));

        const timespec tick{0, 50'000'000};
        while (runner.process().running()) {
            const int sig = sigtimedwait(&forwarded, nullptr, &tick);
            if (sig > 0) (void)runner.process().signal(sig);
        }
        const int status = runner.process().kill_and_reap();  // reaped already: its exit status
        if (status != 0) throw CLI::RuntimeError(status);
    });
}

}  // namespace

// `sockets hold`: binds tempos-mom's ingress sockets in a namespace and hands them to every `mom run
// --sockets-from` until SIGTERM/SIGINT, as the socket unit tempos-mom.socket holds them across restarts.
void add_sockets_hold(CLI::App& app) {
    struct Hold {
        std::string netns, listen, path;
        int count = 2;
    };
    auto h = std::make_shared<Hold>();
    CLI::App* sockets = app.add_subcommand("sockets", "tempos-mom's ingress sockets, held as tempos-mom.socket holds them");
    sockets->require_subcommand(1);
    CLI::App* hold = sockets->add_subcommand("hold", "Bind them, then serve them until SIGTERM");
    hold->add_option("--ns", h->netns, "Network namespace (/run/netns/NAME) to bind them in");
    hold->add_option("--listen", h->listen, "IPv4:PORT, as [mom] listen")->required();
    hold->add_option("--socket", h->path, "The Unix socket to serve them at")->required();
    hold->add_option("--count", h->count, "How many")->capture_default_str()->check(CLI::Range(1, 8));
    hold->callback([h] {
        sigset_t stop;
        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);
        sigprocmask(SIG_BLOCK, &stop, nullptr);
        Result<std::vector<UniqueFd>> bound = bind_listen_sockets(h->netns, h->listen, h->count);
        if (!bound) fail("sockets hold", bound.status());
        if (Status served = serve_sockets(h->path, *bound); !served) fail("sockets hold", served);
    });
}

void add_process_commands(CLI::App& app) {
    add_mom_config(app);
    add_mom_run(app);
    add_sockets_hold(app);
}

}  // namespace tempos::testkit
