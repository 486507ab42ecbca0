// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `dirtytop record`: the recorder (kernel/recorder.h) into a file until
 * SIGINT / SIGTERM / SIGHUP, the end of --duration or of COMMAND; then it
 * detaches, drains the ring buffer and writes the trailer.
 */
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "dt_events.h"
#include "cmd/record_run.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/session.h"
#include "core/recfile.h"
#include "core/util.h"
#include "kernel/recorder.h"
#include "sys/procinfo.h"
#include "sys/sockdiag.h"

#define PROG "dirtytop record"

static int parse_events(const char *s, uint32_t *mask)
{
	char *copy = strdup(s), *tok, *save = NULL;
	int rc = 0;

	if (!copy)
		abort();
	*mask = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k;

		if (!strcmp(tok, "all")) {
			*mask |= DT_EVM_ALL;
			continue;
		}
		k = rec_kind_from_name(tok);
		if (k < 0 || k == REC_TID || k == REC_BATCH) {	/* they follow push */
			fprintf(stderr, "dirtytop record: unknown event '%s' (push, reset, full, uexit, ioctl, "
				"memslot, dirtylog, reentry, all)\n", tok);
			rc = -1;
			break;
		}
		*mask |= DT_EVM(k);
	}
	free(copy);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dirtytop record -o FILE [OPTIONS] [-- COMMAND [ARGS...]]\n"
		"Record KVM dirty ring events (pushes, resets, soft-full exits, KVM ioctls and\n"
		"their latencies, memslot changes) into FILE, for `dirtytop report`.\n\n"
		"  -o, --output FILE      the recording (created; never follows a symlink)\n"
		"  -f, --force            overwrite FILE if it exists\n"
		"  -d, --duration SECONDS stop after SECONDS (default: at SIGINT/SIGTERM, or when COMMAND ends)\n"
		"  -p, --pid PID|NAME     only the VMs of process PID, or of the running VM named NAME\n"
		"      --vm NAME          only the running VM named NAME (a glob matching one VMM; resolved\n"
		"                         at the start: VMs started later are not followed)\n"
		"  -c, --command-only     only the VMs of COMMAND's process\n"
		"  -e, --events LIST      push,reset,full,uexit,ioctl,memslot,dirtylog,reentry or all\n"
		"                         (default all)\n"
		"      --ringbuf-size N   BPF ring buffer, a power of two: 64M (default), 256K, 1G\n"
		"      --block-events N   write a block every N events (default %d) or every second\n"
		"      --level N          zlib level 1 (fast, default) .. 9 (small)\n"
		"      --hooks MODE       auto, btf (tp_btf) or raw (raw_tp) (default auto)\n"
		"  -q, --quiet            no messages but errors\n"
		"  -v, --verbose          say what is loaded and attached\n"
		"  -h, --help             this help\n\n"
		"Events the kernel could not deliver (ring buffer full) are counted and written\n"
		"into FILE. Exit status: 0 ok, 1 runtime error, 2 bad usage, 3 kernel feature\n"
		"missing, 4 insufficient privileges; with a COMMAND that fails, its exit status.\n",
		RECORDER_DEFAULT_BLOCK_EVENTS);
}

/* -1: go on; else the exit status (--help, a bad flag or combination) */
static int parse_args(int argc, char **argv, struct record_args *a)
{
	static const struct option long_opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "duration", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "vm", required_argument, NULL, 'V' },
		{ "command-only", no_argument, NULL, 'c' },
		{ "events", required_argument, NULL, 'e' },
		{ "ringbuf-size", required_argument, NULL, 'R' },
		{ "block-events", required_argument, NULL, 'B' },
		{ "level", required_argument, NULL, 'L' },
		{ "hooks", required_argument, NULL, 'H' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	long n;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+o:fd:p:ce:qvh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'o': a->out = optarg; break;
		case 'f': a->force = true; break;
		case 'q': a->quiet = true; break;
		case 'c': a->command_only = true; break;
		case 'v': a->ro.verbose = true; break;
		case 'd':
			/* DBL_TRUE_MIN: any duration > 0 */
			if ((rc = cli_seconds(PROG, "--duration", optarg, DBL_TRUE_MIN, 1e7, "seconds > 0",
					      &a->duration)))
				return rc;
			break;
		case 'p':
			if ((rc = cli_pid(PROG, optarg, &a->filter)))
				return rc;
			break;
		case 'V':
			if ((rc = cli_vm(PROG, optarg, &a->filter)))
				return rc;
			break;
		case 'e':
			if (parse_events(optarg, &a->ro.events_mask))
				return EXIT_USAGE;
			break;
		case 'R':
			if (cli_parse_pow2_size(optarg, 4096, 1ull << 31, &a->ro.ringbuf_bytes))
				return cli_usage_error(PROG, "--ringbuf-size takes a power of two from 4K to 2G "
						       "(e.g. 64M), not '%s'", optarg);
			break;
		case 'B':
			if ((rc = cli_long(PROG, "--block-events", optarg, 1, 1000000, "1 to 1000000", &n)))
				return rc;
			a->ro.block_events = (uint32_t)n;
			break;
		case 'L':
			if ((rc = cli_long(PROG, "--level", optarg, 1, 9, "1 to 9", &n)))
				return rc;
			a->ro.level = (int)n;
			break;
		case 'H':
			if ((rc = cli_hooks(PROG, optarg, &a->ro.hooks)))
				return rc;
			break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	a->command = optind < argc ? &argv[optind] : NULL;
	if (!a->out) {
		fprintf(stderr, "dirtytop record: -o FILE is required\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (a->command_only && (!a->command || vm_filter_active(&a->filter)))
		return cli_usage_error(PROG, "--command-only needs a COMMAND (after --) and no --pid");
	a->ro.verbose = a->ro.verbose && !a->quiet;
	/* the BPF side filters on one pid: a name is resolved now, VMs started later are not followed */
	if (a->command && vm_filter_by_name(&a->filter))
		return cli_usage_error(PROG, "--vm or a COMMAND, not both");
	if ((rc = cli_resolve_vm(PROG, &a->filter, &a->ro.tgid)))
		return rc;
	a->ro.follow = a->command_only;
	return -1;
}

/* COMMAND's words, for the header */
static void join_command(char **command, char *out, size_t len)
{
	out[0] = 0;
	for (int i = 0; command && command[i]; i++) {
		size_t n = strlen(out);

		snprintf(out + n, len - n, "%s%s", i ? " " : "", command[i]);
	}
}

static void print_summary(const char *out, const struct recorder_result *res)
{
	const struct rec_stats *f = &res->final;
	double secs = (double)(res->end_mono_ns - res->start_mono_ns) / 1e9;
	uint64_t lost = 0;

	for (int i = 1; i < REC_EVENT_KINDS; i++)
		lost += f->lost[i] + f->untracked[i] + f->missed[i];
	fprintf(stderr, "dirtytop: recorded %llu events in %.1f s (%.0f events/s) to %s: %llu bytes "
		"(%.2f bytes/event)\n", (unsigned long long)res->events, secs,
		secs > 0 ? (double)res->events / secs : 0, out, (unsigned long long)res->bytes,
		res->events ? (double)res->bytes / (double)res->events : 0);
	if (!lost)
		return;
	fprintf(stderr, "dirtytop: LOST %llu events the kernel could not deliver:", (unsigned long long)lost);
	for (int i = 1; i < REC_EVENT_KINDS; i++)
		if (f->lost[i] + f->untracked[i] + f->missed[i])
			fprintf(stderr, " %s %llu", rec_kind_name((uint8_t)i),
				(unsigned long long)(f->lost[i] + f->untracked[i] + f->missed[i]));
	fprintf(stderr, " (written into the file; a larger --ringbuf-size helps)\n");
}

/*
 * Each second, the TCP bytes each recorded VMM had sent (its migration
 * stream): the bandwidth the offline doctor needs. A process whose sockets
 * cannot be read (gone, no permission) is left out.
 */
static void sample_traffic(struct recorder *r, uint64_t *next_ns)
{
	uint32_t pids[64];
	uint64_t now = dt_mono_ns(), bytes;
	size_t n;

	if (now < *next_ns)
		return;
	*next_ns = now + 1000000000ull;
	n = recorder_vmm_pids(r, pids, 64);
	for (size_t i = 0; i < n; i++)
		if (!procinfo_alive(pids[i]))	/* the offline doctor: a VMM that exited mid-migration */
			recorder_vmm_exited(r, pids[i]);
		else if (!sockdiag_tcp_bytes_acked((pid_t)pids[i], &bytes))
			recorder_add_traffic(r, pids[i], dt_mono_ns(), bytes);
}

/* Events into the file until a signal, --duration or COMMAND's end: EXIT_OK or EXIT_RUNTIME. */
static int record_loop(struct recorder *r, struct session *s)
{
	uint64_t next_traffic_ns = 0;

	for (;;) {
		int e = recorder_poll(r);

		sample_traffic(r, &next_traffic_ns);

		if (e && recorder_write_failed(r))
			return EXIT_OK;		/* recorder_finish says it */
		if (e) {
			fprintf(stderr, "dirtytop: reading the BPF ring buffer failed: %s\n", strerror(-e));
			return EXIT_RUNTIME;
		}
		/* at COMMAND's end all its events are in the ring buffer */
		if (session_stopping(s) || dt_mono_ns() >= s->deadline_ns || session_child_ended(s)) {
			/* the last events, then a VMM gone since the last second after them */
			recorder_poll(r);
			next_traffic_ns = 0;
			sample_traffic(r, &next_traffic_ns);
			return EXIT_OK;
		}
	}
}

/* Start COMMAND held, filter on its pid, write the header, then let it run: 0 or EXIT_RUNTIME. */
static int begin(struct record_args *a, struct recorder *r, struct session *s, int fd)
{
	char cmdline[sizeof(((struct rec_header *)0)->cmdline)], err[512];
	pid_t pid;

	if (a->command) {
		pid = session_spawn(s, a->command, true);
		if (pid < 0) {
			fprintf(stderr, "dirtytop: fork: %s\n", strerror(errno));
			return EXIT_RUNTIME;
		}
		if (a->command_only)
			recorder_follow(r, (uint32_t)pid);
	}
	join_command(a->command, cmdline, sizeof(cmdline));
	if (recorder_begin(r, fd, cmdline, err, sizeof(err))) {
		fprintf(stderr, "dirtytop: %s: %s\n", a->out, err);
		session_end_command(s);
		return EXIT_RUNTIME;
	}
	session_release(s);
	session_unblock(s);
	return 0;
}

int record_run(struct record_args *a, int fd, bool *started)
{
	struct recorder *r = NULL;
	struct recorder_result res;
	struct session s;
	char err[512];
	int e, ret;

	*started = false;
	if ((ret = recorder_open(&r, &a->ro, err, sizeof(err)))) {
		fprintf(stderr, "dirtytop: %s\n", err);
		return ret;
	}
	/* --duration counts from the attach, as the recording's start does */
	session_begin(&s, &(struct session_opts){ .duration_s = a->duration, .hangup_stops = true, .input_fd = -1 });
	if ((ret = recorder_attach(r, err, sizeof(err))))
		fprintf(stderr, "dirtytop: %s\n", err);
	else
		ret = begin(a, r, &s, fd);
	if (ret) {
		session_end(&s, ret);
		recorder_close(r);
		return ret;
	}
	*started = true;
	if (!a->quiet)
		fprintf(stderr, "dirtytop: recording to %s (hooks %s, ring buffer %llu KiB)%s\n", a->out,
			recorder_hook_name(r), (unsigned long long)(a->ro.ringbuf_bytes >> 10),
			a->command || a->duration ? "" : "; Ctrl-C to stop");

	ret = record_loop(r, &s);
	/* stopped by a signal or --duration: end COMMAND, keep its last events */
	session_end_command(&s);
	e = recorder_finish(r, &res);
	if (e) {
		fprintf(stderr, "dirtytop: writing %s failed: %s; the file holds what was written before\n",
			a->out, strerror(-e));
		ret = EXIT_RUNTIME;
	}
	if (!a->quiet)
		print_summary(a->out, &res);
	recorder_close(r);
	return session_end(&s, ret);
}

int record_main(int argc, char **argv)
{
	struct record_args a = { .ro = RECORD_DEFAULTS };
	struct stat st;
	char err[512];
	bool created, started;
	int fd, ret;

	if ((ret = parse_args(argc, argv, &a)) >= 0)
		return ret;
	/* before the file is created: a kernel that cannot record leaves nothing behind */
	if ((ret = loader_check_kernel(false, err, sizeof(err)))) {
		fprintf(stderr, "dirtytop: %s\n", err);
		return ret;
	}
	created = lstat(a.out, &st) != 0;
	fd = rec_open_output(a.out, a.force, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "dirtytop: %s\n", err);
		return EXIT_RUNTIME;
	}
	ret = record_run(&a, fd, &started);
	if (close(fd) && started && !ret) {
		fprintf(stderr, "dirtytop: closing %s: %s\n", a.out, strerror(errno));
		ret = EXIT_RUNTIME;
	}
	if (!started && created)
		unlink(a.out);
	return ret;
}

/* For tune and doctor: a live run recorded into a new temporary file. */
int record_to_temp_file(double secs, uint32_t pid, char **command, char *path, size_t pathlen)
{
	const char *dir = getenv("TMPDIR");
	struct record_args a = {
		.out = path, .force = true, .quiet = true, .duration = secs, .filter = { .tgid = pid },
		.ro = RECORD_DEFAULTS,
	};
	char err[512];
	bool started;
	int fd, ret;

	snprintf(path, pathlen, "%s/dirtytop-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0) {
		fprintf(stderr, "dirtytop: cannot create a temporary recording in %s: %s\n",
			dir && *dir ? dir : "/tmp", strerror(errno));
		return EXIT_RUNTIME;
	}
	close(fd);
	if (command && command[0]) {
		a.command = command;
		a.command_only = true;
	}
	a.ro.tgid = pid;
	a.ro.follow = a.command_only;
	if ((ret = loader_check_kernel(false, err, sizeof(err)))) {
		fprintf(stderr, "dirtytop: %s\n", err);
		return ret;
	}
	fd = rec_open_output(path, true, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "dirtytop: %s\n", err);
		return EXIT_RUNTIME;
	}
	ret = record_run(&a, fd, &started);
	if (close(fd) && started && !ret) {
		fprintf(stderr, "dirtytop: closing %s: %s\n", path, strerror(errno));
		ret = EXIT_RUNTIME;
	}
	return ret;
}
