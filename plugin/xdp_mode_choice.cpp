#include "xdp_mode_choice.hpp"

namespace tempos::xdp {

namespace {

bool is_veth(const InterfaceFacts& facts) { return facts.driver == "veth"; }

}  // namespace

std::string peer_problem(const InterfaceFacts& facts) {
    if (facts.peer.state == PeerXdp::State::none)
        return "its peer " + facts.peer.peer + " runs no native XDP program";
    return "its peer cannot be checked (" + facts.peer.why + ")";
}

bool native_transmit_delivers(const InterfaceFacts& facts) {
    return !is_veth(facts) || facts.peer.state == PeerXdp::State::native;
}

ModeChoice choose_xdp_mode(XdpMode requested, const InterfaceFacts& facts) {
    ModeChoice choice;
    choice.attach = requested;
    if (requested == XdpMode::generic || requested == XdpMode::off || !is_veth(facts)) return choice;
    if (requested == XdpMode::native) {
        if (!native_transmit_delivers(facts)) {
            choice.warn = true;
            choice.message = "xdp_mode native on veth " + facts.name + ": " + peer_problem(facts) +
                             "; a veth drops every frame native XDP_TX/redirect sends into it unless its peer runs "
                             "a native XDP program (counted in tempos_device_xdp_errors_total); attach one to the "
                             "peer, or use xdp_mode \"generic\" or \"auto\"";
        }
        return choice;
    }
    // automatic on a veth
    if (native_transmit_delivers(facts)) {
        choice.attach = XdpMode::automatic;
        choice.message = "xdp_mode auto: native on veth " + facts.name + " (its peer " + facts.peer.peer +
                         " runs a native XDP program, so frames sent back into the veth are received)";
        return choice;
    }
    choice.attach = XdpMode::generic;
    choice.message = "xdp_mode auto: generic on veth " + facts.name + ": " + peer_problem(facts) +
                     ", and native XDP_TX/redirect into a veth is received only if it does; for native, attach an "
                     "XDP program (XDP_PASS is enough) to the peer in native mode";
    return choice;
}

InterfaceFacts interface_facts(const std::string& name, int ifindex) {
    InterfaceFacts facts;
    facts.name = name;
    if (Result<std::string> driver = device_driver(name); driver) facts.driver = *driver;
    if (is_veth(facts)) facts.peer = veth_peer_xdp(ifindex);
    return facts;
}

}  // namespace tempos::xdp
