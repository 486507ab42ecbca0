/* dirtygen: ground-truth KVM dirty-page load generator (see docs/dirtygen.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "vmm.h"

int main(int argc, char **argv)
{
	struct dg_config cfg;
	struct dg_run run;
	sigset_t set;
	int rc;

	rc = dg_parse_args(argc, argv, &cfg);
	if (rc) {
		dg_config_free(&cfg);
		return rc == 1 ? 0 : 2;
	}

	/* SIGINT/SIGTERM are taken synchronously by the main thread
	 * (sigtimedwait); SIGUSR1 only kicks vCPU threads, which unblock it.
	 * Blocked before any thread exists so every thread inherits it. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	memset(&run, 0, sizeof(run));
	run.cfg = &cfg;
	run.kvm_fd = -1;
	if (!strcmp(cfg.truth_path, "-")) {
		run.truth = stdout;
	} else {
		run.truth = fopen(cfg.truth_path, "w");
		if (!run.truth) {
			fprintf(stderr, "dirtygen: --truth: cannot open '%s' for writing: %s\n",
				cfg.truth_path, strerror(errno));
			dg_config_free(&cfg);
			return 2;
		}
	}

	rc = dg_setup(&run);
	if (rc) {
		dg_config_free(&cfg);
		return rc;
	}
	rc = dg_execute(&run);
	/* also after a runtime failure: stop_reason says "error", exit stays 1 */
	if (dg_write_truth(&run) && rc == 0)
		rc = 1;
	/* the process exits: KVM fds, mappings and memory go with it */
	dg_config_free(&cfg);
	return rc;
}
