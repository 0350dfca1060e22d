// The Controller TOML reader: every valid form, and every invalid one rejected with the exact file:line.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "config.hpp"

namespace fs = std::filesystem;
using namespace tempos;
using namespace tempos::mom;

namespace {

bool starts_with(const std::string& text, const std::string& prefix) { return text.starts_with(prefix); }
bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class ConfigTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "tempos-config-test-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    // Writes a file under the test's temp dir and returns its path.
    fs::path write(const std::string& name, const std::string& text) {
        const fs::path path = dir_ / name;
        fs::create_directories(path.parent_path());
        std::ofstream(path) << text;
        return path;
    }

    // Every Controller file needs a [mom] table; the cases here that are about other tables get an empty one
    // appended after their text, so the lines they name stay the same. Cases that mention mom are written as
    // they are.
    static std::string with_mom_table(const std::string& text) {
        return text.find("mom") == std::string::npos ? text + "\n[mom]\n" : text;
    }

    // Loads a config that must be valid.
    MomConfig load_valid(const std::string& text) {
        const Result<MomConfig> result = load_config(write("mom.toml", with_mom_table(text)));
        if (!result) {
            ADD_FAILURE() << "unexpected error: " << result.message();
            return {};
        }
        return *result;
    }

    // Loads a config that must be invalid; returns the error's message ("file:line: why").
    std::string load_error(const std::string& text) {
        const Result<MomConfig> result = load_config(write("mom.toml", with_mom_table(text)));
        if (result) {
            ADD_FAILURE() << "config accepted, expected an error:\n" << text;
            return {};
        }
        return result.message();
    }

    // Each config must be refused with an error that starts with at(line) and the message.
    struct Refusal {
        std::string config;
        int line;
        std::string message;
    };
    void expect_load_errors(const std::vector<Refusal>& refusals) {
        for (const Refusal& r : refusals)
            EXPECT_PRED2(starts_with, load_error(r.config), at(r.line) + r.message) << "config:\n" << r.config;
    }

    // "<dir>/mom.toml:LINE: ", the prefix every error about mom.toml must start with.
    std::string at(int line, const std::string& name = "mom.toml") const {
        return (dir_ / name).string() + ":" + std::to_string(line) + ": ";
    }

    fs::path dir_;
};

Endpoint endpoint(Ipv4 ip, std::uint16_t port, std::optional<Mac> mac = std::nullopt) { return {ip, port, mac}; }

// The exact example of the thesis's Listing 4.5 (see /work/shared/reference/thesis-notes.md).
const char* const kThesisExample = R"([[topic]]
topic_value = 1
  [[topic.address]]
  ip = "10.0.0.211"
  mac = "40:a6:b7:66:38:fb"
  [[topic.address]]       # padding: unused slots are written as zeros
  ip = "0.0.0.0"
  mac = "0:0:0:0:0:0"
)";

// --- valid files -------------------------------------------------------------------------------------------

TEST_F(ConfigTest, EmptyMomTableGivesTheDefaults) {
    const MomConfig config = load_valid("[mom]\n");
    EXPECT_EQ(config.listen, (SocketAddress{{0, 0, 0, 0}, 9998}));
    EXPECT_EQ(config.interface, "");
    EXPECT_FALSE(config.metrics.has_value());
    EXPECT_EQ(config.sq_priority, 99);
    EXPECT_EQ(config.receive_buffer, 4 << 20);
    EXPECT_EQ(config.drain_timeout, std::chrono::milliseconds(1000));
    EXPECT_EQ(config.queue_bytes, 16 << 20);
    EXPECT_FALSE(config.routes.has_value());
    EXPECT_TRUE(config.adapters.empty());
    EXPECT_TRUE(config.topics.empty());
    EXPECT_EQ(config.source, dir_ / "mom.toml");
}

TEST_F(ConfigTest, FullConfigIsReadIntoPlainValues) {
    const MomConfig config = load_valid(R"(
[mom]
listen = "10.0.0.1:7000"
interface = "eth0"
metrics = "127.0.0.1:9100"
sq_priority = 80
receive_buffer = 16777216
drain_timeout = "250ms"

[[adapters]]
name = "xdp"
library = "libxdp_adapter.so"
xdp_mode = "native"
batch = 32
verbose = false

[[adapters]]
name = "recording"
library = "/opt/tempos/librecording_adapter.so"
enabled = false

[[topics]]
id = 0
qos = "strict"
subscribers = ["10.0.0.2:9000", { ip = "10.0.0.3" }, { ip = "10.0.0.4", port = 9001, mac = "aa:BB:cc:0:1:ff" }]

[[topics]]
id = 255
qos = "best-effort"
  [[topics.groups]]
  subscribers = ["10.0.0.5:1"]
  [[topics.groups]]
  subscribers = ["10.0.0.6:65535", "10.0.0.5:1"]
)");
    EXPECT_EQ(config.listen, (SocketAddress{{10, 0, 0, 1}, 7000}));
    EXPECT_EQ(config.interface, "eth0");
    ASSERT_TRUE(config.metrics.has_value());
    EXPECT_EQ(*config.metrics, (SocketAddress{{127, 0, 0, 1}, 9100}));
    EXPECT_EQ(config.sq_priority, 80);
    EXPECT_EQ(config.receive_buffer, 16 << 20);
    EXPECT_EQ(config.drain_timeout, std::chrono::milliseconds(250));

    ASSERT_EQ(config.adapters.size(), 2u);
    EXPECT_EQ(config.adapters[0],
              (AdapterConfig{"xdp", "libxdp_adapter.so", true,
                             {{"xdp_mode", "native"}, {"batch", "32"}, {"verbose", "false"}}}));
    EXPECT_EQ(config.adapters[1], (AdapterConfig{"recording", "/opt/tempos/librecording_adapter.so", false, {}}));

    ASSERT_EQ(config.topics.size(), 2u);
    const TopicConfig& strict = config.topics.at(0);
    EXPECT_EQ(strict.id, 0);
    EXPECT_EQ(strict.qos, Qos::strict);
    ASSERT_EQ(strict.groups.size(), 1u);
    EXPECT_EQ(strict.groups[0].members,
              (std::vector<Endpoint>{endpoint({10, 0, 0, 2}, 9000), endpoint({10, 0, 0, 3}, 7000),
                                     endpoint({10, 0, 0, 4}, 9001, Mac{0xaa, 0xbb, 0xcc, 0x00, 0x01, 0xff})}));
    const TopicConfig& best_effort = config.topics.at(255);
    EXPECT_EQ(best_effort.qos, Qos::best_effort);
    ASSERT_EQ(best_effort.groups.size(), 2u);
    EXPECT_EQ(best_effort.groups[0].members, (std::vector<Endpoint>{endpoint({10, 0, 0, 5}, 1)}));
    EXPECT_EQ(best_effort.groups[1].members,
              (std::vector<Endpoint>{endpoint({10, 0, 0, 6}, 65535), endpoint({10, 0, 0, 5}, 1)}));
}

TEST_F(ConfigTest, EndpointTableWithoutPortTakesTheListenPortEvenWhenMomComesLater) {
    const MomConfig config = load_valid(R"(
[[topics]]
id = 3
qos = "strict"
subscribers = [{ ip = "192.168.1.10", mac = "1:2:3:4:5:6" }]

[mom]
listen = "0.0.0.0:4242"
)");
    EXPECT_EQ(config.topics.at(3).groups.at(0).members,
              (std::vector<Endpoint>{endpoint({192, 168, 1, 10}, 4242, Mac{1, 2, 3, 4, 5, 6})}));
}

TEST_F(ConfigTest, ThesisExampleAsRoutesFileRelativeToTheConfig) {
    write("sub/routes/thesis.toml", kThesisExample);
    const auto result = load_config(write("sub/mom.toml", R"(
[mom]
listen = "0.0.0.0:5555"
routes = "routes/thesis.toml"

[[topics]]
id = 2
qos = "best-effort"
subscribers = ["10.0.0.9:9"]
)"));
    ASSERT_TRUE(result.is_ok()) << result.message();
    const MomConfig& config = *result;
    ASSERT_TRUE(config.routes.has_value());
    EXPECT_EQ(*config.routes, dir_ / "sub/routes/thesis.toml");
    ASSERT_EQ(config.topics.size(), 2u);
    const TopicConfig expected{1, Qos::strict,
                               {SubscriptionGroup{{endpoint({10, 0, 0, 211}, 5555,
                                                            Mac{0x40, 0xa6, 0xb7, 0x66, 0x38, 0xfb})}}}};
    EXPECT_EQ(config.topics.at(1), expected);
    EXPECT_EQ(config.topics.at(2).qos, Qos::best_effort);
}

TEST_F(ConfigTest, ThesisExampleThroughLoadThesisRoutes) {
    const auto result = load_thesis_routes(write("routes.toml", kThesisExample), 9998);
    ASSERT_TRUE(result.is_ok()) << result.message();
    const auto& topics = *result;
    ASSERT_EQ(topics.size(), 1u);
    EXPECT_EQ(topics[0], (TopicConfig{1, Qos::strict,
                                      {SubscriptionGroup{{endpoint({10, 0, 0, 211}, 9998,
                                                                   Mac{0x40, 0xa6, 0xb7, 0x66, 0x38, 0xfb})}}}}));
}

TEST_F(ConfigTest, ThesisFiveSlotsWithSingleDigitMacsAndPadding) {
    const auto result = load_thesis_routes(write("routes.toml", R"(
[[topic]]
topic_value = 7
  [[topic.address]]
  ip = "10.0.0.1"
  mac = "0:a:b:c:d:e"
  [[topic.address]]
  ip = "0.0.0.0"
  mac = "0:0:0:0:0:0"
  [[topic.address]]
  ip = "10.0.0.2"
  mac = "f:f:f:f:f:f"
  [[topic.address]]
  ip = "0.0.0.0"
  mac = "0:0:0:0:0:0"
  [[topic.address]]
  ip = "0.0.0.0"
  mac = "0:0:0:0:0:0"

[[topic]]
topic_value = 0
  [[topic.address]]
  ip = "172.16.0.1"
  mac = "00:11:22:33:44:55"
)"), 9000);
    ASSERT_TRUE(result.is_ok()) << result.message();
    const auto& topics = *result;
    ASSERT_EQ(topics.size(), 2u);
    EXPECT_EQ(topics[0].id, 0);
    EXPECT_EQ(topics[1].id, 7);
    EXPECT_EQ(topics[1].qos, Qos::strict);
    ASSERT_EQ(topics[1].groups.size(), 1u);
    EXPECT_EQ(topics[1].groups[0].members,
              (std::vector<Endpoint>{endpoint({10, 0, 0, 1}, 9000, Mac{0, 0xa, 0xb, 0xc, 0xd, 0xe}),
                                     endpoint({10, 0, 0, 2}, 9000, Mac{0xf, 0xf, 0xf, 0xf, 0xf, 0xf})}));
}

// A file without [mom] is what an editor leaves mid-write (empty, truncated): refused, or a reload would remove
// every topic. The message says what to do.
TEST_F(ConfigTest, FileWithoutMomTableIsRefused) {
    for (const std::string& text : {std::string(), std::string("\n\n"), std::string("[[topics]]\nid = 1\nqos = \"best-effort\"\n"
                                                                                  "subscribers = [\"10.0.0.1:1\"]\n"),
                                   std::string(kThesisExample)}) {
        SCOPED_TRACE(text);
        const Result<MomConfig> result = load_config(write("mom.toml", text));
        ASSERT_FALSE(result.is_ok());
        EXPECT_PRED2(starts_with, result.message(), (dir_ / "mom.toml").string() + ": no [mom] table");
        EXPECT_PRED2(contains, result.message(), "rename");
    }
}

TEST_F(ConfigTest, ThesisTopicsAreAcceptedInAControllerFile) {
    const MomConfig config = load_valid(std::string("[mom]\n") + kThesisExample);
    ASSERT_EQ(config.topics.size(), 1u);
    EXPECT_EQ(config.topics.at(1).qos, Qos::strict);
    EXPECT_EQ(config.topics.at(1).groups.at(0).members.at(0).port, 9998);
}

TEST(ConfigParsers, Ipv4IsStrict) {
    EXPECT_EQ(parse_ipv4("0.0.0.0"), (Ipv4{0, 0, 0, 0}));
    EXPECT_EQ(parse_ipv4("255.255.255.255"), (Ipv4{255, 255, 255, 255}));
    EXPECT_EQ(parse_ipv4("10.0.0.211"), (Ipv4{10, 0, 0, 211}));
    for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.-4", " 1.2.3.4", "1.2.3.4 ", "x1.2.3.4",
                            "1.2.3.4x", "01.2.3.4", "1..3.4", "1.2.3.", "+1.2.3.4", "1.2.3.1000", "0x1.2.3.4"}) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(parse_ipv4(bad).has_value());
    }
}

TEST(ConfigParsers, MacAcceptsOneOrTwoHexDigitsPerGroup) {
    EXPECT_EQ(parse_mac("40:a6:b7:66:38:fb"), (Mac{0x40, 0xa6, 0xb7, 0x66, 0x38, 0xfb}));
    EXPECT_EQ(parse_mac("0:0:0:0:0:0"), (Mac{}));
    EXPECT_EQ(parse_mac("A:b:C:d:E:F"), (Mac{0xa, 0xb, 0xc, 0xd, 0xe, 0xf}));
    for (const char* bad : {"", "40:a6:b7:66:38", "40:a6:b7:66:38:fb:01", "40:a6:b7:66:38:fbb", "40:a6:b7:66::fb",
                            "40-a6-b7-66-38-fb", "g0:a6:b7:66:38:fb", " 40:a6:b7:66:38:fb", "40:a6:b7:66:38:fb "}) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(parse_mac(bad).has_value());
    }
    EXPECT_EQ(format_mac(Mac{0, 0xa, 0xb, 0xc, 0xd, 0xe}), "00:0a:0b:0c:0d:0e");
}

TEST(ConfigParsers, SocketAddressNeedsIpAndPort1To65535) {
    EXPECT_EQ(parse_socket_address("127.0.0.1:1"), (SocketAddress{{127, 0, 0, 1}, 1}));
    EXPECT_EQ(parse_socket_address("0.0.0.0:65535"), (SocketAddress{{0, 0, 0, 0}, 65535}));
    for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:09998",
                            "127.0.0.1:-1", "127.0.0.1:99999999999", ":9998", "localhost:9998", "127.0.0.1:9998x"}) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(parse_socket_address(bad).has_value());
    }
    EXPECT_EQ(format_socket_address(SocketAddress{{10, 1, 2, 3}, 9998}), "10.1.2.3:9998");
    EXPECT_EQ(format_ipv4(Ipv4{192, 168, 0, 255}), "192.168.0.255");
}

TEST(ConfigParsers, Ipv6SocketAddressesTakeBracketsAndIpv4MappedOnesAreIpv4) {
    const Ipv6 doc = *parse_ipv6("2001:db8::1");
    EXPECT_EQ(doc, (Ipv6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
    EXPECT_EQ(parse_socket_address("[2001:db8::1]:9998"), (SocketAddress{{}, 9998, doc}));
    EXPECT_EQ(parse_socket_address("[::]:1"), (SocketAddress{{}, 1, Ipv6{}}));
    EXPECT_EQ(parse_socket_address("[::ffff:10.0.0.1]:9998"), (SocketAddress{{10, 0, 0, 1}, 9998}));
    for (const char* bad : {"[2001:db8::1]", "[2001:db8::1]:", "[2001:db8::1]:0", "2001:db8::1:9998", "[2001:db8::1:9998",
                            "[fe80::1%eth0]:9998", "[]:9998", "[2001:db8::g]:9998", "[10.0.0.1]:9998",
                            "[2001:db8::1] :9998"}) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(parse_socket_address(bad).has_value());
    }
    EXPECT_EQ(format_socket_address(SocketAddress{{}, 9998, doc}), "[2001:db8::1]:9998");
    EXPECT_EQ(format_ipv6(*parse_ipv6("2001:0db8:0000:0000:0000:0000:0000:0005")), "2001:db8::5");
    EXPECT_EQ(mapped_ipv4(*parse_ipv6("::ffff:192.168.0.1")), (Ipv4{192, 168, 0, 1}));
    EXPECT_FALSE(mapped_ipv4(doc).has_value());
    EXPECT_TRUE(is_link_local(*parse_ipv6("fe80::1")));
    EXPECT_TRUE(is_link_local(*parse_ipv6("febf::1")));
    EXPECT_FALSE(is_link_local(*parse_ipv6("fec0::1")));
}

TEST_F(ConfigTest, Ipv6ListenAndSubscribersInBothForms) {
    const MomConfig config = load_valid(R"([mom]
listen = "[::]:9998"

[[topics]]
id = 1
qos = "best-effort"
subscribers = ["[2001:db8::5]:9000", { ip = "2001:db8::6" }, { ip = "2001:db8::7", port = 9001, mac = "2:0:0:0:0:7" },
               "10.0.0.2:9000", { ip = "::ffff:10.0.0.3", port = 9000 }]
)");
    EXPECT_EQ(config.listen, (SocketAddress{{}, 9998, Ipv6{}}));
    EXPECT_FALSE(config.v6only);
    EXPECT_TRUE(config.listens_ipv4()) << "[::] is dual-stack by default";
    const ChannelConfig channel = config.channel();
    EXPECT_EQ(channel.mom_address, (Ipv4{}));
    EXPECT_EQ(channel.mom_address6, Ipv6{});
    EXPECT_TRUE(channel.receives_ipv4);
    const auto ip6 = [](const char* text) { return *parse_ipv6(text); };
    EXPECT_EQ(config.topics.at(1).groups.at(0).members,
              (std::vector<Endpoint>{Endpoint{{}, 9000, std::nullopt, ip6("2001:db8::5")},
                                     Endpoint{{}, 9998, std::nullopt, ip6("2001:db8::6")},
                                     Endpoint{{}, 9001, Mac{2, 0, 0, 0, 0, 7}, ip6("2001:db8::7")},
                                     endpoint({10, 0, 0, 2}, 9000), endpoint({10, 0, 0, 3}, 9000)}));
}

TEST_F(ConfigTest, V6onlyAndSpecificIpv6ListenersTakeNoIpv4) {
    const MomConfig v6only = load_valid("[mom]\nlisten = \"[::]:9998\"\nv6only = true\n");
    EXPECT_TRUE(v6only.v6only);
    EXPECT_FALSE(v6only.listens_ipv4());
    EXPECT_FALSE(v6only.channel().receives_ipv4);
    const MomConfig specific = load_valid("[mom]\nlisten = \"[2001:db8::1]:7000\"\n");
    EXPECT_EQ(specific.listen, (SocketAddress{{}, 7000, *parse_ipv6("2001:db8::1")}));
    EXPECT_FALSE(specific.listens_ipv4()) << "a socket bound to one IPv6 address receives no IPv4";
    EXPECT_TRUE(load_valid("[mom]\nlisten = \"[::]:9998\"\nv6only = false\n").listens_ipv4());
    EXPECT_TRUE(load_valid("[mom]\nlisten = \"[::ffff:10.0.0.1]:9998\"\n").listens_ipv4());
}

TEST_F(ConfigTest, MetricsEndpointOfEitherFamily) {
    EXPECT_EQ(load_valid("[mom]\nmetrics = \"[::1]:9100\"\n").metrics, (SocketAddress{{}, 9100, *parse_ipv6("::1")}));
    EXPECT_EQ(load_valid("[mom]\nmetrics = \"[::]:9100\"\n").metrics, (SocketAddress{{}, 9100, Ipv6{}}));
}

TEST_F(ConfigTest, Ipv6MistakesAreRefusedAtTheirLine) {
    expect_load_errors({
        {"[mom]\nlisten = \"2001:db8::1:9998\"\n", 2,
         "[mom] listen: an IPv6 address takes brackets before the port: \"[2001:db8::1]:9998\""},
        {"[mom]\nlisten = \"[2001:db8::zz]:9998\"\n", 2, "[mom] listen: invalid IPv6 address \"2001:db8::zz\""},
        {"[mom]\nlisten = \"[fe80::1%eth0]:9998\"\n", 2, "[mom] listen: invalid IPv6 address \"fe80::1%eth0\""},
        {"[mom]\nlisten = \"[::1]\"\n", 2, "[mom] listen must be \"IP:PORT\" or \"[IPv6]:PORT\""},
        {"[mom]\nlisten = \"[::1]:0\"\n", 2, "[mom] listen: invalid port \"0\""},
        {"[mom]\nlisten = \"[fe80::1]:9998\"\n", 2, "[mom] listen: a link-local IPv6 address"},
        {"[mom]\nlisten = \"0.0.0.0:9998\"\nv6only = true\n", 3, "[mom] v6only applies to an IPv6 listen address"},
        {"[mom]\nv6only = true\n", 2, "[mom] v6only applies to an IPv6 listen address"},
        {"[mom]\nlisten = \"[::]:9998\"\nv6only = \"yes\"\n", 3, "[mom] v6only must be"},
        {"[mom]\nmetrics = \"[::1]\"\n", 2, "[mom] metrics must be \"IP:PORT\" or \"[IPv6]:PORT\""},
        {"[[topics]]\nid = 1\nqos = \"strict\"\nsubscribers = [\"[::]:9000\"]\n", 4, ":: is not a subscriber address"},
        {"[[topics]]\nid = 1\nqos = \"strict\"\nsubscribers = [\"[fe80::5]:9000\"]\n", 4,
         "subscriber [fe80::5]:9000: a link-local IPv6 address"},
        {"[[topics]]\nid = 1\nqos = \"strict\"\nsubscribers = [{ ip = \"[2001:db8::5]\" }]\n", 4,
         "subscriber ip: write the IPv6 address without brackets"},
        {"[[topics]]\nid = 1\nqos = \"strict\"\nsubscribers = [{ ip = \"2001:db8::5::1\" }]\n", 4,
         "subscriber ip: invalid IPv6 address \"2001:db8::5::1\""},
        {"[[topics]]\nid = 1\nqos = \"strict\"\nsubscribers = [\n  \"[2001:db8::5]:9000\",\n"
         "  { ip = \"2001:0db8::5\", port = 9000 },\n]\n", 6, "duplicate subscriber [2001:db8::5]:9000 in one subscription group"},
    });
}

// Every example is a Controller file, except the routes files the others name ([mom] routes), which are read
// through those.
TEST(ConfigExamples, EveryFileInConfigDirIsAccepted) {
    const fs::path config_dir = fs::path(__FILE__).parent_path().parent_path().parent_path() / "config";
    ASSERT_TRUE(fs::is_directory(config_dir)) << config_dir;
    std::set<fs::path> routes_files;
    for (const auto& entry : fs::directory_iterator(config_dir))
        if (const auto result = load_config(entry.path()); result && result->routes) routes_files.insert(*result->routes);
    int checked = 0;
    for (const auto& entry : fs::directory_iterator(config_dir)) {
        if (entry.path().extension() != ".toml" || routes_files.contains(entry.path().lexically_normal())) continue;
        SCOPED_TRACE(entry.path().string());
        const auto result = load_config(entry.path());
        EXPECT_TRUE(result.is_ok()) << result.message();
        ++checked;
    }
    // The four examples the docs promise.
    for (const char* name : {"tempos-mom.toml", "thesis.toml", "thesis-routes.toml", "loopback-recording.toml"})
        EXPECT_TRUE(fs::exists(config_dir / name)) << name;
    EXPECT_GE(checked, 4);
}

TEST(ConfigExamples, ThesisConfigUsesTheThesisRoutes) {
    const fs::path config_dir = fs::path(__FILE__).parent_path().parent_path().parent_path() / "config";
    const auto result = load_config(config_dir / "thesis.toml");
    ASSERT_TRUE(result.is_ok()) << result.message();
    const MomConfig& config = *result;
    ASSERT_TRUE(config.routes.has_value());
    EXPECT_EQ(config.routes->filename(), "thesis-routes.toml");
    ASSERT_TRUE(config.topics.contains(1));
    EXPECT_EQ(config.topics.at(1).qos, Qos::strict);
    EXPECT_EQ(config.topics.at(1).groups.at(0).members.at(0).ip, (Ipv4{10, 0, 0, 211}));
}

// --- invalid files: each names the exact file and line -----------------------------------------------------

TEST_F(ConfigTest, MissingFileIsReportedForTheWholeFile) {
    const fs::path missing = dir_ / "nope.toml";
    const auto result = load_config(missing);
    ASSERT_FALSE(result.is_ok());
    // The file and no line: the error concerns the file as a whole.
    EXPECT_EQ(result.message(), missing.string() + ": cannot read the file: No such file or directory");
    EXPECT_EQ(result.code(), ErrorCode::not_found);
}

// TOML is UTF-8: a bad sequence anywhere (here inside a literal string, where Debian's toml11 3.7.1 reads past
// its buffer) is refused with its line before toml11 parses the file.
TEST_F(ConfigTest, InvalidUtf8IsRefusedWithItsLine) {
    EXPECT_EQ(load_error("[mom]\nlisten = \"0.0.0.0:9998\"\n# caf\xC3\n"),
              at(3) + "not valid UTF-8 (byte 0xC3 at column 6): a TOML file must be UTF-8");
    EXPECT_EQ(load_error("[mom]\nname = 'te\xF2pos'\n"),
              at(2) + "not valid UTF-8 (byte 0xF2 at column 11): a TOML file must be UTF-8");
    // Overlong form, surrogate, past U+10FFFF.
    for (const std::string bad : {"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80"})
        EXPECT_PRED2(starts_with, load_error("[mom]\n# " + bad + "\n"), at(2) + "not valid UTF-8 (byte 0x");
    // Valid multi-byte text is accepted.
    load_valid("[mom]\nlisten = \"0.0.0.0:9998\"\n# café €𝄞\n");
}

TEST_F(ConfigTest, TheFuzzersToml11FindingIsRefusedNotRead) {
    const fs::path finding = fs::path(__FILE__).parent_path().parent_path() / "fuzz" / "findings" /
                             "toml11-literal-string-heap-overflow.toml";
    const auto result = load_config(finding);
    ASSERT_FALSE(result.is_ok());
    EXPECT_PRED2(starts_with, result.message(), finding.string() + ":1: not valid UTF-8 (byte 0xF2 at column 5)");
}

TEST_F(ConfigTest, OnlyRegularFilesAreRead) {
    const auto device = load_config("/dev/zero");
    ASSERT_FALSE(device.is_ok());
    EXPECT_EQ(device.message(), "/dev/zero: cannot read the file: it is not a regular file (a FIFO, socket or device)");
    const fs::path fifo = dir_ / "fifo.toml";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    const auto routes = load_error("[mom]\nlisten = \"0.0.0.0:9998\"\nroutes = \"fifo.toml\"\n");
    EXPECT_EQ(routes, at(3) + "routes file \"" + fifo.string() +
                          "\": cannot read the file: it is not a regular file (a FIFO, socket or device)");
    // A symbolic link to a regular file is read.
    write("real.toml", "[mom]\nlisten = \"0.0.0.0:9998\"\n");
    fs::create_symlink(dir_ / "real.toml", dir_ / "link.toml");
    EXPECT_TRUE(load_config(dir_ / "link.toml").is_ok());
}

TEST_F(ConfigTest, SyntaxErrorNamesTheLineToml11Blames) {
    const std::string error = load_error("[mom]\nsq_priority = 10\nlisten = \"0.0.0.0:1\n");
    EXPECT_PRED2(starts_with, error, (at(3) + "TOML syntax error: "));
}

TEST_F(ConfigTest, SyntaxErrorKeyDefinedTwiceNamesTheSecondDefinition) {
    const std::string error = load_error("[mom]\nsq_priority = 10\n\nsq_priority = 11\n");
    EXPECT_PRED2(starts_with, error, (at(4) + "TOML syntax error: "));
    EXPECT_PRED2(contains, error, ("defined twice"));
}

TEST_F(ConfigTest, UnknownKeyAtTopLevel) {
    const std::string error = load_error("[mom]\nlisten = \"0.0.0.0:1\"\n\n[moms]\nx = 1\n");
    EXPECT_PRED2(starts_with, error, (at(4) + "unknown key \"moms\" in the top level"));
}

TEST_F(ConfigTest, UnknownKeyInMomReportsTheFirstInTheFile) {
    const std::string error = load_error("[mom]\nlisten = \"0.0.0.0:1\"\nsq_prio = 5\nzzz = 1\n");
    EXPECT_PRED2(starts_with, error, (at(3) + "unknown key \"sq_prio\" in [mom]"));
}

TEST_F(ConfigTest, UnknownKeyInTopic) {
    const std::string error =
        load_error("[[topics]]\nid = 1\nqos = \"strict\"\nsubscribers = [\"10.0.0.1:1\"]\npriority = 3\n");
    EXPECT_PRED2(starts_with, error, (at(5) + "unknown key \"priority\" in [[topics]]"));
}

TEST_F(ConfigTest, UnknownKeyInEndpointTable) {
    const std::string error =
        load_error("[[topics]]\nid = 1\nqos = \"strict\"\nsubscribers = [\n  { ip = \"10.0.0.1\", prt = 5 },\n]\n");
    EXPECT_PRED2(starts_with, error, (at(5) + "unknown key \"prt\" in a subscriber table"));
}

TEST_F(ConfigTest, UnknownKeyInGroup) {
    const std::string error = load_error(
        "[[topics]]\nid = 1\nqos = \"strict\"\n[[topics.groups]]\nsubscribers = [\"10.0.0.1:1\"]\nweight = 2\n");
    EXPECT_PRED2(starts_with, error, (at(6) + "unknown key \"weight\" in [[topics.groups]]"));
}

TEST_F(ConfigTest, PortsOutOfRange) {
    expect_load_errors({
        {"[mom]\nlisten = \"0.0.0.0:70000\"\n", 2, "[mom] listen: invalid port \"70000\""},
        {"[mom]\n\nmetrics = \"127.0.0.1:0\"\n", 3, "[mom] metrics: invalid port \"0\""},
        {"[[topics]]\nid = 1\nqos = \"strict\"\nsubscribers = [{ ip = \"10.0.0.1\", port = 65536 }]\n", 4, "subscriber port must be in 1..65535, got 65536"},
        {"[[topics]]\nid = 1\nqos = \"strict\"\nsubscribers = [{ ip = \"10.0.0.1\", port = 0 }]\n", 4, "subscriber port must be in 1..65535, got 0"},
        {"[[topics]]\nid = 1\nqos = \"strict\"\nsubscribers = [\"10.0.0.1:99999\"]\n", 4, "subscriber: invalid port \"99999\""},
    });
}

TEST_F(ConfigTest, ReceiveBufferOutOfRange) {
    EXPECT_EQ(load_valid("[mom]\nqueue_bytes = 65536\n").queue_bytes, 65536);
    expect_load_errors({
        {"[mom]\nqueue_bytes = 65535\n", 2, "[mom] queue_bytes must be in 65536..1073741824, got 65535"},
        {"[mom]\nreceive_buffer = 1024\n", 2, "[mom] receive_buffer must be in 65536..1073741824, got 1024"},
        {"[mom]\n\nreceive_buffer = 2147483648\n", 3, "[mom] receive_buffer must be in 65536..1073741824, got 2147483648"},
    });
}

TEST_F(ConfigTest, DrainTimeoutIsADurationInRange) {
    EXPECT_EQ(load_valid("[mom]\ndrain_timeout = \"2s\"\n").drain_timeout, std::chrono::milliseconds(2000));
    EXPECT_EQ(load_valid("[mom]\ndrain_timeout = \"0ms\"\n").drain_timeout, std::chrono::milliseconds(0));
    const std::string form = "[mom] drain_timeout must be a duration such as \"250ms\" or \"1s\"";
    expect_load_errors({
        {"[mom]\ndrain_timeout = \"1.5s\"\n", 2, form},
        {"[mom]\ndrain_timeout = \"1\"\n", 2, form},
        {"[mom]\ndrain_timeout = \"-1s\"\n", 2, form},
        {"[mom]\n\ndrain_timeout = \"s\"\n", 3, form},
        {"[mom]\ndrain_timeout = 1\n", 2, "[mom] drain_timeout must be a string, got an integer"},
        {"[mom]\ndrain_timeout = \"61s\"\n", 2, "[mom] drain_timeout must be in 0ms..60000ms, got \"61s\""},
    });
}

TEST_F(ConfigTest, IntegerBeyond64BitsIsOutOfRangeNotWrapped) {
    // 2^64 + 1 would wrap to 1 with a careless conversion.
    EXPECT_PRED2(starts_with, load_error("[[topics]]\nid = 1\nqos = \"strict\"\n"
                           "subscribers = [{ ip = \"10.0.0.1\", port = 18446744073709551617 }]\n"),
                (at(4) + "subscriber port must be in 1..65535"));
}

TEST_F(ConfigTest, TopicIdOutOfRange) {
    expect_load_errors({
        {"[[topics]]\nid = 256\nqos = \"strict\"\nsubscribers = [\"10.0.0.1:1\"]\n", 2, "topic id must be in 0..255, got 256"},
        {"[[topics]]\nqos = \"strict\"\nid = -1\nsubscribers = [\"10.0.0.1:1\"]\n", 3, "topic id must be in 0..255, got -1"},
    });
}

TEST_F(ConfigTest, SqPriorityOutOfRange) {
    expect_load_errors({
        {"[mom]\nsq_priority = 0\n", 2, "[mom] sq_priority must be in 1..99, got 0"},
        {"[mom]\n\nsq_priority = 100\n", 3, "[mom] sq_priority must be in 1..99, got 100"},
    });
}

TEST_F(ConfigTest, BadIpAddresses) {
    const std::string topic = "[[topics]]\nid = 1\nqos = \"strict\"\n";
    expect_load_errors({
        {topic + "subscribers = [\"10.0.0.256:1\"]\n", 4, "subscriber: invalid IPv4 address \"10.0.0.256\""},
        {topic + "subscribers = [\"10.0.0:1\"]\n", 4, "subscriber: invalid IPv4 address \"10.0.0\""},
        {topic + "subscribers = [{ ip = \" 10.0.0.1\" }]\n", 4, "subscriber ip: invalid IPv4 address \" 10.0.0.1\""},
        {topic + "subscribers = [{ ip = \"10.0.0.1x\" }]\n", 4, "subscriber ip: invalid IPv4 address \"10.0.0.1x\""},
        {topic + "subscribers = [\"0.0.0.0:1\"]\n", 4, "0.0.0.0 is not a subscriber address"},
        {"[mom]\nlisten = \"1.2.3:9998\"\n", 2, "[mom] listen: invalid IPv4 address \"1.2.3\""},
        {"[mom]\nlisten = \"9998\"\n", 2, "[mom] listen must be \"IP:PORT\""},
    });
}

TEST_F(ConfigTest, BadMacAddresses) {
    const std::string topic = "[[topics]]\nid = 1\nqos = \"strict\"\n";
    expect_load_errors({
        {topic + "subscribers = [{ ip = \"10.0.0.1\", mac = \"40:a6:b7:66:38\" }]\n", 4,
         "subscriber mac: invalid MAC address \"40:a6:b7:66:38\""},
        {topic + "subscribers = [{ ip = \"10.0.0.1\", mac = \"40:a6:b7:66:38:fgb\" }]\n", 4,
         "subscriber mac: invalid MAC address \"40:a6:b7:66:38:fgb\""},
    });
}

TEST_F(ConfigTest, DuplicateTopicInTopics) {
    const std::string one = "[[topics]]\nid = 4\nqos = \"strict\"\nsubscribers = [\"10.0.0.1:1\"]\n";
    EXPECT_PRED2(starts_with, load_error(one + one),
                (at(6) + "duplicate topic id 4 (first defined at " + at(2).substr(0, at(2).size() - 2) + ")"));
}

TEST_F(ConfigTest, DuplicateTopicAcrossTheRoutesFile) {
    write("routes.toml", std::string("# thesis routes\n") + kThesisExample);
    const std::string error =
        load_error("[mom]\nroutes = \"routes.toml\"\n\n[[topics]]\nid = 1\nqos = \"best-effort\"\n"
                   "subscribers = [\"10.0.0.1:1\"]\n");
    const std::string first = at(5);
    EXPECT_PRED2(starts_with, error, (at(3, "routes.toml") + "duplicate topic id 1 (first defined at " +
                                  first.substr(0, first.size() - 2) + ")"));
}

TEST_F(ConfigTest, EmptyGroups) {
    expect_load_errors({
        {"[[topics]]\nid = 1\nqos = \"strict\"\nsubscribers = []\n", 4, "empty subscription group"},
        {"[[topics]]\nid = 1\nqos = \"strict\"\n[[topics.groups]]\nsubscribers = [\"10.0.0.1:1\"]\n"
         "[[topics.groups]]\nsubscribers = []\n", 7, "empty subscription group"},
        {"[[topics]]\nid = 1\nqos = \"strict\"\n[[topics.groups]]\n", 4, "[[topics.groups]] needs the key \"subscribers\""},
        {"[[topics]]\nid = 1\nqos = \"strict\"\ngroups = []\n", 4, "topic 1: groups must hold at least one group"},
    });
}

TEST_F(ConfigTest, SubscribersAndGroupsTogether) {
    EXPECT_PRED2(starts_with, load_error("[[topics]]\nid = 9\nqos = \"strict\"\nsubscribers = [\"10.0.0.1:1\"]\n"
                           "[[topics.groups]]\nsubscribers = [\"10.0.0.2:1\"]\n"),
                (at(5) + "topic 9: give either subscribers = [...] (one group) or [[topics.groups]], "
                                   "not both"));
}

TEST_F(ConfigTest, TopicWithoutSubscribersOrQos) {
    expect_load_errors({
        {"\n[[topics]]\nid = 9\nqos = \"strict\"\n", 2, "topic 9 has no subscribers"},
        {"[[topics]]\nid = 9\nsubscribers = [\"10.0.0.1:1\"]\n", 1, "topic 9 needs the key \"qos\""},
        {"[[topics]]\nid = 9\nqos = \"realtime\"\nsubscribers = [\"10.0.0.1:1\"]\n", 3, "topic 9 qos must be \"strict\" or \"best-effort\", got \"realtime\""},
    });
}

TEST_F(ConfigTest, DuplicateSubscriberInOneGroup) {
    EXPECT_PRED2(starts_with, load_error("[mom]\nlisten = \"0.0.0.0:9998\"\n[[topics]]\nid = 1\nqos = \"strict\"\n"
                           "subscribers = [\"10.0.0.1:9998\",\n  { ip = \"10.0.0.1\" }]\n"),
                (at(7) + "duplicate subscriber 10.0.0.1:9998 in one subscription group"));
}

TEST_F(ConfigTest, WrongTypes) {
    expect_load_errors({
        {"[mom]\nsq_priority = \"99\"\n", 2, "[mom] sq_priority must be an integer, got a string"},
        {"[mom]\nlisten = 9998\n", 2, "[mom] listen must be a string, got an integer"},
        {"mom = 3\n", 1, "mom must be a table, got an integer"},
        {"[[adapters]]\nname = \"a\"\nlibrary = \"liba.so\"\nenabled = \"yes\"\n", 4, "adapter enabled must be a boolean, got a string"},
        {"[[topics]]\nid = \"1\"\n", 2, "topic id must be an integer, got a string"},
        {"[[topics]]\nid = 1.5\n", 2, "topic id must be an integer, got a float"},
        {"[[topics]]\nid = 1\nqos = \"strict\"\nsubscribers = \"10.0.0.1:1\"\n", 4, "subscribers must be an array, got a string"},
        {"[[topics]]\nid = 1\nqos = \"strict\"\nsubscribers = [42]\n", 4, "a subscriber must be a string \"IP:PORT\" or an inline table"},
        {"\n[adapters]\nname = \"a\"\n", 2, "adapters must be an array of tables (write [[adapters]]), got a table"},
    });
}

TEST_F(ConfigTest, BadXdpMode) {
    const std::string adapter = "[[adapters]]\nname = \"xdp\"\nlibrary = \"libxdp_adapter.so\"\n";
    expect_load_errors({
        {adapter + "xdp_mode = \"Native\"\n", 4,
         "xdp_mode must be \"auto\", \"native\", \"generic\" or \"off\", got \"Native\""},
        {adapter + "xdp_mode = \"native \"\n", 4, "xdp_mode must be"},
        {adapter + "xdp_mode = true\n", 4, "xdp_mode must be \"auto\", \"native\", \"generic\" or \"off\", got true"},
    });
    for (const char* mode : {"auto", "native", "generic", "off"}) {
        SCOPED_TRACE(mode);
        EXPECT_EQ(load_valid(adapter + "xdp_mode = \"" + mode + "\"\n").adapters.at(0).options.at("xdp_mode"), mode);
    }
}

TEST_F(ConfigTest, AdapterRules) {
    expect_load_errors({
        {"[[adapters]]\nlibrary = \"liba.so\"\n", 1, "[[adapters]] needs the key \"name\""},
        {"[[adapters]]\nname = \"\"\nlibrary = \"liba.so\"\n", 2, "adapter name must not be empty"},
        {"[[adapters]]\nname = \"a\"\n", 1, "adapter \"a\" needs the key \"library\""},
        {"[[adapters]]\nname = \"a\"\nlibrary = \"lib/liba.so\"\n", 3, "adapter library must be an absolute path or a file name"},
        {"[[adapters]]\nname = \"a\"\nlibrary = \"liba.so\"\n\n[[adapters]]\nname = \"a\"\n"
         "library = \"libb.so\"\n", 6, "duplicate adapter name \"a\" (first defined at line 2)"},
        {"[[adapters]]\nname = \"a\"\nlibrary = \"liba.so\"\nqueues = [1, 2]\n", 4, "adapter option \"queues\" must be a string, a boolean or an integer, got an array"},
        {"[[adapters]]\nname = \"a\"\nlibrary = \"liba.so\"\n[adapters.extra]\nx = 1\n", 4, "adapter option \"extra\" must be a string, a boolean or an integer, got a table"},
    });
}

TEST_F(ConfigTest, InterfaceNameFollowsTheKernelRules) {
    EXPECT_EQ(load_valid("[mom]\ninterface = \"veth-tempos-0ab\"\n").interface, "veth-tempos-0ab");
    expect_load_errors({
        {"[mom]\ninterface = \"veth-tempos-0abc\"\n", 2, "[mom] interface must be a network interface name of 1..15 characters"},
        {"[mom]\ninterface = \"eth0:1\"\n", 2, "[mom] interface must be"},
        {"[mom]\ninterface = \"\"\n", 2, "[mom] interface must be"},
    });
}

TEST_F(ConfigTest, MissingRoutesFileIsBlamedOnTheRoutesLine) {
    const std::string error = load_error("[mom]\nlisten = \"0.0.0.0:9998\"\nroutes = \"missing.toml\"\n");
    EXPECT_PRED2(starts_with, error, (at(3) + "routes file \"" + (dir_ / "missing.toml").string() +
                                  "\": cannot read the file: No such file or directory"));
}

TEST_F(ConfigTest, RoutesFileErrorsNameTheRoutesFile) {
    // The routes file's text, and the line of it the error names with its message.
    const struct {
        const char* routes;
        int line;
        const char* message;
    } cases[] = {
        {"[[topic]]\ntopic_value = 3\n  [[topic.address]]\n  ip = \"0.0.0.0\"\n  mac = \"0:0:0:0:0:0\"\n", 1,
         "topic 3 has only padding entries (ip 0.0.0.0)"},
        {"[[topic]]\ntopic_value = 3\n  [[topic.address]]\n  ip = \"10.0.0.1\"\n  mac = \"0:0:0:0:0\"\n", 5,
         "topic 3 address mac: invalid MAC address \"0:0:0:0:0\""},
        {"[[topic]]\ntopic_value = 3\n  [[topic.address]]\n  ip = \"10.0.0.1\"\n  port = 5\n", 5,
         "unknown key \"port\" in [[topic.address]]"},
        {"[mom]\nlisten = \"0.0.0.0:1\"\n", 1,
         "unknown key \"mom\" in the routes file's top level"},
        {"[[topic]]\ntopic_value = 300\n", 2,
         "topic_value must be in 0..255, got 300"},
        {"[[topic]]\ntopic_value = 3\n  [[topic.address]]\n  ip = \"10.0.0.1\"\n  mac = \"0:0:0:0:0:0\"\n", 5,
         "topic 3: mac 0:0:0:0:0:0 is only valid in a padding entry"},
    };
    for (const auto& c : cases) {
        write("routes.toml", c.routes);
        EXPECT_PRED2(starts_with, load_error("[mom]\nroutes = \"routes.toml\"\n"), at(c.line, "routes.toml") + c.message)
            << c.routes;
    }
}

TEST_F(ConfigTest, LoadThesisRoutesErrors) {
    const fs::path missing = dir_ / "none.toml";
    const auto unreadable = load_thesis_routes(missing, 9998);
    ASSERT_FALSE(unreadable.is_ok());
    EXPECT_EQ(unreadable.message(), missing.string() + ": cannot read the file: No such file or directory");

    const fs::path routes = write("routes.toml", "[[topic]]\ntopic_value = 3\n  [[topic.address]]\n  ip = \"10.0.0.1\"\n"
                                                 "  [[topic.address]]\n  ip = \"10.0.0.1\"\n");
    const auto duplicate = load_thesis_routes(routes, 9998);
    ASSERT_FALSE(duplicate.is_ok());
    EXPECT_EQ(duplicate.message(), routes.string() + ":6: topic 3: duplicate address 10.0.0.1");

    const fs::path empty = write("empty.toml", "# nothing\n");
    const auto no_topics = load_thesis_routes(empty, 9998);
    ASSERT_FALSE(no_topics.is_ok());
    EXPECT_EQ(no_topics.message(), empty.string() + ": the routes file defines no [[topic]]");
}

}  // namespace

// --- admission limits (docs/isolation.md) --------------------------------------------------------------------

namespace {

TEST_F(ConfigTest, RateLimitsOfTopicsAndPublishersAreRead) {
    const MomConfig config = load_valid(
        "[mom]\npublisher_rate_limit = 5000\npublisher_burst = 50\n"
        "[[topics]]\nid = 2\nqos = \"best-effort\"\nsubscribers = [\"10.0.0.1:1\"]\nrate_limit = 1000\nburst = 20\n"
        "[[topics]]\nid = 3\nqos = \"strict\"\nsubscribers = [\"10.0.0.1:1\"]\nrate_limit = 95\n"
        "[[topics]]\nid = 4\nqos = \"best-effort\"\nsubscribers = [\"10.0.0.1:1\"]\n");
    EXPECT_EQ(config.publisher_limit, (RateLimit{5000, 50}));
    EXPECT_EQ(config.topics.at(2).rate_limit, (RateLimit{1000, 20}));
    EXPECT_EQ(config.topics.at(3).rate_limit, (RateLimit{95, 9})) << "burst defaults to a tenth of the rate";
    EXPECT_EQ(config.topics.at(4).rate_limit, std::nullopt);
    EXPECT_EQ(load_valid("[mom]\npublisher_rate_limit = 5\n").publisher_limit, (RateLimit{5, 1}));
}

TEST_F(ConfigTest, RateLimitErrorsNameTheirLine) {
    EXPECT_PRED2(starts_with,
                 load_error("[[topics]]\nid = 2\nqos = \"best-effort\"\nsubscribers = [\"10.0.0.1:1\"]\nburst = 20\n"),
                 (at(5) + "topic 2 burst needs rate_limit"));
    EXPECT_PRED2(starts_with,
                 load_error("[[topics]]\nid = 2\nqos = \"best-effort\"\nsubscribers = [\"10.0.0.1:1\"]\nrate_limit = 0\n"),
                 (at(5) + "topic 2 rate_limit must be in 1..1000000000, got 0"));
    expect_load_errors({
        {"[mom]\npublisher_rate_limit = 10\npublisher_burst = \"x\"\n", 3, "[mom] publisher_burst must be an integer"},
        {"[mom]\n\npublisher_burst = 3\n", 3, "[mom] publisher_burst needs publisher_rate_limit"},
    });
}

}  // namespace
