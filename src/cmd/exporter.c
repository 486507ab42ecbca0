// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `dirtytop exporter`: the model as Prometheus metrics.
 *
 * Collection happens per scrape, at most once per --min-interval (a faster
 * scrape, or a second Prometheus, gets the last rendering): counters are as
 * fresh as the scrape, nothing runs when nobody scrapes, and an exited VM,
 * which the model keeps for one more interval, is in exactly one more
 * scrape with its final counts and then its series end.
 *
 * HTTP is libmicrohttpd with one internal epoll thread: the handler holds
 * the lock while it collects; a rendering is one refcounted MHD response
 * shared by every connection that asked for it, so slow readers cost no
 * copy. Connections, their memory and their idle time are bounded.
 *
 * --textfile writes the same text for node_exporter's textfile collector
 * every --interval (a temporary file, then rename). --from-recording
 * replays a recording and writes OpenMetrics with timestamps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <dirent.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "core/version.h"
#include "core/doctor_rules.h"
#include "core/exit_status.h"
#include "core/recording.h"
#include "core/replay.h"
#include "core/util.h"
#include "kernel/collector.h"
#include "out/prometheus.h"
#include "sys/procinfo.h"

#define DEFAULT_LISTEN "127.0.0.1:9979"
#define MAX_PROGS 64

/* findings of the current doctor window and the one before (so one does not vanish at a roll-over) */
struct doc_window {
	struct doc_state cur;
	struct doc_thresholds th;
	struct doc_findings prev_f, cur_f, all;
	uint64_t started_ns;
	double window_s;
};

struct exporter {
	pthread_mutex_t lock;
	struct collector *col;
	struct model model;
	struct snapshot snap;
	struct doc_window dw;
	struct prom_opts po;
	double min_interval_s;
	uint64_t last_collect_ns, collections;
	double last_scrape_s;
	struct MHD_Response *cached;	/* the last rendering, shared */
	struct prom_writer writer;	/* its buffers kept from one scrape to the next */
	char *auth_user, *auth_pass;
	bool quiet_mhd;		/* while starting TLS: its errors are ours to word */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dirtytop exporter [OPTIONS]\n"
		"       dirtytop exporter --textfile PATH [--interval SECS] [OPTIONS]\n"
		"       dirtytop exporter --from-recording FILE --openmetrics OUT [--step SECS]\n"
		"Serve dirtytop's metrics for Prometheus on /metrics.\n\n"
		"  -l, --listen ADDR:PORT     where to listen (default " DEFAULT_LISTEN ")\n"
		"      --no-per-vcpu          ring series summed per VM (for hosts with thousands of vCPUs)\n"
		"      --min-interval SECS    read the BPF maps at most this often (10%% slack); faster\n"
		"                             scrapes get the last rendering (default 1)\n"
		"      --doctor-window SECS   doctor findings over windows this long (default 300)\n"
		"      --tls-cert FILE --tls-key FILE   serve HTTPS (PEM files)\n"
		"      --basic-auth-file FILE  require HTTP basic auth; FILE holds one line USER:PASSWORD\n"
		"      --textfile PATH        no HTTP: write PATH (temporary file + rename) every --interval\n"
		"      --interval SECS        textfile period (default 15)\n"
		"      --from-recording FILE  replay a `dirtytop record` file ...\n"
		"      --openmetrics OUT      ... into OpenMetrics with timestamps (\"-\": stdout)\n"
		"      --step SECS            one sample per series every SECS of the recording (default 1)\n"
		"  -H, --hooks auto|btf|raw   BPF hook flavour (as dirtytop)\n"
		"  -v, --verbose              say what is loaded and attached\n"
		"  -h, --help\n\n"
		"Exit status: 0 stopped by SIGTERM/SIGINT, 1 runtime error, 2 usage (also a missing or\n"
		"unusable certificate, key or basic-auth file), "
		"3 kernel feature missing, 4 no privileges, 5 cannot listen (address in use or not local).\n");
}

static uint64_t mono_ns(void)
{
	return dt_mono_ns();
}

/* --- doctor findings over rolling windows --- */

static void dw_init(struct doc_window *dw, double window_s)
{
	memset(dw, 0, sizeof(*dw));
	doc_state_init(&dw->cur);
	doc_thresholds_default(&dw->th);
	dw->window_s = window_s;
}

static void dw_free(struct doc_window *dw)
{
	doc_state_free(&dw->cur);
	doc_findings_free(&dw->prev_f);
	doc_findings_free(&dw->cur_f);
	free(dw->all.v);
}

/* Fold in the interval the model just computed; a new window starts from this point as its baseline. */
static void dw_update(struct doc_window *dw, struct model *m, uint64_t now_ns)
{
	double secs = m->interval_s;

	if (!dw->started_ns)
		dw->started_ns = now_ns;
	doc_accumulate(&dw->cur, m);
	doc_findings_free(&dw->cur_f);
	doc_evaluate(&dw->cur, &dw->th, &dw->cur_f);
	if ((double)(now_ns - dw->started_ns) / 1e9 >= dw->window_s) {
		doc_findings_free(&dw->prev_f);
		dw->prev_f = dw->cur_f;
		memset(&dw->cur_f, 0, sizeof(dw->cur_f));
		doc_state_free(&dw->cur);
		doc_state_init(&dw->cur);
		m->interval_s = 0;	/* what the VMs did before does not count in the new window */
		doc_accumulate(&dw->cur, m);
		m->interval_s = secs;
		dw->started_ns = now_ns;
	}
	dw->all.n = 0;
	for (int k = 0; k < 2; k++) {
		const struct doc_findings *f = k ? &dw->prev_f : &dw->cur_f;

		for (size_t i = 0; i < f->n; i++) {
			DT_GROW(dw->all.v, dw->all.n, dw->all.cap);
			dw->all.v[dw->all.n++] = f->v[i];
		}
	}
}

/* --- self-metrics --- */

static int bpf_stats_enabled(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* The BPF programs this process holds: the collector's (found by fd, so no collector API is needed). */
static size_t own_progs(struct prom_bpf_prog *out, size_t max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		char path[64], link[64];
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		ssize_t l;
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		l = readlink(path, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = '\0';
		if (strcmp(link, "anon_inode:bpf-prog") || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		snprintf(out[n].name, sizeof(out[n].name), "%s", info.name);
		out[n].run_time_ns = info.run_time_ns;
		out[n].run_cnt = info.run_cnt;
		n++;
	}
	closedir(d);
	return n;
}

/* --- collection and rendering --- */

static void collect(struct exporter *x)
{
	struct key_list fvms = {}, fvcpus = {};

	collector_snapshot(x->col, &x->snap);
	model_update(&x->model, &x->snap, procinfo_lookup, NULL, &fvms, &fvcpus);
	collector_forget(x->col, &fvms, &fvcpus);
	key_list_free(&fvms);
	key_list_free(&fvcpus);
	dw_update(&x->dw, &x->model, x->snap.ts_ns);
	x->collections++;
}

/* Collect and render the text format; the caller owns *out. */
static void scrape(struct exporter *x, struct prom_buf *out)
{
	uint64_t t0 = mono_ns(), t1;
	struct prom_bpf_prog progs[MAX_PROGS];
	struct prom_self self = {};
	struct prom_writer *w = &x->writer;

	collect(x);
	t1 = mono_ns();
	prom_writer_reuse(w, &x->po);
	prom_render_model(w, &x->model, &x->snap);
	prom_render_findings(w, &x->dw.all);
	self.scrape_s = x->last_scrape_s;
	self.collect_s = (double)(t1 - t0) / 1e9;
	self.collections = x->collections;
	self.map_entries = collector_map_entries(x->col, &x->snap);
	self.bpf_stats_enabled = bpf_stats_enabled();
	self.progs = progs;
	self.n_progs = own_progs(progs, MAX_PROGS);
	prom_render_self(w, &self);
	prom_render_build_info(w, DIRTYTOP_VERSION);
	memset(out, 0, sizeof(*out));
	prom_finish(w, out);
	x->last_collect_ns = t0;
	x->last_scrape_s = (double)(mono_ns() - t0) / 1e9;
}

/* --- HTTP --- */

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, "Allow", "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static bool auth_ok(struct exporter *x, struct MHD_Connection *conn)
{
	char *pass = NULL, *user;
	bool ok;

	if (!x->auth_user)
		return true;
	user = MHD_basic_auth_get_username_password(conn, &pass);
	ok = user && pass && !strcmp(user, x->auth_user) && !strcmp(pass, x->auth_pass);
	MHD_free(user);
	MHD_free(pass);
	return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	static int first_call;
	struct exporter *x = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	if (!*con_cls) {
		*con_cls = &first_call;	/* headers only so far */
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;	/* a body is not read, only drained */
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (!auth_ok(x, conn)) {
		r = MHD_create_response_from_buffer(13, (void *)"unauthorized\n", MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		ret = MHD_queue_basic_auth_fail_response(conn, "dirtytop", r);
		MHD_destroy_response(r);
		return ret;
	}
	if (!strcmp(url, "/"))
		return reply_text(conn, MHD_HTTP_OK, "dirtytop exporter: metrics on /metrics\n");
	if (strcmp(url, "/metrics"))
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found: metrics are on /metrics\n");

	pthread_mutex_lock(&x->lock);
	if (!x->col) {		/* the BPF programs failed to load: the server stops now */
		pthread_mutex_unlock(&x->lock);
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "dirtytop exporter: not collecting\n");
	}
	/*
	 * A scrape every --min-interval arrives a hair early half the time
	 * (jitter): 10% slack, so such a scraper never gets every other reply
	 * from the cache (and an exited VM's last figures twice).
	 */
	if (!x->cached || (double)(mono_ns() - x->last_collect_ns) / 1e9 >= 0.9 * x->min_interval_s) {
		struct prom_buf text;

		scrape(x, &text);
		r = MHD_create_response_from_buffer(text.len, text.p, MHD_RESPMEM_MUST_FREE);
		if (r) {
			MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
			if (x->cached)
				MHD_destroy_response(x->cached);	/* connections still sending it hold their own reference */
			x->cached = r;
		} else {
			free(text.p);
		}
	}
	r = x->cached;
	ret = r ? MHD_queue_response(conn, MHD_HTTP_OK, r) : MHD_NO;
	pthread_mutex_unlock(&x->lock);
	return ret;
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
	struct exporter *x = cls;

	if (x && x->quiet_mhd)
		return;
	fprintf(stderr, "dirtytop exporter: http: ");
	vfprintf(stderr, fmt, ap);
}

/*
 * Start the HTTP(S) server on the bound socket. TLS takes the certificate
 * and key here (GnuTLS parses both and checks that they belong together),
 * so a bad one is a usage error before any BPF is loaded.
 */
static int start_http(struct exporter *x, struct MHD_Daemon **d, int listen_fd, const char *cert, const char *key,
		      const char *cert_path, const char *key_path, const char *listen_addr)
{
	x->quiet_mhd = cert != NULL;	/* GnuTLS's own words are vaguer than ours below */
	*d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | (cert ? MHD_USE_TLS : 0), 0, NULL, NULL,
			      on_request, x, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, x,
			      MHD_OPTION_LISTEN_SOCKET, listen_fd,
			      MHD_OPTION_CONNECTION_LIMIT, 512u,
			      MHD_OPTION_PER_IP_CONNECTION_LIMIT, 0u,
			      MHD_OPTION_CONNECTION_TIMEOUT, 10u,
			      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
			      cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert,
			      MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_END);
	x->quiet_mhd = false;
	if (*d)
		return EXIT_OK;
	if (cert) {
		fprintf(stderr, "dirtytop exporter: TLS cannot use --tls-cert %s with --tls-key %s: "
			"want a PEM certificate and its own PEM private key\n", cert_path, key_path);
		return EXIT_USAGE;
	}
	fprintf(stderr, "dirtytop exporter: cannot start the HTTP server on %s\n", listen_addr);
	return EXIT_RUNTIME;
}

/* --- options --- */

static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535 || colon[1] == '\0')
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		host[strlen(host) - 1] = '\0';
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
		return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : -1;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof(*a);
		if (!host[0])
			return -1;	/* say 0.0.0.0 to listen everywhere: never by accident */
		return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
	}
}

static int listen_on(const char *addr, int *fd_out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (parse_listen(addr, &ss, &len)) {
		fprintf(stderr, "dirtytop exporter: --listen takes ADDR:PORT (e.g. 127.0.0.1:9979, [::1]:9979), not '%s'\n",
			addr);
		return EXIT_USAGE;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "dirtytop exporter: socket: %s\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 128)) {
		int e = errno;

		fprintf(stderr, "dirtytop exporter: cannot listen on %s: %s%s\n", addr, strerror(e),
			e == EADDRINUSE ? " (another exporter or service has the port: pick one with --listen)" :
			e == EACCES ? " (ports below 1024 need CAP_NET_BIND_SERVICE)" : "");
		close(fd);
		return EXIT_LISTEN;
	}
	*fd_out = fd;
	return 0;
}

static char *read_file(const char *path, size_t max)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = calloc(1, max + 1);
	if (!buf)
		abort();
	n = fread(buf, 1, max, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int parse_secs(const char *opt, const char *s, double lo, double *out)
{
	if (cli_parse_double(s, lo, 86400, out)) {
		fprintf(stderr, "dirtytop exporter: %s takes seconds from %g to 86400, not '%s'\n", opt, lo, s);
		return -1;
	}
	return 0;
}

/* --- textfile mode --- */

static int write_atomically(const char *path, const struct prom_buf *b)
{
	char tmp[PATH_MAX];
	int fd;
	bool ok;

	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, getpid()) >= (int)sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	ok = write(fd, b->p, b->len) == (ssize_t)b->len;
	ok = !close(fd) && ok;
	if (!ok || rename(tmp, path)) {
		int e = errno;

		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

/* --- from a recording --- */

struct om_replay {
	struct model model;
	struct doc_window dw;
	struct prom_writer w;
	uint64_t start_mono_ns, start_wall_ns;
	uint64_t windows;
};

static void on_window(void *ctx, struct replay *r, const struct snapshot *s, uint64_t ws, uint64_t we)
{
	struct om_replay *o = ctx;

	(void)ws;
	model_update(&o->model, s, replay_proc_lookup, r, NULL, NULL);
	dw_update(&o->dw, &o->model, s->ts_ns);
	prom_set_timestamp(&o->w, (double)(o->start_wall_ns + (we - o->start_mono_ns)) / 1e9);
	prom_render_model(&o->w, &o->model, s);
	prom_render_findings(&o->w, &o->dw.all);
	o->windows++;
}

static int from_recording(const char *path, const char *out_path, double step_s, bool per_vcpu, double window_s)
{
	struct prom_opts po = { .openmetrics = true, .per_vcpu = per_vcpu };
	struct om_replay o = {};
	struct prom_buf text = {};
	struct recording span;
	struct rec_reader *rd;
	struct rec_record rec;
	struct snapshot snap = {};
	struct replay *r;
	char err[700];
	FILE *f;
	int ret = EXIT_OK;

	if (recording_load(path, &span, "dirtytop exporter", false, stderr))
		return EXIT_RUNTIME;
	model_init(&o.model);
	dw_init(&o.dw, window_s);
	prom_writer_init(&o.w, &po);
	o.start_mono_ns = span.h.start_mono_ns;
	o.start_wall_ns = span.h.start_wall_ns;
	r = replay_new(span.start_ns, span.end_ns, (uint64_t)(step_s * 1e9), 9, on_window, &o);
	replay_baseline(r, &snap);
	model_update(&o.model, &snap, NULL, NULL, NULL, NULL);
	dw_update(&o.dw, &o.model, snap.ts_ns);
	if (recording_reopen(&span, &f, &rd, err, sizeof(err))) {
		fprintf(stderr, "dirtytop exporter: %s\n", err);
		ret = EXIT_RUNTIME;
		goto out;
	}
	while (recr_next(rd, &rec) == REC_OK)
		replay_apply(r, &rec);
	recr_free(rd);
	fclose(f);
	replay_finish(r);
	prom_render_build_info(&o.w, DIRTYTOP_VERSION);
	prom_finish(&o.w, &text);
	if (!strcmp(out_path, "-")) {
		ret = fwrite(text.p, 1, text.len, stdout) == text.len && !fflush(stdout) ? EXIT_OK : EXIT_RUNTIME;
	} else if (write_atomically(out_path, &text)) {
		fprintf(stderr, "dirtytop exporter: %s: %s\n", out_path, strerror(errno));
		ret = EXIT_RUNTIME;
	}
	if (!ret)
		fprintf(stderr, "dirtytop exporter: %" PRIu64 " windows of %.3g s from %s\n", o.windows,
			(double)replay_window_ns(r) / 1e9, path);
out:
	prom_buf_free(&text);
	prom_writer_free(&o.w);
	replay_free(r);
	snapshot_free(&snap);
	model_free(&o.model);
	dw_free(&o.dw);
	return ret;
}

/* --- main --- */

int exporter_main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "no-per-vcpu", no_argument, NULL, 'P' },
		{ "min-interval", required_argument, NULL, 'm' },
		{ "doctor-window", required_argument, NULL, 'W' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "basic-auth-file", required_argument, NULL, 'A' },
		{ "textfile", required_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' },
		{ "from-recording", required_argument, NULL, 'r' },
		{ "openmetrics", required_argument, NULL, 'o' },
		{ "step", required_argument, NULL, 's' },
		{ "hooks", required_argument, NULL, 'H' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct exporter x = { .lock = PTHREAD_MUTEX_INITIALIZER, .min_interval_s = 1.0,
			      .po = { .per_vcpu = true } };
	struct collect_opts co = { .hooks = HOOK_AUTO };
	const char *listen_addr = DEFAULT_LISTEN, *textfile = NULL, *recording = NULL, *om_out = NULL;
	const char *cert_path = NULL, *key_path = NULL, *auth_path = NULL;
	char *cert = NULL, *key = NULL;
	double interval_s = 15, step_s = 1, window_s = 300;
	struct MHD_Daemon *d = NULL;
	int opt, rc, listen_fd = -1, sig;
	char err[512];
	sigset_t mask;

	while ((opt = getopt_long(argc, argv, "l:H:vh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'l': listen_addr = optarg; break;
		case 'P': x.po.per_vcpu = false; break;
		case 'm': if (parse_secs("--min-interval", optarg, 0, &x.min_interval_s)) return EXIT_USAGE; break;
		case 'W': if (parse_secs("--doctor-window", optarg, 1, &window_s)) return EXIT_USAGE; break;
		case 'C': cert_path = optarg; break;
		case 'K': key_path = optarg; break;
		case 'A': auth_path = optarg; break;
		case 't': textfile = optarg; break;
		case 'i': if (parse_secs("--interval", optarg, 0.1, &interval_s)) return EXIT_USAGE; break;
		case 'r': recording = optarg; break;
		case 'o': om_out = optarg; break;
		case 's': if (parse_secs("--step", optarg, 0.001, &step_s)) return EXIT_USAGE; break;
		case 'H': if (cli_hooks("dirtytop exporter", optarg, &co.hooks)) return EXIT_USAGE; break;
		case 'v': co.verbose = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dirtytop exporter: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (!!recording != !!om_out) {
		fprintf(stderr, "dirtytop exporter: --from-recording and --openmetrics go together\n");
		return EXIT_USAGE;
	}
	if (recording)
		return from_recording(recording, om_out, step_s, x.po.per_vcpu, window_s);
	if (!!cert_path != !!key_path) {
		fprintf(stderr, "dirtytop exporter: --tls-cert and --tls-key go together\n");
		return EXIT_USAGE;
	}
	if (cert_path && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		fprintf(stderr, "dirtytop exporter: this libmicrohttpd has no TLS: front the exporter with a TLS proxy\n");
		return EXIT_USAGE;
	}
	if (cert_path && (!(cert = read_file(cert_path, 1 << 20)) || !(key = read_file(key_path, 1 << 20)))) {
		fprintf(stderr, "dirtytop exporter: %s: %s\n", cert ? key_path : cert_path, strerror(errno));
		free(cert);
		return EXIT_USAGE;
	}
	if (auth_path) {
		char *line = read_file(auth_path, 4096), *colon;

		if (line)
			line[strcspn(line, "\r\n")] = '\0';
		if (!line || !(colon = strchr(line, ':')) || colon == line) {
			fprintf(stderr, "dirtytop exporter: %s: %s\n", auth_path,
				line ? "want one line USER:PASSWORD" : strerror(errno));
			free(line);
			free(cert);
			free(key);
			return EXIT_USAGE;
		}
		*colon = '\0';
		x.auth_user = line;
		x.auth_pass = colon + 1;
	}

	/* MHD's thread inherits the mask: only this thread takes the signals */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	/*
	 * The address and the HTTP server first: a port in use, or a certificate
	 * or key that TLS cannot use, is said before any BPF is loaded. Scrapes
	 * that arrive meanwhile wait on the lock.
	 */
	pthread_mutex_lock(&x.lock);
	if (!textfile) {
		if ((rc = listen_on(listen_addr, &listen_fd)))
			goto out_unlock;
		if ((rc = start_http(&x, &d, listen_fd, cert, key, cert_path, key_path, listen_addr)))
			goto out_unlock;
		listen_fd = -1;		/* MHD's now */
	}
	rc = collector_open(&x.col, &co, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "dirtytop exporter: %s\n", err);
		goto out_unlock;
	}
	model_init(&x.model);
	dw_init(&x.dw, window_s);
	collector_snapshot(x.col, &x.snap);	/* the baseline */
	model_update(&x.model, &x.snap, procinfo_lookup, NULL, NULL, NULL);
	dw_update(&x.dw, &x.model, x.snap.ts_ns);
	x.last_collect_ns = mono_ns();
	pthread_mutex_unlock(&x.lock);

	if (textfile) {
		for (;;) {
			struct timespec ts = { (time_t)interval_s, (long)((interval_s - (time_t)interval_s) * 1e9) };
			struct prom_buf text;

			sig = sigtimedwait(&mask, NULL, &ts);
			if (sig == SIGINT || sig == SIGTERM)
				break;
			scrape(&x, &text);
			if (write_atomically(textfile, &text))
				fprintf(stderr, "dirtytop exporter: %s: %s\n", textfile, strerror(errno));
			prom_buf_free(&text);
		}
		rc = EXIT_OK;
		goto out;
	}

	fprintf(stderr, "dirtytop exporter: serving http%s://%s/metrics\n", cert ? "s" : "", listen_addr);
	do
		sig = sigwaitinfo(&mask, NULL);
	while (sig != SIGINT && sig != SIGTERM);
	rc = EXIT_OK;
	goto out;
out_unlock:
	pthread_mutex_unlock(&x.lock);
out:
	if (d)
		MHD_stop_daemon(d);
	if (listen_fd >= 0)
		close(listen_fd);
	if (x.cached)
		MHD_destroy_response(x.cached);
	if (x.col) {
		collector_close(x.col);
		snapshot_free(&x.snap);
		prom_writer_free(&x.writer);
		model_free(&x.model);
		dw_free(&x.dw);
	}
	free(x.auth_user);
	free(cert);
	free(key);
	return rc;
}
