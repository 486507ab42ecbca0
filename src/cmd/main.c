// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * dirtytop: KVM dirty page tracking, live and recorded. main only picks the
 * command (bpftool's cmds[]); with no command name, the live view.
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include "cmd/commands.h"

static const struct cmd {
	const char *name;
	int (*func)(int argc, char **argv);	/* argv[0] is the command's name */
	const char *help;
} cmds[] = {
	{ "live", live_main, "the live view (the default: `dirtytop [OPTIONS]`)" },
	{ "record", record_main, "record the events into a file" },
	{ "report", report_main, "the metrics, timeline and heat of a recording" },
	{ "tune", tune_main, "size the dirty ring from a recording or a live run" },
	{ "doctor", doctor_main, "what is wrong with dirty tracking, and what to do" },
	{ "exporter", exporter_main, "serve the metrics to Prometheus (or a node_exporter textfile)" },
};

#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

/* `dirtytop help`: the commands; each has its own --help */
static int do_help(void)
{
	printf("Usage: dirtytop [COMMAND] [OPTIONS]   (see dirtytop COMMAND --help)\n");
	for (size_t i = 0; i < N_CMDS; i++)
		printf("  %-8s %s\n", cmds[i].name, cmds[i].help);
	return 0;
}

int main(int argc, char **argv)
{
	/*
	 * At thousands of vCPUs a refresh or scrape builds megabytes of snapshot,
	 * model and text, and frees them. glibc would hand blocks that large back
	 * to the kernel (mmap/trim) and fault them in again next time: page faults
	 * were half of a 4096-vCPU scrape's CPU. Keep them, up to 64 MiB a block.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	if (argc == 2 && !strcmp(argv[1], "help"))
		return do_help();
	if (argc > 1)
		for (size_t i = 0; i < N_CMDS; i++)
			if (!strcmp(argv[1], cmds[i].name))
				return cmds[i].func(argc - 1, argv + 1);
	return live_main(argc, argv);
}
