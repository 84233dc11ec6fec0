// SPDX-License-Identifier: GPL-2.0
/*
 * Write-watch tests (kselftest harness): every scenario of spec §5
 * (MEM_WRITE_WATCH, GetWriteWatch, ResetWriteWatch) and scenarios 21-23 of
 * §9 of shared/spec/nt-vm-semantics.md, with exact results and Win32
 * errors; independence of watched allocations; concurrent writers against
 * resets.
 *
 * Results are compared as strings of page numbers relative to an origin,
 * e.g. "1 2 4", so that a failure shows both lists.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ntvm_selftest.h"

#define PG 0x1000UL

/*
 * GetWriteWatch(flags, addr, size) with room for cap results: the pages
 * found as numbers relative to origin ("1 2 4", "" for none), or
 * "error N" (GetLastError) / "granularity N" / "count N > cap".
 */
static const char *watch(DWORD flags, void *addr, SIZE_T size, ULONG_PTR cap,
			 void *origin)
{
	static char out[8192];
	PVOID *res = calloc(cap ? cap : 1, sizeof(*res));
	ULONG_PTR count = cap, i;
	ULONG gran = 0;
	size_t len = 0;
	long page;

	out[0] = 0;
	if (!res)
		return "out of memory";
	SetLastError(0);
	if (GetWriteWatch(flags, addr, size, res, &count, &gran)) {
		snprintf(out, sizeof(out), "error %u", GetLastError());
	} else if (gran != PG) {
		snprintf(out, sizeof(out), "granularity %u", gran);
	} else if (count > cap) {
		snprintf(out, sizeof(out), "count %lu > cap", (unsigned long)count);
	} else {
		for (i = 0; i < count && len < sizeof(out) - 32; i++) {
			page = ((long)U(res[i]) - (long)U(origin)) / (long)PG;
			if (U(res[i]) % PG)
				len += snprintf(out + len, sizeof(out) - len,
						"%s?%p", i ? " " : "", res[i]);
			else
				len += snprintf(out + len, sizeof(out) - len,
						"%s%ld", i ? " " : "", page);
		}
	}
	free(res);
	return out;
}

/* A watched RW allocation of n pages, committed. */
static char *watched(SIZE_T pages)
{
	return VirtualAlloc(NULL, pages * PG,
			    MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
			    PAGE_READWRITE);
}

static void poke(char *p)
{
	*(volatile char *)p = 1;
}

static char peek(char *p)
{
	return *(volatile char *)p;
}

static const char *mode_name(int mode)
{
	switch (mode) {
	case NTVM_WRITE_WATCH_UFFD:
		return "userfaultfd WP_ASYNC + PAGEMAP_SCAN";
	case NTVM_WRITE_WATCH_MODULE:
		return "module soft-dirty scan (NTVM_IOC_WW_SCAN)";
	default:
		return "none";
	}
}

/* Does the module offer NTVM_IOC_WW_SCAN (kernels before 6.3)? */
static int have_ww_scan(void)
{
	struct ntvm_api api = { .size = sizeof(api), .api = NTVM_API };

	if (ioctl(ntvm_fd(), NTVM_IOC_API, &api))
		return 0;
	return !!(api.ioctls & NTVM_IOC_BIT(NTVM_IOC_WW_SCAN));
}

FIXTURE(ww) {
	int mode;
};

FIXTURE_SETUP(ww)
{
	if (access("/dev/ntvm", F_OK))
		SKIP(return, "/dev/ntvm is not present");
	ASSERT_LE(0, ntvm_fd());
	self->mode = ntvm_write_watch_mode();
	ASSERT_NE(NTVM_WRITE_WATCH_NONE, self->mode);
}

FIXTURE_TEARDOWN(ww)
{
}

/*
 * The mechanism in use.  Kernels with UFFD_FEATURE_WP_ASYNC and
 * PAGEMAP_SCAN (6.7 on) must use them, older ones the module's scan
 * (which it offers before 6.3), unless told otherwise.  Kernels from 6.3
 * to 6.6 have neither (the fixture then skips nothing: it fails, as they
 * are not supported).
 */
TEST_F(ww, mechanism)
{
	const char *force = getenv("NTVM_WRITE_WATCH");
	struct utsname u;
	int major = 0, minor = 0;

	ASSERT_EQ(0, uname(&u));
	sscanf(u.release, "%d.%d", &major, &minor);
	TH_LOG("kernel %s, uid %d: write watch by %s", u.release, getuid(),
	       mode_name(self->mode));
	EXPECT_EQ(major < 6 || (major == 6 && minor < 3), have_ww_scan());
	if (force && !strcmp(force, "module")) {
		EXPECT_EQ(NTVM_WRITE_WATCH_MODULE, self->mode);
	} else if (major > 6 || (major == 6 && minor >= 7)) {
		EXPECT_EQ(NTVM_WRITE_WATCH_UFFD, self->mode);
	} else {
		EXPECT_EQ(NTVM_WRITE_WATCH_MODULE, self->mode);
	}
}

/* spec 5.1-5.6, scenario 21 */
TEST_F(ww, lifecycle)
{
	char *base = watched(16);
	MEMORY_BASIC_INFORMATION m;
	PVOID res[4] = { 0 };
	ULONG_PTR count = 4;
	ULONG gran = 0;

	ASSERT_NE(NULL, base);
	/* 5.1: an ordinary RW private region, nothing written. */
	ASSERT_EQ(sizeof(m), VirtualQuery(base, &m, sizeof(m)));
	EXPECT_EQ(U(base), U(m.BaseAddress));
	EXPECT_EQ(U(base), U(m.AllocationBase));
	EXPECT_EQ(PAGE_READWRITE, m.AllocationProtect);
	EXPECT_EQ(16 * PG, m.RegionSize);
	EXPECT_EQ(MEM_COMMIT, m.State);
	EXPECT_EQ(PAGE_READWRITE, m.Protect);
	EXPECT_EQ(MEM_PRIVATE, m.Type);
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));

	/* 5.2: the written page, and the NT outputs. */
	poke(base + PG);
	EXPECT_EQ(STATUS_SUCCESS, NtGetWriteWatch(CUR, 0, base, 16 * PG, res,
						  &count, &gran));
	EXPECT_EQ(1, count);
	EXPECT_EQ(U(base) + PG, U(res[0]));
	EXPECT_EQ(PG, gran);
	EXPECT_EQ(NULL, res[1]);

	/* 5.3: the state stays without RESET, and goes with it. */
	EXPECT_STREQ("1", watch(0, base, 16 * PG, 64, base));
	EXPECT_STREQ("1", watch(WRITE_WATCH_FLAG_RESET, base, 16 * PG, 64, base));
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));

	poke(base + 2 * PG);
	poke(base + 4 * PG + 100);
	EXPECT_STREQ("2 4", watch(0, base, 16 * PG, 64, base));
	/* 5.4: a sub-range, [p3, p5). */
	EXPECT_STREQ("4", watch(0, base + 3 * PG, 2 * PG, 64, base));
	EXPECT_STREQ("", watch(0, base + 3 * PG, PG, 64, base));
	/* An unaligned sub-range covers the pages it touches. */
	EXPECT_STREQ("2", watch(0, base + 2 * PG + 5, 10, 64, base));
	/* 5.5: ResetWriteWatch of pages 0-2 only. */
	EXPECT_EQ(0, ResetWriteWatch(base, 3 * PG));
	EXPECT_STREQ("4", watch(0, base, 16 * PG, 64, base));
	/* 5.6: an unaligned dword across pages 1 and 2 marks both. */
	*(volatile uint32_t *)(base + 2 * PG - 2) = 0x12345678;
	EXPECT_STREQ("1 2 4", watch(0, base, 16 * PG, 64, base));
	/* 5.3: a RESET that returns fewer resets only up to the last one. */
	EXPECT_STREQ("1", watch(WRITE_WATCH_FLAG_RESET, base, 16 * PG, 1, base));
	EXPECT_STREQ("2 4", watch(0, base, 16 * PG, 64, base));
	EXPECT_STREQ("2", watch(WRITE_WATCH_FLAG_RESET, base, 16 * PG, 1, base));
	EXPECT_STREQ("4", watch(0, base, 16 * PG, 64, base));
	/* The count fills the array exactly; the last page is reachable. */
	poke(base + 15 * PG + PG - 1);
	EXPECT_STREQ("4 15", watch(0, base, 16 * PG, 2, base));
	EXPECT_STREQ("4 15", watch(WRITE_WATCH_FLAG_RESET, base, 16 * PG, 2, base));
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));
	/* Nothing written, whatever the data. */
	EXPECT_EQ(1, peek(base + PG));
	EXPECT_EQ(0x12345678, *(uint32_t *)(base + 2 * PG - 2));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
}

/* Reading a page, even one never touched, is not a write. */
TEST_F(ww, reads_are_not_writes)
{
	char *base = watched(16);
	unsigned int i, sum = 0;

	ASSERT_NE(NULL, base);
	for (i = 0; i < 16; i++)
		sum += peek(base + i * PG + 7);
	EXPECT_EQ(0, sum);
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));
	poke(base + 3 * PG);
	EXPECT_STREQ("3", watch(WRITE_WATCH_FLAG_RESET, base, 16 * PG, 64, base));
	/* A page read after its reset is still clean. */
	EXPECT_EQ(1, peek(base + 3 * PG));
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));
	/* Writing the same value is a write. */
	poke(base + 3 * PG);
	EXPECT_STREQ("3", watch(0, base, 16 * PG, 64, base));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
}

/*
 * A mapping in the watched range that lost its userfaultfd registration
 * (here mapped over a reservation behind ntvm's back; a failed commit's
 * restored reservation does the same): a reset scan stops there.  The
 * pages it reported and reset before it still count.  They were dropped,
 * and the scan made again over the registered range did not see them any
 * more: the write was lost.
 */
TEST_F(ww, reset_across_unregistered_mapping)
{
	char *base = VirtualAlloc(NULL, 16 * PG, MEM_RESERVE | MEM_WRITE_WATCH,
				  PAGE_READWRITE);

	ASSERT_NE(NULL, base);
	ASSERT_EQ(base, VirtualAlloc(base, 8 * PG, MEM_COMMIT, PAGE_READWRITE));
	poke(base + PG + 1);
	ASSERT_EQ(base + 8 * PG, mmap(base + 8 * PG, 8 * PG, PROT_NONE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
				      MAP_NORESERVE, -1, 0));
	EXPECT_STREQ("1", watch(WRITE_WATCH_FLAG_RESET, base, 16 * PG, 64, base));
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));
	poke(base + 2 * PG);
	EXPECT_STREQ("2", watch(0, base, 16 * PG, 64, base));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
}

/* spec 5.7: protection changes do not touch the watch state. */
TEST_F(ww, protect_keeps_state)
{
	char *base = watched(16);
	DWORD old;

	ASSERT_NE(NULL, base);
	poke(base + PG);
	poke(base + 3 * PG);
	EXPECT_TRUE(VirtualProtect(base, 16 * PG, PAGE_READONLY, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_STREQ("1 3", watch(0, base, 16 * PG, 64, base));
	EXPECT_TRUE(VirtualProtect(base, 16 * PG, PAGE_READWRITE, &old));
	EXPECT_EQ(PAGE_READONLY, old);
	EXPECT_STREQ("1 3", watch(0, base, 16 * PG, 64, base));
	EXPECT_TRUE(VirtualProtect(base + PG, PG, PAGE_NOACCESS, &old));
	EXPECT_STREQ("1 3", watch(WRITE_WATCH_FLAG_RESET, base, 16 * PG, 64, base));
	EXPECT_TRUE(VirtualProtect(base + PG, PG, PAGE_EXECUTE_READWRITE, &old));
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));
	poke(base + PG);
	EXPECT_STREQ("1", watch(0, base, 16 * PG, 64, base));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
}

/* spec 5.9: the initial protection does not matter. */
TEST_F(ww, initial_protection)
{
	char *base = VirtualAlloc(NULL, 16 * PG, MEM_RESERVE | MEM_WRITE_WATCH,
				  PAGE_NOACCESS);
	DWORD old;

	ASSERT_NE(NULL, base);
	/* A reservation can be watched: nothing is committed. */
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));
	ASSERT_EQ(base, VirtualAlloc(base, 16 * PG, MEM_COMMIT, PAGE_NOACCESS));
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));
	EXPECT_TRUE(VirtualProtect(base, 16 * PG, PAGE_READWRITE, &old));
	EXPECT_EQ(PAGE_NOACCESS, old);
	poke(base + 5 * PG);
	EXPECT_STREQ("5", watch(0, base, 16 * PG, 64, base));
	/* Committing part of a reservation later. */
	char *r = VirtualAlloc(NULL, 32 * PG, MEM_RESERVE | MEM_WRITE_WATCH,
			       PAGE_READWRITE);

	ASSERT_NE(NULL, r);
	ASSERT_EQ(r + 8 * PG, VirtualAlloc(r + 8 * PG, 4 * PG, MEM_COMMIT,
					   PAGE_READWRITE));
	poke(r + 9 * PG);
	ASSERT_EQ(r + 20 * PG, VirtualAlloc(r + 20 * PG, 2 * PG, MEM_COMMIT,
					    PAGE_READWRITE));
	poke(r + 21 * PG);
	EXPECT_STREQ("9 21", watch(0, r, 32 * PG, 64, r));
	EXPECT_STREQ("5", watch(0, base, 16 * PG, 64, base));
	EXPECT_TRUE(VirtualFree(r, 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
}

/*
 * spec 5.10: decommitted pages are not reported, and a recommit starts
 * clean, except for the "latched" quirk: a page written before a
 * VirtualProtect and then decommitted is still reported, until a reset.
 */
TEST_F(ww, decommit)
{
	char *base = watched(16);
	DWORD old;

	ASSERT_NE(NULL, base);
	poke(base + PG);
	poke(base + 2 * PG);
	poke(base + 4 * PG);
	EXPECT_TRUE(VirtualFree(base + 2 * PG, PG, MEM_DECOMMIT));
	EXPECT_STREQ("1 4", watch(0, base, 16 * PG, 64, base));
	/* Recommitting over committed pages keeps their state. */
	ASSERT_EQ(base, VirtualAlloc(base, 16 * PG, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_STREQ("1 4", watch(0, base, 16 * PG, 64, base));
	EXPECT_EQ(0, peek(base + 2 * PG));
	EXPECT_STREQ("1 4", watch(0, base, 16 * PG, 64, base));
	/* The quirk's sequence: protect, then decommit everything. */
	EXPECT_TRUE(VirtualProtect(base, 16 * PG, PAGE_READONLY, &old));
	EXPECT_TRUE(VirtualFree(base, 16 * PG, MEM_DECOMMIT));
	EXPECT_STREQ("1 4", watch(0, base, 16 * PG, 64, base));
	ASSERT_EQ(base, VirtualAlloc(base, 16 * PG, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_STREQ("1 4", watch(0, base, 16 * PG, 64, base));
	poke(base + 3 * PG);
	EXPECT_STREQ("1 3 4", watch(0, base, 16 * PG, 64, base));
	/* A reset ends the latch. */
	EXPECT_STREQ("1 3 4", watch(WRITE_WATCH_FLAG_RESET, base, 16 * PG, 64, base));
	poke(base + 3 * PG);
	/* Decommit by size 0 (the whole allocation). */
	EXPECT_TRUE(VirtualFree(base, 0, MEM_DECOMMIT));
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));
	ASSERT_EQ(base + 6 * PG, VirtualAlloc(base + 6 * PG, PG, MEM_COMMIT,
					      PAGE_READWRITE));
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));
	poke(base + 6 * PG);
	EXPECT_STREQ("6", watch(0, base, 16 * PG, 64, base));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
}

/* spec 5.11: 2048 pages, every second one written, half made READONLY. */
TEST_F(ww, large_range)
{
	const SIZE_T n = 2048;
	char *base = watched(n);
	PVOID *res = calloc(2 * n, sizeof(*res));
	ULONG_PTR count, i;
	ULONG gran;
	DWORD old;
	int pass;

	ASSERT_NE(NULL, base);
	ASSERT_NE(NULL, res);
	for (i = 0; i < n; i += 2)
		poke(base + i * PG);
	EXPECT_TRUE(VirtualProtect(base, n / 2 * PG, PAGE_READONLY, &old));
	for (pass = 0; pass < 2; pass++) {
		count = 2 * n;
		memset(res, 0, 2 * n * sizeof(*res));
		EXPECT_EQ(0, GetWriteWatch(pass ? WRITE_WATCH_FLAG_RESET : 0,
					   base, n * PG, res, &count, &gran));
		EXPECT_EQ(n / 2, count);
		EXPECT_EQ(PG, gran);
		for (i = 0; i < n / 2 && i < count; i++)
			if (U(res[i]) != U(base) + 2 * i * PG)
				break;
		EXPECT_EQ(n / 2, i) {
			TH_LOG("pass %d: result %lu is %p", pass,
			       (unsigned long)i, res[i]);
		}
	}
	count = 2 * n;
	EXPECT_EQ(0, GetWriteWatch(0, base, n * PG, res, &count, &gran));
	EXPECT_EQ(0, count);
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
	free(res);
}

/* spec 5.13, scenario 22: parameter errors, Win32 and NT. */
TEST_F(ww, parameters)
{
	char *base = watched(16), *plain;
	static char image_data[64];
	PVOID res[64];
	ULONG_PTR count;
	ULONG gran;

	ASSERT_NE(NULL, base);
	plain = VirtualAlloc(NULL, 16 * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
	ASSERT_NE(NULL, plain);
	poke(base + PG);

#define EXPECT_WIN32_FAIL(err, call) do {				\
	SetLastError(0xdead);						\
	EXPECT_EQ((UINT)-1, (call));					\
	EXPECT_EQ((DWORD)(err), GetLastError());			\
} while (0)

	/* count 0 is checked before the NULL array. */
	count = 0;
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER,
			  GetWriteWatch(0, base, 16 * PG, res, &count, &gran));
	count = 0;
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER,
			  GetWriteWatch(0, base, 16 * PG, NULL, &count, &gran));
	count = 64;
	EXPECT_WIN32_FAIL(ERROR_NOACCESS,
			  GetWriteWatch(0, base, 16 * PG, NULL, &count, &gran));
	EXPECT_EQ(64, count);
	EXPECT_WIN32_FAIL(ERROR_NOACCESS,
			  GetWriteWatch(0, base, 16 * PG, res, NULL, &gran));
	EXPECT_WIN32_FAIL(ERROR_NOACCESS,
			  GetWriteWatch(0, base, 16 * PG, res, &count, NULL));
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER,
			  GetWriteWatch(0xdeadbeef, base, 16 * PG, res, &count, &gran));
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER,
			  GetWriteWatch(2, base, 16 * PG, res, &count, &gran));
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER,
			  GetWriteWatch(0, base, 0, res, &count, &gran));
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER,
			  GetWriteWatch(0, base, 32 * PG, res, &count, &gran));
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER,
			  GetWriteWatch(0, base + 15 * PG, PG + 1, res, &count, &gran));
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER,
			  GetWriteWatch(0, base - PG, 2 * PG, res, &count, &gran));
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER,
			  GetWriteWatch(0, NULL, 16 * PG, res, &count, &gran));
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER,
			  GetWriteWatch(0, plain, 16 * PG, res, &count, &gran));
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER,
			  GetWriteWatch(0, image_data, sizeof(image_data), res,
					&count, &gran));
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER,
			  GetWriteWatch(0, (void *)&watch, PG, res, &count, &gran));
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER,
			  GetWriteWatch(WRITE_WATCH_FLAG_RESET, plain, PG, res,
					&count, &gran));
	EXPECT_EQ(64, count);

	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER, ResetWriteWatch(base, 0));
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER, ResetWriteWatch(image_data, 1));
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER, ResetWriteWatch(plain, PG));
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER, ResetWriteWatch(NULL, PG));
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER, ResetWriteWatch(base, 17 * PG));

	/* MEM_WRITE_WATCH needs MEM_RESERVE (scenario 22). */
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   VirtualAlloc(NULL, PG, MEM_WRITE_WATCH, PAGE_READWRITE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   VirtualAlloc(base, PG, MEM_COMMIT | MEM_WRITE_WATCH,
					PAGE_READWRITE));

	/* The NT statuses behind them. */
	count = 64;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtGetWriteWatch(CUR, 0, base, 16 * PG, NULL, &count, &gran));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtGetWriteWatch(CUR, 0, base, 16 * PG, res, NULL, &gran));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtGetWriteWatch(CUR, 0, base, 16 * PG, res, &count, NULL));
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtGetWriteWatch(CUR, 0xdeadbeef, base, 16 * PG, res, &count, &gran));
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtGetWriteWatch(CUR, 0, plain, PG, res, &count, &gran));
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtGetWriteWatch(CUR, 0, NULL, PG, res, &count, &gran));
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtGetWriteWatch(NULL, 0, base, 16 * PG, res, &count, &gran));
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtResetWriteWatch(CUR, base, 0));
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtResetWriteWatch(CUR, plain, PG));
	EXPECT_EQ(STATUS_INVALID_HANDLE, NtResetWriteWatch(NULL, base, PG));
	EXPECT_EQ(64, count);

	/* No failed call reset anything. */
	EXPECT_STREQ("1", watch(0, base, 16 * PG, 64, base));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
	/* Released: not a write-watch allocation any more. */
	EXPECT_STREQ("error 87", watch(0, base, 16 * PG, 64, base));
	EXPECT_WIN32_FAIL(ERROR_INVALID_PARAMETER, ResetWriteWatch(base, PG));
	EXPECT_TRUE(VirtualFree(plain, 0, MEM_RELEASE));
}

/*
 * Wild and read-only variables and arrays (NT probes them: spec 1.3.4,
 * 5.13): STATUS_ACCESS_VIOLATION where a NULL one gives it, in that
 * order, with nothing written and nothing reset.
 */
TEST_F(ww, bad_pointers)
{
	const SIZE_T w = sizeof(PVOID);
	char *base = watched(16), *two = rw_then_ro_pages(), *at;
	PVOID *room2, *ro = (PVOID *)(two + PG), res[4];
	ULONG_PTR count;
	ULONG gran = 77;

	ASSERT_NE(NULL, base);
	ASSERT_NE(NULL, two);
	memset(two, 0xa5, PG);
	poke(base + PG);
	poke(base + 3 * PG);
	/* Room for two entries, then the read-only page. */
	room2 = (PVOID *)(two + PG - 2 * w);

	/* The count and the granularity, before the count's value. */
	count = 64;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtGetWriteWatch(CUR, WRITE_WATCH_FLAG_RESET, base, 16 * PG, res,
				  (ULONG_PTR *)P(8), &gran));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtGetWriteWatch(CUR, WRITE_WATCH_FLAG_RESET, base, 16 * PG, res,
				  (ULONG_PTR *)ro, &gran));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtGetWriteWatch(CUR, WRITE_WATCH_FLAG_RESET, base, 16 * PG, res,
				  &count, (ULONG *)ro));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtGetWriteWatch(CUR, 0xdeadbeef, NULL, 0, res, &count, (ULONG *)P(8)));
	/* The array: after the count, the size and the flags... */
	count = 0;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtGetWriteWatch(CUR, 0, base, 16 * PG, (PVOID *)P(8), &count, &gran));
	count = 3;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtGetWriteWatch(CUR, 0xdeadbeef, base, 16 * PG, ro, &count, &gran));
	/* ...before the range: wild, read-only, or too short for the count. */
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtGetWriteWatch(CUR, 0, NULL, PG, (PVOID *)P(8), &count, &gran));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtGetWriteWatch(CUR, WRITE_WATCH_FLAG_RESET, base, 16 * PG, ro,
				  &count, &gran));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtGetWriteWatch(CUR, WRITE_WATCH_FLAG_RESET, base, 16 * PG, room2,
				  &count, &gran));
	count = (ULONG_PTR)-1;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtGetWriteWatch(CUR, WRITE_WATCH_FLAG_RESET, base, 16 * PG, res,
				  &count, &gran));
	SetLastError(0);
	count = 3;
	EXPECT_EQ((UINT)-1, GetWriteWatch(WRITE_WATCH_FLAG_RESET, base, 16 * PG, room2,
					  &count, &gran));
	EXPECT_EQ(ERROR_NOACCESS, GetLastError());
	EXPECT_EQ(3, count);
	EXPECT_EQ(77, gran);
	for (at = two; at < two + PG; at++)
		ASSERT_EQ(0xa5, *(unsigned char *)at);

	/* Nothing was reset; an array that fits its count is filled. */
	count = 2;
	EXPECT_EQ(STATUS_SUCCESS,
		  NtGetWriteWatch(CUR, WRITE_WATCH_FLAG_RESET, base, 16 * PG, room2,
				  &count, &gran));
	EXPECT_EQ(2, count);
	EXPECT_EQ(PG, gran);
	EXPECT_EQ(base + PG, room2[0]);
	EXPECT_EQ(base + 3 * PG, room2[1]);
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
	munmap(two, 2 * PG);
}

/*
 * spec 5.8, scenario 23 adapted: writes by the kernel (read(2) from a pipe
 * or a file) count, on pages never touched and on pages reset since, and
 * never fail with EFAULT.  Linux sees only the pages really written, where
 * Windows marks the whole buffer (README).
 */
TEST_F(ww, kernel_writes)
{
	char *base = watched(16), *src;
	const size_t len = 2 * PG + 3;
	int fds[2], fd;
	char path[] = "/tmp/ntvm_wwXXXXXX";

	ASSERT_NE(NULL, base);
	src = malloc(16 * PG);
	ASSERT_NE(NULL, src);
	memset(src, 0x5a, 16 * PG);

	/* A pipe holding 2 pages + 3 bytes, read into 16 untouched pages. */
	ASSERT_EQ(0, pipe(fds));
	ASSERT_EQ(len, write(fds[1], src, len));
	close(fds[1]);
	EXPECT_EQ(len, read(fds[0], base, 16 * PG));
	EXPECT_EQ(0x5a, base[len - 1]);
	EXPECT_EQ(0, base[len]);
	EXPECT_STREQ("0 1 2", watch(WRITE_WATCH_FLAG_RESET, base, 16 * PG, 64, base));
	/* A zero-byte read (end of file) marks nothing. */
	EXPECT_EQ(0, read(fds[0], base, 16 * PG));
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));
	close(fds[0]);
	/* A read with a bad descriptor marks nothing. */
	EXPECT_EQ(-1, read(-1, base, 16 * PG));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, read(fds[0], base, 16 * PG));
	EXPECT_EQ(EBADF, errno);
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));

	/* Into pages written and reset since (write-protected now). */
	ASSERT_EQ(0, pipe(fds));
	ASSERT_EQ(len, write(fds[1], src, len));
	EXPECT_EQ(len, read(fds[0], base + PG, 16 * PG - PG));
	EXPECT_STREQ("1 2 3", watch(0, base, 16 * PG, 64, base));
	close(fds[0]);
	close(fds[1]);

	/* A file, read at an offset into the middle of the buffer. */
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	unlink(path);
	ASSERT_EQ(16 * PG, write(fd, src, 16 * PG));
	EXPECT_EQ(0, ResetWriteWatch(base, 16 * PG));
	EXPECT_EQ(len, pread(fd, base + 8 * PG + 100, len, 0));
	EXPECT_STREQ("8 9 10", watch(0, base, 16 * PG, 64, base));
	/* readv into two pieces. */
	struct iovec iov[2] = {
		{ .iov_base = base + 12 * PG + PG - 1, .iov_len = 2 },
		{ .iov_base = base + 15 * PG, .iov_len = 1 },
	};

	EXPECT_EQ(3, preadv(fd, iov, 2, 0));
	EXPECT_STREQ("8 9 10 12 13 15", watch(0, base, 16 * PG, 64, base));
	close(fd);
	free(src);
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
}

static volatile int guard_events;
static char *guard_write_page;

static void on_guard(const NTVM_GUARD_EXCEPTION *e, void *context)
{
	char *addr = (char *)e->ExceptionInformation[1];

	__atomic_add_fetch(&guard_events, 1, __ATOMIC_SEQ_CST);
	/* The handler's own write counts (spec 5.12). */
	if ((char *)(U(addr) & ~(PG - 1)) == guard_write_page)
		*(volatile char *)addr = 9;
}

/* spec 5.12: guard pages in watched memory. */
TEST_F(ww, guard_pages)
{
	char *base = watched(16);
	DWORD old;

	ASSERT_NE(NULL, base);
	ASSERT_EQ(0, ntvm_install_guard_handler(on_guard, NULL));
	EXPECT_TRUE(VirtualProtect(base, 3 * PG, PAGE_READWRITE | PAGE_GUARD, &old));
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));
	/* A write to an armed guard page: the exception, then the write. */
	guard_events = 0;
	poke(base + 10);
	EXPECT_EQ(1, guard_events);
	EXPECT_STREQ("0", watch(0, base, 16 * PG, 64, base));
	/* A guarded read whose handler writes marks the page. */
	guard_write_page = base + PG;
	EXPECT_EQ(9, peek(base + PG + 20));
	EXPECT_EQ(2, guard_events);
	EXPECT_STREQ("0 1", watch(0, base, 16 * PG, 64, base));
	/* A guarded read alone does not. */
	guard_write_page = NULL;
	EXPECT_EQ(0, peek(base + 2 * PG));
	EXPECT_EQ(3, guard_events);
	EXPECT_STREQ("0 1", watch(0, base, 16 * PG, 64, base));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
}

/*
 * Watched allocations are independent: resetting, committing or
 * decommitting in one keeps the other's written pages.  The two are
 * adjacent, so that their mappings could merge.
 */
TEST_F(ww, independent_allocations)
{
	char *probe = VirtualAlloc(NULL, 0x20000, MEM_RESERVE, PAGE_NOACCESS);
	char *a, *b;

	ASSERT_NE(NULL, probe);
	ASSERT_TRUE(VirtualFree(probe, 0, MEM_RELEASE));
	a = VirtualAlloc(probe, 16 * PG, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
			 PAGE_READWRITE);
	ASSERT_EQ(probe, a);
	b = VirtualAlloc(probe + 16 * PG, 16 * PG,
			 MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
	ASSERT_EQ(probe + 16 * PG, b);
	poke(a + PG);
	poke(a + 3 * PG);
	poke(b + 2 * PG);
	poke(b + 5 * PG);
	EXPECT_STREQ("1 3", watch(WRITE_WATCH_FLAG_RESET, a, 16 * PG, 64, a));
	EXPECT_STREQ("2 5", watch(0, b, 16 * PG, 64, b));
	EXPECT_STREQ("", watch(0, a, 16 * PG, 64, a));
	poke(a + 4 * PG);
	EXPECT_EQ(0, ResetWriteWatch(b, 16 * PG));
	EXPECT_STREQ("", watch(0, b, 16 * PG, 64, b));
	EXPECT_STREQ("4", watch(0, a, 16 * PG, 64, a));
	/* Commit and decommit in a keep b's pages, and a's own. */
	poke(b + 7 * PG);
	EXPECT_TRUE(VirtualFree(a + 10 * PG, 2 * PG, MEM_DECOMMIT));
	EXPECT_STREQ("7", watch(0, b, 16 * PG, 64, b));
	EXPECT_STREQ("4", watch(0, a, 16 * PG, 64, a));
	ASSERT_EQ(a + 10 * PG, VirtualAlloc(a + 10 * PG, 2 * PG, MEM_COMMIT,
					    PAGE_READWRITE));
	EXPECT_STREQ("7", watch(0, b, 16 * PG, 64, b));
	EXPECT_STREQ("4", watch(0, a, 16 * PG, 64, a));
	poke(a + 11 * PG);
	EXPECT_STREQ("4 11", watch(0, a, 16 * PG, 64, a));
	/* A third, unwatched allocation's life keeps them too. */
	char *c = VirtualAlloc(NULL, 64 * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);

	ASSERT_NE(NULL, c);
	memset(c, 1, 64 * PG);
	EXPECT_TRUE(VirtualFree(c, 0, MEM_RELEASE));
	EXPECT_STREQ("7", watch(0, b, 16 * PG, 64, b));
	EXPECT_STREQ("4 11", watch(WRITE_WATCH_FLAG_RESET, a, 16 * PG, 64, a));
	EXPECT_STREQ("7", watch(0, b, 16 * PG, 64, b));
	/* A range across both is not inside one allocation. */
	EXPECT_STREQ("error 87", watch(0, a, 32 * PG, 64, a));
	EXPECT_TRUE(VirtualFree(a, 0, MEM_RELEASE));
	EXPECT_STREQ("7", watch(0, b, 16 * PG, 64, b));
	EXPECT_TRUE(VirtualFree(b, 0, MEM_RELEASE));
}

/* A partial release leaves watched allocations with their pages. */
TEST_F(ww, partial_release)
{
	char *base = watched(16);
	PVOID p;
	SIZE_T size;

	ASSERT_NE(NULL, base);
	poke(base + PG);
	poke(base + 10 * PG);
	poke(base + 14 * PG);
	poke(base + 15 * PG);
	p = base + 5 * PG;
	size = PG;
	ASSERT_EQ(STATUS_SUCCESS, NtFreeVirtualMemory(CUR, &p, &size, MEM_RELEASE));
	EXPECT_STREQ("1", watch(0, base, 5 * PG, 64, base));
	EXPECT_STREQ("10 14 15", watch(0, base + 6 * PG, 10 * PG, 64, base));
	EXPECT_STREQ("error 87", watch(0, base, 16 * PG, 64, base));
	/* The head of the tail, then its last page. */
	p = base + 6 * PG;
	size = 2 * PG;
	ASSERT_EQ(STATUS_SUCCESS, NtFreeVirtualMemory(CUR, &p, &size, MEM_RELEASE));
	p = base + 15 * PG;
	size = PG;
	ASSERT_EQ(STATUS_SUCCESS, NtFreeVirtualMemory(CUR, &p, &size, MEM_RELEASE));
	EXPECT_STREQ("10 14", watch(0, base + 8 * PG, 7 * PG, 64, base));
	poke(base + 8 * PG);
	EXPECT_STREQ("8 10 14", watch(WRITE_WATCH_FLAG_RESET, base + 8 * PG,
				      7 * PG, 64, base));
	EXPECT_STREQ("1", watch(0, base, 5 * PG, 64, base));
	EXPECT_TRUE(VirtualFree(base + 8 * PG, 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
}

/*
 * The latch (spec 5.10) is kept by address: a partial release drops only
 * the latched pages it releases, whatever pieces the allocation is split
 * into, and an allocation made there later starts with none.
 */
TEST_F(ww, latch_partial_release)
{
	char *base = watched(16), *again;
	DWORD old;
	PVOID p;
	SIZE_T size;

	ASSERT_NE(NULL, base);
	poke(base + PG);
	poke(base + 5 * PG);
	poke(base + 6 * PG);
	poke(base + 12 * PG);
	EXPECT_TRUE(VirtualProtect(base, 16 * PG, PAGE_READONLY, &old));
	EXPECT_TRUE(VirtualFree(base, 16 * PG, MEM_DECOMMIT));
	EXPECT_STREQ("1 5 6 12", watch(0, base, 16 * PG, 64, base));
	/* Pages 4 to 7 go: a head [0, 4) and a tail [8, 16) remain. */
	p = base + 4 * PG;
	size = 4 * PG;
	ASSERT_EQ(STATUS_SUCCESS, NtFreeVirtualMemory(CUR, &p, &size, MEM_RELEASE));
	EXPECT_STREQ("1", watch(0, base, 4 * PG, 64, base));
	EXPECT_STREQ("12", watch(0, base + 8 * PG, 8 * PG, 64, base));
	/* The tail's head goes too: its latched page stays. */
	p = base + 8 * PG;
	size = 2 * PG;
	ASSERT_EQ(STATUS_SUCCESS, NtFreeVirtualMemory(CUR, &p, &size, MEM_RELEASE));
	EXPECT_STREQ("12", watch(0, base + 10 * PG, 6 * PG, 64, base));
	EXPECT_STREQ("1", watch(WRITE_WATCH_FLAG_RESET, base, 4 * PG, 64, base));
	EXPECT_STREQ("", watch(0, base, 4 * PG, 64, base));
	EXPECT_STREQ("12", watch(0, base + 10 * PG, 6 * PG, 64, base));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(base + 10 * PG, 0, MEM_RELEASE));
	/* A new allocation at the same place: nothing latched. */
	again = VirtualAlloc(base, 16 * PG,
			     MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
			     PAGE_READWRITE);
	if (again) {
		EXPECT_STREQ("", watch(0, again, 16 * PG, 64, again));
		EXPECT_TRUE(VirtualFree(again, 0, MEM_RELEASE));
	}
}

/*
 * A reset that returns fewer pages than are latched and written: the
 * written pages it reset but could not return are reported by the next
 * call, none lost, and latched pages not returned stay latched.
 */
TEST_F(ww, latch_reset_in_parts)
{
	char *base = watched(16);
	DWORD old;

	ASSERT_NE(NULL, base);
	poke(base + PG);
	poke(base + 9 * PG);
	EXPECT_TRUE(VirtualProtect(base, 16 * PG, PAGE_READONLY, &old));
	EXPECT_TRUE(VirtualFree(base, 16 * PG, MEM_DECOMMIT));
	ASSERT_EQ(base, VirtualAlloc(base, 16 * PG, MEM_COMMIT, PAGE_READWRITE));
	poke(base + 3 * PG);
	poke(base + 4 * PG);
	poke(base + 11 * PG);
	EXPECT_STREQ("1 3 4 9 11", watch(0, base, 16 * PG, 64, base));
	EXPECT_STREQ("1 3", watch(WRITE_WATCH_FLAG_RESET, base, 16 * PG, 2, base));
	EXPECT_STREQ("4 9 11", watch(0, base, 16 * PG, 64, base));
	EXPECT_STREQ("4", watch(WRITE_WATCH_FLAG_RESET, base, 16 * PG, 1, base));
	EXPECT_STREQ("9 11", watch(0, base, 16 * PG, 64, base));
	poke(base + 3 * PG);
	EXPECT_STREQ("3 9 11", watch(0, base, 16 * PG, 64, base));
	ASSERT_EQ(0, ResetWriteWatch(base + 8 * PG, 8 * PG));
	EXPECT_STREQ("3", watch(0, base, 16 * PG, 64, base));
	EXPECT_STREQ("3", watch(WRITE_WATCH_FLAG_RESET, base, 16 * PG, 64, base));
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
}

/* A forked child neither sees nor disturbs the parent's watch. */
TEST_F(ww, fork)
{
	char *base = watched(16);
	int status;
	pid_t pid;

	ASSERT_NE(NULL, base);
	poke(base + PG);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		PVOID res[4];
		ULONG_PTR count = 4;
		ULONG gran;

		poke(base + 2 * PG);
		/* The child has no NT allocations of its own. */
		if (GetWriteWatch(0, base, 16 * PG, res, &count, &gran) != (UINT)-1 ||
		    GetLastError() != ERROR_INVALID_PARAMETER)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	poke(base + 3 * PG);
	EXPECT_STREQ("1 3", watch(WRITE_WATCH_FLAG_RESET, base, 16 * PG, 64, base));
	poke(base + PG);
	EXPECT_STREQ("1", watch(0, base, 16 * PG, 64, base));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
}

/*
 * Two threads write every page of a watched allocation once (but every
 * eighth) while a third calls GetWriteWatch with RESET in a loop: every
 * written page must be reported, none lost to a reset that raced with its
 * write, and no other page.  A page may be reported twice: a write fault
 * makes the page writable before the store is done, a reset can come in
 * between, and the store then marks the page again.
 */
#define RACE_PAGES 8192

struct race {
	char *base;
	int writer;
	volatile int *done;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;
	unsigned int i, spin;

	for (i = r->writer; i < RACE_PAGES; i += 2) {
		if (i % 8 == 7)
			continue;	/* never written */
		poke(r->base + (size_t)i * PG + 64 * r->writer);
		for (spin = 0; spin < 200; spin++)
			__asm__ volatile("" ::: "memory");
	}
	__atomic_add_fetch(r->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

struct race_result {
	unsigned long calls, lost, twice, stray;
};

/* One round of writers against RESET calls; seen[] counts reports. */
static int race_round(char *base, unsigned char *seen, struct race_result *res)
{
	volatile int done = 0;
	struct race r[2];
	pthread_t t[2];
	PVOID out[64];
	ULONG_PTR count, i;
	ULONG gran;
	int idle = 0, finished;

	memset(res, 0, sizeof(*res));
	memset(seen, 0, RACE_PAGES);
	for (i = 0; i < 2; i++) {
		r[i] = (struct race){ .base = base, .writer = i, .done = &done };
		if (pthread_create(&t[i], NULL, race_writer, &r[i]))
			return -1;
	}
	/* After both writers finish, until two calls find nothing. */
	while (idle < 2) {
		finished = __atomic_load_n(&done, __ATOMIC_SEQ_CST) == 2;
		count = ARRAY_SIZE(out);
		if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, base, RACE_PAGES * PG,
				  out, &count, &gran))
			return -1;
		res->calls++;
		for (i = 0; i < count; i++) {
			uintptr_t page = (U(out[i]) - U(base)) / PG;

			if (page >= RACE_PAGES || U(out[i]) % PG || page % 8 == 7)
				res->stray++;
			else if (seen[page]++)
				res->twice++;
		}
		if (finished && !count)
			idle++;
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < RACE_PAGES; i++)
		res->lost += !seen[i] && i % 8 != 7;
	return 0;
}

TEST_F_TIMEOUT(ww, concurrent_reset, 1800)
{
	char *base = watched(RACE_PAGES);
	unsigned char *seen = calloc(RACE_PAGES, 1);
	struct race_result first, again;
	volatile int done = 0;
	struct race r[2];
	pthread_t t[2];
	PVOID out[64];
	ULONG_PTR count, i;
	ULONG gran;

	ASSERT_NE(NULL, base);
	ASSERT_NE(NULL, seen);
	/* First writes to pages never touched, then writes to reset pages. */
	ASSERT_EQ(0, race_round(base, seen, &first));
	ASSERT_EQ(0, race_round(base, seen, &again));
	TH_LOG("%s: first writes: %lu calls, %lu lost, %lu reported twice; "
	       "writes to reset pages: %lu calls, %lu lost, %lu reported twice",
	       mode_name(self->mode), first.calls, first.lost, first.twice,
	       again.calls, again.lost, again.twice);
	EXPECT_EQ(0, first.stray);
	EXPECT_EQ(0, again.stray);
	EXPECT_EQ(0, first.lost);
	EXPECT_EQ(0, again.lost);

	/* Without RESET every write is seen, whatever the mechanism. */
	for (i = 0; i < 2; i++) {
		r[i] = (struct race){ .base = base, .writer = i, .done = &done };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, race_writer, &r[i]));
	}
	while (__atomic_load_n(&done, __ATOMIC_SEQ_CST) < 2) {
		count = ARRAY_SIZE(out);
		ASSERT_EQ(0, GetWriteWatch(0, base, RACE_PAGES * PG, out, &count,
					   &gran));
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	count = 0;
	for (i = 0; i < RACE_PAGES; i += 64) {
		ULONG_PTR n = ARRAY_SIZE(out);

		ASSERT_EQ(0, GetWriteWatch(0, base + i * PG, 64 * PG, out, &n, &gran));
		count += n;
	}
	EXPECT_EQ(RACE_PAGES / 8 * 7, count);
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
	free(seen);
}

/*
 * Reset while the page tables change under it: a commit next to written
 * pages makes the kernel flag the merged mapping soft-dirty as a whole,
 * under which mprotect() could make a clean page writable without a
 * fault.  After READONLY and back, reset pages must still be clean and
 * their next write seen.
 */
TEST_F(ww, protect_after_reset)
{
	char *r = VirtualAlloc(NULL, 32 * PG, MEM_RESERVE | MEM_WRITE_WATCH,
			       PAGE_READWRITE);
	DWORD old;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(r, VirtualAlloc(r, 8 * PG, MEM_COMMIT, PAGE_READWRITE));
	poke(r + PG);
	poke(r + 2 * PG);
	EXPECT_STREQ("1 2", watch(WRITE_WATCH_FLAG_RESET, r, 32 * PG, 64, r));
	ASSERT_EQ(r + 8 * PG, VirtualAlloc(r + 8 * PG, 8 * PG, MEM_COMMIT,
					   PAGE_READWRITE));
	EXPECT_TRUE(VirtualProtect(r, 16 * PG, PAGE_READONLY, &old));
	EXPECT_TRUE(VirtualProtect(r, 16 * PG, PAGE_READWRITE, &old));
	EXPECT_STREQ("", watch(0, r, 32 * PG, 64, r));
	poke(r + PG);
	EXPECT_STREQ("1", watch(0, r, 32 * PG, 64, r));
	poke(r + 9 * PG);
	EXPECT_STREQ("1 9", watch(WRITE_WATCH_FLAG_RESET, r, 32 * PG, 64, r));
	/* The same after a decommit next to them. */
	EXPECT_TRUE(VirtualFree(r + 12 * PG, 4 * PG, MEM_DECOMMIT));
	EXPECT_TRUE(VirtualProtect(r, 12 * PG, PAGE_NOACCESS, &old));
	EXPECT_TRUE(VirtualProtect(r, 12 * PG, PAGE_READWRITE, &old));
	EXPECT_STREQ("", watch(0, r, 32 * PG, 64, r));
	poke(r + 9 * PG);
	EXPECT_STREQ("9", watch(0, r, 32 * PG, 64, r));
	EXPECT_TRUE(VirtualFree(r, 0, MEM_RELEASE));
}

/*
 * No write lost to a reset, on a deterministic criterion.  Writers store
 * sequence numbers into their own pages, new ones first, then pages that
 * were written and reset, while the main thread loops GetWriteWatch with
 * RESET and records, for each page, the last call that reported it.  A
 * writer notes how many calls had completed before its store (k) and
 * after it (k2); once call k2 + 2 has completed (it started after the
 * store), some call after k must have reported the page.  A page is
 * written again only after that check, so an older write cannot answer
 * for a newer one.  The soft-dirty + clear_refs fallback is known to fail
 * this (a store between its read and its clear is lost): there the losses
 * are only counted, and the test skips.
 */
#define LR_PAGES	256
#define LR_WRITERS	2
#define LR_SECONDS	3

struct lossless {
	char *base;
	unsigned long completed;		/* calls recorded */
	unsigned long last_report[LR_PAGES];	/* call that last reported */
	int stop, writers_done;
	unsigned long writes, lost, stray;
	long first_lost;
};

struct lr_writer {
	struct lossless *l;
	int id;
};

static void *lr_writer(void *arg)
{
	struct lr_writer *me = arg;
	struct lossless *l = me->l;
	unsigned long k[LR_PAGES], target[LR_PAGES], seq = 0, c, writes = 0;
	unsigned char pending[LR_PAGES] = { 0 };
	int p, busy, stopping;

	for (;;) {
		stopping = __atomic_load_n(&l->stop, __ATOMIC_ACQUIRE);
		busy = 0;
		for (p = me->id; p < LR_PAGES; p += LR_WRITERS) {
			c = __atomic_load_n(&l->completed, __ATOMIC_ACQUIRE);
			if (pending[p]) {
				if (c < target[p])
					continue;
				if (__atomic_load_n(&l->last_report[p],
						    __ATOMIC_RELAXED) <= k[p]) {
					if (!__atomic_fetch_add(&l->lost, 1,
								__ATOMIC_SEQ_CST))
						l->first_lost = p;
				}
				pending[p] = 0;
				busy = 1;
				continue;
			}
			if (stopping)
				continue;
			k[p] = c;
			*(volatile unsigned long *)(l->base + (size_t)p * PG +
						    8 * me->id) = ++seq;
			target[p] = __atomic_load_n(&l->completed,
						    __ATOMIC_ACQUIRE) + 2;
			pending[p] = 1;
			writes++;
			busy = 1;
		}
		if (stopping) {
			for (p = me->id; p < LR_PAGES && !pending[p];
			     p += LR_WRITERS)
				;
			if (p >= LR_PAGES)
				break;
		}
		if (!busy)
			sched_yield();
	}
	__atomic_add_fetch(&l->writes, writes, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&l->writers_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

TEST_F_TIMEOUT(ww, lossless_reset, 1800)
{
	struct lossless *l = calloc(1, sizeof(*l));
	struct lr_writer w[LR_WRITERS];
	pthread_t t[LR_WRITERS];
	PVOID out[LR_PAGES];
	ULONG_PTR count, i;
	ULONG gran;
	time_t deadline = time(NULL) + LR_SECONDS;
	unsigned long j = 0, page;
	int n;

	ASSERT_NE(NULL, l);
	l->base = watched(LR_PAGES);
	ASSERT_NE(NULL, l->base);
	for (n = 0; n < LR_WRITERS; n++) {
		w[n] = (struct lr_writer){ .l = l, .id = n };
		ASSERT_EQ(0, pthread_create(&t[n], NULL, lr_writer, &w[n]));
	}
	while (__atomic_load_n(&l->writers_done, __ATOMIC_SEQ_CST) < LR_WRITERS) {
		if (time(NULL) >= deadline)
			__atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
		count = LR_PAGES;
		ASSERT_EQ(0, GetWriteWatch(WRITE_WATCH_FLAG_RESET, l->base,
					   LR_PAGES * PG, out, &count, &gran));
		j++;
		for (i = 0; i < count; i++) {
			page = (U(out[i]) - U(l->base)) / PG;
			if (page >= LR_PAGES || U(out[i]) % PG)
				l->stray++;
			else
				__atomic_store_n(&l->last_report[page], j,
						 __ATOMIC_RELAXED);
		}
		__atomic_store_n(&l->completed, j, __ATOMIC_RELEASE);
	}
	for (n = 0; n < LR_WRITERS; n++)
		pthread_join(t[n], NULL);
	TH_LOG("%s: %lu writes, %lu resets, %lu writes lost",
	       mode_name(self->mode), l->writes, j, l->lost);
	EXPECT_EQ(0, l->stray);
	EXPECT_LE(100, l->writes);
	EXPECT_TRUE(VirtualFree(l->base, 0, MEM_RELEASE));
	EXPECT_EQ(0, l->lost) {
		TH_LOG("first lost write on page %ld", l->first_lost);
	}
	free(l);
}

/* ---- NTVM_IOC_WW_SCAN itself (kernels before 6.3) ---- */

static int ww_scan(struct ntvm_ww_scan_args *a)
{
	return ioctl(ntvm_fd(), NTVM_IOC_WW_SCAN, a) ? -errno : 0;
}

/* Bit numbers of a scan's bitmap as "1 5", for the pages it examined. */
static const char *bits(const uint64_t *map, const struct ntvm_ww_scan_args *a)
{
	static char out[1024];
	size_t i, len = 0;

	out[0] = 0;
	for (i = 0; i < a->scanned / PG && len < sizeof(out) - 16; i++)
		if ((map[i / 64] >> (i % 64)) & 1)
			len += snprintf(out + len, sizeof(out) - len, "%s%zu",
					len ? " " : "", i);
	return out;
}

TEST_F(ww, scan_abi)
{
	char *base = watched(16), *big = watched(128), *plain, *ro, *edge;
	uint64_t map[4];
	struct ntvm_ww_scan_args a, good;

	if (!have_ww_scan()) {
		struct ntvm_ww_scan_args none = { .size = sizeof(none) };

		EXPECT_EQ(-ENOTTY, ww_scan(&none));
		SKIP(return, "the module has no NTVM_IOC_WW_SCAN on this kernel");
	}
	if (self->mode != NTVM_WRITE_WATCH_MODULE)
		SKIP(return, "its resets would confuse this run's mechanism");
	ASSERT_NE(NULL, base);
	ASSERT_NE(NULL, big);
	plain = VirtualAlloc(NULL, 16 * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
	ASSERT_NE(NULL, plain);
	ro = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	edge = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, edge);
	ASSERT_EQ(0, mprotect(edge + PG, PG, PROT_READ));
	poke(base + PG);
	poke(base + 5 * PG);
	poke(big + PG);
	poke(big + 70 * PG);
	good = (struct ntvm_ww_scan_args){
		.size = sizeof(a), .base = U(base), .length = 16 * PG, .bitmap = U(map),
		.max_count = 100,
	};

	/* Malformed: -EINVAL, nothing written back. */
#define EXPECT_SCAN_ERR(err, field, value) do {				\
	a = good;							\
	a.field = value;						\
	EXPECT_EQ(err, ww_scan(&a));					\
	EXPECT_EQ(0, a.status);						\
} while (0)
	EXPECT_SCAN_ERR(-EINVAL, pad, 1);
	EXPECT_SCAN_ERR(-EINVAL, size, 8);
	EXPECT_SCAN_ERR(-EINVAL, flags, 2);
	EXPECT_SCAN_ERR(-EINVAL, flags, 0x80000000u | NTVM_WW_RESET);
	EXPECT_SCAN_ERR(-EINVAL, count, 1);
	EXPECT_SCAN_ERR(-EINVAL, scanned, PG);
	EXPECT_SCAN_ERR(-EINVAL, base, U(base) + 8);
	EXPECT_SCAN_ERR(-EINVAL, length, 16 * PG - 1);
	EXPECT_SCAN_ERR(-EINVAL, length, 1);
	a = good;
	a.status = 1;
	EXPECT_EQ(-EINVAL, ww_scan(&a));
	EXPECT_EQ(-EFAULT, ioctl(ntvm_fd(), NTVM_IOC_WW_SCAN, (void *)8) ? -errno : 0);

	/* Not inside one write-watch allocation: the NT status, exactly. */
#define EXPECT_SCAN_STATUS(st, b, sz) do {				\
	a = good;							\
	a.base = (b);							\
	a.length = (sz);							\
	EXPECT_EQ(0, ww_scan(&a));					\
	EXPECT_EQ((st), a.status);					\
	EXPECT_EQ(0, a.count);						\
	EXPECT_EQ(0, a.scanned);					\
} while (0)
	EXPECT_SCAN_STATUS(STATUS_INVALID_PARAMETER, U(base), 0);
	EXPECT_SCAN_STATUS(STATUS_INVALID_PARAMETER, U(base), 17 * PG);
	EXPECT_SCAN_STATUS(STATUS_INVALID_PARAMETER, U(base) - PG, 2 * PG);
	EXPECT_SCAN_STATUS(STATUS_INVALID_PARAMETER, U(base) + 15 * PG, 2 * PG);
	EXPECT_SCAN_STATUS(STATUS_INVALID_PARAMETER, 0, 16 * PG);
	EXPECT_SCAN_STATUS(STATUS_INVALID_PARAMETER, U(plain), 16 * PG);
	EXPECT_SCAN_STATUS(STATUS_INVALID_PARAMETER, U(base), -PG);
	EXPECT_SCAN_STATUS(STATUS_INVALID_PARAMETER, U(base) + PG, -PG);
	EXPECT_SCAN_STATUS(STATUS_INVALID_PARAMETER, -PG, 2 * PG);
	EXPECT_SCAN_STATUS(STATUS_INVALID_PARAMETER, 1ULL << 47, PG);

	/* A bitmap that cannot be written: -EFAULT, and nothing reset. */
	a = good;
	a.flags = NTVM_WW_RESET;
	a.bitmap = U(ro);
	EXPECT_EQ(-EFAULT, ww_scan(&a));
	a.bitmap = 8;
	EXPECT_EQ(-EFAULT, ww_scan(&a));
	EXPECT_STREQ("1 5", watch(0, base, 16 * PG, 64, base));
	/* Room for one word before a read-only page: 64 pages, not 128. */
	a = (struct ntvm_ww_scan_args){
		.size = sizeof(a), .base = U(big), .length = 128 * PG, .bitmap = U(edge) + PG - 8,
		.max_count = 100, .flags = NTVM_WW_RESET,
	};
	EXPECT_EQ(-EFAULT, ww_scan(&a));
	EXPECT_STREQ("1 70", watch(0, big, 128 * PG, 64, big));
	a.length = 64 * PG;
	EXPECT_EQ(0, ww_scan(&a));
	EXPECT_EQ(STATUS_SUCCESS, a.status);
	EXPECT_EQ(1, a.count);
	EXPECT_EQ(64 * PG, a.scanned);
	EXPECT_EQ(1ULL << 1, *(uint64_t *)(edge + PG - 8));
	EXPECT_STREQ("70", watch(0, big, 128 * PG, 64, big));

	/* A good scan: exact bits and counts, the state kept. */
	memset(map, 0xff, sizeof(map));
	a = good;
	EXPECT_EQ(0, ww_scan(&a));
	EXPECT_EQ(STATUS_SUCCESS, a.status);
	EXPECT_EQ(2, a.count);
	EXPECT_EQ(16 * PG, a.scanned);
	EXPECT_EQ((1ULL << 1) | (1ULL << 5), map[0]);
	EXPECT_EQ(~0ULL, map[1]);	/* beyond the pages examined */
	EXPECT_STREQ("1 5", watch(0, base, 16 * PG, 64, base));
	/* A sub-range: bit 0 is its first page. */
	a = good;
	a.base = U(base) + 4 * PG;
	a.length = 4 * PG;
	EXPECT_EQ(0, ww_scan(&a));
	EXPECT_EQ(1, a.count);
	EXPECT_EQ(4 * PG, a.scanned);
	EXPECT_STREQ("1", bits(map, &a));
	/* max_count 0: nothing examined, no bitmap needed. */
	a = good;
	a.max_count = 0;
	a.bitmap = 0;
	a.flags = NTVM_WW_RESET;
	EXPECT_EQ(0, ww_scan(&a));
	EXPECT_EQ(STATUS_SUCCESS, a.status);
	EXPECT_EQ(0, a.count);
	EXPECT_EQ(0, a.scanned);
	EXPECT_STREQ("1 5", watch(0, base, 16 * PG, 64, base));
	/* Reset: reported, then clean. */
	a = good;
	a.flags = NTVM_WW_RESET;
	EXPECT_EQ(0, ww_scan(&a));
	EXPECT_EQ(2, a.count);
	EXPECT_STREQ("1 5", bits(map, &a));
	EXPECT_STREQ("", watch(0, base, 16 * PG, 64, base));

	munmap(ro, PG);
	munmap(edge, 2 * PG);
	EXPECT_TRUE(VirtualFree(big, 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(plain, 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
}

/* The count limit: a reset stops at the last page it reports. */
TEST_F(ww, scan_limit)
{
	const SIZE_T n = NTVM_WW_SCAN_MAX_PAGES + 1024;
	char *base = watched(16), *big;
	uint64_t *map = calloc(NTVM_WW_SCAN_MAX_PAGES / 64, sizeof(*map));
	struct ntvm_ww_scan_args a;

	if (!have_ww_scan())
		SKIP(return, "the module has no NTVM_IOC_WW_SCAN on this kernel");
	if (self->mode != NTVM_WRITE_WATCH_MODULE)
		SKIP(return, "its resets would confuse this run's mechanism");
	ASSERT_NE(NULL, base);
	ASSERT_NE(NULL, map);
	poke(base + PG);
	poke(base + 3 * PG);
	poke(base + 5 * PG);
	poke(base + 7 * PG);
	a = (struct ntvm_ww_scan_args){
		.size = sizeof(a), .base = U(base), .length = 16 * PG, .bitmap = U(map),
		.max_count = 2, .flags = NTVM_WW_RESET,
	};
	EXPECT_EQ(0, ww_scan(&a));
	EXPECT_EQ(STATUS_SUCCESS, a.status);
	EXPECT_EQ(2, a.count);
	EXPECT_EQ(4 * PG, a.scanned);
	EXPECT_STREQ("1 3", bits(map, &a));
	EXPECT_STREQ("5 7", watch(0, base, 16 * PG, 64, base));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));

	/* One call examines NTVM_WW_SCAN_MAX_PAGES pages at most. */
	big = watched(n);
	ASSERT_NE(NULL, big);
	poke(big);
	poke(big + (n - 1) * PG);
	a = (struct ntvm_ww_scan_args){
		.size = sizeof(a), .base = U(big), .length = n * PG, .bitmap = U(map),
		.max_count = -1ULL, .flags = NTVM_WW_RESET,
	};
	EXPECT_EQ(0, ww_scan(&a));
	EXPECT_EQ(1, a.count);
	EXPECT_EQ(NTVM_WW_SCAN_MAX_PAGES * PG, a.scanned);
	EXPECT_STREQ("0", bits(map, &a));
	EXPECT_STREQ("33791", watch(0, big, n * PG, 64, big));
	poke(big + 2 * PG);
	EXPECT_STREQ("2 33791", watch(WRITE_WATCH_FLAG_RESET, big, n * PG, 64, big));
	EXPECT_STREQ("", watch(0, big, n * PG, 64, big));
	EXPECT_TRUE(VirtualFree(big, 0, MEM_RELEASE));
	free(map);
}

/*
 * Run this whole program again with the other mechanism the kernel has
 * (the module's scan, forced, on a kernel that also has userfaultfd's),
 * so that all of them are tested here; and with one it lacks, which
 * leaves write watch unsupported.
 */
static void run_forced(struct __test_metadata *_metadata, const char *mech)
{
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap), *line;
	int fds[2], status;
	ssize_t got;
	pid_t pid;

	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		setenv("NTVM_WRITE_WATCH", mech, 1);
		execl("/proc/self/exe", "ntvm_writewatch_test", NULL);
		_exit(127);
	}
	close(fds[1]);
	while ((got = read(fds[0], out + len, cap - 1 - len)) > 0) {
		len += got;
		if (len == cap - 1) {
			cap *= 2;
			out = realloc(out, cap);
			ASSERT_NE(NULL, out);
		}
	}
	out[len] = 0;
	close(fds[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		TH_LOG("the %s run failed:\n%s", mech, out);
	}
	/* Its findings: the mechanism, the races, the totals. */
	for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, ":mechanism:") || strstr(line, ":concurrent_reset:") ||
		    strstr(line, ":lossless_reset:") || strstr(line, "# Totals") ||
		    strstr(line, "# SKIP"))
			TH_LOG("%s run: %s", mech, line);
	free(out);
}

TEST_F_TIMEOUT(ww, other_mechanisms, 1800)
{
	if (getenv("NTVM_WRITE_WATCH"))
		SKIP(return, "this run tests a forced mechanism");
	if (self->mode == NTVM_WRITE_WATCH_MODULE || !have_ww_scan())
		SKIP(return, "no other mechanism to force here");
	run_forced(_metadata, "module");
}

/*
 * Without a mechanism (forced: the /proc soft-dirty fallback is gone, and
 * an unknown name forces none), a MEM_WRITE_WATCH allocation is still
 * made and checked, and reading or resetting it is STATUS_NOT_SUPPORTED.
 */
TEST(no_mechanism)
{
	int status;
	pid_t pid;

	if (access("/dev/ntvm", F_OK))
		SKIP(return, "/dev/ntvm is not present");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		PVOID res[4], p;
		ULONG_PTR count = 4;
		ULONG gran;
		SIZE_T size = 16 * PG;
		char *base;
		DWORD old;

		setenv("NTVM_WRITE_WATCH", "soft-dirty", 1);
		base = VirtualAlloc(NULL, 16 * PG, MEM_RESERVE | MEM_COMMIT |
				    MEM_WRITE_WATCH, PAGE_READWRITE);
		if (!base || ntvm_write_watch_mode() != NTVM_WRITE_WATCH_NONE)
			_exit(1);
		poke(base);
		if (!VirtualProtect(base, PG, PAGE_READONLY, &old))
			_exit(2);
		if (NtGetWriteWatch(CUR, 0, base, 16 * PG, res, &count, &gran) !=
		    STATUS_NOT_SUPPORTED || count != 4)
			_exit(3);
		if (NtResetWriteWatch(CUR, base, 16 * PG) != STATUS_NOT_SUPPORTED)
			_exit(4);
		/* The module's checks come first. */
		if (NtGetWriteWatch(CUR, 0, base, 17 * PG, res, &count, &gran) !=
		    STATUS_INVALID_PARAMETER)
			_exit(5);
		p = base;
		if (NtFreeVirtualMemory(CUR, &p, &size, MEM_RELEASE))
			_exit(6);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
