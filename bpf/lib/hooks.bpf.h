/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A tracepoint hook written once, attached two ways: tp_btf (typed
 * arguments, direct loads; the cheapest) and raw_tp (the fallback where
 * tp_btf does not load: arguments are plain addresses, read through
 * bpf_probe_read_kernel). Userspace loads one of each pair (--hooks).
 */
#ifndef DT_HOOKS_BPF_H
#define DT_HOOKS_BPF_H

#include <bpf/bpf_tracing.h>

/*
 * DT_HOOK(tp, name, args...) { body }: defines the programs name_btf
 * (SEC "tp_btf/tp") and name_raw (SEC "raw_tp/tp"); each calls body (as
 * name_hook, inlined) with the constant btf true or false, so the field
 * reads of ring.bpf.h compile to a direct load in one and a probe read in
 * the other. Like BPF_PROG: args are the tracepoint's; ctx is in scope.
 */
#define DT_HOOK(tp, name, args...)						\
static __always_inline int name##_hook(bool btf, unsigned long long *ctx, ##args);	\
SEC("tp_btf/" #tp)								\
int name##_btf(unsigned long long *ctx)						\
{										\
	_Pragma("GCC diagnostic push")						\
	_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")			\
	return name##_hook(true, ___bpf_ctx_cast(args));			\
	_Pragma("GCC diagnostic pop")						\
}										\
SEC("raw_tp/" #tp)								\
int name##_raw(unsigned long long *ctx)						\
{										\
	_Pragma("GCC diagnostic push")						\
	_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")			\
	return name##_hook(false, ___bpf_ctx_cast(args));			\
	_Pragma("GCC diagnostic pop")						\
}										\
static __always_inline int name##_hook(bool btf, unsigned long long *ctx, ##args)

/*
 * tp_btf: Debian's 6.12 (stable backport of "bpf: Mark raw_tp arguments with
 * PTR_MAYBE_NULL") types every pointer argument as maybe-NULL, and the
 * verifier refuses a load through it until it is tested. KVM never passes
 * NULL; the test is one compare, and raw_tp (probe reads) needs none.
 */
#define DT_HOOK_ARG_NULL(p) (btf && !(p))

#endif /* DT_HOOKS_BPF_H */
