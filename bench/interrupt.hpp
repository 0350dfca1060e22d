// SIGINT/SIGTERM for the live benchmarks: the handler only records the request; load loops stop at their next
// check and the subcommand returns normally, so destructors remove namespaces and stop tempos-mom or the brokers.
#pragma once

namespace tempos::bench {

void install_interrupt_handler();
bool interrupted();

}  // namespace tempos::bench
