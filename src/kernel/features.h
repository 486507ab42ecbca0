/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Probes at start: which BPF helpers this kernel has, so that a feature it
 * cannot run is switched off or done another way before anything loads.
 */
#ifndef DT_KERNEL_FEATURES_H
#define DT_KERNEL_FEATURES_H

#include <stddef.h>
#include "core/features.h"

/*
 * Fill fs from the kernel's helpers. DIRTYTOP_FORCE_NO_BPF_LOOP=1,
 * DIRTYTOP_FORCE_NO_FOR_EACH=1 and DIRTYTOP_FORCE_NO_ITER=1 switch those
 * paths off (to test the fallbacks).
 * 0, or EXIT_KERNEL with a message in err when the live view cannot run.
 */
int features_probe(struct dt_features *fs, char *err, size_t errlen);

/* bpf_loop usable (and not forced off): what both objects' use_bpf_loop is set to. */
bool features_bpf_loop(void);

/* --verbose: one line per feature that is off. */
void features_print_off(const struct dt_features *fs);

#endif
