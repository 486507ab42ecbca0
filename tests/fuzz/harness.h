/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Shared by the fuzz targets: run `dirtytop report` (report_main, the code a
 * user runs) on a file holding the given bytes, with every output on: JSON or
 * text to stdout, --html and --perfetto, so the reader, the replay, the model
 * and all renderers see the input. Outputs go to /dev/null.
 */
#ifndef DT_FUZZ_HARNESS_H
#define DT_FUZZ_HARNESS_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "cmd/commands.h"

static int fuzz_memfd = -1;

static void fuzz_init(void)
{
	int null;

	if (fuzz_memfd >= 0)
		return;
	fuzz_memfd = memfd_create("fuzz-recording", MFD_CLOEXEC);
	if (fuzz_memfd < 0)
		abort();
	null = open("/dev/null", O_WRONLY);
	if (null < 0)
		abort();
	dup2(null, STDOUT_FILENO);	/* the report's stdout (stderr stays: crash reports go there) */
	close(null);
}

/* flags: bit 0 JSON (else text), bit 1 windows of 0.1 s (else 100000 s) */
static void fuzz_report(const uint8_t *data, size_t size, unsigned flags)
{
	char path[64];
	char *argv[16];
	int argc = 0;

	fuzz_init();
	if (ftruncate(fuzz_memfd, 0) || pwrite(fuzz_memfd, data, size, 0) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fuzz_memfd);
	argv[argc++] = "report";
	argv[argc++] = path;
	argv[argc++] = flags & 1 ? "--json" : "--text";
	argv[argc++] = "-d";
	argv[argc++] = flags & 2 ? "0.1" : "100000";
	argv[argc++] = "-V";
	argv[argc++] = "-D";
	argv[argc++] = "--salvage";
	argv[argc++] = "--html";
	argv[argc++] = "/dev/null";
	argv[argc++] = "--perfetto";
	argv[argc++] = "/dev/null";
	argv[argc] = NULL;
	report_main(argc, argv);
}

#endif
