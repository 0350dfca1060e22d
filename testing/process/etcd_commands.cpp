// tempos-testkit's etcd subcommand, for the cluster e2e scenarios (tests/e2e/cluster_lib.sh):
//   etcd run [--ns NS] [--host IP] [--members N] --ready-file FILE
// runs an EtcdRunner (etcd_runner.hpp) until SIGTERM or SIGINT: once every member is healthy it writes their
// endpoints, comma-separated, to FILE (written whole, then renamed); on the signal it stops them and exits 0.
// A member that ends by itself meanwhile ends the run with status 1.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "cli/commands.hpp"
#include "process/etcd_runner.hpp"

namespace tempos::testkit {

void add_etcd_commands(CLI::App& app) {
    struct Run {
        EtcdOptions options;
        std::string ready_file;
    };
    auto r = std::make_shared<Run>();
    CLI::App* etcd = app.add_subcommand("etcd", "etcd for the cluster e2e scenarios");
    etcd->require_subcommand(1);
    CLI::App* run = etcd->add_subcommand("run", "Run etcd until SIGTERM; write its endpoints to a file once healthy");
    run->add_option("--ns", r->options.netns, "Network namespace (/run/netns/NAME) to run it in");
    run->add_option("--host", r->options.host, "The address it listens on")->capture_default_str();
    run->add_option("--members", r->options.members, "Members of the cluster")->check(CLI::Range(1, 7));
    run->add_option("--ready-file", r->ready_file, "Written with the endpoints once healthy")->required();
    run->callback([r] {
        sigset_t stop;
        sigemptyset(&stop);
        for (int sig : {SIGTERM, SIGINT}) sigaddset(&stop, sig);
        sigprocmask(SIG_BLOCK, &stop, nullptr);
        auto fail = [](const Status& why) {
            std::fprintf(stderr, "tempos-testkit etcd run: %s\n", why.message().c_str());
            throw CLI::RuntimeError(1);
        };
        Result<EtcdRunner> started = EtcdRunner::start(r->options);
        if (!started) fail(started.status());
        std::string endpoints;
        for (const std::string& e : started->endpoints()) endpoints += (endpoints.empty() ? "" : ",") + e;
        const std::string partial = r->ready_file + ".partial";
        std::ofstream(partial, std::ios::trunc) << endpoints << "\n";
        if (::rename(partial.c_str(), r->ready_file.c_str()) != 0)
            fail(Status::error(ErrorCode::system_error, "cannot write " + r->ready_file));
        const timespec tick{0, 200'000'000};
        for (;;) {
            if (sigtimedwait(&stop, nullptr, &tick) > 0) break;
            if (started->running() < started->size())
                fail(Status::error(ErrorCode::system_error, "an etcd member ended:\n" + started->log_tail()));
        }
        if (Status stopped = started->stop(); !stopped) fail(stopped);
    });
}

}  // namespace tempos::testkit
