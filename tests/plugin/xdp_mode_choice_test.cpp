// The mode auto and native attach in, from what the interface is (plugin/xdp_mode_choice.hpp).
#include <gtest/gtest.h>

#include "xdp_mode_choice.hpp"

namespace tempos::xdp {
namespace {

InterfaceFacts veth(PeerXdp::State peer_state) {
    InterfaceFacts facts{"eth0", "veth", {}};
    facts.peer.state = peer_state;
    if (peer_state != PeerXdp::State::unknown) facts.peer.peer = "p-mom-eth0 (netns id 0)";
    else facts.peer.why = "its peer (ifindex 7 in netns id 2) cannot be queried: Operation not permitted";
    return facts;
}

TEST(XdpModeChoice, AutoOnAVethIsNativeOnlyWhenThePeerRunsNativeXdp) {
    const ModeChoice with = choose_xdp_mode(XdpMode::automatic, veth(PeerXdp::State::native));
    EXPECT_EQ(with.attach, XdpMode::automatic);  // native, generic if the driver refuses
    EXPECT_FALSE(with.warn);
    EXPECT_NE(with.message.find("native on veth eth0 (its peer p-mom-eth0 (netns id 0) runs a native XDP"),
              std::string::npos)
        << with.message;

    const ModeChoice without = choose_xdp_mode(XdpMode::automatic, veth(PeerXdp::State::none));
    EXPECT_EQ(without.attach, XdpMode::generic);
    EXPECT_FALSE(without.warn);
    EXPECT_NE(without.message.find("generic on veth eth0: its peer p-mom-eth0 (netns id 0) runs no native XDP program"),
              std::string::npos)
        << without.message;
    EXPECT_NE(without.message.find("for native, attach an XDP program"), std::string::npos) << without.message;

    const ModeChoice unknown = choose_xdp_mode(XdpMode::automatic, veth(PeerXdp::State::unknown));
    EXPECT_EQ(unknown.attach, XdpMode::generic);
    EXPECT_NE(unknown.message.find("its peer cannot be checked (its peer (ifindex 7 in netns id 2) cannot be queried"),
              std::string::npos)
        << unknown.message;
}

TEST(XdpModeChoice, ExplicitNativeStaysNativeAndWarnsOnAVethThatCannotReceive) {
    for (const PeerXdp::State state : {PeerXdp::State::none, PeerXdp::State::unknown}) {
        const ModeChoice choice = choose_xdp_mode(XdpMode::native, veth(state));
        EXPECT_EQ(choice.attach, XdpMode::native);
        EXPECT_TRUE(choice.warn);
        EXPECT_NE(choice.message.find("tempos_device_xdp_errors_total"), std::string::npos) << choice.message;
    }
    const ModeChoice fine = choose_xdp_mode(XdpMode::native, veth(PeerXdp::State::native));
    EXPECT_EQ(fine.attach, XdpMode::native);
    EXPECT_TRUE(fine.message.empty()) << fine.message;
}

TEST(XdpModeChoice, OtherDriversAndGenericAreLeftAsConfigured) {
    const InterfaceFacts nic{"eth0", "mlx5_core", {}};
    EXPECT_EQ(choose_xdp_mode(XdpMode::automatic, nic).attach, XdpMode::automatic);
    EXPECT_TRUE(choose_xdp_mode(XdpMode::automatic, nic).message.empty());
    EXPECT_EQ(choose_xdp_mode(XdpMode::native, nic).attach, XdpMode::native);
    EXPECT_EQ(choose_xdp_mode(XdpMode::generic, veth(PeerXdp::State::none)).attach, XdpMode::generic);
    EXPECT_TRUE(choose_xdp_mode(XdpMode::generic, veth(PeerXdp::State::none)).message.empty());
    EXPECT_TRUE(native_transmit_delivers(nic));
    EXPECT_FALSE(native_transmit_delivers(veth(PeerXdp::State::unknown)));
}

}  // namespace
}  // namespace tempos::xdp
