// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
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
