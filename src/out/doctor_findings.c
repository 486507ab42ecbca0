// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* doctor's VMs and findings, text and JSON (doctor_findings.h). */
#include <stdio.h>
#include "dt_events.h"
#include "core/units.h"
#include "out/doctor_findings.h"
#include "out/json_writer.h"

void doctor_vms_text(FILE *f, const char *source, const struct doc_state *st)
{
	char b1[16], b2[16];

	fprintf(f, "dirtytop doctor: %s, %.1f s, %zu VM%s\n", source, st->secs, st->n_vms, st->n_vms == 1 ? "" : "s");
	for (size_t i = 0; i < st->n_vms; i++) {
		const struct doc_vm *vm = &st->vms[i];
		double rate = vm->secs > 0 ? vm->dirty_pages / vm->secs : 0;

		fprintf(f, "  VM %u%s%s (pid %u %s): %s", vm->vm_id, vm->name[0] ? " " : "", vm->name, vm->pid, vm->comm,
			tracking_name(vm->tracking));
		if (vm->ring_size)
			fprintf(f, " %u", vm->ring_size);
		fprintf(f, ", %zu vCPU%s, dirtying %s pages/s (%s MiB/s)", vm->n_vcpus, vm->n_vcpus == 1 ? "" : "s",
			fmt_count(b1, sizeof(b1), rate), fmt_count(b2, sizeof(b2), rate * DT_PAGE_SIZE / 1048576.0));
		if (vm->bandwidth > 0)
			fprintf(f, ", migration bandwidth %.1f MiB/s (%s)", vm->bandwidth / 1048576.0, vm->bandwidth_source);
		fprintf(f, "%s\n", vm->exited ? " [exited]" : "");
	}
	fputc('\n', f);
}

void doctor_findings_text(FILE *f, const struct doc_findings *fs)
{
	size_t sev[3] = {};

	for (size_t i = 0; i < fs->n; i++) {
		const struct doc_finding *x = &fs->v[i];

		sev[x->severity]++;
		fprintf(f, "[%s] %s: VM %u%s%s (pid %u %s)", doc_severity_name(x->severity), x->id, x->vm_id,
			x->name[0] ? " " : "", x->name, x->pid, x->comm);
		if (x->vcpu_id >= 0)
			fprintf(f, " vCPU %d (tid %u)", x->vcpu_id, x->tid);
		fprintf(f, "\n    %s\n    evidence:", x->summary);
		for (int k = 0; k < x->n_ev; k++)
			fprintf(f, "%s %s=%.4g%s%s", k ? "," : "", x->ev[k].name, x->ev[k].value,
				x->ev[k].unit[0] ? " " : "", x->ev[k].unit);
		fprintf(f, "\n    action: %s\n\n", x->action);
	}
	if (!fs->n)
		fprintf(f, "no findings\n");
	else
		fprintf(f, "%zu finding%s: %zu critical, %zu warning, %zu info\n", fs->n, fs->n == 1 ? "" : "s",
			sev[DOC_CRITICAL], sev[DOC_WARNING], sev[DOC_INFO]);
}

void doctor_vm_json(yajl_gen g, const struct doc_vm *vm)
{
	double rate = vm->secs > 0 ? vm->dirty_pages / vm->secs : 0;

	yajl_gen_map_open(g);
	jw_put_u64(g, "vm_id", vm->vm_id);
	jw_put_u64(g, "pid", vm->pid);
	jw_put_string(g, "comm", vm->comm);
	jw_put_string_known(g, "name", vm->name);
	jw_put_string(g, "tracking", tracking_name(vm->tracking));
	jw_put_u64(g, "ring_size", vm->ring_size);
	jw_put_bool(g, "exited", vm->exited);
	jw_put_double(g, "observed_s", vm->secs);
	jw_put_double(g, "dirty_rate", rate);
	jw_put_double(g, "dirty_mib_s", rate * DT_PAGE_SIZE / 1048576.0);
	if (vm->bandwidth > 0) {
		jw_put_double(g, "bandwidth_bytes_s", vm->bandwidth);
		jw_put_string(g, "bandwidth_source", vm->bandwidth_source);
	} else {
		jw_put_null(g, "bandwidth_bytes_s");
		jw_put_null(g, "bandwidth_source");
	}
	jw_put_u64(g, "dirty_log_on", vm->dirty_log_on - vm->dirty_log_on0);
	jw_put_u64(g, "dirty_log_off", vm->dirty_log_off - vm->dirty_log_off0);
	jw_key(g, "vcpus");
	yajl_gen_array_open(g);
	for (size_t k = 0; k < vm->n_vcpus; k++) {
		const struct doc_vcpu *c = &vm->vcpus[k];

		/* a vCPU dirtytop never saw created or running has no id or thread: not listed */
		if (!c->tid)
			continue;
		yajl_gen_map_open(g);
		jw_put_int(g, "vcpu_id", c->vcpu_id);
		jw_put_u64(g, "tid", c->tid);
		jw_put_double(g, "fill_rate", c->secs > 0 ? c->pushes / c->secs : 0);
		jw_put_double(g, "full_exits_s", c->secs > 0 ? c->full_exits / c->secs : 0);
		jw_put_double(g, "stall_frac", c->secs > 0 ? c->stall_s / c->secs : 0);
		jw_put_double(g, "held_frac", c->secs > 0 ? c->held_s / c->secs : 0);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
}

void doctor_finding_json(yajl_gen g, const struct doc_finding *x)
{
	yajl_gen_map_open(g);
	jw_put_string(g, "id", x->id);
	jw_put_string(g, "severity", doc_severity_name(x->severity));
	jw_put_u64(g, "vm_id", x->vm_id);
	jw_put_u64(g, "pid", x->pid);
	jw_put_string(g, "comm", x->comm);
	jw_put_string_known(g, "name", x->name);
	if (x->vcpu_id >= 0) {
		jw_put_int(g, "vcpu_id", x->vcpu_id);
		jw_put_u64(g, "tid", x->tid);
	} else {
		jw_put_null(g, "vcpu_id");
		jw_put_null(g, "tid");
	}
	jw_put_string(g, "summary", x->summary);
	jw_key(g, "evidence");
	yajl_gen_map_open(g);
	for (int k = 0; k < x->n_ev; k++)
		jw_put_double(g, x->ev[k].name, x->ev[k].value);
	yajl_gen_map_close(g);
	jw_key(g, "units");
	yajl_gen_map_open(g);
	for (int k = 0; k < x->n_ev; k++)
		jw_put_string(g, x->ev[k].name, x->ev[k].unit);
	yajl_gen_map_close(g);
	jw_put_string(g, "action", x->action);
	yajl_gen_map_close(g);
}
