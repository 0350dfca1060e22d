/* The router of the upgrade scenario (scenario_restart.sh UPGRADE=1): bpf/router.bpf.c unchanged, plus one
 * constant set at compile time (-DTEMPOS_UPGRADE_BUILD_TAG=...) that the program never reads. It only makes
 * this object differ from the installed one in its bytes (its .rodata), as a rebuilt release would; the scenario
 * finds it in the .rodata map of the program attached after the upgrade. */
#include "router.bpf.c"

#ifndef TEMPOS_UPGRADE_BUILD_TAG
#error "build with -DTEMPOS_UPGRADE_BUILD_TAG=<number>"
#endif
const volatile __u32 tempos_upgrade_build_tag = TEMPOS_UPGRADE_BUILD_TAG;
