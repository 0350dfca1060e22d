// [cluster] of the Controller TOML. Internal to the config reader; errors are thrown as ConfigFailure.
#pragma once

#include <toml.hpp>

#include "config.hpp"

namespace tempos::mom::config_detail {

ClusterConfig read_cluster(const toml::value& table);

}  // namespace tempos::mom::config_detail
