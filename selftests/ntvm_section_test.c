// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm placeholder, section and view tests (kselftest harness).
 *
 * The scenarios are the [T] facts of shared/spec/nt-sections-placeholders.md,
 * cited as "spec N.N" (its scenarios as "spec 8.N").  Every failing call is
 * followed by a check that the state it could have touched is unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ntvm_selftest.h"

#define PH (MEM_RESERVE | MEM_RESERVE_PLACEHOLDER)
#define PRESERVE (MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER)
#define COALESCE (MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS)

/*
 * NtFreeVirtualMemory of len bytes at at, which must succeed and write
 * back want_base and want_size.
 */
#define ASSERT_FREED(at, len, type, want_base, want_size) do {		\
	PVOID __b = P(at);						\
	SIZE_T __s = (len);						\
	ASSERT_EQ(STATUS_SUCCESS, nt_free_out(&__b, &__s, type));	\
	EXPECT_EQ(U(want_base), U(__b));				\
	EXPECT_EQ((SIZE_T)(want_size), __s);				\
} while (0)
#define REPLACE (MEM_RESERVE | MEM_REPLACE_PLACEHOLDER)

static NTSTATUS nt_allocx(PVOID *base, SIZE_T size, ULONG type, ULONG prot)
{
	return NtAllocateVirtualMemoryEx(CUR, base, &size, type, prot, NULL, 0);
}

/* A placeholder piece as spec 6.2.1 describes it. */
#define EXPECT_PLACEHOLDER(at, size) \
	EXPECT_REGION(at, at, at, PAGE_NOACCESS, size, MEM_RESERVE, 0, MEM_PRIVATE)

FIXTURE(ph) {
	int unused;
};

FIXTURE_SETUP(ph)
{
	if (access("/dev/ntvm", F_OK))
		SKIP(return, "/dev/ntvm is not present");
	ASSERT_LE(0, ntvm_fd());
}

FIXTURE_TEARDOWN(ph)
{
}

/* Spec 6.1: creating placeholders, and the wrong ways. */
TEST_F(ph, create)
{
	struct ntvm_stats st0 = stats(), st1;
	PVOID p = NULL, b;
	SIZE_T size = 0x100000;

	/* Spec 6.1.2: the non-Ex call has no placeholders. */
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_alloc(&p, 0x10000, PH, PAGE_NOACCESS));
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_allocx(&p, 0x10000, PH, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_allocx(&p, 0x10000, MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS));
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_allocx(&p, 0x10000, PH | MEM_COMMIT, PAGE_NOACCESS));
	EXPECT_EQ(NULL, p);
	st1 = stats();
	EXPECT_EQ(st0.allocations, st1.allocations);
	EXPECT_EQ(st0.reserved_bytes, st1.reserved_bytes);

	ASSERT_EQ(STATUS_SUCCESS, NtAllocateVirtualMemoryEx(CUR, &p, &size, PH,
							    PAGE_NOACCESS, NULL, 0));
	EXPECT_EQ(0, U(p) & 0xffff);
	EXPECT_EQ(0x100000, size);
	EXPECT_PLACEHOLDER(p, 0x100000);
	EXPECT_REGION(U(p) + 0x54321, U(p) + 0x54000, p, PAGE_NOACCESS, 0x100000 - 0x54000,
		      MEM_RESERVE, 0, MEM_PRIVATE);
	EXPECT_TRUE(faults(p, 0));
	st1 = stats();
	EXPECT_EQ(st0.allocations + 1, st1.allocations);
	EXPECT_EQ(st0.reserved_bytes + 0x100000, st1.reserved_bytes);
	EXPECT_EQ(st0.committed_bytes, st1.committed_bytes);

	/* Over a placeholder (spec 6.1.2, 6.5.3). */
	b = p;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_allocx(&b, 0x10000, PH, PAGE_NOACCESS));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_alloc(&b, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_alloc(&b, 0x1000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_alloc(&b, 0x1000, MEM_RESET, PAGE_READWRITE));
	EXPECT_EQ(p, b);
	EXPECT_PLACEHOLDER(p, 0x100000);

	/* Win32 (spec 6.1, PMDK 10.9): an occupied address is 487. */
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS,
			   VirtualAlloc2(NULL, p, 0x10000, PH, PAGE_NOACCESS, NULL, 0));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   VirtualAlloc2(NULL, NULL, 0x10000, PH, PAGE_READWRITE, NULL, 0));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   VirtualAlloc2FromApp(NULL, NULL, 0x10000, MEM_RESERVE | MEM_COMMIT,
						PAGE_EXECUTE_READWRITE, NULL, 0));

	EXPECT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
	EXPECT_REGION(p, p, 0, 0, region_of(p).RegionSize, MEM_FREE, PAGE_NOACCESS, 0);
	/* Spec 6.1.3: an explicit base, again. */
	b = p;
	EXPECT_EQ(STATUS_SUCCESS, nt_allocx(&b, 0x20000, PH, PAGE_NOACCESS));
	EXPECT_EQ(p, b);
	EXPECT_PLACEHOLDER(p, 0x20000);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
	st1 = stats();
	EXPECT_EQ(st0.allocations, st1.allocations);
}

/* Spec 8.16 / 6.3 / 6.4: split, coalesce, replace, release (NT). */
TEST_F(ph, split_coalesce)
{
	struct ntvm_stats st0 = stats(), st1;
	PVOID p = NULL, b;

	ASSERT_EQ(STATUS_SUCCESS, nt_allocx(&p, 0x10000, PH, PAGE_NOACCESS));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_free(p, 0x10000, PRESERVE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_3, nt_free(p, 0, PRESERVE));
	EXPECT_EQ(STATUS_UNABLE_TO_FREE_VM, nt_free(P(U(p) + 0xf000), 0x2000, PRESERVE));
	EXPECT_PLACEHOLDER(p, 0x10000);
	ASSERT_FREED(U(p) + 0x8000, 0x4000, PRESERVE, U(p) + 0x8000, 0x4000);
	EXPECT_PLACEHOLDER(p, 0x8000);
	EXPECT_PLACEHOLDER(U(p) + 0x8000, 0x4000);
	EXPECT_PLACEHOLDER(U(p) + 0xc000, 0x4000);
	/* The pieces share the placeholder's 64K block: no waste. */
	st1 = stats();
	EXPECT_EQ(st0.allocations + 3, st1.allocations);
	EXPECT_EQ(st0.reserved_bytes + 0x10000, st1.reserved_bytes);
	EXPECT_EQ(st0.granularity_waste, st1.granularity_waste);
	/* Each piece is released on its own, with its own size. */
	ASSERT_FREED(U(p) + 0xc000, 0, MEM_RELEASE, U(p) + 0xc000, 0x4000);
	/* What it leaves of the block can hold no allocation: taken. */
	st1 = stats();
	EXPECT_EQ(st0.reserved_bytes + 0xc000, st1.reserved_bytes);
	EXPECT_EQ(st0.granularity_waste + 0x4000, st1.granularity_waste);
	EXPECT_EQ(STATUS_MEMORY_NOT_ALLOCATED, nt_free(P(U(p) + 0xc000), 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_FREE_VM_NOT_AT_BASE, nt_free(P(U(p) + 0x9000), 0, MEM_RELEASE));
	/* A hole in the range: no coalescing. */
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_free(p, 0x10000, COALESCE));
	ASSERT_FREED(U(p), 0xc000, COALESCE, U(p), 0xc000);
	EXPECT_PLACEHOLDER(p, 0xc000);
	ASSERT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));

	/*
	 * New P, split at 16K and 32K: head splits, which write back the
	 * placeholder's base and the split size (spec 6.3.1).
	 */
	p = NULL;
	ASSERT_EQ(STATUS_SUCCESS, nt_allocx(&p, 0x10000, PH, PAGE_NOACCESS));
	ASSERT_FREED(U(p), 0x4000, PRESERVE, U(p), 0x4000);
	ASSERT_FREED(U(p) + 0x4000, 0x4000, PRESERVE, U(p) + 0x4000, 0x4000);
	EXPECT_PLACEHOLDER(p, 0x4000);
	EXPECT_PLACEHOLDER(U(p) + 0x4000, 0x4000);
	EXPECT_PLACEHOLDER(U(p) + 0x8000, 0x8000);
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_free(p, 0x4000, COALESCE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4, nt_free(p, 0x10000, MEM_COALESCE_PLACEHOLDERS));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_free(p, 0x11000, COALESCE));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_free(p, 0xf000, COALESCE));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_free(P(U(p) + 0x1000), 0xf000, COALESCE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_3, nt_free(p, 0, COALESCE));
	EXPECT_EQ(STATUS_UNABLE_TO_FREE_VM, nt_free(p, 0x10000, MEM_RELEASE));
	EXPECT_PLACEHOLDER(p, 0x4000);
	EXPECT_PLACEHOLDER(U(p) + 0x4000, 0x4000);
	ASSERT_FREED(U(p), 0x10000, COALESCE, U(p), 0x10000);
	EXPECT_PLACEHOLDER(p, 0x10000);

	/* Split at 16K; replace the rest with private memory. */
	ASSERT_EQ(STATUS_SUCCESS, nt_free(p, 0x4000, PRESERVE));
	b = P(U(p) + 0x4000);
	ASSERT_EQ(STATUS_SUCCESS, nt_allocx(&b, 0xc000, REPLACE, PAGE_READWRITE));
	EXPECT_EQ(U(p) + 0x4000, U(b));
	EXPECT_REGION(b, b, b, PAGE_READWRITE, 0xc000, MEM_RESERVE, 0, MEM_PRIVATE);
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_free(p, 0x10000, COALESCE));
	ASSERT_FREED(U(p) + 0x4000, 0xc000, MEM_RELEASE, U(p) + 0x4000, 0xc000);
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_free(p, 0x10000, COALESCE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(p, 0x4000, MEM_RELEASE));
	EXPECT_EQ(STATUS_MEMORY_NOT_ALLOCATED, nt_free(P(U(p) + 0x8000), 0, MEM_RELEASE));
}

/* Spec 8.17 / 6.5: replacing with private memory, and back. */
TEST_F(ph, replace_private)
{
	struct ntvm_stats st0 = stats(), st1;
	PVOID p = NULL, b;
	SIZE_T s;
	unsigned int i;

	ASSERT_EQ(STATUS_SUCCESS, nt_allocx(&p, 0x10000, PH, PAGE_NOACCESS));
	b = p;
	ASSERT_EQ(STATUS_SUCCESS, nt_allocx(&b, 0x10000, REPLACE | MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(p, b);
	EXPECT_REGION(p, p, p, PAGE_READWRITE, 0x10000, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
	st1 = stats();
	EXPECT_EQ(st0.committed_bytes + 0x10000, st1.committed_bytes);
	memset(p, 0xcc, 0x10000);
	b = p;
	s = 0x10000;
	ASSERT_EQ(STATUS_SUCCESS, nt_free_out(&b, &s, PRESERVE));
	EXPECT_EQ(p, b);
	EXPECT_EQ(0x10000, s);
	EXPECT_PLACEHOLDER(p, 0x10000);
	EXPECT_TRUE(faults(p, 0));
	st1 = stats();
	EXPECT_EQ(st0.committed_bytes, st1.committed_bytes);
	/* The memory reads zero (spec 6.5.1). */
	b = p;
	ASSERT_EQ(STATUS_SUCCESS, nt_allocx(&b, 0x10000, REPLACE | MEM_COMMIT, PAGE_READONLY));
	EXPECT_EQ(0, *(volatile unsigned int *)p);
	for (i = 0; i < 0x10000; i += 0x1000)
		EXPECT_EQ(0, ((volatile char *)p)[i]);
	EXPECT_TRUE(faults(p, 1));
	EXPECT_REGION(p, p, p, PAGE_READONLY, 0x10000, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
	ASSERT_EQ(STATUS_SUCCESS, nt_free(p, 0x10000, PRESERVE));
	EXPECT_PLACEHOLDER(p, 0x10000);
	/* Wrong uses, each changing nothing. */
	b = p;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_allocx(&b, 0x10000, PH, PAGE_NOACCESS));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_allocx(&b, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_allocx(&b, 0x1000, REPLACE, PAGE_READWRITE));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_allocx(&b, 0x10000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_allocx(&b, 0x10000, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_allocx(&b, 0x10000, MEM_COMMIT | MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_alloc(&b, 0x10000, REPLACE, PAGE_READWRITE));
	b = NULL;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_allocx(&b, 0x10000, REPLACE, PAGE_READWRITE));
	EXPECT_EQ(NULL, b);
	EXPECT_PLACEHOLDER(p, 0x10000);
	/* Reserve-only replacement keeps its AllocationProtect (6.5.2). */
	b = p;
	ASSERT_EQ(STATUS_SUCCESS, nt_allocx(&b, 0x10000, REPLACE, PAGE_READONLY));
	EXPECT_REGION(p, p, p, PAGE_READONLY, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
	b = P(U(p) + 0x1000);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b, 0x1000, MEM_COMMIT, PAGE_READWRITE));
	*(volatile char *)b = 1;
	EXPECT_REGION(b, b, p, PAGE_READONLY, 0x1000, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
	/* Replacing an allocation that is not a free placeholder. */
	b = p;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_allocx(&b, 0x10000, REPLACE, PAGE_READWRITE));
	/* A partial return to a placeholder splits the allocation (6.5.6). */
	b = P(U(p) + 0x1000);
	s = 0x2000;
	ASSERT_EQ(STATUS_SUCCESS, nt_free_out(&b, &s, PRESERVE));
	EXPECT_REGION(p, p, p, PAGE_READONLY, 0x1000, MEM_RESERVE, 0, MEM_PRIVATE);
	EXPECT_PLACEHOLDER(U(p) + 0x1000, 0x2000);
	EXPECT_REGION(U(p) + 0x3000, U(p) + 0x3000, U(p) + 0x3000, PAGE_READONLY, 0xd000,
		      MEM_RESERVE, 0, MEM_PRIVATE);
	/* The pieces coalesce only when all are placeholders. */
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_free(p, 0x10000, COALESCE));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(p, 0x1000, PRESERVE));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(P(U(p) + 0x3000), 0xd000, PRESERVE));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(p, 0x10000, COALESCE));
	EXPECT_PLACEHOLDER(p, 0x10000);
	/* Plain release of a replacement frees it (6.5.5). */
	b = p;
	ASSERT_EQ(STATUS_SUCCESS, nt_allocx(&b, 0x10000, REPLACE | MEM_COMMIT, PAGE_READWRITE));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
	EXPECT_EQ(MEM_FREE, region_of(p).State);
	st1 = stats();
	EXPECT_EQ(st0.allocations, st1.allocations);
	EXPECT_EQ(st0.reserved_bytes, st1.reserved_bytes);
	EXPECT_EQ(st0.committed_bytes, st1.committed_bytes);
}

/* Spec 8.17 end: a write-watched replacement. */
TEST_F(ph, replace_write_watch)
{
	PVOID p = NULL, b, addrs[4];
	ULONG_PTR count = 4;
	ULONG gran;

	if (ntvm_write_watch_mode() == NTVM_WRITE_WATCH_NONE)
		SKIP(return, "no write-watch mechanism");
	ASSERT_EQ(STATUS_SUCCESS, nt_allocx(&p, 0x10000, PH, PAGE_NOACCESS));
	b = p;
	ASSERT_EQ(STATUS_SUCCESS,
		  nt_allocx(&b, 0x10000, REPLACE | MEM_WRITE_WATCH, PAGE_READONLY));
	b = p;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b, 0x10000, MEM_COMMIT, PAGE_READWRITE));
	((volatile char *)p)[0x1000] = 1;
	ASSERT_EQ(0, GetWriteWatch(0, p, 0x10000, addrs, &count, &gran));
	ASSERT_EQ(1, count);
	EXPECT_EQ(U(p) + 0x1000, U(addrs[0]));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
}

/* Spec 6.3 / 6.8 through Win32, VirtualFree and VirtualFreeEx. */
TEST_F(ph, win32)
{
	PVOID p;

	SetLastError(0xdead);
	p = VirtualAlloc2(NULL, NULL, 0x20000, PH, PAGE_NOACCESS, NULL, 0);
	ASSERT_NE(NULL, p);
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS, VirtualFree(p, 0x20000, PRESERVE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER, VirtualFree(p, 0, PRESERVE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER, VirtualFree(p, 0x1000, MEM_RELEASE));
	/* Page-granular split (spec 6.3.2). */
	EXPECT_TRUE(VirtualFreeEx(CUR, P(U(p) + 0x1000), 0x1000, PRESERVE));
	EXPECT_TRUE(VirtualFree(P(U(p) + 0x2000), 0x1000, PRESERVE));
	EXPECT_PLACEHOLDER(p, 0x1000);
	EXPECT_PLACEHOLDER(U(p) + 0x1000, 0x1000);
	EXPECT_PLACEHOLDER(U(p) + 0x2000, 0x1000);
	EXPECT_PLACEHOLDER(U(p) + 0x3000, 0x1d000);
	EXPECT_EQ(P(U(p) + 0x1000), VirtualAlloc2(NULL, P(U(p) + 0x1000), 0x1000,
						   REPLACE | MEM_COMMIT, PAGE_READWRITE,
						   NULL, 0));
	*(volatile char *)P(U(p) + 0x1000) = 7;
	EXPECT_TRUE(faults(p, 0));
	EXPECT_TRUE(faults(P(U(p) + 0x2000), 0));
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS, VirtualFree(p, 0x20000, COALESCE));
	EXPECT_TRUE(VirtualFree(P(U(p) + 0x1000), 0x1000, PRESERVE));
	EXPECT_TRUE(VirtualFreeEx(CUR, p, 0x20000, COALESCE));
	EXPECT_PLACEHOLDER(p, 0x20000);
	EXPECT_WIN32_ERROR(ERROR_INVALID_HANDLE, VirtualFreeEx(NULL, p, 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/* A committed read-write allocation with extended parameters. */
static NTSTATUS commit_ex(PVOID *p, SIZE_T *s, MEM_EXTENDED_PARAMETER *ep,
			  ULONG n)
{
	return NtAllocateVirtualMemoryEx(CUR, p, s, MEM_RESERVE | MEM_COMMIT,
					 PAGE_READWRITE, ep, n);
}

/* Spec 6.10: extended parameters of NtAllocateVirtualMemoryEx. */
TEST_F(ph, extended_parameters)
{
	/* A window of the user range: 8 GiB up, or 512 MiB for 32 bits. */
	const uintptr_t lo = sizeof(void *) == 8 ? (uintptr_t)0x200000000ULL : 0x20000000;
	const uintptr_t hi = sizeof(void *) == 8 ? (uintptr_t)0x2ffffffffULL : 0x2fffffff;
	MEM_ADDRESS_REQUIREMENTS req = {
		.LowestStartingAddress = P(lo),
		.HighestEndingAddress = P(hi),
		.Alignment = 0x100000,
	};
	MEM_EXTENDED_PARAMETER ep[3];
	PVOID p;
	SIZE_T s;

	memset(ep, 0, sizeof(ep));
	ep[0].Type = MemExtendedParameterAddressRequirements;
	ep[0].Pointer = &req;
	ep[1].Type = MemExtendedParameterNumaNode;
	ep[1].ULong = 0;
	ep[2].Type = MemExtendedParameterAttributeFlags;
	ep[2].ULong64 = 0;
	p = NULL;
	s = 0x30000;
	ASSERT_EQ(STATUS_SUCCESS, NtAllocateVirtualMemoryEx(CUR, &p, &s, PH, PAGE_NOACCESS,
							    ep, 3));
	EXPECT_LE(lo, U(p));
	EXPECT_GE((uint64_t)hi + 1, (uint64_t)U(p) + s);
	EXPECT_EQ(0, U(p) & 0xfffff);
	EXPECT_PLACEHOLDER(p, 0x30000);
	/* Requirements with an explicit base: refused (6.10.1). */
	{
		PVOID b = p;

		s = 0x10000;
		EXPECT_EQ(STATUS_INVALID_PARAMETER,
			  NtAllocateVirtualMemoryEx(CUR, &b, &s, REPLACE, PAGE_READWRITE, ep, 1));
		EXPECT_EQ(p, b);
	}
	EXPECT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
	/* The same type twice; type 0; type Max (6.10.5). */
	ep[0] = ep[2];
	p = NULL;
	s = 0x10000;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &p, &s, PH, PAGE_NOACCESS, ep, 3));
	EXPECT_EQ(NULL, p);
	ep[0].Type = MemExtendedParameterInvalidType;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &p, &s, PH, PAGE_NOACCESS, ep, 1));
	ep[0].Type = MemExtendedParameterMax;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &p, &s, PH, PAGE_NOACCESS, ep, 1));
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &p, &s, PH, PAGE_NOACCESS, NULL, 1));
	/* Attribute flags: EC code is ARM64EC only (6.10.3). */
	ep[0].Type = MemExtendedParameterAttributeFlags;
	ep[0].ULong64 = MEM_EXTENDED_PARAMETER_EC_CODE;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, commit_ex(&p, &s, ep, 1));
	ep[0].ULong64 = MEM_EXTENDED_PARAMETER_NONPAGED;
	EXPECT_EQ(STATUS_NOT_SUPPORTED, commit_ex(&p, &s, ep, 1));
	EXPECT_EQ(NULL, p);
	/*
	 * What only ntvm refuses comes after Windows' checks of every
	 * parameter: a type twice, or an invalid one after it, is
	 * STATUS_INVALID_PARAMETER (2.6.5: ImageMachine twice).
	 */
	ep[1] = ep[0];
	EXPECT_EQ(STATUS_INVALID_PARAMETER, commit_ex(&p, &s, ep, 2));
	ep[0].Type = ep[1].Type = MemExtendedParameterImageMachine;
	ep[0].ULong = ep[1].ULong = 0x8664;
	EXPECT_EQ(STATUS_NOT_SUPPORTED, commit_ex(&p, &s, ep, 1));
	EXPECT_EQ(STATUS_INVALID_PARAMETER, commit_ex(&p, &s, ep, 2));
	ep[1].Type = MemExtendedParameterInvalidType;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, commit_ex(&p, &s, ep, 2));
	EXPECT_EQ(NULL, p);
	EXPECT_EQ(0x10000, s);
	/* A NUMA node, any node: a no-op (6.10.4). */
	ep[0].Type = MemExtendedParameterNumaNode;
	ep[0].ULong = 3;
	ASSERT_EQ(STATUS_SUCCESS, commit_ex(&p, &s, ep, 1));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
}

/* Placeholders changed behind ntvm's back (munmap, mremap). */
TEST_F(ph, behind_back)
{
	struct ntvm_stats st0 = stats(), st1;
	PVOID p = NULL, b;
	HANDLE h;
	void *r;
	char *a;

	ASSERT_EQ(STATUS_SUCCESS, nt_allocx(&p, 0x40000, PH, PAGE_NOACCESS));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(p, 0x10000, PRESERVE));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(P(U(p) + 0x10000), 0x10000, PRESERVE));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(P(U(p) + 0x20000), 0x10000, PRESERVE));
	/* munmap() of the second piece: it is gone, and a hole. */
	ASSERT_EQ(0, munmap(P(U(p) + 0x10000), 0x10000));
	EXPECT_EQ(MEM_FREE, region_of(P(U(p) + 0x10000)).State);
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_free(p, 0x40000, COALESCE));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_free(p, 0x20000, COALESCE));
	b = P(U(p) + 0x10000);
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_allocx(&b, 0x10000, REPLACE, PAGE_READWRITE));
	/* mremap() of the third piece elsewhere: gone from its place. */
	r = mremap(P(U(p) + 0x20000), 0x10000, 0x10000, MREMAP_MAYMOVE | MREMAP_FIXED,
		   P(U(p) + 0x10000));
	ASSERT_EQ(U(p) + 0x10000, U(r));
	b = P(U(p) + 0x20000);
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_allocx(&b, 0x10000, REPLACE, PAGE_READWRITE));
	EXPECT_EQ(MEM_FREE, region_of(P(U(p) + 0x20000)).State);
	/* The moved mapping is not ntvm's: no placeholder there. */
	EXPECT_NE(MEM_RESERVE, region_of(P(U(p) + 0x10000)).State);
	munmap(P(U(p) + 0x10000), 0x10000);
	EXPECT_PLACEHOLDER(p, 0x10000);
	EXPECT_PLACEHOLDER(U(p) + 0x30000, 0x10000);
	/*
	 * Anonymous memory mapped over the last piece (MAP_FIXED): not the
	 * placeholder any more, which is PROT_NONE; neither a view nor private
	 * memory replaces it, and its contents stay.
	 */
	a = mmap(P(U(p) + 0x31000), 0x1000, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(U(p) + 0x31000, U(a));
	a[0] = 'A';
	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000, NULL);
	ASSERT_NE(NULL, h);
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   MapViewOfFile3(h, NULL, P(U(p) + 0x30000), 0, 0x10000,
					  MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0));
	b = P(U(p) + 0x30000);
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_allocx(&b, 0x10000, REPLACE, PAGE_READWRITE));
	EXPECT_EQ('A', a[0]);
	EXPECT_EQ(STATUS_MEMORY_NOT_ALLOCATED, nt_free(P(U(p) + 0x30000), 0, MEM_RELEASE));
	munmap(P(U(p) + 0x30000), 0x10000);
	CloseHandle(h);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
	st1 = stats();
	EXPECT_EQ(st0.allocations, st1.allocations);
	EXPECT_EQ(st0.reserved_bytes, st1.reserved_bytes);
}

struct race {
	volatile int *stop;
	unsigned int seed;
	long ops, ok;
	uintptr_t area;
	int ended;		/* the racer returned */
};

/* Private reserve/commit/free in an area of its own. */
static void *private_racer(void *v)
{
	struct race *r = v;
	PVOID b;
	SIZE_T s;

	while (!*r->stop) {
		b = NULL;
		s = 0x10000 * (1 + rand_r(&r->seed) % 4);
		if (!nt_alloc(&b, s, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE)) {
			((volatile char *)b)[0] = 1;
			s = 0;
			if (!NtFreeVirtualMemory(CUR, &b, &s, MEM_RELEASE))
				r->ok++;
		}
		r->ops++;
	}
	return NULL;
}

/* Split, replace, put back and coalesce one placeholder, again and again. */
static void *placeholder_racer(void *v)
{
	struct race *r = v;
	uintptr_t p = r->area;
	unsigned int k;
	PVOID b;

	while (!*r->stop) {
		k = 1 + rand_r(&r->seed) % 15;
		if (nt_free(P(p + k * 0x1000), 0x1000, PRESERVE))
			break;
		b = P(p + k * 0x1000);
		if (nt_allocx(&b, 0x1000, REPLACE | MEM_COMMIT, PAGE_READWRITE))
			break;
		((volatile char *)b)[0] = (char)k;
		if (nt_free(b, 0x1000, PRESERVE))
			break;
		if (nt_free(P(p), 0x10000, COALESCE))
			break;
		r->ok++;
		r->ops++;
	}
	__atomic_store_n(&r->ended, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Has placeholder racer r made more than 10 rounds, or stopped? */
static int race_far_enough(struct race *r)
{
	return __atomic_load_n(&r->ended, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&r->ok, __ATOMIC_RELAXED) > 10;
}

/* Threads split/replace placeholders while others allocate and free. */
TEST_F_TIMEOUT(ph, threads, 1800)
{
	struct race rs[4];
	pthread_t t[4];
	volatile int stop = 0;
	PVOID p[2] = { NULL, NULL };
	int i;

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(STATUS_SUCCESS, nt_allocx(&p[i], 0x10000, PH, PAGE_NOACCESS));
	}
	for (i = 0; i < 4; i++) {
		rs[i] = (struct race){ .stop = &stop, .seed = 7 + i,
				       .area = i < 2 ? U(p[i]) : 0 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, i < 2 ? placeholder_racer :
					    private_racer, &rs[i]));
	}
	/* 3 s, and longer where the kernel is slow (a debug kernel). */
	for (i = 0; i < 600; i++) {
		sleep(1);
		if (i >= 2 && race_far_enough(&rs[0]) && race_far_enough(&rs[1]))
			break;
	}
	stop = 1;
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(rs[i].ops, rs[i].ok);
		EXPECT_LT(10, rs[i].ok);
		EXPECT_PLACEHOLDER(p[i], 0x10000);
		EXPECT_EQ(STATUS_SUCCESS, nt_free(p[i], 0, MEM_RELEASE));
	}
	for (i = 2; i < 4; i++)
		EXPECT_EQ(rs[i].ops, rs[i].ok);
}

/* No leak: many processes that leave placeholders behind. */
TEST_F(ph, no_leak)
{
	long allocs = ntvm_counter("allocations");
	int i, status;
	pid_t pid;

	for (i = 0; i < 20; i++) {
		pid = fork();
		if (!pid) {
			PVOID b = NULL;
			int ok = !nt_allocx(&b, 0x100000, PH, PAGE_NOACCESS) &&
				 !nt_free(P(U(b) + 0x3000), 0x5000, PRESERVE);

			_exit(ok ? 0 : 1);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_EQ(0, status);
	}
	if (allocs >= 0)
		EXPECT_EQ(allocs, ntvm_counter("allocations"));
}


/* ==== Sections and views ==== */

FIXTURE(sec) {
	int unused;
};

FIXTURE_SETUP(sec)
{
	if (access("/dev/ntvm", F_OK))
		SKIP(return, "/dev/ntvm is not present");
	ASSERT_LE(0, ntvm_fd());
}

FIXTURE_TEARDOWN(sec)
{
}

/* SECTION_IMAGE_INFORMATION's size, for the caller's word width. */
#define IMAGE_INFO_SIZE (sizeof(void *) == 8 ? 64 : 48)

static NTSTATUS mksec(HANDLE *h, uint64_t size, ULONG prot, ULONG attrs, HANDLE file)
{
	LARGE_INTEGER li;

	li.QuadPart = (int64_t)size;
	return NtCreateSection(h, SECTION_ALL_ACCESS, NULL, &li, prot, attrs, file);
}

static NTSTATUS mapv(HANDLE h, PVOID *base, uint64_t off, SIZE_T *size, ULONG type,
		     ULONG prot)
{
	LARGE_INTEGER li;

	li.QuadPart = (int64_t)off;
	return NtMapViewOfSection(h, CUR, base, 0, 0, &li, size, ViewShare, type, prot);
}

static SECTION_BASIC_INFORMATION secinfo(HANDLE h)
{
	SECTION_BASIC_INFORMATION b;

	memset(&b, 0xcc, sizeof(b));
	if (NtQuerySection(h, SectionBasicInformation, &b, sizeof(b), NULL))
		memset(&b, 0xee, sizeof(b));
	return b;
}

/* A temporary file of size bytes, each byte its offset's low bits. */
static int tmpfile_of(size_t size, int flags)
{
	char path[] = "/tmp/ntvmsecXXXXXX";
	int fd = mkstemp(path), ro;
	size_t i;

	if (fd < 0)
		return -1;
	for (i = 0; i < size; i++) {
		unsigned char c = (unsigned char)(i * 7 + 1);

		if (write(fd, &c, 1) != 1)
			return -1;
	}
	if (flags == O_RDONLY) {
		ro = open(path, O_RDONLY);
		close(fd);
		fd = ro;
	}
	unlink(path);
	return fd;
}

/*
 * Could this machine charge bytes of commit at once?  With
 * vm.overcommit_memory 1 anything goes; otherwise no more than its memory
 * and swap.
 */
static int could_commit(uint64_t bytes)
{
	FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
	unsigned long long kb, total = 0;
	char line[128];
	int mode = 0;

	if (f) {
		if (fscanf(f, "%d", &mode) != 1)
			mode = 0;
		fclose(f);
	}
	if (mode == 1)
		return 1;
	f = fopen("/proc/meminfo", "r");
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1 ||
		    sscanf(line, "SwapTotal: %llu kB", &kb) == 1)
			total += kb;
	fclose(f);
	return total * 1024 >= bytes;
}

/* Spec 1.2, 1.3.1, 1.3.5, 1.3.6, 1.4, 1.6, 2.3.1, 8.3, 8.4, 8.11: pagefile sections. */
TEST_F(sec, create_pagefile)
{
	SECTION_BASIC_INFORMATION b;
	SIZE_T len = 0;
	HANDLE h = NULL, h2;
	char buf[64];
	long secs = ntvm_counter("sections");

	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x3457, PAGE_READONLY, SEC_COMMIT, NULL));
	b = secinfo(h);
	EXPECT_EQ(NULL, b.BaseAddress);
	EXPECT_EQ(SEC_COMMIT, b.Attributes);
	EXPECT_EQ(0x4000, b.Size.QuadPart);
	EXPECT_EQ(STATUS_INFO_LENGTH_MISMATCH,
		  NtQuerySection(h, SectionBasicInformation, buf, sizeof(b) - 1, &len));
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQuerySection(h, SectionBasicInformation, buf, sizeof(b) + 1, &len));
	EXPECT_EQ(sizeof(b), len);
	EXPECT_EQ(STATUS_SECTION_NOT_IMAGE,
		  NtQuerySection(h, SectionImageInformation, buf, sizeof(buf), &len));
	EXPECT_EQ(STATUS_INFO_LENGTH_MISMATCH,
		  NtQuerySection(h, SectionImageInformation, buf, IMAGE_INFO_SIZE - 1, &len));
	if (secs >= 0)
		EXPECT_EQ(secs + 1, ntvm_counter("sections"));
	EXPECT_EQ(STATUS_SUCCESS, NtClose(h));
	if (secs >= 0)
		EXPECT_EQ(secs, ntvm_counter("sections"));

	/* The attribute rules at NT level (spec 1.2.3). */
	EXPECT_EQ(STATUS_INVALID_PARAMETER_6, mksec(&h, 0x1000, PAGE_READWRITE, 0, NULL));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_6,
		  mksec(&h, 0x1000, PAGE_READWRITE, SEC_RESERVE | SEC_COMMIT, NULL));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_6,
		  mksec(&h, 0x1000, PAGE_READWRITE, SEC_COMMIT | SEC_LARGE_PAGES, NULL));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_6,
		  mksec(&h, 0x1000, PAGE_READWRITE, SEC_FILE | SEC_COMMIT, NULL));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_6, mksec(&h, 0x1000, PAGE_READWRITE, 0x100, NULL));
	EXPECT_EQ(STATUS_INVALID_FILE_FOR_SECTION,
		  mksec(&h, 0x1000, PAGE_READONLY, SEC_IMAGE, NULL));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
		  mksec(&h, 0x1000, PAGE_NOACCESS, SEC_COMMIT, NULL));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
		  mksec(&h, 0x1000, PAGE_EXECUTE, SEC_COMMIT, NULL));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
		  mksec(&h, 0x1000, PAGE_READWRITE | PAGE_GUARD, SEC_COMMIT, NULL));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4, mksec(&h, 0, PAGE_READWRITE, SEC_COMMIT, NULL));
	EXPECT_EQ(STATUS_SECTION_TOO_BIG,
		  mksec(&h, 0x800000000000ULL, PAGE_READWRITE, SEC_RESERVE, NULL));
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  mksec(&h, 0x1000, PAGE_READWRITE, SEC_COMMIT, NTVM_FD_TO_HANDLE(999)));
	if (secs >= 0)
		EXPECT_EQ(secs, ntvm_counter("sections"));

	/*
	 * Only a regular file that can be mapped backs a section: not a pipe,
	 * a directory, a device, an anonymous inode (an eventfd, a section
	 * handle).  The handle stays as it was.
	 */
	{
		HANDLE other, before = NTVM_FD_TO_HANDLE(-7);
		int pfd[2], bad[5], i;

		ASSERT_EQ(STATUS_SUCCESS,
			  mksec(&other, 0x1000, PAGE_READWRITE, SEC_COMMIT, NULL));
		ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
		bad[0] = pfd[0];
		bad[1] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		bad[2] = open("/dev/null", O_RDWR | O_CLOEXEC);
		bad[3] = eventfd(0, EFD_CLOEXEC);
		bad[4] = NTVM_HANDLE_TO_FD(other);
		for (i = 0; i < 5; i++) {
			ASSERT_LE(0, bad[i]);
			h = before;
			EXPECT_EQ(STATUS_INVALID_FILE_FOR_SECTION,
				  mksec(&h, 0x1000, PAGE_READONLY, SEC_COMMIT,
					NTVM_FD_TO_HANDLE(bad[i]))) TH_LOG("descriptor %d", i);
			EXPECT_EQ(before, h);
		}
		if (secs >= 0)
			EXPECT_EQ(secs + 1, ntvm_counter("sections"));
		for (i = 0; i < 4; i++)
			close(bad[i]);
		close(pfd[1]);
		EXPECT_EQ(STATUS_SUCCESS, NtClose(other));
	}

	/* Spec 1.3.6, 10.5: a 2 TB SEC_RESERVE section works. */
	ASSERT_EQ(STATUS_SUCCESS,
		  mksec(&h, 0x20000000000ULL, PAGE_EXECUTE_READWRITE, SEC_RESERVE, NULL));
	EXPECT_EQ(SEC_RESERVE, secinfo(h).Attributes);
	EXPECT_EQ(0x20000000000LL, secinfo(h).Size.QuadPart);
	NtClose(h);

	/*
	 * Spec 1.3.6, 8.11 (Windows Server 2003 x64; 64-bit only, WoW64
	 * differs): a 512 GB SEC_COMMIT section is charged whole at creation,
	 * more than this machine can commit: STATUS_COMMITMENT_LIMIT, no
	 * section, no handle.  An 8 GB SEC_RESERVE section maps whole with
	 * ViewSize 0, and the view size comes back as 0x200000000 (2.3.1).
	 */
	if (sizeof(void *) == 8) {
		HANDLE before = NTVM_FD_TO_HANDLE(-7);
		PVOID v = NULL;
		SIZE_T vs = 0;

		if (could_commit(0x8000000000ULL)) {
			TH_LOG("this machine could commit 512 GB: COMMITMENT_LIMIT not checked");
		} else {
			h = before;
			EXPECT_EQ(STATUS_COMMITMENT_LIMIT,
				  mksec(&h, 0x8000000000ULL, PAGE_READWRITE, SEC_COMMIT, NULL));
			EXPECT_EQ(before, h);
			if (secs >= 0)
				EXPECT_EQ(secs, ntvm_counter("sections"));
		}
		ASSERT_EQ(STATUS_SUCCESS,
			  mksec(&h, 0x200000000ULL, PAGE_READWRITE, SEC_RESERVE, NULL));
		ASSERT_EQ(STATUS_SUCCESS, mapv(h, &v, 0, &vs, 0, PAGE_READWRITE));
		EXPECT_EQ(0x200000000ULL, (uint64_t)vs);
		EXPECT_EQ(0, U(v) & 0xffff);
		EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x200000000ULL, MEM_RESERVE, 0, MEM_MAPPED);
		EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
		EXPECT_EQ(MEM_FREE, region_of(v).State);
		EXPECT_EQ(STATUS_SUCCESS, NtClose(h));
		if (secs >= 0)
			EXPECT_EQ(secs, ntvm_counter("sections"));
	}

	/* Win32 (spec 1.2.1, 1.5.2). */
	SetLastError(0xdeadbeef);
	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4090, NULL);
	ASSERT_NE(NULL, h);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	EXPECT_EQ(SEC_COMMIT, secinfo(h).Attributes);
	EXPECT_EQ(0x1000, secinfo(h).Size.QuadPart);
	CloseHandle(h);
	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_RESERVE, 0,
			      0x10000, NULL);
	ASSERT_NE(NULL, h);
	EXPECT_EQ(SEC_RESERVE, secinfo(h).Attributes);
	CloseHandle(h);
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0,
					     NULL));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_EXECUTE, 0, 4096,
					     NULL));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   CreateFileMapping(INVALID_HANDLE_VALUE, NULL,
					     PAGE_READWRITE | SEC_NOCACHE, 0, 4096, NULL));
	EXPECT_WIN32_ERROR(ERROR_BAD_EXE_FORMAT,
			   CreateFileMapping(INVALID_HANDLE_VALUE, NULL,
					     PAGE_READWRITE | SEC_IMAGE, 0, 4096, NULL));
	/* Not a section handle. */
	h = NULL;
	h2 = NTVM_FD_TO_HANDLE(ntvm_fd());
	EXPECT_EQ(STATUS_OBJECT_TYPE_MISMATCH,
		  NtQuerySection(h2, SectionBasicInformation, buf, sizeof(b), NULL));
	if (secs >= 0)
		EXPECT_EQ(secs, ntvm_counter("sections"));
}

/* Spec 1.3.2 - 1.3.4, 1.4.3, 2.3, 8.3: file sections. */
TEST_F(sec, create_file)
{
	int fd = tmpfile_of(0x3456, O_RDWR), rofd = -1, empty;
	SECTION_BASIC_INFORMATION b;
	HANDLE h, hf;
	PVOID v = NULL;
	SIZE_T size;
	unsigned char c;
	struct stat stt;
	PVOID c0;

	ASSERT_LE(0, fd);
	hf = NTVM_FD_TO_HANDLE(fd);
	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0, PAGE_READONLY, SEC_COMMIT, hf));
	b = secinfo(h);
	EXPECT_EQ(SEC_FILE, b.Attributes);
	EXPECT_EQ(0x3456, b.Size.QuadPart);
	NtClose(h);
	/*
	 * Spec 1.3.2: CreateFileMapping of 36 bytes of a larger file: a
	 * section of exactly 36 bytes; the file keeps its size.
	 */
	SetLastError(0xdeadbeef);
	h = CreateFileMapping(hf, NULL, PAGE_READONLY, 0, 36, NULL);
	ASSERT_NE(NULL, h);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	b = secinfo(h);
	EXPECT_EQ(SEC_FILE, b.Attributes);
	EXPECT_EQ(36, b.Size.QuadPart);
	EXPECT_TRUE(CloseHandle(h));
	ASSERT_EQ(0, fstat(fd, &stt));
	EXPECT_EQ(0x3456, stt.st_size);
	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x3452, PAGE_READONLY, SEC_RESERVE, hf));
	EXPECT_EQ(SEC_FILE, secinfo(h).Attributes);
	EXPECT_EQ(0x3452, secinfo(h).Size.QuadPart);
	/* The view: exact size ok, one more byte refused (spec 2.3.2). */
	size = 0x3453;
	EXPECT_EQ(STATUS_INVALID_VIEW_SIZE, mapv(h, &v, 0, &size, 0, PAGE_READONLY));
	EXPECT_EQ(NULL, v);
	size = 0x3452;
	ASSERT_EQ(STATUS_SUCCESS, mapv(h, &v, 0, &size, 0, PAGE_READONLY));
	EXPECT_EQ(0x4000, size);
	EXPECT_REGION(v, v, v, PAGE_READONLY, 0x4000, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
	EXPECT_EQ((unsigned char)(0x1234 * 7 + 1), ((unsigned char *)v)[0x1234]);
	/* Commit on a file view: STATUS_ALREADY_COMMITTED (spec 4.1.5). */
	c0 = v;
	EXPECT_EQ(STATUS_ALREADY_COMMITTED, nt_alloc(&c0, 0x1000, MEM_COMMIT, PAGE_READONLY));
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	NtClose(h);
	/* Larger than the file: read-only refuses, writable grows it. */
	EXPECT_EQ(STATUS_SECTION_TOO_BIG, mksec(&h, 0x3457, PAGE_READONLY, SEC_COMMIT, hf));
	EXPECT_EQ(STATUS_SECTION_TOO_BIG, mksec(&h, 0x3457, PAGE_WRITECOPY, SEC_COMMIT, hf));
	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x5000, PAGE_READWRITE, SEC_COMMIT, hf));
	EXPECT_EQ(0x5000, secinfo(h).Size.QuadPart);
	ASSERT_EQ(0, fstat(fd, &stt));
	EXPECT_EQ(0x5000, stt.st_size);
	/* A write through a shared view reaches the file. */
	v = NULL;
	size = 0;
	ASSERT_EQ(STATUS_SUCCESS, mapv(h, &v, 0, &size, 0, PAGE_READWRITE));
	EXPECT_EQ(0x5000, size);
	((volatile char *)v)[0x10] = 0x5a;
	ASSERT_EQ(1, pread(fd, &c, 1, 0x10));
	EXPECT_EQ(0x5a, c);
	EXPECT_TRUE(FlushViewOfFile(v, 0));
	EXPECT_TRUE(FlushViewOfFile((char *)v + 0x1000, 0x100));
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, (char *)v + 0x4fff));
	NtClose(h);
	/* A copy-on-write view does not (spec 4.3.6). */
	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0, PAGE_WRITECOPY, SEC_COMMIT, hf));
	v = NULL;
	size = 0;
	ASSERT_EQ(STATUS_SUCCESS, mapv(h, &v, 0, &size, 0, PAGE_WRITECOPY));
	EXPECT_REGION(v, v, v, PAGE_WRITECOPY, 0x5000, MEM_COMMIT, PAGE_WRITECOPY, MEM_MAPPED);
	((volatile char *)v)[0x10] = 0x33;
	EXPECT_EQ(0x33, ((volatile char *)v)[0x10]);
	ASSERT_EQ(1, pread(fd, &c, 1, 0x10));
	EXPECT_EQ(0x5a, c);
	size = 0x1000;
	v = (char *)v + 0x10000;
	EXPECT_EQ(STATUS_NOT_MAPPED_VIEW, NtUnmapViewOfSection(CUR, v));
	v = (char *)v - 0x10000;
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	NtClose(h);

	/* A read-only file allows no writable section (spec 1.4.3). */
	{
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		rofd = open(path, O_RDONLY);
	}
	ASSERT_LE(0, rofd);
	EXPECT_EQ(STATUS_ACCESS_DENIED,
		  mksec(&h, 0, PAGE_READWRITE, SEC_COMMIT, NTVM_FD_TO_HANDLE(rofd)));
	ASSERT_EQ(STATUS_SUCCESS,
		  mksec(&h, 0, PAGE_WRITECOPY, SEC_COMMIT, NTVM_FD_TO_HANDLE(rofd)));
	NtClose(h);
	EXPECT_WIN32_ERROR(ERROR_ACCESS_DENIED,
			   CreateFileMapping(NTVM_FD_TO_HANDLE(rofd), NULL, PAGE_READWRITE,
					     0, 0, NULL));
	close(rofd);
	/* An empty file (spec 1.3.4). */
	empty = tmpfile_of(0, O_RDWR);
	ASSERT_LE(0, empty);
	EXPECT_EQ(STATUS_MAPPED_FILE_SIZE_ZERO,
		  mksec(&h, 0, PAGE_READWRITE, SEC_COMMIT, NTVM_FD_TO_HANDLE(empty)));
	EXPECT_WIN32_ERROR(ERROR_FILE_INVALID,
			   CreateFileMapping(NTVM_FD_TO_HANDLE(empty), NULL, PAGE_READWRITE,
					     0, 0, NULL));
	close(empty);
	close(fd);
}

/* The first 64K-aligned address in [lo, hi) with size bytes free, or 0. */
static uintptr_t free_granules(uintptr_t lo, uintptr_t hi, SIZE_T size)
{
	MEMORY_BASIC_INFORMATION m;
	uintptr_t a;

	for (a = lo; a + size <= hi; a += 0x10000) {
		m = region_of(P(a));
		if (m.State == MEM_FREE && U(m.BaseAddress) + m.RegionSize >= a + size)
			return a;
	}
	return 0;
}

/* Spec 2.1 - 2.3, 3, 8.1, 8.10, 8.12: mapping and unmapping views. */
TEST_F(sec, views)
{
	static const SIZE_T inside[] = { 100, 0x1000, 0x1064 };
	struct ntvm_stats st0 = stats(), st1;
	unsigned int i;
	int fd;
	uintptr_t fixed;
	NTSTATUS st;
	HANDLE h;
	PVOID v = NULL, v2 = NULL, b, p;
	SIZE_T size = 0;
	LARGE_INTEGER off;

	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x20000, PAGE_READWRITE, SEC_COMMIT, NULL));
	ASSERT_EQ(STATUS_SUCCESS, mapv(h, &v, 0, &size, 0, PAGE_READWRITE));
	EXPECT_EQ(0, U(v) & 0xffff);
	EXPECT_EQ(0x20000, size);
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x20000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_REGION(U(v) + 0x5000, U(v) + 0x5000, v, PAGE_READWRITE, 0x1b000, MEM_COMMIT,
		      PAGE_READWRITE, MEM_MAPPED);
	st1 = stats();
	EXPECT_EQ(st0.allocations + 1, st1.allocations);
	EXPECT_EQ(st0.reserved_bytes + 0x20000, st1.reserved_bytes);
	EXPECT_EQ(st0.committed_bytes + 0x20000, st1.committed_bytes);
	/* Two views share bytes (spec 5.1). */
	size = 0x10000;
	ASSERT_EQ(STATUS_SUCCESS, mapv(h, &v2, 0x10000, &size, 0, PAGE_READONLY));
	EXPECT_NE(v, v2);
	((volatile char *)v)[0x10001] = 42;
	EXPECT_EQ(42, ((volatile char *)v2)[1]);
	EXPECT_TRUE(faults(v2, 1));
	/* Wrong uses, each changing nothing (spec 8.1). */
	b = v;
	size = 0x10000;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, mapv(h, &b, 0, &size, 0, PAGE_READWRITE));
	EXPECT_EQ(v, b);
	EXPECT_EQ(0x10000, size);
	b = NULL;
	EXPECT_EQ(STATUS_MAPPED_ALIGNMENT, mapv(h, &b, 1, &size, 0, PAGE_READWRITE));
	/* Offset 1 at an occupied base: the alignment is checked first. */
	b = v;
	EXPECT_EQ(STATUS_MAPPED_ALIGNMENT, mapv(h, &b, 1, &size, 0, PAGE_READWRITE));
	EXPECT_EQ(v, b);
	EXPECT_EQ(0x10000, size);
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x20000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	b = P(U(v) + 0x1000);
	EXPECT_EQ(STATUS_MAPPED_ALIGNMENT, mapv(h, &b, 0, &size, 0, PAGE_READWRITE));
	b = P(U(v) + 42);
	EXPECT_EQ(STATUS_MAPPED_ALIGNMENT, mapv(h, &b, 0, &size, 0, PAGE_READWRITE));
	/*
	 * The alignment is an address check: before the handles and what
	 * the section allows (ReactOS's NtMapViewOfSection).
	 */
	b = P(U(v) + 0x1000);
	off.QuadPart = 0;
	EXPECT_EQ(STATUS_MAPPED_ALIGNMENT, mapv(h, &b, 0, &size, 0, PAGE_EXECUTE_READWRITE));
	EXPECT_EQ(STATUS_MAPPED_ALIGNMENT,
		  NtMapViewOfSection(h, NULL, &b, 0, 0, &off, &size, ViewShare, 0, PAGE_READWRITE));
	EXPECT_EQ(STATUS_MAPPED_ALIGNMENT,
		  NtMapViewOfSection(NTVM_FD_TO_HANDLE(1000), CUR, &b, 0, 0, &off, &size,
				     ViewShare, 0, PAGE_READWRITE));
	b = NULL;
	off.QuadPart = 1;
	EXPECT_EQ(STATUS_MAPPED_ALIGNMENT, mapv(h, &b, 1, &size, 0, PAGE_EXECUTE_READWRITE));
	EXPECT_EQ(STATUS_MAPPED_ALIGNMENT,
		  NtMapViewOfSection(NTVM_FD_TO_HANDLE(1000), CUR, &b, 0, 0, &off, &size,
				     ViewShare, 0, PAGE_READWRITE));
	EXPECT_EQ(NULL, b);
	EXPECT_EQ(0x10000, size);
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x20000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	b = NULL;
	off.QuadPart = 0;
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4,
		  NtMapViewOfSection(h, CUR, &b, 22, 0, &off, &size, ViewShare, 0, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_9, mapv(h, &b, 0, &size, AT_ROUND_TO_PAGE, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_9, mapv(h, &b, 0, &size, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_8,
		  NtMapViewOfSection(h, CUR, &b, 0, 0, &off, &size, 0, 0, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION, mapv(h, &b, 0, &size, 0, PAGE_READWRITE | PAGE_GUARD));
	EXPECT_EQ(STATUS_SECTION_PROTECTION, mapv(h, &b, 0, &size, 0, PAGE_EXECUTE_READWRITE));
	size = 0x20001;
	EXPECT_EQ(STATUS_INVALID_VIEW_SIZE, mapv(h, &b, 0, &size, 0, PAGE_READWRITE));
	size = (SIZE_T)-1;
	EXPECT_EQ(STATUS_INVALID_PARAMETER_3, mapv(h, &b, 0, &size, 0, PAGE_READWRITE));
	size = 0x1000;
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtMapViewOfSection(h, NULL, &b, 0, 0, &off, &size, ViewShare, 0, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtMapViewOfSection(NTVM_FD_TO_HANDLE(1000), CUR, &b, 0, 0, &off, &size, ViewShare,
				     0, PAGE_READWRITE));
	EXPECT_EQ(NULL, b);
	/*
	 * Zero bits with a base (spec 2.1.4): before alignment.  The base,
	 * in [512 MiB, 1 GiB) where zero bits 2 allow it and 3 do not, is
	 * one that is free: the heap of a static program starts anywhere in
	 * the lowest GiB.
	 */
	fixed = free_granules(0x20000000, 0x40000000, 0x20000);
	ASSERT_NE(0, fixed);
	b = P(fixed);
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4,
		  NtMapViewOfSection(h, CUR, &b, 3, 0, &off, &size, ViewShare, 0, PAGE_READWRITE));
	b = P(fixed + 0x1000);
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4,
		  NtMapViewOfSection(h, CUR, &b, 3, 0, &off, &size, ViewShare, 0, PAGE_READWRITE));
	EXPECT_EQ(STATUS_MAPPED_ALIGNMENT,
		  NtMapViewOfSection(h, CUR, &b, 2, 0, &off, &size, ViewShare, 0, PAGE_READWRITE));
	b = P(fixed);
	size = 0x2000;
	st = NtMapViewOfSection(h, CUR, &b, 2, 0, &off, &size, ViewShare, 0, PAGE_READWRITE);
	if (st)
		log_maps(fixed, fixed + 0x10000);
	ASSERT_EQ(STATUS_SUCCESS, st);
	EXPECT_EQ(fixed, U(b));
	/* The view owns its 64K granule (spec 2.2.6). */
	p = P(fixed + 0x2000);
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_alloc(&p, 0x1000, MEM_RESERVE | MEM_COMMIT,
							 PAGE_READWRITE));
	p = P(fixed + 0x10000);
	EXPECT_EQ(STATUS_SUCCESS, nt_alloc(&p, 0x1000, MEM_RESERVE, PAGE_READWRITE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
	/* Commit inside / past the view (spec 8.10). */
	p = b;
	EXPECT_EQ(STATUS_SUCCESS, nt_alloc(&p, 0x1000, MEM_COMMIT, PAGE_READWRITE));
	p = b;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_alloc(&p, 0x3000, MEM_COMMIT, PAGE_READWRITE));
	/* VirtualFree on a view (spec 4.2). */
	EXPECT_EQ(STATUS_UNABLE_TO_DELETE_SECTION, nt_free(b, 0x1000, MEM_DECOMMIT));
	EXPECT_EQ(STATUS_UNABLE_TO_DELETE_SECTION, nt_free(b, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_free(b, 0x1000, PRESERVE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER, VirtualFree(b, 0, MEM_RELEASE));
	EXPECT_REGION(b, b, b, PAGE_READWRITE, 0x2000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	/* MEM_RESET on a view: a hint; the data stays (spec 4.5.1). */
	p = v;
	EXPECT_EQ(STATUS_SUCCESS, nt_alloc(&p, 0x20000, MEM_RESET, PAGE_READONLY));
	EXPECT_EQ(42, ((volatile char *)v)[0x10001]);
	/* Unmap from inside (spec 3.1) and the wrong addresses (3.2). */
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, P(U(b) + 0x1064)));
	EXPECT_REGION(b, b, 0, 0, region_of(b).RegionSize, MEM_FREE, PAGE_NOACCESS, 0);
	EXPECT_EQ(STATUS_NOT_MAPPED_VIEW, NtUnmapViewOfSection(CUR, b));
	p = NULL;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&p, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS, UnmapViewOfFile(p));
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS, UnmapViewOfFile(P(U(p) + 0x3000)));
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS, UnmapViewOfFile(P(0xdeadbeef)));
	EXPECT_REGION(p, p, p, PAGE_READWRITE, 0x10000, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtUnmapViewOfSectionEx(CUR, v, MEM_RELEASE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
	/* Closing the handle leaves the views (spec 5.2). */
	EXPECT_EQ(STATUS_SUCCESS, NtClose(h));
	EXPECT_EQ(42, ((volatile char *)v2)[1]);
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x20000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_TRUE(UnmapViewOfFile(P(U(v) + 100)));
	EXPECT_TRUE(UnmapViewOfFile(v2));
	st1 = stats();
	EXPECT_EQ(st0.allocations, st1.allocations);
	EXPECT_EQ(st0.reserved_bytes, st1.reserved_bytes);
	EXPECT_EQ(st0.committed_bytes, st1.committed_bytes);

	/*
	 * Spec 8.12, 3.1, 3.3: any address inside a 3-page file view unmaps
	 * the whole view (a fresh view each time); the range is free.
	 */
	fd = tmpfile_of(0x3000, O_RDWR);
	ASSERT_LE(0, fd);
	h = CreateFileMapping(NTVM_FD_TO_HANDLE(fd), NULL, PAGE_READONLY, 0, 0, NULL);
	ASSERT_NE(NULL, h);
	for (i = 0; i < ARRAY_SIZE(inside); i++) {
		v = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0x3000);
		ASSERT_NE(NULL, v);
		EXPECT_REGION(v, v, v, PAGE_READONLY, 0x3000, MEM_COMMIT, PAGE_READONLY,
			      MEM_MAPPED);
		SetLastError(0xdeadbeef);
		EXPECT_TRUE(UnmapViewOfFile(P(U(v) + inside[i])))
			TH_LOG("at +%#zx: error %u", inside[i], GetLastError());
		EXPECT_REGION(v, v, 0, 0, region_of(v).RegionSize, MEM_FREE, PAGE_NOACCESS, 0);
		EXPECT_LE((SIZE_T)0x3000, region_of(v).RegionSize);
		EXPECT_EQ(MEM_FREE, region_of(P(U(v) + 0x2000)).State);
		EXPECT_TRUE(faults(v, 0));
		EXPECT_EQ(STATUS_NOT_MAPPED_VIEW, NtUnmapViewOfSection(CUR, v));
	}
	EXPECT_TRUE(CloseHandle(h));
	close(fd);
}

/* Spec 1.4.4, 1.5.5, 2.4, 4.3: access, protections, copy-on-write. */
TEST_F(sec, protections)
{
	HANDLE h, ro;
	PVOID v, w;
	DWORD old;
	SIZE_T size;
	SECTION_BASIC_INFORMATION b;
	PVOID c;
	PVOID p;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READONLY, 0, 0x10000, NULL);
	ASSERT_NE(NULL, h);
	EXPECT_WIN32_ERROR(ERROR_ACCESS_DENIED, MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0));
	EXPECT_EQ(NULL, MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_EXECUTE, 0, 0, 0));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	v = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
	ASSERT_NE(NULL, v);
	EXPECT_REGION(v, v, v, PAGE_READONLY, 0x10000, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
	/* Protection changes only narrow (spec 4.3.1, 4.3.2). */
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   VirtualProtect(v, 0x1000, PAGE_READWRITE, &old));
	size = 0x1000;
	w = v;
	EXPECT_EQ(STATUS_SECTION_PROTECTION,
		  NtProtectVirtualMemory(CUR, &w, &size, PAGE_EXECUTE_READ, &old));
	EXPECT_TRUE(VirtualProtect(v, 0x1000, PAGE_NOACCESS, &old));
	EXPECT_EQ(PAGE_READONLY, old);
	EXPECT_TRUE(faults(v, 0));
	EXPECT_TRUE(VirtualProtect(v, 0x1000, PAGE_READONLY, &old));
	EXPECT_EQ(PAGE_NOACCESS, old);
	EXPECT_TRUE(VirtualProtect(v, 0x1000, PAGE_WRITECOPY, &old));
	EXPECT_TRUE(UnmapViewOfFile(v));
	/* An access-0 view is a no-access view (spec 2.8.2). */
	v = MapViewOfFile(h, 0, 0, 0, 0);
	ASSERT_NE(NULL, v);
	EXPECT_REGION(v, v, v, PAGE_NOACCESS, 0x10000, MEM_COMMIT, PAGE_NOACCESS, MEM_MAPPED);
	EXPECT_TRUE(faults(v, 0));
	EXPECT_TRUE(UnmapViewOfFile(v));
	CloseHandle(h);

	/* A read-write section; handles with fewer rights (spec 1.5.5). */
	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000, "ntvm-prot");
	ASSERT_NE(NULL, h);
	ro = OpenFileMapping(FILE_MAP_READ, FALSE, "ntvm-prot");
	ASSERT_NE(NULL, ro);
	EXPECT_WIN32_ERROR(ERROR_ACCESS_DENIED, MapViewOfFile(ro, FILE_MAP_WRITE, 0, 0, 0));
	EXPECT_EQ(STATUS_ACCESS_DENIED,
		  NtQuerySection(ro, SectionBasicInformation, &b, sizeof(b), NULL));
	w = MapViewOfFile(ro, FILE_MAP_READ, 0, 0, 0);
	ASSERT_NE(NULL, w);
	CloseHandle(ro);
	ro = OpenFileMapping(FILE_MAP_WRITE, FALSE, "ntvm-prot");
	ASSERT_NE(NULL, ro);
	EXPECT_EQ(NULL, MapViewOfFile(ro, FILE_MAP_READ, 0, 0, 0));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	v = MapViewOfFile(ro, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, v);
	CloseHandle(ro);
	((volatile char *)v)[5] = 9;
	EXPECT_EQ(9, ((volatile char *)w)[5]);
	/* FILE_MAP_COPY: a private copy on write (spec 1.5.6, 4.3.7). */
	c = MapViewOfFile(h, FILE_MAP_COPY, 0, 0, 0);
	ASSERT_NE(NULL, c);
	EXPECT_REGION(c, c, c, PAGE_WRITECOPY, 0x10000, MEM_COMMIT, PAGE_WRITECOPY,
		      MEM_MAPPED);
	EXPECT_EQ(9, ((volatile char *)c)[5]);
	((volatile char *)c)[5] = 10;
	EXPECT_EQ(10, ((volatile char *)c)[5]);
	EXPECT_EQ(9, ((volatile char *)v)[5]);
	/* The written page alone reads back PAGE_READWRITE (4.3.5). */
	EXPECT_REGION(c, c, c, PAGE_WRITECOPY, 0x1000, MEM_COMMIT, PAGE_READWRITE,
		      MEM_MAPPED);
	EXPECT_REGION(U(c) + 0x1000, U(c) + 0x1000, c, PAGE_WRITECOPY, 0xf000,
		      MEM_COMMIT, PAGE_WRITECOPY, MEM_MAPPED);
	EXPECT_TRUE(VirtualProtect(c, 0x2000, PAGE_WRITECOPY, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_TRUE(VirtualProtect(c, 0x2000, PAGE_READONLY, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_REGION(c, c, c, PAGE_WRITECOPY, 0x2000, MEM_COMMIT, PAGE_READONLY,
		      MEM_MAPPED);
	EXPECT_TRUE(VirtualProtect(c, 0x2000, PAGE_WRITECOPY, &old));
	EXPECT_EQ(PAGE_READWRITE, region_of(c).Protect);
	EXPECT_EQ(PAGE_WRITECOPY, region_of(P(U(c) + 0x1000)).Protect);
	EXPECT_EQ(10, ((volatile char *)c)[5]);
	EXPECT_FALSE(VirtualProtect(c, 0x1000, PAGE_READWRITE, &old));
	EXPECT_TRUE(UnmapViewOfFile(c));
	/* FILE_MAP_WRITE | FILE_MAP_COPY is a shared view (2.8.1). */
	c = MapViewOfFile(h, FILE_MAP_WRITE | FILE_MAP_COPY, 0, 0, 0);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(PAGE_READWRITE, region_of(c).AllocationProtect);
	((volatile char *)c)[5] = 11;
	EXPECT_EQ(11, ((volatile char *)v)[5]);
	EXPECT_TRUE(UnmapViewOfFile(c));
	/* Committing in a SEC_COMMIT view is a protection change (4.1.6). */
	p = v;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&p, 0x1000, MEM_COMMIT, PAGE_READONLY));
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x1000, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
	EXPECT_TRUE(faults(v, 1));
	p = v;
	EXPECT_EQ(STATUS_SECTION_PROTECTION,
		  nt_alloc(&p, 0x1000, MEM_COMMIT, PAGE_EXECUTE_READWRITE));
	EXPECT_TRUE(UnmapViewOfFile(v));
	EXPECT_TRUE(UnmapViewOfFile(w));
	CloseHandle(h);
}

/* Spec 4.1, 8.8: a SEC_RESERVE section's commit is shared by its views. */
TEST_F(sec, sec_reserve)
{
	HANDLE h;
	PVOID v1, v2, p, nv;
	DWORD old;
	SIZE_T s, ns;
	LARGE_INTEGER noff;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_RESERVE, 0,
			      0x100000, NULL);
	ASSERT_NE(NULL, h);
	v1 = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	v2 = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, v1);
	ASSERT_NE(NULL, v2);
	EXPECT_NE(v1, v2);
	EXPECT_REGION(v1, v1, v1, PAGE_READWRITE, 0x100000, MEM_RESERVE, 0, MEM_MAPPED);
	EXPECT_REGION(v2, v2, v2, PAGE_READWRITE, 0x100000, MEM_RESERVE, 0, MEM_MAPPED);
	EXPECT_EQ(v1, VirtualAlloc(v1, 0x10000, MEM_COMMIT, PAGE_READONLY));
	EXPECT_REGION(v1, v1, v1, PAGE_READWRITE, 0x10000, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
	EXPECT_REGION(U(v1) + 0x10000, U(v1) + 0x10000, v1, PAGE_READWRITE, 0xf0000,
		      MEM_RESERVE, 0, MEM_MAPPED);
	EXPECT_REGION(v2, v2, v2, PAGE_READWRITE, 0x10000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	((volatile char *)v2)[0x100] = 77;
	EXPECT_EQ(77, ((volatile char *)v1)[0x100]);
	EXPECT_EQ(v1, VirtualAlloc(v1, 0x10000, MEM_RESET, PAGE_READONLY));
	EXPECT_EQ(77, ((volatile char *)v1)[0x100]);
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER, VirtualFree(v1, 0x10000, MEM_DECOMMIT));
	/* Beyond the view's protection (spec 4.1.4); committing again. */
	p = v2;
	EXPECT_EQ(STATUS_SECTION_PROTECTION, nt_alloc(&p, 0x1000, MEM_COMMIT, PAGE_EXECUTE_READ));
	EXPECT_EQ(v2, VirtualAlloc(v2, 0x1000, MEM_COMMIT, PAGE_READWRITE));
	/*
	 * Protect on reserved view pages: the view check, then committed.
	 * OldProtect: 0 on the first (x64 Windows, spec 4.3.3), NOACCESS
	 * on the second (VM spec 4.1); the request's variables untouched.
	 */
	s = 0x1000;
	p = P(U(v2) + 0x20000);
	old = 0xdead;
	EXPECT_EQ(STATUS_SECTION_PROTECTION,
		  NtProtectVirtualMemory(CUR, &p, &s, PAGE_EXECUTE_READWRITE, &old));
	EXPECT_EQ(0, old);
	EXPECT_EQ(P(U(v2) + 0x20000), p);
	EXPECT_EQ(0x1000, s);
	old = 0xdead;
	EXPECT_EQ(STATUS_NOT_COMMITTED,
		  NtProtectVirtualMemory(CUR, &p, &s, PAGE_READONLY, &old));
	EXPECT_EQ(PAGE_NOACCESS, old);
	/*
	 * Spec 4.3.3's own case: uncommitted pages of a PAGE_NOACCESS view,
	 * made PAGE_READWRITE (then PAGE_READONLY, where the source's check
	 * is left out: 0 is ntvm's choice).
	 */
	nv = NULL;
	ns = 0x10000;
	noff.QuadPart = 0x20000;
	ASSERT_EQ(STATUS_SUCCESS, NtMapViewOfSection(h, CUR, &nv, 0, 0, &noff, &ns,
						     ViewShare, 0, PAGE_NOACCESS));
	p = P(U(nv) + 0x1000);
	s = 0x1000;
	old = 0xdead;
	EXPECT_EQ(STATUS_SECTION_PROTECTION,
		  NtProtectVirtualMemory(CUR, &p, &s, PAGE_READWRITE, &old));
	EXPECT_EQ(0, old);
	old = 0xdead;
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER, VirtualProtect(p, 0x1000, PAGE_READONLY, &old));
	EXPECT_EQ(0, old);
	EXPECT_REGION(nv, nv, nv, PAGE_NOACCESS, 0x10000, MEM_RESERVE, 0, MEM_MAPPED);
	EXPECT_TRUE(faults(nv, 0));
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, nv));
	/* The commit stays in the section after its view goes (4.1.7). */
	EXPECT_TRUE(UnmapViewOfFile(v1));
	v1 = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
	ASSERT_NE(NULL, v1);
	EXPECT_REGION(v1, v1, v1, PAGE_READONLY, 0x10000, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
	EXPECT_EQ(77, ((volatile char *)v1)[0x100]);
	EXPECT_TRUE(UnmapViewOfFile(v1));
	EXPECT_TRUE(UnmapViewOfFile(v2));
	CloseHandle(h);

	/* Spec 8.9: CommitSize commits from the start of the view. */
	{
		LARGE_INTEGER off = { 0 };
		SIZE_T size = 0x2000;

		ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x20000, PAGE_READWRITE, SEC_RESERVE, NULL));
		v1 = NULL;
		ASSERT_EQ(STATUS_SUCCESS, NtMapViewOfSection(h, CUR, &v1, 0, 0x1000, &off, &size,
							     ViewShare, 0, PAGE_READWRITE));
		EXPECT_REGION(v1, v1, v1, PAGE_READWRITE, 0x1000, MEM_COMMIT, PAGE_READWRITE,
			      MEM_MAPPED);
		EXPECT_REGION(U(v1) + 0x1000, U(v1) + 0x1000, v1, PAGE_READWRITE, 0x1000,
			      MEM_RESERVE, 0, MEM_MAPPED);
		EXPECT_FALSE(faults(v1, 1));
		EXPECT_TRUE(faults(P(U(v1) + 0x1000), 0));
		v2 = NULL;
		EXPECT_EQ(STATUS_INVALID_PARAMETER_5,
			  NtMapViewOfSection(h, CUR, &v2, 0, 0x3000, &off, &size, ViewShare, 0,
					     PAGE_READWRITE));
		EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v1));
		NtClose(h);
	}
}

/*
 * Issue 10: uncommitted pages of a SEC_RESERVE view are reserved: an
 * access faults (spec 2.4.4, 2.7.1) and the query says MEM_RESERVE; a
 * commit through one view shows in every view of this process at once,
 * with that view's own protection (spec 4.1.2).
 */
TEST_F(sec, reserve_pages_fault)
{
	struct ntvm_stats st0, st1;
	HANDLE h;
	PVOID v1, v2, r, n, p, v3;
	SIZE_T size;
	DWORD old;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_RESERVE, 0,
			      0x40000, NULL);
	ASSERT_NE(NULL, h);
	v1 = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	v2 = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	r = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
	n = MapViewOfFile(h, 0, 0, 0, 0);
	ASSERT_NE(NULL, v1);
	ASSERT_NE(NULL, v2);
	ASSERT_NE(NULL, r);
	ASSERT_NE(NULL, n);
	EXPECT_REGION(v1, v1, v1, PAGE_READWRITE, 0x40000, MEM_RESERVE, 0, MEM_MAPPED);
	EXPECT_TRUE(faults(v1, 0));
	EXPECT_TRUE(faults(P(U(v2) + 0x3ffff), 1));
	EXPECT_TRUE(faults(r, 0));

	/* Wrong commits change nothing (spec 4.1.3, 4.1.4). */
	p = P(U(v1) + 0x10000);
	EXPECT_EQ(STATUS_SECTION_PROTECTION,
		  nt_alloc(&p, 0x10000, MEM_COMMIT, PAGE_EXECUTE_READWRITE));
	p = P(U(v1) + 0x30000);
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_alloc(&p, 0x11000, MEM_COMMIT,
							 PAGE_READWRITE));
	p = P(U(v1) + 0x10000);
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
		  nt_alloc(&p, 0x1000, MEM_COMMIT, PAGE_READWRITE | PAGE_NOCACHE));
	EXPECT_REGION(v1, v1, v1, PAGE_READWRITE, 0x40000, MEM_RESERVE, 0, MEM_MAPPED);
	EXPECT_REGION(v2, v2, v2, PAGE_READWRITE, 0x40000, MEM_RESERVE, 0, MEM_MAPPED);
	EXPECT_TRUE(faults(P(U(v1) + 0x3f000), 0));

	/* Commit [0x10000, 0x20000) through v1, read-only there. */
	st0 = stats();
	EXPECT_EQ(P(U(v1) + 0x10000), VirtualAlloc(P(U(v1) + 0x10000), 0x10000, MEM_COMMIT,
						   PAGE_READONLY));
	st1 = stats();
	/* Each view counts what it maps committed. */
	EXPECT_EQ(st0.committed_bytes + 4 * 0x10000, st1.committed_bytes);
	EXPECT_REGION(v1, v1, v1, PAGE_READWRITE, 0x10000, MEM_RESERVE, 0, MEM_MAPPED);
	EXPECT_REGION(U(v1) + 0x10000, U(v1) + 0x10000, v1, PAGE_READWRITE, 0x10000,
		      MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
	EXPECT_REGION(U(v1) + 0x20000, U(v1) + 0x20000, v1, PAGE_READWRITE, 0x20000,
		      MEM_RESERVE, 0, MEM_MAPPED);
	EXPECT_FALSE(faults(P(U(v1) + 0x10000), 0));
	EXPECT_TRUE(faults(P(U(v1) + 0x10000), 1));
	EXPECT_TRUE(faults(P(U(v1) + 0xf000), 0));
	EXPECT_TRUE(faults(P(U(v1) + 0x20000), 0));
	/* The other views: their own protection, usable at once. */
	EXPECT_REGION(U(v2) + 0x10000, U(v2) + 0x10000, v2, PAGE_READWRITE, 0x10000,
		      MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_REGION(U(r) + 0x10000, U(r) + 0x10000, r, PAGE_READONLY, 0x10000,
		      MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
	EXPECT_REGION(U(n) + 0x10000, U(n) + 0x10000, n, PAGE_NOACCESS, 0x10000,
		      MEM_COMMIT, PAGE_NOACCESS, MEM_MAPPED);
	EXPECT_REGION(n, n, n, PAGE_NOACCESS, 0x10000, MEM_RESERVE, 0, MEM_MAPPED);
	((volatile char *)v2)[0x10005] = 42;
	EXPECT_EQ(42, ((volatile char *)v1)[0x10005]);
	EXPECT_EQ(42, ((volatile char *)r)[0x10005]);
	EXPECT_TRUE(faults(P(U(r) + 0x10000), 1));
	EXPECT_TRUE(faults(P(U(n) + 0x10000), 0));
	EXPECT_TRUE(faults(P(U(v2) + 0x20000), 0));
	EXPECT_TRUE(faults(P(U(v2) + 0xf000), 1));

	/* A view mapped later sees the commit; the rest stays reserved. */
	v3 = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0x10000, 0x20000);
	ASSERT_NE(NULL, v3);
	EXPECT_REGION(v3, v3, v3, PAGE_READWRITE, 0x10000, MEM_COMMIT, PAGE_READWRITE,
		      MEM_MAPPED);
	EXPECT_REGION(U(v3) + 0x10000, U(v3) + 0x10000, v3, PAGE_READWRITE, 0x10000,
		      MEM_RESERVE, 0, MEM_MAPPED);
	EXPECT_EQ(42, ((volatile char *)v3)[5]);
	EXPECT_TRUE(faults(P(U(v3) + 0x10000), 0));

	/* A protection change on uncommitted pages changes nothing. */
	size = 0x2000;
	p = P(U(v2) + 0x1f000);
	EXPECT_EQ(STATUS_NOT_COMMITTED,
		  NtProtectVirtualMemory(CUR, &p, &size, PAGE_READONLY, &old));
	EXPECT_EQ(PAGE_READWRITE, region_of(P(U(v2) + 0x1f000)).Protect);
	EXPECT_TRUE(faults(P(U(v2) + 0x20000), 0));

	/* Committing through v3 reaches v1 and v2 where they map it. */
	EXPECT_EQ(P(U(v3) + 0x10000), VirtualAlloc(P(U(v3) + 0x10000), 0x1000, MEM_COMMIT,
						   PAGE_READWRITE));
	((volatile char *)v1)[0x20001] = 7;
	EXPECT_EQ(7, ((volatile char *)v3)[0x10001]);
	EXPECT_EQ(7, ((volatile char *)v2)[0x20001]);
	EXPECT_REGION(U(v1) + 0x20000, U(v1) + 0x20000, v1, PAGE_READWRITE, 0x1000,
		      MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_REGION(U(v1) + 0x21000, U(v1) + 0x21000, v1, PAGE_READWRITE, 0x1f000,
		      MEM_RESERVE, 0, MEM_MAPPED);

	EXPECT_TRUE(UnmapViewOfFile(v1));
	EXPECT_TRUE(UnmapViewOfFile(v2));
	EXPECT_TRUE(UnmapViewOfFile(v3));
	EXPECT_TRUE(UnmapViewOfFile(r));
	EXPECT_TRUE(UnmapViewOfFile(n));
	CloseHandle(h);
}

/*
 * A commit made in another process: the view there learns it on its
 * next fault (libntvm's handler) or NT call; the query says MEM_COMMIT
 * with the view's protection before that (Documentation/ntvm.rst).
 */
TEST_F(sec, reserve_other_process)
{
	int to_child[2], to_parent[2];
	volatile char *v;
	HANDLE h;
	pid_t pid;
	int status;
	char c;

	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_RESERVE, 0,
			      0x20000, NULL);
	ASSERT_NE(NULL, h);
	v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, v);
	pid = fork();
	if (!pid) {
		volatile char *w = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
		volatile char *x = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
		MEMORY_BASIC_INFORMATION m;
		DWORD old;
		int bad = 0;

		if (!w || !x || ntvm_install_guard_handler(NULL, NULL))
			_exit(1);
		m = region_of((void *)w);
		bad |= m.State != MEM_RESERVE || m.RegionSize != 0x20000;
		if (write(to_parent[1], "m", 1) != 1 || read(to_child[0], &c, 1) != 1)
			_exit(2);
		/* Committed by the parent: reported before it is learnt. */
		m = region_of((void *)w);
		bad |= (m.State != MEM_COMMIT || m.Protect != PAGE_READWRITE ||
			m.RegionSize != 0x1000) << 1;
		m = region_of((void *)(w + 0x1000));
		bad |= (m.State != MEM_RESERVE || m.RegionSize != 0x1f000) << 2;
		/* A fault learns it (the handler retries the access). */
		bad |= (w[5] != 55) << 3;
		w[6] = 66;
		/* An NT call learns it too. */
		bad |= !VirtualProtect((void *)x, 0x1000, PAGE_READONLY, &old) << 4;
		bad |= (old != PAGE_READWRITE) << 5;
		bad |= (x[6] != 66) << 6;
		m = region_of((void *)x);
		bad |= (m.State != MEM_COMMIT || m.Protect != PAGE_READONLY) << 7;
		_exit(bad ? 16 + bad : 0);
	}
	ASSERT_EQ(1, read(to_parent[0], &c, 1));
	EXPECT_EQ(v, VirtualAlloc((void *)v, 0x1000, MEM_COMMIT, PAGE_READWRITE));
	v[5] = 55;
	ASSERT_EQ(1, write(to_child[1], "c", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(66, v[6]);
	EXPECT_TRUE(faults((void *)(v + 0x1000), 0));
	EXPECT_TRUE(UnmapViewOfFile((void *)v));
	CloseHandle(h);
}

/*
 * PAGE_WRITECOPY on a shared view (spec 4.3.1, 4.3.4 - 4.3.6): the pages
 * become copy-on-write; a written page reports PAGE_READWRITE, and its
 * writes reach neither the other views nor the file.
 */
TEST_F(sec, writecopy_shared_view)
{
	volatile char *v, *w, *r;
	HANDLE h;
	DWORD old;
	PVOID p;
	SIZE_T size;
	char buf[2];
	int fd;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x20000, NULL);
	ASSERT_NE(NULL, h);
	v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	w = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	r = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
	ASSERT_NE(NULL, v);
	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, r);
	v[0x10] = 1;
	EXPECT_TRUE(VirtualProtect((void *)v, 0x2000, PAGE_WRITECOPY, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x2000, MEM_COMMIT, PAGE_WRITECOPY, MEM_MAPPED);
	EXPECT_REGION(v + 0x2000, v + 0x2000, v, PAGE_READWRITE, 0x1e000, MEM_COMMIT,
		      PAGE_READWRITE, MEM_MAPPED);
	/* Not written yet: the shared bytes show through. */
	EXPECT_EQ(1, v[0x10]);
	w[0x1010] = 5;
	EXPECT_EQ(5, v[0x1010]);
	v[0x10] = 2;
	EXPECT_EQ(2, v[0x10]);
	EXPECT_EQ(1, w[0x10]);
	EXPECT_EQ(1, r[0x10]);
	w[0x20] = 9;
	EXPECT_EQ(0, v[0x20]);
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x1000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_REGION(v + 0x1000, v + 0x1000, v, PAGE_READWRITE, 0x1000, MEM_COMMIT,
		      PAGE_WRITECOPY, MEM_MAPPED);
	/* Write-copy again on a written page reads back PAGE_READWRITE. */
	EXPECT_TRUE(VirtualProtect((void *)v, 0x1000, PAGE_WRITECOPY, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_EQ(PAGE_READWRITE, region_of((void *)v).Protect);
	/* Execute write-copy needs an executable view (spec 4.3.2). */
	size = 0x1000;
	p = (PVOID)(v + 0x3000);
	EXPECT_EQ(STATUS_SECTION_PROTECTION,
		  NtProtectVirtualMemory(CUR, &p, &size, PAGE_EXECUTE_WRITECOPY, &old));
	EXPECT_EQ(PAGE_READWRITE, region_of((void *)(v + 0x3000)).Protect);
	w[0x3000] = 4;
	EXPECT_EQ(4, v[0x3000]);
	/* Read-write again: a written page keeps its private copy... */
	EXPECT_TRUE(VirtualProtect((void *)v, 0x2000, PAGE_READWRITE, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_EQ(2, v[0x10]);
	EXPECT_EQ(1, w[0x10]);
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x20000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	/* ... and pages never written are shared again. */
	p = (PVOID)(v + 0x4000);
	EXPECT_TRUE(VirtualProtect(p, 0x2000, PAGE_WRITECOPY, &old));
	EXPECT_EQ(PAGE_WRITECOPY, region_of(p).Protect);
	EXPECT_TRUE(VirtualProtect(p, 0x2000, PAGE_READWRITE, &old));
	EXPECT_EQ(PAGE_WRITECOPY, old);
	v[0x4001] = 6;
	EXPECT_EQ(6, w[0x4001]);
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x20000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);

	/* A read-only view takes write-copy, and then writes privately. */
	EXPECT_TRUE(VirtualProtect((void *)r, 0x1000, PAGE_WRITECOPY, &old));
	EXPECT_EQ(PAGE_READONLY, old);
	EXPECT_EQ(PAGE_WRITECOPY, region_of((void *)r).Protect);
	r[0x30] = 3;
	EXPECT_EQ(3, r[0x30]);
	EXPECT_EQ(0, w[0x30]);
	EXPECT_EQ(PAGE_READWRITE, region_of((void *)r).Protect);
	EXPECT_TRUE(UnmapViewOfFile((void *)v));
	EXPECT_TRUE(UnmapViewOfFile((void *)w));
	EXPECT_TRUE(UnmapViewOfFile((void *)r));
	CloseHandle(h);

	/* An executable section: PAGE_EXECUTE_WRITECOPY, then written. */
	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_EXECUTE_READWRITE, 0, 0x10000,
			      NULL);
	ASSERT_NE(NULL, h);
	v = MapViewOfFile(h, FILE_MAP_WRITE | FILE_MAP_EXECUTE, 0, 0, 0);
	ASSERT_NE(NULL, v);
	EXPECT_TRUE(VirtualProtect((void *)v, 0x10000, PAGE_EXECUTE_WRITECOPY, &old));
	EXPECT_EQ(PAGE_EXECUTE_READWRITE, old);
	EXPECT_EQ(PAGE_EXECUTE_WRITECOPY, region_of((void *)v).Protect);
	v[1] = 1;
	EXPECT_REGION(v, v, v, PAGE_EXECUTE_READWRITE, 0x1000, MEM_COMMIT,
		      PAGE_EXECUTE_READWRITE, MEM_MAPPED);
	EXPECT_REGION(v + 0x1000, v + 0x1000, v, PAGE_EXECUTE_READWRITE, 0xf000, MEM_COMMIT,
		      PAGE_EXECUTE_WRITECOPY, MEM_MAPPED);
	EXPECT_TRUE(UnmapViewOfFile((void *)v));
	CloseHandle(h);

	/* A file view: write-copy writes never reach the file (4.3.6). */
	fd = tmpfile_of(0x2000, O_RDWR);
	ASSERT_LE(0, fd);
	h = CreateFileMapping((HANDLE)(intptr_t)fd, NULL, PAGE_READWRITE, 0, 0, NULL);
	ASSERT_NE(NULL, h);
	v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, v);
	EXPECT_TRUE(VirtualProtect((void *)v, 0x1000, PAGE_WRITECOPY, &old));
	v[0] = 'x';
	v[0x1000] = 'y';
	EXPECT_TRUE(FlushViewOfFile((void *)v, 0));
	ASSERT_EQ(1, pread(fd, buf, 1, 0));
	EXPECT_EQ(1, buf[0]);
	ASSERT_EQ(1, pread(fd, buf + 1, 1, 0x1000));
	EXPECT_EQ('y', buf[1]);
	EXPECT_TRUE(UnmapViewOfFile((void *)v));
	CloseHandle(h);
	close(fd);
}

/*
 * A section whose protection cannot write gives no way to write its
 * backing, even when the file it was made from is open for writing: its
 * views cannot be made writable behind the NT calls (mprotect() says
 * EACCES), in this process or in one the handle is passed to, and the
 * file keeps its bytes.  Write-copy still writes private copies.
 */
TEST_F(sec, readonly_section_cannot_write)
{
	static const ULONG prots[] = { PAGE_READONLY, PAGE_EXECUTE_READ, PAGE_WRITECOPY };
	unsigned int i;
	char buf[2];
	HANDLE h;
	char *v;
	int fd;

	for (i = 0; i < 3; i++) {
		fd = tmpfile_of(0x2000, O_RDWR);
		ASSERT_LE(0, fd);
		h = CreateFileMapping((HANDLE)(intptr_t)fd, NULL, prots[i], 0, 0, NULL);
		ASSERT_NE(NULL, h);
		v = MapViewOfFile(h, prots[i] == PAGE_WRITECOPY ? FILE_MAP_COPY :
				     FILE_MAP_READ, 0, 0, 0);
		ASSERT_NE(NULL, v);
		EXPECT_EQ(1, v[0]);
		if (prots[i] == PAGE_WRITECOPY) {
			/* A private copy: the file and the section keep theirs. */
			v[0] = 'x';
			EXPECT_EQ('x', v[0]);
		} else {
			EXPECT_EQ(-1, mprotect(v, 0x1000, PROT_READ | PROT_WRITE));
			EXPECT_EQ(EACCES, errno);
		}
		/* The file itself is still the caller's to write. */
		ASSERT_EQ(1, pwrite(fd, "z", 1, 0x1000));
		EXPECT_EQ('z', v[0x1000]);
		ASSERT_EQ(2, pread(fd, buf, 2, 0));
		EXPECT_EQ(1, buf[0]);
		EXPECT_EQ(8, buf[1]);
		EXPECT_TRUE(UnmapViewOfFile(v));
		EXPECT_TRUE(CloseHandle(h));
		close(fd);
	}

	/* A memory section's read-only views cannot be made writable either. */
	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READONLY, 0, 0x10000, NULL);
	ASSERT_NE(NULL, h);
	v = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
	ASSERT_NE(NULL, v);
	EXPECT_EQ(-1, mprotect(v, 0x1000, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, v[0]);
	EXPECT_TRUE(UnmapViewOfFile(v));
	EXPECT_TRUE(CloseHandle(h));
}

/*
 * A SEC_RESERVE view in a placeholder (the emulators' arenas): the same
 * rules, and back to a placeholder leaves the list of such views.
 */
TEST_F(sec, reserve_placeholder_view)
{
	HANDLE h;
	PVOID p, v, w;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_RESERVE, 0,
			      0x20000, NULL);
	ASSERT_NE(NULL, h);
	p = VirtualAlloc2(NULL, NULL, 0x20000, PH, PAGE_NOACCESS, NULL, 0);
	ASSERT_NE(NULL, p);
	w = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, w);
	v = MapViewOfFile3(h, NULL, p, 0, 0x20000, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE,
			   NULL, 0);
	ASSERT_EQ(p, v);
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x20000, MEM_RESERVE, 0, MEM_MAPPED);
	EXPECT_TRUE(faults(v, 0));
	EXPECT_EQ(w, VirtualAlloc(w, 0x1000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x1000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	((volatile char *)v)[3] = 3;
	EXPECT_EQ(3, ((volatile char *)w)[3]);
	EXPECT_TRUE(faults(P(U(v) + 0x1000), 0));
	EXPECT_TRUE(UnmapViewOfFile2(CUR, v, MEM_PRESERVE_PLACEHOLDER));
	EXPECT_PLACEHOLDER(p, 0x20000);
	/* A commit after that reaches w only; the placeholder stays one. */
	EXPECT_EQ(P(U(w) + 0x1000), VirtualAlloc(P(U(w) + 0x1000), 0x1000, MEM_COMMIT,
						 PAGE_READWRITE));
	EXPECT_PLACEHOLDER(p, 0x20000);
	EXPECT_TRUE(faults(p, 0));
	((volatile char *)w)[0x1000] = 4;
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_TRUE(UnmapViewOfFile(w));
	CloseHandle(h);
}

static volatile int view_guards;
static NTVM_GUARD_EXCEPTION view_guard_last;

static void on_view_guard(const NTVM_GUARD_EXCEPTION *e, void *context)
{
	__atomic_add_fetch(&view_guards, 1, __ATOMIC_SEQ_CST);
	view_guard_last = *e;
	(void)context;
}

/* PAGE_GUARD in views: one-shot, as in private memory (VM spec 4.7). */
TEST_F(sec, guard_in_views)
{
	volatile char *v, *w, *c;
	HANDLE h;
	DWORD old;
	PVOID p;
	SIZE_T size;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_RESERVE, 0,
			      0x20000, NULL);
	ASSERT_NE(NULL, h);
	v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	w = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	c = MapViewOfFile(h, FILE_MAP_COPY, 0, 0, 0);
	ASSERT_NE(NULL, v);
	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, c);
	/* Uncommitted: the view check, then STATUS_NOT_COMMITTED. */
	size = 0x1000;
	p = (PVOID)v;
	EXPECT_EQ(STATUS_NOT_COMMITTED,
		  NtProtectVirtualMemory(CUR, &p, &size, PAGE_READWRITE | PAGE_GUARD, &old));
	EXPECT_EQ(STATUS_SECTION_PROTECTION,
		  NtProtectVirtualMemory(CUR, &p, &size, PAGE_EXECUTE_READ | PAGE_GUARD, &old));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
		  NtProtectVirtualMemory(CUR, &p, &size, PAGE_NOACCESS | PAGE_GUARD, &old));
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x20000, MEM_RESERVE, 0, MEM_MAPPED);
	/* A guard commit: committed everywhere, a guard page in v only. */
	EXPECT_EQ(v, VirtualAlloc((void *)v, 0x2000, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD));
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x2000, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD,
		      MEM_MAPPED);
	EXPECT_REGION(w, w, w, PAGE_READWRITE, 0x2000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	w[0x1005] = 8;
	EXPECT_TRUE(faults((void *)v, 0));

	ASSERT_EQ(0, ntvm_install_guard_handler(on_view_guard, NULL));
	view_guards = 0;
	EXPECT_EQ(0, v[0x10]);
	EXPECT_EQ(1, view_guards);
	EXPECT_EQ(STATUS_GUARD_PAGE_VIOLATION, view_guard_last.ExceptionCode);
	EXPECT_EQ(EXCEPTION_READ_FAULT, view_guard_last.ExceptionInformation[0]);
	EXPECT_EQ(U(v) + 0x10, view_guard_last.ExceptionInformation[1]);
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x1000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_REGION(v + 0x1000, v + 0x1000, v, PAGE_READWRITE, 0x1000, MEM_COMMIT,
		      PAGE_READWRITE | PAGE_GUARD, MEM_MAPPED);
	v[0x10] = 1;
	EXPECT_EQ(1, view_guards);
	v[0x1006] = 9;
	EXPECT_EQ(2, view_guards);
	EXPECT_EQ(EXCEPTION_WRITE_FAULT, view_guard_last.ExceptionInformation[0]);
	EXPECT_EQ(9, w[0x1006]);
	EXPECT_EQ(8, v[0x1005]);
	EXPECT_EQ(PAGE_READWRITE, region_of((void *)(v + 0x1000)).Protect);

	/* VirtualProtect arms one again; old protection as set. */
	EXPECT_TRUE(VirtualProtect((void *)w, 0x1000, PAGE_READONLY | PAGE_GUARD, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_TRUE(VirtualProtect((void *)w, 0x1000, PAGE_READONLY | PAGE_GUARD, &old));
	EXPECT_EQ(PAGE_READONLY | PAGE_GUARD, old);
	EXPECT_EQ(1, w[0x10]);
	EXPECT_EQ(3, view_guards);
	EXPECT_REGION(w, w, w, PAGE_READWRITE, 0x1000, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);

	/* Write-copy guard pages: the write after the guard is private. */
	EXPECT_EQ(PAGE_WRITECOPY, region_of((void *)c).Protect);
	EXPECT_TRUE(VirtualProtect((void *)c, 0x1000, PAGE_WRITECOPY | PAGE_GUARD, &old));
	EXPECT_EQ(PAGE_WRITECOPY, old);
	EXPECT_EQ(PAGE_WRITECOPY | PAGE_GUARD, region_of((void *)c).Protect);
	c[0x10] = 5;
	EXPECT_EQ(4, view_guards);
	EXPECT_EQ(5, c[0x10]);
	EXPECT_EQ(1, v[0x10]);
	EXPECT_EQ(PAGE_READWRITE, region_of((void *)c).Protect);

	EXPECT_TRUE(UnmapViewOfFile((void *)v));
	EXPECT_TRUE(UnmapViewOfFile((void *)w));
	EXPECT_TRUE(UnmapViewOfFile((void *)c));
	CloseHandle(h);
}

/* Spec 1.5.1, 1.5.4, 8.13, 8.14: names. */
TEST_F(sec, names)
{
	HANDLE a, b, c;
	PVOID v;

	SetLastError(0xdeadbeef);
	a = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x1000,
			      "Wine Test Mapping");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	b = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x2000,
			      "Wine Test Mapping");
	ASSERT_NE(NULL, b);
	EXPECT_EQ(ERROR_ALREADY_EXISTS, GetLastError());
	EXPECT_NE(a, b);
	EXPECT_EQ(0x1000, secinfo(b).Size.QuadPart);
	c = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x1000,
			      "WINE TEST MAPPING");
	ASSERT_NE(NULL, c);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	CloseHandle(c);
	EXPECT_WIN32_ERROR(ERROR_FILE_NOT_FOUND,
			   OpenFileMapping(FILE_MAP_READ, FALSE, "WINE TEST MAPPING"));
	v = MapViewOfFile(a, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, v);
	c = OpenFileMapping(FILE_MAP_ALL_ACCESS, FALSE, "Wine Test Mapping");
	ASSERT_NE(NULL, c);
	CloseHandle(a);
	CloseHandle(b);
	CloseHandle(c);
	/* The view lives on, the name does not (spec 1.5.4). */
	((volatile char *)v)[0] = 1;
	EXPECT_EQ(MEM_MAPPED, region_of(v).Type);
	EXPECT_WIN32_ERROR(ERROR_FILE_NOT_FOUND,
			   OpenFileMapping(FILE_MAP_READ, FALSE, "Wine Test Mapping"));
	a = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x1000,
			      "Wine Test Mapping");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	CloseHandle(a);
	EXPECT_TRUE(UnmapViewOfFile(v));
}

/* Spec 6.6, 6.7, 8.18, 8.19: views in placeholders. */
TEST_F(sec, placeholder_views)
{
	HANDLE h, h2;
	PVOID p, v, o, a, w;
	SIZE_T size;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x100000, NULL);
	ASSERT_NE(NULL, h);
	p = VirtualAlloc2(NULL, NULL, 0x100000, PH, PAGE_NOACCESS, NULL, 0);
	ASSERT_NE(NULL, p);
	/* A one-page view at p + 4K, offset 4K (spec 8.19). */
	ASSERT_TRUE(VirtualFree(P(U(p) + 0x1000), 0x1000, PRESERVE));
	EXPECT_WIN32_ERROR(ERROR_MAPPED_ALIGNMENT,
			   MapViewOfFile3(h, NULL, P(U(p) + 0xfff), 0x1000, 0x1000,
					  MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0));
	EXPECT_EQ(NULL, MapViewOfFile3(h, NULL, P(U(p) + 0x1000), 0xfff, 0x1000,
				       MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0));
	EXPECT_EQ(ERROR_MAPPED_ALIGNMENT, GetLastError());
	/* Size other than the placeholder's; not a placeholder (6.6.3). */
	EXPECT_EQ(NULL, MapViewOfFile3(h, NULL, P(U(p) + 0x1000), 0x1000, 0x2000,
				       MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_PLACEHOLDER(U(p) + 0x1000, 0x1000);
	v = MapViewOfFile3(h, NULL, P(U(p) + 0x1000), 0x1000, 0x1000,
			   MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0);
	ASSERT_EQ(U(p) + 0x1000, U(v));
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x1000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_PLACEHOLDER(p, 0x1000);
	EXPECT_PLACEHOLDER(U(p) + 0x2000, 0xfe000);
	((volatile char *)v)[0] = 5;
	/* No split of a view; RELEASE|PRESERVE is refused (6.6.6). */
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER, VirtualFree(v, 0x1000, PRESERVE));
	EXPECT_FALSE(UnmapViewOfFile2(NULL, v, MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(ERROR_INVALID_HANDLE, GetLastError());
	EXPECT_FALSE(UnmapViewOfFile2(CUR, v, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	/* NT's order: the flags, an address above the user range, the handle. */
	EXPECT_FALSE(UnmapViewOfFile2(NULL, v, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_EQ(STATUS_NOT_MAPPED_VIEW,
		  NtUnmapViewOfSection(NULL, P(sizeof(void *) == 8 ? 0xffff800000000000ULL :
						 0xfffff000UL)));
	EXPECT_EQ(STATUS_INVALID_HANDLE, NtUnmapViewOfSection(NULL, v));
	EXPECT_EQ(STATUS_INVALID_HANDLE, NtUnmapViewOfSectionEx(NULL, NULL, 0));
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x1000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_TRUE(UnmapViewOfFile2(CUR, v, MEM_PRESERVE_PLACEHOLDER));
	EXPECT_PLACEHOLDER(v, 0x1000);
	EXPECT_TRUE(faults(v, 0));
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS,
			   UnmapViewOfFile2(CUR, v, MEM_PRESERVE_PLACEHOLDER));
	EXPECT_FALSE(UnmapViewOfFile(v));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	/* Re-map, close the section, unmap back (6.6.5, 6.7.1). */
	ASSERT_EQ(v, MapViewOfFile3(h, CUR, v, 0x1000, 0x1000, MEM_REPLACE_PLACEHOLDER,
				    PAGE_READWRITE, NULL, 0));
	EXPECT_EQ(5, ((volatile char *)v)[0]);
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_TRUE(UnmapViewOfFileEx(v, MEM_UNMAP_WITH_TRANSIENT_BOOST | MEM_PRESERVE_PLACEHOLDER));
	EXPECT_PLACEHOLDER(v, 0x1000);
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS, VirtualFree(v, 0x1000, PRESERVE));
	/* Spec 8.18, 6.3.3: VirtualFreeEx alike; the placeholder stays. */
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS,
			   VirtualFreeEx(GetCurrentProcess(), v, 0x1000, PRESERVE));
	EXPECT_PLACEHOLDER(v, 0x1000);
	EXPECT_TRUE(VirtualFree(p, 0x100000, COALESCE));
	EXPECT_PLACEHOLDER(p, 0x100000);

	/* A view not from a placeholder (spec 6.7.3, 8.18). */
	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000, NULL);
	ASSERT_NE(NULL, h);
	o = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, o);
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER, VirtualFree(o, 0x10000, PRESERVE));
	EXPECT_FALSE(UnmapViewOfFile2(CUR, o, MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_EQ(MEM_MAPPED, region_of(o).Type);
	EXPECT_TRUE(UnmapViewOfFile2(CUR, o, 0));
	/* Replacing the whole placeholder; a plain unmap frees (6.7.4). */
	size = 0x10000;
	ASSERT_TRUE(VirtualFree(p, 0x10000, PRESERVE));
	v = MapViewOfFile3(h, NULL, p, 0, size, MEM_REPLACE_PLACEHOLDER, PAGE_WRITECOPY, NULL, 0);
	ASSERT_EQ(p, v);
	EXPECT_REGION(v, v, v, PAGE_WRITECOPY, 0x10000, MEM_COMMIT, PAGE_WRITECOPY, MEM_MAPPED);
	EXPECT_TRUE(UnmapViewOfFile(v));
	EXPECT_EQ(MEM_FREE, region_of(p).State);
	EXPECT_TRUE(VirtualFree(P(U(p) + 0x10000), 0, MEM_RELEASE));
	/*
	 * Spec 6.6.2, 8.19: where the range is free, no placeholder (Wine's
	 * test makes these calls after a plain unmap), a base or an offset
	 * one byte off a page is still ERROR_MAPPED_ALIGNMENT: the alignment
	 * is checked before the target.  So is a page-aligned base off 64K
	 * without REPLACE.  The range stays free.
	 */
	h2 = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x100000, NULL);
	ASSERT_NE(NULL, h2);
	EXPECT_WIN32_ERROR(ERROR_MAPPED_ALIGNMENT,
			   MapViewOfFile3(h2, NULL, P(U(p) + 0xfff), 0x1000, 0x1000,
					  MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0));
	EXPECT_WIN32_ERROR(ERROR_MAPPED_ALIGNMENT,
			   MapViewOfFile3(h2, NULL, P(U(p) + 0x1000), 0xfff, 0x1000,
					  MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0));
	EXPECT_WIN32_ERROR(ERROR_MAPPED_ALIGNMENT,
			   MapViewOfFile3(h2, NULL, P(U(p) + 0x2000), 0x1000, 0x1000, 0,
					  PAGE_READWRITE, NULL, 0));
	EXPECT_REGION(p, p, 0, 0, region_of(p).RegionSize, MEM_FREE, PAGE_NOACCESS, 0);
	EXPECT_LE((SIZE_T)0x100000, region_of(p).RegionSize);
	/*
	 * Spec 8.19, 2.2.3: a 64K-aligned free base with offset 4 x 64K, and
	 * with offset 0: the view is there, and shows that offset's bytes.
	 */
	a = P(U(p) + 0x10000);
	v = MapViewOfFile3(h2, NULL, a, 0x40000, 0x1000, 0, PAGE_READWRITE, NULL, 0);
	ASSERT_EQ(a, v);
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x1000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	((volatile char *)v)[5] = 0x77;
	w = MapViewOfFile(h2, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, w);
	EXPECT_EQ(0x77, ((volatile char *)w)[0x40005]);
	EXPECT_TRUE(UnmapViewOfFile(v));
	((volatile char *)w)[5] = 0x66;
	v = MapViewOfFile3(h2, NULL, a, 0, 0x1000, 0, PAGE_READWRITE, NULL, 0);
	ASSERT_EQ(a, v);
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x1000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_EQ(0x66, ((volatile char *)v)[5]);
	EXPECT_TRUE(UnmapViewOfFile(v));
	EXPECT_TRUE(UnmapViewOfFile(w));
	EXPECT_TRUE(CloseHandle(h2));
	/* Without REPLACE, 64K alignment is needed (spec 8.19). */
	EXPECT_WIN32_ERROR(ERROR_MAPPED_ALIGNMENT,
			   MapViewOfFile3(h, NULL, NULL, 0x1000, 0x1000, 0, PAGE_READWRITE, NULL,
					  0));
	v = MapViewOfFile3(h, NULL, NULL, 0, 0x1000, 0, PAGE_READWRITE, NULL, 0);
	ASSERT_NE(NULL, v);
	EXPECT_TRUE(UnmapViewOfFile(v));
	CloseHandle(h);
}

/* Spec 8.2: NtMapViewOfSectionEx's extended parameters. */
TEST_F(sec, view_parameters)
{
	MEM_ADDRESS_REQUIREMENTS req = { 0 };
	MEM_EXTENDED_PARAMETER ep[2];
	LARGE_INTEGER off = { 0 };
	uintptr_t fixed;
	SYSTEM_INFO si;
	HANDLE h;
	PVOID v, ph;
	SIZE_T size;

	GetSystemInfo(&si);

	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x40000, PAGE_READWRITE, SEC_COMMIT, NULL));
	memset(ep, 0, sizeof(ep));
	ep[0].Type = MemExtendedParameterAddressRequirements;
	ep[0].Pointer = &req;
	v = NULL;
	size = 0x40000;
	ASSERT_EQ(STATUS_SUCCESS, NtMapViewOfSectionEx(h, CUR, &v, &off, &size, 0,
						       PAGE_READWRITE, ep, 1));
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	v = NULL;
	req.HighestEndingAddress = P(0x20000fff);
	ASSERT_EQ(STATUS_SUCCESS, NtMapViewOfSectionEx(h, CUR, &v, &off, &size, 0,
						       PAGE_READWRITE, ep, 1));
	EXPECT_GE(0x20001000, U(v) + size);
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	v = NULL;
	req.HighestEndingAddress = P(0x20001001);
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtMapViewOfSectionEx(h, CUR, &v, &off, &size, 0,
								 PAGE_READWRITE, ep, 1));
	req.HighestEndingAddress = P(0x20000ffe);
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtMapViewOfSectionEx(h, CUR, &v, &off, &size, 0,
								 PAGE_READWRITE, ep, 1));
	req.HighestEndingAddress = NULL;
	req.Alignment = 0x10000;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtMapViewOfSectionEx(h, CUR, &v, &off, &size, 0,
								 PAGE_READWRITE, ep, 1));
	/*
	 * An explicit base with requirements is refused (2.6.4) and maps
	 * nothing; all-zero requirements are none, as for allocations
	 * (spec 1.9.1), and a replace may carry them (6.6.3).
	 */
	req.Alignment = 0;
	req.HighestEndingAddress = si.lpMaximumApplicationAddress;
	fixed = free_granules(0x20000000, 0x40000000, 0x40000);
	ASSERT_NE(0, fixed);
	v = P(fixed);
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtMapViewOfSectionEx(h, CUR, &v, &off, &size, 0,
								 PAGE_READWRITE, ep, 1));
	EXPECT_EQ(P(fixed), v);
	EXPECT_EQ(0x40000, size);
	EXPECT_EQ(MEM_FREE, region_of(v).State);
	req.HighestEndingAddress = NULL;
	ASSERT_EQ(STATUS_SUCCESS, NtMapViewOfSectionEx(h, CUR, &v, &off, &size, 0,
						       PAGE_READWRITE, ep, 1));
	EXPECT_EQ(P(fixed), v);
	EXPECT_EQ(0x40000, size);
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x40000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	ph = VirtualAlloc2(NULL, NULL, 0x40000, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
			   PAGE_NOACCESS, NULL, 0);
	ASSERT_NE(NULL, ph);
	req.LowestStartingAddress = ph;
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   MapViewOfFile3(h, NULL, ph, 0, 0x40000, MEM_REPLACE_PLACEHOLDER,
					  PAGE_READWRITE, ep, 1));
	EXPECT_PLACEHOLDER(ph, 0x40000);
	req.LowestStartingAddress = NULL;
	EXPECT_EQ(ph, MapViewOfFile3(h, NULL, ph, 0, 0x40000, MEM_REPLACE_PLACEHOLDER,
				     PAGE_READWRITE, ep, 1));
	EXPECT_REGION(ph, ph, ph, PAGE_READWRITE, 0x40000, MEM_COMMIT, PAGE_READWRITE,
		      MEM_MAPPED);
	EXPECT_TRUE(UnmapViewOfFile2(GetCurrentProcess(), ph, MEM_PRESERVE_PLACEHOLDER));
	EXPECT_PLACEHOLDER(ph, 0x40000);
	EXPECT_TRUE(VirtualFree(ph, 0, MEM_RELEASE));
	v = NULL;
	ep[1] = ep[0];
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtMapViewOfSectionEx(h, CUR, &v, &off, &size, 0,
								 PAGE_READWRITE, ep, 2));
	ep[1].Type = MemExtendedParameterInvalidType;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtMapViewOfSectionEx(h, CUR, &v, &off, &size, 0,
								 PAGE_READWRITE, ep, 2));
	ep[1].Type = MemExtendedParameterMax;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtMapViewOfSectionEx(h, CUR, &v, &off, &size, 0,
								 PAGE_READWRITE, ep, 2));
	ep[1].Type = MemExtendedParameterNumaNode;
	ep[1].ULong = 0;
	ep[0].Type = MemExtendedParameterAttributeFlags;
	ep[0].ULong64 = 0;
	ASSERT_EQ(STATUS_SUCCESS, NtMapViewOfSectionEx(h, CUR, &v, &off, &size, 0,
						       PAGE_READWRITE, ep, 2));
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	/* ImageMachine: not supported once, invalid twice (2.6.5). */
	v = NULL;
	ep[0].Type = ep[1].Type = MemExtendedParameterImageMachine;
	ep[0].ULong = ep[1].ULong = 0x8664;
	EXPECT_EQ(STATUS_NOT_SUPPORTED, NtMapViewOfSectionEx(h, CUR, &v, &off, &size, 0,
							     PAGE_READWRITE, ep, 1));
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtMapViewOfSectionEx(h, CUR, &v, &off, &size, 0,
								 PAGE_READWRITE, ep, 2));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   MapViewOfFile3(h, NULL, NULL, 0, 0x10000, 0, PAGE_READWRITE, ep, 2));
	EXPECT_EQ(NULL, v);
	NtClose(h);
}

/*
 * Spec 11's open questions, as ntvm.rst chooses them: MEM_RESERVE in a
 * map call is accepted and changes nothing (Wine), but not with a
 * CommitSize (Server 2003); ViewUnmap acts as ViewShare.  The view still
 * may not pass the section's end.
 */
TEST_F(sec, view_reserve_type_and_view_unmap)
{
	LARGE_INTEGER off = { 0 };
	HANDLE h, hr;
	SIZE_T size;
	PVOID v, w;

	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x20000, PAGE_READWRITE, SEC_COMMIT, NULL));
	ASSERT_EQ(STATUS_SUCCESS, mksec(&hr, 0x20000, PAGE_READWRITE, SEC_RESERVE, NULL));
	v = NULL;
	size = 0;
	ASSERT_EQ(STATUS_SUCCESS, NtMapViewOfSection(h, CUR, &v, 0, 0, &off, &size, ViewUnmap,
						     MEM_RESERVE, PAGE_READWRITE));
	EXPECT_EQ(0x20000, size);
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x20000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	w = NULL;
	size = 0;
	ASSERT_EQ(STATUS_SUCCESS, NtMapViewOfSection(h, CUR, &w, 0, 0, &off, &size, ViewShare,
						     0, PAGE_READONLY));
	((char *)v)[0x1234] = 42;
	EXPECT_EQ(42, ((char *)w)[0x1234]);
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, w));
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));

	/*
	 * SEC_RESERVE: a reserved view commits nothing; with a CommitSize
	 * MEM_RESERVE is refused (2.5.3, Server 2003's status), and nothing
	 * is mapped or committed.  Without MEM_RESERVE the CommitSize commits.
	 */
	v = NULL;
	size = 0;
	EXPECT_EQ(STATUS_INVALID_PARAMETER_9,
		  NtMapViewOfSection(hr, CUR, &v, 0, 0x1000, &off, &size, ViewUnmap,
				     MEM_RESERVE, PAGE_READWRITE));
	EXPECT_EQ(NULL, v);
	EXPECT_EQ(0, size);
	ASSERT_EQ(STATUS_SUCCESS, NtMapViewOfSection(hr, CUR, &v, 0, 0, &off, &size,
						     ViewUnmap, MEM_RESERVE, PAGE_READWRITE));
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x20000, MEM_RESERVE, 0, MEM_MAPPED);
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	v = NULL;
	size = 0;
	ASSERT_EQ(STATUS_SUCCESS, NtMapViewOfSection(hr, CUR, &v, 0, 0x1000, &off, &size,
						     ViewUnmap, 0, PAGE_READWRITE));
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x1000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_REGION(U(v) + 0x1000, U(v) + 0x1000, v, PAGE_READWRITE, 0x1f000, MEM_RESERVE, 0,
		      MEM_MAPPED);
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));

	/* No "reserved view" past the section's end: INVALID_VIEW_SIZE. */
	v = NULL;
	size = 0x30000;
	EXPECT_EQ(STATUS_INVALID_VIEW_SIZE,
		  NtMapViewOfSection(h, CUR, &v, 0, 0, &off, &size, ViewShare, MEM_RESERVE,
				     PAGE_READWRITE));
	EXPECT_EQ(NULL, v);
	EXPECT_EQ(0x30000, size);
	NtClose(h);
	NtClose(hr);
}

/*
 * Bad BaseAddress, ViewSize and SectionOffset variables (a wild pointer, a
 * read-only variable): STATUS_ACCESS_VIOLATION where NT probes them, after
 * the inherit, type and protection checks and before the addresses and
 * both handles; no view is made and the variables stay as they were.
 */
TEST_F(sec, view_bad_pointers)
{
	void *wild = P(8);
	struct ntvm_stats st0, st1;
	LARGE_INTEGER off = { .QuadPart = 0 }, *roff;
	HANDLE h, bad = NTVM_FD_TO_HANDLE(1000);
	PVOID b = NULL, *ro;
	SIZE_T size = 0x10000;

	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x10000, PAGE_READWRITE, SEC_COMMIT, NULL));
	ro = ro_variables(NULL, 0x10000);
	ASSERT_NE(NULL, ro);
	roff = (LARGE_INTEGER *)ro + 2;	/* zero */
	st0 = stats();

	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtMapViewOfSection(h, CUR, wild, 0, 0, &off, &size, ViewShare, 0,
				     PAGE_READWRITE));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtMapViewOfSection(h, CUR, &b, 0, 0, &off, wild, ViewShare, 0,
				     PAGE_READWRITE));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtMapViewOfSection(h, CUR, &b, 0, 0, wild, &size, ViewShare, 0,
				     PAGE_READWRITE));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtMapViewOfSection(h, CUR, ro, 0, 0, &off, &size, ViewShare, 0,
				     PAGE_READWRITE));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtMapViewOfSection(h, CUR, &b, 0, 0, &off, (SIZE_T *)ro + 1, ViewShare, 0,
				     PAGE_READWRITE));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtMapViewOfSection(h, CUR, &b, 0, 0, roff, &size, ViewShare, 0,
				     PAGE_READWRITE));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtMapViewOfSection(h, CUR, NULL, 0, 0, &off, &size, ViewShare, 0,
				     PAGE_READWRITE));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtMapViewOfSection(h, CUR, &b, 0, 0, &off, NULL, ViewShare, 0,
				     PAGE_READWRITE));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtMapViewOfSectionEx(h, CUR, wild, &off, &size, 0, PAGE_READWRITE, NULL, 0));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtMapViewOfSectionEx(h, CUR, &b, &off, wild, 0, PAGE_READWRITE, NULL, 0));

	/* NT's order: the values first, the handles last. */
	EXPECT_EQ(STATUS_INVALID_PARAMETER_8,
		  NtMapViewOfSection(h, CUR, wild, 0, 0, &off, &size, 0, 0, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_9,
		  NtMapViewOfSection(h, CUR, wild, 0, 0, &off, &size, ViewShare, MEM_COMMIT,
				     PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
		  NtMapViewOfSection(h, CUR, wild, 0, 0, &off, &size, ViewShare, 0,
				     PAGE_READWRITE | PAGE_GUARD));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtMapViewOfSection(bad, CUR, wild, 0, 0, &off, &size, ViewShare, 0,
				     PAGE_READWRITE));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtMapViewOfSection(h, NULL, wild, 0, 0, &off, &size, ViewShare, 0,
				     PAGE_READWRITE));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtMapViewOfSectionEx(bad, NULL, &b, &off, wild, 0, PAGE_READWRITE, NULL, 0));
	b = P(sizeof(void *) == 8 ? 0x800000000000ULL : 0xffff8000UL);
	EXPECT_EQ(STATUS_INVALID_PARAMETER_3,
		  NtMapViewOfSection(bad, NULL, &b, 0, 0, &off, &size, ViewShare, 0,
				     PAGE_READWRITE));
	b = NULL;
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtMapViewOfSection(bad, NULL, &b, 0, 0, &off, &size, ViewShare, 0,
				     PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtMapViewOfSection(bad, CUR, &b, 0, 0, &off, &size, ViewShare, 0,
				     PAGE_READWRITE));

	/* Nothing changed: no view, the variables as they were. */
	EXPECT_EQ(NULL, b);
	EXPECT_EQ(0x10000, size);
	EXPECT_EQ(0, off.QuadPart);
	EXPECT_EQ(NULL, ro[0]);
	EXPECT_EQ(0x10000, ((SIZE_T *)ro)[1]);
	EXPECT_EQ(0, roff->QuadPart);
	st1 = stats();
	EXPECT_EQ(st0.allocations, st1.allocations);
	EXPECT_EQ(st0.reserved_bytes, st1.reserved_bytes);
	EXPECT_EQ(st0.committed_bytes, st1.committed_bytes);

	/* Good variables, and no SectionOffset at all, still work. */
	size = 0;
	ASSERT_EQ(STATUS_SUCCESS,
		  NtMapViewOfSection(h, CUR, &b, 0, 0, NULL, &size, ViewShare, 0,
				     PAGE_READWRITE));
	EXPECT_NE(NULL, b);
	EXPECT_EQ(0x10000, size);
	EXPECT_REGION(b, b, b, PAGE_READWRITE, 0x10000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, b));
	b = NULL;
	size = 0x1000;
	off.QuadPart = 0;
	ASSERT_EQ(STATUS_SUCCESS,
		  NtMapViewOfSectionEx(h, CUR, &b, &off, &size, 0, PAGE_READONLY, NULL, 0));
	EXPECT_EQ(0x1000, size);
	EXPECT_EQ(0, off.QuadPart);
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, b));
	st1 = stats();
	EXPECT_EQ(st0.allocations, st1.allocations);
	munmap(ro, 4096);
	NtClose(h);
}

/*
 * NtFlushVirtualMemory (spec 5.4): the page-rounded range written back,
 * size 0 for the whole view from base, a file's data reaching it; private
 * and free memory STATUS_NOT_MAPPED_DATA (FlushViewOfFile: success), a
 * range past the view's end STATUS_INVALID_PARAMETER; bad variables
 * STATUS_ACCESS_VIOLATION before the handle, with the variables as they
 * were.
 */
TEST_F(sec, flush)
{
	int fd = tmpfile_of(0x3000, O_RDWR);
	PVOID v = NULL, b, priv = NULL, *ro;
	void *wild = P(8);
	SIZE_T size = 0;
	HANDLE h;
	char c;

	ASSERT_LE(0, fd);
	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0, PAGE_READWRITE, SEC_COMMIT, NTVM_FD_TO_HANDLE(fd)));
	ASSERT_EQ(STATUS_SUCCESS, mapv(h, &v, 0, &size, 0, PAGE_READWRITE));
	ASSERT_EQ(0x3000, size);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&priv, 0x10000, MEM_RESERVE | MEM_COMMIT,
					   PAGE_READWRITE));
	((volatile char *)v)[0x1234] = 0x6b;

	b = (char *)v + 0x1234;
	size = 0x10;
	EXPECT_EQ(STATUS_SUCCESS, NtFlushVirtualMemory(CUR, &b, &size, NULL));
	EXPECT_EQ((char *)v + 0x1000, b);
	EXPECT_EQ(0x1000, size);
	ASSERT_EQ(1, pread(fd, &c, 1, 0x1234));
	EXPECT_EQ(0x6b, c);
	b = (char *)v + 0x1800;
	size = 0;
	EXPECT_EQ(STATUS_SUCCESS, NtFlushVirtualMemory(CUR, &b, &size, NULL));
	EXPECT_EQ((char *)v + 0x1000, b);
	EXPECT_EQ(0x2000, size);

	/* Not a view, or past its end. */
	b = (char *)v + 0x1000;
	size = 0x2001;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtFlushVirtualMemory(CUR, &b, &size, NULL));
	EXPECT_EQ((char *)v + 0x1000, b);
	EXPECT_EQ(0x2001, size);
	b = priv;
	size = 0x1000;
	EXPECT_EQ(STATUS_NOT_MAPPED_DATA, NtFlushVirtualMemory(CUR, &b, &size, NULL));
	EXPECT_EQ(priv, b);
	b = P(sizeof(void *) == 8 ? 0x800000000000ULL : 0xffff8000UL);
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtFlushVirtualMemory(CUR, &b, &size, NULL));
	EXPECT_TRUE(FlushViewOfFile(priv, 0x1000));

	/* Bad variables, then the handle. */
	ro = ro_variables(v, 0);
	ASSERT_NE(NULL, ro);
	b = v;
	size = 0;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtFlushVirtualMemory(CUR, wild, &size, NULL));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtFlushVirtualMemory(CUR, &b, wild, NULL));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtFlushVirtualMemory(CUR, NULL, &size, NULL));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtFlushVirtualMemory(CUR, ro, &size, NULL));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtFlushVirtualMemory(CUR, &b, (SIZE_T *)ro + 1, NULL));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtFlushVirtualMemory(NULL, wild, &size, NULL));
	EXPECT_EQ(STATUS_INVALID_HANDLE, NtFlushVirtualMemory(NULL, &b, &size, NULL));
	EXPECT_EQ(v, b);
	EXPECT_EQ(0, size);
	EXPECT_EQ(v, ro[0]);
	EXPECT_EQ(0, ((SIZE_T *)ro)[1]);

	munmap(ro, 4096);
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(priv, 0, MEM_RELEASE));
	NtClose(h);
	close(fd);
}

/*
 * A lock that fails part way (mlock(2) cannot fault in pages of a view
 * whose file was truncated behind ntvm's back, and leaves what it reached
 * locked) unlocks what it locked, and only that: a page locked before
 * stays locked.
 */
TEST_F(sec, failed_lock_undoes_only_its_own)
{
	int fd = tmpfile_of(0x3000, O_RDWR);
	PVOID v = NULL, b;
	SIZE_T size = 0;
	HANDLE h;

	ASSERT_LE(0, fd);
	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0, PAGE_READWRITE, SEC_COMMIT, NTVM_FD_TO_HANDLE(fd)));
	ASSERT_EQ(STATUS_SUCCESS, mapv(h, &v, 0, &size, 0, PAGE_READWRITE));
	ASSERT_EQ(0x3000, size);
	((volatile char *)v)[0] = 1;
	ASSERT_TRUE(VirtualLock(v, 0x1000));
	ASSERT_EQ(0, ftruncate(fd, 0x1000));

	b = v;
	size = 0x3000;
	EXPECT_EQ(STATUS_WORKING_SET_QUOTA, NtLockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	EXPECT_EQ(v, b);
	EXPECT_EQ(0x3000, size);
	/* Pages 1 and 2 are not locked; page 0 still is. */
	b = (char *)v + 0x1000;
	size = 0x2000;
	EXPECT_EQ(STATUS_NOT_LOCKED, NtUnlockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	b = (char *)v + 0x2000;
	size = 0x1000;
	EXPECT_EQ(STATUS_NOT_LOCKED, NtUnlockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	b = v;
	size = 0x1000;
	EXPECT_EQ(STATUS_SUCCESS, NtUnlockVirtualMemory(CUR, &b, &size, MAP_PROCESS));

	/* With nothing locked before, nothing stays locked. */
	b = v;
	size = 0x3000;
	EXPECT_EQ(STATUS_WORKING_SET_QUOTA, NtLockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	b = v;
	size = 0x1000;
	EXPECT_EQ(STATUS_NOT_LOCKED, NtUnlockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	NtClose(h);
	close(fd);
}

/*
 * The same with many runs of pages locked before (20, where the library
 * once gave up beyond 16): every one stays locked, every page between
 * them is unlocked again.
 */
TEST_F(sec, failed_lock_undoes_many_runs)
{
	const SIZE_T pages = 48, runs = 20, pg = 0x1000;
	int fd = tmpfile_of(pages * pg, O_RDWR);
	PVOID v = NULL, b;
	SIZE_T size = 0, i;
	HANDLE h;
	char *c;

	ASSERT_LE(0, fd);
	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0, PAGE_READWRITE, SEC_COMMIT, NTVM_FD_TO_HANDLE(fd)));
	ASSERT_EQ(STATUS_SUCCESS, mapv(h, &v, 0, &size, 0, PAGE_READWRITE));
	ASSERT_EQ(pages * pg, size);
	c = v;
	for (i = 0; i < 2 * runs; i++)
		c[i * pg] = 1;
	for (i = 0; i < runs; i++)
		ASSERT_TRUE(VirtualLock(c + 2 * i * pg, pg));
	/* The last pages fault with SIGBUS: mlock(2) stops there. */
	ASSERT_EQ(0, ftruncate(fd, 2 * runs * pg));

	b = v;
	size = pages * pg;
	EXPECT_EQ(STATUS_WORKING_SET_QUOTA, NtLockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	for (i = 0; i < 2 * runs; i++) {
		b = c + i * pg;
		size = pg;
		EXPECT_EQ(i % 2 ? STATUS_NOT_LOCKED : STATUS_SUCCESS,
			  NtUnlockVirtualMemory(CUR, &b, &size, MAP_PROCESS))
			TH_LOG("page %zu", i);
	}
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	NtClose(h);
	close(fd);
}

/* Views and private memory side by side in one walk (spec 4.4.3). */
TEST_F(sec, mixed_walk)
{
	MEMORY_BASIC_INFORMATION m[8];
	LARGE_INTEGER off = { 0 };
	ULONG n = 8;
	HANDLE h;
	PVOID x = NULL, v, y, t;
	SIZE_T size;

	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x20000, PAGE_READWRITE, SEC_COMMIT, NULL));
	/* A free 192 KiB: reserve it, release it, use its three granules. */
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&x, 0x30000, MEM_RESERVE, PAGE_NOACCESS));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(x, 0, MEM_RELEASE));
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&x, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
	v = P(U(x) + 0x10000);
	size = 0x10000;
	ASSERT_EQ(STATUS_SUCCESS, mapv(h, &v, 0, &size, 0, PAGE_READWRITE));
	y = P(U(x) + 0x20000);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&y, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
	ASSERT_EQ(STATUS_SUCCESS, ntvm_query_regions(x, P(U(x) + 0x30000), m, &n));
	ASSERT_EQ(3, n);
	EXPECT_EQ(MEM_PRIVATE, m[0].Type);
	EXPECT_EQ(0x10000, m[0].RegionSize);
	EXPECT_EQ(MEM_MAPPED, m[1].Type);
	EXPECT_EQ(v, m[1].AllocationBase);
	EXPECT_EQ(0x10000, m[1].RegionSize);
	EXPECT_EQ(MEM_PRIVATE, m[2].Type);
	EXPECT_EQ(y, m[2].AllocationBase);
	/* A view over private memory: CONFLICTING_ADDRESSES. */
	t = x;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, mapv(h, &t, 0, &size, 0, PAGE_READWRITE));
	EXPECT_EQ(MEM_PRIVATE, region_of(x).Type);
	/* Partial release of private memory next to a view. */
	EXPECT_EQ(STATUS_SUCCESS, nt_free(P(U(y) + 0x8000), 0x8000, MEM_RELEASE));
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x10000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(x, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(y, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	/* Top-down and zero-bits placement, as for private memory. */
	v = NULL;
	size = 0x10000;
	ASSERT_EQ(STATUS_SUCCESS, mapv(h, &v, 0, &size, MEM_TOP_DOWN, PAGE_READWRITE));
	EXPECT_LT(sizeof(void *) == 8 ? 0x7f0000000000ULL : 0x80000000ULL, U(v));
	EXPECT_EQ(0, U(v) & 0xffff);
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	v = NULL;
	ASSERT_EQ(STATUS_SUCCESS, NtMapViewOfSection(h, CUR, &v, 4, 0, &off, &size, ViewShare,
						     MEM_TOP_DOWN, PAGE_READWRITE));
	EXPECT_GE(1ULL << 28, U(v) + size);
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	NtClose(h);
}

/* The other Win32 entry points real programs use (spec 1.7.1, 2.8). */
TEST_F(sec, win32_variants)
{
	SECTION_BASIC_INFORMATION b;
	HANDLE h;
	char *v, *w, *x;

	/*
	 * yuzu's call (spec 10.2).  The handle has the rights asked for, no
	 * more: no SECTION_QUERY (1.5.5).
	 */
	SetLastError(0xdeadbeef);
	h = CreateFileMapping2(INVALID_HANDLE_VALUE, NULL, FILE_MAP_WRITE | FILE_MAP_READ,
			       PAGE_READWRITE, SEC_COMMIT, 0x40000, NULL, NULL, 0);
	ASSERT_NE(NULL, h);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	EXPECT_EQ(STATUS_ACCESS_DENIED,
		  NtQuerySection(h, SectionBasicInformation, &b, sizeof(b), NULL));
	v = MapViewOfFileFromApp(h, FILE_MAP_WRITE, 0x10000, 0x10000);
	w = MapViewOfFile2(h, CUR, 0x10000, NULL, 0x10000, 0, PAGE_READONLY);
	x = MapViewOfFileNuma2(h, CUR, 0x20000, NULL, 0, 0, PAGE_READWRITE, 0);
	ASSERT_NE(NULL, v);
	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, x);
	EXPECT_EQ(0x20000, region_of(x).RegionSize);
	v[7] = 7;
	EXPECT_EQ(7, ((volatile char *)w)[7]);
	/* An access with no FILE_MAP_* bit is a no-access view (2.8.4). */
	EXPECT_TRUE(UnmapViewOfFile(v));
	v = MapViewOfFileFromApp(h, PAGE_EXECUTE_READWRITE, 0, 0);
	ASSERT_NE(NULL, v);
	EXPECT_EQ(PAGE_NOACCESS, region_of(v).AllocationProtect);
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   MapViewOfFile3FromApp(h, NULL, NULL, 0, 0, 0, PAGE_EXECUTE_READ, NULL,
						 0));
	EXPECT_TRUE(UnmapViewOfFile(v));
	EXPECT_TRUE(UnmapViewOfFile(w));
	EXPECT_TRUE(UnmapViewOfFile(x));
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_WIN32_ERROR(ERROR_INVALID_HANDLE, CloseHandle(h));
}

/* The handshake advertises placeholders, sections and their commands. */
TEST_F(sec, handshake)
{
	struct ntvm_api api = { .size = sizeof(api), .api = NTVM_API };
	struct ntvm_unmap_view_args u = { .size = 8 };
	struct {
		struct ntvm_unmap_view_args u;
		__u64 tail;
	} big = { .u = { .size = sizeof(big) }, .tail = 1 };

	ASSERT_EQ(0, ioctl(ntvm_fd(), NTVM_IOC_API, &api));
	EXPECT_TRUE(api.features & NTVM_FEATURE_PLACEHOLDER);
	EXPECT_TRUE(api.features & NTVM_FEATURE_SECTIONS);
	EXPECT_TRUE(api.ioctls & NTVM_IOC_BIT(NTVM_IOC_SECTION_CREATE));
	EXPECT_TRUE(api.ioctls & NTVM_IOC_BIT(NTVM_IOC_UNMAP_VIEW));
	/* Frame v2: a size below the first version's, a non-zero tail. */
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_UNMAP_VIEW, &u));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_UNMAP_VIEW, &big));
	EXPECT_EQ(E2BIG, errno);
	big.tail = 0;
	big.u.base = 0x10000;
	ASSERT_EQ(0, ioctl(ntvm_fd(), NTVM_IOC_UNMAP_VIEW, &big));
	EXPECT_EQ(NTVM_STATUS_NOT_MAPPED_VIEW, big.u.status);
	big.u.status = 0;
	big.u.flags = 1;
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_UNMAP_VIEW, &big));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * The ABI of NT's variables (NTVM_MAP_VARS, NTVM_MEMCTL_VARS): values come
 * from the variables or from the structure, never both; a caller of the
 * first version's size still maps by value; variables are read, the view's
 * written back, a status reported in the structure.
 */
TEST_F(sec, variables_abi)
{
	struct ntvm_map_view_args m0 = {
		.size = sizeof(m0), .inherit = 1, .protect = NTVM_PAGE_READWRITE,
	}, m;
	struct ntvm_memctl_args c0 = { .size = sizeof(c0), .op = NTVM_MEMCTL_FLUSH }, c;
	__u64 base = 0, size = 0, off = 0;
	HANDLE h;

	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x10000, PAGE_READWRITE, SEC_COMMIT, NULL));
	m0.section_fd = (int)(uintptr_t)h;

	m = m0;
	m.flags = NTVM_MAP_VARS;
	m.base_ptr = U(&base);
	m.size_ptr = U(&size);
	m.base = 0x10000;
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_MAP_VIEW, &m));
	EXPECT_EQ(EINVAL, errno);
	m = m0;
	m.offset_ptr = U(&off);
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_MAP_VIEW, &m));
	EXPECT_EQ(EINVAL, errno);
	m = m0;
	m.flags = 0x80;
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_MAP_VIEW, &m));
	EXPECT_EQ(EINVAL, errno);

	/* By value, in a structure of the first version's size. */
	m = m0;
	m.size = NTVM_MAP_VIEW_SIZE_VER0;
	ASSERT_EQ(0, ioctl(ntvm_fd(), NTVM_IOC_MAP_VIEW, &m));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, m.status);
	EXPECT_NE(0, m.base);
	EXPECT_EQ(0x10000, m.view_size);
	EXPECT_EQ(0, m.base_ptr);
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, P(m.base)));

	/* By variable: written back, and reported in the structure. */
	m = m0;
	m.flags = NTVM_MAP_VARS;
	m.base_ptr = U(&base);
	m.size_ptr = U(&size);
	m.offset_ptr = U(&off);
	ASSERT_EQ(0, ioctl(ntvm_fd(), NTVM_IOC_MAP_VIEW, &m));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, m.status);
	EXPECT_NE(0, base);
	EXPECT_EQ(base, m.base);
	EXPECT_EQ(0x10000, size);
	EXPECT_EQ(0x10000, m.view_size);
	EXPECT_EQ(0, off);

	/* MEMCTL: the variables only with LOCK, UNLOCK and FLUSH. */
	c = c0;
	c.flags = NTVM_MEMCTL_VARS;
	c.base_ptr = U(&base);
	c.size_ptr = U(&size);
	ASSERT_EQ(0, ioctl(ntvm_fd(), NTVM_IOC_MEMCTL, &c));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, c.status);
	EXPECT_EQ(base, c.out_base);
	EXPECT_EQ(0x10000, c.out_size);
	EXPECT_EQ(0, c.base);
	EXPECT_EQ(0, c.length);
	c = c0;
	c.flags = NTVM_MEMCTL_VARS;
	c.base_ptr = U(&base);
	c.size_ptr = U(&size);
	c.base = base;
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_MEMCTL, &c));
	EXPECT_EQ(EINVAL, errno);
	c = c0;
	c.base = base;
	c.size_ptr = U(&size);
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_MEMCTL, &c));
	EXPECT_EQ(EINVAL, errno);
	c = c0;
	c.op = NTVM_MEMCTL_PAGE;
	c.base = base;
	c.flags = NTVM_ARGS_OTHER_PROCESS;
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_MEMCTL, &c));
	EXPECT_EQ(EINVAL, errno);
	/* REGION takes another process's handle, and answers for it. */
	c.op = NTVM_MEMCTL_REGION;
	ASSERT_EQ(0, ioctl(ntvm_fd(), NTVM_IOC_MEMCTL, &c));
	EXPECT_EQ(NTVM_STATUS_INVALID_HANDLE, c.status);
	EXPECT_EQ(0, c.alloc_base);
	c = c0;
	c.op = NTVM_MEMCTL_REGION;
	c.base = base;
	c.size = NTVM_MEMCTL_SIZE_VER0;
	ASSERT_EQ(0, ioctl(ntvm_fd(), NTVM_IOC_MEMCTL, &c));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, c.status);
	EXPECT_EQ(base, c.alloc_base);
	EXPECT_EQ(NTVM_MEM_MAPPED, c.type);

	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, P(base)));
	NtClose(h);
}

/*
 * A section handle is a descriptor, and an installed descriptor cannot be
 * taken back: a create or open that fails, here because the argument
 * block stops being writable between the copy-in and the results (another
 * thread's mprotect()), must leave no descriptor behind, and a create
 * from a file smaller than the section must not have grown the file.
 */
static volatile int toggling;
static void *toggled;

static void *toggle_args(void *unused)
{
	while (toggling) {
		mprotect(toggled, 4096, PROT_READ);
		sched_yield();
		mprotect(toggled, 4096, PROT_READ | PROT_WRITE);
		sched_yield();
	}
	return NULL;
}

/* ==== [T] facts of the spec that an audit found untested ==== */

/* The 31 values of Wine's protection tables: 0 - 0xf, then 0x10 - 0xf0. */
static ULONG wine_table_prot(unsigned int i)
{
	return i < 16 ? i : (i - 15) << 4;
}

/* One of the eight base protections? */
static int is_base_prot(ULONG prot)
{
	return prot && prot <= PAGE_EXECUTE_WRITECOPY && !(prot & (prot - 1));
}

/* A free, 64K-aligned range of size bytes: reserved, then released. */
static PVOID free_range_of(SIZE_T size)
{
	PVOID p = NULL;

	if (nt_alloc(&p, size, MEM_RESERVE, PAGE_NOACCESS) ||
	    nt_free(p, 0, MEM_RELEASE))
		return NULL;
	return p;
}

/* A temporary file with its execute bits, for executable file sections. */
static int exec_tmpfile_of(size_t size)
{
	int fd = tmpfile_of(size, O_RDWR);

	if (fd >= 0 && fchmod(fd, 0700)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Spec 1.2.1: CreateFileMapping's SEC_* table, for a pagefile section and
 * for a data file, and the Attributes NtQuerySection reports.
 */
TEST_F(sec, sec_flags_table)
{
	static const ULONG good[] = {
		SEC_RESERVE, SEC_RESERVE | SEC_NOCACHE, SEC_RESERVE | SEC_WRITECOMBINE,
		SEC_COMMIT, SEC_COMMIT | SEC_NOCACHE, SEC_COMMIT | SEC_WRITECOMBINE, 0,
	};
	static const ULONG bad[] = {
		SEC_RESERVE | SEC_COMMIT, SEC_IMAGE | SEC_RESERVE, SEC_IMAGE | SEC_COMMIT,
		SEC_NOCACHE, SEC_LARGE_PAGES, SEC_WRITECOMBINE, SEC_FILE,
		SEC_FILE | SEC_RESERVE, SEC_FILE | SEC_COMMIT,
	};
	int fd = tmpfile_of(0x2000, O_RDWR);
	HANDLE files[2] = { INVALID_HANDLE_VALUE, NTVM_FD_TO_HANDLE(fd) }, h;
	long secs = ntvm_counter("sections");
	unsigned int f, i;
	struct stat st;
	ULONG want;

	ASSERT_LE(0, fd);
	for (f = 0; f < 2; f++) {
		for (i = 0; i < ARRAY_SIZE(good); i++) {
			if (f)
				want = SEC_FILE | (good[i] & (SEC_NOCACHE | SEC_WRITECOMBINE));
			else
				want = good[i] ? good[i] : SEC_COMMIT;
			SetLastError(0xdeadbeef);
			h = CreateFileMapping(files[f], NULL, good[i] | PAGE_READWRITE, 0, 0x1000,
					      NULL);
			ASSERT_NE(NULL, h) TH_LOG("file %u, flags %#x", f, good[i]);
			EXPECT_EQ(ERROR_SUCCESS, GetLastError());
			EXPECT_EQ(want, secinfo(h).Attributes) TH_LOG("file %u, flags %#x",
								      f, good[i]);
			EXPECT_TRUE(CloseHandle(h));
		}
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			SetLastError(0xdeadbeef);
			EXPECT_EQ(NULL, CreateFileMapping(files[f], NULL, bad[i] | PAGE_READWRITE,
							  0, 0x1000, NULL));
			EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError())
				TH_LOG("file %u, flags %#x", f, bad[i]);
		}
	}
	/* A data file never takes large pages. */
	SetLastError(0xdeadbeef);
	EXPECT_EQ(NULL, CreateFileMapping(files[1], NULL,
					  SEC_RESERVE | SEC_LARGE_PAGES | PAGE_READWRITE,
					  0, 0x1000, NULL));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	SetLastError(0xdeadbeef);
	EXPECT_EQ(NULL, CreateFileMapping(files[1], NULL,
					  SEC_COMMIT | SEC_LARGE_PAGES | PAGE_READWRITE,
					  0, 0x1000, NULL));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	if (secs >= 0)
		EXPECT_EQ(secs, ntvm_counter("sections"));
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(0x2000, st.st_size);
	close(fd);
}

/*
 * Spec 1.1.1, 1.2.1, 1.3.4: SEC_IMAGE is out of scope, but what is no
 * image is refused with Windows' statuses (ERROR_BAD_EXE_FORMAT through
 * Win32): an empty file STATUS_INVALID_FILE_FOR_SECTION, a file without
 * the "MZ" signature STATUS_INVALID_IMAGE_NOT_MZ.  SEC_NOCACHE goes with
 * an image, SEC_WRITECOMBINE does not.  Nothing is made, no file changes.
 */
TEST_F(sec, image_refusals)
{
	static const char mz[] = "MZ\x90\0";
	int data = tmpfile_of(0x2000, O_RDONLY);
	int empty = tmpfile_of(0, O_RDONLY);
	int pe = tmpfile_of(0, O_RDWR);
	long secs = ntvm_counter("sections");
	HANDLE h = NULL, fd, fe, fp;
	struct stat st;

	ASSERT_LE(0, data);
	ASSERT_LE(0, empty);
	ASSERT_LE(0, pe);
	ASSERT_EQ(sizeof(mz), write(pe, mz, sizeof(mz)));
	fd = NTVM_FD_TO_HANDLE(data);
	fe = NTVM_FD_TO_HANDLE(empty);
	fp = NTVM_FD_TO_HANDLE(pe);

	EXPECT_EQ(STATUS_INVALID_FILE_FOR_SECTION, mksec(&h, 0, PAGE_READONLY, SEC_IMAGE, fe));
	EXPECT_EQ(STATUS_INVALID_FILE_FOR_SECTION,
		  mksec(&h, 0x1000, PAGE_READONLY, SEC_IMAGE | SEC_NOCACHE, fe));
	EXPECT_EQ(STATUS_INVALID_IMAGE_NOT_MZ, mksec(&h, 0, PAGE_READONLY, SEC_IMAGE, fd));
	EXPECT_EQ(STATUS_INVALID_IMAGE_NOT_MZ,
		  mksec(&h, 0, PAGE_READONLY, SEC_IMAGE | SEC_NOCACHE, fd));
	EXPECT_EQ(STATUS_NOT_SUPPORTED, mksec(&h, 0, PAGE_READONLY, SEC_IMAGE, fp));
	EXPECT_EQ(STATUS_NOT_SUPPORTED,
		  mksec(&h, 0, PAGE_READONLY, SEC_IMAGE | SEC_NOCACHE, fp));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_6,
		  mksec(&h, 0, PAGE_READONLY, SEC_IMAGE | SEC_WRITECOMBINE, fp));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_6,
		  mksec(&h, 0, PAGE_READONLY, SEC_IMAGE | SEC_COMMIT, fd));
	EXPECT_EQ(ERROR_BAD_EXE_FORMAT, RtlNtStatusToDosError(STATUS_INVALID_IMAGE_NOT_MZ));
	EXPECT_EQ(NULL, h);

	SetLastError(0xdeadbeef);
	EXPECT_EQ(NULL, CreateFileMapping(fd, NULL, PAGE_READONLY | SEC_IMAGE, 0, 0, NULL));
	EXPECT_EQ(ERROR_BAD_EXE_FORMAT, GetLastError());
	SetLastError(0xdeadbeef);
	EXPECT_EQ(NULL, CreateFileMapping(fe, NULL, PAGE_READONLY | SEC_IMAGE, 0, 0, NULL));
	EXPECT_EQ(ERROR_BAD_EXE_FORMAT, GetLastError());
	SetLastError(0xdeadbeef);
	EXPECT_EQ(NULL, CreateFileMapping(fp, NULL, PAGE_READONLY | SEC_IMAGE, 0, 0, NULL));
	EXPECT_EQ(ERROR_NOT_SUPPORTED, GetLastError());

	if (secs >= 0)
		EXPECT_EQ(secs, ntvm_counter("sections"));
	ASSERT_EQ(0, fstat(data, &st));
	EXPECT_EQ(0x2000, st.st_size);
	ASSERT_EQ(0, fstat(empty, &st));
	EXPECT_EQ(0, st.st_size);
	ASSERT_EQ(0, fstat(pe, &st));
	EXPECT_EQ(sizeof(mz), st.st_size);
	close(data);
	close(empty);
	close(pe);
}

/* Spec 1.3.1, 2.3.3: a view of a 4090-byte pagefile section is one page. */
TEST_F(sec, view_of_4090_bytes)
{
	MEMORY_BASIC_INFORMATION m;
	SIZE_T size = 0;
	PVOID v, b = NULL;
	HANDLE h;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4090, NULL);
	ASSERT_NE(NULL, h);
	v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, v);
	memset(&m, 0xcc, sizeof(m));
	ASSERT_EQ(sizeof(m), VirtualQuery(v, &m, sizeof(m)));
	EXPECT_EQ(v, m.BaseAddress);
	EXPECT_EQ(v, m.AllocationBase);
	EXPECT_EQ(0x1000, m.RegionSize);
	EXPECT_EQ(MEM_COMMIT, m.State);
	EXPECT_EQ(PAGE_READWRITE, m.Protect);
	EXPECT_EQ(PAGE_READWRITE, m.AllocationProtect);
	EXPECT_EQ(MEM_MAPPED, m.Type);
	/* The whole page is the view's. */
	((volatile char *)v)[0xfff] = 1;
	/* The NT call writes the page-rounded size back. */
	ASSERT_EQ(STATUS_SUCCESS, mapv(h, &b, 0, &size, 0, PAGE_READONLY));
	EXPECT_EQ(0x1000, size);
	EXPECT_EQ(1, ((volatile char *)b)[0xfff]);
	EXPECT_REGION(b, b, b, PAGE_READONLY, 0x1000, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
	EXPECT_EQ(0x1000, secinfo(h).Size.QuadPart);
	EXPECT_TRUE(UnmapViewOfFile(v));
	EXPECT_TRUE(UnmapViewOfFile(b));
	EXPECT_TRUE(CloseHandle(h));
}

/*
 * Spec 1.4.1, 8.6: a file section takes exactly the six mappable
 * protections; a FILE_MAP_READ view of each is one read-only page, where
 * a commit is ERROR_ACCESS_DENIED (4.1.5) and only PAGE_READONLY and
 * PAGE_WRITECOPY may be set (4.3.1).
 */
TEST_F(sec, file_section_protections)
{
	int fd = exec_tmpfile_of(0x1000);
	HANDLE hf = NTVM_FD_TO_HANDLE(fd), h;
	unsigned int i;
	ULONG prot;
	DWORD old;
	PVOID v;

	ASSERT_LE(0, fd);
	for (i = 0; i < 31; i++) {
		prot = wine_table_prot(i);
		SetLastError(0xdeadbeef);
		h = CreateFileMapping(hf, NULL, prot | SEC_COMMIT, 0, 0x1000, NULL);
		if (!is_base_prot(prot) || prot == PAGE_NOACCESS || prot == PAGE_EXECUTE) {
			EXPECT_EQ(NULL, h) TH_LOG("protection %#x", prot);
			EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError())
				TH_LOG("protection %#x", prot);
			if (h)
				CloseHandle(h);
			continue;
		}
		ASSERT_NE(NULL, h) TH_LOG("protection %#x: error %u", prot, GetLastError());
		EXPECT_EQ(ERROR_SUCCESS, GetLastError());
		v = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
		ASSERT_NE(NULL, v) TH_LOG("protection %#x", prot);
		EXPECT_REGION(v, v, v, PAGE_READONLY, 0x1000, MEM_COMMIT, PAGE_READONLY,
			      MEM_MAPPED);
		SetLastError(0xdeadbeef);
		EXPECT_EQ(NULL, VirtualAlloc(v, 0x1000, MEM_COMMIT, prot));
		EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError()) TH_LOG("protection %#x", prot);
		old = 0xdeadbeef;
		SetLastError(0xdeadbeef);
		if (prot == PAGE_READONLY || prot == PAGE_WRITECOPY) {
			EXPECT_TRUE(VirtualProtect(v, 0x1000, prot, &old));
			EXPECT_EQ(PAGE_READONLY, old);
		} else {
			EXPECT_FALSE(VirtualProtect(v, 0x1000, prot, &old))
				TH_LOG("protection %#x", prot);
			EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
			EXPECT_REGION(v, v, v, PAGE_READONLY, 0x1000, MEM_COMMIT, PAGE_READONLY,
				      MEM_MAPPED);
		}
		EXPECT_TRUE(UnmapViewOfFile(v));
		EXPECT_TRUE(CloseHandle(h));
	}
	close(fd);
}

/*
 * Spec 1.4.3: a read-only file handle makes a PAGE_READONLY section; a
 * handle that cannot read the file makes none, with current Windows'
 * ERROR_ACCESS_DENIED (old versions said ERROR_INVALID_PARAMETER).
 */
TEST_F(sec, file_handle_rights)
{
	static const ULONG prots[] = { PAGE_READONLY, PAGE_READWRITE, PAGE_WRITECOPY };
	int fd = tmpfile_of(0x1000, O_RDWR), rofd, wofd;
	long secs = ntvm_counter("sections");
	unsigned int i;
	char path[64];
	HANDLE h;
	char *v;

	ASSERT_LE(0, fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rofd = open(path, O_RDONLY);
	wofd = open(path, O_WRONLY);
	ASSERT_LE(0, rofd);
	ASSERT_LE(0, wofd);
	SetLastError(0xdeadbeef);
	h = CreateFileMapping(NTVM_FD_TO_HANDLE(rofd), NULL, PAGE_READONLY, 0, 0x1000, NULL);
	ASSERT_NE(NULL, h);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	EXPECT_EQ(SEC_FILE, secinfo(h).Attributes);
	v = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
	ASSERT_NE(NULL, v);
	EXPECT_EQ(1, v[0]);
	EXPECT_EQ(8, v[1]);
	EXPECT_TRUE(UnmapViewOfFile(v));
	EXPECT_TRUE(CloseHandle(h));
	if (secs >= 0)
		EXPECT_EQ(secs, ntvm_counter("sections"));
	for (i = 0; i < ARRAY_SIZE(prots); i++) {
		SetLastError(0xdeadbeef);
		EXPECT_EQ(NULL, CreateFileMapping(NTVM_FD_TO_HANDLE(wofd), NULL, prots[i], 0,
						  0x1000, NULL)) TH_LOG("protection %#x", prots[i]);
		/* Current Windows' error (old versions said ERROR_INVALID_PARAMETER). */
		EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError())
			TH_LOG("protection %#x", prots[i]);
	}
	if (secs >= 0)
		EXPECT_EQ(secs, ntvm_counter("sections"));
	close(wofd);
	close(rofd);
	close(fd);
}

/*
 * Spec 1.4.5, 4.3.7: a PAGE_WRITECOPY or PAGE_READONLY file section takes
 * FILE_MAP_READ, access-0 and FILE_MAP_COPY views, not FILE_MAP_WRITE
 * ones (ERROR_ACCESS_DENIED; ERROR_INVALID_PARAMETER on old versions).  A
 * FILE_MAP_COPY view starts as PAGE_WRITECOPY; a written page becomes a
 * private PAGE_READWRITE one.
 */
TEST_F(sec, readonly_writecopy_section_views)
{
	static const ULONG prots[] = { PAGE_WRITECOPY, PAGE_READONLY };
	unsigned int i;
	char c;
	HANDLE h;
	char *v;
	int fd;

	for (i = 0; i < ARRAY_SIZE(prots); i++) {
		fd = tmpfile_of(0x2000, O_RDWR);
		ASSERT_LE(0, fd);
		h = CreateFileMapping(NTVM_FD_TO_HANDLE(fd), NULL, prots[i], 0, 0x2000, NULL);
		ASSERT_NE(NULL, h);
		v = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0x1000);
		ASSERT_NE(NULL, v);
		EXPECT_REGION(v, v, v, PAGE_READONLY, 0x1000, MEM_COMMIT, PAGE_READONLY,
			      MEM_MAPPED);
		EXPECT_EQ(1, v[0]);
		EXPECT_TRUE(UnmapViewOfFile(v));
		v = MapViewOfFile(h, 0, 0, 0, 0x1000);
		ASSERT_NE(NULL, v);
		EXPECT_REGION(v, v, v, PAGE_NOACCESS, 0x1000, MEM_COMMIT, PAGE_NOACCESS,
			      MEM_MAPPED);
		EXPECT_TRUE(faults(v, 0));
		EXPECT_TRUE(UnmapViewOfFile(v));
		SetLastError(0xdeadbeef);
		EXPECT_EQ(NULL, MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0x1000));
		/* Current Windows' error (spec 1.4.4; old ones: INVALID_PARAMETER). */
		EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError())
			TH_LOG("protection %#x", prots[i]);
		v = MapViewOfFile(h, FILE_MAP_COPY, 0, 0, 0x2000);
		ASSERT_NE(NULL, v);
		EXPECT_REGION(v, v, v, PAGE_WRITECOPY, 0x2000, MEM_COMMIT, PAGE_WRITECOPY,
			      MEM_MAPPED);
		v[0] = 'x';
		EXPECT_EQ('x', v[0]);
		EXPECT_REGION(v, v, v, PAGE_WRITECOPY, 0x1000, MEM_COMMIT, PAGE_READWRITE,
			      MEM_MAPPED);
		EXPECT_REGION(v + 0x1000, v + 0x1000, v, PAGE_WRITECOPY, 0x1000, MEM_COMMIT,
			      PAGE_WRITECOPY, MEM_MAPPED);
		ASSERT_EQ(1, pread(fd, &c, 1, 0));
		EXPECT_EQ(1, c);
		EXPECT_TRUE(UnmapViewOfFile(v));
		EXPECT_TRUE(CloseHandle(h));
		close(fd);
	}
}

/*
 * Spec 1.5.4: a named file section: its view outlives both handles, its
 * name does not; the name then makes a new object.
 */
TEST_F(sec, file_name_lifetime)
{
	static const char name[] = "ntvm audit file mapping";
	int fd = tmpfile_of(0x2000, O_RDWR);
	HANDLE a, b;
	char *v, c;

	ASSERT_LE(0, fd);
	SetLastError(0xdeadbeef);
	a = CreateFileMapping(NTVM_FD_TO_HANDLE(fd), NULL, PAGE_READWRITE, 0, 0, name);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	v = MapViewOfFile(a, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, v);
	b = OpenFileMapping(FILE_MAP_ALL_ACCESS, FALSE, name);
	ASSERT_NE(NULL, b);
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x2000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_TRUE(CloseHandle(a));
	EXPECT_TRUE(CloseHandle(b));
	/* The view is as it was, and still the file's. */
	EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x2000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_EQ(8, v[1]);
	v[0x1001] = 'n';
	ASSERT_EQ(1, pread(fd, &c, 1, 0x1001));
	EXPECT_EQ('n', c);
	SetLastError(0xdeadbeef);
	EXPECT_EQ(NULL, OpenFileMapping(FILE_MAP_READ, FALSE, name));
	EXPECT_EQ(ERROR_FILE_NOT_FOUND, GetLastError());
	SetLastError(0xdeadbeef);
	a = CreateFileMapping(NTVM_FD_TO_HANDLE(fd), NULL, PAGE_READWRITE, 0, 0, name);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	EXPECT_TRUE(CloseHandle(a));
	EXPECT_TRUE(UnmapViewOfFile(v));
	close(fd);
}

/* Spec 2.1.1: NtMapViewOfSectionEx with no process handle maps nothing. */
TEST_F(sec, view_ex_null_process)
{
	struct ntvm_stats st0, st1;
	LARGE_INTEGER off = { .QuadPart = 0 };
	SIZE_T size = 0x10000;
	PVOID b = NULL;
	HANDLE h;

	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x10000, PAGE_READWRITE, SEC_COMMIT, NULL));
	st0 = stats();
	EXPECT_EQ(STATUS_INVALID_HANDLE, NtMapViewOfSectionEx(h, NULL, &b, &off, &size, 0,
							      PAGE_READWRITE, NULL, 0));
	EXPECT_EQ(NULL, b);
	EXPECT_EQ(0x10000, size);
	EXPECT_EQ(0, off.QuadPart);
	st1 = stats();
	EXPECT_EQ(st0.allocations, st1.allocations);
	EXPECT_EQ(st0.reserved_bytes, st1.reserved_bytes);
	EXPECT_EQ(STATUS_SUCCESS, NtClose(h));
}

/*
 * Spec 2.1.3: zero_bits 1 - 20 keep a view below 2^(32 - N); 21 leaves no
 * room for a view; a value above 31 is a mask whose leading zeros count
 * (64-bit), INVALID_PARAMETER_4 on native 32-bit.
 */
TEST_F(sec, view_zero_bits)
{
	LARGE_INTEGER off = { .QuadPart = 0 };
	SIZE_T size = 0x10000;
	PVOID b = NULL;
	unsigned int n;
	NTSTATUS st;
	HANDLE h;

	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x10000, PAGE_READWRITE, SEC_COMMIT, NULL));
	/*
	 * Spec 2.1.3: zero bits N = 1 - 20 with MEM_TOP_DOWN: a view that
	 * ends below 2^(32 - N), or STATUS_NO_MEMORY where there is no room
	 * (nothing written back); never anything else.
	 */
	for (n = 1; n <= 20; n++) {
		b = NULL;
		size = 0x10000;
		st = NtMapViewOfSection(h, CUR, &b, n, 0, &off, &size, ViewShare, MEM_TOP_DOWN,
					PAGE_READWRITE);
		if (st == STATUS_NO_MEMORY) {
			EXPECT_EQ(NULL, b) TH_LOG("zero bits %u", n);
			EXPECT_EQ(0x10000, size) TH_LOG("zero bits %u", n);
			continue;
		}
		ASSERT_EQ(STATUS_SUCCESS, st) TH_LOG("zero bits %u", n);
		EXPECT_EQ(0, (U(b) + size - 1) >> (32 - n)) TH_LOG("zero bits %u: %p", n, b);
		EXPECT_EQ(0, U(b) & 0xffff) TH_LOG("zero bits %u: %p", n, b);
		EXPECT_EQ(0x10000, size) TH_LOG("zero bits %u", n);
		EXPECT_REGION(b, b, b, PAGE_READWRITE, 0x10000, MEM_COMMIT, PAGE_READWRITE,
			      MEM_MAPPED);
		EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, b));
	}
	b = NULL;
	size = 0x10000;
	/* Windows: NO_MEMORY or INVALID_PARAMETER; ntvm: no room below 2^11. */
	EXPECT_EQ(STATUS_NO_MEMORY,
		  NtMapViewOfSection(h, CUR, &b, 21, 0, &off, &size, ViewShare, 0,
				     PAGE_READWRITE));
	EXPECT_EQ(NULL, b);
	EXPECT_EQ(0x10000, size);
	if (sizeof(void *) == 4) {
		EXPECT_EQ(STATUS_INVALID_PARAMETER_4,
			  NtMapViewOfSection(h, CUR, &b, 0x1aaaaaaa, 0, &off, &size, ViewShare,
					     MEM_TOP_DOWN, PAGE_READWRITE));
		EXPECT_EQ(NULL, b);
		NtClose(h);
		return;
	}
	ASSERT_EQ(STATUS_SUCCESS,
		  NtMapViewOfSection(h, CUR, &b, 0x1aaaaaaa, 0, &off, &size, ViewShare,
				     MEM_TOP_DOWN, PAGE_READWRITE));
	EXPECT_GT(0x20000000, U(b));
	EXPECT_EQ(0, U(b) & 0xffff);
	EXPECT_EQ(0x10000, size);
	EXPECT_REGION(b, b, b, PAGE_READWRITE, 0x10000, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, b));
	NtClose(h);
}

/* Spec 2.2.1: NtMapViewOfSectionEx puts a view on a 64K boundary. */
TEST_F(sec, view_ex_base_aligned)
{
	int fd = tmpfile_of(0x1000, O_RDWR);
	LARGE_INTEGER off = { .QuadPart = 0 };
	PVOID v[8];
	HANDLE h[2];
	SIZE_T size;
	unsigned int i;

	ASSERT_LE(0, fd);
	ASSERT_EQ(STATUS_SUCCESS, mksec(&h[0], 0x1000, PAGE_READWRITE, SEC_COMMIT, NULL));
	ASSERT_EQ(STATUS_SUCCESS, mksec(&h[1], 0, PAGE_READWRITE, SEC_COMMIT,
					NTVM_FD_TO_HANDLE(fd)));
	/* One-page views, one after the other: each on its own 64K boundary. */
	for (i = 0; i < 8; i++) {
		v[i] = NULL;
		size = 0;
		ASSERT_EQ(STATUS_SUCCESS, NtMapViewOfSectionEx(h[i & 1], CUR, &v[i], &off, &size,
							       0, PAGE_READWRITE, NULL, 0));
		EXPECT_EQ(0, U(v[i]) & 0xffff) TH_LOG("view %u at %p", i, v[i]);
		EXPECT_EQ(0x1000, size);
	}
	for (i = 0; i < 8; i++)
		EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v[i]));
	NtClose(h[0]);
	NtClose(h[1]);
	close(fd);
}

/*
 * Spec 2.2.2, 8.19: without a placeholder an explicit base must be 64K
 * aligned: ERROR_MAPPED_ALIGNMENT, even where the range is free.
 */
TEST_F(sec, view_base_misaligned)
{
	HANDLE h;
	PVOID p, v;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x20000, NULL);
	ASSERT_NE(NULL, h);
	p = free_range_of(0x30000);
	ASSERT_NE(NULL, p);
	SetLastError(0xdeadbeef);
	EXPECT_EQ(NULL, MapViewOfFileEx(h, FILE_MAP_WRITE, 0, 0, 0x1000, P(U(p) + 0x1000)));
	EXPECT_EQ(ERROR_MAPPED_ALIGNMENT, GetLastError());
	SetLastError(0xdeadbeef);
	EXPECT_EQ(NULL, MapViewOfFileEx(h, FILE_MAP_WRITE, 0, 0, 0x1000, P(U(p) + 42)));
	EXPECT_EQ(ERROR_MAPPED_ALIGNMENT, GetLastError());
	SetLastError(0xdeadbeef);
	EXPECT_EQ(NULL, MapViewOfFile3(h, NULL, P(U(p) + 0x2000), 0, 0x1000, 0, PAGE_READWRITE,
				       NULL, 0));
	EXPECT_EQ(ERROR_MAPPED_ALIGNMENT, GetLastError());
	EXPECT_EQ(MEM_FREE, region_of(p).State);
	EXPECT_EQ(MEM_FREE, region_of(P(U(p) + 0x1000)).State);
	EXPECT_EQ(MEM_FREE, region_of(P(U(p) + 0x2000)).State);
	/* The aligned base itself is fine. */
	v = MapViewOfFileEx(h, FILE_MAP_WRITE, 0, 0, 0x1000, p);
	EXPECT_EQ(p, v);
	if (v)
		EXPECT_TRUE(UnmapViewOfFile(v));
	EXPECT_TRUE(CloseHandle(h));
}

/* Spec 2.3.3: in the view's last page, the bytes past the file's end read zero. */
TEST_F(sec, file_view_tail_zero)
{
	static const size_t sizes[] = { 6, 0x3452 };
	size_t i, k, end, wrong, nonzero;
	unsigned char *v;
	HANDLE h;
	int fd;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		end = (sizes[i] + 0xfff) & ~(size_t)0xfff;
		fd = tmpfile_of(sizes[i], O_RDWR);
		ASSERT_LE(0, fd);
		h = CreateFileMapping(NTVM_FD_TO_HANDLE(fd), NULL, PAGE_READONLY, 0, 0, NULL);
		ASSERT_NE(NULL, h);
		EXPECT_EQ(sizes[i], secinfo(h).Size.QuadPart);
		v = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
		ASSERT_NE(NULL, v);
		EXPECT_EQ(end, region_of(v).RegionSize);
		for (k = 0, wrong = 0; k < sizes[i]; k++)
			wrong += v[k] != (unsigned char)(k * 7 + 1);
		for (k = sizes[i], nonzero = 0; k < end; k++)
			nonzero += v[k] != 0;
		EXPECT_EQ(0, wrong) TH_LOG("file of %#zx bytes", sizes[i]);
		EXPECT_EQ(0, nonzero) TH_LOG("file of %#zx bytes", sizes[i]);
		if (sizes[i] == 6)
			EXPECT_EQ(6, strnlen((char *)v, end));
		EXPECT_TRUE(UnmapViewOfFile(v));
		EXPECT_TRUE(CloseHandle(h));
		close(fd);
	}
}

/*
 * Spec 2.4.1, 2.8.2: an access-0 view is a no-access view that needs
 * SECTION_MAP_READ: a FILE_MAP_READ handle maps one, an access-0 handle
 * maps none.
 */
TEST_F(sec, noaccess_view_needs_map_read)
{
	static const char name[] = "ntvm-audit-access-0";
	SIZE_T size = 0;
	HANDLE h, r, z;
	PVOID v, b = NULL;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000, name);
	ASSERT_NE(NULL, h);
	r = OpenFileMapping(FILE_MAP_READ, FALSE, name);
	ASSERT_NE(NULL, r);
	v = MapViewOfFile(r, 0, 0, 0, 0);
	ASSERT_NE(NULL, v);
	EXPECT_REGION(v, v, v, PAGE_NOACCESS, 0x10000, MEM_COMMIT, PAGE_NOACCESS, MEM_MAPPED);
	EXPECT_TRUE(UnmapViewOfFile(v));
	z = OpenFileMapping(0, FALSE, name);
	ASSERT_NE(NULL, z);
	SetLastError(0xdeadbeef);
	EXPECT_EQ(NULL, MapViewOfFile(z, 0, 0, 0, 0));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	EXPECT_EQ(STATUS_ACCESS_DENIED, mapv(z, &b, 0, &size, 0, PAGE_NOACCESS));
	EXPECT_EQ(NULL, b);
	EXPECT_EQ(0, size);
	EXPECT_TRUE(CloseHandle(z));
	EXPECT_TRUE(CloseHandle(r));
	EXPECT_TRUE(CloseHandle(h));
}

/*
 * Spec 2.4.2, 2.4.3, 8.7: cells of the access matrix: execute views of
 * PAGE_EXECUTE_READ and PAGE_EXECUTE_WRITECOPY sections, and write-copy
 * and no-access views of a PAGE_READONLY section, each querying as its
 * own protection; writable views of them: ERROR_ACCESS_DENIED.
 */
TEST_F(sec, view_access_matrix_cells)
{
	static const ULONG prots[] = { PAGE_EXECUTE_READ, PAGE_EXECUTE_WRITECOPY };
	static const struct {
		DWORD access;
		ULONG prot;
	} ok[] = {
		{ FILE_MAP_READ | FILE_MAP_EXECUTE, PAGE_EXECUTE_READ },
		{ FILE_MAP_COPY | FILE_MAP_EXECUTE, PAGE_EXECUTE_WRITECOPY },
		{ FILE_MAP_READ, PAGE_READONLY },
		{ FILE_MAP_COPY, PAGE_WRITECOPY },
		{ 0, PAGE_NOACCESS },
	};
	static const DWORD denied[] = {
		FILE_MAP_WRITE, FILE_MAP_WRITE | FILE_MAP_EXECUTE,
	};
	int fd = exec_tmpfile_of(0x2000);
	unsigned int i, j;
	SIZE_T size;
	HANDLE h;
	PVOID v;

	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(prots); i++) {
		h = CreateFileMapping(NTVM_FD_TO_HANDLE(fd), NULL, prots[i], 0, 0, NULL);
		ASSERT_NE(NULL, h) TH_LOG("section %#x: error %u", prots[i], GetLastError());
		for (j = 0; j < ARRAY_SIZE(ok); j++) {
			v = MapViewOfFile(h, ok[j].access, 0, 0, 0);
			ASSERT_NE(NULL, v) TH_LOG("section %#x, access %#x: error %u", prots[i],
						  ok[j].access, GetLastError());
			EXPECT_REGION(v, v, v, ok[j].prot, 0x2000, MEM_COMMIT, ok[j].prot,
				      MEM_MAPPED);
			EXPECT_TRUE(UnmapViewOfFile(v));
		}
		for (j = 0; j < ARRAY_SIZE(denied); j++) {
			SetLastError(0xdeadbeef);
			EXPECT_EQ(NULL, MapViewOfFile(h, denied[j], 0, 0, 0));
			EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError())
				TH_LOG("section %#x, access %#x", prots[i], denied[j]);
		}
		EXPECT_TRUE(CloseHandle(h));
	}
	close(fd);

	/* A read-only section: write-copy and no-access views (NT and Win32). */
	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READONLY, 0, 0x10000, NULL);
	ASSERT_NE(NULL, h);
	v = MapViewOfFile(h, FILE_MAP_COPY, 0, 0, 0);
	ASSERT_NE(NULL, v);
	EXPECT_REGION(v, v, v, PAGE_WRITECOPY, 0x10000, MEM_COMMIT, PAGE_WRITECOPY, MEM_MAPPED);
	EXPECT_TRUE(UnmapViewOfFile(v));
	v = NULL;
	size = 0;
	ASSERT_EQ(STATUS_SUCCESS, mapv(h, &v, 0, &size, 0, PAGE_NOACCESS));
	EXPECT_EQ(0x10000, size);
	EXPECT_REGION(v, v, v, PAGE_NOACCESS, 0x10000, MEM_COMMIT, PAGE_NOACCESS, MEM_MAPPED);
	EXPECT_TRUE(faults(v, 0));
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	v = NULL;
	size = 0;
	ASSERT_EQ(STATUS_SUCCESS, mapv(h, &v, 0, &size, 0, PAGE_WRITECOPY));
	EXPECT_REGION(v, v, v, PAGE_WRITECOPY, 0x10000, MEM_COMMIT, PAGE_WRITECOPY, MEM_MAPPED);
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	EXPECT_TRUE(CloseHandle(h));
}

/*
 * Spec 2.6.2, 2.6.3: a view's HighestEndingAddress must be one below a
 * page boundary and at most the highest user address; Alignment is
 * never accepted for a view.  Nothing is mapped by a refused call.
 */
TEST_F(sec, view_ex_requirements)
{
	MEM_ADDRESS_REQUIREMENTS req = { 0 };
	LARGE_INTEGER off = { .QuadPart = 0 };
	MEM_EXTENDED_PARAMETER ep;
	struct ntvm_stats st0, st1;
	SYSTEM_INFO si;
	uintptr_t max;
	unsigned int k;
	SIZE_T size;
	HANDLE h;
	PVOID v;

	GetSystemInfo(&si);
	max = U(si.lpMaximumApplicationAddress);
	ASSERT_EQ(0xfff, max & 0xfff);
	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x40000, PAGE_READWRITE, SEC_COMMIT, NULL));
	memset(&ep, 0, sizeof(ep));
	ep.Type = MemExtendedParameterAddressRequirements;
	ep.Pointer = &req;
	st0 = stats();
#define AUDIT_REFUSED() do {							\
	v = NULL;								\
	size = 0x40000;								\
	EXPECT_EQ(STATUS_INVALID_PARAMETER,					\
		  NtMapViewOfSectionEx(h, CUR, &v, &off, &size, 0, PAGE_READWRITE,	\
				       &ep, 1));					\
	EXPECT_EQ(NULL, v);							\
	EXPECT_EQ(0x40000, size);						\
} while (0)
	req.HighestEndingAddress = P(0x200007ff);
	AUDIT_REFUSED();
	req.HighestEndingAddress = P(max + 0x1000);
	AUDIT_REFUSED();
	req.HighestEndingAddress = NULL;
	for (k = 0; k < 8 * sizeof(SIZE_T); k++) {
		req.Alignment = (SIZE_T)1 << k;
		AUDIT_REFUSED();
	}
	req.Alignment = 0x30000;
	AUDIT_REFUSED();
#undef AUDIT_REFUSED
	st1 = stats();
	EXPECT_EQ(st0.allocations, st1.allocations);
	req.Alignment = 0;
	/* The highest user address itself is a limit. */
	req.HighestEndingAddress = P(max);
	v = NULL;
	size = 0x40000;
	ASSERT_EQ(STATUS_SUCCESS, NtMapViewOfSectionEx(h, CUR, &v, &off, &size, 0,
						       PAGE_READWRITE, &ep, 1));
	EXPECT_EQ(0, U(v) & 0xffff);
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	/* Below 0x20001000: a 64K-aligned view. */
	req.HighestEndingAddress = P(0x20000fff);
	v = NULL;
	size = 0x40000;
	ASSERT_EQ(STATUS_SUCCESS, NtMapViewOfSectionEx(h, CUR, &v, &off, &size, 0,
						       PAGE_READWRITE, &ep, 1));
	EXPECT_EQ(0, U(v) & 0xffff);
	EXPECT_GE(0x20001000, U(v) + size);
	EXPECT_EQ(0x40000, size);
	EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
	NtClose(h);
}

/*
 * Spec 2.8.1: MapViewOfFile's access: FILE_MAP_READ | FILE_MAP_COPY is
 * read-only, SECTION_MAP_EXECUTE alone no-access, FILE_MAP_EXECUTE with
 * FILE_MAP_COPY or FILE_MAP_READ execute write-copy or execute read.
 */
TEST_F(sec, map_access_to_protection)
{
	static const struct {
		DWORD access;
		ULONG prot;
	} t[] = {
		{ FILE_MAP_READ | FILE_MAP_COPY, PAGE_READONLY },
		{ SECTION_MAP_EXECUTE, PAGE_NOACCESS },
		{ FILE_MAP_COPY | FILE_MAP_EXECUTE, PAGE_EXECUTE_WRITECOPY },
		{ FILE_MAP_READ | FILE_MAP_EXECUTE, PAGE_EXECUTE_READ },
	};
	unsigned int i;
	HANDLE h;
	PVOID v;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_EXECUTE_READWRITE, 0, 0x10000,
			      NULL);
	ASSERT_NE(NULL, h);
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		v = MapViewOfFile(h, t[i].access, 0, 0, 0);
		ASSERT_NE(NULL, v) TH_LOG("access %#x: error %u", t[i].access, GetLastError());
		EXPECT_REGION(v, v, v, t[i].prot, 0x10000, MEM_COMMIT, t[i].prot, MEM_MAPPED);
		if (t[i].prot == PAGE_READONLY)
			EXPECT_TRUE(faults(v, 1));
		EXPECT_TRUE(UnmapViewOfFile(v));
	}
	EXPECT_TRUE(CloseHandle(h));
}

/*
 * Spec 4.1.3, 8.10: a plain MEM_COMMIT that starts after a view's end (in
 * its 64K granule) is STATUS_CONFLICTING_ADDRESSES and changes nothing.
 */
TEST_F(sec, commit_after_view_end)
{
	static const ULONG attrs[] = { SEC_COMMIT, SEC_RESERVE };
	unsigned int i;
	PVOID v, p;
	SIZE_T size;
	HANDLE h;

	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x20000, PAGE_READWRITE, attrs[i], NULL));
		v = NULL;
		size = 0x2000;
		ASSERT_EQ(STATUS_SUCCESS, mapv(h, &v, 0, &size, 0, PAGE_READWRITE));
		p = P(U(v) + 0x2000);
		size = 0x1000;
		EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
			  NtAllocateVirtualMemory(CUR, &p, 0, &size, MEM_COMMIT, PAGE_READWRITE))
			TH_LOG("attributes %#x", attrs[i]);
		EXPECT_EQ(U(v) + 0x2000, U(p));
		EXPECT_EQ(0x1000, size);
		SetLastError(0xdeadbeef);
		EXPECT_EQ(NULL, VirtualAlloc(P(U(v) + 0x2000), 0x1000, MEM_COMMIT, PAGE_READWRITE));
		EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
		if (attrs[i] == SEC_COMMIT)
			EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x2000, MEM_COMMIT, PAGE_READWRITE,
				      MEM_MAPPED);
		else
			EXPECT_REGION(v, v, v, PAGE_READWRITE, 0x2000, MEM_RESERVE, 0, MEM_MAPPED);
		EXPECT_EQ(MEM_FREE, region_of(P(U(v) + 0x2000)).State);
		EXPECT_EQ(STATUS_SUCCESS, NtUnmapViewOfSection(CUR, v));
		NtClose(h);
	}
}

/* A view of all of h with every right: PAGE_EXECUTE_READWRITE. */
static char *erw_view(HANDLE h)
{
	return MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_WRITE | FILE_MAP_EXECUTE, 0, 0, 0);
}

/*
 * Spec 4.3.4, 8.6: Wine's table of protections on an execute-read-write
 * view of an execute-read-write file section.  VirtualProtect(PAGE_NOACCESS)
 * of a new view says PAGE_EXECUTE_READWRITE was set; then every base
 * protection can be set, a written PAGE_WRITECOPY page reports
 * PAGE_READWRITE and a written PAGE_EXECUTE_WRITECOPY one
 * PAGE_EXECUTE_READWRITE, which the next VirtualProtect returns as the old
 * protection; combinations and 0 are ERROR_INVALID_PARAMETER and change
 * nothing.  The order is the table's.
 *
 * fresh: a new view per protection, as Wine's test_mapping maps one per
 * access: no page of it written before, so PAGE_EXECUTE_WRITECOPY is
 * reported as set.  Otherwise one view through the table, as Wine's
 * test_CreateFileMapping_protection runs it: the PAGE_WRITECOPY row wrote
 * the page, which is private from then on, so PAGE_EXECUTE_WRITECOPY is
 * reported as PAGE_EXECUTE_READWRITE at once ("Windows doesn't do this for
 * PAGE_WRITECOPY", says Wine's test, whose expectations these are).
 */
static void erw_protection_table(struct __test_metadata *_metadata, HANDLE h, bool fresh)
{
	ULONG prot, shown, written;
	char *v = NULL;
	unsigned int i;
	BOOL ok;
	DWORD old;

	for (i = 0; i < 31; i++) {
		prot = wine_table_prot(i);
		if (fresh || !v) {
			v = erw_view(h);
			ASSERT_NE(NULL, v) TH_LOG("protection %#x: error %u", prot, GetLastError());
			EXPECT_REGION(v, v, v, PAGE_EXECUTE_READWRITE, 0x1000, MEM_COMMIT,
				      PAGE_EXECUTE_READWRITE, MEM_MAPPED);
			old = 0xdeadbeef;
			EXPECT_TRUE(VirtualProtect(v, 0x1000, PAGE_NOACCESS, &old));
			EXPECT_EQ(PAGE_EXECUTE_READWRITE, old) TH_LOG("protection %#x", prot);
		}
		EXPECT_REGION(v, v, v, PAGE_EXECUTE_READWRITE, 0x1000, MEM_COMMIT, PAGE_NOACCESS,
			      MEM_MAPPED);
		old = 0xdeadbeef;
		SetLastError(0xdeadbeef);
		ok = VirtualProtect(v, 0x1000, prot, &old);
		if (!is_base_prot(prot)) {
			EXPECT_FALSE(ok) TH_LOG("protection %#x", prot);
			EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError())
				TH_LOG("protection %#x", prot);
			EXPECT_REGION(v, v, v, PAGE_EXECUTE_READWRITE, 0x1000, MEM_COMMIT,
				      PAGE_NOACCESS, MEM_MAPPED);
		} else {
			EXPECT_TRUE(ok) TH_LOG("protection %#x: error %u", prot, GetLastError());
			EXPECT_EQ(PAGE_NOACCESS, old) TH_LOG("protection %#x", prot);
			shown = !fresh && prot == PAGE_EXECUTE_WRITECOPY ? PAGE_EXECUTE_READWRITE :
									  prot;
			EXPECT_EQ(shown, region_of(v).Protect) TH_LOG("protection %#x", prot);
			written = prot == PAGE_WRITECOPY ? PAGE_READWRITE :
				  prot == PAGE_EXECUTE_WRITECOPY ? PAGE_EXECUTE_READWRITE : prot;
			if (prot == PAGE_READWRITE || prot == PAGE_WRITECOPY ||
			    prot == PAGE_EXECUTE_READWRITE || prot == PAGE_EXECUTE_WRITECOPY) {
				((volatile char *)v)[0] = (char)0xfe;
				EXPECT_EQ(written, region_of(v).Protect)
					TH_LOG("protection %#x", prot);
			}
			old = 0xdeadbeef;
			EXPECT_TRUE(VirtualProtect(v, 0x1000, PAGE_NOACCESS, &old));
			EXPECT_EQ(written, old) TH_LOG("protection %#x", prot);
		}
		if (fresh) {
			EXPECT_TRUE(UnmapViewOfFile(v));
			v = NULL;
		}
	}
	if (v)
		EXPECT_TRUE(UnmapViewOfFile(v));
}

TEST_F(sec, erw_file_view_protections)
{
	int fd = exec_tmpfile_of(0x1000);
	DWORD old;
	HANDLE h;
	char *v;

	ASSERT_LE(0, fd);
	h = CreateFileMapping(NTVM_FD_TO_HANDLE(fd), NULL, PAGE_EXECUTE_READWRITE, 0, 0x1000,
			      NULL);
	ASSERT_NE(NULL, h);
	erw_protection_table(_metadata, h, true);
	/*
	 * Spec 2.8.1, 4.3.7 (Wine's test_mapping): a FILE_MAP_COPY |
	 * FILE_MAP_EXECUTE view of this section is PAGE_EXECUTE_WRITECOPY
	 * before any write, and its first VirtualProtect returns exactly that.
	 */
	v = MapViewOfFile(h, FILE_MAP_COPY | FILE_MAP_EXECUTE, 0, 0, 0);
	ASSERT_NE(NULL, v) TH_LOG("error %u", GetLastError());
	EXPECT_REGION(v, v, v, PAGE_EXECUTE_WRITECOPY, 0x1000, MEM_COMMIT,
		      PAGE_EXECUTE_WRITECOPY, MEM_MAPPED);
	old = 0xdeadbeef;
	EXPECT_TRUE(VirtualProtect(v, 0x1000, PAGE_NOACCESS, &old));
	EXPECT_EQ(PAGE_EXECUTE_WRITECOPY, old);
	EXPECT_REGION(v, v, v, PAGE_EXECUTE_WRITECOPY, 0x1000, MEM_COMMIT, PAGE_NOACCESS,
		      MEM_MAPPED);
	EXPECT_TRUE(UnmapViewOfFile(v));
	EXPECT_TRUE(CloseHandle(h));
	close(fd);
}

TEST_F(sec, erw_file_view_protections_one_view)
{
	int fd = exec_tmpfile_of(0x1000);
	HANDLE h;

	ASSERT_LE(0, fd);
	h = CreateFileMapping(NTVM_FD_TO_HANDLE(fd), NULL, PAGE_EXECUTE_READWRITE, 0, 0x1000,
			      NULL);
	ASSERT_NE(NULL, h);
	erw_protection_table(_metadata, h, false);
	EXPECT_TRUE(CloseHandle(h));
	close(fd);
}

/*
 * Spec 4.3.8: a SEC_COMMIT | SEC_NOCACHE view reports PAGE_READWRITE |
 * PAGE_NOCACHE; a commit with PAGE_READONLY keeps the cache bit.
 */
TEST_F(sec, nocache_view)
{
	MEMORY_BASIC_INFORMATION m;
	HANDLE h;
	char *v;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL,
			      PAGE_READWRITE | SEC_COMMIT | SEC_NOCACHE, 0, 0x10000, NULL);
	ASSERT_NE(NULL, h);
	v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, v);
	m = region_of(v);
	EXPECT_EQ(v, m.BaseAddress);
	EXPECT_EQ(v, m.AllocationBase);
	EXPECT_EQ(0x10000, m.RegionSize);
	EXPECT_EQ(MEM_COMMIT, m.State);
	EXPECT_EQ(PAGE_READWRITE | PAGE_NOCACHE, m.Protect);
	EXPECT_EQ(PAGE_READWRITE | PAGE_NOCACHE, m.AllocationProtect);
	EXPECT_EQ(MEM_MAPPED, m.Type);
	EXPECT_EQ(v, VirtualAlloc(v, 0x1000, MEM_COMMIT, PAGE_READONLY));
	m = region_of(v);
	EXPECT_EQ(0x1000, m.RegionSize);
	EXPECT_EQ(MEM_COMMIT, m.State);
	EXPECT_EQ(PAGE_READONLY | PAGE_NOCACHE, m.Protect);
	EXPECT_EQ(PAGE_READWRITE | PAGE_NOCACHE, m.AllocationProtect);
	m = region_of(v + 0x1000);
	EXPECT_EQ(v, m.AllocationBase);
	EXPECT_EQ(0xf000, m.RegionSize);
	EXPECT_EQ(PAGE_READWRITE | PAGE_NOCACHE, m.Protect);
	EXPECT_EQ(PAGE_READWRITE | PAGE_NOCACHE, m.AllocationProtect);
	EXPECT_TRUE(UnmapViewOfFile(v));
	EXPECT_TRUE(CloseHandle(h));
}

/* Spec 5.1: views of one file section share their bytes at once. */
TEST_F(sec, file_views_share)
{
	int fd = tmpfile_of(0x20000, O_RDWR);
	volatile char *v, *w, *x;
	HANDLE h;
	char c;

	ASSERT_LE(0, fd);
	h = CreateFileMapping(NTVM_FD_TO_HANDLE(fd), NULL, PAGE_READWRITE, 0, 0, NULL);
	ASSERT_NE(NULL, h);
	v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	w = MapViewOfFile(h, FILE_MAP_READ, 0, 0x10000, 0x10000);
	x = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, v);
	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, x);
	EXPECT_EQ((char)(3 * 7 + 1), v[3]);
	v[0x10005] = 0x42;
	EXPECT_EQ(0x42, w[5]);
	EXPECT_EQ(0x42, x[0x10005]);
	x[7] = 0x43;
	EXPECT_EQ(0x43, v[7]);
	ASSERT_EQ(1, pread(fd, &c, 1, 0x10005));
	EXPECT_EQ(0x42, c);
	EXPECT_TRUE(UnmapViewOfFile((void *)v));
	EXPECT_TRUE(UnmapViewOfFile((void *)w));
	EXPECT_TRUE(UnmapViewOfFile((void *)x));
	EXPECT_TRUE(CloseHandle(h));
	close(fd);
}

/* Spec 6.3.1: a split at a placeholder's tail makes two pieces. */
TEST_F(ph, split_tail)
{
	PVOID p = NULL;

	ASSERT_EQ(STATUS_SUCCESS, nt_allocx(&p, 0x10000, PH, PAGE_NOACCESS));
	ASSERT_FREED(U(p) + 0xc000, 0x4000, PRESERVE, U(p) + 0xc000, 0x4000);
	EXPECT_PLACEHOLDER(p, 0xc000);
	EXPECT_PLACEHOLDER(U(p) + 0xc000, 0x4000);
	/* Win32: the tail of the first piece. */
	EXPECT_TRUE(VirtualFree(P(U(p) + 0x8000), 0x4000, PRESERVE));
	EXPECT_PLACEHOLDER(p, 0x8000);
	EXPECT_PLACEHOLDER(U(p) + 0x8000, 0x4000);
	EXPECT_PLACEHOLDER(U(p) + 0xc000, 0x4000);
	/* Each piece is released alone, with its size. */
	ASSERT_FREED(U(p) + 0xc000, 0, MEM_RELEASE, U(p) + 0xc000, 0x4000);
	ASSERT_FREED(U(p) + 0x8000, 0, MEM_RELEASE, U(p) + 0x8000, 0x4000);
	ASSERT_FREED(U(p), 0, MEM_RELEASE, U(p), 0x8000);
}

/*
 * Spec 6.3.3: no split of an ordinary reservation: VirtualFree says
 * ERROR_INVALID_ADDRESS, NtFreeVirtualMemory CONFLICTING_ADDRESSES with
 * its base and size as they were.
 */
TEST_F(ph, split_reservation)
{
	PVOID p, b;
	SIZE_T s;

	p = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_NOACCESS);
	ASSERT_NE(NULL, p);
	SetLastError(0xdeadbeef);
	EXPECT_FALSE(VirtualFree(p, 0x4000, PRESERVE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	SetLastError(0xdeadbeef);
	EXPECT_FALSE(VirtualFree(P(U(p) + 0xc000), 0x4000, PRESERVE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	b = p;
	s = 0x4000;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, NtFreeVirtualMemory(CUR, &b, &s, PRESERVE));
	EXPECT_EQ(p, b);
	EXPECT_EQ(0x4000, s);
	b = P(U(p) + 0x4000);
	s = 0x4000;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, NtFreeVirtualMemory(CUR, &b, &s, PRESERVE));
	EXPECT_EQ(U(p) + 0x4000, U(b));
	EXPECT_EQ(0x4000, s);
	EXPECT_REGION(p, p, p, PAGE_NOACCESS, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/* Spec 6.5.7: VirtualAlloc2 as a plain allocator. */
TEST_F(ph, virtualalloc2_plain)
{
	static const ULONG types[] = { MEM_COMMIT, MEM_COMMIT | MEM_RESERVE };
	HANDLE procs[2] = { NULL, CUR };
	unsigned int i;
	char *p;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		SetLastError(0xdeadbeef);
		p = VirtualAlloc2(procs[i], NULL, 0x80000, types[i], PAGE_EXECUTE_READWRITE,
				  NULL, 0);
		ASSERT_NE(NULL, p) TH_LOG("type %#x: error %u", types[i], GetLastError());
		EXPECT_EQ(0, U(p) & 0xffff);
		EXPECT_REGION(p, p, p, PAGE_EXECUTE_READWRITE, 0x80000, MEM_COMMIT,
			      PAGE_EXECUTE_READWRITE, MEM_PRIVATE);
		EXPECT_EQ(0, p[0x7ffff]);
		p[0x7ffff] = 1;
		EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	}
}

/* Write n bytes at dst unless it is read-only now: 0, or -1. */
static int poke(void *dst, const void *src, size_t n)
{
	struct iovec l = { (void *)src, n }, r = { dst, n };

	return process_vm_writev(getpid(), &l, 1, &r, 1, 0) == (ssize_t)n ? 0 : -1;
}

/* The lowest free descriptor, which the next new one would get. */
static int next_fd(void)
{
	int fd = dup(0);

	close(fd);
	return fd;
}

TEST_F(sec, failed_call_installs_no_handle)
{
	struct ntvm_section_create_args c0 = {
		.size = sizeof(c0), .max_size = 0x10000,
		.attrs = NTVM_SEC_COMMIT, .protect = NTVM_PAGE_READWRITE,
		.file_fd = -1, .access = NTVM_SECTION_ALL_ACCESS,
	}, c;
	struct ntvm_section_query_args o0 = {
		.size = sizeof(o0), .access = NTVM_SECTION_ALL_ACCESS,
	};
	struct ntvm_section_create_args f0 = c0;
	long ok = 0, efault = 0, leaked = 0, grown = 0, i;
	struct stat st;
	HANDLE h;
	pthread_t t;
	int fd, file = memfd_create("ntvm-grow", MFD_CLOEXEC);

	ASSERT_LE(0, file);
	f0.file_fd = file;

	/* An output field given non-zero: refused, no descriptor made. */
	c = c0;
	c.section_fd = 3;
	fd = next_fd();
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_SECTION_CREATE, &c));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(fd, next_fd());

	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x10000, PAGE_READWRITE, SEC_COMMIT, NULL));
	o0.section_fd = (int)(uintptr_t)h;
	toggled = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, toggled);
	toggling = 1;
	ASSERT_EQ(0, pthread_create(&t, NULL, toggle_args, NULL));
	/* Sized for a Debian kernel, as the other race tests are. */
	for (i = 0; i < 6000 / ntvm_test_scale(); i++) {
		/* 0: create, 1: open, 2: create growing a 4K file to 64K. */
		int what = i % 3, open = what == 1;
		long ret;

		fd = next_fd();
		ASSERT_EQ(0, ftruncate(file, 0x1000));
		/* Where the block is written may be read-only: retry. */
		if (open ? poke(toggled, &o0, sizeof(o0)) :
			   poke(toggled, what ? &f0 : &c0, sizeof(c0)))
			continue;
		ret = ioctl(ntvm_fd(), open ? NTVM_IOC_SECTION_OPEN :
				       NTVM_IOC_SECTION_CREATE, toggled);
		ASSERT_EQ(0, fstat(file, &st));
		if (!ret) {
			ok++;
			close(fd);
			EXPECT_EQ(what == 2 ? 0x10000 : 0x1000, st.st_size);
			continue;
		}
		ASSERT_EQ(EFAULT, errno);
		efault++;
		if (fcntl(fd, F_GETFD) != -1) {
			if (!leaked++)
				TH_LOG("%s failed with EFAULT, yet made descriptor %d",
				       open ? "open" : "create", fd);
			close(fd);
		}
		if (st.st_size != 0x1000 && !grown++)
			TH_LOG("a create that failed with EFAULT grew its file to %#llx",
			       (unsigned long long)st.st_size);
	}
	close(file);
	EXPECT_EQ(0, leaked);
	EXPECT_EQ(0, grown);
	toggling = 0;
	pthread_join(t, NULL);
	TH_LOG("%ld calls succeeded, %ld failed with EFAULT (%ld leaked, %ld grew)",
	       ok, efault, leaked, grown);
	munmap(toggled, 4096);
	EXPECT_TRUE(CloseHandle(h));
}

/*
 * An unmap back to a placeholder succeeds while another thread maps and
 * unmaps memory elsewhere: such an munmap() behind ntvm's back makes the
 * module look at the view's range again before it maps over it, and a
 * view is file mappings, not the anonymous memory of a private range.
 */
static volatile int churning;

static void *churn(void *unused)
{
	while (churning) {
		void *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (q != MAP_FAILED)
			munmap(q, 4096);
	}
	return NULL;
}

TEST_F(sec, unmap_preserve_with_munmaps_elsewhere)
{
	const int rounds = 2000 / ntvm_test_scale();
	HANDLE h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
				     0, 0x10000, NULL);
	char *p = VirtualAlloc2(NULL, NULL, 0x10000, PH, PAGE_NOACCESS, NULL, 0);
	int i, failed = 0;
	pthread_t t;

	ASSERT_NE(NULL, h);
	ASSERT_NE(NULL, p);
	churning = 1;
	ASSERT_EQ(0, pthread_create(&t, NULL, churn, NULL));
	for (i = 0; i < rounds; i++) {
		ASSERT_EQ(p, MapViewOfFile3(h, NULL, p, 0, 0x10000,
					    MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE,
					    NULL, 0));
		p[i % 0x10000] = 1;
		SetLastError(0);
		while (!UnmapViewOfFile2(CUR, p, MEM_PRESERVE_PLACEHOLDER)) {
			if (!failed++)
				TH_LOG("round %d: error %lu", i, (unsigned long)GetLastError());
			ASSERT_GT(100000, failed);
		}
		EXPECT_PLACEHOLDER(p, 0x10000);
	}
	churning = 0;
	pthread_join(t, NULL);
	EXPECT_EQ(0, failed);
	TH_LOG("%d rounds, %d unmaps failed", rounds, failed);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_TRUE(CloseHandle(h));
}

/* Spec 7: Microsoft's ring buffer. */
TEST_F(sec, ring_buffer)
{
	const SIZE_T n = 0x10000;
	HANDLE h, h2;
	char *p, *v1, *v2, *r;
	MEMORY_BASIC_INFORMATION m;

	p = VirtualAlloc2(NULL, NULL, 2 * n, PH, PAGE_NOACCESS, NULL, 0);
	ASSERT_NE(NULL, p);
	EXPECT_PLACEHOLDER(p, 2 * n);
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS, VirtualFree(p, 2 * n, PRESERVE));
	ASSERT_TRUE(VirtualFree(p, n, PRESERVE));
	EXPECT_PLACEHOLDER(p, n);
	EXPECT_PLACEHOLDER(p + n, n);
	SetLastError(0xdeadbeef);
	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, n, NULL);
	ASSERT_NE(NULL, h);
	EXPECT_EQ(0, GetLastError());
	/* Step 4: a SEC_COMMIT section of N bytes (spec 1.2.1, 1.3.1). */
	EXPECT_EQ(SEC_COMMIT, secinfo(h).Attributes);
	EXPECT_EQ((int64_t)n, secinfo(h).Size.QuadPart);
	/*
	 * Failure paths: a view larger than the section fails the size check,
	 * which NT makes before it looks at the address (ntvm.rst; the spec
	 * guesses Wine's CONFLICTING_ADDRESSES); one larger than the
	 * placeholder, or not at its start, is CONFLICTING_ADDRESSES.
	 */
	EXPECT_WIN32_ERROR(ERROR_ACCESS_DENIED,
			   MapViewOfFile3(h, NULL, p, 0, n + 0x1000, MEM_REPLACE_PLACEHOLDER,
					  PAGE_READWRITE, NULL, 0));
	h2 = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 2 * n, NULL);
	ASSERT_NE(NULL, h2);
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS,
			   MapViewOfFile3(h2, NULL, p, 0, n + 0x1000, MEM_REPLACE_PLACEHOLDER,
					  PAGE_READWRITE, NULL, 0));
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS,
			   MapViewOfFile3(h2, NULL, p + 0x1000, 0, n - 0x1000,
					  MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0));
	/* A range that is no free placeholder: a reservation, then nothing. */
	r = VirtualAlloc(NULL, n, MEM_RESERVE, PAGE_NOACCESS);
	ASSERT_NE(NULL, r);
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   MapViewOfFile3(h2, NULL, r, 0, n, MEM_REPLACE_PLACEHOLDER,
					  PAGE_READWRITE, NULL, 0));
	EXPECT_REGION(r, r, r, PAGE_NOACCESS, n, MEM_RESERVE, 0, MEM_PRIVATE);
	EXPECT_TRUE(VirtualFree(r, 0, MEM_RELEASE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   MapViewOfFile3(h2, NULL, r, 0, n, MEM_REPLACE_PLACEHOLDER,
					  PAGE_READWRITE, NULL, 0));
	EXPECT_EQ(MEM_FREE, region_of(r).State);
	EXPECT_TRUE(CloseHandle(h2));
	EXPECT_PLACEHOLDER(p, n);
	EXPECT_PLACEHOLDER(p + n, n);
	v1 = MapViewOfFile3(h, NULL, p, 0, n, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0);
	ASSERT_EQ(p, v1);
	v2 = MapViewOfFile3(h, NULL, p + n, 0, n, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE,
			    NULL, 0);
	ASSERT_EQ(p + n, v2);
	EXPECT_REGION(p, p, p, PAGE_READWRITE, n, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
	EXPECT_REGION(p + n, p + n, p + n, PAGE_READWRITE, n, MEM_COMMIT, PAGE_READWRITE,
		      MEM_MAPPED);
	EXPECT_TRUE(CloseHandle(h));
	/* volatile: the compiler cannot know that v1[n] is v1[0]. */
	((volatile char *)v1)[0] = 'a';
	EXPECT_EQ('a', ((volatile char *)v1)[n]);
	((volatile char *)v1)[n + 5] = 'b';
	EXPECT_EQ('b', ((volatile char *)v1)[5]);
	memcpy(v1 + n - 2, "wxyz", 4);
	__asm__ volatile("" ::: "memory");
	EXPECT_EQ(0, memcmp(v1 + n - 2, "wxyz", 4));
	EXPECT_EQ(0, memcmp(v1, "yz", 2));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER, VirtualFree(v1, 0, MEM_RELEASE));
	/*
	 * 9': back to placeholders, each half one of N (spec 6.2.3), coalesce
	 * into one of 2N, release.
	 */
	EXPECT_TRUE(UnmapViewOfFile2(CUR, v1, MEM_PRESERVE_PLACEHOLDER));
	EXPECT_TRUE(UnmapViewOfFile2(CUR, v2, MEM_PRESERVE_PLACEHOLDER));
	EXPECT_PLACEHOLDER(p, n);
	EXPECT_PLACEHOLDER(p + n, n);
	EXPECT_TRUE(VirtualFree(p, 2 * n, COALESCE));
	EXPECT_PLACEHOLDER(p, 2 * n);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	m = region_of(p);
	EXPECT_EQ(MEM_FREE, m.State);
	EXPECT_LE(2 * n, m.RegionSize);

	/*
	 * Step 9: the buffer again, taken down with plain unmaps: the views
	 * do not go back to placeholders, both halves are free (spec 6.7.4).
	 */
	p = VirtualAlloc2(NULL, NULL, 2 * n, PH, PAGE_NOACCESS, NULL, 0);
	ASSERT_NE(NULL, p);
	ASSERT_TRUE(VirtualFree(p, n, PRESERVE));
	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, n, NULL);
	ASSERT_NE(NULL, h);
	v1 = MapViewOfFile3(h, NULL, p, 0, n, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0);
	ASSERT_EQ(p, v1);
	v2 = MapViewOfFile3(h, NULL, p + n, 0, n, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE,
			    NULL, 0);
	ASSERT_EQ(p + n, v2);
	EXPECT_TRUE(CloseHandle(h));
	((volatile char *)v2)[7] = 'c';
	EXPECT_EQ('c', ((volatile char *)v1)[7]);
	EXPECT_TRUE(UnmapViewOfFile(v1));
	EXPECT_REGION(p, p, 0, 0, n, MEM_FREE, PAGE_NOACCESS, 0);
	EXPECT_REGION(p + n, p + n, p + n, PAGE_READWRITE, n, MEM_COMMIT, PAGE_READWRITE,
		      MEM_MAPPED);
	EXPECT_EQ('c', ((volatile char *)v2)[7]);
	EXPECT_TRUE(UnmapViewOfFile(v2));
	m = region_of(p);
	EXPECT_REGION(p, p, 0, 0, m.RegionSize, MEM_FREE, PAGE_NOACCESS, 0);
	EXPECT_LE(2 * n, m.RegionSize);
	m = region_of(p + n);
	EXPECT_REGION(p + n, p + n, 0, 0, m.RegionSize, MEM_FREE, PAGE_NOACCESS, 0);
	EXPECT_LE(n, m.RegionSize);
	EXPECT_TRUE(faults(p, 0));
	EXPECT_TRUE(faults(p + n, 0));
}

/* Spec 5.1, 5.3: a view in another process sees the same bytes. */
TEST_F(sec, other_process)
{
	HANDLE h;
	char *v;
	pid_t pid;
	int status;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000, NULL);
	ASSERT_NE(NULL, h);
	v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, v);
	v[0] = 1;
	pid = fork();
	if (!pid) {
		/* The child maps the section it inherited, with its own ntvm. */
		char *w = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
		char *c = MapViewOfFile(h, FILE_MAP_COPY, 0, 0, 0);

		if (!w || !c || w[0] != 1 || region_of(w).Type != MEM_MAPPED)
			_exit(1);
		c[1] = 99;
		w[0] = 2;
		_exit(UnmapViewOfFile(w) && UnmapViewOfFile(c) ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	EXPECT_EQ(2, v[0]);
	EXPECT_EQ(0, v[1]);
	EXPECT_TRUE(UnmapViewOfFile(v));
	CloseHandle(h);
}

/* Views changed behind ntvm's back. */
TEST_F(sec, behind_back)
{
	HANDLE h;
	char *v, *w;
	PVOID b;
	SIZE_T size = 0;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x20000, NULL);
	ASSERT_NE(NULL, h);
	v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, v);
	ASSERT_EQ(0, munmap(v, 0x20000));
	EXPECT_EQ(MEM_FREE, region_of(v).State);
	EXPECT_EQ(STATUS_NOT_MAPPED_VIEW, NtUnmapViewOfSection(CUR, v));
	/* mremap() moves a view away: ntvm forgets it. */
	v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, v);
	v[0] = 3;
	w = mremap(v, 0x20000, 0x20000, MREMAP_MAYMOVE | MREMAP_FIXED, v + 0x100000);
	ASSERT_EQ(v + 0x100000, w);
	EXPECT_EQ(STATUS_NOT_MAPPED_VIEW, NtUnmapViewOfSection(CUR, v));
	EXPECT_EQ(3, w[0]);
	munmap(w, 0x20000);
	/* The range can be used again. */
	b = v;
	EXPECT_EQ(STATUS_SUCCESS, mapv(h, &b, 0, &size, 0, PAGE_READWRITE));
	EXPECT_EQ(v, b);
	EXPECT_EQ(3, ((char *)b)[0]);
	EXPECT_TRUE(UnmapViewOfFile(b));
	CloseHandle(h);
}

struct vrace {
	volatile int *stop;
	HANDLE h;
	unsigned int seed;
	long ok, bad;
};

static void *view_racer(void *arg)
{
	struct vrace *r = arg;
	char *v;

	while (!*r->stop) {
		unsigned int k = rand_r(&r->seed) % 4;

		v = MapViewOfFile(r->h, FILE_MAP_WRITE, 0, k * 0x10000, 0x10000);
		if (!v || v[0] != (char)k) {
			r->bad++;
			continue;
		}
		if (!UnmapViewOfFile(v + 0x100))
			r->bad++;
		else
			r->ok++;
	}
	return NULL;
}

/* Threads map and unmap views while others allocate and free. */
TEST_F_TIMEOUT(sec, threads, 1800)
{
	struct ntvm_stats st0 = stats(), st1;
	struct vrace vr[2];
	struct race pr[2];
	pthread_t t[4];
	volatile int stop = 0;
	HANDLE h;
	char *v;
	int i;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x40000, NULL);
	ASSERT_NE(NULL, h);
	v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, v);
	for (i = 0; i < 4; i++)
		v[i * 0x10000] = (char)i;
	for (i = 0; i < 2; i++) {
		vr[i] = (struct vrace){ .stop = &stop, .h = h, .seed = 3 + i };
		pr[i] = (struct race){ .stop = &stop, .seed = 11 + i };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, view_racer, &vr[i]));
		ASSERT_EQ(0, pthread_create(&t[2 + i], NULL, private_racer, &pr[i]));
	}
	/* 3 s, and longer where the kernel is slow (a debug kernel). */
	for (i = 0; i < 600; i++) {
		sleep(1);
		if (i >= 2 && __atomic_load_n(&vr[0].ok, __ATOMIC_RELAXED) > 10 &&
		    __atomic_load_n(&vr[1].ok, __ATOMIC_RELAXED) > 10)
			break;
	}
	stop = 1;
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, vr[i].bad);
		EXPECT_LT(10, vr[i].ok);
		EXPECT_EQ(pr[i].ops, pr[i].ok);
	}
	EXPECT_TRUE(UnmapViewOfFile(v));
	CloseHandle(h);
	st1 = stats();
	EXPECT_EQ(st0.allocations, st1.allocations);
	EXPECT_EQ(st0.reserved_bytes, st1.reserved_bytes);
}

/* No leak over many processes that leave sections and views behind. */
TEST_F(sec, no_leak)
{
	long secs = ntvm_counter("sections"), allocs = ntvm_counter("allocations");
	int i, status;
	pid_t pid;

	for (i = 0; i < 20; i++) {
		pid = fork();
		if (!pid) {
			HANDLE h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL,
						     PAGE_READWRITE | SEC_RESERVE, 0,
						     0x100000, "leak");
			char *v = h ? MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0) : NULL;

			if (!v || !VirtualAlloc(v, 0x3000, MEM_COMMIT, PAGE_READWRITE))
				_exit(1);
			v[0x2000] = 1;
			_exit(0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_EQ(0, status);
	}
	if (secs >= 0) {
		EXPECT_EQ(secs, ntvm_counter("sections"));
		EXPECT_EQ(allocs, ntvm_counter("allocations"));
	}
}

static void __attribute__((constructor)) line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/*
 * Spec 1.6.2: NtQuerySection probes its buffer, every page of the length
 * given, and ReturnLength as NT does, before the class, the length and the
 * handle; a failed call writes neither.
 */
TEST_F(sec, query_bad_pointers)
{
	SECTION_BASIC_INFORMATION b, *at;
	unsigned char fill[sizeof(b)], img[64];
	HANDLE h, bad = NTVM_FD_TO_HANDLE(1000);
	SIZE_T len = 7, big = (SIZE_T)1 << (sizeof(SIZE_T) == 8 ? 36 : 28);
	char *two;
	PVOID *ro;

	ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x3000, PAGE_READWRITE, SEC_RESERVE, NULL));
	ro = ro_variables(NULL, 5);
	ASSERT_NE(NULL, ro);
	two = rw_then_ro_pages();
	ASSERT_NE(NULL, two);
	memset(fill, 0xa5, sizeof(fill));
	memcpy(&b, fill, sizeof(b));

	/* An absurd length fails on the first page missing, whatever the class. */
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQuerySection(h, SectionImageInformation, img, sizeof(img) + big, &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQuerySection(h, SectionBasicInformation, &b, sizeof(b) + big, &len));
	/* The structure fits in the first page; the length reaches the second. */
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQuerySection(h, SectionBasicInformation, two, 2 * 4096, &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQuerySection(h, SectionBasicInformation, two + 2 * 4096 - sizeof(b),
				 sizeof(b), &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQuerySection(h, SectionBasicInformation, NULL, sizeof(b), &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQuerySection(h, SectionBasicInformation, P(8), sizeof(b), &len));
	/* ReturnLength: read-only, wild. */
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQuerySection(h, SectionBasicInformation, &b, sizeof(b), (SIZE_T *)ro + 1));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQuerySection(h, SectionBasicInformation, &b, sizeof(b), (SIZE_T *)P(8)));
	EXPECT_EQ(5, ((SIZE_T *)ro)[1]);

	/* NT's order: the probes, the class, the length, the handle, the kind. */
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQuerySection(bad, (SECTION_INFORMATION_CLASS)7, NULL, sizeof(b), NULL));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQuerySection(bad, SectionBasicInformation, &b, sizeof(b), (SIZE_T *)ro + 1));
	EXPECT_EQ(STATUS_INVALID_INFO_CLASS,
		  NtQuerySection(bad, (SECTION_INFORMATION_CLASS)7, &b, sizeof(b), &len));
	EXPECT_EQ(STATUS_INFO_LENGTH_MISMATCH,
		  NtQuerySection(bad, SectionBasicInformation, &b, sizeof(b) - 1, &len));
	EXPECT_EQ(STATUS_INFO_LENGTH_MISMATCH,
		  NtQuerySection(bad, SectionBasicInformation, NULL, 0, &len));
	EXPECT_EQ(STATUS_INFO_LENGTH_MISMATCH,
		  NtQuerySection(bad, SectionImageInformation, img, IMAGE_INFO_SIZE - 1, &len));
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtQuerySection(bad, SectionBasicInformation, &b, sizeof(b), &len));
	EXPECT_EQ(STATUS_SECTION_NOT_IMAGE,
		  NtQuerySection(h, SectionImageInformation, &b, sizeof(img), &len));
	EXPECT_EQ(7, len);
	EXPECT_EQ(0, memcmp(&b, fill, sizeof(b)));

	/* Success: the structure exactly, its padding zero, and its length. */
	at = (SECTION_BASIC_INFORMATION *)(two + 4096 - sizeof(b));
	memcpy(at, fill, sizeof(b));
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQuerySection(h, SectionBasicInformation, at, sizeof(b), &len));
	EXPECT_EQ(sizeof(b), len);
	memset(&b, 0, sizeof(b));
	b.Attributes = SEC_RESERVE;
	b.Size.QuadPart = 0x3000;
	EXPECT_EQ(0, memcmp(&b, at, sizeof(b)));
	EXPECT_EQ(STATUS_SUCCESS, NtClose(h));
}

/* NT's OBJECT_ATTRIBUTES (winternl.h; ntvm.h does not declare it). */
struct object_attributes {
	ULONG Length;
	HANDLE RootDirectory;
	PVOID ObjectName;
	ULONG Attributes;
	PVOID SecurityDescriptor;
	PVOID SecurityQualityOfService;
};

/*
 * NtCreateSection's ObjectAttributes.  None, or attributes with no name,
 * make the section (OBJ_INHERIT, a security descriptor: nothing to do).
 * ntvm has no object namespace: a name, or a directory to put one in, is
 * STATUS_NOT_SUPPORTED, not a section made without it.  A Length that is
 * not the structure's is STATUS_INVALID_PARAMETER, an unreadable structure
 * STATUS_ACCESS_VIOLATION.  A refused call writes no handle and makes no
 * descriptor or section.
 */
TEST_F(sec, create_object_attributes)
{
	struct object_attributes oa = { .Length = sizeof(oa), .Attributes = OBJ_INHERIT };
	static WCHAR name[] = u"ntvm-nt-name";
	struct {
		uint16_t Length, MaximumLength;
		WCHAR *Buffer;
	} us = { sizeof(name) - 2, sizeof(name), name };
	LARGE_INTEGER size = { .QuadPart = 0x10000 };
	long secs;
	HANDLE h;
	int fd;

	ASSERT_EQ(STATUS_SUCCESS, NtCreateSection(&h, SECTION_ALL_ACCESS, &oa, &size,
						  PAGE_READWRITE, SEC_COMMIT, NULL));
	EXPECT_EQ(0x10000, secinfo(h).Size.QuadPart);
	EXPECT_EQ(STATUS_SUCCESS, NtClose(h));

	secs = ntvm_counter("sections");
	fd = next_fd();
	h = P(0x1234);
	oa.ObjectName = &us;
	EXPECT_EQ(STATUS_NOT_SUPPORTED, NtCreateSection(&h, SECTION_ALL_ACCESS, &oa, &size,
							PAGE_READWRITE, SEC_COMMIT, NULL));
	oa.ObjectName = NULL;
	oa.RootDirectory = P(8);
	EXPECT_EQ(STATUS_NOT_SUPPORTED, NtCreateSection(&h, SECTION_ALL_ACCESS, &oa, &size,
							PAGE_READWRITE, SEC_COMMIT, NULL));
	oa.RootDirectory = NULL;
	oa.Length = sizeof(oa) + 8;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtCreateSection(&h, SECTION_ALL_ACCESS, &oa, &size,
							    PAGE_READWRITE, SEC_COMMIT, NULL));
	oa.Length = 0;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtCreateSection(&h, SECTION_ALL_ACCESS, &oa, &size,
							    PAGE_READWRITE, SEC_COMMIT, NULL));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtCreateSection(&h, SECTION_ALL_ACCESS, P(8), &size,
							   PAGE_READWRITE, SEC_COMMIT, NULL));
	EXPECT_EQ(P(0x1234), h);
	EXPECT_EQ(fd, next_fd());
	if (secs >= 0)
		EXPECT_EQ(secs, ntvm_counter("sections"));
}

static void close_handles(struct __test_metadata *_metadata, const HANDLE *h, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		EXPECT_TRUE(CloseHandle(h[i]));
}

/* Is h's descriptor kept across exec (no FD_CLOEXEC)? -1: no descriptor. */
static int kept_across_exec(HANDLE h)
{
	int flags = fcntl(NTVM_HANDLE_TO_FD(h), F_GETFD);

	return flags < 0 ? -1 : !(flags & FD_CLOEXEC);
}

/* Do both descriptors reach a program this process execs?  (0: yes.) */
static int exec_sees(int fd_a, int fd_b)
{
	char cmd[96];
	pid_t pid;
	int status;

	snprintf(cmd, sizeof(cmd), "test -e /proc/self/fd/%d && test -e /proc/self/fd/%d",
		 fd_a, fd_b);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * Handle inheritance.  An inheritable handle (SECURITY_ATTRIBUTES'
 * bInheritHandle, OpenFileMapping's bInheritHandle, OBJ_INHERIT) is a
 * descriptor kept across exec, which is where a Linux process starts
 * another program; any other handle is close-on-exec.  (Over fork every
 * descriptor is copied.)
 */
TEST_F(sec, handle_inherit)
{
	struct {
		DWORD nLength;
		PVOID lpSecurityDescriptor;
		BOOL bInheritHandle;
	} yes = { sizeof(yes), NULL, TRUE }, no = { sizeof(no), NULL, FALSE };
	struct object_attributes oa = { .Length = sizeof(oa), .Attributes = OBJ_INHERIT };
	LARGE_INTEGER size = { .QuadPart = 0x10000 };
	HANDLE a, b, c, d, e, f, o1, o2, o3, n;

	a = CreateFileMappingA(INVALID_HANDLE_VALUE, &yes, PAGE_READWRITE, 0, 0x10000,
			       "ntvm-inherit");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(1, kept_across_exec(a));
	b = CreateFileMappingA(INVALID_HANDLE_VALUE, &no, PAGE_READWRITE, 0, 0x10000, NULL);
	ASSERT_NE(NULL, b);
	EXPECT_EQ(0, kept_across_exec(b));
	c = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000, NULL);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(0, kept_across_exec(c));
	d = CreateFileMappingW(INVALID_HANDLE_VALUE, &yes, PAGE_READWRITE, 0, 0x10000, NULL);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(1, kept_across_exec(d));
	e = CreateFileMapping2(INVALID_HANDLE_VALUE, &yes, FILE_MAP_WRITE, PAGE_READWRITE,
			       SEC_COMMIT, 0x10000, NULL, NULL, 0);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(1, kept_across_exec(e));
	/* The handle to a name that exists is a new one, with its own flag. */
	n = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000,
			       "ntvm-inherit");
	ASSERT_NE(NULL, n);
	EXPECT_EQ(ERROR_ALREADY_EXISTS, GetLastError());
	EXPECT_EQ(0, kept_across_exec(n));

	o1 = OpenFileMappingA(FILE_MAP_READ, TRUE, "ntvm-inherit");
	ASSERT_NE(NULL, o1);
	EXPECT_EQ(1, kept_across_exec(o1));
	o2 = OpenFileMappingW(FILE_MAP_READ, FALSE, u"ntvm-inherit");
	ASSERT_NE(NULL, o2);
	EXPECT_EQ(0, kept_across_exec(o2));
	o3 = OpenFileMappingFromApp(FILE_MAP_READ, TRUE, u"ntvm-inherit");
	ASSERT_NE(NULL, o3);
	EXPECT_EQ(1, kept_across_exec(o3));

	ASSERT_EQ(STATUS_SUCCESS, NtCreateSection(&f, SECTION_ALL_ACCESS, &oa, &size,
						  PAGE_READWRITE, SEC_COMMIT, NULL));
	EXPECT_EQ(1, kept_across_exec(f));

	/* A program this process execs has the inheritable ones only. */
	EXPECT_EQ(0, exec_sees(NTVM_HANDLE_TO_FD(a), NTVM_HANDLE_TO_FD(f)));
	EXPECT_NE(0, exec_sees(NTVM_HANDLE_TO_FD(a), NTVM_HANDLE_TO_FD(b)));
	EXPECT_NE(0, exec_sees(NTVM_HANDLE_TO_FD(o2), NTVM_HANDLE_TO_FD(f)));

	close_handles(_metadata, (HANDLE[]){ a, b, c, d, e, f, n, o1, o2, o3 }, 10);
}

/*
 * NtCreateSection: SectionHandle and MaximumSize are probed after the
 * attributes and the protection's modifier and no-access bits (ReactOS's
 * order), before everything else; a bad one creates nothing, and
 * MaximumSize is only read (it may be const).
 */
TEST_F(sec, create_bad_pointers)
{
	LARGE_INTEGER size = { .QuadPart = 0x10000 }, *wild = P(8), *rosize;
	HANDLE h = P(0x1234), bad = NTVM_FD_TO_HANDLE(1000);
	long secs = ntvm_counter("sections");
	int fd = next_fd(), file;
	PVOID *ro;

	ro = ro_variables(P(77), 0x10000);
	ASSERT_NE(NULL, ro);
	rosize = (LARGE_INTEGER *)((SIZE_T *)ro + 1);

	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtCreateSection(NULL, SECTION_ALL_ACCESS, NULL, &size, PAGE_READWRITE,
				  SEC_COMMIT, NULL));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtCreateSection((HANDLE *)ro, SECTION_ALL_ACCESS, NULL, &size,
				  PAGE_READWRITE, SEC_COMMIT, NULL));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtCreateSection((HANDLE *)wild, SECTION_ALL_ACCESS, NULL, &size,
				  PAGE_READWRITE, SEC_COMMIT, NULL));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtCreateSection(&h, SECTION_ALL_ACCESS, NULL, wild, PAGE_READWRITE,
				  SEC_COMMIT, NULL));
	/*
	 * NT's order: the attributes, the protection's modifier and
	 * no-access bits, then the pointers, then the rest (the protection's
	 * value, the file handle).
	 */
	EXPECT_EQ(STATUS_INVALID_PARAMETER_6,
		  NtCreateSection(NULL, SECTION_ALL_ACCESS, NULL, wild, PAGE_READWRITE | PAGE_GUARD,
				  SEC_COMMIT | SEC_RESERVE, bad));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
		  NtCreateSection(NULL, SECTION_ALL_ACCESS, NULL, wild, 0x1234, SEC_COMMIT, bad));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
		  NtCreateSection(NULL, SECTION_ALL_ACCESS, NULL, wild, PAGE_READWRITE | PAGE_GUARD,
				  SEC_COMMIT, bad));
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
		  NtCreateSection(NULL, SECTION_ALL_ACCESS, NULL, wild, PAGE_READONLY | PAGE_NOACCESS,
				  SEC_COMMIT, bad));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtCreateSection(NULL, SECTION_ALL_ACCESS, NULL, &size, PAGE_EXECUTE,
				  SEC_COMMIT, bad));
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtCreateSection(&h, SECTION_ALL_ACCESS, NULL, &size, PAGE_EXECUTE,
				  SEC_COMMIT, bad));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtCreateSection(&h, SECTION_ALL_ACCESS, NULL, wild, PAGE_READWRITE,
				  SEC_COMMIT, bad));
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtCreateSection(&h, SECTION_ALL_ACCESS, NULL, &size, PAGE_READWRITE,
				  SEC_COMMIT, bad));
	EXPECT_EQ(P(0x1234), h);
	EXPECT_EQ(P(77), ro[0]);
	EXPECT_EQ(fd, next_fd());
	if (secs >= 0)
		EXPECT_EQ(secs, ntvm_counter("sections"));

	/* A read-only MaximumSize is read; the handle comes back. */
	ASSERT_EQ(STATUS_SUCCESS,
		  NtCreateSection(&h, SECTION_ALL_ACCESS, NULL, rosize, PAGE_READWRITE,
				  SEC_COMMIT, NULL));
	EXPECT_EQ(fd, NTVM_HANDLE_TO_FD(h));
	EXPECT_EQ(0x10000, secinfo(h).Size.QuadPart);
	EXPECT_EQ(STATUS_SUCCESS, NtClose(h));

	/* No MaximumSize: the file's size (spec 1.3.2). */
	file = tmpfile_of(0x3456, O_RDWR);
	ASSERT_LE(0, file);
	ASSERT_EQ(STATUS_SUCCESS,
		  NtCreateSection(&h, SECTION_ALL_ACCESS, NULL, NULL, PAGE_READWRITE,
				  SEC_COMMIT, NTVM_FD_TO_HANDLE(file)));
	EXPECT_EQ(0x3456, secinfo(h).Size.QuadPart);
	EXPECT_EQ(STATUS_SUCCESS, NtClose(h));
	close(file);
}

/*
 * Growing the file is the last step, after the handle's variable is
 * written: when it fails (here RLIMIT_FSIZE), the variable is as it was,
 * and no descriptor is made.
 */
TEST_F(sec, create_grow_failure_keeps_handle)
{
	struct rlimit lim = { 0x2000, 0x2000 };
	int fd, file = memfd_create("ntvm-fsize", MFD_CLOEXEC);
	HANDLE h = P(0x1234);
	struct stat st;

	ASSERT_LE(0, file);
	ASSERT_EQ(0, ftruncate(file, 0x1000));
	signal(SIGXFSZ, SIG_IGN);
	ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &lim));
	fd = next_fd();
	EXPECT_EQ(STATUS_SECTION_TOO_BIG,
		  mksec(&h, 0x10000, PAGE_READWRITE, SEC_COMMIT, NTVM_FD_TO_HANDLE(file)));
	EXPECT_EQ(P(0x1234), h);
	EXPECT_EQ(fd, next_fd());
	ASSERT_EQ(0, fstat(file, &st));
	EXPECT_EQ(0x1000, st.st_size);
	close(file);
}

/*
 * A writer that extends the file while a larger section grows it: the
 * file only grows, so the writer's data stays.  A size check followed by
 * a truncate to the section's size lost it when the write came between
 * the two.  The writer starts after a delay that sweeps the window.
 */
#define GROW_ROUNDS 600

struct grow_writer {
	int file;
	int go, done;		/* the round the writer may start, and ended */
	int delay;		/* spins before its write */
	int failed;		/* writes that failed */
};

static void *grow_writer(void *arg)
{
	struct grow_writer *w = arg;
	unsigned char page[0x1000];
	int round, i;

	for (round = 1; round <= GROW_ROUNDS; round++) {
		while (__atomic_load_n(&w->go, __ATOMIC_ACQUIRE) != round)
			;
		for (i = 0; i < w->delay; i++)
			asm volatile("" ::: "memory");
		memset(page, round & 0xff, sizeof(page));
		if (pwrite(w->file, page, sizeof(page), 0x3000) != sizeof(page))
			w->failed++;
		__atomic_store_n(&w->done, round, __ATOMIC_RELEASE);
	}
	return NULL;
}

TEST_F(sec, create_grow_keeps_concurrent_writes)
{
	struct grow_writer w = { .file = memfd_create("ntvm-grow-race", MFD_CLOEXEC) };
	long lost = 0, wrong = 0;
	unsigned char c;
	struct stat st;
	pthread_t t;
	HANDLE h;
	int round;

	ASSERT_LE(0, w.file);
	ASSERT_EQ(0, pthread_create(&t, NULL, grow_writer, &w));
	for (round = 1; round <= GROW_ROUNDS; round++) {
		ASSERT_EQ(0, ftruncate(w.file, 0x1000));
		w.delay = (round * 37) % 2000;
		__atomic_store_n(&w.go, round, __ATOMIC_RELEASE);
		ASSERT_EQ(STATUS_SUCCESS, mksec(&h, 0x2000, PAGE_READWRITE, SEC_COMMIT,
						NTVM_FD_TO_HANDLE(w.file)));
		NtClose(h);
		while (__atomic_load_n(&w.done, __ATOMIC_ACQUIRE) != round)
			;
		ASSERT_EQ(0, fstat(w.file, &st));
		if (st.st_size != 0x4000)
			lost++;
		else if (pread(w.file, &c, 1, 0x3fff) != 1 || c != (round & 0xff))
			wrong++;
	}
	pthread_join(t, NULL);
	EXPECT_EQ(0, w.failed);
	EXPECT_EQ(0, lost);
	EXPECT_EQ(0, wrong);
	close(w.file);
}

/*
 * The ABI of the section variables (NTVM_SECTION_CREATE_VARS,
 * NTVM_SECTION_QUERY_INFO): values from the variables or from the
 * structure, never both; callers of the first version's size still work;
 * SECTION_OPEN takes none of the query's new fields.
 */
TEST_F(sec, section_variables_abi)
{
	struct ntvm_section_create_args c0 = {
		.size = sizeof(c0), .attrs = NTVM_SEC_COMMIT,
		.protect = NTVM_PAGE_READWRITE, .file_fd = -1,
		.access = NTVM_SECTION_ALL_ACCESS,
	}, c;
	struct ntvm_section_query_args q0 = { .size = sizeof(q0) }, q;
	__u64 size = 0x10000, handle = 0;

	c = c0;
	c.flags = NTVM_SECTION_CREATE_VARS;
	c.handle_ptr = U(&handle);
	c.max_size = 0x10000;
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_SECTION_CREATE, &c));
	EXPECT_EQ(EINVAL, errno);
	c = c0;
	c.max_size = 0x10000;
	c.max_size_ptr = U(&size);
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_SECTION_CREATE, &c));
	EXPECT_EQ(EINVAL, errno);
	c = c0;
	c.flags = 0x2;
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_SECTION_CREATE, &c));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, handle);

	/* By value, in a structure of the first version's size. */
	c = c0;
	c.size = NTVM_SECTION_CREATE_SIZE_VER0;
	c.max_size = 0x10000;
	ASSERT_EQ(0, ioctl(ntvm_fd(), NTVM_IOC_SECTION_CREATE, &c));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, c.status);
	EXPECT_LE(0, c.section_fd);
	EXPECT_EQ(0x10000, c.max_size);
	close(c.section_fd);

	/* By variable: the handle written, and reported in the structure. */
	c = c0;
	c.flags = NTVM_SECTION_CREATE_VARS;
	c.handle_ptr = U(&handle);
	c.max_size_ptr = U(&size);
	ASSERT_EQ(0, ioctl(ntvm_fd(), NTVM_IOC_SECTION_CREATE, &c));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, c.status);
	EXPECT_EQ(c.section_fd, (int)handle);
	EXPECT_EQ(0x10000, c.max_size);
	EXPECT_EQ(0x10000, size);

	/* The query: the new fields only with the flag, and zero padding. */
	q0.section_fd = (int)handle;
	q = q0;
	q.info_length = 24;
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_SECTION_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);
	q = q0;
	q.flags = NTVM_SECTION_QUERY_INFO;
	q.pad = 1;
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_SECTION_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);
	q = q0;
	q.size = NTVM_SECTION_QUERY_SIZE_VER0;
	ASSERT_EQ(0, ioctl(ntvm_fd(), NTVM_IOC_SECTION_QUERY, &q));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, q.status);
	EXPECT_EQ(0x10000, q.max_size);
	EXPECT_EQ(NTVM_SEC_COMMIT, q.attrs);
	q = q0;
	q.access = NTVM_SECTION_ALL_ACCESS;
	q.info_ptr = U(&size);
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_SECTION_OPEN, &q));
	EXPECT_EQ(EINVAL, errno);
	close((int)handle);
}

/* a and b are one section: what a view of a writes, a view of b reads. */
static void expect_one_section(struct __test_metadata *_metadata, HANDLE a, HANDLE b)
{
	char *va = MapViewOfFile(a, FILE_MAP_WRITE, 0, 0, 0);
	char *vb = MapViewOfFile(b, FILE_MAP_READ, 0, 0, 0);

	ASSERT_NE(NULL, va);
	ASSERT_NE(NULL, vb);
	va[100] = 42;
	EXPECT_EQ(42, vb[100]);
	EXPECT_TRUE(UnmapViewOfFile(va));
	EXPECT_TRUE(UnmapViewOfFile(vb));
}

/* h, a handle just opened by name for SECTION_QUERY, is size bytes; closed. */
static void expect_opened_size(struct __test_metadata *_metadata, HANDLE h, int64_t size)
{
	ASSERT_NE(NULL, h);
	EXPECT_EQ(size, secinfo(h).Size.QuadPart);
	EXPECT_TRUE(CloseHandle(h));
}

#define OPEN_QUERY_A(name) OpenFileMappingA(FILE_MAP_READ | SECTION_QUERY, FALSE, name)
#define OPEN_QUERY_W(name) OpenFileMappingW(FILE_MAP_READ | SECTION_QUERY, FALSE, name)

/* Spec 1.5.3: "Local\\name" is "name"; "Global\\name" is another name. */
TEST_F(sec, named_local_prefix)
{
	HANDLE a, b, g, o;

	SetLastError(0xdeadbeef);
	a = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000,
			      "Local\\ntvm-prefix");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	b = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x20000,
			      "ntvm-prefix");
	ASSERT_NE(NULL, b);
	EXPECT_EQ(ERROR_ALREADY_EXISTS, GetLastError());
	EXPECT_EQ(0x10000, secinfo(b).Size.QuadPart);
	expect_one_section(_metadata, a, b);
	o = OpenFileMapping(FILE_MAP_READ, FALSE, "Local\\ntvm-prefix");
	EXPECT_NE(NULL, o);
	g = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x30000,
			      "Global\\ntvm-prefix");
	ASSERT_NE(NULL, g);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	EXPECT_EQ(0x30000, secinfo(g).Size.QuadPart);
	EXPECT_TRUE(CloseHandle(a));
	EXPECT_TRUE(CloseHandle(b));
	EXPECT_TRUE(CloseHandle(o));
	EXPECT_TRUE(CloseHandle(g));
	/* The name went with its last handle, under either spelling. */
	EXPECT_EQ(NULL, OpenFileMapping(FILE_MAP_READ, FALSE, "ntvm-prefix"));
	EXPECT_EQ(ERROR_FILE_NOT_FOUND, GetLastError());
}

/*
 * The wide calls.  A UTF-16 name and its UTF-8 spelling name one section,
 * as Windows' wide and ANSI calls meet; a surrogate pair is one
 * character, a lone surrogate a character of its own; case matters
 * (spec 1.5.1) and "Local\\" is no part of the name (1.5.3).
 */
TEST_F(sec, wide_names)
{
	static const WCHAR lone_high[] = { 'n', 0xd800, 'x', 0 };
	static const WCHAR lone_low[] = { 'n', 0xdc00, 'x', 0 };
	HANDLE a, b, c, h, l1, l2;

	SetLastError(0xdeadbeef);
	a = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000,
			       u"ntvm-wide-\u00e9\u4e2d\U0001F600");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	b = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x20000,
			       "ntvm-wide-\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80");
	ASSERT_NE(NULL, b);
	EXPECT_EQ(ERROR_ALREADY_EXISTS, GetLastError());
	EXPECT_EQ(0x10000, secinfo(b).Size.QuadPart);
	expect_one_section(_metadata, a, b);
	c = OpenFileMappingW(FILE_MAP_READ | SECTION_QUERY, FALSE,
			     u"Local\\ntvm-wide-\u00e9\u4e2d\U0001F600");
	ASSERT_NE(NULL, c);
	EXPECT_EQ(0x10000, secinfo(c).Size.QuadPart);
	EXPECT_WIN32_ERROR(ERROR_FILE_NOT_FOUND,
			   OpenFileMappingW(FILE_MAP_READ, FALSE,
					    u"NTVM-WIDE-\u00e9\u4e2d\U0001F600"));

	/* Two lone surrogates: two names. */
	l1 = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000,
				lone_high);
	ASSERT_NE(NULL, l1);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	l2 = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x20000,
				lone_low);
	ASSERT_NE(NULL, l2);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	expect_opened_size(_metadata, OPEN_QUERY_W(lone_high), 0x10000);
	expect_opened_size(_metadata, OPEN_QUERY_W(lone_low), 0x20000);
	EXPECT_TRUE(CloseHandle(l1));
	EXPECT_TRUE(CloseHandle(l2));

	/* kernelbase's checks come first: no section and no name. */
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0,
					      u"ntvm-wide-zero"));
	EXPECT_EQ(NULL, OpenFileMappingW(FILE_MAP_READ, FALSE, u"ntvm-wide-zero"));
	EXPECT_EQ(ERROR_FILE_NOT_FOUND, GetLastError());
	EXPECT_EQ(NULL, OpenFileMappingW(FILE_MAP_READ, FALSE, NULL));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	/* No name: a section of its own. */
	h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x30000, NULL);
	ASSERT_NE(NULL, h);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	EXPECT_EQ(0x30000, secinfo(h).Size.QuadPart);
	EXPECT_TRUE(CloseHandle(h));

	/* CreateFileMapping2's name is wide too. */
	h = CreateFileMapping2(INVALID_HANDLE_VALUE, NULL, FILE_MAP_READ | FILE_MAP_WRITE,
			       PAGE_READWRITE, SEC_COMMIT, 0x40000, u"ntvm-wide-2", NULL, 0);
	ASSERT_NE(NULL, h);
	expect_opened_size(_metadata, OPEN_QUERY_A("ntvm-wide-2"), 0x40000);
	EXPECT_TRUE(CloseHandle(h));

	EXPECT_TRUE(CloseHandle(a));
	EXPECT_TRUE(CloseHandle(b));
	EXPECT_TRUE(CloseHandle(c));
	/* The name went with its last handle, under either spelling. */
	EXPECT_EQ(NULL, OpenFileMappingA(FILE_MAP_READ, FALSE,
					 "ntvm-wide-\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80"));
	EXPECT_EQ(ERROR_FILE_NOT_FOUND, GetLastError());
	EXPECT_EQ(NULL, OpenFileMappingW(FILE_MAP_READ, FALSE, u"ntvm-wide-2"));
	EXPECT_EQ(ERROR_FILE_NOT_FOUND, GetLastError());
}

/* A narrow name of n copies of unit (a UTF-8 sequence), then tail. */
static char *repeat_name(char *buf, const char *unit, size_t n, const char *tail)
{
	size_t len = strlen(unit), i;

	for (i = 0; i < n; i++)
		memcpy(buf + i * len, unit, len);
	strcpy(buf + n * len, tail);
	return buf;
}

static WCHAR *repeat_wide(WCHAR *buf, WCHAR unit, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = unit;
	buf[n] = 0;
	return buf;
}

/*
 * Name lengths.  kernelbase converts an ANSI name into a buffer of 261
 * UTF-16 units before anything else (Basep8BitStringToStaticUnicodeString):
 * 260 units is the longest, "Local\\" included, and a longer name is
 * ERROR_FILENAME_EXCED_RANGE even where the call would fail for another
 * reason.  A wide name may have 32,766 units (a UNICODE_STRING).  What is
 * counted is units, not bytes; a name refused creates nothing.
 */
TEST_F(sec, name_length)
{
	static char n[4 * 262 + 8];
	static WCHAR w[32768];
	HANDLE a, l, u, e, wh, h;

	/* 260 bytes, 260 units: the longest ANSI name. */
	SetLastError(0xdeadbeef);
	a = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000,
			       repeat_name(n, "a", 260, ""));
	ASSERT_NE(NULL, a);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	expect_opened_size(_metadata, OPEN_QUERY_A(n), 0x10000);
	/* A name of 260 goes on to kernelbase's other checks. */
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, 0, 0, 0x10000, n));

	/* 261 units: refused, whatever else is wrong, and nothing is made. */
	repeat_name(n, "a", 261, "");
	EXPECT_WIN32_ERROR(ERROR_FILENAME_EXCED_RANGE,
			   CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
					      0x20000, n));
	EXPECT_WIN32_ERROR(ERROR_FILENAME_EXCED_RANGE,
			   CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, 0, 0, 0, n));
	EXPECT_WIN32_ERROR(ERROR_FILENAME_EXCED_RANGE, OpenFileMappingA(FILE_MAP_READ, FALSE, n));
	EXPECT_WIN32_ERROR(ERROR_FILE_NOT_FOUND,
			   OpenFileMappingW(FILE_MAP_READ, FALSE, repeat_wide(w, 'a', 261)));
	/* The name of 260 is still the first section. */
	expect_opened_size(_metadata, OPEN_QUERY_W(repeat_wide(w, 'a', 260)), 0x10000);

	/* "Local\\" is part of the string that is converted. */
	strcpy(n, "Local\\");
	repeat_name(n + 6, "b", 254, "");
	l = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000, n);
	ASSERT_NE(NULL, l);
	EXPECT_WIN32_ERROR(ERROR_FILENAME_EXCED_RANGE,
			   CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
					      0x10000, strcat(n, "b")));
	EXPECT_WIN32_ERROR(ERROR_FILE_NOT_FOUND, OpenFileMappingA(FILE_MAP_READ, FALSE, n + 6));

	/* Units, not bytes: 260 two-byte characters, 130 surrogate pairs. */
	u = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000,
			       repeat_name(n, "\xc3\xa9", 260, ""));
	ASSERT_NE(NULL, u);
	EXPECT_WIN32_ERROR(ERROR_FILENAME_EXCED_RANGE,
			   OpenFileMappingA(FILE_MAP_READ, FALSE,
					    repeat_name(n, "\xc3\xa9", 261, "")));
	e = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000,
			       repeat_name(n, "\xf0\x9f\x98\x80", 130, ""));
	ASSERT_NE(NULL, e);
	EXPECT_WIN32_ERROR(ERROR_FILENAME_EXCED_RANGE,
			   CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
					      0x10000,
					      repeat_name(n, "\xf0\x9f\x98\x80", 130, "x")));

	/* Wide names: 32,766 units, and the ANSI calls cannot name them. */
	SetLastError(0xdeadbeef);
	wh = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x30000,
				repeat_wide(w, 'c', 32766));
	ASSERT_NE(NULL, wh);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	expect_opened_size(_metadata, OPEN_QUERY_W(w), 0x30000);
	h = OpenFileMappingFromApp(FILE_MAP_READ, FALSE, w);
	EXPECT_NE(NULL, h);
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_WIN32_ERROR(ERROR_FILENAME_EXCED_RANGE,
			   OpenFileMappingA(FILE_MAP_READ, FALSE, repeat_name(n, "c", 261, "")));
	repeat_wide(w, 'c', 32767);
	EXPECT_WIN32_ERROR(ERROR_FILENAME_EXCED_RANGE,
			   CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, 0, 0, 0, w));
	EXPECT_WIN32_ERROR(ERROR_FILENAME_EXCED_RANGE,
			   CreateFileMappingFromApp(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
						    0x10000, w));
	EXPECT_WIN32_ERROR(ERROR_FILENAME_EXCED_RANGE,
			   CreateFileMapping2(INVALID_HANDLE_VALUE, NULL, FILE_MAP_WRITE,
					      PAGE_READWRITE, SEC_COMMIT, 0x10000, w, NULL, 0));
	EXPECT_WIN32_ERROR(ERROR_FILENAME_EXCED_RANGE, OpenFileMappingW(FILE_MAP_READ, FALSE, w));
	EXPECT_WIN32_ERROR(ERROR_FILENAME_EXCED_RANGE,
			   OpenFileMappingFromApp(FILE_MAP_READ, FALSE, w));
	EXPECT_EQ(ERROR_FILENAME_EXCED_RANGE, RtlNtStatusToDosError(STATUS_NAME_TOO_LONG));

	EXPECT_TRUE(CloseHandle(a));
	EXPECT_TRUE(CloseHandle(l));
	EXPECT_TRUE(CloseHandle(u));
	EXPECT_TRUE(CloseHandle(e));
	EXPECT_TRUE(CloseHandle(wh));
}

/*
 * NULL is no handle (handles are descriptors, and descriptor 0 is never
 * one): NtClose(NULL) is STATUS_INVALID_HANDLE and CloseHandle(NULL)
 * ERROR_INVALID_HANDLE, as on Windows, and standard input stays open.
 */
TEST_F(sec, close_null_handle)
{
	int opened = -1;

	if (fcntl(0, F_GETFD) < 0) {
		opened = open("/dev/null", O_RDONLY);
		ASSERT_EQ(0, opened);
	}
	EXPECT_EQ(STATUS_INVALID_HANDLE, NtClose(NULL));
	EXPECT_LE(0, fcntl(0, F_GETFD));
	EXPECT_WIN32_ERROR(ERROR_INVALID_HANDLE, CloseHandle(NULL));
	EXPECT_LE(0, fcntl(0, F_GETFD));
	if (opened == 0)
		close(0);
}

/*
 * VirtualLock of view pages another process committed, which this view
 * has not learnt yet: the lock learns them (as a fault would) and locks
 * them.  It failed with ERROR_WORKING_SET_QUOTA: the pages were still
 * PROT_NONE, and mlock() refused them.
 */
TEST_F(sec, lock_pages_another_process_committed)
{
	volatile char *v;
	HANDLE h;
	pid_t pid;
	int status;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_RESERVE, 0,
			      0x10000, NULL);
	ASSERT_NE(NULL, h);
	v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, v);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		volatile char *w = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);

		if (!w || !VirtualAlloc((void *)(w + 0x1000), 0x2000, MEM_COMMIT,
					PAGE_READWRITE))
			_exit(1);
		w[0x1000] = 11;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	SetLastError(0);
	EXPECT_TRUE(VirtualLock((void *)(v + 0x1000), 0x2000));
	EXPECT_EQ(0, GetLastError());
	EXPECT_EQ(11, v[0x1000]);
	EXPECT_REGION(v + 0x1000, v + 0x1000, v, PAGE_READWRITE, 0x2000, MEM_COMMIT,
		      PAGE_READWRITE, MEM_MAPPED);
	EXPECT_TRUE(VirtualUnlock((void *)(v + 0x1000), 0x2000));
	EXPECT_TRUE(UnmapViewOfFile((void *)v));
	EXPECT_TRUE(CloseHandle(h));
}

/*
 * A program that closed its standard input still gets handles, never
 * NULL: descriptor 0 is never a section handle (it was the lowest free
 * one, and NULL came back with STATUS_SUCCESS).  Descriptor 0 stays free.
 */
TEST_F(sec, handle_never_descriptor_zero)
{
	LARGE_INTEGER size = { .QuadPart = 0x1000 };
	HANDLE h = P(1), m, o;
	int keep;

	ASSERT_LE(3, ntvm_fd());
	keep = fcntl(0, F_DUPFD_CLOEXEC, 3);
	close(0);
	EXPECT_EQ(STATUS_SUCCESS, NtCreateSection(&h, SECTION_ALL_ACCESS, NULL, &size,
						  PAGE_READWRITE, SEC_COMMIT, NULL));
	EXPECT_NE(NULL, h);
	EXPECT_EQ(-1, fcntl(0, F_GETFD));
	SetLastError(0xdead);
	m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x1000,
			       "ntvm-fd-zero");
	EXPECT_NE(NULL, m);
	EXPECT_EQ(0, GetLastError());
	EXPECT_EQ(-1, fcntl(0, F_GETFD));
	o = OpenFileMappingA(FILE_MAP_READ, FALSE, "ntvm-fd-zero");
	EXPECT_NE(NULL, o);
	EXPECT_NE(m, o);
	EXPECT_EQ(-1, fcntl(0, F_GETFD));
	EXPECT_TRUE(CloseHandle(o));
	EXPECT_TRUE(CloseHandle(m));
	EXPECT_EQ(STATUS_SUCCESS, NtClose(h));
	/* The name went with its last handle. */
	EXPECT_EQ(NULL, OpenFileMappingA(FILE_MAP_READ, FALSE, "ntvm-fd-zero"));
	EXPECT_EQ(ERROR_FILE_NOT_FOUND, GetLastError());
	if (keep >= 0) {
		dup2(keep, 0);
		close(keep);
	}
}

/*
 * fork() while another thread is inside a named call or NtClose(): the
 * child's named calls and NtClose() still work.  The names' lock was not
 * held across fork(), so a child could start with it held for good.
 */
#define FORK_ROUNDS 120

static volatile int names_stop;

static void *names_churn(void *arg)
{
	HANDLE h;

	while (!names_stop) {
		h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
				       0x1000, "ntvm-fork-names");
		if (h)
			CloseHandle(h);
	}
	return NULL;
}

TEST_F_TIMEOUT(sec, fork_during_named_calls, 600)
{
	int i, status, hung = 0, bad = 0;
	pthread_t t;
	pid_t pid;
	HANDLE h;

	names_stop = 0;
	ASSERT_EQ(0, pthread_create(&t, NULL, names_churn, NULL));
	for (i = 0; i < FORK_ROUNDS && hung < 3; i++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			alarm(10);
			h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
					       0, 0x1000, "ntvm-fork-child");
			_exit(h && CloseHandle(h) ? 0 : 1);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
			hung++;
		else if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	}
	names_stop = 1;
	pthread_join(t, NULL);
	EXPECT_EQ(0, hung);
	EXPECT_EQ(0, bad);
}

/*
 * No descriptor left for a handle (RLIMIT_NOFILE): a full handle table,
 * STATUS_INSUFFICIENT_RESOURCES on Windows (ERROR_NO_SYSTEM_RESOURCES);
 * nothing is made and the handle variable stays as it was.
 */
TEST_F(sec, out_of_descriptors)
{
	LARGE_INTEGER size = { .QuadPart = 0x1000 };
	struct rlimit old, lim;
	HANDLE h = P(0x1234), named;
	int fd;

	ASSERT_LE(0, ntvm_fd());
	named = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x1000,
				   "ntvm-no-fd");
	ASSERT_NE(NULL, named);
	fd = next_fd();
	ASSERT_LE(3, fd);
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	lim = old;
	lim.rlim_cur = fd;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &lim));
	EXPECT_EQ(STATUS_INSUFFICIENT_RESOURCES,
		  NtCreateSection(&h, SECTION_ALL_ACCESS, NULL, &size, PAGE_READWRITE,
				  SEC_COMMIT, NULL));
	EXPECT_EQ(P(0x1234), h);
	EXPECT_WIN32_ERROR(ERROR_NO_SYSTEM_RESOURCES,
			   CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
					      0x1000, NULL));
	EXPECT_WIN32_ERROR(ERROR_NO_SYSTEM_RESOURCES,
			   OpenFileMappingA(FILE_MAP_READ, FALSE, "ntvm-no-fd"));
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
	EXPECT_EQ(fd, next_fd());
	EXPECT_TRUE(CloseHandle(named));
}

/*
 * Spec 1.4.4, 1.5.5, 2.8.6: the *FromApp calls.  CreateFileMappingFromApp
 * takes a 64-bit size and keeps executable protections (the handle maps
 * execute); OpenFileMappingFromApp gives exactly the rights asked for;
 * VirtualAllocFromApp refuses executable protections.
 */
TEST_F(sec, from_app)
{
	DWORD64 big = (1ULL << 32) + 0x10000;
	HANDLE h, r, x;
	char *v;

	h = CreateFileMappingFromApp(INVALID_HANDLE_VALUE, NULL,
				     PAGE_EXECUTE_READWRITE | SEC_RESERVE, big,
				     u"ntvm-fromapp");
	ASSERT_NE(NULL, h);
	EXPECT_EQ(ERROR_SUCCESS, GetLastError());
	EXPECT_EQ((int64_t)big, secinfo(h).Size.QuadPart);
	EXPECT_EQ(SEC_RESERVE, secinfo(h).Attributes);
	v = MapViewOfFile(h, FILE_MAP_WRITE | FILE_MAP_EXECUTE, 0, 0, 0x10000);
	ASSERT_NE(NULL, v);
	EXPECT_TRUE(UnmapViewOfFile(v));

	r = OpenFileMappingFromApp(FILE_MAP_READ, FALSE, u"ntvm-fromapp");
	ASSERT_NE(NULL, r);
	v = MapViewOfFile(r, FILE_MAP_READ, 0, 0, 0x10000);
	EXPECT_NE(NULL, v);
	EXPECT_TRUE(UnmapViewOfFile(v));
	EXPECT_EQ(NULL, MapViewOfFile(r, FILE_MAP_WRITE, 0, 0, 0x10000));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	EXPECT_EQ(NULL, MapViewOfFile(r, FILE_MAP_READ | FILE_MAP_EXECUTE, 0, 0, 0x10000));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	EXPECT_EQ(STATUS_ACCESS_DENIED,
		  NtQuerySection(r, SectionBasicInformation, &(SECTION_BASIC_INFORMATION){},
				 sizeof(SECTION_BASIC_INFORMATION), NULL));
	x = OpenFileMappingFromApp(FILE_MAP_EXECUTE, FALSE, u"ntvm-fromapp");
	ASSERT_NE(NULL, x);
	EXPECT_EQ(NULL, MapViewOfFile(x, FILE_MAP_READ, 0, 0, 0x10000));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	EXPECT_EQ(STATUS_ACCESS_DENIED,
		  NtQuerySection(x, SectionBasicInformation, &(SECTION_BASIC_INFORMATION){},
				 sizeof(SECTION_BASIC_INFORMATION), NULL));
	EXPECT_TRUE(CloseHandle(x));
	/* FILE_MAP_EXECUTE is SECTION_MAP_EXECUTE, which an executable view needs. */
	x = OpenFileMappingFromApp(FILE_MAP_READ | FILE_MAP_EXECUTE, FALSE, u"ntvm-fromapp");
	ASSERT_NE(NULL, x);
	v = MapViewOfFile(x, FILE_MAP_READ | FILE_MAP_EXECUTE, 0, 0, 0x10000);
	EXPECT_NE(NULL, v);
	EXPECT_TRUE(UnmapViewOfFile(v));
	EXPECT_EQ(NULL, MapViewOfFile(x, FILE_MAP_WRITE, 0, 0, 0x10000));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	EXPECT_EQ(NULL, OpenFileMappingFromApp(FILE_MAP_READ, FALSE, u"ntvm-none"));
	EXPECT_EQ(ERROR_FILE_NOT_FOUND, GetLastError());
	EXPECT_TRUE(CloseHandle(x));
	EXPECT_TRUE(CloseHandle(r));
	EXPECT_TRUE(CloseHandle(h));

	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   VirtualAllocFromApp(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT,
					       PAGE_EXECUTE_READ));
	EXPECT_EQ(NULL, VirtualAllocFromApp(NULL, 0x10000, MEM_RESERVE, PAGE_EXECUTE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	v = VirtualAllocFromApp(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
	ASSERT_NE(NULL, v);
	v[0] = 1;
	EXPECT_TRUE(VirtualFree(v, 0, MEM_RELEASE));
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/*
 * A tmpfs mounted noexec in a mount namespace of the test's own (with a
 * user namespace for a user without CAP_SYS_ADMIN); NULL if the kernel
 * allows neither.
 */
static const char *noexec_dir(void)
{
	static char dir[] = "/tmp/ntvm-noexecXXXXXX";
	uid_t uid = getuid();
	gid_t gid = getgid();
	char map[64];

	if (!mkdtemp(dir))
		return NULL;
	if (unshare(uid ? CLONE_NEWUSER | CLONE_NEWNS : CLONE_NEWNS))
		return NULL;
	if (uid) {
		if (write_file("/proc/self/setgroups", "deny"))
			return NULL;
		snprintf(map, sizeof(map), "%u %u 1", (unsigned int)uid, (unsigned int)uid);
		if (write_file("/proc/self/uid_map", map))
			return NULL;
		snprintf(map, sizeof(map), "%u %u 1", (unsigned int)gid, (unsigned int)gid);
		if (write_file("/proc/self/gid_map", map))
			return NULL;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", dir, "tmpfs", MS_NOEXEC, "mode=0777"))
		return NULL;
	return dir;
}

/*
 * Spec 1.4.3: the file must allow the protection.  NT's FILE_EXECUTE is,
 * for a Linux file, a mount without noexec: an executable section of a
 * file there is refused as Windows refuses one of a file opened without
 * execute access, and a descriptor left behind by nothing.
 */
TEST_F(sec, noexec_file)
{
	static const ULONG exec[] = {
		PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE, PAGE_EXECUTE_WRITECOPY,
	}, plain[] = { PAGE_READONLY, PAGE_READWRITE, PAGE_WRITECOPY };
	long secs = ntvm_counter("sections");
	const char *dir = noexec_dir();
	char path[64];
	HANDLE h, file;
	int fd, next;
	unsigned int i;

	if (!dir)
		SKIP(return, "no noexec tmpfs here (user namespaces: %s)", strerror(errno));
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 0x3000));
	file = NTVM_FD_TO_HANDLE(fd);
	next = next_fd();
	for (i = 0; i < 3; i++) {
		EXPECT_WIN32_ERROR(ERROR_ACCESS_DENIED,
				   CreateFileMapping(file, NULL, exec[i], 0, 0, NULL));
		h = P(0x1234);
		EXPECT_EQ(STATUS_ACCESS_DENIED,
			  mksec(&h, 0x3000, exec[i], SEC_COMMIT, file));
		EXPECT_EQ(P(0x1234), h);
	}
	EXPECT_EQ(next, next_fd());
	if (secs >= 0)
		EXPECT_EQ(secs, ntvm_counter("sections"));
	for (i = 0; i < 3; i++) {
		h = CreateFileMapping(file, NULL, plain[i], 0, 0, NULL);
		ASSERT_NE(NULL, h);
		EXPECT_EQ(0x3000, secinfo(h).Size.QuadPart);
		EXPECT_TRUE(CloseHandle(h));
	}
	close(fd);
}

/*
 * Spec 4.5.2: NtAreMappedFilesTheSame.  Two addresses of one view are the
 * same file; two views are not, of one section (Wine's
 * test_NtAreMappedFilesTheSame, which Windows passes) or of two sections
 * of one file; memory that is no view conflicts; no mapping is an invalid
 * address; the first address is checked first.
 */
TEST_F(sec, are_mapped_files_the_same)
{
	struct ntvm_memctl_args m = {
		.size = sizeof(m), .op = NTVM_MEMCTL_REGION, .other = 0x10000,
	};
	char *v1, *v2, *fa, *fb, *priv, *heap = malloc(64), *gone;
	HANDLE h, a, b;
	PVOID ph;
	int fd = tmpfile_of(0x2000, O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, heap);
	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000, NULL);
	ASSERT_NE(NULL, h);
	v1 = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	v2 = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
	ASSERT_NE(NULL, v1);
	ASSERT_NE(NULL, v2);
	a = CreateFileMapping(NTVM_FD_TO_HANDLE(fd), NULL, PAGE_READONLY, 0, 0, NULL);
	b = CreateFileMapping(NTVM_FD_TO_HANDLE(fd), NULL, PAGE_READONLY, 0, 0, NULL);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	fa = MapViewOfFile(a, FILE_MAP_READ, 0, 0, 0);
	fb = MapViewOfFile(b, FILE_MAP_READ, 0, 0, 0);
	ASSERT_NE(NULL, fa);
	ASSERT_NE(NULL, fb);
	priv = VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
	ASSERT_NE(NULL, priv);
	ph = VirtualAlloc2(NULL, NULL, 0x10000, PH, PAGE_NOACCESS, NULL, 0);
	ASSERT_NE(NULL, ph);
	gone = mmap(NULL, 0x10000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, gone);
	ASSERT_EQ(0, munmap(gone, 0x10000));

	EXPECT_EQ(STATUS_SUCCESS, NtAreMappedFilesTheSame(v1, v1 + 30));
	EXPECT_EQ(STATUS_SUCCESS, NtAreMappedFilesTheSame(v1 + 0xffff, v1));
	EXPECT_EQ(STATUS_NOT_SAME_DEVICE, NtAreMappedFilesTheSame(v1 + 0xffff, v2));
	EXPECT_EQ(STATUS_NOT_SAME_DEVICE, NtAreMappedFilesTheSame(v2, v1));
	EXPECT_EQ(STATUS_SUCCESS, NtAreMappedFilesTheSame(fa, fa + 0x1fff));
	EXPECT_EQ(STATUS_NOT_SAME_DEVICE, NtAreMappedFilesTheSame(fa, fb));
	EXPECT_EQ(STATUS_NOT_SAME_DEVICE, NtAreMappedFilesTheSame(v1, fa));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, NtAreMappedFilesTheSame(v1, priv));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, NtAreMappedFilesTheSame(priv, v1));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, NtAreMappedFilesTheSame(v1, heap));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, NtAreMappedFilesTheSame(ph, v1));
	EXPECT_EQ(STATUS_INVALID_ADDRESS, NtAreMappedFilesTheSame(v1, NULL));
	EXPECT_EQ(STATUS_INVALID_ADDRESS, NtAreMappedFilesTheSame(NULL, v1));
	EXPECT_EQ(STATUS_INVALID_ADDRESS, NtAreMappedFilesTheSame(v1, gone));
	EXPECT_EQ(STATUS_INVALID_ADDRESS,
		  NtAreMappedFilesTheSame(v1, P(sizeof(void *) == 8 ? 0xffff800000000000ULL :
							0xfffff000UL)));
	/* The first address first. */
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, NtAreMappedFilesTheSame(priv, NULL));
	EXPECT_EQ(STATUS_INVALID_ADDRESS, NtAreMappedFilesTheSame(NULL, priv));
	/* An unmapped view is no view any more. */
	EXPECT_TRUE(UnmapViewOfFile(v1));
	EXPECT_EQ(STATUS_INVALID_ADDRESS, NtAreMappedFilesTheSame(v1, v2));

	/* The second address belongs to SAME_FILES only. */
	m.base = U(v2);
	EXPECT_EQ(-1, ioctl(ntvm_fd(), NTVM_IOC_MEMCTL, &m));
	EXPECT_EQ(EINVAL, errno);

	EXPECT_TRUE(UnmapViewOfFile(v2));
	EXPECT_TRUE(UnmapViewOfFile(fa));
	EXPECT_TRUE(UnmapViewOfFile(fb));
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_TRUE(CloseHandle(a));
	EXPECT_TRUE(CloseHandle(b));
	EXPECT_TRUE(VirtualFree(priv, 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(ph, 0, MEM_RELEASE));
	close(fd);
	free(heap);
}

/* MemoryRegionInformationEx's flags of a view: what backs its section. */
static ULONG region_flags(const void *p)
{
	MEMORY_REGION_INFORMATION r;

	memset(&r, 0xff, sizeof(r));
	if (NtQueryVirtualMemory(CUR, (PVOID)p, MemoryRegionInformationEx, &r,
				 sizeof(r), NULL))
		return 0xdead;
	return r.RegionType;
}

/* The RegionType value of one of MEMORY_REGION_INFORMATION's bit fields. */
#define REGION_BIT(field) \
	({ MEMORY_REGION_INFORMATION b_ = { 0 }; b_.field = 1; b_.RegionType; })

/*
 * Microsoft's MEMORY_REGION_INFORMATION: MappedDataFile for a view of a
 * file, MappedPageFile for one of a section backed by the paging file
 * (ntvm: by memory), Private for private memory; one bit each.  A free
 * placeholder adds PlaceholderReservation, a MEM_WRITE_WATCH allocation
 * MappedWriteWatch (ntvm's choice, from the unofficial names: ntvm.rst).
 */
TEST_F(sec, region_ex_backing)
{
	MEMORY_REGION_INFORMATION bits;
	ULONG priv_bit, data_bit, page_bit, ph_bit, ww_bit;
	int fd = tmpfile_of(0x2000, O_RDWR);
	HANDLE hc, hr, hf;
	char *vc, *vr, *vf, *priv, *shared, *ph, *ww, *v;

	priv_bit = REGION_BIT(Private);
	data_bit = REGION_BIT(MappedDataFile);
	page_bit = REGION_BIT(MappedPageFile);
	ph_bit = REGION_BIT(PlaceholderReservation);
	ww_bit = REGION_BIT(MappedWriteWatch);
	ASSERT_EQ(1, priv_bit);
	ASSERT_EQ(2, data_bit);
	ASSERT_EQ(8, page_bit);
	ASSERT_EQ(0x100, ph_bit);
	ASSERT_EQ(0x400, ww_bit);

	ASSERT_LE(0, fd);
	hc = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000, NULL);
	hr = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_RESERVE,
			       0, 0x10000, NULL);
	hf = CreateFileMapping(NTVM_FD_TO_HANDLE(fd), NULL, PAGE_READONLY, 0, 0, NULL);
	ASSERT_NE(NULL, hc);
	ASSERT_NE(NULL, hr);
	ASSERT_NE(NULL, hf);
	vc = MapViewOfFile(hc, FILE_MAP_WRITE, 0, 0, 0);
	vr = MapViewOfFile(hr, FILE_MAP_WRITE, 0, 0, 0);
	vf = MapViewOfFile(hf, FILE_MAP_READ, 0, 0, 0);
	priv = VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
	shared = mmap(NULL, 0x2000, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ph = VirtualAlloc2(NULL, NULL, 0x20000, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
			   PAGE_NOACCESS, NULL, 0);
	ww = VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_READWRITE);
	ASSERT_NE(NULL, ph);
	ASSERT_NE(NULL, ww);
	ASSERT_NE(NULL, vc);
	ASSERT_NE(NULL, vr);
	ASSERT_NE(NULL, vf);
	ASSERT_NE(NULL, priv);
	ASSERT_NE(MAP_FAILED, shared);

	EXPECT_EQ(page_bit, region_flags(vc));
	EXPECT_EQ(page_bit, region_flags(vc + 0xffff));
	EXPECT_EQ(page_bit, region_flags(vr));
	EXPECT_EQ(data_bit, region_flags(vf + 0x1000));
	EXPECT_EQ(priv_bit, region_flags(priv));
	/* ntvm's choice for a mapping it did not make (ntvm.rst). */
	EXPECT_EQ(data_bit, region_flags(shared));
	EXPECT_EQ(priv_bit | ph_bit, region_flags(ph + 0x1ffff));
	EXPECT_EQ(priv_bit | ww_bit, region_flags(ww));
	/* What replaces a placeholder is no placeholder reservation. */
	ASSERT_TRUE(VirtualFree(ph, 0x10000, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	v = MapViewOfFile3(hc, NULL, ph, 0, 0x10000, MEM_REPLACE_PLACEHOLDER,
			   PAGE_READWRITE, NULL, 0);
	ASSERT_EQ(ph, v);
	EXPECT_EQ(page_bit, region_flags(ph));
	EXPECT_EQ(priv_bit | ph_bit, region_flags(ph + 0x10000));
	ASSERT_TRUE(UnmapViewOfFile2(CUR, ph, MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(priv_bit | ph_bit, region_flags(ph));
	/* MemoryRegionInformation leaves RegionType 0. */
	memset(&bits, 0xff, sizeof(bits));
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQueryVirtualMemory(CUR, vc, MemoryRegionInformation, &bits,
				       sizeof(bits), NULL));
	EXPECT_EQ(0, bits.RegionType);

	EXPECT_TRUE(UnmapViewOfFile(vc));
	EXPECT_TRUE(UnmapViewOfFile(vr));
	EXPECT_TRUE(UnmapViewOfFile(vf));
	EXPECT_TRUE(VirtualFree(ph, 0x20000, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
	EXPECT_TRUE(VirtualFree(ph, 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(ww, 0, MEM_RELEASE));
	EXPECT_TRUE(CloseHandle(hc));
	EXPECT_TRUE(CloseHandle(hr));
	EXPECT_TRUE(CloseHandle(hf));
	EXPECT_TRUE(VirtualFree(priv, 0, MEM_RELEASE));
	EXPECT_EQ(0, munmap(shared, 0x2000));
	close(fd);
}

/*
 * Spec 1.5.5: OpenFileMapping(FILE_MAP_READ | SECTION_QUERY) may query
 * the section (FILE_MAP_COPY has SECTION_QUERY's value: only FILE_MAP_COPY
 * alone means reading); FILE_MAP_READ alone may not.
 */
TEST_F(sec, open_with_query_right)
{
	SECTION_BASIC_INFORMATION b;
	HANDLE h, q, r, c;
	char *v;

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x20000,
			      "ntvm-query-right");
	ASSERT_NE(NULL, h);
	q = OpenFileMapping(FILE_MAP_READ | SECTION_QUERY, FALSE, "ntvm-query-right");
	r = OpenFileMapping(FILE_MAP_READ, FALSE, "ntvm-query-right");
	c = OpenFileMapping(FILE_MAP_COPY, FALSE, "ntvm-query-right");
	ASSERT_NE(NULL, q);
	ASSERT_NE(NULL, r);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQuerySection(q, SectionBasicInformation, &b, sizeof(b), NULL));
	EXPECT_EQ(0x20000, b.Size.QuadPart);
	EXPECT_EQ(STATUS_ACCESS_DENIED,
		  NtQuerySection(r, SectionBasicInformation, &b, sizeof(b), NULL));
	EXPECT_EQ(STATUS_ACCESS_DENIED,
		  NtQuerySection(c, SectionBasicInformation, &b, sizeof(b), NULL));
	/* FILE_MAP_COPY alone is SECTION_MAP_READ: a read view works. */
	v = MapViewOfFile(c, FILE_MAP_READ, 0, 0, 0);
	EXPECT_NE(NULL, v);
	EXPECT_TRUE(UnmapViewOfFile(v));
	EXPECT_TRUE(CloseHandle(c));
	EXPECT_TRUE(CloseHandle(r));
	EXPECT_TRUE(CloseHandle(q));
	EXPECT_TRUE(CloseHandle(h));
}

TEST_HARNESS_MAIN
