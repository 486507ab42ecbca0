/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `dirtytop doctor`'s VMs and findings as text and JSON (the migrations:
 * doctor_migration.h). The rules are core/doctor_rules.c; doctor only calls.
 */
#ifndef DT_OUT_DOCTOR_FINDINGS_H
#define DT_OUT_DOCTOR_FINDINGS_H

#include <stdio.h>
#include <yajl/yajl_gen.h>
#include "core/doctor_rules.h"

/* The header line and a line per VM. */
void doctor_vms_text(FILE *f, const char *source, const struct doc_state *st);
/* Each finding with its evidence and action, then the count by severity (or "no findings"). */
void doctor_findings_text(FILE *f, const struct doc_findings *fs);
/* One object of the JSON's vms[] / findings[]. */
void doctor_vm_json(yajl_gen g, const struct doc_vm *vm);
void doctor_finding_json(yajl_gen g, const struct doc_finding *x);

#endif
