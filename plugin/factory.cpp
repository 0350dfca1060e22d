// The plugin's only exports: the ABI version and the factory (Boost.DLL aliases, see adapter.hpp).
#include <boost/dll/alias.hpp>

#include "xdp_adapter.hpp"

namespace tempos::xdp {

Adapter* create_adapter(const AdapterEnv& env) noexcept {
    try {
        return new XdpAdapter(env);
    } catch (...) {
        return nullptr;  // no exception crosses the plugin boundary
    }
}

}  // namespace tempos::xdp

TEMPOS_DECLARE_ADAPTER(tempos::xdp::create_adapter)
