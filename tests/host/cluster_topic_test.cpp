// Cluster topics and [cluster]: a topic's JSON value is validated by the [[topics]] code with the same messages
// (the key where the file:line would be), keys are topic ids or refused, and [cluster] is read with file:line.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "cluster_topic.hpp"
#include "config.hpp"

namespace fs = std::filesystem;
using namespace tempos;
using namespace tempos::cluster;

namespace {

class TempFile {
public:
    explicit TempFile(const std::string& text) {
        std::string pattern = (fs::temp_directory_path() / "tempos-cluster-test-XXXXXX").string();
        const int fd = mkstemp(pattern.data());
        EXPECT_GE(fd, 0);
        ::close(fd);
        path_ = pattern;
        std::ofstream(path_) << text;
    }
    ~TempFile() {
        std::error_code ec;
        fs::remove(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

constexpr const char* kKey = "/tempos/topics/7";

// The message of a [[topics]] table that must be refused, without its "file:line: ".
std::string file_message(const std::string& topic_table) {
    TempFile file("[mom]\n[[topics]]\nid = 7\n" + topic_table);
    const Result<mom::MomConfig> loaded = mom::load_config(file.path());
    EXPECT_FALSE(loaded) << topic_table;
    const std::string& message = loaded.message();
    const std::string head = file.path().string() + ":";
    EXPECT_TRUE(message.starts_with(head)) << message;
    const auto after = message.find(": ", head.size());
    return after == std::string::npos ? message : message.substr(after + 2);
}

// The message for a JSON value that must be refused, without its "KEY: ".
std::string json_message(const std::string& json) {
    const Result<TopicConfig> parsed = parse_topic_value(kKey, 7, json, 9998);
    EXPECT_FALSE(parsed) << json;
    EXPECT_EQ(parsed.code(), ErrorCode::invalid_argument);
    const std::string head = std::string(kKey) + ": ";
    EXPECT_TRUE(parsed.message().starts_with(head)) << parsed.message();
    return parsed.message().substr(head.size());
}

TEST(ClusterTopicValue, AcceptsTheFormsOfATopicsTable) {
    const auto one = parse_topic_value(kKey, 7, R"({"qos": "strict", "subscribers": ["10.0.0.2:9000",
        {"ip": "10.0.0.3", "mac": "02:00:00:00:00:03"}]})", 9998);
    ASSERT_TRUE(one) << one.message();
    EXPECT_EQ(one->id, 7);
    EXPECT_EQ(one->qos, Qos::strict);
    ASSERT_EQ(one->groups.size(), 1u);
    ASSERT_EQ(one->groups[0].members.size(), 2u);
    EXPECT_EQ(one->groups[0].members[0].port, 9000);
    EXPECT_EQ(one->groups[0].members[1].port, 9998);  // [mom] listen's port, as in the file
    ASSERT_TRUE(one->groups[0].members[1].mac);

    const auto groups = parse_topic_value(kKey, 7, R"({"id": 7, "qos": "best-effort", "rate_limit": 1000,
        "groups": [{"subscribers": ["10.0.0.2:9000"]}, {"subscribers": ["10.0.0.4:9000"]}]})", 9998);
    ASSERT_TRUE(groups) << groups.message();
    EXPECT_EQ(groups->qos, Qos::best_effort);
    EXPECT_EQ(groups->groups.size(), 2u);
    ASSERT_TRUE(groups->rate_limit);
    EXPECT_EQ(groups->rate_limit->burst, 100u);
}

TEST(ClusterTopicValue, AcceptsIpv6SubscribersNextToIpv4Ones) {
    const auto mixed = parse_topic_value(kKey, 7, R"({"qos": "best-effort", "subscribers": ["[2001:db8::5]:9000",
        {"ip": "2001:db8::6"}, "10.0.0.2:9000"]})", 9998);
    ASSERT_TRUE(mixed) << mixed.message();
    const auto& members = mixed->groups.at(0).members;
    ASSERT_EQ(members.size(), 3u);
    EXPECT_EQ(members[0].ip6, mom::parse_ipv6("2001:db8::5"));
    EXPECT_EQ(members[0].port, 9000);
    EXPECT_EQ(members[1].ip6, mom::parse_ipv6("2001:db8::6"));
    EXPECT_EQ(members[1].port, 9998);
    EXPECT_FALSE(members[2].ip6);
}

// Each refused value side by side with the [[topics]] table that says the same: the same message.
TEST(ClusterTopicValue, RefusesWithTheMessagesOfATopicsTable) {
    struct Case {
        const char* toml;
        const char* json;
    };
    const Case cases[] = {
        {"qos = \"fast\"\nsubscribers = [\"10.0.0.2:9000\"]\n", R"({"qos": "fast", "subscribers": ["10.0.0.2:9000"]})"},
        {"qos = \"strict\"\n", R"({"qos": "strict"})"},
        {"qos = \"strict\"\nsubscribers = []\n", R"({"qos": "strict", "subscribers": []})"},
        {"qos = \"strict\"\nsubscribers = [\"10.0.0.300:9000\"]\n",
         R"({"qos": "strict", "subscribers": ["10.0.0.300:9000"]})"},
        {"qos = \"strict\"\nsubscribers = [\"10.0.0.2:9000\", \"10.0.0.2:9000\"]\n",
         R"({"qos": "strict", "subscribers": ["10.0.0.2:9000", "10.0.0.2:9000"]})"},
        {"qos = \"strict\"\nsubscribers = [{ ip = \"10.0.0.2\", port = 70000 }]\n",
         R"({"qos": "strict", "subscribers": [{"ip": "10.0.0.2", "port": 70000}]})"},
        {"qos = \"strict\"\nsubscribers = [{ ip = \"10.0.0.2\", mac = \"zz\" }]\n",
         R"({"qos": "strict", "subscribers": [{"ip": "10.0.0.2", "mac": "zz"}]})"},
        {"qos = \"strict\"\nsubscribers = [\"0.0.0.0:9000\"]\n", R"({"qos": "strict", "subscribers": ["0.0.0.0:9000"]})"},
        {"qos = \"strict\"\nsubscribers = [1]\n", R"({"qos": "strict", "subscribers": [1]})"},
        {"qos = 1\nsubscribers = [\"10.0.0.2:9000\"]\n", R"({"qos": 1, "subscribers": ["10.0.0.2:9000"]})"},
        {"qos = \"strict\"\nsubscribers = [\"10.0.0.2:9000\"]\ncolour = \"red\"\n",
         R"({"qos": "strict", "subscribers": ["10.0.0.2:9000"], "colour": "red"})"},
        {"qos = \"strict\"\nsubscribers = [\"10.0.0.2:9000\"]\nburst = 5\n",
         R"({"qos": "strict", "subscribers": ["10.0.0.2:9000"], "burst": 5})"},
        {"qos = \"strict\"\nsubscribers = [\"10.0.0.2:9000\"]\nrate_limit = 0.5\n",
         R"({"qos": "strict", "subscribers": ["10.0.0.2:9000"], "rate_limit": 0.5})"},
        {"qos = \"strict\"\ngroups = []\n", R"({"qos": "strict", "groups": []})"},
        // IPv6: the same rules as in a file (docs/ipv6.md).
        {"qos = \"strict\"\nsubscribers = [\"[fe80::5]:9000\"]\n", R"({"qos": "strict", "subscribers": ["[fe80::5]:9000"]})"},
        {"qos = \"strict\"\nsubscribers = [\"2001:db8::5:9000\"]\n",
         R"({"qos": "strict", "subscribers": ["2001:db8::5:9000"]})"},
        {"qos = \"strict\"\nsubscribers = [{ ip = \"[2001:db8::5]\" }]\n",
         R"({"qos": "strict", "subscribers": [{"ip": "[2001:db8::5]"}]})"},
        {"qos = \"strict\"\nsubscribers = [\"[2001:db8::5]:9000\", { ip = \"2001:db8:0::5\", port = 9000 }]\n",
         R"({"qos": "strict", "subscribers": ["[2001:db8::5]:9000", {"ip": "2001:db8:0::5", "port": 9000}]})"},
    };
    for (const Case& c : cases) {
        const std::string expected = file_message(c.toml);
        EXPECT_EQ(json_message(c.json), expected) << c.json;
    }
}

TEST(ClusterTopicValue, RefusesWhatIsNotATopicObject) {
    EXPECT_TRUE(json_message("{\"qos\": ").starts_with("not JSON: ")) << json_message("{\"qos\": ");
    EXPECT_TRUE(json_message("[1, 2]").starts_with("a topic must be a JSON object"));
    EXPECT_EQ(json_message(R"({"id": 8, "qos": "strict", "subscribers": ["10.0.0.2:9000"]})"),
              "the value's id 8 is not the key's 7");
    EXPECT_EQ(json_message(R"({"id": 300, "qos": "strict", "subscribers": ["10.0.0.2:9000"]})"),
              "topic id must be in 0..255, got 300");
    // null has no TOML counterpart: the type check names it.
    EXPECT_EQ(json_message(R"({"qos": null, "subscribers": ["10.0.0.2:9000"]})"),
              "topic 7 qos must be a string, got nothing");
}

TEST(ClusterTopicKey, TopicIdsOnly) {
    EXPECT_EQ(*topic_id_of_key("/tempos", "/tempos/topics/0"), 0);
    EXPECT_EQ(*topic_id_of_key("/tempos", "/tempos/topics/255"), 255);
    EXPECT_EQ(topic_key("/t", 9), "/t/topics/9");
    for (const char* bad : {"/tempos/topics/256", "/tempos/topics/007", "/tempos/topics/", "/tempos/topics/x",
                            "/tempos/topics/1/2", "/other/topics/1", "/tempos/topics/-1"}) {
        const auto id = topic_id_of_key("/tempos", bad);
        EXPECT_FALSE(id) << bad;
        EXPECT_EQ(id.message(), std::string(bad) + ": not a topic key: expected /tempos/topics/N with N a topic id 0..255");
    }
}

TEST(ClusterConfig, ReadWithDefaults) {
    TempFile file("[mom]\n[cluster]\netcd = [\"http://127.0.0.1:2379\", \"http://etcd-2:2379\"]\n");
    const auto loaded = mom::load_config(file.path());
    ASSERT_TRUE(loaded) << loaded.message();
    ASSERT_TRUE(loaded->cluster);
    EXPECT_EQ(loaded->cluster->etcd.size(), 2u);
    EXPECT_EQ(loaded->cluster->prefix, "/tempos");
    EXPECT_FALSE(loaded->cluster->node.empty());
    EXPECT_EQ(*mom::etcd_grpc_target("http://etcd-2:2379/"), "etcd-2:2379");
}

// TLS to etcd: the PEM files are read with the file (relative paths from its directory), and their rules hold.
TEST(ClusterConfig, TlsFiles) {
    TempFile pem("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    TempFile not_pem("hello\n");
    const std::string name = pem.path().filename().string();
    TempFile file("[mom]\n[cluster]\netcd = [\"https://e:2379\"]\ncacert = \"" + name + "\"\ncert = \"" + name +
                  "\"\nkey = \"" + pem.path().string() + "\"\n");
    const auto loaded = mom::load_config(file.path());
    ASSERT_TRUE(loaded) << loaded.message();
    EXPECT_EQ(loaded->cluster->tls.cacert, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    EXPECT_EQ(loaded->cluster->tls.key, loaded->cluster->tls.cacert);
    EXPECT_EQ(*mom::etcd_grpc_target("https://e:2379"), "e:2379");

    const std::pair<std::string, std::string> refused[] = {
        {"etcd = [\"https://e:2379\"]\ncacert = \"" + not_pem.path().string() + "\"\n",
         "4: [cluster] cacert: " + not_pem.path().string() + " is not a PEM file"},
        {"etcd = [\"https://e:2379\"]\ncert = \"" + name + "\"\n",
         "2: [cluster] a client certificate needs its key: give cert and key, or neither"},
        {"etcd = [\"http://e:2379\"]\ncacert = \"" + name + "\"\n",
         "2: [cluster] cacert, cert and key are for https:// endpoints, and none is"},
    };
    for (const auto& [text, message] : refused) {
        TempFile bad("[mom]\n[cluster]\n" + text);
        const auto result = mom::load_config(bad.path());
        ASSERT_FALSE(result) << text;
        EXPECT_EQ(result.message(), bad.path().string() + ":" + message);
    }
    const auto from_options = mom::read_etcd_tls({"https://e:2379"}, "/nonexistent", "", "");
    ASSERT_FALSE(from_options);
    EXPECT_EQ(from_options.message(), "--cacert: cannot read /nonexistent: No such file or directory");
}

TEST(ClusterConfig, ErrorsAtTheirLine) {
    struct Case {
        const char* text;
        int line;
        const char* message;
    };
    const Case cases[] = {
        {"[cluster]\nprefix = \"/t\"\n", 1, "[cluster] needs the key \"etcd\""},
        {"[cluster]\netcd = []\n", 2, "[cluster] etcd needs at least one endpoint \"http://HOST:PORT\""},
        {"[cluster]\netcd = [\n \"127.0.0.1:2379\"]\n", 3,
         "[cluster] etcd endpoint must be \"http://HOST:PORT\" or \"https://HOST:PORT\" (HOST a name or an IPv4 "
         "address, PORT 1..65535), got \"127.0.0.1:2379\""},
        {"[cluster]\netcd = [\"https://e:2379\"]\ncacert = \"/nonexistent/ca.pem\"\n", 3,
         "[cluster] cacert: cannot read /nonexistent/ca.pem: No such file or directory"},
        {"[cluster]\netcd = [\"http://e:2379\", \"http://e:2379\"]\n", 2, "duplicate [cluster] etcd endpoint \"http://e:2379\""},
        {"[cluster]\netcd = [\"http://e:2379\"]\nprefix = \"/t/\"\n", 3,
         "[cluster] prefix must start with '/' and not end with it, such as \"/tempos\", got \"/t/\""},
        {"[cluster]\netcd = [\"http://e:2379\"]\nnode = \"a/b\"\n", 3,
         "[cluster] node must be a non-empty name without '/', got \"a/b\""},
        {"[cluster]\netcd = [\"http://e:2379\"]\nttl = 3\n", 3,
         "unknown key \"ttl\" in [cluster] (expected one of: etcd, prefix, node, cacert, cert, key)"},
    };
    for (const Case& c : cases) {
        TempFile file(std::string("[mom]\n") + c.text);
        const auto loaded = mom::load_config(file.path());
        ASSERT_FALSE(loaded) << c.text;
        EXPECT_EQ(loaded.message(), file.path().string() + ":" + std::to_string(c.line + 1) + ": " + c.message);
    }
}

}  // namespace
