// A plugin built against a different adapter ABI. Its factory must never be called: it aborts if it is.
#include <cstdlib>

#include <boost/dll/alias.hpp>

#include "tempos/adapter.hpp"

namespace {
tempos::Adapter* must_not_be_called(const tempos::AdapterEnv&) noexcept { std::abort(); }
}  // namespace

namespace tempos_plugin_export {
const std::uint32_t future_abi_version = ::tempos::kAdapterAbiVersion + 1;
}
BOOST_DLL_ALIAS(tempos_plugin_export::future_abi_version, tempos_adapter_abi_version)
BOOST_DLL_ALIAS(must_not_be_called, tempos_create_adapter)
