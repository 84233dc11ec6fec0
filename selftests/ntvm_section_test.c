// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm placeholder, section and view tests (kselftest harness).
 *
 * The scenarios are the [T] facts of shared/spec/nt-sections-placeholders.md,
 * cited as "spec N.N" (its scenarios as "spec 8.N").  Every failing call is
 * followed by a check that the state it could have touched is unchanged.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ntvm_selftest.h"

#define CUR NtCurrentProcess()
#define P(x) ((PVOID)(uintptr_t)(x))
#define U(x) ((uintptr_t)(x))

#define PH (MEM_RESERVE | MEM_RESERVE_PLACEHOLDER)
#define PRESERVE (MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER)
#define COALESCE (MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS)
#define REPLACE (MEM_RESERVE | MEM_REPLACE_PLACEHOLDER)

static NTSTATUS nt_alloc(PVOID *base, SIZE_T size, ULONG type, ULONG prot)
{
	return NtAllocateVirtualMemory(CUR, base, 0, &size, type, prot);
}

static NTSTATUS nt_allocx(PVOID *base, SIZE_T size, ULONG type, ULONG prot)
{
	return NtAllocateVirtualMemoryEx(CUR, base, &size, type, prot, NULL, 0);
}

/* Frees; on failure the caller's variables must stay as they were. */
static NTSTATUS nt_free_out(PVOID *base, SIZE_T *size, ULONG type)
{
	PVOID b = *base;
	SIZE_T s = *size;
	NTSTATUS st = NtFreeVirtualMemory(CUR, &b, &s, type);

	if (st && (b != *base || s != *size))
		return (NTSTATUS)0xdeadbeef;
	*base = b;
	*size = s;
	return st;
}

static NTSTATUS nt_free(PVOID base, SIZE_T size, ULONG type)
{
	return nt_free_out(&base, &size, type);
}

static MEMORY_BASIC_INFORMATION q(const void *addr)
{
	MEMORY_BASIC_INFORMATION m;
	SIZE_T len = 0;

	memset(&m, 0xcc, sizeof(m));
	if (NtQueryVirtualMemory(CUR, addr, MemoryBasicInformation, &m,
				 sizeof(m), &len) || len != sizeof(m))
		memset(&m, 0xee, sizeof(m));
	return m;
}

#define EXPECT_REGION(addr, base, abase, aprot, size, state, prot, type) do { \
	MEMORY_BASIC_INFORMATION __m = q(P(addr));			\
	EXPECT_EQ(U(base), U(__m.BaseAddress));				\
	EXPECT_EQ(U(abase), U(__m.AllocationBase));			\
	EXPECT_EQ((DWORD)(aprot), __m.AllocationProtect);		\
	EXPECT_EQ((SIZE_T)(size), __m.RegionSize);			\
	EXPECT_EQ((DWORD)(state), __m.State);				\
	EXPECT_EQ((DWORD)(prot), __m.Protect);				\
	EXPECT_EQ((DWORD)(type), __m.Type);				\
} while (0)

/* A placeholder piece as spec 6.2.1 describes it. */
#define EXPECT_PLACEHOLDER(at, size) \
	EXPECT_REGION(at, at, at, PAGE_NOACCESS, size, MEM_RESERVE, 0, MEM_PRIVATE)

static struct ntvm_stats stats(void)
{
	struct ntvm_stats st;

	if (ntvm_stats(&st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

/* Does reading (or writing) addr fault?  Checked in a child. */
static int faults(void *addr, int write)
{
	pid_t pid = fork();
	int status;

	if (!pid) {
		if (write)
			*(volatile char *)addr = 1;
		else
			(void)*(volatile char *)addr;
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

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
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAlloc2(NULL, p, 0x10000, PH, PAGE_NOACCESS, NULL, 0));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAlloc2(NULL, NULL, 0x10000, PH, PAGE_READWRITE, NULL, 0));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAlloc2FromApp(NULL, NULL, 0x10000, MEM_RESERVE | MEM_COMMIT,
					     PAGE_EXECUTE_READWRITE, NULL, 0));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());

	EXPECT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
	EXPECT_REGION(p, p, 0, 0, q(p).RegionSize, MEM_FREE, PAGE_NOACCESS, 0);
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
	PVOID p = NULL, b;
	SIZE_T s;

	ASSERT_EQ(STATUS_SUCCESS, nt_allocx(&p, 0x10000, PH, PAGE_NOACCESS));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_free(p, 0x10000, PRESERVE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_3, nt_free(p, 0, PRESERVE));
	EXPECT_EQ(STATUS_UNABLE_TO_FREE_VM, nt_free(P(U(p) + 0xf000), 0x2000, PRESERVE));
	EXPECT_PLACEHOLDER(p, 0x10000);
	b = P(U(p) + 0x8000);
	s = 0x4000;
	ASSERT_EQ(STATUS_SUCCESS, nt_free_out(&b, &s, PRESERVE));
	EXPECT_EQ(U(p) + 0x8000, U(b));
	EXPECT_EQ(0x4000, s);
	EXPECT_PLACEHOLDER(p, 0x8000);
	EXPECT_PLACEHOLDER(U(p) + 0x8000, 0x4000);
	EXPECT_PLACEHOLDER(U(p) + 0xc000, 0x4000);
	/* Each piece is released on its own, with its own size. */
	b = P(U(p) + 0xc000);
	s = 0;
	ASSERT_EQ(STATUS_SUCCESS, nt_free_out(&b, &s, MEM_RELEASE));
	EXPECT_EQ(0x4000, s);
	EXPECT_EQ(U(p) + 0xc000, U(b));
	EXPECT_EQ(STATUS_MEMORY_NOT_ALLOCATED, nt_free(P(U(p) + 0xc000), 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_FREE_VM_NOT_AT_BASE, nt_free(P(U(p) + 0x9000), 0, MEM_RELEASE));
	/* A hole in the range: no coalescing. */
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_free(p, 0x10000, COALESCE));
	b = p;
	s = 0xc000;
	ASSERT_EQ(STATUS_SUCCESS, nt_free_out(&b, &s, COALESCE));
	EXPECT_EQ(p, b);
	EXPECT_EQ(0xc000, s);
	EXPECT_PLACEHOLDER(p, 0xc000);
	ASSERT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));

	/* New P, split at 16K and 32K. */
	p = NULL;
	ASSERT_EQ(STATUS_SUCCESS, nt_allocx(&p, 0x10000, PH, PAGE_NOACCESS));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(p, 0x4000, PRESERVE));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(P(U(p) + 0x4000), 0x4000, PRESERVE));
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
	b = p;
	s = 0x10000;
	ASSERT_EQ(STATUS_SUCCESS, nt_free_out(&b, &s, COALESCE));
	EXPECT_EQ(0x10000, s);
	EXPECT_PLACEHOLDER(p, 0x10000);

	/* Split at 16K; replace the rest with private memory. */
	ASSERT_EQ(STATUS_SUCCESS, nt_free(p, 0x4000, PRESERVE));
	b = P(U(p) + 0x4000);
	ASSERT_EQ(STATUS_SUCCESS, nt_allocx(&b, 0xc000, REPLACE, PAGE_READWRITE));
	EXPECT_EQ(U(p) + 0x4000, U(b));
	EXPECT_REGION(b, b, b, PAGE_READWRITE, 0xc000, MEM_RESERVE, 0, MEM_PRIVATE);
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, nt_free(p, 0x10000, COALESCE));
	b = P(U(p) + 0x4000);
	s = 0xc000;
	ASSERT_EQ(STATUS_SUCCESS, nt_free_out(&b, &s, MEM_RELEASE));
	EXPECT_EQ(0xc000, s);
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
	EXPECT_EQ(MEM_FREE, q(p).State);
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
	SetLastError(0);
	EXPECT_FALSE(VirtualFree(p, 0x20000, PRESERVE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	SetLastError(0);
	EXPECT_FALSE(VirtualFree(p, 0, PRESERVE));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	SetLastError(0);
	EXPECT_FALSE(VirtualFree(p, 0x1000, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
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
	SetLastError(0);
	EXPECT_FALSE(VirtualFree(p, 0x20000, COALESCE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_TRUE(VirtualFree(P(U(p) + 0x1000), 0x1000, PRESERVE));
	EXPECT_TRUE(VirtualFreeEx(CUR, p, 0x20000, COALESCE));
	EXPECT_PLACEHOLDER(p, 0x20000);
	SetLastError(0);
	EXPECT_FALSE(VirtualFreeEx(NULL, p, 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_HANDLE, GetLastError());
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/* Spec 6.10: extended parameters of NtAllocateVirtualMemoryEx. */
TEST_F(ph, extended_parameters)
{
	MEM_ADDRESS_REQUIREMENTS req = {
		.LowestStartingAddress = P(0x200000000ULL),
		.HighestEndingAddress = P(0x2ffffffffULL),
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
	EXPECT_LE(0x200000000ULL, U(p));
	EXPECT_GE(0x2ffffffffULL + 1, U(p) + s);
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
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &p, &s, MEM_RESERVE | MEM_COMMIT,
					    PAGE_READWRITE, ep, 1));
	ep[0].ULong64 = MEM_EXTENDED_PARAMETER_NONPAGED;
	EXPECT_EQ(STATUS_NOT_SUPPORTED,
		  NtAllocateVirtualMemoryEx(CUR, &p, &s, MEM_RESERVE | MEM_COMMIT,
					    PAGE_READWRITE, ep, 1));
	EXPECT_EQ(NULL, p);
	/* A NUMA node, any node: a no-op (6.10.4). */
	ep[0].Type = MemExtendedParameterNumaNode;
	ep[0].ULong = 3;
	ASSERT_EQ(STATUS_SUCCESS, NtAllocateVirtualMemoryEx(CUR, &p, &s, MEM_RESERVE | MEM_COMMIT,
							    PAGE_READWRITE, ep, 1));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
}

/* Placeholders changed behind ntvm's back (munmap, mremap). */
TEST_F(ph, behind_back)
{
	struct ntvm_stats st0 = stats(), st1;
	PVOID p = NULL, b;
	void *r;

	ASSERT_EQ(STATUS_SUCCESS, nt_allocx(&p, 0x40000, PH, PAGE_NOACCESS));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(p, 0x10000, PRESERVE));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(P(U(p) + 0x10000), 0x10000, PRESERVE));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(P(U(p) + 0x20000), 0x10000, PRESERVE));
	/* munmap() of the second piece: it is gone, and a hole. */
	ASSERT_EQ(0, munmap(P(U(p) + 0x10000), 0x10000));
	EXPECT_EQ(MEM_FREE, q(P(U(p) + 0x10000)).State);
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
	EXPECT_EQ(MEM_FREE, q(P(U(p) + 0x20000)).State);
	/* The moved mapping is not ntvm's: no placeholder there. */
	EXPECT_NE(MEM_RESERVE, q(P(U(p) + 0x10000)).State);
	munmap(P(U(p) + 0x10000), 0x10000);
	EXPECT_PLACEHOLDER(p, 0x10000);
	EXPECT_PLACEHOLDER(U(p) + 0x30000, 0x10000);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(P(U(p) + 0x30000), 0, MEM_RELEASE));
	st1 = stats();
	EXPECT_EQ(st0.allocations, st1.allocations);
	EXPECT_EQ(st0.reserved_bytes, st1.reserved_bytes);
}

struct race {
	volatile int *stop;
	unsigned int seed;
	long ops, ok;
	uintptr_t area;
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
	return NULL;
}

/* Threads split/replace placeholders while others allocate and free. */
TEST_F_TIMEOUT(ph, threads, 120)
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
	sleep(3);
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

static void __attribute__((constructor)) line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

TEST_HARNESS_MAIN
