// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * dirtytop: live view of KVM dirty page tracking per VM and per vCPU.
 * collect (BPF maps) -> model (per-interval metrics) -> views (TUI, text, JSON).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "kernel/collector.h"
#include "sys/procinfo.h"
#include "cmd/commands.h"
#include "out/views.h"
#include "tui/tui.h"

static volatile sig_atomic_t g_stop, g_child_exited, g_winch;

static void on_signal(int sig)
{
	if (sig == SIGCHLD)
		g_child_exited = 1;
	else if (sig == SIGWINCH)
		g_winch = 1;
	else
		g_stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dirtytop [OPTIONS] [-- COMMAND [ARGS...]]\n"
		"       dirtytop record -o FILE [-d SECONDS] [-p PID] [--events LIST] [-- COMMAND...]\n"
		"       dirtytop report FILE [--json] [--html OUT] [--perfetto OUT]\n"
		"       dirtytop tune [FILE] [-d SECONDS] [-p PID] [--json] [-- COMMAND...]\n"
		"       dirtytop doctor [FILE] [-d SECONDS] [-p PID] [--bandwidth RATE] [--qmp PATH] [--json]\n"
		"Live view of KVM dirty page tracking: dirty ring fill, soft-full exits,\n"
		"full stalls and reaping, per VM and per vCPU. `record` writes the events\n"
		"to a file, `report` shows the same metrics from it, `tune` sizes the dirty\n"
		"ring, `doctor` lists what is wrong and what to do (see their --help).\n\n"
		"  -b, --batch            plain text tables (the default when stdout is not a terminal)\n"
		"  -j, --json             one JSON object per interval (JSON Lines)\n"
		"  -d, --delay SECONDS    refresh interval (default 1)\n"
		"  -n, --iterations N     stop after N refreshes\n"
		"  -p, --pid PID          only the VMs of process PID\n"
		"  -s, --sort KEY         vm, fill, used, exits, stall, latency (default fill)\n"
		"  -V, --vcpus            batch mode: a row per vCPU under each VM\n"
		"  -D, --detail           batch mode: memslots, ioctls and hottest regions per VM\n"
		"      --top N            hottest guest-physical regions shown per VM (default 10)\n"
		"      --heat-region MIB  dirty heat region size, a power of two >= 2 (default 2)\n"
		"      --hooks MODE       auto, btf (tp_btf) or raw (raw_tp) (default auto)\n"
		"  -v, --verbose          say what is loaded and attached\n"
		"  -h, --help             this help\n"
		"      --version          print the version\n\n"
		"With a COMMAND, dirtytop attaches, runs it, and ends after it exits\n"
		"(with a last refresh that shows its VMs as exited).\n\n"
		"Exit status: 0 ok, 1 runtime error, 2 bad usage, 3 kernel feature missing,\n"
		"4 insufficient privileges; with a COMMAND that fails, its exit status.\n");
}

static int parse_sort(const char *s, enum sort_key *out)
{
	for (int k = 0; k < SORT_COUNT; k++)
		if (!strcmp(s, sort_key_name(k))) {
			*out = k;
			return 0;
		}
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "batch", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' },
		{ "sort", required_argument, NULL, 's' },
		{ "vcpus", no_argument, NULL, 'V' },
		{ "detail", no_argument, NULL, 'D' },
		{ "top", required_argument, NULL, 'T' },
		{ "heat-region", required_argument, NULL, 'G' },
		{ "hooks", required_argument, NULL, 'H' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'R' },
		{}
	};
	struct vm_filter filter = { 0 };
	struct view_opts vo = { .sort = SORT_FILL, .descending = true, .interval_s = 1.0, .top_regions = 10 };
	struct collect_opts co = { .hooks = HOOK_AUTO };
	bool batch = false, json = false;
	long iterations = -1, done = 0;
	struct collector *col = NULL;
	struct snapshot snap = {};
	struct model model;
	struct tui *tui = NULL;
	pid_t child = 0;
	int child_status = 0, opt, rc;
	char err[512], *end;
	sigset_t mask, orig;
	struct sigaction sa = { .sa_handler = on_signal };

	if (argc > 1 && !strcmp(argv[1], "record"))
		return record_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "report"))
		return report_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "tune"))
		return tune_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "doctor"))
		return doctor_main(argc - 1, argv + 1);

	while ((opt = getopt_long(argc, argv, "+bjd:n:p:s:VDvh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'D': vo.detail = true; break;
		case 'T': {
			long n = strtol(optarg, &end, 10);

			if (*end || n < 0 || n > 100000) {
				fprintf(stderr, "dirtytop: --top takes a count from 0 to 100000, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			vo.top_regions = (unsigned)n;
			break;
		}
		case 'G': {
			long n = strtol(optarg, &end, 10);

			if (*end || n < 2 || n > 1048576 || (n & (n - 1))) {
				fprintf(stderr, "dirtytop: --heat-region takes MiB, a power of two from 2 to 1048576, "
					"not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			co.heat_region_mib = (unsigned)n;
			break;
		}
		case 'b': batch = true; break;
		case 'j': json = true; break;
		case 'V': vo.show_vcpus = true; break;
		case 'v': co.verbose = true; break;
		case 'd':
			vo.interval_s = strtod(optarg, &end);
			if (*end || !isfinite(vo.interval_s) || vo.interval_s < 0.05 || vo.interval_s > 3600) {
				fprintf(stderr, "dirtytop: --delay takes seconds from 0.05 to 3600, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			iterations = strtol(optarg, &end, 10);
			if (*end || iterations < 1) {
				fprintf(stderr, "dirtytop: --iterations takes a count >= 1, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p':
			if (vm_filter_parse(&filter, optarg)) {
				fprintf(stderr, "dirtytop: --pid takes %s, not '%s'\n", vm_filter_usage, optarg);
				return EXIT_USAGE;
			}
			break;
		case 's':
			if (parse_sort(optarg, &vo.sort)) {
				fprintf(stderr, "dirtytop: --sort takes vm, fill, used, exits, stall or latency, not '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'H':
			if (parse_hook_mode(optarg, &co.hooks)) {
				fprintf(stderr, "dirtytop: --hooks takes auto, btf or raw, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'R': printf("dirtytop %s\n", DIRTYTOP_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (!json && !batch && !isatty(STDOUT_FILENO))
		batch = true;

	rc = collector_open(&col, &co, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "dirtytop: %s\n", err);
		return rc;
	}
	vo.hooks = collector_hook_name(col);

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, &orig);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);

	model_init(&model);
	model.filter = filter;
	collector_snapshot(col, &snap);	/* baseline: counts before now are not this interval's */
	model_update(&model, &snap, procinfo_lookup, NULL, NULL, NULL);

	if (optind < argc) {
		child = start_command(&argv[optind]);
		if (child < 0) {
			fprintf(stderr, "dirtytop: fork: %s\n", strerror(errno));
			return EXIT_RUNTIME;
		}
	}
	if (!json && !batch) {
		tui = tui_open(&vo);
		if (!tui) {
			fprintf(stderr, "dirtytop: cannot start the terminal screen; use --batch\n");
			return EXIT_RUNTIME;
		}
		tui_draw(tui, &model);
	}

	while (!g_stop) {
		struct timespec start, deadline, now;
		bool last = false;

		clock_gettime(CLOCK_MONOTONIC, &start);
		/* wait for the interval to end, serving keys and signals meanwhile */
		for (;;) {
			struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
			struct timespec left;
			int n;

			/* from start: an interval changed on the screen counts at once */
			double interval_s = tui ? tui_interval(tui) : vo.interval_s;

			deadline = start;
			deadline.tv_sec += (time_t)interval_s;
			deadline.tv_nsec += (long)((interval_s - floor(interval_s)) * 1e9);
			if (deadline.tv_nsec >= 1000000000L) {
				deadline.tv_sec++;
				deadline.tv_nsec -= 1000000000L;
			}
			clock_gettime(CLOCK_MONOTONIC, &now);
			left.tv_sec = deadline.tv_sec - now.tv_sec;
			left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += 1000000000L;
			}
			if (left.tv_sec < 0 || g_stop)
				break;
			n = ppoll(tui ? &pfd : NULL, tui ? 1 : 0, &left, &orig);
			if (g_winch && tui) {
				g_winch = 0;
				tui_resize(tui);
				tui_draw(tui, &model);
			}
			if (g_child_exited && child > 0 && waitpid(child, &child_status, WNOHANG) == child) {
				child = -1;
				last = true;
				break;
			}
			if (n > 0 && tui && (pfd.revents & POLLIN)) {
				if (!tui_input(tui, &model))
					g_stop = 1;
				else
					tui_draw(tui, &model);
			}
		}
		if (g_stop)
			break;
		if (tui && tui_paused(tui) && !last)
			continue;

		{
			struct key_list fvms = {}, fvcpus = {};

			collector_snapshot(col, &snap);
			model_update(&model, &snap, procinfo_lookup, NULL, &fvms, &fvcpus);
			collector_forget(col, &fvms, &fvcpus);
			key_list_free(&fvms);
			key_list_free(&fvcpus);
		}
		vo.map_entries = collector_map_entries(col, &snap);
		model_sort(&model, vo.sort, vo.descending);
		if (tui)
			tui_draw(tui, &model);
		else if (json)
			view_json_print(stdout, &model, &vo);
		else
			view_text_print(stdout, &model, &vo);
		if (last || (iterations > 0 && ++done >= iterations))
			break;
	}

	if (tui)
		tui_close(tui);
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, &child_status, 0);
	}
	model_free(&model);
	snapshot_free(&snap);
	collector_close(col);
	if (child && WIFEXITED(child_status) && WEXITSTATUS(child_status)) {
		fprintf(stderr, "dirtytop: command exited with status %d\n", WEXITSTATUS(child_status));
		return WEXITSTATUS(child_status);
	}
	return EXIT_OK;
}
