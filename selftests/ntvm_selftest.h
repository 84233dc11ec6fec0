/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the ntvm guest programs (tests, demo, benchmark). */
#ifndef NTVM_SELFTEST_H
#define NTVM_SELFTEST_H

#include <stdio.h>
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

#endif
