#include "send_error_reason.hpp"

#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>

#include <cerrno>

namespace tempos::xdp {

const char* to_string(SendErrorReason reason) {
    switch (reason) {
        case SendErrorReason::would_block: return "would_block";
        case SendErrorReason::no_buffers: return "no_buffers";
        case SendErrorReason::refused: return "refused";
        case SendErrorReason::unreachable: return "unreachable";
        case SendErrorReason::too_big: return "too_big";
        case SendErrorReason::denied: return "denied";
        case SendErrorReason::other: return "other";
        case SendErrorReason::icmp_port_unreachable: return "icmp_port_unreachable";
        case SendErrorReason::icmp_host_unreachable: return "icmp_host_unreachable";
        case SendErrorReason::icmp_net_unreachable: return "icmp_net_unreachable";
        case SendErrorReason::icmp_frag_needed: return "icmp_frag_needed";
        case SendErrorReason::icmp_prohibited: return "icmp_prohibited";
        case SendErrorReason::icmp_other: return "icmp_other";
        case SendErrorReason::count_: break;
    }
    return "other";
}

SendErrorReason reason_of_errno(int err) {
    switch (err) {
        case EAGAIN: return SendErrorReason::would_block;  // == EWOULDBLOCK on Linux
        case ENOBUFS: return SendErrorReason::no_buffers;
        case ECONNREFUSED: return SendErrorReason::refused;
        case EHOSTUNREACH:
        case ENETUNREACH:
        case EHOSTDOWN:
        case ENONET: return SendErrorReason::unreachable;
        case EMSGSIZE: return SendErrorReason::too_big;
        case EPERM:
        case EACCES: return SendErrorReason::denied;
        default: return SendErrorReason::other;
    }
}

namespace {

// ICMPv6 (RFC 4443) mapped onto the ICMP reasons, so /metrics has the same labels for both families.
SendErrorReason reason_of_icmp6(const sock_extended_err& error) {
    if (error.ee_type == ICMP6_PACKET_TOO_BIG) return SendErrorReason::icmp_frag_needed;
    if (error.ee_type != ICMP6_DST_UNREACH) return SendErrorReason::icmp_other;
    switch (error.ee_code) {
        case ICMP6_DST_UNREACH_NOPORT: return SendErrorReason::icmp_port_unreachable;
        case ICMP6_DST_UNREACH_ADDR: return SendErrorReason::icmp_host_unreachable;
        case ICMP6_DST_UNREACH_NOROUTE: return SendErrorReason::icmp_net_unreachable;
        case ICMP6_DST_UNREACH_ADMIN:
        case 5:  // source address failed ingress/egress policy
        case 6:  // reject route to destination
            return SendErrorReason::icmp_prohibited;
        default: return SendErrorReason::icmp_other;
    }
}

}  // namespace

std::optional<SendErrorReason> reason_of_queued_error(const sock_extended_err& error) {
    if (error.ee_origin == SO_EE_ORIGIN_ICMP6) return reason_of_icmp6(error);
    if (error.ee_origin != SO_EE_ORIGIN_ICMP) return std::nullopt;
    if (error.ee_type != ICMP_DEST_UNREACH) return SendErrorReason::icmp_other;
    switch (error.ee_code) {
        case ICMP_PORT_UNREACH: return SendErrorReason::icmp_port_unreachable;
        case ICMP_HOST_UNREACH:
        case ICMP_HOST_UNKNOWN:
        case ICMP_HOST_UNR_TOS:
        case ICMP_HOST_ISOLATED:
        case ICMP_SR_FAILED: return SendErrorReason::icmp_host_unreachable;
        case ICMP_NET_UNREACH:
        case ICMP_NET_UNKNOWN:
        case ICMP_NET_UNR_TOS: return SendErrorReason::icmp_net_unreachable;
        case ICMP_FRAG_NEEDED: return SendErrorReason::icmp_frag_needed;
        case ICMP_NET_ANO:
        case ICMP_HOST_ANO:
        case ICMP_PKT_FILTERED:
        case ICMP_PREC_VIOLATION:
        case ICMP_PREC_CUTOFF: return SendErrorReason::icmp_prohibited;
        default: return SendErrorReason::icmp_other;
    }
}

// The errnos the kernel turns ICMP errors into (icmp_err_convert, __udp4_lib_err).
bool may_be_deferred_error(int err) {
    switch (err) {
        case ECONNREFUSED:
        case EHOSTUNREACH:
        case ENETUNREACH:
        case EHOSTDOWN:
        case ENONET:
        case EPROTO:
        case ENOPROTOOPT:
        case EOPNOTSUPP:
        case EMSGSIZE: return true;
        default: return false;
    }
}

}  // namespace tempos::xdp
