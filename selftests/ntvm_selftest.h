/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the ntvm guest programs (tests, demo, benchmark). */
#ifndef NTVM_SELFTEST_H
#define NTVM_SELFTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ntvm.h>

#define KB(x) ((SIZE_T)(x) << 10)
#define MB(x) ((SIZE_T)(x) << 20)

/* Live address spaces and allocations, from debugfs; -1 if unreadable. */
static inline long ntvm_counter(const char *name)
{
	FILE *f = fopen("/sys/kernel/debug/ntvm/counters", "r");
	char key[64];
	long val, ret = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &val) == 2)
		if (!strcmp(key, name))
			ret = val;
	fclose(f);
	return ret;
}

/*
 * Without a usable /dev/ntvm (no module, no permission, another ABI) a
 * program skips as a whole, the kselftest way: "1..0 # SKIP why" and exit
 * status 4 (KSFT_SKIP), before any test runs.
 */
__attribute__((constructor)) static void ntvm_skip_without_device(void)
{
	if (ntvm_availability() == NTVM_AVAILABLE)
		return;
	printf("TAP version 13\n1..0 # SKIP ntvm is not usable here (%s): %s\n",
	       ntvm_availability_string(ntvm_availability()), ntvm_diagnostic());
	fflush(stdout);
	exit(4);
}

/*
 * How many times slower than a Debian kernel this one is: make
 * check-debug boots its KASAN/lockdep kernel with ntvm_test_scale=N on the
 * command line, and the tests that size their work for a Debian kernel
 * divide it by N (1 elsewhere).
 */
static inline unsigned int ntvm_test_scale(void)
{
	static unsigned int scale;
	char buf[4096], *p;
	FILE *f;

	if (scale)
		return scale;
	scale = 1;
	f = fopen("/proc/cmdline", "r");
	if (f) {
		if (fgets(buf, sizeof(buf), f) &&
		    (p = strstr(buf, "ntvm_test_scale=")) && atoi(p + 16) > 0)
			scale = atoi(p + 16);
		fclose(f);
	}
	return scale;
}

#endif
