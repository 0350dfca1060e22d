// A plugin that exports the ABI version but no factory: the host must refuse it by name.
#include <boost/dll/alias.hpp>

#include "tempos/adapter.hpp"

namespace tempos_plugin_export {
const std::uint32_t abi_version_only = ::tempos::kAdapterAbiVersion;
}
BOOST_DLL_ALIAS(tempos_plugin_export::abi_version_only, tempos_adapter_abi_version)
