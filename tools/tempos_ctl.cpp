// tempos-ctl: the cluster's topics, members and brokers in etcd (docs/cluster.md), through the MoM's own etcd client and
// topic validation, so a value it puts is one every MoM accepts.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "broker_registration.hpp"
#include "cluster_topic.hpp"
#include "config.hpp"
#include "etcd_client.hpp"

namespace {

using namespace tempos;
using namespace tempos::cluster;

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

int fail(const Status& status) {
    std::fprintf(stderr, "tempos-ctl: %s\n", describe(status).c_str());
    return kExitError;
}

Result<std::string> read_input(const std::string& file) {
    std::ostringstream text;
    if (file == "-") {
        text << std::cin.rdbuf();
        return text.str();
    }
    std::ifstream in(file);
    if (!in) return Result<std::string>::error(ErrorCode::not_found, "cannot read " + file);
    text << in.rdbuf();
    return text.str();
}

int topics_list(EtcdClient& client, const std::string& prefix) {
    const Result<RangeResult> range = client.range_prefix(topics_prefix(prefix));
    if (!range) return fail(range.status());
    for (const KeyValue& kv : range->kvs) std::printf("%s\t%s\n", kv.key.c_str(), kv.value.c_str());
    return 0;
}

int topics_get(EtcdClient& client, const std::string& prefix, int id) {
    const std::string key = topic_key(prefix, static_cast<std::uint8_t>(id));
    const Result<RangeResult> range = client.range_prefix(key);
    if (!range) return fail(range.status());
    for (const KeyValue& kv : range->kvs)
        if (kv.key == key) {
            std::printf("%s\n", kv.value.c_str());
            return 0;
        }
    return fail(Status::error(ErrorCode::not_found, key + ": no such topic"));
}

// The file's JSON names its topic ("id"); it is validated as every MoM will, then written as given.
int topics_put(EtcdClient& client, const std::string& prefix, const std::string& file) {
    const Result<std::string> text = read_input(file);
    if (!text) return fail(text.status());
    int id = -1;
    try {
        const nlohmann::json json = nlohmann::json::parse(*text);
        if (json.is_object() && json.contains("id") && json["id"].is_number_integer()) id = json["id"].get<int>();
    } catch (const nlohmann::json::exception& error) {
        return fail(Status::error(ErrorCode::invalid_argument, file + ": not JSON: " + error.what()));
    }
    if (id < 0 || id > 255)
        return fail(Status::error(ErrorCode::invalid_argument, file + ": needs \"id\": the topic id 0..255"));
    const std::string key = topic_key(prefix, static_cast<std::uint8_t>(id));
    // The default port only fills endpoints without one for the check; the value keeps them as written.
    if (const Result<TopicConfig> topic = parse_topic_value(key, static_cast<std::uint8_t>(id), *text, 9998); !topic)
        return fail(topic.status());
    const Result<std::int64_t> revision = client.put(key, *text);
    if (!revision) return fail(revision.status());
    std::printf("%s written at revision %lld\n", key.c_str(), static_cast<long long>(*revision));
    return 0;
}

int topics_delete(EtcdClient& client, const std::string& prefix, int id) {
    const std::string key = topic_key(prefix, static_cast<std::uint8_t>(id));
    const Result<std::int64_t> revision = client.erase(key);
    if (!revision) return fail(revision.status());
    std::printf("%s deleted at revision %lld\n", key.c_str(), static_cast<long long>(*revision));
    return 0;
}

// Every registered broker with the revision it applied, the mode its XDP adapter was granted, and how far it lags:
// "behind" by LAG revisions when its revision is older than the newest write of a topic or member key (what every
// broker applies; a delete leaves no key, so one not yet applied goes unseen).
int brokers(EtcdClient& client, const std::string& prefix, bool json_output) {
    const Result<RangeResult> watched = client.range(watched_begin(prefix), watched_end(prefix));
    if (!watched) return fail(watched.status());
    std::int64_t newest = 0;
    for (const KeyValue& kv : watched->kvs) newest = std::max(newest, kv.mod_revision);
    const Result<RangeResult> range = client.range_prefix(brokers_prefix(prefix));
    if (!range) return fail(range.status());
    nlohmann::json all = nlohmann::json::array();
    for (const KeyValue& kv : range->kvs) {
        nlohmann::json broker = nlohmann::json::parse(kv.value, nullptr, false);
        if (broker.is_discarded() || !broker.is_object()) broker = nlohmann::json::object();
        broker["node"] = kv.key.substr(brokers_prefix(prefix).size());
        const std::int64_t applied = broker.value("revision", std::int64_t{0});
        broker["behind"] = applied < newest;
        broker["lag"] = std::max<std::int64_t>(0, newest - applied);
        all.push_back(broker);
    }
    if (json_output) {
        const nlohmann::json out{{"newest_write", newest}, {"etcd_revision", watched->revision}, {"brokers", all}};
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::printf("etcd revision %lld, newest topic or member write %lld\n", static_cast<long long>(watched->revision),
                static_cast<long long>(newest));
    std::printf("%-20s %-22s %-12s %-16s %-10s %-6s %s\n", "NODE", "LISTEN", "INTERFACE", "XDP", "REVISION", "LAG",
                "STATE");
    for (const auto& b : all) {
        std::string xdp = b.value("xdp_mode", "");
        if (const std::string configured = b.value("xdp_mode_configured", ""); !configured.empty() && configured != xdp)
            xdp += " (" + configured + ")";
        std::printf("%-20s %-22s %-12s %-16s %-10lld %-6lld %s\n", b.value("node", "").c_str(),
                    b.value("listen", "").c_str(), b.value("interface", "").c_str(), xdp.c_str(),
                    static_cast<long long>(b.value("revision", std::int64_t{0})),
                    static_cast<long long>(b["lag"].get<std::int64_t>()), b["behind"].get<bool>() ? "behind" : "current");
    }
    return 0;
}

// Every member key (or those of one topic): topic, group, endpoint, MAC, lease and the seconds it has left. A key
// the MoMs would refuse is listed with why.
int members_list(EtcdClient& client, const std::string& prefix, int topic, bool json_output) {
    const std::string start = topic < 0 ? members_prefix(prefix) : members_prefix(prefix) + std::to_string(topic) + "/";
    const Result<RangeResult> range = client.range_prefix(start);
    if (!range) return fail(range.status());
    nlohmann::json all = nlohmann::json::array();
    for (const KeyValue& kv : range->kvs) {
        nlohmann::json member{{"key", kv.key}, {"lease", kv.lease}};
        if (const Result<MemberKey> parsed = parse_member(prefix, kv.key, kv.value); parsed) {
            member["topic"] = parsed->topic;
            member["group"] = parsed->group;
            member["endpoint"] = kv.key.substr(kv.key.rfind('/') + 1);
            member["mac"] = parsed->endpoint.mac ? mom::format_mac(*parsed->endpoint.mac) : "";
        } else {
            member["refused"] = parsed.message();
        }
        if (kv.lease != 0) {
            // Expired between the range and this call: the key is going.
            const Result<std::int64_t> left = client.lease_time_to_live(kv.lease);
            member["ttl_left"] = left ? nlohmann::json(*left) : nlohmann::json(nullptr);
        } else {
            member["ttl_left"] = nullptr;  // no lease: kept until deleted
        }
        all.push_back(member);
    }
    if (json_output) {
        std::printf("%s\n", all.dump(2).c_str());
        return 0;
    }
    std::printf("%-5s %-5s %-22s %-17s %-16s %s\n", "TOPIC", "GROUP", "ENDPOINT", "MAC", "LEASE", "TTL");
    for (const auto& m : all) {
        if (m.contains("refused")) {
            std::printf("refused: %s\n", m["refused"].get<std::string>().c_str());
            continue;
        }
        char lease[32] = "-";
        if (m["lease"].get<std::int64_t>() != 0)
            std::snprintf(lease, sizeof lease, "%llx", static_cast<unsigned long long>(m["lease"].get<std::int64_t>()));
        const std::string ttl = m["ttl_left"].is_null() ? (m["lease"].get<std::int64_t>() ? "expired" : "-")
                                                         : std::to_string(m["ttl_left"].get<std::int64_t>()) + "s";
        const std::string mac = m["mac"].get<std::string>();
        std::printf("%-5d %-5zu %-22s %-17s %-16s %s\n", m["topic"].get<int>(), m["group"].get<std::size_t>(),
                    m["endpoint"].get<std::string>().c_str(), mac.empty() ? "-" : mac.c_str(), lease, ttl.c_str());
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"tempos-ctl: the topics and brokers of a TEMPOS cluster in etcd (docs/cluster.md)"};
    std::vector<std::string> endpoints{"http://127.0.0.1:2379"};
    std::string prefix = "/tempos";
    app.add_option("--etcd", endpoints, "etcd endpoint(s), http://HOST:PORT or https://HOST:PORT (TLS)")
        ->capture_default_str()
        ->delimiter(',');
    std::string cacert, cert, key;  // as etcdctl's and [cluster]'s
    app.add_option("--cacert", cacert, "with https://: PEM file of the CAs that sign etcd's certificates");
    app.add_option("--cert", cert, "with https://: PEM file of this client's certificate (with --key)");
    app.add_option("--key", key, "with https://: PEM file of that certificate's key");
    app.add_option("--prefix", prefix, "key prefix, as [cluster] prefix")->capture_default_str();
    app.require_subcommand(1);

    auto* topics = app.add_subcommand("topics", "the topics: <prefix>/topics/N")->require_subcommand(1);
    auto* list = topics->add_subcommand("list", "every topic key and its value");
    int get_id = 0, delete_id = 0;
    auto* get = topics->add_subcommand("get", "one topic's value");
    get->add_option("id", get_id, "topic id")->required()->check(CLI::Range(0, 255));
    std::string put_file;
    auto* put = topics->add_subcommand("put", "validate a topic's JSON (with its \"id\") and write it");
    put->add_option("file", put_file, "JSON file, - for standard input")->required();
    auto* erase = topics->add_subcommand("delete", "delete a topic");
    erase->add_option("id", delete_id, "topic id")->required()->check(CLI::Range(0, 255));
    bool json_output = false;
    auto* brokers_command = app.add_subcommand("brokers", "the registered brokers and the revision each applied");
    brokers_command->add_flag("--json", json_output, "as a JSON array");
    auto* members = app.add_subcommand("members", "the leased members: <prefix>/members/N/G/IP:PORT")
                        ->require_subcommand(1);
    int members_topic = -1;
    bool members_json = false;
    auto* members_list_command = members->add_subcommand("list", "every member: topic, group, endpoint, lease, TTL left");
    members_list_command->add_option("--topic", members_topic, "only this topic's")->check(CLI::Range(0, 255));
    members_list_command->add_flag("--json", members_json, "as a JSON array");
    CLI11_PARSE(app, argc, argv);

    for (const std::string& endpoint : endpoints)
        if (!mom::etcd_grpc_target(endpoint)) {
            std::fprintf(stderr, "tempos-ctl: --etcd %s: expected http://HOST:PORT or https://HOST:PORT\n",
                         endpoint.c_str());
            return kExitUsage;
        }
    Result<mom::EtcdTls> tls = mom::read_etcd_tls(endpoints, cacert, cert, key);
    if (!tls) {
        std::fprintf(stderr, "tempos-ctl: %s\n", tls.message().c_str());
        return kExitUsage;
    }
    EtcdClient client(endpoints, std::move(*tls));
    if (*list) return topics_list(client, prefix);
    if (*get) return topics_get(client, prefix, get_id);
    if (*put) return topics_put(client, prefix, put_file);
    if (*erase) return topics_delete(client, prefix, delete_id);
    if (*brokers_command) return brokers(client, prefix, json_output);
    if (*members_list_command) return members_list(client, prefix, members_topic, members_json);
    return kExitUsage;
}
