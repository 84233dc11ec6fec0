// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm conformance and robustness tests (kselftest harness).
 *
 * The scenarios are the [T] facts of shared/spec/nt-vm-semantics.md, cited
 * as "spec N.N".  Every failing call is followed by a check that the state
 * it could have touched is unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ntvm_selftest.h"

/* NT's highest user address for this process: 64-bit, or i386. */
#define MAXA ((uintptr_t)(sizeof(void *) == 8 ? 0x7ffffffeffffULL : 0xfffeffffUL))
/* An address above it, in the range of this process's pointers. */
#define ABOVE_MAXA ((uintptr_t)(sizeof(void *) == 8 ? 0x800000000000ULL : 0xffff8000UL))

FIXTURE(nt) {
	int unused;
};

FIXTURE_SETUP(nt)
{
	if (access("/dev/ntvm", F_OK))
		SKIP(return, "/dev/ntvm is not present");
	ASSERT_LE(0, ntvm_fd());
}

FIXTURE_TEARDOWN(nt)
{
}

/* A forked child's calls on the inherited fd are refused; it still runs. */
TEST_F(nt, fork_refused)
{
	PVOID base = NULL;
	/* libntvm drops its own descriptor in a child: keep one to probe. */
	int fd = dup(ntvm_fd()), status;
	pid_t pid;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_COMMIT, PAGE_READWRITE));
	memset(base, 0x5a, 0x10000);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct ntvm_api api = { .size = sizeof(api), .api = NTVM_API };
		PVOID fb = base;
		SIZE_T fs = 0;
		struct ntvm_free_args f = {
			.size = sizeof(f), .base_ptr = U(&fb), .size_ptr = U(&fs),
			.type = MEM_RELEASE,
		};

		if (ioctl(fd, NTVM_IOC_API, &api) != -1 || errno != EPERM)
			_exit(1);
		if (ioctl(fd, NTVM_IOC_FREE, &f) != -1 || errno != EPERM)
			_exit(2);
		if (((volatile char *)base)[100] != 0x5a)
			_exit(3);
		/* libntvm opens the child's own descriptor. */
		PVOID b2 = NULL;

		if (nt_alloc(&b2, 0x1000, MEM_COMMIT, PAGE_READWRITE))
			_exit(4);
		((char *)b2)[0] = 1;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* The parent's allocation is intact. */
	EXPECT_REGION(base, base, base, PAGE_READWRITE, 0x10000, MEM_COMMIT,
		      PAGE_READWRITE, MEM_PRIVATE);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	close(fd);
}

/* ---- NtAllocateVirtualMemory ---- */

/* spec 1.1.1, 1.1.2, scenario 1 */
TEST_F(nt, aligned_reserve_and_reuse)
{
	PVOID base = NULL, again;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x1000, MEM_RESERVE | MEM_COMMIT,
					   PAGE_READWRITE));
	EXPECT_EQ(0, U(base) % 0x10000);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	again = base;
	EXPECT_EQ(STATUS_SUCCESS, nt_alloc(&again, 0x1000, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(U(base), U(again));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(again, 0, MEM_RELEASE));
}

/* spec 1.1.4, scenario 3 */
TEST_F(nt, reserve_rounding_query)
{
	void *p = VirtualAlloc(NULL, 0xfffc, MEM_RESERVE, PAGE_NOACCESS);

	ASSERT_NE(NULL, p);
	EXPECT_REGION(p, p, p, PAGE_NOACCESS, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/* spec 1.1.3, 1.1.5, 1.7.1: commit without reserve, commit inside */
TEST_F(nt, commit_inside_reservation)
{
	PVOID base = NULL, c;
	char *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	c = base;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&c, 0x1000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(U(base), U(c));
	EXPECT_REGION(base, base, base, PAGE_NOACCESS, 0x1000, MEM_COMMIT,
		      PAGE_READWRITE, MEM_PRIVATE);
	EXPECT_REGION((char *)base + 0x1000, (char *)base + 0x1000, base,
		      PAGE_NOACCESS, 0xf000, MEM_RESERVE, 0, MEM_PRIVATE);
	p = base;
	EXPECT_EQ(0, p[0]);
	EXPECT_EQ(0, p[0xfff]);
	p[0] = 7;
	EXPECT_TRUE(faults(p + 0x1000, 0));

	/* MEM_COMMIT at NULL is reserve+commit (spec 1.1.3). */
	c = NULL;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&c, 0x3000, MEM_COMMIT, PAGE_EXECUTE_READ));
	EXPECT_REGION(c, c, c, PAGE_EXECUTE_READ, 0x3000, MEM_COMMIT,
		      PAGE_EXECUTE_READ, MEM_PRIVATE);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(c, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* spec 1.2.5, scenario 2 */
TEST_F(nt, conflict_within_granule)
{
	PVOID base = NULL, b2;
	SIZE_T size = 0x1000;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x1000, MEM_RESERVE | MEM_COMMIT,
					   PAGE_READWRITE));
	b2 = (char *)base + 0x1000;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_alloc(&b2, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READWRITE));
	EXPECT_EQ(U(base) + 0x1000, U(b2));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  NtAllocateVirtualMemory(CUR, &b2, 12, &size, MEM_RESERVE, PAGE_READWRITE));
	EXPECT_EQ(0x1000, size);
	EXPECT_REGION(base, base, base, PAGE_READWRITE, 0x1000, MEM_COMMIT,
		      PAGE_READWRITE, MEM_PRIVATE);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* spec 1.3.1, 1.4, 1.5, scenarios 4, 5, 7 */
TEST_F(nt, allocation_validation)
{
	struct ntvm_stats before = stats(), after;
	PVOID base = NULL;
	SIZE_T size = 0;

	EXPECT_EQ(STATUS_INVALID_PARAMETER_4,
		  NtAllocateVirtualMemory(CUR, &base, 0, &size, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   VirtualAlloc(NULL, 0, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION, nt_alloc(&base, 0x1000, MEM_RESERVE, 0));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION, nt_alloc(&base, 0x1000, MEM_COMMIT, 0));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
		  nt_alloc(&base, 0x1000, MEM_COMMIT, PAGE_READONLY | PAGE_EXECUTE));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION, nt_alloc(&base, 0x1000, MEM_COMMIT, PAGE_WRITECOPY));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
		  nt_alloc(&base, 0x1000, MEM_COMMIT, PAGE_EXECUTE_WRITECOPY));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
		  nt_alloc(&base, 0x1000, MEM_COMMIT, PAGE_NOACCESS | PAGE_GUARD));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
		  nt_alloc(&base, 0x1000, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD | PAGE_NOCACHE));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
		  nt_alloc(&base, 0x1000, MEM_COMMIT, PAGE_READWRITE | 0x800));
	/* MEM_RESET validates the protection it ignores (spec 1.5.5). */
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION, nt_alloc(&base, 0x1000, MEM_RESET, 0));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_5,
		  nt_alloc(&base, 0x1000, MEM_RESERVE | MEM_COMMIT | AT_ROUND_TO_PAGE,
			   PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_5, nt_alloc(&base, 0x1000, MEM_TOP_DOWN, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_5,
		  nt_alloc(&base, 0x1000, MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   VirtualAlloc(NULL, 0x1000, MEM_WRITE_WATCH, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_5,
		  nt_alloc(&base, 0x1000, MEM_RESET | MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_alloc(&base, 0x1000, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS));
	/* Granted large pages are ntvm_api_test's (issue 11). */
	if (geteuid())
		EXPECT_EQ(STATUS_PRIVILEGE_NOT_HELD,
			  nt_alloc(&base, 0x200000, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
				   PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_2,
		  (base = P(ABOVE_MAXA), nt_alloc(&base, 0x1000, MEM_RESERVE,
							 PAGE_NOACCESS)));
	base = P(MAXA + 1);
	EXPECT_EQ(STATUS_INVALID_PARAMETER_2, nt_alloc(&base, 0x1000, MEM_RESERVE, PAGE_NOACCESS));
	base = P(MAXA + 1 - 0x10000);
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4, nt_alloc(&base, 0x20000, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(MAXA + 1 - 0x10000, U(base));
	base = NULL;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtAllocateVirtualMemory(CUR, &base, 0, NULL, MEM_COMMIT, PAGE_READWRITE));
	size = 0x1000;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtAllocateVirtualMemory(CUR, NULL, 0, &size, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtAllocateVirtualMemory(NULL, &base, 0, &size, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtAllocateVirtualMemoryEx(NULL, &base, &size, MEM_COMMIT, PAGE_READWRITE,
					    NULL, 0));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   VirtualAlloc(NULL, 0x1000, MEM_RESERVE | MEM_COMMIT | AT_ROUND_TO_PAGE,
					PAGE_READWRITE));
	EXPECT_EQ(NULL, base);
	EXPECT_EQ(0x1000, size);
	after = stats();
	EXPECT_EQ(before.allocations, after.allocations);
	EXPECT_EQ(before.reserved_bytes, after.reserved_bytes);
	EXPECT_EQ(before.committed_bytes, after.committed_bytes);
}

/* spec 1.4.1: with MEM_RESERVE, the initial protection does not matter. */
TEST_F(nt, write_watch_reserve)
{
	PVOID base = NULL;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE | MEM_WRITE_WATCH,
					   PAGE_NOACCESS));
	EXPECT_REGION(base, base, base, PAGE_NOACCESS, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* spec 1.6, scenario 6 */
TEST_F(nt, zero_bits)
{
	ULONG_PTR zb;
	PVOID base;
	SIZE_T size;
	NTSTATUS st;

	for (zb = 1; zb <= 21; zb++) {
		base = NULL;
		size = 0x1000;
		st = NtAllocateVirtualMemory(CUR, &base, zb, &size,
					     MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN,
					     PAGE_READWRITE);
		if (zb >= 16) {
			EXPECT_EQ(STATUS_NO_MEMORY, st);
			EXPECT_EQ(NULL, base);
			continue;
		}
		ASSERT_EQ(STATUS_SUCCESS, st) TH_LOG("zero_bits %lu", (unsigned long)zb);
		EXPECT_EQ(0, U(base) >> (32 - zb));
		EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	}
	base = NULL;
	size = 0x1000;
	EXPECT_EQ(STATUS_INVALID_PARAMETER_3,
		  NtAllocateVirtualMemory(CUR, &base, 22, &size, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_3,
		  NtAllocateVirtualMemory(CUR, &base, 31, &size, MEM_COMMIT, PAGE_READWRITE));
	/* A mask: only its leading zeros count (spec 1.6.4); 32-bit
	 * processes have no mask form (spec 1.4.3).
	 */
	if (sizeof(void *) == 4) {
		EXPECT_EQ(STATUS_INVALID_PARAMETER_3,
			  NtAllocateVirtualMemory(CUR, &base, 0x1aaaaaaa, &size,
						  MEM_COMMIT | MEM_TOP_DOWN, PAGE_READWRITE));
		EXPECT_EQ(NULL, base);
		return;
	}
	ASSERT_EQ(STATUS_SUCCESS,
		  NtAllocateVirtualMemory(CUR, &base, 0x1aaaaaaa, &size,
					  MEM_COMMIT | MEM_TOP_DOWN, PAGE_READWRITE));
	EXPECT_GT(0x20000000, U(base));
	EXPECT_LE(0x1fff0000 - 0x100000, U(base)); /* top-down: near the limit */
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* spec 1.8: bottom-up by default, top-down on request. */
TEST_F(nt, placement)
{
	PVOID lo = NULL, hi = NULL;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&lo, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&hi, 0x10000, MEM_RESERVE | MEM_TOP_DOWN,
					   PAGE_NOACCESS));
	EXPECT_GT(U(hi), U(lo));
	EXPECT_LT((uint64_t)U(lo), 0x100000000ULL);
	/* The top of the user range: in an i386 process, its last quarter. */
	EXPECT_GT((uint64_t)U(hi), sizeof(void *) == 8 ? 0x7f0000000000ULL : 0xc0000000ULL);
	EXPECT_EQ(0, U(hi) % 0x10000);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(lo, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(hi, 0, MEM_RELEASE));
}

/* The lowest free 64K-aligned start of size bytes, by querying upwards. */
static uintptr_t lowest_fit(SIZE_T size)
{
	MEMORY_BASIC_INFORMATION m;
	uintptr_t a = 0x10000, c;

	while (VirtualQuery(P(a), &m, sizeof(m)) == sizeof(m)) {
		c = (U(m.BaseAddress) + 0xffff) & ~0xffffUL;
		if (m.State == MEM_FREE && c + size <= U(m.BaseAddress) + m.RegionSize)
			return c;
		a = U(m.BaseAddress) + m.RegionSize;
	}
	return 0;
}

/*
 * Default placement is the lowest fit (spec 1.6): a released hole is
 * reused, so is one unmapped behind ntvm's back, and a reservation too
 * big for the lowest hole goes to the lowest one it fits.
 */
TEST_F(nt, placement_lowest)
{
	PVOID a[4] = { 0 }, b[4] = { 0 };
	uintptr_t want;
	int i;

	for (i = 0; i < 4; i++) {
		want = lowest_fit(0x10000);
		ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&a[i], 0x10000, MEM_RESERVE,
						   PAGE_NOACCESS));
		EXPECT_EQ(want, U(a[i]));
	}
	ASSERT_EQ(STATUS_SUCCESS, nt_free(a[1], 0, MEM_RELEASE));
	want = lowest_fit(0x10000);
	EXPECT_GE(U(a[1]), want);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b[0], 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(want, U(b[0]));

	/* Unmapped behind ntvm's back: the hole is found all the same. */
	ASSERT_EQ(0, munmap(a[0], 0x10000));
	want = lowest_fit(0x10000);
	EXPECT_GE(U(a[0]), want);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b[1], 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(want, U(b[1]));

	/* Too big for the lowest hole. */
	ASSERT_EQ(STATUS_SUCCESS, nt_free(a[2], 0, MEM_RELEASE));
	want = lowest_fit(0x30000);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b[2], 0x30000, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(want, U(b[2]));
	EXPECT_NE(U(a[2]), U(b[2]));
	/* The 64K hole is still the lowest for 64K. */
	want = lowest_fit(0x10000);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b[3], 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(want, U(b[3]));
	EXPECT_LE(U(b[3]), U(a[2]));

	for (i = 0; i < 4; i++)
		EXPECT_EQ(STATUS_SUCCESS, nt_free(b[i], 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(a[3], 0, MEM_RELEASE));
}

/*
 * The module places a default reservation in the free room it last saw
 * above the lowest hole without looking again: a mapping made there behind
 * its back, an explicit reservation there and a page-granular release must
 * all still give the lowest fit.
 */
TEST_F(nt, placement_room)
{
	PVOID a = NULL, b = NULL, c = NULL, d = NULL, e = NULL, f = NULL;
	uintptr_t want;
	void *m;

	want = lowest_fit(0x10000);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&a, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	ASSERT_EQ(want, U(a));

	/* Mapped behind ntvm's back where the next reservation would go. */
	want = lowest_fit(0x10000);
	m = mmap(P(want), 0x10000, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(P(want), m);
	want = lowest_fit(0x10000);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(want, U(b));
	EXPECT_NE(U(m), U(b));

	/* An explicit reservation one granule above the lowest hole. */
	want = lowest_fit(0x10000);
	c = P(want + 0x10000);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&c, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	ASSERT_EQ(want + 0x10000, U(c));
	want = lowest_fit(0x20000);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&d, 0x20000, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(want, U(d));
	EXPECT_GT(U(d), U(c));
	/* The granule below c is still the lowest hole. */
	want = lowest_fit(0x10000);
	EXPECT_EQ(U(c) - 0x10000, want);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&e, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(want, U(e));

	/* Release all but the first page of a, then of e: holes of 60K. */
	ASSERT_EQ(STATUS_SUCCESS, nt_free(P(U(a) + 0x1000), 0xf000, MEM_RELEASE));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(P(U(e) + 0x1000), 0xf000, MEM_RELEASE));
	want = lowest_fit(0x10000);
	EXPECT_GT(want, U(d));
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&f, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(want, U(f));

	EXPECT_EQ(0, munmap(m, 0x10000));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(a, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(b, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(c, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(d, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(e, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(f, 0, MEM_RELEASE));
}

/* spec 1.9 */
TEST_F(nt, address_requirements)
{
	MEM_ADDRESS_REQUIREMENTS req = { 0 };
	MEM_EXTENDED_PARAMETER ext[2] = { 0 };
	PVOID base = NULL;
	SIZE_T size = 0x40000;

	ext[0].Type = MemExtendedParameterAddressRequirements;
	ext[0].Pointer = &req;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE,
					    NULL, 1));
	ext[1] = ext[0];
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE,
					    ext, 2));
	ext[1].Type = MemExtendedParameterMax;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE,
					    &ext[1], 1));
	ext[1].Type = MemExtendedParameterInvalidType;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE,
					    &ext[1], 1));

	req.HighestEndingAddress = P(0x20001000 + 1);
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE, ext, 1));
	req.HighestEndingAddress = P(0x200007ff);
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE, ext, 1));
	req.HighestEndingAddress = P(MAXA + 0x1000);
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE, ext, 1));
	req.HighestEndingAddress = P(MAXA);
	ASSERT_EQ(STATUS_SUCCESS,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE, ext, 1));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));

	base = NULL;
	req.HighestEndingAddress = P(0x20000fff);
	ASSERT_EQ(STATUS_SUCCESS,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE, ext, 1));
	EXPECT_EQ(0, U(base) % 0x10000);
	EXPECT_LE(U(base) + size, 0x20001000);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));

	base = NULL;
	req.Alignment = 0x8000;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE, ext, 1));
	req.Alignment = 0x30000;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE, ext, 1));
	req.Alignment = 0x40000;
	ASSERT_EQ(STATUS_SUCCESS,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE, ext, 1));
	EXPECT_EQ(0, U(base) % 0x40000);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	base = NULL;
	req.Alignment = 0x20000000;
	EXPECT_EQ(STATUS_NO_MEMORY,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE, ext, 1));

	/* With an explicit base (spec 1.9.4). */
	req.Alignment = 0;
	base = P(0x30000000);
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE, ext, 1));
	/* All-zero requirements are accepted (spec 1.9.1). */
	memset(&req, 0, sizeof(req));
	base = NULL;
	ASSERT_EQ(STATUS_SUCCESS,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE, ext, 1));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/*
 * Top-down with an alignment far above the size: the highest aligned
 * start, found by probing at it.  Placement once stepped down the free
 * space above it one size at a time: 2^30 probes under mmap_lock for this
 * call (the fuzzer found it).
 */
TEST_F(nt, top_down_huge_alignment)
{
#if UINTPTR_MAX > 0xffffffffU
	MEM_ADDRESS_REQUIREMENTS req = { .Alignment = (SIZE_T)1 << 46 };
	MEM_EXTENDED_PARAMETER ext = { .Type = MemExtendedParameterAddressRequirements,
				       .Pointer = &req };
	PVOID base = NULL;
	SIZE_T size = 0x1000;

	ASSERT_EQ(STATUS_SUCCESS,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE | MEM_TOP_DOWN,
					    PAGE_NOACCESS, &ext, 1));
	EXPECT_EQ((uintptr_t)1 << 46, U(base));
	EXPECT_EQ(0x1000, size);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
#else
	SKIP(return, "a 2^46 alignment needs a 64-bit address space");
#endif
}

/* spec 1.7.2, 1.1.6, 2.9: recommit keeps data, decommit zeroes. */
TEST_F(nt, commit_contents)
{
	PVOID base = NULL, c;
	char *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	p = base;
	c = base;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&c, 0x4000, MEM_COMMIT, PAGE_READWRITE));
	memset(p, 0xab, 0x4000);
	/* Overlapping commit: old pages keep data, new pages read zero. */
	c = p + 0x2000;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&c, 0x4000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ((char)0xab, p[0x3fff]);
	EXPECT_EQ(0, p[0x4000]);
	EXPECT_EQ(0, p[0x5fff]);
	EXPECT_REGION(p, p, p, PAGE_NOACCESS, 0x6000, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
	/* Recommit with another protection changes it and keeps data. */
	c = p;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&c, 0x2000, MEM_COMMIT, PAGE_READONLY));
	EXPECT_REGION(p, p, p, PAGE_NOACCESS, 0x2000, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
	EXPECT_EQ((char)0xab, p[0x1000]);
	EXPECT_TRUE(faults(p, 1));
	/* Decommit then recommit: zero. */
	EXPECT_EQ(STATUS_SUCCESS, nt_free(p + 0x3000, 0x1000, MEM_DECOMMIT));
	EXPECT_REGION(p + 0x3000, p + 0x3000, p, PAGE_NOACCESS, 0x1000, MEM_RESERVE, 0,
		      MEM_PRIVATE);
	EXPECT_TRUE(faults(p + 0x3000, 0));
	c = p + 0x3000;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&c, 0x1000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(0, p[0x3000]);
	EXPECT_EQ((char)0xab, p[0x2000]);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* spec 1.7.3: commit outside or across allocations. */
TEST_F(nt, commit_outside)
{
	PVOID base = NULL, c;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	c = (char *)base + 0xf000;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_alloc(&c, 0x2000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(U(base) + 0xf000, U(c));
	EXPECT_REGION(base, base, base, PAGE_NOACCESS, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	c = base;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_alloc(&c, 0x1000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(MEM_FREE, region_of(base).State);
}

/* ---- NtFreeVirtualMemory ---- */

/* spec 1.2.3, 2.4, 2.5, scenarios 8-10 */
TEST_F(nt, free_size_zero_and_straddle)
{
	PVOID base = NULL, b;
	SIZE_T size;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_COMMIT, PAGE_EXECUTE_READWRITE));
	b = (char *)base + 0x1fff;
	size = 2;
	EXPECT_EQ(STATUS_SUCCESS, NtFreeVirtualMemory(CUR, &b, &size, MEM_DECOMMIT));
	EXPECT_EQ(U(base) + 0x1000, U(b));
	EXPECT_EQ(0x2000, size);
	EXPECT_REGION((char *)base + 0x1000, (char *)base + 0x1000, base,
		      PAGE_EXECUTE_READWRITE, 0x2000, MEM_RESERVE, 0, MEM_PRIVATE);

	b = (char *)base + 0x1001;
	size = 0;
	EXPECT_EQ(STATUS_FREE_VM_NOT_AT_BASE, NtFreeVirtualMemory(CUR, &b, &size, MEM_DECOMMIT));
	EXPECT_EQ(U(base) + 0x1001, U(b));
	EXPECT_EQ(0, size);
	b = (char *)base + 0xffe;
	EXPECT_EQ(STATUS_SUCCESS, NtFreeVirtualMemory(CUR, &b, &size, MEM_DECOMMIT));
	EXPECT_EQ(U(base), U(b));
	EXPECT_EQ(0, size);
	EXPECT_REGION(base, base, base, PAGE_EXECUTE_READWRITE, 0x10000, MEM_RESERVE, 0,
		      MEM_PRIVATE);

	b = (char *)base + 0x1001;
	EXPECT_EQ(STATUS_FREE_VM_NOT_AT_BASE, NtFreeVirtualMemory(CUR, &b, &size, MEM_RELEASE));
	EXPECT_EQ(U(base) + 0x1001, U(b));
	b = (char *)base + 0x1000;
	EXPECT_EQ(STATUS_FREE_VM_NOT_AT_BASE, NtFreeVirtualMemory(CUR, &b, &size, MEM_RELEASE));
	b = (char *)base + 0xfff;
	EXPECT_EQ(STATUS_SUCCESS, NtFreeVirtualMemory(CUR, &b, &size, MEM_RELEASE));
	EXPECT_EQ(U(base), U(b));
	EXPECT_EQ(0x10000, size);
	EXPECT_EQ(MEM_FREE, region_of(base).State);
}

/* spec 2.6, 2.7, scenarios 11-12 */
TEST_F(nt, partial_release)
{
	PVOID base = NULL, b;
	SIZE_T size;
	char *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_COMMIT, PAGE_READWRITE));
	p = base;
	b = base;
	size = 0x11000;
	EXPECT_EQ(STATUS_UNABLE_TO_FREE_VM, NtFreeVirtualMemory(CUR, &b, &size, MEM_RELEASE));
	EXPECT_EQ(U(base), U(b));
	EXPECT_EQ(0x11000, size);
	b = p + 0x1001;
	size = 0xffff;
	EXPECT_EQ(STATUS_UNABLE_TO_FREE_VM, NtFreeVirtualMemory(CUR, &b, &size, MEM_RELEASE));
	EXPECT_EQ(U(p) + 0x1001, U(b));
	EXPECT_EQ(0xffff, size);
	EXPECT_REGION(p, p, p, PAGE_READWRITE, 0x10000, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);

	size = 0xfff;
	EXPECT_EQ(STATUS_SUCCESS, NtFreeVirtualMemory(CUR, &b, &size, MEM_RELEASE));
	EXPECT_EQ(U(p) + 0x1000, U(b));
	EXPECT_EQ(0x1000, size);
	p[0] = 1;
	p[0x2000] = 1;
	EXPECT_EQ(MEM_FREE, region_of(p + 0x1000).State);
	EXPECT_REGION(p, p, p, PAGE_READWRITE, 0x1000, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
	EXPECT_REGION(p + 0x2000, p + 0x2000, p + 0x2000, PAGE_READWRITE, 0xe000,
		      MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);

	b = p + 1;
	size = 0xfff;
	EXPECT_EQ(STATUS_SUCCESS, NtFreeVirtualMemory(CUR, &b, &size, MEM_RELEASE));
	EXPECT_EQ(U(p), U(b));
	EXPECT_EQ(0x1000, size);

	b = p;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(U(p), U(b));
	EXPECT_EQ(STATUS_UNABLE_TO_FREE_VM, nt_free(p, 0x10000, MEM_DECOMMIT));
	EXPECT_EQ(STATUS_UNABLE_TO_FREE_VM, nt_free(p, 0x10000, MEM_RELEASE));
	EXPECT_EQ(STATUS_MEMORY_NOT_ALLOCATED, nt_free(p + 0x1000, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_MEMORY_NOT_ALLOCATED, nt_free(p + 0x1000, 0x1000, MEM_DECOMMIT));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(p + 0x2000, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(p, 0x1000, MEM_RELEASE));
	EXPECT_EQ(MEM_FREE, region_of(p).State);
}

/* spec 2.2, 2.3, 2.13, scenario 14 */
TEST_F(nt, free_type_rules)
{
	PVOID base = NULL;
	void *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	p = base;
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER, VirtualFree(p, 1, MEM_RELEASE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER, VirtualFree(p, 0x10000, 0));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER, VirtualFree(p, 0, MEM_FREE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4, nt_free(p, 0, 0));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4, nt_free(p, 0, MEM_DECOMMIT | MEM_RELEASE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4, nt_free(p, 0, MEM_COALESCE_PLACEHOLDERS));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_3,
		  nt_free(p, 0, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_free(p, 0x1000, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	EXPECT_REGION(p, p, p, PAGE_NOACCESS, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
	EXPECT_TRUE(VirtualFree(p, 0x10000, MEM_DECOMMIT));
	EXPECT_EQ(STATUS_INVALID_HANDLE, NtFreeVirtualMemory(NULL, &base, &(SIZE_T){0}, MEM_RELEASE));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtFreeVirtualMemory(CUR, &base, NULL, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_MEMORY_NOT_ALLOCATED, nt_free(p, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_2, nt_free(P(ABOVE_MAXA), 0, MEM_RELEASE));
}

/*
 * Bad non-NULL pointers for BaseAddress, RegionSize and OldProtect: a wild
 * address or a read-only variable gives STATUS_ACCESS_VIOLATION (Win32:
 * ERROR_NOACCESS), and nothing changes.
 */
TEST_F(nt, bad_pointers)
{
	void *wild = P(8);
	struct ntvm_stats st0, st1;
	PVOID base = NULL, b, *ro;
	SIZE_T s;
	ULONG old = 0x77;
	char *p;

	ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE | MEM_COMMIT,
					   PAGE_READWRITE));
	p = base;
	p[0] = 42;
	ro[0] = NULL;
	((SIZE_T *)ro)[1] = 0x1000;
	((ULONG *)ro)[4] = 0x55;
	ASSERT_EQ(0, mprotect(ro, 4096, PROT_READ));
	st0 = stats();

	/* NtAllocateVirtualMemory: nothing is reserved. */
	s = 0x1000;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtAllocateVirtualMemory(CUR, wild, 0, &s, MEM_RESERVE, PAGE_NOACCESS));
	b = NULL;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtAllocateVirtualMemory(CUR, &b, 0, wild, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtAllocateVirtualMemory(CUR, ro, 0, &s, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtAllocateVirtualMemory(CUR, &b, 0, (SIZE_T *)ro + 1, MEM_RESERVE,
					  PAGE_NOACCESS));
	EXPECT_EQ(NULL, b);
	EXPECT_EQ(0x1000, s);
	st1 = stats();
	EXPECT_EQ(st0.allocations, st1.allocations);
	EXPECT_EQ(st0.reserved_bytes, st1.reserved_bytes);

	/* NtFreeVirtualMemory: the allocation stays, with its contents. */
	b = base;
	s = 0;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtFreeVirtualMemory(CUR, wild, &s, MEM_RELEASE));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtFreeVirtualMemory(CUR, &b, wild, MEM_RELEASE));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtFreeVirtualMemory(CUR, &b, (SIZE_T *)ro + 1, MEM_DECOMMIT));
	EXPECT_EQ(base, b);
	EXPECT_EQ(0, s);
	EXPECT_REGION(p, p, p, PAGE_READWRITE, 0x10000, MEM_COMMIT, PAGE_READWRITE,
		      MEM_PRIVATE);
	EXPECT_EQ(42, p[0]);

	/* NtProtectVirtualMemory: the protection stays. */
	s = 0x1000;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtProtectVirtualMemory(CUR, &b, &s, PAGE_READONLY, wild));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtProtectVirtualMemory(CUR, &b, &s, PAGE_READONLY, (ULONG *)ro + 4));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtProtectVirtualMemory(CUR, wild, &s, PAGE_READONLY, &old));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtProtectVirtualMemory(CUR, &b, wild, PAGE_READONLY, &old));
	EXPECT_EQ(0x77, old);
	EXPECT_EQ(0x55, ((ULONG *)ro)[4]);
	EXPECT_WIN32_ERROR(ERROR_NOACCESS, VirtualProtect(p, 0x1000, PAGE_READONLY, wild));
	EXPECT_REGION(p, p, p, PAGE_READWRITE, 0x10000, MEM_COMMIT, PAGE_READWRITE,
		      MEM_PRIVATE);
	p[1] = 1;	/* still writable */
	st1 = stats();
	EXPECT_EQ(st0.committed_bytes, st1.committed_bytes);

	/* And the good pointers still work. */
	EXPECT_EQ(STATUS_SUCCESS, NtProtectVirtualMemory(CUR, &b, &s, PAGE_READONLY, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_EQ(base, b);
	EXPECT_EQ(0x1000, s);
	munmap(ro, 4096);
}

/*
 * The section calls' variables and structures are as wide as the
 * caller's words (built for x86-64 and i386): SectionHandle and
 * ReturnLength are a pointer wide, SECTION_BASIC_INFORMATION is 24 bytes
 * or 16, and nothing past them is written.
 */
TEST_F(nt, section_variables_width)
{
	struct {
		HANDLE h;
		unsigned char after[8];
	} hv;
	struct {
		SECTION_BASIC_INFORMATION b;
		unsigned char after[8];
	} bv;
	struct {
		SIZE_T len;
		unsigned char after[8];
	} lv;
	unsigned char none[8];
	LARGE_INTEGER size = { .QuadPart = 0x2345 };
	SECTION_BASIC_INFORMATION want;

	memset(&hv, 0xa5, sizeof(hv));
	memset(&bv, 0xa5, sizeof(bv));
	memset(&lv, 0xa5, sizeof(lv));
	memset(none, 0xa5, sizeof(none));
	ASSERT_EQ(STATUS_SUCCESS,
		  NtCreateSection(&hv.h, SECTION_ALL_ACCESS, NULL, &size, PAGE_READWRITE,
				  SEC_COMMIT, NULL));
	EXPECT_EQ(0, memcmp(hv.after, none, sizeof(none)));
	EXPECT_LE(0, fcntl(NTVM_HANDLE_TO_FD(hv.h), F_GETFD));
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQuerySection(hv.h, SectionBasicInformation, &bv.b, sizeof(bv.b), &lv.len));
	EXPECT_EQ(sizeof(void *) == 4 ? 16 : 24, sizeof(bv.b));
	EXPECT_EQ(sizeof(bv.b), lv.len);
	memset(&want, 0, sizeof(want));
	want.Attributes = SEC_COMMIT;
	want.Size.QuadPart = 0x3000;
	EXPECT_EQ(0, memcmp(&want, &bv.b, sizeof(want)));
	EXPECT_EQ(0, memcmp(bv.after, none, sizeof(none)));
	EXPECT_EQ(0, memcmp(lv.after, none, sizeof(none)));
	/* The image class needs 48 bytes or 64, by width. */
	EXPECT_EQ(STATUS_INFO_LENGTH_MISMATCH,
		  NtQuerySection(hv.h, SectionImageInformation, &bv, sizeof(void *) == 4 ? 47 : 63,
				 NULL));
	EXPECT_EQ(STATUS_SECTION_NOT_IMAGE,
		  NtQuerySection(hv.h, SectionImageInformation, &bv, sizeof(void *) == 4 ? 48 : 64,
				 NULL));
	EXPECT_EQ(STATUS_SUCCESS, NtClose(hv.h));
}

/*
 * NtQueryVirtualMemory(MemoryBasicInformation) checks its buffer and
 * ReturnLength as NT probes them (after the length, before the address
 * and the handle): every page of the length given must be writable, and
 * a failed call writes nothing, not part of the structure either.  The
 * structure is as wide as the caller's words (48 bytes, or 28), its
 * padding zero.
 */
TEST_F(nt, query_bad_pointers)
{
	const SIZE_T mbi = sizeof(MEMORY_BASIC_INFORMATION);
	unsigned char fill[64], *two, *at;
	MEMORY_BASIC_INFORMATION want;
	PVOID base = NULL, *ro;
	SIZE_T len = 7;
	char *big;

	ASSERT_EQ(sizeof(void *) == 4 ? 28 : 48, mbi);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	ro = ro_variables(NULL, 5);
	ASSERT_NE(NULL, ro);
	two = rw_then_ro_pages();
	ASSERT_NE(NULL, two);
	memset(fill, 0xa5, sizeof(fill));
	memset(two, 0xa5, 4096);

	/* The length first: nothing to probe yet. */
	EXPECT_EQ(STATUS_INFO_LENGTH_MISMATCH,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, NULL, mbi - 1, &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, NULL, mbi, &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, P(8), mbi, &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, two + 4096, mbi, &len));
	/* Straddling into the read-only page: not even the first part is written. */
	at = two + 4096 - 16;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, at, mbi, &len));
	/* The structure fits; the length given reaches the read-only page. */
	at = two + 4096 - mbi;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, two, 4096 + 1, &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, two, 3 * 4096, &len));
	/* ReturnLength: read-only, wild. */
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, at, mbi,
				       (SIZE_T *)ro + 1));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, at, mbi, P(8)));
	/* Before the address and the handle. */
	EXPECT_QUERY_ORDER(MemoryBasicInformation, base, MAXA + 1, at, NULL, mbi, &len);
	EXPECT_EQ(7, len);
	EXPECT_EQ(5, ((SIZE_T *)ro)[1]);
	for (at = two; at < two + 4096; at += sizeof(fill))
		ASSERT_EQ(0, memcmp(at, fill, sizeof(fill)));
	EXPECT_WIN32_ERROR(ERROR_NOACCESS, VirtualQuery(base, NULL, mbi));

	/* Success, at the end of the writable page: exactly the structure. */
	at = two + 4096 - mbi;
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, at, mbi, &len));
	EXPECT_EQ(mbi, len);
	memset(&want, 0, sizeof(want));
	want.BaseAddress = base;
	want.AllocationBase = base;
	want.AllocationProtect = PAGE_NOACCESS;
	want.RegionSize = 0x10000;
	want.State = MEM_RESERVE;
	want.Type = MEM_PRIVATE;
	EXPECT_EQ(0, memcmp(&want, at, mbi));
	EXPECT_EQ(0, memcmp(two, fill, 16));
	/* A length of pages, all writable: the VMAs say so. */
	big = malloc(3 * 4096);
	ASSERT_NE(NULL, big);
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, big, 3 * 4096, NULL));
	EXPECT_EQ(0, memcmp(&want, big, mbi));
	free(big);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	munmap(two, 2 * 4096);
	munmap(ro, 4096);
}

/*
 * NT's ProbeForWrite() wants the query buffers aligned before it looks at
 * them: NtQueryVirtualMemory's (and QueryVirtualMemoryInformation's) to a
 * pointer (every class), NtQuerySection's to a ULONG, NtGetWriteWatch's
 * array to a pointer (WRK, ReactOS).  A misaligned one is
 * STATUS_DATATYPE_MISALIGNMENT (ERROR_NOACCESS), after the length and
 * before the range is checked, and nothing is written.  NT's typed probes
 * of its variables (ReturnLength, the write-watch count and granularity)
 * check no alignment.
 */
TEST_F(nt, query_misaligned_buffers)
{
	const SIZE_T mbi = sizeof(MEMORY_BASIC_INFORMATION);
	const NTSTATUS word_st = sizeof(void *) == 8 ? STATUS_DATATYPE_MISALIGNMENT :
						       STATUS_SUCCESS;
	unsigned char buf[160] __attribute__((aligned(16))), stack[80] __attribute__((aligned(16)));
	unsigned char *heap = malloc(160), *rl = malloc(16);
	LARGE_INTEGER size = { .QuadPart = 0x1000 };
	MEMORY_WORKING_SET_EX_INFORMATION *ws;
	PVOID base = NULL, addrs[4], *arr;
	ULONG_PTR count;
	ULONG gran;
	HANDLE h;
	SIZE_T len = 7;
	char *ww;

	ASSERT_NE(NULL, heap);
	ASSERT_NE(NULL, rl);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	memset(buf, 0xa5, sizeof(buf));

	/* The length first, then the alignment, then the range. */
	EXPECT_EQ(STATUS_INFO_LENGTH_MISMATCH,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, buf + 1, mbi - 1, &len));
	EXPECT_EQ(STATUS_DATATYPE_MISALIGNMENT,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, buf + 1, mbi, &len));
	EXPECT_EQ(STATUS_DATATYPE_MISALIGNMENT,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, P(9), mbi, &len));
	EXPECT_EQ(word_st,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, buf + 4, mbi, &len));
	if (sizeof(void *) == 8) {
		EXPECT_EQ(7, len);
		EXPECT_EQ(0xa5, buf[4]);
		EXPECT_EQ(0xa5, buf[4 + mbi - 1]);
	}
	EXPECT_EQ(0xa5, buf[1]);
	/* A misaligned ReturnLength is written. */
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, buf + 16, mbi,
				       (PSIZE_T)(rl + 1)));
	memcpy(&len, rl + 1, sizeof(len));
	EXPECT_EQ(mbi, len);

	/* The classes libntvm fills, from the heap and from the stack. */
	EXPECT_EQ(STATUS_DATATYPE_MISALIGNMENT,
		  NtQueryVirtualMemory(CUR, base, MemoryRegionInformationEx, heap + 1,
				       sizeof(MEMORY_REGION_INFORMATION), NULL));
	EXPECT_EQ(STATUS_DATATYPE_MISALIGNMENT,
		  NtQueryVirtualMemory(CUR, base, MemoryRegionInformation, stack + 3,
				       sizeof(MEMORY_REGION_INFORMATION), NULL));
	ws = (MEMORY_WORKING_SET_EX_INFORMATION *)(stack + 1);
	EXPECT_EQ(STATUS_DATATYPE_MISALIGNMENT,
		  NtQueryVirtualMemory(CUR, NULL, MemoryWorkingSetExInformation, ws,
				       sizeof(*ws), NULL));
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQueryVirtualMemory(CUR, base, MemoryRegionInformationEx, heap + 16,
				       sizeof(MEMORY_REGION_INFORMATION), NULL));

	/* Win32: ERROR_NOACCESS, nothing written. */
	memset(heap, 0xa5, 160);
	EXPECT_WIN32_ERROR(ERROR_NOACCESS,
			   VirtualQuery(base, (PMEMORY_BASIC_INFORMATION)(heap + 1), mbi));
	EXPECT_EQ(0xa5, heap[1]);
	EXPECT_EQ(ERROR_NOACCESS, RtlNtStatusToDosError(STATUS_DATATYPE_MISALIGNMENT));

	/* NtQuerySection: a ULONG's alignment. */
	ASSERT_EQ(STATUS_SUCCESS,
		  NtCreateSection(&h, SECTION_ALL_ACCESS, NULL, &size, PAGE_READWRITE,
				  SEC_COMMIT, NULL));
	EXPECT_EQ(STATUS_DATATYPE_MISALIGNMENT,
		  NtQuerySection(h, SectionBasicInformation, heap + 2,
				 sizeof(SECTION_BASIC_INFORMATION), NULL));
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQuerySection(h, SectionBasicInformation, heap + 4,
				 sizeof(SECTION_BASIC_INFORMATION), NULL));
	EXPECT_EQ(STATUS_SUCCESS, NtClose(h));

	/* NtGetWriteWatch: the array is pointers; the variables are free. */
	ww = VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
			  PAGE_READWRITE);
	ASSERT_NE(NULL, ww);
	ww[0] = 1;
	arr = (PVOID *)(heap + 1);
	count = 4;
	EXPECT_EQ(STATUS_DATATYPE_MISALIGNMENT,
		  NtGetWriteWatch(CUR, 0, ww, 0x10000, arr, &count, &gran));
	EXPECT_EQ(4, count);
	count = 4;
	EXPECT_EQ(STATUS_SUCCESS,
		  NtGetWriteWatch(CUR, 0, ww, 0x10000, addrs, &count, (PULONG)(rl + 1)));
	EXPECT_EQ(1, count);
	EXPECT_EQ(ww, addrs[0]);
	EXPECT_TRUE(VirtualFree(ww, 0, MEM_RELEASE));

	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	free(heap);
	free(rl);
}

/* ---- NtProtectVirtualMemory ---- */

/* spec 4.1-4.3, scenarios 15-16 */
TEST_F(nt, protect_rules)
{
	PVOID base = NULL, c;
	DWORD old = 0xdead;
	ULONG o;
	SIZE_T size;
	char *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	p = base;
	c = base;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&c, 0x1000, MEM_COMMIT, PAGE_NOACCESS));
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS, VirtualProtect(p, 0xfffc, PAGE_READONLY, &old));
	/* Windows writes PAGE_NOACCESS to OldProtect even on this failure. */
	EXPECT_EQ(PAGE_NOACCESS, old);
	c = p;
	size = 0x2000;
	EXPECT_EQ(STATUS_NOT_COMMITTED, NtProtectVirtualMemory(CUR, &c, &size, PAGE_READONLY, &o));
	c = p;
	size = 0x1000;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtProtectVirtualMemory(CUR, &c, &size, PAGE_READONLY, NULL));
	EXPECT_REGION(p, p, p, PAGE_NOACCESS, 0x1000, MEM_COMMIT, PAGE_NOACCESS, MEM_PRIVATE);
	EXPECT_WIN32_ERROR(ERROR_NOACCESS, VirtualProtect(p, 0x1000, PAGE_READONLY, NULL));

	EXPECT_TRUE(VirtualProtect(p, 0x1000, PAGE_READONLY, &old));
	EXPECT_EQ(PAGE_NOACCESS, old);
	EXPECT_EQ(0, p[0]);
	EXPECT_TRUE(VirtualProtect(p + 0x10, 0x10, PAGE_READWRITE, &old));
	EXPECT_EQ(PAGE_READONLY, old);
	p[0] = 3;
	/* Written back page-rounded (spec 4.9). */
	c = p + 0x10;
	size = 0x10;
	EXPECT_EQ(STATUS_SUCCESS, NtProtectVirtualMemory(CUR, &c, &size, PAGE_READONLY, &o));
	EXPECT_EQ(U(p), U(c));
	EXPECT_EQ(0x1000, size);
	EXPECT_EQ(PAGE_READWRITE, o);
	EXPECT_EQ(3, p[0]);
	EXPECT_TRUE(faults(p, 1));
	/* Free memory and ranges past the allocation. */
	c = p + 0x10000;
	size = 0x1000;
	if (region_of(c).State == MEM_FREE)
		EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
			  NtProtectVirtualMemory(CUR, &c, &size, PAGE_READONLY, &o));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* spec 4.4, scenario 17: the protection table on a committed page. */
TEST_F(nt, protect_table)
{
	PVOID base = NULL;
	DWORD old, prot;
	int ok;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x1000, MEM_COMMIT, PAGE_NOACCESS));
	for (prot = 0; prot < 0x100; prot++) {
		ok = prot == 0x01 || prot == 0x02 || prot == 0x04 ||
		     prot == 0x10 || prot == 0x20 || prot == 0x40;
		SetLastError(0);
		EXPECT_EQ(ok, VirtualProtect(base, 0x1000, prot, &old))
			TH_LOG("prot %#x", prot);
		if (ok) {
			EXPECT_EQ(prot, region_of(base).Protect);
			EXPECT_EQ(PAGE_NOACCESS, region_of(base).AllocationProtect);
			EXPECT_TRUE(VirtualProtect(base, 0x1000, PAGE_NOACCESS, &old));
			EXPECT_EQ(prot, old);
		} else {
			EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
			EXPECT_EQ(PAGE_NOACCESS, region_of(base).Protect);
		}
	}
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* spec 1.7.2, 4.7 (query side), scenarios 18, 20 */
TEST_F(nt, guard_pages)
{
	PVOID base = NULL, c;
	DWORD old;
	char *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x2000, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD));
	p = base;
	EXPECT_REGION(p, p, p, PAGE_READWRITE | PAGE_GUARD, 0x2000, MEM_COMMIT,
		      PAGE_READWRITE | PAGE_GUARD, MEM_PRIVATE);
	EXPECT_TRUE(faults(p, 0));
	EXPECT_TRUE(VirtualProtect(p, 0x1000, PAGE_READWRITE, &old));
	EXPECT_EQ(PAGE_READWRITE | PAGE_GUARD, old);
	p[0] = 1;
	EXPECT_TRUE(VirtualProtect(p, 0x1000, PAGE_READWRITE | PAGE_GUARD, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_REGION(p, p, p, PAGE_READWRITE | PAGE_GUARD, 0x2000, MEM_COMMIT,
		      PAGE_READWRITE | PAGE_GUARD, MEM_PRIVATE);
	/* Recommit of committed RW pages with a guard protection. */
	EXPECT_TRUE(VirtualProtect(p, 0x2000, PAGE_READWRITE, &old));
	c = p + 0x1000;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&c, 0x1000, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD));
	EXPECT_REGION(p + 0x1000, p + 0x1000, p, PAGE_READWRITE | PAGE_GUARD, 0x1000,
		      MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD, MEM_PRIVATE);
	EXPECT_EQ(1, p[0]);
	/* NOACCESS disarms. */
	EXPECT_TRUE(VirtualProtect(p + 0x1000, 0x1000, PAGE_NOACCESS, &old));
	EXPECT_EQ(PAGE_READWRITE | PAGE_GUARD, old);
	EXPECT_EQ(PAGE_NOACCESS, region_of(p + 0x1000).Protect);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* ---- Guard pages: one-shot, through libntvm's SIGSEGV hook ---- */

static volatile int guard_events;
static NTVM_GUARD_EXCEPTION guard_last;

static void on_guard(const NTVM_GUARD_EXCEPTION *e, void *context)
{
	__atomic_add_fetch(&guard_events, 1, __ATOMIC_SEQ_CST);
	guard_last = *e;
	(void)context;
}

/* spec 4.7, scenario 20 */
TEST_F(nt, guard_one_shot)
{
	PVOID base = NULL;
	volatile char *p;
	DWORD old;
	char v;

	ASSERT_EQ(0, ntvm_install_guard_handler(on_guard, NULL));
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x2000, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD));
	p = base;
	guard_events = 0;
	v = p[0x10];
	EXPECT_EQ(0, v);
	EXPECT_EQ(1, guard_events);
	EXPECT_EQ(STATUS_GUARD_PAGE_VIOLATION, guard_last.ExceptionCode);
	EXPECT_EQ(2, guard_last.NumberParameters);
	EXPECT_EQ(EXCEPTION_READ_FAULT, guard_last.ExceptionInformation[0]);
	EXPECT_EQ(U(p) + 0x10, guard_last.ExceptionInformation[1]);
	EXPECT_REGION(p, p, p, PAGE_READWRITE | PAGE_GUARD, 0x1000, MEM_COMMIT,
		      PAGE_READWRITE, MEM_PRIVATE);
	EXPECT_REGION(p + 0x1000, p + 0x1000, p, PAGE_READWRITE | PAGE_GUARD, 0x1000,
		      MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD, MEM_PRIVATE);
	v = p[0x20];
	p[0x20] = 3;
	EXPECT_EQ(1, guard_events);

	p[0x1005] = 7;
	EXPECT_EQ(2, guard_events);
	EXPECT_EQ(EXCEPTION_WRITE_FAULT, guard_last.ExceptionInformation[0]);
	EXPECT_EQ(U(p) + 0x1005, guard_last.ExceptionInformation[1]);
	EXPECT_EQ(7, p[0x1005]);

	/* Re-arming returns the disarmed protection (spec 4.7). */
	EXPECT_TRUE(VirtualProtect((void *)p, 0x1000, PAGE_READWRITE | PAGE_GUARD, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_EQ(PAGE_READWRITE | PAGE_GUARD, region_of((void *)p).Protect);
	p[0] = 1;
	EXPECT_EQ(3, guard_events);
	EXPECT_EQ(1, p[0]);
	EXPECT_EQ(3, p[0x20]);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

TEST_F(nt, guard_execute)
{
	PVOID base = NULL;
	DWORD old;

	ASSERT_EQ(0, ntvm_install_guard_handler(on_guard, NULL));
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x1000, MEM_COMMIT, PAGE_EXECUTE_READWRITE));
	((unsigned char *)base)[0] = 0xc3;	/* ret */
	ASSERT_TRUE(VirtualProtect(base, 0x1000, PAGE_EXECUTE_READ | PAGE_GUARD, &old));
	guard_events = 0;
	((void (*)(void))base)();
	EXPECT_EQ(1, guard_events);
	EXPECT_EQ(EXCEPTION_EXECUTE_FAULT, guard_last.ExceptionInformation[0]);
	EXPECT_EQ(U(base), guard_last.ExceptionInformation[1]);
	EXPECT_EQ(U(base), U(guard_last.ExceptionAddress));
	EXPECT_EQ(PAGE_EXECUTE_READ, region_of(base).Protect);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

struct guard_race {
	volatile char *page;
	pthread_barrier_t *barrier;
	char seen;
};

static void *guard_toucher(void *v)
{
	struct guard_race *g = v;

	pthread_barrier_wait(g->barrier);
	g->seen = g->page[100];
	return NULL;
}

/* Threads fault on one guard page at once: exactly one exception. */
TEST_F(nt, guard_threads)
{
	struct guard_race g[4];
	pthread_barrier_t barrier;
	pthread_t t[4];
	PVOID base = NULL;
	int i;

	ASSERT_EQ(0, ntvm_install_guard_handler(on_guard, NULL));
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x1000, MEM_COMMIT, PAGE_READWRITE));
	((char *)base)[100] = 42;
	ASSERT_TRUE(VirtualProtect(base, 0x1000, PAGE_READWRITE | PAGE_GUARD, &(DWORD){0}));
	pthread_barrier_init(&barrier, NULL, 4);
	guard_events = 0;
	for (i = 0; i < 4; i++) {
		g[i] = (struct guard_race){ .page = base, .barrier = &barrier };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, guard_toucher, &g[i]));
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(42, g[i].seen);
	}
	EXPECT_EQ(1, guard_events);
	pthread_barrier_destroy(&barrier);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

static void exit_42(int sig)
{
	(void)sig;
	_exit(42);
}

/* Other faults go to the handler installed before, or kill the process. */
TEST_F(nt, guard_other_faults)
{
	PVOID base = NULL;
	int status;
	pid_t pid;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	pid = fork();
	if (!pid) {
		ntvm_install_guard_handler(NULL, NULL);
		(void)*(volatile char *)base;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	pid = fork();
	if (!pid) {
		signal(SIGSEGV, exit_42);
		ntvm_install_guard_handler(NULL, NULL);
		(void)*(volatile char *)base;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(42, WEXITSTATUS(status));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* spec 7.1, 7.2 */
TEST_F(nt, system_info)
{
	SYSTEM_INFO si;

	memset(&si, 0xcc, sizeof(si));
	GetSystemInfo(&si);
	EXPECT_EQ(sizeof(void *) == 8 ? PROCESSOR_ARCHITECTURE_AMD64 :
					PROCESSOR_ARCHITECTURE_INTEL, si.wProcessorArchitecture);
	EXPECT_EQ(0x1000, si.dwPageSize);
	EXPECT_EQ(0x10000, si.dwAllocationGranularity);
	EXPECT_EQ(0x10000, U(si.lpMinimumApplicationAddress));
	EXPECT_EQ(MAXA, U(si.lpMaximumApplicationAddress));
	EXPECT_LE(1, si.dwNumberOfProcessors);
	EXPECT_EQ(sysconf(_SC_NPROCESSORS_ONLN), si.dwNumberOfProcessors);
}

/* spec 4.6, scenario 19 */
TEST_F(nt, nocache_sticks)
{
	PVOID base = NULL;
	DWORD old;
	char *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x2000, MEM_COMMIT, PAGE_READWRITE | PAGE_NOCACHE));
	p = base;
	EXPECT_REGION(p, p, p, 0x204, 0x2000, MEM_COMMIT, 0x204, MEM_PRIVATE);
	EXPECT_TRUE(VirtualProtect(p, 0x1000, PAGE_READWRITE, &old));
	EXPECT_EQ(0x204, old);
	EXPECT_REGION(p, p, p, 0x204, 0x2000, MEM_COMMIT, 0x204, MEM_PRIVATE);
	EXPECT_TRUE(VirtualProtect(p, 0x1000, PAGE_READONLY, &old));
	EXPECT_REGION(p, p, p, 0x204, 0x1000, MEM_COMMIT, 0x202, MEM_PRIVATE);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));

	base = NULL;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x1000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_TRUE(VirtualProtect(base, 0x1000, PAGE_READONLY | PAGE_NOCACHE, &old));
	EXPECT_EQ(PAGE_READONLY, region_of(base).Protect);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* ---- MEM_RESET ---- */

/* spec 6.1-6.3, scenario 24 */
TEST_F(nt, reset)
{
	PVOID base = NULL;
	void *r;
	char *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	p = base;
	ASSERT_EQ(p, VirtualAlloc(p, 0x1000, MEM_COMMIT, PAGE_READWRITE));
	memset(p, 0x11, 0x1000);
	r = VirtualAlloc(p, 0x1000, MEM_RESET, PAGE_NOACCESS);
	EXPECT_EQ(p, r);
	EXPECT_TRUE(p[10] == 0 || p[10] == 0x11);
	EXPECT_REGION(p, p, p, PAGE_NOACCESS, 0x1000, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
	r = VirtualAlloc(p + 0x1000, 0x1000, MEM_RESET, PAGE_NOACCESS);
	EXPECT_EQ(p + 0x1000, r);
	EXPECT_REGION(p + 0x1000, p + 0x1000, p, PAGE_NOACCESS, 0xf000, MEM_RESERVE, 0,
		      MEM_PRIVATE);
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS,
			   VirtualAlloc(p + 0xf000, 0x2000, MEM_RESET, PAGE_NOACCESS));
	p[0] = 5;
	EXPECT_EQ(5, p[0]);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

/* spec 6.6: MEM_RESET_UNDO succeeds only when the data is certainly intact. */
TEST_F(nt, reset_undo)
{
	PVOID base = NULL;
	char *p;
	int i;

	ASSERT_EQ(0, pin_to_this_cpu());
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x20000, MEM_RESERVE, PAGE_NOACCESS));
	p = base;
	ASSERT_EQ(p, VirtualAlloc(p, 0x10000, MEM_COMMIT, PAGE_READWRITE));
	for (i = 0; i < 16; i++)
		memset(p + i * 0x1000, 'a' + i, 0x1000);

	/* Never reset, or reserved only: nothing can be lost. */
	EXPECT_EQ(p, VirtualAlloc(p, 0x10000, MEM_RESET_UNDO, PAGE_READWRITE));
	EXPECT_EQ(p + 0x10000, VirtualAlloc(p + 0x10000, 0x1000, MEM_RESET_UNDO, PAGE_NOACCESS));

	/* Reset, nothing reclaimed: undo succeeds and the data is there. */
	ASSERT_EQ(p, VirtualAlloc(p, 0x10000, MEM_RESET, PAGE_NOACCESS));
	EXPECT_EQ(p, VirtualAlloc(p, 0x10000, MEM_RESET_UNDO, PAGE_READWRITE));
	for (i = 0; i < 16; i++)
		EXPECT_EQ('a' + i, p[i * 0x1000 + 7]);
	EXPECT_REGION(p, p, p, PAGE_NOACCESS, 0x10000, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
	/* Undone: the pages are ordinary again, reclaim would keep them. */
	ASSERT_EQ(0, madvise(p, 0x10000, MADV_PAGEOUT));
	EXPECT_EQ('a', p[0]);

	/* Reset, then the kernel drops the pages: undo fails. */
	ASSERT_EQ(p, VirtualAlloc(p, 0x10000, MEM_RESET, PAGE_NOACCESS));
	ASSERT_EQ(0, madvise(p + 0x4000, 0x2000, MADV_PAGEOUT));
	EXPECT_WIN32_ERROR(ERROR_GEN_FAILURE,
			   VirtualAlloc(p, 0x10000, MEM_RESET_UNDO, PAGE_READWRITE));
	EXPECT_EQ(0, p[0x4000]);
	EXPECT_EQ('a', p[0]);
	/* The failed undo consumed the watch: a second one has nothing to say. */
	EXPECT_EQ(p, VirtualAlloc(p, 0x10000, MEM_RESET_UNDO, PAGE_READWRITE));

	/* A discard outside the undone range does not fail it. */
	ASSERT_EQ(p, VirtualAlloc(p, 0x10000, MEM_RESET, PAGE_NOACCESS));
	ASSERT_EQ(0, madvise(p + 0x8000, 0x1000, MADV_PAGEOUT));
	EXPECT_EQ(p, VirtualAlloc(p, 0x4000, MEM_RESET_UNDO, PAGE_READWRITE));
	EXPECT_EQ(NULL, VirtualAlloc(p + 0x4000, 0x8000, MEM_RESET_UNDO, PAGE_READWRITE));

	/*
	 * A reset page that is not writable cannot be kept without writing
	 * to it against its protection (Documentation/security.rst): lost.
	 */
	ASSERT_TRUE(VirtualProtect(p, 0x1000, PAGE_NOACCESS, &(DWORD){0}));
	ASSERT_EQ(p, VirtualAlloc(p, 0x1000, MEM_RESET, PAGE_NOACCESS));
	EXPECT_WIN32_ERROR(ERROR_GEN_FAILURE,
			   VirtualAlloc(p, 0x1000, MEM_RESET_UNDO, PAGE_NOACCESS));
	ASSERT_TRUE(VirtualProtect(p, 0x1000, PAGE_READONLY, &(DWORD){0}));

	/* Rules. */
	EXPECT_EQ(STATUS_INVALID_PARAMETER_5,
		  nt_alloc(&base, 0x1000, MEM_RESET_UNDO | MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION, nt_alloc(&base, 0x1000, MEM_RESET_UNDO, 0));
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS,
			   VirtualAlloc(p + 0x1f000, 0x2000, MEM_RESET_UNDO, PAGE_READWRITE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* Write a string to a sysfs file: 0, or -1. */
static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok ? 0 : -1;
}

/* A 32 MiB zram swap device (vm-run carries the module): 0, or -1. */
static int zram_swap_on(void)
{
	if (geteuid())
		return -1;
	if (access("/sys/block/zram0", F_OK) &&
	    system("for m in $(cat /lib/ntvm/extra/order 2>/dev/null); do"
		   " insmod /lib/ntvm/extra/$m 2>/dev/null; done"))
		return -1;
	/* Built into 6.1 and 6.12 alike; the default stays if it is not. */
	write_file("/sys/block/zram0/comp_algorithm", "lzo-rle");
	if (write_file("/sys/block/zram0/disksize", "33554432") ||
	    system("mkswap /dev/zram0 >/dev/null 2>&1") ||
	    swapon("/dev/zram0", 0))
		return -1;
	return 0;
}

static void zram_swap_off(void)
{
	swapoff("/dev/zram0");
	write_file("/sys/block/zram0/reset", "1");
}

/* VmSwap of /proc/self/status, in KiB. */
static long vm_swap_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSwap: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/*
 * MADV_FREE frees pages that are out on swap at once, and the notifier
 * sees only the start of the call: a MEM_RESET in a process with pages on
 * swap counts as lost, so an undo after it fails, never reports zeros as
 * intact.  Both of libntvm's paths: the ioctl, and the madvise() alone
 * over published memory.
 */
TEST_F(nt, reset_undo_after_swap)
{
	PVOID base = NULL, b;
	char *p;
	int i;

	if (zram_swap_on())
		SKIP(return, "needs root and a zram swap device (the zram module)");
	ASSERT_EQ(0, pin_to_this_cpu());
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x20000, MEM_RESERVE | MEM_COMMIT,
					  PAGE_READWRITE));
	p = base;
	/* The second half published: committed again, found committed. */
	b = p + 0x10000;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b, 0x10000, MEM_COMMIT, PAGE_READWRITE));
	memset(p, 'y', 0x20000);
	ASSERT_EQ(0, madvise(p, 0x20000, MADV_PAGEOUT));
	ASSERT_LT(0, vm_swap_kb());
	for (i = 0; i < 2; i++) {
		char *h = p + i * 0x10000;

		ASSERT_EQ(h, VirtualAlloc(h, 0x10000, MEM_RESET, PAGE_READWRITE));
		SetLastError(0);
		EXPECT_EQ(NULL, VirtualAlloc(h, 0x10000, MEM_RESET_UNDO, PAGE_READWRITE))
			TH_LOG("%s: the undo said intact", i ? "published" : "ioctl");
		EXPECT_EQ(ERROR_GEN_FAILURE, GetLastError());
		EXPECT_EQ(0, h[0x1000]);
	}
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	zram_swap_off();
}

/* AnonHugePages of the mapping that holds p, in KiB (smaps); -1 if none. */
static long anon_huge_kb(const void *p)
{
	unsigned long lo, hi;
	char line[256];
	long kb = -1;
	int in = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && line[0] != ' ' &&
		    strchr(line, ' ')) {
			in = lo <= U(p) && U(p) < hi;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	if (f)
		fclose(f);
	return kb;
}

/*
 * A MEM_RESET of part of a transparent huge page: its madvise(MADV_FREE)
 * splits the huge page first, an invalidation of all 2 MiB that drops no
 * page.  Undos of that reset, and of a reset made after it in the same
 * huge page, succeed with the data there.  Both of libntvm's paths: the
 * ioctl, and the madvise() alone over published memory.
 */
TEST_F(nt, reset_undo_in_huge_page)
{
	const SIZE_T huge = 0x200000;
	PVOID base = NULL, b;
	char *p, *h;
	int i;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 3 * huge, MEM_RESERVE | MEM_COMMIT,
					   PAGE_READWRITE));
	p = P((U(base) + huge - 1) & ~(huge - 1));
	for (i = 0; i < 2; i++) {
		h = p + i * huge;
		/* The second one published: committed again, found committed. */
		b = h;
		if (i)
			ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b, huge, MEM_COMMIT, PAGE_READWRITE));
		ASSERT_EQ(0, madvise(h, huge, MADV_HUGEPAGE));
		memset(h, 'h', huge);
		if (anon_huge_kb(h) < 2048)
			SKIP(goto out, "no transparent huge page here");
		ASSERT_EQ(h + 0x10000, VirtualAlloc(h + 0x10000, 0x10000, MEM_RESET,
						    PAGE_READWRITE));
		ASSERT_EQ(h + 0x100000, VirtualAlloc(h + 0x100000, 0x10000, MEM_RESET,
						     PAGE_READWRITE));
		SetLastError(0);
		EXPECT_EQ(h + 0x10000, VirtualAlloc(h + 0x10000, 0x10000, MEM_RESET_UNDO,
						    PAGE_READWRITE))
			TH_LOG("%s: the split's reset counted lost", i ? "published" : "ioctl");
		EXPECT_EQ(0, GetLastError());
		SetLastError(0);
		EXPECT_EQ(h + 0x100000, VirtualAlloc(h + 0x100000, 0x10000, MEM_RESET_UNDO,
						     PAGE_READWRITE))
			TH_LOG("%s: the later reset counted lost", i ? "published" : "ioctl");
		EXPECT_EQ(0, GetLastError());
		EXPECT_EQ('h', h[0x10000]);
		EXPECT_EQ('h', h[0x1fffff]);
		EXPECT_EQ('h', h[0x10ffff]);
	}
out:
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/*
 * A fork() between a MEM_RESET and its undo shares the pages copy-on-write:
 * the undo's write copies each one and drops nothing, so the undo
 * succeeds with the data there.
 */
TEST_F(nt, reset_undo_after_fork)
{
	PVOID base = NULL;
	int go[2], status;
	char *p;
	pid_t pid;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE | MEM_COMMIT,
					  PAGE_READWRITE));
	p = base;
	memset(p, 'f', 0x10000);
	ASSERT_EQ(p, VirtualAlloc(p, 0x10000, MEM_RESET, PAGE_NOACCESS));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char c;

		/* Holds the pages shared until the parent's undo is done. */
		_exit(read(go[0], &c, 1) == 1 ? 0 : 1);
	}
	SetLastError(0);
	EXPECT_EQ(p, VirtualAlloc(p, 0x10000, MEM_RESET_UNDO, PAGE_READWRITE));
	EXPECT_EQ(0, GetLastError());
	EXPECT_EQ('f', p[0]);
	EXPECT_EQ('f', p[0xffff]);
	ASSERT_EQ(1, write(go[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	close(go[0]);
	close(go[1]);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/*
 * Between a MEM_RESET's ioctl and NTVM_IOC_RESET_DONE, only the arming
 * thread's own madvise(MADV_FREE) is not a discard: any other discard it
 * makes there (here MADV_PAGEOUT; reclaim or a signal handler alike) is,
 * and a later undo fails.  The calls are libntvm's, made by hand.
 */
TEST_F(nt, reset_window_sees_own_discards)
{
	struct ntvm_alloc_args a = { .size = sizeof(a) };
	PVOID base = NULL, b;
	SIZE_T sz;
	char *p;

	ASSERT_EQ(0, pin_to_this_cpu());
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x4000, MEM_RESERVE | MEM_COMMIT,
					  PAGE_READWRITE));
	p = base;
	memset(p, 'x', 0x4000);
	b = p;
	sz = 0x4000;
	a.type = MEM_RESET;
	a.protect = PAGE_READWRITE;
	a.base_ptr = (uintptr_t)&b;
	a.size_ptr = (uintptr_t)&sz;
	ASSERT_EQ(0, ioctl(ntvm_fd(), NTVM_IOC_ALLOCATE, &a));
	ASSERT_EQ(STATUS_SUCCESS, a.status);
	ASSERT_EQ(NTVM_APPLY_MADV_FREE, a.apply);
	ASSERT_EQ(0, madvise(p, 0x4000, MADV_FREE));
	ASSERT_EQ(0, madvise(p + 0x1000, 0x1000, MADV_PAGEOUT));
	ASSERT_EQ(0, ioctl(ntvm_fd(), NTVM_IOC_RESET_DONE, NULL));
	EXPECT_WIN32_ERROR(ERROR_GEN_FAILURE,
			   VirtualAlloc(p, 0x4000, MEM_RESET_UNDO, PAGE_READWRITE));
	EXPECT_EQ(0, p[0x1000]);
	EXPECT_EQ('x', p[0]);
	EXPECT_EQ('x', p[0x2000]);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/*
 * A MEM_RESET's watch ends with the memory: pages decommitted, released or
 * returned to a placeholder and committed again were never reset, so an
 * undo of them succeeds, and the rest of the reset range is still watched.
 */
TEST_F(nt, reset_watch_ends_with_the_memory)
{
	PVOID base = NULL, ph;
	char *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE | MEM_COMMIT,
					   PAGE_READWRITE));
	p = base;
	memset(p, 'a', 0x10000);
	ASSERT_EQ(p, VirtualAlloc(p, 0x10000, MEM_RESET, PAGE_NOACCESS));
	/* The decommit drops pages of the watched range. */
	ASSERT_TRUE(VirtualFree(p, 0x4000, MEM_DECOMMIT));
	ASSERT_EQ(p, VirtualAlloc(p, 0x4000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(p, VirtualAlloc(p, 0x4000, MEM_RESET_UNDO, PAGE_READWRITE));
	EXPECT_EQ(0, p[0]);
	EXPECT_EQ(p + 0x4000, VirtualAlloc(p + 0x4000, 0xc000, MEM_RESET_UNDO,
					   PAGE_READWRITE));
	EXPECT_EQ('a', p[0x4000]);

	/* Released, then a new allocation at the same address. */
	ASSERT_EQ(p, VirtualAlloc(p, 0x10000, MEM_RESET, PAGE_NOACCESS));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
	base = p;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE | MEM_COMMIT,
					   PAGE_READWRITE));
	ASSERT_EQ(p, base);
	EXPECT_EQ(p, VirtualAlloc(p, 0x10000, MEM_RESET_UNDO, PAGE_READWRITE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));

	/* Returned to a placeholder, then replaced by private memory again. */
	ph = VirtualAlloc2(NULL, NULL, 0x20000, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
			   PAGE_NOACCESS, NULL, 0);
	ASSERT_NE(NULL, ph);
	p = ph;
	ASSERT_TRUE(VirtualFree(p, 0x10000, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	ASSERT_EQ(p, VirtualAlloc2(NULL, p, 0x10000, MEM_RESERVE | MEM_COMMIT |
				   MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0));
	memset(p, 'b', 0x10000);
	ASSERT_EQ(p, VirtualAlloc(p, 0x10000, MEM_RESET, PAGE_NOACCESS));
	ASSERT_TRUE(VirtualFree(p, 0x10000, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	ASSERT_EQ(p, VirtualAlloc2(NULL, p, 0x10000, MEM_RESERVE | MEM_COMMIT |
				   MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0));
	EXPECT_EQ(p, VirtualAlloc(p, 0x10000, MEM_RESET_UNDO, PAGE_READWRITE));
	EXPECT_EQ(0, p[0]);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(p + 0x10000, 0, MEM_RELEASE));
}

/* ---- NtQueryVirtualMemory ---- */

/* spec 3.1, 3.4, 3.8 */
TEST_F(nt, query_rules)
{
	MEMORY_BASIC_INFORMATION m;
	PVOID base = NULL;
	SIZE_T len;
	void *own;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	m = region_of((char *)base + 0x10);
	EXPECT_EQ(U(base), U(m.BaseAddress));
	EXPECT_EQ(NULL, m.AllocationBase);
	EXPECT_EQ(0, m.AllocationProtect);
	EXPECT_EQ(MEM_FREE, m.State);
	EXPECT_EQ(PAGE_NOACCESS, m.Protect);
	EXPECT_EQ(0, m.Type);
	EXPECT_LE(0x10000, m.RegionSize);

	EXPECT_EQ(STATUS_INFO_LENGTH_MISMATCH,
		  NtQueryVirtualMemory(CUR, base, MemoryBasicInformation, &m, sizeof(m) - 1, &len));
	EXPECT_EQ(STATUS_INVALID_INFO_CLASS,
		  NtQueryVirtualMemory(CUR, base, 9, &m, sizeof(m), &len));
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtQueryVirtualMemory(CUR, P(MAXA + 1), MemoryBasicInformation,
				       &m, sizeof(m), &len));
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtQueryVirtualMemory(NULL, base, MemoryBasicInformation, &m, sizeof(m), &len));
	/*
	 * Memory ntvm did not allocate: a mapping of this program's own, and
	 * its stack, unless the stack lies above NT's user range (a 32-bit
	 * stack may begin in the last 64 KiB below 4 GiB, where the query is
	 * STATUS_INVALID_PARAMETER, as for any such address).
	 */
	own = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, own);
	m = region_of(own);
	EXPECT_EQ(MEM_COMMIT, m.State);
	EXPECT_EQ(PAGE_READWRITE, m.Protect);
	EXPECT_EQ(MEM_PRIVATE, m.Type);
	munmap(own, 4096);
	m = region_of(&len);
	if (U(&len) > MAXA) {
		EXPECT_EQ(STATUS_INVALID_PARAMETER,
			  NtQueryVirtualMemory(CUR, &len, MemoryBasicInformation, &m,
					       sizeof(m), NULL));
		return;
	}
	EXPECT_EQ(MEM_COMMIT, m.State);
	EXPECT_EQ(PAGE_READWRITE, m.Protect);
	EXPECT_EQ(MEM_PRIVATE, m.Type);
}

/* spec 3.5: coalescing, and the bulk form. */
TEST_F(nt, query_coalescing_bulk)
{
	MEMORY_BASIC_INFORMATION r[8];
	PVOID base = NULL, c;
	DWORD old;
	ULONG n = 8;
	char *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
	p = base;
	EXPECT_TRUE(VirtualProtect(p, 0x3000, PAGE_READONLY, &old));
	EXPECT_EQ(0x3000, region_of(p).RegionSize);
	EXPECT_TRUE(VirtualProtect(p, 0x3000, PAGE_READWRITE, &old));
	EXPECT_EQ(0x10000, region_of(p).RegionSize);
	EXPECT_TRUE(VirtualProtect(p + 0x4000, 0x1000, PAGE_EXECUTE_READ, &old));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(p + 0x8000, 0x2000, MEM_DECOMMIT));
	c = NULL;
	ASSERT_EQ(STATUS_SUCCESS, ntvm_query_regions(p, p + 0x10000, r, &n));
	ASSERT_EQ(5, n);
	EXPECT_EQ(U(p), U(r[0].BaseAddress));
	EXPECT_EQ(0x4000, r[0].RegionSize);
	EXPECT_EQ(PAGE_EXECUTE_READ, r[1].Protect);
	EXPECT_EQ(0x1000, r[1].RegionSize);
	EXPECT_EQ(0x3000, r[2].RegionSize);
	EXPECT_EQ(MEM_RESERVE, r[3].State);
	EXPECT_EQ(0x2000, r[3].RegionSize);
	EXPECT_EQ(0x6000, r[4].RegionSize);
	EXPECT_EQ(U(p), U(r[4].AllocationBase));
	(void)c;
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

TEST_F(nt, statistics)
{
	struct ntvm_stats before = stats(), after;
	PVOID a = NULL, b = NULL;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&a, 0x1000, MEM_COMMIT, PAGE_READWRITE));
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b, 0x30000, MEM_RESERVE, PAGE_NOACCESS));
	after = stats();
	EXPECT_EQ(before.allocations + 2, after.allocations);
	EXPECT_EQ(before.reserved_bytes + 0x31000, after.reserved_bytes);
	EXPECT_EQ(before.committed_bytes + 0x1000, after.committed_bytes);
	EXPECT_EQ(before.granularity_waste + 0xf000, after.granularity_waste);
	EXPECT_LT(0, after.largest_free);
	EXPECT_EQ(0, after.largest_free % 0x10000);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(a, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(b, 0, MEM_RELEASE));
	after = stats();
	EXPECT_EQ(before.allocations, after.allocations);
	EXPECT_EQ(before.reserved_bytes, after.reserved_bytes);
	EXPECT_EQ(before.committed_bytes, after.committed_bytes);
	EXPECT_EQ(before.granularity_waste, after.granularity_waste);
}

/* spec 0.2: NTSTATUS to Win32 error, for every status the API returns. */
TEST_F(nt, win32_errors)
{
	static const struct { NTSTATUS st; DWORD err; } map[] = {
		{ STATUS_SUCCESS, ERROR_SUCCESS },
		{ STATUS_CONFLICTING_ADDRESSES, ERROR_INVALID_ADDRESS },
		{ STATUS_NOT_MAPPED_VIEW, ERROR_INVALID_ADDRESS },
		{ STATUS_NOT_COMMITTED, ERROR_INVALID_ADDRESS },
		{ STATUS_FREE_VM_NOT_AT_BASE, ERROR_INVALID_ADDRESS },
		{ STATUS_MEMORY_NOT_ALLOCATED, ERROR_INVALID_ADDRESS },
		{ STATUS_UNABLE_TO_FREE_VM, ERROR_INVALID_PARAMETER },
		{ STATUS_INVALID_PAGE_PROTECTION, ERROR_INVALID_PARAMETER },
		{ STATUS_INVALID_PARAMETER, ERROR_INVALID_PARAMETER },
		{ STATUS_INVALID_PARAMETER_2, ERROR_INVALID_PARAMETER },
		{ STATUS_INVALID_PARAMETER_3, ERROR_INVALID_PARAMETER },
		{ STATUS_INVALID_PARAMETER_4, ERROR_INVALID_PARAMETER },
		{ STATUS_INVALID_PARAMETER_5, ERROR_INVALID_PARAMETER },
		{ STATUS_INVALID_INFO_CLASS, ERROR_INVALID_PARAMETER },
		{ STATUS_ALREADY_COMMITTED, ERROR_ACCESS_DENIED },
		{ STATUS_NO_MEMORY, ERROR_NOT_ENOUGH_MEMORY },
		{ STATUS_ACCESS_VIOLATION, ERROR_NOACCESS },
		{ STATUS_DATATYPE_MISALIGNMENT, ERROR_NOACCESS },
		{ STATUS_INVALID_HANDLE, ERROR_INVALID_HANDLE },
		{ STATUS_INFO_LENGTH_MISMATCH, ERROR_BAD_LENGTH },
		{ STATUS_PRIVILEGE_NOT_HELD, ERROR_PRIVILEGE_NOT_HELD },
		{ STATUS_NOT_SUPPORTED, ERROR_NOT_SUPPORTED },
		{ STATUS_INSUFFICIENT_RESOURCES, ERROR_NO_SYSTEM_RESOURCES },
		{ STATUS_COMMITMENT_LIMIT, ERROR_COMMITMENT_LIMIT },
		{ STATUS_UNSUCCESSFUL, ERROR_GEN_FAILURE },
	};
	MEMORY_BASIC_INFORMATION m;
	PVOID base = NULL;
	unsigned int i;
	DWORD old;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		EXPECT_EQ(map[i].err, RtlNtStatusToDosError(map[i].st))
			TH_LOG("status %#x", (unsigned int)map[i].st);

	/* Win32 failures not asserted elsewhere. */
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_WIN32_ERROR(ERROR_BAD_LENGTH, VirtualQuery(base, &m, sizeof(m) - 1));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER, VirtualQuery(P(MAXA + 1), &m, sizeof(m)));
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS,
			   VirtualFree((char *)base + 0x1000, 0, MEM_RELEASE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER, VirtualFree(base, 0x20000, MEM_DECOMMIT));
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS,
			   VirtualAlloc(base, 0x1000, MEM_RESERVE, PAGE_READWRITE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   VirtualAlloc(NULL, 0x1000, MEM_COMMIT, PAGE_WRITECOPY));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS, VirtualFree(base, 0, MEM_RELEASE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS,
			   VirtualProtect(base, 0x1000, PAGE_READONLY, &old));
	/* The last error is per thread and only set by failures. */
	SetLastError(77);
	EXPECT_NE(NULL, (base = VirtualAlloc(NULL, 0x1000, MEM_COMMIT, PAGE_READWRITE)));
	EXPECT_EQ(77, GetLastError());
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
}

/* ---- Robustness ---- */

/* Memory changed behind ntvm's back: the next call sees reality. */
TEST_F(nt, changed_behind_back)
{
	struct ntvm_stats before = stats();
	PVOID base = NULL, again;
	char *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x20000, MEM_COMMIT, PAGE_READWRITE));
	p = base;
	ASSERT_EQ(0, munmap(p + 0x10000, 0x10000));
	EXPECT_EQ(MEM_FREE, region_of(p + 0x10000).State);
	/* The allocation is gone; what is left is ordinary memory. */
	EXPECT_REGION(p, p, p, PAGE_READWRITE, 0x10000, MEM_COMMIT, PAGE_READWRITE,
		      MEM_PRIVATE);
	EXPECT_EQ(STATUS_MEMORY_NOT_ALLOCATED, nt_free(p, 0, MEM_RELEASE));
	EXPECT_EQ(before.allocations, stats().allocations);
	EXPECT_EQ(before.reserved_bytes, stats().reserved_bytes);
	ASSERT_EQ(0, munmap(p, 0x10000));
	again = p;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&again, 0x20000, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(U(p), U(again));
	/* A shared mapping over part of it. */
	ASSERT_NE(MAP_FAILED, mmap(p, 0x1000, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
				   -1, 0));
	again = p;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_alloc(&again, 0x1000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(U(p), U(again));
	EXPECT_EQ(MEM_MAPPED, region_of(p).Type);
	EXPECT_EQ(MEM_COMMIT, region_of(p).State);
	EXPECT_EQ(PAGE_READONLY, region_of(p).Protect);
	EXPECT_EQ(STATUS_MEMORY_NOT_ALLOCATED, nt_free(p + 0x10000, 0, MEM_RELEASE));
	munmap(p, 0x20000);

	/* An accessible MAP_FIXED mapping over reserved pages. */
	again = p;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&again, 0x20000, MEM_RESERVE, PAGE_NOACCESS));
	ASSERT_NE(MAP_FAILED, mmap(p + 0x3000, 0x1000, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	EXPECT_REGION(p + 0x3000, p + 0x3000, p + 0x3000, PAGE_READWRITE, 0x1000,
		      MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
	EXPECT_EQ(STATUS_MEMORY_NOT_ALLOCATED, nt_free(p, 0, MEM_RELEASE));
	EXPECT_EQ(before.allocations, stats().allocations);
	munmap(p, 0x20000);

	/* mremap() moves committed pages away. */
	again = p;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&again, 0x2000, MEM_RESERVE | MEM_COMMIT,
					   PAGE_READWRITE));
	p[0] = 9;
	char *moved = mremap(p, 0x2000, 0x2000, MREMAP_MAYMOVE | MREMAP_FIXED, p + 0x100000);

	ASSERT_EQ(p + 0x100000, moved);
	EXPECT_EQ(9, moved[0]);
	EXPECT_EQ(MEM_FREE, region_of(p).State);
	EXPECT_EQ(STATUS_MEMORY_NOT_ALLOCATED, nt_free(p, 0, MEM_RELEASE));
	EXPECT_EQ(PAGE_READWRITE, region_of(moved).Protect);
	EXPECT_EQ(STATUS_MEMORY_NOT_ALLOCATED, nt_free(moved, 0, MEM_RELEASE));
	EXPECT_EQ(before.allocations, stats().allocations);
	munmap(moved, 0x2000);
}

/* RLIMIT_AS: allocations beyond it fail and change nothing. */
TEST_F(nt, rlimit_as)
{
	struct rlimit rl = { 256 << 20, 256 << 20 };
	struct ntvm_stats before;
	PVOID base = NULL;

	ASSERT_EQ(0, setrlimit(RLIMIT_AS, &rl));
	before = stats();
	EXPECT_EQ(STATUS_NO_MEMORY, nt_alloc(&base, MB(512), MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(STATUS_NO_MEMORY, nt_alloc(&base, MB(512), MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(NULL, base);
	EXPECT_EQ(before.allocations, stats().allocations);
	EXPECT_EQ(before.reserved_bytes, stats().reserved_bytes);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, MB(16), MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* Mappings that count towards vm.max_map_count: not the [vsyscall] line. */
static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4352];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strchr(line, '\n') && !strstr(line, "[vsyscall]");
	fclose(f);
	return n;
}

static int write_sysctl(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = fputs(val, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/*
 * vm.max_map_count exhausted: every operation that needs one more
 * mapping fails with a clear status and changes nothing.
 */
TEST_F(nt, map_count_limit)
{
	char old[32] = "", val[32];
	PVOID base = NULL, c;
	SIZE_T size;
	ULONG o;
	char *p;
	FILE *f;
	NTSTATUS st[4];

	if (geteuid())
		SKIP(return, "needs root to set vm.max_map_count");
	if (!getenv("NTVM_TEST_SYSCTL"))	/* a crash would leave it changed */
		SKIP(return, "changes vm.max_map_count: test VM only (NTVM_TEST_SYSCTL=1)");
	f = fopen("/proc/sys/vm/max_map_count", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(old, sizeof(old), f));
	fclose(f);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x40000, MEM_RESERVE, PAGE_NOACCESS));
	p = base;
	c = p + 0x10000;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&c, 0x10000, MEM_COMMIT, PAGE_READWRITE));
	memset(p + 0x10000, 0x77, 0x10000);

	snprintf(val, sizeof(val), "%d", count_maps());
	ASSERT_EQ(0, write_sysctl("/proc/sys/vm/max_map_count", val));
	c = p + 0x30000;
	size = 0x1000;
	st[0] = NtAllocateVirtualMemory(CUR, &c, 0, &size, MEM_COMMIT, PAGE_READWRITE);
	c = p + 0x30000;
	size = 0x1000;
	st[1] = NtAllocateVirtualMemory(CUR, &c, 0, &size, MEM_COMMIT, PAGE_READONLY);
	st[2] = nt_free(p + 0x18000, 0x1000, MEM_DECOMMIT);
	c = p + 0x18000;
	size = 0x1000;
	st[3] = NtProtectVirtualMemory(CUR, &c, &size, PAGE_READONLY, &o);
	NTSTATUS rel = nt_free(p + 0x18000, 0x1000, MEM_RELEASE);
	ASSERT_EQ(0, write_sysctl("/proc/sys/vm/max_map_count", old));

	EXPECT_EQ(STATUS_INSUFFICIENT_RESOURCES, st[0]);
	EXPECT_EQ(STATUS_INSUFFICIENT_RESOURCES, st[1]);
	EXPECT_EQ(STATUS_INSUFFICIENT_RESOURCES, st[2]);
	EXPECT_EQ(STATUS_INSUFFICIENT_RESOURCES, st[3]);
	EXPECT_EQ(STATUS_INSUFFICIENT_RESOURCES, rel);
	EXPECT_REGION(p + 0x10000, p + 0x10000, p, PAGE_NOACCESS, 0x10000, MEM_COMMIT,
		      PAGE_READWRITE, MEM_PRIVATE);
	EXPECT_REGION(p + 0x20000, p + 0x20000, p, PAGE_NOACCESS, 0x20000, MEM_RESERVE, 0,
		      MEM_PRIVATE);
	EXPECT_EQ(0x77, p[0x18000]);
	EXPECT_TRUE(faults(p + 0x30000, 0));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* Where the racing threads work: free in 64-bit and in i386 processes. */
#define RACE_AREA ((uintptr_t)(sizeof(void *) == 8 ? 0x500000000ULL : 0x50000000UL))

struct race_arg {
	volatile int *stop;
	unsigned int seed;
	long ops;
};

static void *racer(void *v)
{
	struct race_arg *ra = v;
	uintptr_t area = RACE_AREA;
	PVOID b;
	SIZE_T s;
	ULONG o;

	while (!*ra->stop) {
		unsigned int r = rand_r(&ra->seed);
		uintptr_t at = area + (r % 16) * 0x10000 + ((r >> 8) % 16) * 0x1000;

		b = P(at);
		s = 0x1000 * (1 + (r >> 12) % 8);
		switch ((r >> 16) % 5) {
		case 0:
			b = P(at & ~0xffffULL);
			NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_RESERVE, PAGE_NOACCESS);
			break;
		case 1:
			/* No touching: another thread may decommit it at once. */
			NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_COMMIT, PAGE_READWRITE);
			break;
		case 2:
			NtProtectVirtualMemory(CUR, &b, &s, PAGE_READONLY, &o);
			break;
		case 3:
			NtFreeVirtualMemory(CUR, &b, &s, MEM_DECOMMIT);
			break;
		case 4:
			s = 0;
			NtFreeVirtualMemory(CUR, &b, &s, MEM_RELEASE);
			break;
		}
		ra->ops++;
	}
	return NULL;
}

/* Raw mmap() in the low addresses where bottom-up placement looks. */
static void *raw_mapper(void *v)
{
	struct race_arg *ra = v;
	void *p;

	while (!*ra->stop) {
		unsigned int r = rand_r(&ra->seed);

		p = mmap(P(0x10000 + (r % 64) * 0x10000ULL), 0x10000, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
			 -1, 0);
		if (p != MAP_FAILED)
			munmap(p, 0x10000);
		ra->ops++;
	}
	return NULL;
}

/*
 * Bottom-up reservations while another thread maps and unmaps in the same
 * addresses: a reservation that loses the race for its gap looks again.
 */
TEST_F_TIMEOUT(nt, placement_race, 1800)
{
	struct race_arg ra = { .seed = 99 };
	volatile int stop = 0;
	PVOID b[256];
	pthread_t t;
	SIZE_T s;
	int i, ok = 0;

	ra.stop = &stop;
	ASSERT_EQ(0, pthread_create(&t, NULL, raw_mapper, &ra));
	/* Race with a thread that is really running. */
	while (!__atomic_load_n(&ra.ops, __ATOMIC_RELAXED))
		sched_yield();
	for (i = 0; i < 256; i++) {
		b[i] = NULL;
		s = 0x10000;
		if (NtAllocateVirtualMemory(CUR, &b[i], 0, &s, MEM_RESERVE, PAGE_NOACCESS) ==
		    STATUS_SUCCESS) {
			ok++;
			EXPECT_EQ(0, U(b[i]) % 0x10000);
			EXPECT_EQ(MEM_RESERVE, region_of(b[i]).State);
		}
	}
	stop = 1;
	pthread_join(t, NULL);
	EXPECT_EQ(256, ok);
	EXPECT_LT(0, ra.ops);
	for (i = 0; i < 256; i++)
		if (b[i])
			EXPECT_EQ(STATUS_SUCCESS, nt_free(b[i], 0, MEM_RELEASE));
}

/* Threads race reserve, commit, protect, decommit and release. */
TEST_F_TIMEOUT(nt, threads_race, 1800)
{
	struct race_arg ra[4];
	pthread_t t[4];
	volatile int stop = 0;
	MEMORY_BASIC_INFORMATION m;
	uintptr_t a;
	int i;

	for (i = 0; i < 4; i++) {
		ra[i] = (struct race_arg){ .stop = &stop, .seed = 1234 + i };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, racer, &ra[i]));
	}
	sleep(2);
	stop = 1;
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_LT(0, ra[i].ops);
	}
	/* NT state and page tables agree: committed RW pages are writable. */
	for (a = RACE_AREA; a < RACE_AREA + 0x100000; a += 0x1000) {
		m = region_of(P(a));
		if (m.State == MEM_COMMIT && m.Protect == PAGE_READWRITE)
			*(volatile char *)a = 2;
		if (m.State == MEM_RESERVE)
			EXPECT_TRUE(faults(P(a), 0));
		if (m.State == MEM_COMMIT && m.Protect == PAGE_READONLY)
			EXPECT_TRUE(faults(P(a), 1));
		if (m.State != MEM_FREE && m.AllocationBase == P(a))
			nt_free(P(a), 0, MEM_RELEASE);
	}
}

/*
 * 100,000 live allocations.  Whole granules, so that neighbouring
 * reservations share a VMA and vm.max_map_count (65530) is no limit.
 */
TEST_F_TIMEOUT(nt, many_allocations, 1800)
{
	/*
	 * An i386 process has 4 GiB of address space: 20,000 then; a debug
	 * kernel, N times slower, gets 1/N of them (ntvm_test_scale()).
	 */
	const int n = (sizeof(void *) == 8 ? 100000 : 20000) / ntvm_test_scale();
	PVOID *v = calloc(n, sizeof(*v));
	struct ntvm_stats before = stats(), st;
	char *m;
	int i;

	ASSERT_NE(NULL, v);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&v[i], 0x10000, MEM_RESERVE, PAGE_NOACCESS))
			TH_LOG("allocation %d", i);
		ASSERT_EQ(0, U(v[i]) % 0x10000);
	}
	st = stats();
	EXPECT_EQ(before.allocations + n, st.allocations);
	EXPECT_EQ(before.reserved_bytes + (SIZE_T)n * 0x10000, st.reserved_bytes);
	m = v[n / 2];
	EXPECT_REGION(m, m, m, PAGE_NOACCESS, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
	/* Operations in the middle of the tree. */
	EXPECT_EQ(m + 0x1000, VirtualAlloc(m + 0x1000, 0x1000, MEM_COMMIT, PAGE_READWRITE));
	m[0x1000] = 1;
	EXPECT_REGION(m + 0x1000, m + 0x1000, m, PAGE_NOACCESS, 0x1000, MEM_COMMIT,
		      PAGE_READWRITE, MEM_PRIVATE);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(m + 0x1000, 0x1000, MEM_RELEASE));
	EXPECT_REGION(m + 0x2000, m + 0x2000, m + 0x2000, PAGE_NOACCESS, 0xe000, MEM_RESERVE, 0,
		      MEM_PRIVATE);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(m + 0x2000, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(m, 0x1000, MEM_RELEASE));
	v[n / 2] = NULL;
	for (i = 0; i < n; i++)
		if (v[i])
			ASSERT_EQ(STATUS_SUCCESS, nt_free(v[i], 0, MEM_RELEASE));
	st = stats();
	EXPECT_EQ(before.allocations, st.allocations);
	free(v);
}

/* A thousand processes that exit with live regions leak nothing. */
TEST_F_TIMEOUT(nt, exit_no_leak, 1800)
{
	long mms, allocs, prev = -1;
	int i, status;
	pid_t pid;

	/*
	 * The baseline, once the processes of earlier tests have gone: each
	 * address space goes an SRCU grace period after its exit, which a
	 * slow (debug) kernel can make long.
	 */
	for (i = 0; i < 3000; i++) {
		mms = ntvm_counter("address_spaces");
		if (mms == prev)
			break;
		prev = mms;
		usleep(20000);
	}
	allocs = ntvm_counter("allocations");
	if (mms < 0)
		SKIP(return, "debugfs counters not readable (not root?)");
	for (i = 0; i < 1000; i++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			PVOID b;
			int k;

			for (k = 0; k < 8; k++) {
				b = NULL;
				if (nt_alloc(&b, 0x20000, MEM_COMMIT, PAGE_READWRITE))
					_exit(1);
			}
			_exit(0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_EQ(0, status);
	}
	/* free_notifier runs after an SRCU grace period: allow a slow host 60 s. */
	for (i = 0; i < 6000 && ntvm_counter("address_spaces") != mms; i++)
		usleep(10000);
	EXPECT_EQ(mms, ntvm_counter("address_spaces"));
	EXPECT_EQ(allocs, ntvm_counter("allocations"));
}

/* vm.overcommit_memory=2: an over-limit commit fails and changes nothing. */
TEST_F(nt, commitment_limit)
{
	/* 64 GiB reserved, or 2 GiB in an i386 process; half committed. */
	const SIZE_T big = sizeof(void *) == 8 ? (SIZE_T)64 << 30 : (SIZE_T)2 << 30;
	char old[16] = "";
	PVOID base = NULL, c;
	FILE *f;

	if (geteuid())
		SKIP(return, "needs root to set vm.overcommit_memory");
	if (!getenv("NTVM_TEST_SYSCTL"))	/* a crash would leave it changed */
		SKIP(return, "changes vm.overcommit_memory: test VM only (NTVM_TEST_SYSCTL=1)");
	/* The commits must exceed the commit limit the machine will have. */
	f = fopen("/proc/meminfo", "r");
	if (f) {
		char line[128];
		unsigned long long kb;

		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "CommitLimit: %llu kB", &kb) == 1 &&
			    kb * 1024 >= big / 2) {
				fclose(f);
				SKIP(return, "this machine can commit more than %s can hold twice",
				     "this process's address space");
			}
		fclose(f);
	}
	f = fopen("/proc/sys/vm/overcommit_memory", "r+");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(old, sizeof(old), f));
	fclose(f);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, big, MEM_RESERVE, PAGE_NOACCESS));
	c = base;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&c, 0x10000, MEM_COMMIT, PAGE_READWRITE));
	memset(base, 0x42, 0x10000);

	f = fopen("/proc/sys/vm/overcommit_memory", "w");
	ASSERT_NE(NULL, f);
	fputs("2", f);
	fclose(f);
	c = (char *)base + 0x10000;
	EXPECT_EQ(STATUS_COMMITMENT_LIMIT,
		  nt_alloc(&c, big / 2, MEM_COMMIT, PAGE_READWRITE));
	c = NULL;
	EXPECT_EQ(STATUS_COMMITMENT_LIMIT,
		  nt_alloc(&c, big / 2, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(NULL, c);
	f = fopen("/proc/sys/vm/overcommit_memory", "w");
	ASSERT_NE(NULL, f);
	fputs(old, f);
	fclose(f);

	EXPECT_REGION(base, base, base, PAGE_NOACCESS, 0x10000, MEM_COMMIT, PAGE_READWRITE,
		      MEM_PRIVATE);
	EXPECT_REGION((char *)base + 0x10000, (char *)base + 0x10000, base, PAGE_NOACCESS,
		      big - 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
	EXPECT_EQ(0x42, ((char *)base)[0xffff]);
	EXPECT_TRUE(faults((char *)base + 0x10000, 0));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* Keep the output of a test that crashes the machine. */
static void __attribute__((constructor)) line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

TEST_HARNESS_MAIN
