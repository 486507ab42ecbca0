/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What every BPF-loading command does before and while it loads: check the
 * privileges, BTF, tracefs and the tracepoints; route libbpf's messages; load
 * an object with tp_btf hooks, falling back to raw_tp. The live collector and
 * the recorder both load through here, so they fail with the same messages.
 */
#ifndef DT_KERNEL_LOADER_H
#define DT_KERNEL_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include "core/exit_status.h"

struct bpf_program;

/* --hooks: how the kvm tracepoints are attached. */
enum hook_mode { HOOK_AUTO, HOOK_BTF, HOOK_RAW };

/* The mode a loaded object runs with: "tp_btf" or "raw_tp". */
const char *hook_mode_name(enum hook_mode m);

/*
 * Privileges, BTF, tracefs (mounted if nobody did) and the tracepoints. 0, or
 * an EXIT_* code with a message for the user in err.
 */
int loader_check_kernel(bool verbose, char *err, size_t errlen);

/* The hook triplets of an object: the tp_btf programs and their raw_tp twins. */
enum { LOADER_HOOKS = 3 };
struct loader_hooks {
	struct bpf_program *btf[LOADER_HOOKS];
	struct bpf_program *raw[LOADER_HOOKS];
};

/* Load only the programs of mode (HOOK_BTF or HOOK_RAW). */
void loader_select_hooks(const struct loader_hooks *h, enum hook_mode mode);

/*
 * Open and load one object for a hook mode (HOOK_BTF or HOOK_RAW): 0, or a
 * negative errno with nothing left open.
 */
typedef int (*loader_load_fn)(void *ctx, enum hook_mode mode);

/*
 * Check the kernel, then load with want's hooks (HOOK_AUTO: tp_btf, else
 * raw_tp) through load; libbpf speaks on stderr only when verbose. 0 with
 * the mode that loaded in *got, or an EXIT_* code and a message in err.
 */
int loader_load(enum hook_mode want, bool verbose, loader_load_fn load, void *ctx, enum hook_mode *got,
		char *err, size_t errlen);

#endif
