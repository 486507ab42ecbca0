// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target: the input is a whole recording file. The build defines
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, so checksums do not stop the
 * fuzzer at the door; every length, count and record is still checked.
 */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the last byte picks the outputs; the file is the rest */
	unsigned flags = size ? data[size - 1] : 0;

	fuzz_report(data, size ? size - 1 : 0, flags);
	return 0;
}
