/* dirtygen: option parsing and pure arithmetic (no KVM here). */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
"usage: dirtygen [options]\n"
"  --vms N                 VMs to create (default 1)\n"
"  --vcpus N               vCPUs per VM (default 1)\n"
"  --mem MIB               data memory per VM, at most 3072 (default 64)\n"
"  --slots K               data memslots per VM (default 1)\n"
"  --mode M                ring | ring-acqrel | bitmap | none (default ring)\n"
"  --ring-size N           ring entries per vCPU, power of two (default 4096)\n"
"  --manual-protect        bitmap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 + KVM_CLEAR_DIRTY_LOG\n"
"  --initially-set         with --manual-protect: KVM_DIRTY_LOG_INITIALLY_SET\n"
"  --clear-chunk PAGES     clear in chunks of PAGES (multiple of 64; default whole slot)\n"
"  --pattern P             sequential | random | hot:PCT (default sequential)\n"
"  --rate R[,R...]         pages/s per vCPU index (cycled); 0 = unbounded,\n"
"                          idle (or -1) = the vCPU halts (default 1000)\n"
"  --batch N               pages per pacing exit (default max(1,rate/1000), 256 if\n"
"                          unbounded; ring modes: at most 64)\n"
"  --reap-interval MS      reaper period: ring reap or bitmap sync (default 100)\n"
"  --reap-period-us US     reaper period in microseconds (instead of --reap-interval)\n"
"  --reap-mode M           periodic | checkpoint (ring modes: pause the vCPUs, harvest,\n"
"                          reset, resume; default periodic)\n"
"  --checkpoint-hz N       --reap-mode checkpoint, N cycles per second (period 1e6/N us)\n"
"  --latency-group N       checkpoint: reap latency from the first entry of the N-entry\n"
"                          group (power of two) holding the oldest reclaimed entry (default 1)\n"
"  --full-action A         reap | wait | retry | throttle:MS on KVM_EXIT_DIRTY_RING_FULL\n"
"                          (default reap; throttle:MS = reap, then sleep MS ms)\n"
"  --throttle-rate R       throttle instead: after each full-exit reap sleep until the\n"
"                          vCPU's average since its start is at most R pages/s\n"
"  --reap-delay MS         sleep MS between harvesting and reset (default 0)\n"
"  --stall AT:FOR          nobody resets from AT ms after start for FOR ms (repeatable)\n"
"  --duration S            run S seconds (fractional ok; default: until SIGINT/SIGTERM)\n"
"  --truth FILE            ground-truth JSON output, - = stdout (default -)\n"
"  --quiet                 no progress on stderr\n"
"  --region-shift N        log2 of the region size in \"regions\" (12..40, default 21)\n"
"  --seed N                LCG seed base for random/hot (default 1)\n"
"  --retry-delay-us US     retry: pause before re-entering KVM_RUN (default 50; 0 = sched_yield)\n"
"  --max-records N         cap of each per-event record array (default 1000000)\n"
"  --progress-ms MS        per-vCPU progress sample period (default 10; 0 = off)\n"
"  --slot-ops N            N memslot op cycles per VM on a scratch slot: create,\n"
"                          dirty log on, off, move, delete (default 0)\n"
"  --slot-ops-interval MS  one cycle every MS (default 50)\n"
"  --slot-ops-toggle-data  each cycle also turns dirty logging off and on again\n"
"                          on the data slots\n"
"  --kvm-dev PATH          KVM device (default /dev/kvm)\n"
"  --help, --version\n"
"exit codes: 0 success, 1 runtime failure, 2 bad usage\n");
}

static int bad(const char *flag, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "dirtygen: %s: ", flag);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'dirtygen --help'.\n");
	return -1;
}

/* Strict unsigned decimal parse of the whole string. */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int opt_u64(const char *flag, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	uint64_t v;
	if (parse_u64(s, &v))
		return bad(flag, "'%s' is not a non-negative integer", s);
	if (v < lo || v > hi)
		return bad(flag, "%s is out of range (%llu..%llu)", s,
			   (unsigned long long)lo, (unsigned long long)hi);
	*out = v;
	return 0;
}

static int parse_rates(const char *s, struct dg_config *cfg)
{
	char *dup = strdup(s), *save = NULL, *tok;
	int n = 0, cap = 0;
	int64_t *r = NULL;
	if (!dup)
		return bad("--rate", "out of memory");
	if (!*s || s[strlen(s) - 1] == ',' || *s == ',' || strstr(s, ",,")) {
		free(dup);
		return bad("--rate", "'%s' is not a comma-separated list of rates", s);
	}
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int64_t v;
		uint64_t u;
		if (!strcmp(tok, "idle") || !strcmp(tok, "-1")) {
			v = DG_RATE_IDLE;
		} else if (!parse_u64(tok, &u) && u <= 1000000000ULL) {
			v = (int64_t)u;
		} else {
			bad("--rate", "'%s' is not a rate (pages/s 0..1000000000, 0 = unbounded, idle or -1 = idle)", tok);
			free(dup);
			free(r);
			return -1;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			int64_t *nr = realloc(r, (size_t)cap * sizeof(*r));
			if (!nr) {
				free(dup);
				free(r);
				return bad("--rate", "out of memory");
			}
			r = nr;
		}
		r[n++] = v;
	}
	free(dup);
	free(cfg->rates);
	cfg->rates = r;
	cfg->nrates = n;
	return 0;
}

static int parse_stall(const char *s, struct dg_config *cfg)
{
	const char *colon = strchr(s, ':');
	uint64_t at, dur;
	char buf[64];
	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		return bad("--stall", "'%s' is not AT:FOR (milliseconds)", s);
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = 0;
	if (parse_u64(buf, &at) || parse_u64(colon + 1, &dur))
		return bad("--stall", "'%s' is not AT:FOR (milliseconds)", s);
	if (dur == 0)
		return bad("--stall", "'%s': FOR must be > 0", s);
	if (at > 1000ULL * 1000 * 1000 * 1000 || dur > 1000ULL * 1000 * 1000 * 1000)
		return bad("--stall", "'%s' is out of range", s);
	struct dg_stall *ns = realloc(cfg->stalls, (size_t)(cfg->nstalls + 1) * sizeof(*ns));
	if (!ns)
		return bad("--stall", "out of memory");
	cfg->stalls = ns;
	cfg->stalls[cfg->nstalls].at_ms = at;
	cfg->stalls[cfg->nstalls].for_ms = dur;
	cfg->nstalls++;
	return 0;
}

enum {
	O_VMS = 256, O_VCPUS, O_MEM, O_SLOTS, O_MODE, O_RING, O_MANUAL, O_INIT, O_CHUNK,
	O_PATTERN, O_RATE, O_BATCH, O_INTERVAL, O_ACTION, O_DELAY, O_STALL, O_DURATION,
	O_TRUTH, O_QUIET, O_SHIFT, O_SEED, O_RETRY, O_MAXREC, O_KVMDEV, O_HELP, O_VERSION,
	O_PROGRESS, O_SLOTOPS, O_SLOTOPS_INT, O_SLOTOPS_TOGGLE, O_THROTTLE_RATE,
	O_PERIOD_US, O_REAP_MODE, O_CKPT_HZ, O_LAT_GROUP,
};

/* which flags were given, for the checks that combine them */
struct dg_seen {
	bool clear_chunk, full_action, slot_ops_interval, latency_group;
};

static const struct option longopts[] = {
	{ "vms", required_argument, 0, O_VMS },
	{ "vcpus", required_argument, 0, O_VCPUS },
	{ "mem", required_argument, 0, O_MEM },
	{ "slots", required_argument, 0, O_SLOTS },
	{ "mode", required_argument, 0, O_MODE },
	{ "ring-size", required_argument, 0, O_RING },
	{ "manual-protect", no_argument, 0, O_MANUAL },
	{ "initially-set", no_argument, 0, O_INIT },
	{ "clear-chunk", required_argument, 0, O_CHUNK },
	{ "pattern", required_argument, 0, O_PATTERN },
	{ "rate", required_argument, 0, O_RATE },
	{ "batch", required_argument, 0, O_BATCH },
	{ "reap-interval", required_argument, 0, O_INTERVAL },
	{ "reap-period-us", required_argument, 0, O_PERIOD_US },
	{ "reap-mode", required_argument, 0, O_REAP_MODE },
	{ "checkpoint-hz", required_argument, 0, O_CKPT_HZ },
	{ "latency-group", required_argument, 0, O_LAT_GROUP },
	{ "full-action", required_argument, 0, O_ACTION },
	{ "reap-delay", required_argument, 0, O_DELAY },
	{ "stall", required_argument, 0, O_STALL },
	{ "duration", required_argument, 0, O_DURATION },
	{ "truth", required_argument, 0, O_TRUTH },
	{ "quiet", no_argument, 0, O_QUIET },
	{ "region-shift", required_argument, 0, O_SHIFT },
	{ "seed", required_argument, 0, O_SEED },
	{ "retry-delay-us", required_argument, 0, O_RETRY },
	{ "max-records", required_argument, 0, O_MAXREC },
	{ "kvm-dev", required_argument, 0, O_KVMDEV },
	{ "progress-ms", required_argument, 0, O_PROGRESS },
	{ "slot-ops", required_argument, 0, O_SLOTOPS },
	{ "slot-ops-interval", required_argument, 0, O_SLOTOPS_INT },
	{ "slot-ops-toggle-data", no_argument, 0, O_SLOTOPS_TOGGLE },
	{ "throttle-rate", required_argument, 0, O_THROTTLE_RATE },
	{ "help", no_argument, 0, O_HELP },
	{ "version", no_argument, 0, O_VERSION },
	{ 0, 0, 0, 0 },
};

static void set_defaults(struct dg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->vms = 1;
	cfg->vcpus = 1;
	cfg->mem_mib = 64;
	cfg->slots = 1;
	cfg->mode = DG_MODE_RING;
	cfg->ring_size = 4096;
	cfg->pattern = DG_PAT_SEQ;
	cfg->reap_interval_ms = 100;
	cfg->reap_period_us = 100000;
	cfg->latency_group = 1;
	cfg->full_action = DG_FULL_REAP;
	cfg->truth_path = "-";
	cfg->region_shift = 21;
	cfg->seed = 1;
	cfg->retry_delay_us = 50;
	cfg->kvm_dev = "/dev/kvm";
	cfg->max_records = 1000000;
	cfg->progress_ms = 10;
	cfg->slot_ops_interval_ms = 50;
	cfg->rates = malloc(sizeof(int64_t));
	if (cfg->rates) {
		cfg->rates[0] = 1000;
		cfg->nrates = 1;
	}
}

static int parse_one(int c, const char *arg, struct dg_config *cfg, struct dg_seen *seen)
{
	uint64_t v;
	switch (c) {
	case O_VMS:
		if (opt_u64("--vms", arg, 1, DG_MAX_VMS, &v)) return -1;
		cfg->vms = (int)v;
		return 0;
	case O_VCPUS:
		if (opt_u64("--vcpus", arg, 1, DG_MAX_VCPUS, &v)) return -1;
		cfg->vcpus = (int)v;
		return 0;
	case O_MEM:
		if (parse_u64(arg, &v))
			return bad("--mem", "'%s' is not a size in MiB", arg);
		if (v == 0)
			return bad("--mem", "must be at least 1 MiB");
		if (v > DG_MAX_MEM_MIB)
			return bad("--mem", "%s MiB is above the maximum of %llu MiB (data must stay below 4 GiB for the 32-bit guest)",
				   arg, (unsigned long long)DG_MAX_MEM_MIB);
		cfg->mem_mib = v;
		return 0;
	case O_SLOTS:
		if (opt_u64("--slots", arg, 1, DG_MAX_SLOTS, &v)) return -1;
		cfg->slots = (int)v;
		return 0;
	case O_MODE:
		if (!strcmp(arg, "ring")) cfg->mode = DG_MODE_RING;
		else if (!strcmp(arg, "ring-acqrel")) cfg->mode = DG_MODE_RING_ACQREL;
		else if (!strcmp(arg, "bitmap")) cfg->mode = DG_MODE_BITMAP;
		else if (!strcmp(arg, "none")) cfg->mode = DG_MODE_NONE;
		else return bad("--mode", "'%s' is not one of ring, ring-acqrel, bitmap, none", arg);
		return 0;
	case O_RING: {
		uint64_t min = (uint64_t)sysconf(_SC_PAGESIZE) / 16;
		if (parse_u64(arg, &v))
			return bad("--ring-size", "'%s' is not a number of entries", arg);
		if (!dg_is_pow2(v))
			return bad("--ring-size", "%s is not a power of two", arg);
		if (v < min)
			return bad("--ring-size", "%s is below the minimum of %llu entries (KVM needs at least one page of ring, and more than the 64 reserved entries)",
				   arg, (unsigned long long)min);
		if (v > (1ULL << 31))
			return bad("--ring-size", "%s is far above any kernel limit", arg);
		cfg->ring_size = (uint32_t)v;
		return 0;
	}
	case O_MANUAL:
		cfg->manual_protect = true;
		return 0;
	case O_INIT:
		cfg->initially_set = true;
		return 0;
	case O_CHUNK:
		if (parse_u64(arg, &v) || v == 0)
			return bad("--clear-chunk", "'%s' is not a positive number of pages", arg);
		if (v % 64)
			return bad("--clear-chunk", "%s is not a multiple of 64 pages", arg);
		cfg->clear_chunk = v;
		seen->clear_chunk = true;
		return 0;
	case O_PATTERN:
		if (!strcmp(arg, "sequential") || !strcmp(arg, "seq")) {
			cfg->pattern = DG_PAT_SEQ;
		} else if (!strcmp(arg, "random")) {
			cfg->pattern = DG_PAT_RANDOM;
		} else if (!strncmp(arg, "hot:", 4)) {
			if (parse_u64(arg + 4, &v) || v < 1 || v > 100)
				return bad("--pattern", "'%s': hot:P needs a percentage 1..100", arg);
			cfg->pattern = DG_PAT_HOT;
			cfg->hot_pct = (int)v;
		} else {
			return bad("--pattern", "'%s' is not one of sequential, random, hot:P", arg);
		}
		return 0;
	case O_RATE:
		return parse_rates(arg, cfg);
	case O_BATCH:
		if (opt_u64("--batch", arg, 1, 1ULL << 30, &v)) return -1;
		cfg->batch = v;
		return 0;
	case O_INTERVAL:
		if (opt_u64("--reap-interval", arg, 1, 3600ULL * 1000, &v)) return -1;
		cfg->reap_interval_ms = v;
		cfg->reap_period_us = v * 1000;
		return 0;
	case O_PERIOD_US:
		if (opt_u64("--reap-period-us", arg, 1, 3600ULL * 1000000, &v)) return -1;
		cfg->reap_period_us = v;
		cfg->reap_interval_ms = v / 1000;
		return 0;
	case O_REAP_MODE:
		if (!strcmp(arg, "periodic")) cfg->reap_mode = DG_REAP_PERIODIC;
		else if (!strcmp(arg, "checkpoint")) cfg->reap_mode = DG_REAP_CHECKPOINT;
		else return bad("--reap-mode", "'%s' is not one of periodic, checkpoint", arg);
		return 0;
	case O_CKPT_HZ:
		if (opt_u64("--checkpoint-hz", arg, 1, 1000000, &v)) return -1;
		cfg->reap_mode = DG_REAP_CHECKPOINT;
		cfg->reap_period_us = (1000000 + v / 2) / v;
		cfg->reap_interval_ms = cfg->reap_period_us / 1000;
		return 0;
	case O_LAT_GROUP:
		if (opt_u64("--latency-group", arg, 1, 1ULL << 31, &v)) return -1;
		if (!dg_is_pow2(v))
			return bad("--latency-group", "%s is not a power of two", arg);
		cfg->latency_group = (uint32_t)v;
		seen->latency_group = true;
		return 0;
	case O_ACTION:
		seen->full_action = true;
		cfg->throttle_ms = 0;
		if (!strcmp(arg, "reap")) cfg->full_action = DG_FULL_REAP;
		else if (!strcmp(arg, "wait")) cfg->full_action = DG_FULL_WAIT;
		else if (!strcmp(arg, "retry")) cfg->full_action = DG_FULL_RETRY;
		else if (!strcmp(arg, "throttle")) cfg->full_action = DG_FULL_THROTTLE;
		else if (!strncmp(arg, "throttle:", 9)) {
			if (parse_u64(arg + 9, &v) || v < 1 || v > 3600ULL * 1000)
				return bad("--full-action", "'%s': throttle:MS needs milliseconds 1..3600000", arg);
			cfg->full_action = DG_FULL_THROTTLE;
			cfg->throttle_ms = v;
		}
		else return bad("--full-action", "'%s' is not one of reap, wait, retry, throttle:MS", arg);
		return 0;
	case O_THROTTLE_RATE:
		if (opt_u64("--throttle-rate", arg, 1, 1000000000ULL, &v)) return -1;
		cfg->throttle_rate = v;
		return 0;
	case O_PROGRESS:
		if (opt_u64("--progress-ms", arg, 0, 3600ULL * 1000, &v)) return -1;
		cfg->progress_ms = v;
		return 0;
	case O_SLOTOPS:
		if (opt_u64("--slot-ops", arg, 0, 1000000000ULL, &v)) return -1;
		cfg->slot_ops = v;
		return 0;
	case O_SLOTOPS_INT:
		if (opt_u64("--slot-ops-interval", arg, 1, 3600ULL * 1000, &v)) return -1;
		cfg->slot_ops_interval_ms = v;
		seen->slot_ops_interval = true;
		return 0;
	case O_SLOTOPS_TOGGLE:
		cfg->slot_ops_toggle_data = true;
		return 0;
	case O_DELAY:
		if (opt_u64("--reap-delay", arg, 0, 3600ULL * 1000, &v)) return -1;
		cfg->reap_delay_ms = v;
		return 0;
	case O_STALL:
		return parse_stall(arg, cfg);
	case O_DURATION: {
		char *end;
		errno = 0;
		double d = strtod(arg, &end);
		if (errno || end == arg || *end || !isfinite(d) || d <= 0 || d > 1e7)
			return bad("--duration", "'%s' is not a positive number of seconds", arg);
		cfg->duration_s = d;
		return 0;
	}
	case O_TRUTH:
		if (!*arg)
			return bad("--truth", "empty file name");
		cfg->truth_path = arg;
		return 0;
	case O_QUIET:
		cfg->quiet = true;
		return 0;
	case O_SHIFT:
		if (opt_u64("--region-shift", arg, 12, 40, &v)) return -1;
		cfg->region_shift = (unsigned)v;
		return 0;
	case O_SEED:
		if (opt_u64("--seed", arg, 0, 0xffffffffULL, &v)) return -1;
		cfg->seed = (uint32_t)v;
		return 0;
	case O_RETRY:
		if (opt_u64("--retry-delay-us", arg, 0, 1000000, &v)) return -1;
		cfg->retry_delay_us = v;
		return 0;
	case O_MAXREC:
		if (opt_u64("--max-records", arg, 0, 1ULL << 32, &v)) return -1;
		cfg->max_records = v;
		return 0;
	case O_KVMDEV:
		if (!*arg)
			return bad("--kvm-dev", "empty path");
		cfg->kvm_dev = arg;
		return 0;
	}
	return -1;
}

int dg_parse_args(int argc, char **argv, struct dg_config *cfg)
{
	struct dg_seen seen = { 0 };
	int c;

	set_defaults(cfg);
	if (!cfg->rates) {
		fprintf(stderr, "dirtygen: out of memory\n");
		return 2;
	}
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == O_HELP) {
			usage(stdout);
			return 1;
		}
		if (c == O_VERSION) {
			printf("dirtygen %d\n", DG_VERSION);
			return 1;
		}
		if (c == '?' || c == ':') {
			const char *opt = argv[optind - 1];
			const struct option *known = NULL;
			for (const struct option *o = longopts; o->name; o++) {
				size_t n = strlen(o->name);
				if (!strncmp(opt, "--", 2) && !strncmp(opt + 2, o->name, n) &&
				    (opt[2 + n] == 0 || opt[2 + n] == '='))
					known = o;
			}
			if (known && known->has_arg == required_argument)
				fprintf(stderr, "dirtygen: --%s: missing argument\n", known->name);
			else if (known)
				fprintf(stderr, "dirtygen: --%s: takes no argument\n", known->name);
			else
				fprintf(stderr, "dirtygen: unknown option '%s'\n", opt);
			fprintf(stderr, "Try 'dirtygen --help'.\n");
			return 2;
		}
		if (parse_one(c, optarg, cfg, &seen))
			return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "dirtygen: unexpected argument '%s'\nTry 'dirtygen --help'.\n", argv[optind]);
		return 2;
	}
	if ((cfg->mode == DG_MODE_RING || cfg->mode == DG_MODE_RING_ACQREL) &&
	    cfg->batch > DG_RING_MAX_BATCH)
		return bad("--batch", "%llu is above %llu in ring mode: more pushes than the ring's 64 reserved entries between two exits to userspace can overflow the ring",
			   (unsigned long long)cfg->batch, (unsigned long long)DG_RING_MAX_BATCH), 2;
	if (cfg->manual_protect && cfg->mode != DG_MODE_BITMAP)
		return bad("--manual-protect", "only applies to --mode bitmap"), 2;
	if (cfg->initially_set && !cfg->manual_protect)
		return bad("--initially-set", "requires --manual-protect"), 2;
	if (seen.clear_chunk && !cfg->manual_protect)
		return bad("--clear-chunk", "requires --manual-protect"), 2;
	if (cfg->throttle_rate) {
		if (seen.full_action && (cfg->full_action != DG_FULL_THROTTLE || cfg->throttle_ms))
			return bad("--throttle-rate", "selects --full-action throttle with a sleep by rate; it cannot be combined with --full-action %s%s",
				   dg_full_action_name(cfg->full_action), cfg->throttle_ms ? ":MS" : ""), 2;
		cfg->full_action = DG_FULL_THROTTLE;
	} else if (cfg->full_action == DG_FULL_THROTTLE && !cfg->throttle_ms) {
		return bad("--full-action", "throttle needs :MS (throttle:MS) or --throttle-rate R"), 2;
	}
	if (cfg->reap_mode == DG_REAP_CHECKPOINT) {
		if (cfg->mode != DG_MODE_RING && cfg->mode != DG_MODE_RING_ACQREL)
			return bad("--reap-mode", "checkpoint needs a dirty ring (--mode ring or ring-acqrel)"), 2;
		/* wait and throttle keep a vCPU away from the pause for long */
		if (cfg->full_action != DG_FULL_REAP && cfg->full_action != DG_FULL_RETRY)
			return bad("--reap-mode", "checkpoint works with --full-action reap or retry, not %s",
				   dg_full_action_name(cfg->full_action)), 2;
	}
	if (seen.latency_group && cfg->reap_mode != DG_REAP_CHECKPOINT)
		return bad("--latency-group", "requires --reap-mode checkpoint"), 2;
	if (cfg->latency_group > cfg->ring_size)
		return bad("--latency-group", "%u is above --ring-size %u", cfg->latency_group, cfg->ring_size), 2;
	if (seen.slot_ops_interval && !cfg->slot_ops)
		return bad("--slot-ops-interval", "requires --slot-ops N"), 2;
	if (cfg->slot_ops_toggle_data && !cfg->slot_ops)
		return bad("--slot-ops-toggle-data", "requires --slot-ops N"), 2;
	if (cfg->slot_ops_toggle_data && cfg->mode == DG_MODE_NONE)
		return bad("--slot-ops-toggle-data", "needs dirty logging on the data slots (--mode ring, ring-acqrel or bitmap)"), 2;
	return 0;
}

void dg_config_free(struct dg_config *cfg)
{
	free(cfg->rates);
	free(cfg->stalls);
	cfg->rates = NULL;
	cfg->stalls = NULL;
}

int dg_compute_layout(const struct dg_config *cfg, struct dg_layout *lay)
{
	memset(lay, 0, sizeof(*lay));
	lay->data_pages = cfg->mem_mib * (1ULL << 20) / DG_PAGE_SIZE;
	if ((uint64_t)cfg->slots > lay->data_pages) {
		bad("--slots", "%d slots of %llu MiB: a slot would be smaller than a page (%llu data pages)",
		    cfg->slots, (unsigned long long)cfg->mem_mib, (unsigned long long)lay->data_pages);
		return -1;
	}
	lay->slot_pages = lay->data_pages / (uint64_t)cfg->slots;
	lay->pages_per_vcpu = lay->data_pages / (uint64_t)cfg->vcpus;
	if (lay->pages_per_vcpu == 0) {
		bad("--vcpus", "%d vCPUs but --mem %llu has only %llu data pages: every vCPU needs at least one page",
		    cfg->vcpus, (unsigned long long)cfg->mem_mib, (unsigned long long)lay->data_pages);
		return -1;
	}
	if (lay->pages_per_vcpu > 0xffffffffULL) {
		bad("--mem", "too many pages per vCPU");
		return -1;
	}
	lay->hot_pages = lay->pages_per_vcpu;
	if (cfg->pattern == DG_PAT_HOT) {
		lay->hot_pages = lay->pages_per_vcpu * (uint64_t)cfg->hot_pct / 100;
		if (lay->hot_pages == 0)
			lay->hot_pages = 1;
	}
	return 0;
}

uint64_t dg_slot_pages(const struct dg_config *cfg, const struct dg_layout *lay, int i)
{
	if (i == cfg->slots - 1)
		return lay->data_pages - lay->slot_pages * (uint64_t)(cfg->slots - 1);
	return lay->slot_pages;
}

uint64_t dg_slot_first_page(const struct dg_layout *lay, int i)
{
	return lay->slot_pages * (uint64_t)i;
}

int64_t dg_rate_for(const struct dg_config *cfg, int vcpu_index)
{
	return cfg->rates[vcpu_index % cfg->nrates];
}

uint64_t dg_batch_for(const struct dg_config *cfg, int64_t rate)
{
	if (rate == DG_RATE_IDLE)
		return 0;
	uint64_t b;
	if (cfg->batch)
		return cfg->batch;
	if (rate == 0)
		b = DG_UNBOUNDED_BATCH;
	else
		b = rate / 1000 > 1 ? (uint64_t)rate / 1000 : 1;
	if ((cfg->mode == DG_MODE_RING || cfg->mode == DG_MODE_RING_ACQREL) && b > DG_RING_MAX_BATCH)
		b = DG_RING_MAX_BATCH;
	return b;
}

uint64_t dg_scratch_gpa(const struct dg_config *cfg, int which)
{
	uint64_t end = DG_DATA_GPA + (cfg->mem_mib << 20);
	uint64_t a = (end + DG_SCRATCH_ALIGN - 1) & ~(DG_SCRATCH_ALIGN - 1);
	return a + (which ? DG_SCRATCH_SIZE : 0);
}

uint64_t dg_pace_target_ns(uint64_t start_ns, uint64_t pages, uint64_t rate)
{
	/* pages * 1e9 / rate without overflow: (pages % rate) < rate <= 1e9 */
	return start_ns + (pages / rate) * 1000000000ULL +
	       (pages % rate) * 1000000000ULL / rate;
}

uint64_t dg_stall_end(const struct dg_config *cfg, uint64_t start_ns, uint64_t now_ns)
{
	uint64_t end = 0, t = now_ns;
	bool found = true;
	while (found) {
		found = false;
		for (int i = 0; i < cfg->nstalls; i++) {
			uint64_t a = start_ns + cfg->stalls[i].at_ms * 1000000ULL;
			uint64_t b = a + cfg->stalls[i].for_ms * 1000000ULL;
			if (a <= t && t < b) {
				end = b;
				t = b;   /* continue through overlapping/adjacent windows */
				found = true;
			}
		}
	}
	return end;
}

const char *dg_mode_name(enum dg_mode m)
{
	switch (m) {
	case DG_MODE_RING: return "ring";
	case DG_MODE_RING_ACQREL: return "ring-acqrel";
	case DG_MODE_BITMAP: return "bitmap";
	case DG_MODE_NONE: return "none";
	}
	return "?";
}

const char *dg_full_action_name(enum dg_full_action a)
{
	switch (a) {
	case DG_FULL_REAP: return "reap";
	case DG_FULL_WAIT: return "wait";
	case DG_FULL_RETRY: return "retry";
	case DG_FULL_THROTTLE: return "throttle";
	}
	return "?";
}

const char *dg_reap_mode_name(enum dg_reap_mode m)
{
	return m == DG_REAP_CHECKPOINT ? "checkpoint" : "periodic";
}

const char *dg_pattern_name(const struct dg_config *cfg, char *buf, size_t len)
{
	switch (cfg->pattern) {
	case DG_PAT_SEQ: snprintf(buf, len, "sequential"); break;
	case DG_PAT_RANDOM: snprintf(buf, len, "random"); break;
	case DG_PAT_HOT: snprintf(buf, len, "hot:%d", cfg->hot_pct); break;
	}
	return buf;
}

bool dg_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

uint64_t dg_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
