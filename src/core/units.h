/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Human units for the views: 1.2K/s, 3.4 MiB/s, 850us, 12.5ms. Pure C. */
#ifndef DT_SRC_UNITS_H
#define DT_SRC_UNITS_H

#include <stddef.h>

/* Each writes into buf (at least 16 bytes is enough) and returns it. */
char *fmt_count(char *buf, size_t len, double v);		/* 950, 1.2K, 3.4M, 5.6G */
char *fmt_rate(char *buf, size_t len, double per_s);		/* 1.2K/s */
char *fmt_mib_s(char *buf, size_t len, double mib_s);		/* 3.4M/s in MiB */
char *fmt_usecs(char *buf, size_t len, double us);		/* 850us, 12.5ms, 3.20s */
char *fmt_percent(char *buf, size_t len, double pct);		/* 42%, 0.5% */
/* A rate in bytes/s: N with K/M/G (KiB, MiB, GiB; "100M", "2GiB/s") or Nmbit (1e6 bits); 0, or -1. */
int parse_rate(const char *s, double *bytes_s);

#endif
