// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Loader of bench/min_counter.bpf.c: min_counter PROG
 * (PROG: min_btf, min_raw, min_tp, glob_btf, empty_btf, hash1, hash2, task1,
 * rb_wakeup or rb_nowakeup).
 * Loads and attaches only PROG, prints "ready <prog id>" on stdout, runs
 * until SIGINT/SIGTERM (consuming the ring buffer for the rb_* programs:
 * woken by the kernel for rb_wakeup, every 10 ms for rb_nowakeup), then
 * prints "count <n> records <m>" (the counter: increments, or records lost;
 * records consumed) and exits. min_counter PROG -- COMMAND [ARGS...] runs
 * COMMAND once attached and exits when it does, with its exit status (so
 * hyperfine can time it like `dirtytop -- COMMAND`).
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "min_counter.skel.h"

static volatile sig_atomic_t stop;
static unsigned long long records;

static int on_record(void *ctx, void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	records++;
	return 0;
}

static void on_signal(int sig)
{
	if (sig != SIGCHLD)	/* SIGCHLD only interrupts the sleep */
		stop = 1;
}

static unsigned long long pcpu_sum(struct min_counter_bpf *skel)
{
	int n = libbpf_num_possible_cpus();
	unsigned long long sum = 0, v[n > 0 ? n : 1];
	__u32 zero = 0;

	if (n <= 0 || bpf_map_lookup_elem(bpf_map__fd(skel->maps.pcpu), &zero, v))
		return 0;
	for (int i = 0; i < n; i++)
		sum += v[i];
	return sum;
}

int main(int argc, char **argv)
{
	struct min_counter_bpf *skel;
	struct bpf_program *prog, *want = NULL;
	struct bpf_prog_info info = {};
	struct ring_buffer *rb = NULL;
	__u32 len = sizeof(info);
	bool poll_timer;
	pid_t child = -1;
	int e, status = 0;

	if (argc < 2 || (argc > 2 && (strcmp(argv[2], "--") || argc < 4))) {
		fprintf(stderr, "usage: min_counter min_btf|min_raw|min_tp|glob_btf|empty_btf|hash1|hash2|task1|rb_wakeup|rb_nowakeup\n"
			"                   [-- COMMAND...]\n");
		return 2;
	}
	skel = min_counter_bpf__open();
	if (!skel) {
		fprintf(stderr, "min_counter: open: %s\n", strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, skel->obj) {
		bool me = !strcmp(bpf_program__name(prog), argv[1]);

		bpf_program__set_autoload(prog, me);
		if (me)
			want = prog;
	}
	if (!want) {
		fprintf(stderr, "min_counter: no program '%s'\n", argv[1]);
		return 2;
	}
	poll_timer = !strcmp(argv[1], "rb_nowakeup");
	if (strncmp(argv[1], "rb_", 3))
		bpf_map__set_max_entries(skel->maps.rb, 4096);	/* unused: keep it small */
	e = min_counter_bpf__load(skel);
	if (!e && !strncmp(argv[1], "rb_", 3)) {
		rb = ring_buffer__new(bpf_map__fd(skel->maps.rb), on_record, NULL, NULL);
		if (!rb)
			e = -errno;
	}
	if (!e && !bpf_program__attach(want))
		e = -errno;
	if (e) {
		fprintf(stderr, "min_counter: load/attach %s: %s\n", argv[1], strerror(-e));
		min_counter_bpf__destroy(skel);
		return 1;
	}
	bpf_obj_get_info_by_fd(bpf_program__fd(want), &info, &len);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGCHLD, on_signal);
	printf("ready %u\n", info.id);
	fflush(stdout);
	if (argc > 2) {
		child = fork();
		if (child == 0) {
			execvp(argv[3], argv + 3);
			fprintf(stderr, "min_counter: cannot run %s: %s\n", argv[3], strerror(errno));
			_exit(127);
		}
		if (child < 0) {
			fprintf(stderr, "min_counter: fork: %s\n", strerror(errno));
			stop = 1;
		}
	}
	while (!stop) {
		if (child > 0 && waitpid(child, &status, WNOHANG) == child) {
			child = -child;		/* reaped */
			break;
		}
		if (!rb) {
			usleep(100000);
		} else if (poll_timer) {
			usleep(10000);
			ring_buffer__consume(rb);
		} else {
			ring_buffer__poll(rb, 100);
		}
	}
	if (child > 0) {		/* stopped by a signal: stop COMMAND too */
		kill(child, SIGTERM);
		waitpid(child, &status, 0);
		child = -child;
	}
	if (rb)
		ring_buffer__consume(rb);
	printf("count %llu records %llu\n", (unsigned long long)(skel->bss->counter + pcpu_sum(skel)), records);
	ring_buffer__free(rb);
	min_counter_bpf__destroy(skel);
	if (child < -1)
		return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}
