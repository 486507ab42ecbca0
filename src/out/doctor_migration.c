// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* doctor's migration section, text and JSON (doctor_migration.h). */
#include <stdio.h>
#include "out/doctor_migration.h"
#include "out/json_writer.h"

#define PAGE 4096.0
#define MIB 1048576.0

static const char *region_name(const struct precopy_count *c, char *buf, size_t len)
{
	snprintf(buf, len, "slot %u region %u (+%llu MiB)", (unsigned)(c->key >> 32) & 0xffff,
		 (unsigned)c->key, (unsigned long long)(uint32_t)c->key * 2);
	return buf;
}

const char *migration_stopped_text(const struct migration_view *m, char *buf, size_t len)
{
	const struct precopy_vm *v = m->v;

	if (v->end != PRECOPY_VMM_EXITED)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "the VMM (pid %u %s) exited mid-migration, after pass %zu with dirty logging still "
			 "on: the migration did not complete; the verdict is over the passes it made", v->tgid, v->comm,
			 v->n_passes);
	return buf;
}

void migration_text(FILE *f, const struct migration_view *m)
{
	const struct precopy_vm *v = m->v;
	const struct precopy_verdict *vd = &m->vd;
	char b[320];

	fprintf(f, "migration: pid %u %s, %s mode, %zu passes; verdict: %s", v->tgid, v->comm,
		v->ring ? "ring" : "bitmap", v->n_passes, precopy_outcome_name(vd->outcome));
	if (vd->pass)
		fprintf(f, " at pass %u", vd->pass);
	fputc('\n', f);
	if (v->end == PRECOPY_VMM_EXITED)
		fprintf(f, "  STOPPED MID-MIGRATION: %s\n", migration_stopped_text(m, b, sizeof(b)));
	else if (v->end == PRECOPY_LOGGING_OFF)
		fprintf(f, "  ended: dirty logging switched off (completed or cancelled)\n");
	else
		fprintf(f, "  still migrating at the end of the %s (dirty logging on)\n", m->live ? "watch" : "recording");
	if (vd->bandwidth > 0)
		fprintf(f, "  budget %.0f pages = %.1f MiB/s (%s) x %.0f ms downtime (%s)\n", vd->budget_pages,
			vd->bandwidth / MIB, m->bandwidth_source, vd->downtime_s * 1e3, m->downtime_source);
	else
		fprintf(f, "  no bandwidth (no --bandwidth, no QMP, no TCP traffic in the %s): passes only, no "
			"verdict\n", m->live ? "run" : "recording");
	fprintf(f, "  %5s %10s %8s %10s %12s%s\n", "pass", "dirty", "secs", "sent_MiB", "remain_MiB",
		v->ring ? "   full_exits" : "");
	for (size_t k = 0; k < v->n_passes; k++) {
		const struct precopy_pass *ps = &v->passes[k];

		fprintf(f, "  %5u %10llu %8.3f ", ps->index, (unsigned long long)ps->dirty_pages, ps->secs);
		if (ps->sent_bytes >= 0)
			fprintf(f, "%10.2f", ps->sent_bytes / MIB);
		else
			fprintf(f, "%10s", "-");
		fprintf(f, " %12.2f", (double)ps->dirty_pages * PAGE / MIB);
		if (v->ring)
			fprintf(f, " %12u", ps->full_exits);
		fputc('\n', f);
	}
	fprintf(f, "  working set >= %.0f pages over the last passes, dirtying %.0f pages/s", vd->working_set_pages,
		vd->dirty_rate);
	for (size_t k = 0; k < vd->n_top_regions; k++)
		fprintf(f, "%s %s: %llu", k ? "," : "; hottest", region_name(&vd->top_regions[k], b, sizeof(b)),
			(unsigned long long)vd->top_regions[k].pages);
	for (size_t k = 0; k < vd->n_top_vcpus; k++) {
		const struct precopy_vcpu *c = precopy_vcpu(v, (uint32_t)vd->top_vcpus[k].key);

		if (c)
			fprintf(f, "%s vCPU %d (tid %u): %llu", k ? "," : "; vCPUs", c->vcpu_id, c->tid,
				(unsigned long long)vd->top_vcpus[k].pages);
	}
	fputc('\n', f);
	if (v->ring && vd->ring_size)
		fprintf(f, "  rings: %u entries (soft limit %u), %.1f soft-full exits a pass; QEMU's dirty limit sleeps a "
			"vCPU at its ring-full exits: %.0f pages between two sleeps of the %u dirtying vCPUs\n",
			vd->ring_size, vd->soft_limit, vd->full_exits_per_pass, vd->ring_pages_between_throttles,
			vd->dirtying_vcpus);
	if (precopy_throttle_text(m->throttle, b, sizeof(b))[0])
		fprintf(f, "  QMP: %s\n", b);
	fputc('\n', f);
}

static void throttle_json(yajl_gen g, const struct precopy_throttle *t)
{
	jw_key(g, "throttle");
	if (!t || !t->known) {	/* no QMP: not known */
		yajl_gen_null(g);
		return;
	}
	yajl_gen_map_open(g);
	jw_put_bool(g, "auto_converge", t->auto_converge);
	jw_put_bool(g, "dirty_limit", t->dirty_limit);
	jw_put_double(g, "max_cpu_throttle_pct", t->max_throttle_pct);
	jw_put_double(g, "max_dirty_limit_throttle_us", t->max_dirty_limit_us);
	jw_put_bool(g, "biting", (t->auto_converge && t->max_throttle_pct > 0) ||
				 (t->dirty_limit && t->max_dirty_limit_us > 0));
	yajl_gen_map_close(g);
}

void migration_json(yajl_gen g, const struct migration_view *m)
{
	const struct precopy_vm *v = m->v;
	const struct precopy_verdict *vd = &m->vd;

	yajl_gen_map_open(g);
	jw_put_u64(g, "pid", v->tgid);
	jw_put_string(g, "comm", v->comm);
	jw_put_string(g, "tracking", v->ring ? "ring" : "bitmap");
	jw_put_string(g, "verdict", precopy_outcome_name(vd->outcome));
	if (vd->pass)
		jw_put_u64(g, "verdict_pass", vd->pass);
	else
		jw_put_null(g, "verdict_pass");
	jw_put_string(g, "end", precopy_end_name(v->end));
	jw_put_bool(g, "vmm_exited", v->exited);
	jw_put_bool(g, "stopped_mid_migration", v->end == PRECOPY_VMM_EXITED);
	jw_put_u64(g, "name_after_passes", PRECOPY_NAME_PASSES);
	jw_put_double(g, "bandwidth_bytes_s", vd->bandwidth);
	jw_put_string(g, "bandwidth_source", m->bandwidth_source);
	jw_put_double(g, "downtime_limit_ms", vd->downtime_s * 1e3);
	jw_put_string(g, "downtime_source", m->downtime_source);
	jw_put_double(g, "budget_pages", vd->budget_pages);
	jw_put_double(g, "shrink_per_pass", vd->shrink);
	jw_put_double(g, "plateau_pages", vd->plateau_pages);
	jw_put_double(g, "working_set_pages", vd->working_set_pages);
	jw_put_double(g, "dirty_rate", vd->dirty_rate);
	jw_put_double(g, "need_bandwidth_bytes_s", vd->need_bandwidth);
	jw_put_double(g, "need_downtime_ms", vd->need_downtime_s * 1e3);
	jw_put_double(g, "dirty_limit_bytes_s", vd->dirty_limit);
	throttle_json(g, m->throttle);
	jw_key(g, "ring");
	if (v->ring && vd->ring_size) {
		yajl_gen_map_open(g);
		jw_put_u64(g, "size", vd->ring_size);
		jw_put_u64(g, "soft_limit", vd->soft_limit);
		jw_put_double(g, "full_exits_per_pass", vd->full_exits_per_pass);
		jw_put_double(g, "pages_between_throttles", vd->ring_pages_between_throttles);
		yajl_gen_map_close(g);
	} else {
		yajl_gen_null(g);
	}
	jw_key(g, "hottest_regions");
	yajl_gen_array_open(g);
	for (size_t k = 0; k < vd->n_top_regions; k++) {
		yajl_gen_map_open(g);
		jw_put_u64(g, "slot", (vd->top_regions[k].key >> 32) & 0xffff);
		jw_put_u64(g, "region", (uint32_t)vd->top_regions[k].key);
		jw_put_u64(g, "pages", vd->top_regions[k].pages);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	jw_key(g, "vcpus");
	yajl_gen_array_open(g);
	for (size_t k = 0; k < vd->n_top_vcpus; k++) {
		const struct precopy_vcpu *c = precopy_vcpu(v, (uint32_t)vd->top_vcpus[k].key);

		if (!c)
			continue;
		yajl_gen_map_open(g);
		jw_put_int(g, "vcpu_id", c->vcpu_id);
		jw_put_u64(g, "tid", c->tid);
		jw_put_u64(g, "pages", vd->top_vcpus[k].pages);
		jw_put_double(g, "dirty_limit_mb_s", vd->dirtying_vcpus ? vd->dirty_limit / 1e6 / vd->dirtying_vcpus : 0);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	jw_key(g, "passes");
	yajl_gen_array_open(g);
	for (size_t k = 0; k < v->n_passes; k++) {
		const struct precopy_pass *ps = &v->passes[k];

		yajl_gen_map_open(g);
		jw_put_u64(g, "pass", ps->index);
		jw_put_u64(g, "dirty_pages", ps->dirty_pages);
		jw_put_double(g, "secs", ps->secs);
		jw_put_u64(g, "sync_calls", ps->calls);
		if (v->ring)
			jw_put_u64(g, "full_exits", ps->full_exits);
		if (ps->sent_bytes >= 0)
			jw_put_double(g, "sent_bytes", ps->sent_bytes);
		else
			jw_put_null(g, "sent_bytes");
		jw_put_double(g, "remaining_bytes", (double)ps->dirty_pages * PAGE);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
}
