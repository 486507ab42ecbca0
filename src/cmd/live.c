// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The live view (`dirtytop` with no subcommand): collect (BPF maps) -> model
 * (per-interval metrics) -> a view (TUI, text or JSON) every interval.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "core/version.h"
#include "cmd/session.h"
#include "kernel/collector.h"
#include "out/views.h"
#include "tui/tui.h"

#define PROG "dirtytop"

struct live_args {
	struct view_opts vo;
	struct collect_opts co;
	struct vm_filter filter;
	bool batch, json;
	long iterations;
	char **command;		/* NULL: none */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dirtytop [OPTIONS] [-- COMMAND [ARGS...]]\n"
		"       dirtytop record -o FILE [-d SECONDS] [-p PID|NAME] [--events LIST] [-- COMMAND...]\n"
		"       dirtytop report FILE [--json] [--html OUT] [--perfetto OUT]\n"
		"       dirtytop tune [FILE] [-d SECONDS] [-p PID|NAME] [--json] [-- COMMAND...]\n"
		"       dirtytop doctor [FILE] [-d SECONDS] [-p PID|NAME] [--bandwidth RATE] [--qmp PATH] [--json]\n"
		"Live view of KVM dirty page tracking: dirty ring fill, soft-full exits,\n"
		"full stalls and reaping, per VM and per vCPU. `record` writes the events\n"
		"to a file, `report` shows the same metrics from it, `tune` sizes the dirty\n"
		"ring, `doctor` lists what is wrong and what to do (see their --help).\n\n"
		"  -b, --batch            plain text tables (the default when stdout is not a terminal)\n"
		"  -j, --json             one JSON object per interval (JSON Lines)\n"
		"  -d, --delay SECONDS    refresh interval (default 1)\n"
		"  -n, --iterations N     stop after N refreshes\n"
		"  -p, --pid PID|NAME     only the VMs of process PID, or the VM named NAME (a glob: 'web-*')\n"
		"      --vm NAME          only the VM named NAME (QEMU -name guest=NAME; a glob)\n"
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

/* -1: go on; else the exit status (--help, --version, a bad flag) */
static int parse_args(int argc, char **argv, struct live_args *a)
{
	static const struct option long_opts[] = {
		{ "batch", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' },
		{ "vm", required_argument, NULL, 'N' },
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
	long n;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+bjd:n:p:s:VDvh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'D': a->vo.detail = true; break;
		case 'T':
			if ((rc = cli_long(PROG, "--top", optarg, 0, 100000, "a count from 0 to 100000", &n)))
				return rc;
			a->vo.top_regions = (unsigned)n;
			break;
		case 'G':
			if (cli_parse_long(optarg, 2, 1048576, &n) || (n & (n - 1)))
				return cli_usage_error(PROG, "--heat-region takes MiB, a power of two from 2 to "
						       "1048576, not '%s'", optarg);
			a->co.heat_region_mib = (unsigned)n;
			break;
		case 'b': a->batch = true; break;
		case 'j': a->json = true; break;
		case 'V': a->vo.show_vcpus = true; break;
		case 'v': a->co.verbose = true; break;
		case 'd':
			if ((rc = cli_seconds(PROG, "--delay", optarg, 0.05, 3600, "seconds from 0.05 to 3600",
					      &a->vo.interval_s)))
				return rc;
			break;
		case 'n':
			if ((rc = cli_long(PROG, "--iterations", optarg, 1, __LONG_MAX__, "a count >= 1",
					   &a->iterations)))
				return rc;
			break;
		case 'p':
			if ((rc = cli_pid(PROG, optarg, &a->filter)))
				return rc;
			break;
		case 'N':
			if ((rc = cli_vm(PROG, optarg, &a->filter)))
				return rc;
			break;
		case 's':
			if (parse_sort(optarg, &a->vo.sort))
				return cli_usage_error(PROG, "--sort takes vm, fill, used, exits, stall or latency, "
						       "not '%s'", optarg);
			break;
		case 'H':
			if ((rc = cli_hooks(PROG, optarg, &a->co.hooks)))
				return rc;
			break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'R': printf("dirtytop %s\n", DIRTYTOP_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	a->command = optind < argc ? &argv[optind] : NULL;
	if (!a->json && !a->batch && !isatty(STDOUT_FILENO))
		a->batch = true;
	return -1;
}

/* The screen's side of the session: keys, resizes, and the interval it asks for. */
struct live {
	struct live_args *a;
	struct session *s;
	struct model *model;
	struct tui *tui;
};

static bool on_keys(void *ctx)
{
	struct live *l = ctx;

	if (!tui_input(l->tui, l->model))
		return false;
	if (tui_interval(l->tui) != session_interval(l->s))	/* the user's keys asked for another */
		session_set_interval(l->s, tui_interval(l->tui));
	tui_draw(l->tui, l->model);
	return true;
}

static void on_resize(void *ctx)
{
	struct live *l = ctx;

	tui_resize(l->tui);
	tui_draw(l->tui, l->model);
}

static void show(struct live *l, const struct frame_info *frame)
{
	if (l->tui)
		tui_draw(l->tui, l->model);
	else if (l->a->json)
		view_json_print(stdout, l->model, &l->a->vo, frame);
	else
		view_text_print(stdout, l->model, &l->a->vo);
}

int live_main(int argc, char **argv)
{
	struct live_args a = {
		.vo = { .sort = SORT_FILL, .descending = true, .interval_s = 1.0, .top_regions = 10 },
		.co = { .hooks = HOOK_AUTO },
	};
	struct collector *col = NULL;
	struct frame_info frame = {};
	struct session s;
	struct model model;
	struct live l = { .a = &a, .s = &s, .model = &model };
	enum session_tick t;
	char err[512];
	int rc;

	if ((rc = parse_args(argc, argv, &a)) >= 0)
		return rc;
	rc = collector_open(&col, &a.co, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "dirtytop: %s\n", err);
		return rc;
	}
	frame.hooks = collector_hook_name(col);
	frame.has_map_entries = true;
	frame.features = collector_features(col);
	session_begin(&s, &(struct session_opts){
		.interval_s = a.vo.interval_s, .iterations = a.iterations,
		.input_fd = a.json || a.batch ? -1 : STDIN_FILENO,
		.on_input = on_keys, .on_resize = on_resize, .ctx = &l,
	});
	model_init(&model);
	model.filter = a.filter;
	session_baseline(&s, col, &model);
	if (a.command && session_spawn(&s, a.command, false) < 0) {
		fprintf(stderr, "dirtytop: fork: %s\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	if (!a.json && !a.batch) {
		l.tui = tui_open(&a.vo, &frame);
		if (!l.tui) {
			fprintf(stderr, "dirtytop: cannot start the terminal screen; use --batch\n");
			return EXIT_RUNTIME;
		}
		tui_draw(l.tui, &model);
	}

	while ((t = session_wait(&s)) != SESSION_STOP) {
		if (l.tui && tui_paused(l.tui) && t != SESSION_LAST)
			continue;
		session_refresh(&s);
		frame.map_entries = collector_map_entries(col, &s.snap);
		model_sort(&model, a.vo.sort, a.vo.descending);
		show(&l, &frame);
		if (session_done(&s, t))
			break;
	}

	if (l.tui)
		tui_close(l.tui);
	rc = session_end(&s, EXIT_OK);
	model_free(&model);
	collector_close(col);
	return rc;
}
