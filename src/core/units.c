// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/units.h"

char *fmt_count(char *buf, size_t len, double v)
{
	static const char suffix[] = { 0, 'K', 'M', 'G', 'T' };
	int i = 0;

	while (v >= 999.5 && i < 4) {
		v /= 1000.0;
		i++;
	}
	if (!i)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, v < 9.95 ? "%.1f%c" : "%.0f%c", v, suffix[i]);
	return buf;
}

char *fmt_rate(char *buf, size_t len, double per_s)
{
	char n[16];

	snprintf(buf, len, "%s/s", fmt_count(n, sizeof(n), per_s));
	return buf;
}

char *fmt_mib_s(char *buf, size_t len, double mib_s)
{
	if (mib_s >= 1024)
		snprintf(buf, len, "%.1fGiB/s", mib_s / 1024);
	else if (mib_s >= 9.95)
		snprintf(buf, len, "%.0fMiB/s", mib_s);
	else
		snprintf(buf, len, "%.1fMiB/s", mib_s);
	return buf;
}

char *fmt_usecs(char *buf, size_t len, double us)
{
	if (us < 1000)
		snprintf(buf, len, "%.0fus", us);
	else if (us < 1e6)
		snprintf(buf, len, us < 9950 ? "%.1fms" : "%.0fms", us / 1000);
	else
		snprintf(buf, len, "%.2fs", us / 1e6);
	return buf;
}

char *fmt_percent(char *buf, size_t len, double pct)
{
	snprintf(buf, len, pct > 0 && pct < 9.95 ? "%.1f%%" : "%.0f%%", pct);
	return buf;
}

int parse_rate(const char *s, double *bytes_s)
{
	char *end;
	double v = strtod(s, &end), mul = 1;

	if (end == s || !isfinite(v) || v <= 0)
		return -1;
	if (!strncasecmp(end, "mbit", 4)) {
		*bytes_s = v * 1e6 / 8;
		return end[4] && strcmp(end + 4, "/s") ? -1 : 0;
	}
	switch (*end) {
	case 'k': case 'K': mul = 1024; end++; break;
	case 'm': case 'M': mul = 1024.0 * 1024; end++; break;
	case 'g': case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
	}
	if (*end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (!strcmp(end, "/s"))
		end += 2;
	if (*end)
		return -1;
	*bytes_s = v * mul;
	return 0;
}
