// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: the rest of the NT memory API (issue 11), kselftest harness.
 *
 * Region and working-set queries, page locking, offer/reclaim/discard,
 * prefetch, caches and barriers, the *Ex calls with process handles, and
 * the differences from Windows issue 11 lists.  As in ntvm_test.c every
 * failing call is followed by a check that nothing changed.  Facts are
 * cited as "spec N.N" (shared/spec/nt-vm-semantics.md) or by the Windows
 * conformance test they come from.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include "kselftest_harness.h"
#include "ntvm_selftest.h"

#define MAX_ADDR 0x7ffffffeffffULL

static MEMORY_BASIC_INFORMATION q(const void *addr)
{
	MEMORY_BASIC_INFORMATION m;

	memset(&m, 0xcc, sizeof(m));
	if (NtQueryVirtualMemory(CUR, addr, MemoryBasicInformation, &m,
				 sizeof(m), NULL))
		memset(&m, 0xee, sizeof(m));
	return m;
}

/* The working-set attributes of one address. */
static MEMORY_WORKING_SET_EX_BLOCK ws(const void *addr)
{
	MEMORY_WORKING_SET_EX_INFORMATION w;

	memset(&w, 0x41, sizeof(w));
	w.VirtualAddress = (PVOID)addr;
	if (!QueryWorkingSetEx(GetCurrentProcess(), &w, sizeof(w)))
		w.VirtualAttributes.Flags = ~(ULONG_PTR)0;
	return w.VirtualAttributes;
}

/* Valid, protection, shared, locked of one entry (the psapi test's check). */
#define EXPECT_WS(b, valid, prot, shared, locked) do {			\
	MEMORY_WORKING_SET_EX_BLOCK __b = (b);				\
	EXPECT_EQ((ULONG_PTR)(valid), (ULONG_PTR)__b.Valid);		\
	EXPECT_EQ((ULONG_PTR)(prot), (ULONG_PTR)__b.Win32Protection);	\
	EXPECT_EQ((ULONG_PTR)(shared), (ULONG_PTR)__b.Shared);		\
	EXPECT_EQ((ULONG_PTR)(locked), (ULONG_PTR)__b.Locked);		\
	EXPECT_EQ(0, (int)__b.Node);					\
	EXPECT_EQ(0, (int)__b.LargePage);				\
	if (__b.Valid && __b.Shared) {					\
		EXPECT_LT(0, (int)__b.ShareCount);			\
	} else {							\
		EXPECT_EQ(0, (int)__b.ShareCount);			\
	}								\
} while (0)

/* Does the process hold CAP_IPC_LOCK (the lock privilege, see README)? */
static int has_ipc_lock(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return 0;
	return !!(d[CAP_IPC_LOCK / 32].effective & (1u << (CAP_IPC_LOCK % 32)));
}

static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
	d[CAP_IPC_LOCK / 32].permitted &= ~(1u << (CAP_IPC_LOCK % 32));
	return syscall(SYS_capset, &h, d);
}

FIXTURE(api) {
	int unused;
};

FIXTURE_SETUP(api)
{
	if (access("/dev/ntvm", F_OK))
		SKIP(return, "/dev/ntvm is not present");
	ASSERT_LE(0, ntvm_fd());
}

FIXTURE_TEARDOWN(api)
{
}

/* ---- The differences issue 11 lists ---- */

/* All-zero MEM_ADDRESS_REQUIREMENTS with an explicit base: no requirement. */
TEST_F(api, zero_requirements_with_base)
{
	MEM_ADDRESS_REQUIREMENTS req = { 0 };
	MEM_EXTENDED_PARAMETER ext = { 0 };
	PVOID base = NULL, at;
	SIZE_T size = 0x10000;
	struct ntvm_stats before;

	ext.Type = MemExtendedParameterAddressRequirements;
	ext.Pointer = &req;
	/* Find a free 64K block, then ask for it explicitly. */
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	at = base;
	ASSERT_EQ(STATUS_SUCCESS,
		  NtAllocateVirtualMemoryEx(CUR, &at, &size, MEM_RESERVE | MEM_COMMIT,
					    PAGE_READWRITE, &ext, 1));
	EXPECT_EQ(base, at);
	EXPECT_EQ(0x10000, size);
	EXPECT_EQ(MEM_COMMIT, q(base).State);
	/* Taken: STATUS_CONFLICTING_ADDRESSES, outputs and state unchanged. */
	before = stats();
	size = 0x1000;
	at = (char *)base + 0x1000;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  NtAllocateVirtualMemoryEx(CUR, &at, &size, MEM_RESERVE, PAGE_READWRITE,
					    &ext, 1));
	EXPECT_EQ((char *)base + 0x1000, at);
	EXPECT_EQ(0x1000, size);
	EXPECT_EQ(before.allocations, stats().allocations);
	/* MEM_COMMIT inside it with all-zero requirements works too. */
	at = (char *)base + 0x2000;
	EXPECT_EQ(STATUS_SUCCESS,
		  NtAllocateVirtualMemoryEx(CUR, &at, &size, MEM_COMMIT, PAGE_READONLY,
					    &ext, 1));
	EXPECT_EQ(PAGE_READONLY, q((char *)base + 0x2000).Protect);
	/* A real requirement with a base stays invalid (spec 1.9.4). */
	req.Alignment = 0x20000;
	at = (char *)base + 0x2000;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &at, &size, MEM_COMMIT, PAGE_READWRITE,
					    &ext, 1));
	EXPECT_EQ(PAGE_READONLY, q((char *)base + 0x2000).Protect);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* LowestStartingAddress above the highest user address: invalid. */
TEST_F(api, lowest_above_user_range)
{
	MEM_ADDRESS_REQUIREMENTS req = { 0 };
	MEM_EXTENDED_PARAMETER ext = { 0 };
	PVOID base = NULL;
	SIZE_T size = 0x10000;
	SYSTEM_INFO si;
	struct ntvm_stats before = stats();

	GetSystemInfo(&si);
	ext.Type = MemExtendedParameterAddressRequirements;
	ext.Pointer = &req;
	req.LowestStartingAddress = (char *)si.lpMaximumApplicationAddress + 1;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE,
					    &ext, 1));
	EXPECT_EQ(NULL, base);
	EXPECT_EQ(0x10000, size);
	EXPECT_EQ(before.allocations, stats().allocations);
	/* The highest 64K block that can start is still satisfiable or not. */
	req.LowestStartingAddress = P(0x7fffffee0000ULL);
	EXPECT_EQ(STATUS_SUCCESS,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE,
					    &ext, 1));
	EXPECT_LE(0x7fffffee0000ULL, U(base));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* The Win32 errors of the statuses the issue 11 calls add. */
TEST_F(api, status_to_dos_error)
{
	EXPECT_EQ(ERROR_NOT_LOCKED, RtlNtStatusToDosError(STATUS_NOT_LOCKED));
	EXPECT_EQ(ERROR_WORKING_SET_QUOTA,
		  RtlNtStatusToDosError(STATUS_WORKING_SET_QUOTA));
	EXPECT_EQ(158, ERROR_NOT_LOCKED);
	EXPECT_EQ(1453, ERROR_WORKING_SET_QUOTA);
}

/* Windows writes PAGE_NOACCESS to *OldProtect when the protect fails. */
TEST_F(api, protect_failure_old_protect)
{
	{
		PVOID base = NULL, b;
		SIZE_T size = 0x1000;
		ULONG old = 0xdead;

		ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
		b = base;
		EXPECT_EQ(STATUS_NOT_COMMITTED,
			  NtProtectVirtualMemory(CUR, &b, &size, PAGE_READWRITE, &old));
		EXPECT_EQ(PAGE_NOACCESS, old);
		EXPECT_EQ(base, b);
		EXPECT_EQ(0x1000, size);
		ASSERT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
		old = 0xdead;
		EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
			  NtProtectVirtualMemory(CUR, &b, &size, PAGE_READWRITE, &old));
		EXPECT_EQ(PAGE_NOACCESS, old);
	}
}

/* ---- MemoryRegionInformation (spec 3.9) ---- */

TEST_F(api, region_information)
{
	MEMORY_REGION_INFORMATION r;
	PVOID base = NULL, c;
	SIZE_T len, size = 0x10000;
	char *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, size, MEM_RESERVE, PAGE_READWRITE));
	p = base;

	/* The length rule: up to RegionSize is short, CommitSize on is enough. */
	memset(&r, 0x11, sizeof(r));
	len = 0xdead;
	EXPECT_EQ(STATUS_INFO_LENGTH_MISMATCH,
		  NtQueryVirtualMemory(CUR, p, MemoryRegionInformation, &r,
				       offsetof(MEMORY_REGION_INFORMATION, RegionSize), &len));
	EXPECT_EQ(0xdead, len);
	EXPECT_EQ(0x1111111111111111ULL, U(r.AllocationBase));
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQueryVirtualMemory(CUR, p, MemoryRegionInformation, &r,
				       offsetof(MEMORY_REGION_INFORMATION, CommitSize), &len));
	EXPECT_EQ(p, r.AllocationBase);
	EXPECT_EQ(0x10000, r.RegionSize);
	EXPECT_EQ(0x1111111111111111ULL, r.CommitSize);
	EXPECT_EQ(sizeof(r), len);
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQueryVirtualMemory(CUR, p, MemoryRegionInformation, &r,
				       offsetof(MEMORY_REGION_INFORMATION, PartitionId), &len));
	EXPECT_EQ(0, r.CommitSize);

	/* A reservation: type flags all 0 in the plain class. */
	memset(&r, 0x11, sizeof(r));
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQueryVirtualMemory(CUR, p, MemoryRegionInformation, &r, sizeof(r), &len));
	EXPECT_EQ(p, r.AllocationBase);
	EXPECT_EQ(PAGE_READWRITE, r.AllocationProtect);
	EXPECT_EQ(0, r.RegionType);
	EXPECT_EQ(0x10000, r.RegionSize);
	EXPECT_EQ(0, r.CommitSize);

	/* Partly committed: the whole allocation, from any address in it. */
	c = p + 0x3000;
	size = 0x2000;
	ASSERT_EQ(STATUS_SUCCESS, NtAllocateVirtualMemory(CUR, &c, 0, &size, MEM_COMMIT,
							  PAGE_READONLY));
	memset(&r, 0x11, sizeof(r));
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQueryVirtualMemory(CUR, p + 0x5123, MemoryRegionInformation, &r,
				       sizeof(r), NULL));
	EXPECT_EQ(p, r.AllocationBase);
	EXPECT_EQ(PAGE_READWRITE, r.AllocationProtect);
	EXPECT_EQ(0x10000, r.RegionSize);
	EXPECT_EQ(0x2000, r.CommitSize);
	EXPECT_EQ(0xb000, q(p + 0x5123).RegionSize);

	/* The Ex class says what kind of memory it is. */
	memset(&r, 0, sizeof(r));
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQueryVirtualMemory(CUR, p, MemoryRegionInformationEx, &r, sizeof(r),
				       NULL));
	EXPECT_EQ(1, (int)r.Private);
	EXPECT_EQ(0, (int)r.MappedDataFile);
	EXPECT_EQ(0x2000, r.CommitSize);

	/* Errors: outputs untouched. */
	memset(&r, 0xcc, sizeof(r));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, p, MemoryRegionInformation, NULL, sizeof(r), &len));
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtQueryVirtualMemory(CUR, P(MAX_ADDR + 1 + 0x100000000000ULL),
				       MemoryRegionInformation, &r, sizeof(r), &len));
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtQueryVirtualMemory(NULL, p, MemoryRegionInformation, &r, sizeof(r), &len));
	EXPECT_EQ(STATUS_INVALID_INFO_CLASS,
		  NtQueryVirtualMemory(CUR, p, (MEMORY_INFORMATION_CLASS)9, &r, sizeof(r), &len));
	EXPECT_EQ(0xccccccccU, r.AllocationProtect);

	/* A free address: STATUS_INVALID_ADDRESS, buffer untouched. */
	ASSERT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	len = 0xdead;
	EXPECT_EQ(STATUS_INVALID_ADDRESS,
		  NtQueryVirtualMemory(CUR, p, MemoryRegionInformation, &r, sizeof(r), &len));
	EXPECT_EQ(0xccccccccccccccccULL, U(r.AllocationBase));
	EXPECT_EQ(0xccccccccU, r.AllocationProtect);
	EXPECT_EQ(0xdead, len);
}

TEST_F(api, region_information_win32)
{
	WIN32_MEMORY_REGION_INFORMATION r;
	PVOID base = NULL;
	SIZE_T len = 0;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x20000, MEM_RESERVE | MEM_COMMIT,
					   PAGE_EXECUTE_READ));
	memset(&r, 0x11, sizeof(r));
	ASSERT_TRUE(QueryVirtualMemoryInformation(GetCurrentProcess(), (char *)base + 0x10000,
						  MemoryRegionInfo, &r, sizeof(r), &len));
	EXPECT_EQ(sizeof(r), len);
	EXPECT_EQ(base, r.AllocationBase);
	EXPECT_EQ(PAGE_EXECUTE_READ, r.AllocationProtect);
	EXPECT_EQ(1, (int)r.Private);
	EXPECT_EQ(0x20000, r.RegionSize);
	EXPECT_EQ(0x20000, r.CommitSize);

	EXPECT_WIN32_ERROR(ERROR_INVALID_HANDLE,
			   QueryVirtualMemoryInformation(NULL, base, MemoryRegionInfo, &r,
							 sizeof(r), &len));
	EXPECT_WIN32_ERROR(ERROR_BAD_LENGTH,
			   QueryVirtualMemoryInformation(GetCurrentProcess(), base,
							 MemoryRegionInfo, &r, 8, &len));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS,
			   QueryVirtualMemoryInformation(GetCurrentProcess(), base,
							 MemoryRegionInfo, &r, sizeof(r), &len));
}

/*
 * The buffers and ReturnLength of the classes libntvm fills are probed as
 * NT probes them (NTVM_MEMCTL_PROBE), in MemoryBasicInformation's order:
 * the length, the buffer (every page of the length given), ReturnLength,
 * the address, the handle.  A failed call writes nothing.
 */
TEST_F(api, query_classes_bad_pointers)
{
	const SIZE_T rlen = sizeof(MEMORY_REGION_INFORMATION);
	const SIZE_T wlen = sizeof(MEMORY_WORKING_SET_EX_INFORMATION);
	MEMORY_WORKING_SET_EX_INFORMATION ws1 = { 0 };
	MEMORY_REGION_INFORMATION r;
	unsigned char *two = rw_then_ro_pages(), *ro, *at;
	SIZE_T len = 7, *ro_len;
	PVOID base = NULL;

	ASSERT_NE(NULL, two);
	ro = two + 4096;
	ro_len = (SIZE_T *)ro;
	memset(two, 0xa5, 4096);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_READWRITE));

	/* MemoryRegionInformation: the length, then the buffer... */
	EXPECT_EQ(STATUS_INFO_LENGTH_MISMATCH,
		  NtQueryVirtualMemory(CUR, base, MemoryRegionInformation, P(8), 8, &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, base, MemoryRegionInformation, P(8), rlen, &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, base, MemoryRegionInformation, ro, rlen, &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, base, MemoryRegionInformationEx, ro - 16, rlen,
				       &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, base, MemoryRegionInformation, two, 4096 + 1, &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, base, MemoryRegionInformation, two, 0x40000000,
				       &len));
	/* ...then ReturnLength... */
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, base, MemoryRegionInformation, ro - rlen, rlen,
				       (SIZE_T *)P(8)));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, base, MemoryRegionInformation, ro - rlen, rlen,
				       ro_len));
	/* ...before the address and the handle, the address first. */
	EXPECT_QUERY_ORDER(MemoryRegionInformation, base, MAX_ADDR + 1, ro - rlen, ro, rlen,
			   &len);
	EXPECT_WIN32_ERROR(ERROR_NOACCESS,
			   QueryVirtualMemoryInformation(GetCurrentProcess(), base,
							 MemoryRegionInfo, ro,
							 sizeof(WIN32_MEMORY_REGION_INFORMATION),
							 &len));
	EXPECT_WIN32_ERROR(ERROR_NOACCESS,
			   QueryVirtualMemoryInformation(GetCurrentProcess(), base,
							 MemoryRegionInfo, two,
							 sizeof(WIN32_MEMORY_REGION_INFORMATION),
							 ro_len));

	/* MemoryWorkingSetExInformation: the same checks in the same order. */
	EXPECT_EQ(STATUS_INFO_LENGTH_MISMATCH,
		  NtQueryVirtualMemory(CUR, NULL, MemoryWorkingSetExInformation, P(8),
				       wlen - 1, &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, NULL, MemoryWorkingSetExInformation, P(8), wlen,
				       &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, NULL, MemoryWorkingSetExInformation, ro, wlen,
				       &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, NULL, MemoryWorkingSetExInformation, ro - wlen,
				       2 * wlen, &len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, NULL, MemoryWorkingSetExInformation, &ws1, wlen,
				       ro_len));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(NULL, P(MAX_ADDR + 1), MemoryWorkingSetExInformation,
				       ro, wlen, &len));
	EXPECT_QUERY_ORDER(MemoryWorkingSetExInformation, NULL, MAX_ADDR + 1, &ws1, ro, wlen,
			   &len);
	EXPECT_WIN32_ERROR(ERROR_NOACCESS, QueryWorkingSetEx(GetCurrentProcess(), ro, (DWORD)wlen));
	EXPECT_EQ(0, ws1.VirtualAttributes.Flags);
	EXPECT_EQ(7, len);
	for (at = two; at < ro; at++)
		ASSERT_EQ(0xa5, *at);

	/* The outputs that pass the probes are written as before. */
	memset(&r, 0xcc, sizeof(r));
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQueryVirtualMemory(CUR, base, MemoryRegionInformation, &r, rlen, &len));
	EXPECT_EQ(base, r.AllocationBase);
	EXPECT_EQ(rlen, len);
	ASSERT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	munmap(two, 2 * 4096);
}

/* ---- MemoryWorkingSetExInformation (Wine's psapi test_QueryWorkingSetEx) ---- */

TEST_F(api, working_set_ex)
{
	MEMORY_WORKING_SET_EX_INFORMATION info[4];
	PVOID base = NULL, base2 = NULL;
	SIZE_T size;
	DWORD old;
	char *addr, *addr2;

	size = 0xdeadbeef;
	memset(info, 0, sizeof(info));
	EXPECT_EQ(STATUS_INFO_LENGTH_MISMATCH,
		  NtQueryVirtualMemory(CUR, NULL, MemoryWorkingSetExInformation, info, 0, &size));
	EXPECT_EQ(0xdeadbeef, size);
	EXPECT_WIN32_ERROR(ERROR_BAD_LENGTH, QueryWorkingSetEx(GetCurrentProcess(), info, 0));

	/* One and a half entries: one is filled, ReturnLength is the length. */
	memset(info, 0, sizeof(info));
	info[1].VirtualAttributes.Flags = 0x5555;
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQueryVirtualMemory(CUR, NULL, MemoryWorkingSetExInformation, info,
				       sizeof(*info) + sizeof(*info) / 2, &size));
	EXPECT_EQ(0, (int)info[0].VirtualAttributes.Valid);
	EXPECT_EQ(sizeof(*info) + sizeof(*info) / 2, size);
	EXPECT_EQ(0x5555, info[1].VirtualAttributes.Flags);
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtQueryVirtualMemory(CUR, NULL, MemoryWorkingSetExInformation, NULL,
				       sizeof(*info), &size));

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x2000, MEM_COMMIT | MEM_RESERVE,
					   PAGE_READWRITE));
	addr = base;
	EXPECT_WS(ws(addr), 0, 0, 0, 0);
	(void)*(volatile char *)addr;
	EXPECT_WS(ws(addr), 1, PAGE_READWRITE, 0, 0);
	*(volatile char *)addr = 0x42;
	EXPECT_WS(ws(addr), 1, PAGE_READWRITE, 0, 0);
	ASSERT_TRUE(VirtualProtect(addr, 0x1000, PAGE_NOACCESS, &old));
	EXPECT_WS(ws(addr), 0, 0, 0, 0);
	ASSERT_TRUE(VirtualProtect(addr, 0x1000, old, &old));
	(void)*(volatile char *)addr;
	EXPECT_WS(ws(addr), 1, PAGE_READWRITE, 0, 0);
	ASSERT_TRUE(VirtualProtect(addr, 0x1000, PAGE_READONLY, &old));
	EXPECT_WS(ws(addr), 1, PAGE_READONLY, 0, 0);
	ASSERT_TRUE(VirtualProtect(addr, 0x1000, PAGE_READWRITE, &old));

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base2, 0x2000, MEM_COMMIT | MEM_RESERVE,
					   PAGE_READWRITE));
	addr2 = base2;
	*(addr2 + 0x1000) = 1;
	info[1].VirtualAddress = addr;
	info[0].VirtualAddress = addr + 0x1000;
	info[3].VirtualAddress = addr2;
	info[2].VirtualAddress = addr2 + 0x1000;
	ASSERT_TRUE(QueryWorkingSetEx(GetCurrentProcess(), info, sizeof(info)));
	EXPECT_WS(info[1].VirtualAttributes, 1, PAGE_READWRITE, 0, 0);
	EXPECT_WS(info[0].VirtualAttributes, 0, 0, 0, 0);
	EXPECT_WS(info[3].VirtualAttributes, 0, 0, 0, 0);
	EXPECT_WS(info[2].VirtualAttributes, 1, PAGE_READWRITE, 0, 0);

	ASSERT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	EXPECT_WS(ws(addr), 0, 0, 0, 0);
	ASSERT_TRUE(QueryWorkingSetEx(GetCurrentProcess(), info, sizeof(info)));
	EXPECT_WS(info[1].VirtualAttributes, 0, 0, 0, 0);
	EXPECT_WS(info[0].VirtualAttributes, 0, 0, 0, 0);
	EXPECT_WS(info[3].VirtualAttributes, 0, 0, 0, 0);
	EXPECT_WS(info[2].VirtualAttributes, 1, PAGE_READWRITE, 0, 0);
	ASSERT_EQ(STATUS_SUCCESS, nt_free(base2, 0, MEM_RELEASE));
	ASSERT_TRUE(QueryWorkingSetEx(GetCurrentProcess(), info, sizeof(info)));
	EXPECT_WS(info[2].VirtualAttributes, 0, 0, 0, 0);

	/* Reserved, guard and out-of-range addresses are never valid. */
	base = NULL;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_READWRITE));
	addr = base;
	EXPECT_WS(ws(addr), 0, 0, 0, 0);
	ASSERT_EQ(addr, VirtualAlloc(addr, 0x1000, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD));
	EXPECT_WS(ws(addr), 0, 0, 0, 0);
	EXPECT_WS(ws(P(MAX_ADDR + 1)), 0, 0, 0, 0);
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  NtQueryVirtualMemory(CUR, P(MAX_ADDR + 1), MemoryWorkingSetExInformation,
				       info, sizeof(info), &size));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* Shared memory ntvm did not allocate: Shared, with a ShareCount. */
TEST_F(api, working_set_shared)
{
	char *m = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, m);
	m[0] = 1;
	EXPECT_WS(ws(m), 1, PAGE_READWRITE, 1, 0);
	EXPECT_WS(ws(m + 0x1000), 0, 0, 0, 0);
	munmap(m, 0x2000);
}

/*
 * Private memory that maps the huge zero page (a read of an untouched,
 * 2 MiB-aligned page under transparent huge pages), which pagemap shows
 * as a file page: valid, never Shared (psapi's "valloc,read" case).  It
 * reported Shared with a ShareCount of 2.
 */
TEST_F(api, working_set_huge_zero_page)
{
	const size_t huge = 2UL << 20;
	PVOID base = NULL;
	uint64_t e = 0;
	char *p;
	int fd;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 2 * huge, MEM_COMMIT | MEM_RESERVE,
					   PAGE_READWRITE));
	p = (char *)(((uintptr_t)base + huge - 1) & ~(uintptr_t)(huge - 1));
	madvise(p, huge, MADV_HUGEPAGE);
	(void)*(volatile char *)p;
	(void)*(volatile char *)(p + 0x1000);
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd >= 0) {
		if (pread(fd, &e, sizeof(e), (uintptr_t)p / 0x1000 * sizeof(e)) != sizeof(e))
			e = 0;
		close(fd);
	}
	TH_LOG("huge zero page mapped: %s", (e >> 61) & 1 ? "yes" : "no");
	EXPECT_WS(ws(p), 1, PAGE_READWRITE, 0, 0);
	EXPECT_WS(ws(p + 0x1000), 1, PAGE_READWRITE, 0, 0);
	ASSERT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* ---- VirtualLock / NtLockVirtualMemory ---- */

TEST_F(api, lock_unlock)
{
	PVOID base = NULL, b;
	SIZE_T size;
	char *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_READWRITE));
	p = base;
	ASSERT_EQ(p, VirtualAlloc(p, 0x4000, MEM_COMMIT, PAGE_READWRITE));
	memset(p, 7, 0x4000);

	ASSERT_TRUE(VirtualLock(p, 0x2000));
	EXPECT_WS(ws(p), 1, PAGE_READWRITE, 0, 1);
	EXPECT_WS(ws(p + 0x1000), 1, PAGE_READWRITE, 0, 1);
	EXPECT_WS(ws(p + 0x2000), 1, PAGE_READWRITE, 0, 0);

	/* Rounded outputs; a page already locked: STATUS_WAS_LOCKED. */
	b = p + 0x1fff;
	size = 2;
	EXPECT_EQ(STATUS_WAS_LOCKED, NtLockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	EXPECT_EQ(p + 0x1000, b);
	EXPECT_EQ(0x2000, size);
	EXPECT_WS(ws(p + 0x2000), 1, PAGE_READWRITE, 0, 1);
	EXPECT_TRUE(VirtualLock(p, 0x1000));	/* informational: TRUE */

	/* Unlocking pages not all locked: STATUS_NOT_LOCKED, nothing changes. */
	b = p;
	size = 0x4000;
	EXPECT_EQ(STATUS_NOT_LOCKED, NtUnlockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	EXPECT_EQ(p, b);
	EXPECT_EQ(0x4000, size);
	EXPECT_WS(ws(p), 1, PAGE_READWRITE, 0, 1);
	EXPECT_WS(ws(p + 0x2000), 1, PAGE_READWRITE, 0, 1);
	b = p + 0x800;
	size = 0x1000;
	EXPECT_EQ(STATUS_SUCCESS, NtUnlockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	EXPECT_EQ(p, b);
	EXPECT_EQ(0x2000, size);
	EXPECT_WS(ws(p), 1, PAGE_READWRITE, 0, 0);
	EXPECT_WS(ws(p + 0x2000), 1, PAGE_READWRITE, 0, 1);
	EXPECT_WIN32_ERROR(ERROR_NOT_LOCKED, VirtualUnlock(p, 0x1000));
	EXPECT_TRUE(VirtualUnlock(p + 0x2000, 0x1000));
	EXPECT_WS(ws(p + 0x2000), 1, PAGE_READWRITE, 0, 0);

	/* Uncommitted pages: STATUS_NOT_COMMITTED, nothing locked. */
	b = p + 0x3000;
	size = 0x2000;
	EXPECT_EQ(STATUS_NOT_COMMITTED, NtLockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	EXPECT_EQ(p + 0x3000, b);
	EXPECT_EQ(0x2000, size);
	EXPECT_WS(ws(p + 0x3000), 1, PAGE_READWRITE, 0, 0);
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS, VirtualLock(p + 0x8000, 0x1000));
	EXPECT_WIN32_ERROR(ERROR_INVALID_ADDRESS, VirtualUnlock(p + 0x8000, 0x1000));

	/* Parameters. */
	b = p;
	size = 0x1000;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtLockVirtualMemory(CUR, &b, &size, 0));
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtLockVirtualMemory(CUR, &b, &size, 4));
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtUnlockVirtualMemory(CUR, &b, &size, 0));
	EXPECT_EQ(STATUS_INVALID_HANDLE, NtLockVirtualMemory(NULL, &b, &size, MAP_PROCESS));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtLockVirtualMemory(CUR, NULL, &size, MAP_PROCESS));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtLockVirtualMemory(CUR, &b, NULL, MAP_PROCESS));
	size = 0;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtLockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	b = P(MAX_ADDR);
	size = 0x2000;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtLockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	EXPECT_WS(ws(p), 1, PAGE_READWRITE, 0, 0);

	/* MAP_SYSTEM needs the lock privilege: CAP_IPC_LOCK. */
	b = p;
	size = 0x1000;
	if (has_ipc_lock()) {
		EXPECT_EQ(STATUS_SUCCESS,
			  NtLockVirtualMemory(CUR, &b, &size, MAP_SYSTEM | MAP_PROCESS));
		EXPECT_WS(ws(p), 1, PAGE_READWRITE, 0, 1);
		EXPECT_EQ(STATUS_SUCCESS, NtUnlockVirtualMemory(CUR, &b, &size, MAP_SYSTEM));
	} else {
		EXPECT_EQ(STATUS_PRIVILEGE_NOT_HELD,
			  NtLockVirtualMemory(CUR, &b, &size, MAP_SYSTEM));
	}
	EXPECT_WS(ws(p), 1, PAGE_READWRITE, 0, 0);

	/* PAGE_NOACCESS pages cannot be touched: STATUS_ACCESS_VIOLATION. */
	ASSERT_TRUE(VirtualProtect(p + 0x1000, 0x1000, PAGE_NOACCESS, &(DWORD){0}));
	b = p;
	size = 0x2000;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtLockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	EXPECT_WS(ws(p), 1, PAGE_READWRITE, 0, 0);

	/* Decommitted, the pages lose their lock. */
	ASSERT_TRUE(VirtualLock(p + 0x2000, 0x2000));
	ASSERT_TRUE(VirtualFree(p + 0x2000, 0x2000, MEM_DECOMMIT));
	ASSERT_EQ(p + 0x2000, VirtualAlloc(p + 0x2000, 0x2000, MEM_COMMIT, PAGE_READWRITE));
	p[0x2000] = 1;
	EXPECT_WS(ws(p + 0x2000), 1, PAGE_READWRITE, 0, 0);
	EXPECT_EQ(7, p[0]);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/*
 * Bad BaseAddress and RegionSize variables (NULL, wild, read-only):
 * STATUS_ACCESS_VIOLATION after the MapType checks and before the range
 * and the process handle, as NT probes them; nothing is locked or
 * unlocked and the variables stay as they were.
 */
TEST_F(api, lock_bad_pointers)
{
	void *wild = P(8);
	PVOID base = NULL, b, *ro;
	SIZE_T size;
	char *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE | MEM_COMMIT,
					   PAGE_READWRITE));
	p = base;
	memset(p, 7, 0x2000);
	ro = ro_variables(p, 0x1000);
	ASSERT_NE(NULL, ro);

	b = p;
	size = 0x1000;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtLockVirtualMemory(CUR, wild, &size, MAP_PROCESS));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtLockVirtualMemory(CUR, &b, wild, MAP_PROCESS));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtLockVirtualMemory(CUR, ro, &size, MAP_PROCESS));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtLockVirtualMemory(CUR, &b, (SIZE_T *)ro + 1, MAP_PROCESS));
	EXPECT_EQ(0, (int)ws(p).Locked);
	EXPECT_EQ(p, ro[0]);
	EXPECT_EQ(0x1000, ((SIZE_T *)ro)[1]);

	/* NT's order: MapType, the variables, the range, the handle. */
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtLockVirtualMemory(NULL, wild, &size, 0));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtLockVirtualMemory(NULL, wild, &size, MAP_PROCESS));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtUnlockVirtualMemory(NULL, &b, NULL, MAP_PROCESS));
	size = 0;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, NtLockVirtualMemory(NULL, &b, &size, MAP_PROCESS));
	size = 0x1000;
	EXPECT_EQ(STATUS_INVALID_HANDLE, NtLockVirtualMemory(NULL, &b, &size, MAP_PROCESS));
	EXPECT_EQ(p, b);
	EXPECT_EQ(0x1000, size);
	EXPECT_EQ(0, (int)ws(p).Locked);

	/* Unlock: the lock stays. */
	ASSERT_EQ(STATUS_SUCCESS, NtLockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	EXPECT_EQ(1, (int)ws(p).Locked);
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtUnlockVirtualMemory(CUR, wild, &size, MAP_PROCESS));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtUnlockVirtualMemory(CUR, ro, &size, MAP_PROCESS));
	EXPECT_EQ(STATUS_INVALID_HANDLE, NtUnlockVirtualMemory(NULL, &b, &size, MAP_PROCESS));
	EXPECT_EQ(1, (int)ws(p).Locked);
	b = p + 0x10;
	size = 0xff0;
	ASSERT_EQ(STATUS_SUCCESS, NtUnlockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	EXPECT_EQ(p, b);
	EXPECT_EQ(0x1000, size);
	EXPECT_EQ(0, (int)ws(p).Locked);
	EXPECT_EQ(7, p[0x1fff]);
	munmap(ro, 4096);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* Memory ntvm did not allocate is committed memory: it can be locked. */
TEST_F(api, lock_foreign_memory)
{
	char stackbuf[64];
	char *heap = malloc(0x3000);
	char *none = mmap(NULL, 0x1000, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *hole = mmap(NULL, 0x2000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	PVOID b;
	SIZE_T size;

	ASSERT_NE(NULL, heap);
	ASSERT_NE(MAP_FAILED, none);
	ASSERT_NE(MAP_FAILED, hole);
	memset(stackbuf, 1, sizeof(stackbuf));
	memset(heap, 1, 0x3000);
	EXPECT_TRUE(VirtualLock(stackbuf, sizeof(stackbuf)));
	EXPECT_EQ(1, (int)ws(stackbuf).Locked);
	EXPECT_TRUE(VirtualUnlock(stackbuf, sizeof(stackbuf)));
	EXPECT_EQ(0, (int)ws(stackbuf).Locked);
	EXPECT_TRUE(VirtualLock(heap + 0x1000, 0x1000));
	EXPECT_EQ(1, (int)ws(heap + 0x1000).Locked);
	EXPECT_TRUE(VirtualUnlock(heap + 0x1000, 0x1000));
	b = none;
	size = 0x1000;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, NtLockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	munmap(hole + 0x1000, 0x1000);
	b = hole;
	size = 0x2000;
	EXPECT_EQ(STATUS_NOT_COMMITTED, NtLockVirtualMemory(CUR, &b, &size, MAP_PROCESS));
	EXPECT_EQ(0, (int)ws(hole).Locked);
	munmap(none, 0x1000);
	munmap(hole, 0x1000);
	free(heap);
}

/* spec 4.7: VirtualLock on an armed guard page fails once and disarms it. */
TEST_F(api, lock_guard_page)
{
	PVOID base = NULL;
	DWORD old;
	int32_t *value;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x1000, MEM_RESERVE | MEM_COMMIT,
					   PAGE_READWRITE | PAGE_GUARD));
	value = base;
	ASSERT_TRUE(VirtualProtect(base, 0x1000, PAGE_READWRITE, &old));
	EXPECT_EQ(PAGE_READWRITE | PAGE_GUARD, old);
	value[0] = 1;
	ASSERT_TRUE(VirtualProtect(base, 0x1000, PAGE_READWRITE | PAGE_GUARD, &old));
	EXPECT_EQ(PAGE_READWRITE, old);

	SetLastError(0xdeadbeef);
	EXPECT_FALSE(VirtualLock(base, 0x1000));
	EXPECT_EQ((DWORD)STATUS_GUARD_PAGE_VIOLATION, GetLastError());
	EXPECT_EQ(PAGE_READWRITE, q(base).Protect);
	EXPECT_EQ(0, (int)ws(base).Locked);
	ASSERT_TRUE(VirtualLock(base, 0x1000));
	EXPECT_EQ(1, value[0]);
	EXPECT_WS(ws(base), 1, PAGE_READWRITE, 0, 1);
	EXPECT_TRUE(VirtualUnlock(base, 0x1000));
	EXPECT_EQ(PAGE_READWRITE, q(base).Protect);
	EXPECT_EQ(PAGE_READWRITE | PAGE_GUARD, q(base).AllocationProtect);
	ASSERT_TRUE(VirtualProtect(base, 0x1000, PAGE_READWRITE | PAGE_GUARD, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* spec 5.12: a VirtualLock that fails on a guard page marks nothing. */
TEST_F(api, lock_guard_write_watch)
{
	char *base;
	PVOID res[4];
	ULONG_PTR count = 4;
	ULONG gran;

	if (ntvm_write_watch_mode() == NTVM_WRITE_WATCH_NONE)
		SKIP(return, "no write-watch mechanism on this kernel");
	base = VirtualAlloc(NULL, 0x1000, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
			    PAGE_READWRITE | PAGE_GUARD);
	ASSERT_NE(NULL, base);
	SetLastError(0);
	EXPECT_FALSE(VirtualLock(base, 0x1000));
	EXPECT_EQ((DWORD)STATUS_GUARD_PAGE_VIOLATION, GetLastError());
	ASSERT_EQ(0, GetWriteWatch(0, base, 0x1000, res, &count, &gran));
	EXPECT_EQ(0, count);
	/* A lock that succeeds does not write either. */
	EXPECT_TRUE(VirtualLock(base, 0x1000));
	EXPECT_EQ(1, (int)ws(base).Locked);
	count = 4;
	ASSERT_EQ(0, GetWriteWatch(0, base, 0x1000, res, &count, &gran));
	EXPECT_EQ(0, count);
	base[8] = 1;
	count = 4;
	ASSERT_EQ(0, GetWriteWatch(0, base, 0x1000, res, &count, &gran));
	EXPECT_EQ(1, count);
	EXPECT_TRUE(VirtualUnlock(base, 0x1000));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
}

/* spec 1.6.5: ZeroBits 0xffffffff with an explicit base (64-bit). */
TEST_F(api, zero_bits_mask_with_base)
{
	PVOID base = NULL, at;
	SIZE_T size = 0x10000;

	ASSERT_EQ(STATUS_SUCCESS, NtAllocateVirtualMemory(CUR, &base, 0, &size,
							  MEM_RESERVE | MEM_TOP_DOWN,
							  PAGE_READWRITE));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	at = base;
	EXPECT_EQ(STATUS_SUCCESS, NtAllocateVirtualMemory(CUR, &at, 0xffffffff, &size,
							  MEM_RESERVE | MEM_COMMIT,
							  PAGE_READWRITE));
	EXPECT_EQ(base, at);
	at = base;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  NtAllocateVirtualMemory(CUR, &at, 0xffffffff, &size, MEM_RESERVE,
					  PAGE_READWRITE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* The working-set quota is RLIMIT_MEMLOCK (without CAP_IPC_LOCK). */
TEST_F(api, lock_quota)
{
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (!pid) {
		struct rlimit rl = { 0x10000, 0x10000 };
		PVOID base = NULL, b;
		SIZE_T size;
		int bad = 0;

		if (drop_ipc_lock() || has_ipc_lock() || setrlimit(RLIMIT_MEMLOCK, &rl))
			_exit(10);
		if (nt_alloc(&base, 0x40000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE))
			_exit(11);
		memset(base, 1, 0x40000);
		b = base;
		size = 0x40000;
		if (NtLockVirtualMemory(CUR, &b, &size, MAP_PROCESS) != STATUS_WORKING_SET_QUOTA)
			bad |= 1;
		if (b != base || size != 0x40000)
			bad |= 2;
		if (ws(base).Locked || ws((char *)base + 0x3f000).Locked)
			bad |= 4;
		SetLastError(0);
		if (VirtualLock(base, 0x20000) || GetLastError() != ERROR_WORKING_SET_QUOTA)
			bad |= 8;
		if (!VirtualLock(base, 0x8000) || !ws(base).Locked)
			bad |= 16;
		/* Unprivileged: MAP_SYSTEM is refused whatever the quota. */
		b = base;
		size = 0x1000;
		if (NtLockVirtualMemory(CUR, &b, &size, MAP_SYSTEM) != STATUS_PRIVILEGE_NOT_HELD)
			bad |= 32;
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* ---- Write watch: the latch (spec 5.10, kernel32 test_write_watch) ---- */

/* GetWriteWatch of base's 16 pages as page numbers, "" when none. */
static const char *watched_pages(char *base, DWORD flags, ULONG_PTR cap)
{
	static char out[256];
	PVOID res[64];
	ULONG_PTR count = cap, i;
	ULONG gran;
	size_t len = 0;

	out[0] = 0;
	if (GetWriteWatch(flags, base, 16 * 0x1000, res, &count, &gran))
		return "error";
	for (i = 0; i < count; i++)
		len += snprintf(out + len, sizeof(out) - len, "%s%ld", i ? " " : "",
				(long)(((char *)res[i] - base) / 0x1000));
	return out;
}

TEST_F(api, write_watch_latch)
{
	const SIZE_T size = 16 * 0x1000, pg = 0x1000;
	DWORD old;
	char *base;

	if (ntvm_write_watch_mode() == NTVM_WRITE_WATCH_NONE)
		SKIP(return, "no write-watch mechanism on this kernel");
	base = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_NOACCESS);
	ASSERT_NE(NULL, base);
	ASSERT_EQ(base, VirtualAlloc(base, size, MEM_COMMIT, PAGE_NOACCESS));
	ASSERT_TRUE(VirtualProtect(base, 6 * pg, PAGE_READWRITE, &old));
	EXPECT_EQ(PAGE_NOACCESS, old);
	base[5 * pg + 200] = 3;
	ASSERT_TRUE(VirtualProtect(base, 6 * pg, PAGE_NOACCESS, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_STREQ("5", watched_pages(base, 0, 64));
	EXPECT_EQ(0, ResetWriteWatch(base, size));
	EXPECT_STREQ("", watched_pages(base, WRITE_WATCH_FLAG_RESET, 64));

	EXPECT_TRUE(VirtualFree(base + pg, pg, MEM_DECOMMIT));
	ASSERT_TRUE(VirtualProtect(base + 2 * pg, pg, PAGE_READWRITE, &old));
	EXPECT_EQ(PAGE_NOACCESS, old);
	EXPECT_STREQ("", watched_pages(base, WRITE_WATCH_FLAG_RESET, 64));
	base[2 * pg + 200] = 3;
	EXPECT_STREQ("2", watched_pages(base, WRITE_WATCH_FLAG_RESET, 64));

	/* Written after the last protect: a decommit clears them. */
	ASSERT_EQ(base, VirtualAlloc(base, size, MEM_COMMIT, PAGE_NOACCESS));
	ASSERT_TRUE(VirtualProtect(base, 6 * pg, PAGE_READWRITE, &old));
	EXPECT_EQ(PAGE_NOACCESS, old);
	base[3 * pg + 200] = 3;
	base[5 * pg + 200] = 3;
	EXPECT_TRUE(VirtualFree(base, size, MEM_DECOMMIT));
	EXPECT_STREQ("", watched_pages(base, 0, 64));
	ASSERT_EQ(base, VirtualAlloc(base, size, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_STREQ("", watched_pages(base, 0, 64));

	/* Written before a protect: latched through decommit and recommit. */
	base[3 * pg + 200] = 3;
	ASSERT_TRUE(VirtualProtect(base, 6 * pg, PAGE_READWRITE, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	base[5 * pg + 200] = 3;
	EXPECT_STREQ("3 5", watched_pages(base, 0, 64));
	EXPECT_TRUE(VirtualFree(base, size, MEM_DECOMMIT));
	EXPECT_STREQ("3", watched_pages(base, 0, 64));
	ASSERT_EQ(base, VirtualAlloc(base, size, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_STREQ("3", watched_pages(base, 0, 64));
	base[4 * pg + 200] = 4;
	base[2 * pg + 200] = 4;
	base[6 * pg + 200] = 4;
	EXPECT_STREQ("2 3 4 6", watched_pages(base, 0, 64));

	/* A reset with a short array resets only up to the last one given. */
	EXPECT_STREQ("2 3", watched_pages(base, WRITE_WATCH_FLAG_RESET, 2));
	EXPECT_STREQ("4 6", watched_pages(base, 0, 64));
	EXPECT_STREQ("4 6", watched_pages(base, WRITE_WATCH_FLAG_RESET, 64));
	EXPECT_STREQ("", watched_pages(base, 0, 64));
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
}

/* ---- Offer, reclaim, discard ---- */

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

TEST_F(api, offer_reclaim_discard)
{
	PVOID base = NULL;
	char *p;
	int i;

	ASSERT_EQ(0, pin_to_this_cpu());
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_READWRITE));
	p = base;
	ASSERT_EQ(p, VirtualAlloc(p, 0x4000, MEM_COMMIT, PAGE_READWRITE));
	for (i = 0; i < 4; i++)
		memset(p + i * 0x1000, 'a' + i, 0x1000);

	/* Offered and reclaimed with nothing taken: intact. */
	EXPECT_EQ(ERROR_SUCCESS, OfferVirtualMemory(p, 0x4000, VmOfferPriorityNormal));
	EXPECT_EQ(ERROR_SUCCESS, ReclaimVirtualMemory(p, 0x4000));
	for (i = 0; i < 4; i++)
		EXPECT_EQ('a' + i, p[i * 0x1000 + 9]);

	/* Offered, then the kernel takes pages: ERROR_BUSY, usable again. */
	EXPECT_EQ(ERROR_SUCCESS, OfferVirtualMemory(p, 0x4000, VmOfferPriorityVeryLow));
	ASSERT_EQ(0, madvise(p + 0x1000, 0x1000, MADV_PAGEOUT));
	EXPECT_EQ(ERROR_BUSY, ReclaimVirtualMemory(p, 0x4000));
	EXPECT_EQ(0, p[0x1000]);
	EXPECT_EQ('a', p[0]);
	p[0x1000] = 'z';
	EXPECT_EQ('z', p[0x1000]);
	EXPECT_EQ(MEM_COMMIT, q(p).State);
	EXPECT_EQ(0x4000, q(p).RegionSize);
	EXPECT_EQ(PAGE_READWRITE, q(p).Protect);

	/* Parameters. */
	EXPECT_EQ(ERROR_INVALID_PARAMETER, OfferVirtualMemory(p, 0x4000, (OFFER_PRIORITY)0));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, OfferVirtualMemory(p, 0x4000, (OFFER_PRIORITY)5));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, OfferVirtualMemory(p + 1, 0x1000,
							      VmOfferPriorityNormal));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, OfferVirtualMemory(p, 0x1001, VmOfferPriorityNormal));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, ReclaimVirtualMemory(p, 0));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, DiscardVirtualMemory(p + 0x10, 0x1000));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, OfferVirtualMemory(p + 0xf000, 0x2000,
							    VmOfferPriorityNormal));
	EXPECT_EQ('a', p[0]);

	/* Discarded: contents undefined, still committed and writable. */
	EXPECT_EQ(ERROR_SUCCESS, DiscardVirtualMemory(p, 0x4000));
	EXPECT_TRUE(p[0] == 'a' || p[0] == 0);
	p[0] = 'q';
	EXPECT_EQ('q', p[0]);
	EXPECT_EQ(MEM_COMMIT, q(p).State);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, DiscardVirtualMemory(p, 0x1000));
}

/* ---- Prefetch (Wine's ntdll test_prefetch) ---- */

/* NtSetInformationVirtualMemory(VmPrefetchInformation) of this process. */
static NTSTATUS prefetch(ULONG_PTR count, PVOID entries, PVOID info, ULONG length)
{
	return NtSetInformationVirtualMemory(CUR, VmPrefetchInformation, count,
					     entries, info, length);
}

TEST_F(api, prefetch)
{
	MEMORY_RANGE_ENTRY e[2], *last;
	WIN32_MEMORY_RANGE_ENTRY w;
	ULONG flags = 0, big[2] = { 0 };
	PVOID base = NULL;
	char *p, *tail;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x4000, MEM_RESERVE | MEM_COMMIT,
					   PAGE_READWRITE));
	p = base;
	e[0].VirtualAddress = p;
	e[0].NumberOfBytes = 0x1000;
	e[1].VirtualAddress = p + 0x2000;
	e[1].NumberOfBytes = 0x10;

	EXPECT_EQ(STATUS_INVALID_PARAMETER_5, prefetch(1, e, NULL, 0));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_5, prefetch(1, NULL, NULL, 0));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_5, prefetch(0, NULL, NULL, 0));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_6, prefetch(1, e, big, sizeof(big)));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_6, prefetch(0, NULL, big, sizeof(big)));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_6, prefetch(1, e, &flags, sizeof(flags) / 2));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_3, prefetch(0, NULL, &flags, sizeof(flags)));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, prefetch(1, NULL, &flags, sizeof(flags)));
	w.VirtualAddress = NULL;
	w.NumberOfBytes = 0;
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4, prefetch(1, &w, &flags, sizeof(flags)));
	w.NumberOfBytes = 0x1000;
	EXPECT_EQ(STATUS_SUCCESS, prefetch(1, &w, &flags, sizeof(flags)));
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtSetInformationVirtualMemory(NULL, VmPrefetchInformation, 1, e, &flags,
						sizeof(flags)));

	/*
	 * NT probes the block and the entries: a wild one is
	 * STATUS_ACCESS_VIOLATION where a NULL one is, the block first, the
	 * whole array before its entries' sizes.
	 */
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, prefetch(1, P(8), P(8), sizeof(flags)));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, prefetch(1, e, P(8), sizeof(flags)));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, prefetch(1, P(8), &flags, sizeof(flags)));
	tail = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, tail);
	ASSERT_EQ(0, munmap(tail + 4096, 4096));
	last = (MEMORY_RANGE_ENTRY *)(tail + 4096) - 1;
	last->VirtualAddress = p;
	last->NumberOfBytes = 0;
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4, prefetch(1, last, &flags, sizeof(flags)));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, prefetch(2, last, &flags, sizeof(flags)));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, prefetch(100, last - 60, &flags, sizeof(flags)));
	EXPECT_WIN32_ERROR(ERROR_NOACCESS,
			   PrefetchVirtualMemory(GetCurrentProcess(), 2,
						 (WIN32_MEMORY_RANGE_ENTRY *)last, 0));
	ASSERT_EQ(0, munmap(tail, 4096));
	EXPECT_WS(ws(p), 0, 0, 0, 0);

	/* Prefetched pages are in memory, and stay zero and unwritten. */
	EXPECT_TRUE(PrefetchVirtualMemory(GetCurrentProcess(), 2, e, 0));
	EXPECT_WS(ws(p), 1, PAGE_READWRITE, 0, 0);
	EXPECT_WS(ws(p + 0x2000), 1, PAGE_READWRITE, 0, 0);
	EXPECT_WS(ws(p + 0x1000), 0, 0, 0, 0);
	EXPECT_EQ(0, p[0]);
	EXPECT_WIN32_ERROR(ERROR_INVALID_HANDLE, PrefetchVirtualMemory(NULL, 2, e, 0));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/* ---- Caches, barriers, large pages ---- */

static volatile int bar_x, bar_y, bar_stop;
static volatile int bar_go, bar_done;
static int bar_r1;

/*
 * The asymmetric barrier FlushProcessWriteBuffers exists for: this thread
 * stores x, then loads y with only a compiler barrier; the main thread
 * stores y, calls FlushProcessWriteBuffers, loads x.  Both loads seeing 0
 * is forbidden when the call is a real process-wide barrier.
 */
static void *bar_thread(void *arg)
{
	int round = 0;

	(void)arg;
	while (!bar_stop) {
		while (bar_go == round && !bar_stop)
			sched_yield();
		if (bar_stop)
			break;
		round = bar_go;
		bar_x = 1;
		__asm__ __volatile__("" ::: "memory");
		bar_r1 = bar_y;
		__atomic_store_n(&bar_done, round, __ATOMIC_RELEASE);
	}
	return NULL;
}

TEST_F_TIMEOUT(api, caches_and_barriers, 1800)
{
	pthread_t t;
	int round, r2, forbidden = 0;
	SIZE_T lp;

	EXPECT_EQ(STATUS_SUCCESS, NtFlushInstructionCache(CUR, NULL, 0));
	EXPECT_EQ(STATUS_INVALID_HANDLE, NtFlushInstructionCache(NULL, NULL, 0));
	EXPECT_TRUE(FlushInstructionCache(GetCurrentProcess(), &t, sizeof(t)));
	EXPECT_WIN32_ERROR(ERROR_INVALID_HANDLE, FlushInstructionCache(P(0x1234), &t, sizeof(t)));
	EXPECT_EQ(STATUS_SUCCESS, NtFlushProcessWriteBuffers());

	ASSERT_EQ(0, pthread_create(&t, NULL, bar_thread, NULL));
	for (round = 1; round <= 300; round++) {
		bar_x = 0;
		bar_y = 0;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		bar_go = round;
		bar_y = 1;
		FlushProcessWriteBuffers();
		r2 = bar_x;
		while (__atomic_load_n(&bar_done, __ATOMIC_ACQUIRE) != round)
			sched_yield();
		if (!bar_r1 && !r2)
			forbidden++;
	}
	bar_stop = 1;
	pthread_join(t, NULL);
	EXPECT_EQ(0, forbidden);

	/* 0 (no large pages) or a power of two of at least 2 MiB. */
	lp = GetLargePageMinimum();
	EXPECT_EQ(lp, GetLargePageMinimum());
	if (lp) {
		EXPECT_EQ(0, lp & (lp - 1));
		EXPECT_LE(MB(2), lp);
	}
}

/* ---- MEM_LARGE_PAGES (spec 1.4.4) ---- */

/* Is transparent huge page support off ("[never]") or missing? */
static int thp_off(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");

	if (!f)
		return 1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return !!strstr(buf, "[never]");
}

TEST_F(api, large_pages)
{
	const SIZE_T lp = MB(2);
	MEMORY_REGION_INFORMATION r;
	struct ntvm_stats before = stats();
	PVOID base = NULL, at;
	SIZE_T size;
	char *p;
	NTSTATUS st;

	EXPECT_EQ(lp, GetLargePageMinimum() ? GetLargePageMinimum() : lp);
	/* Rules first, with or without the privilege. */
	EXPECT_EQ(STATUS_INVALID_PARAMETER_5,
		  nt_alloc(&base, lp, MEM_RESERVE | MEM_LARGE_PAGES, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_5,
		  nt_alloc(&base, lp, MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_5,
		  nt_alloc(&base, lp, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES |
			   MEM_WRITE_WATCH, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_alloc(&base, lp + 0x1000, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
			   PAGE_READWRITE));
	at = P(0x40010000);
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_alloc(&at, lp, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
			   PAGE_READWRITE));
	EXPECT_EQ(P(0x40010000), at);
	EXPECT_EQ(NULL, base);
	EXPECT_EQ(before.allocations, stats().allocations);

	size = 2 * lp;
	st = NtAllocateVirtualMemory(CUR, &base, 0, &size,
				     MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE);
	if (!has_ipc_lock()) {
		/* SeLockMemoryPrivilege is CAP_IPC_LOCK. */
		EXPECT_EQ(STATUS_PRIVILEGE_NOT_HELD, st);
		EXPECT_WIN32_ERROR(ERROR_PRIVILEGE_NOT_HELD,
				   VirtualAlloc(NULL, lp, MEM_RESERVE | MEM_COMMIT |
						MEM_LARGE_PAGES, PAGE_READWRITE));
		EXPECT_EQ(before.allocations, stats().allocations);
		return;
	}
	if (thp_off()) {
		EXPECT_EQ(STATUS_INSUFFICIENT_RESOURCES, st);
		EXPECT_EQ(NULL, base);
		EXPECT_EQ(before.allocations, stats().allocations);
		SKIP(return, "transparent huge pages are off");
	}
	ASSERT_EQ(STATUS_SUCCESS, st);
	p = base;
	EXPECT_EQ(0, U(p) % lp);
	EXPECT_EQ(2 * lp, size);
	EXPECT_EQ(MEM_COMMIT, q(p).State);
	EXPECT_EQ(PAGE_READWRITE, q(p).Protect);
	EXPECT_EQ(2 * lp, q(p).RegionSize);
	EXPECT_EQ(0, p[12345]);
	p[12345] = 1;
	/* Valid, locked, large; the Ex region says so too. */
	EXPECT_EQ(1, (int)ws(p + lp + 0x5000).Valid);
	EXPECT_EQ(1, (int)ws(p + lp + 0x5000).Locked);
	EXPECT_EQ(1, (int)ws(p + lp + 0x5000).LargePage);
	EXPECT_EQ(PAGE_READWRITE, (int)ws(p).Win32Protection);
	ASSERT_EQ(STATUS_SUCCESS,
		  NtQueryVirtualMemory(CUR, p, MemoryRegionInformationEx, &r, sizeof(r), NULL));
	EXPECT_EQ(1, (int)r.PageSizeLarge);
	EXPECT_EQ(2 * lp, r.CommitSize);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	EXPECT_EQ(before.allocations, stats().allocations);

	/* Read-only large pages: populated, zero, and not writable. */
	base = NULL;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, lp, MEM_RESERVE | MEM_COMMIT |
					   MEM_LARGE_PAGES, PAGE_READONLY));
	EXPECT_EQ(PAGE_READONLY, q(base).Protect);
	EXPECT_EQ(0, ((char *)base)[100]);
	EXPECT_EQ(1, (int)ws(base).LargePage);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));

	/* At an explicit, aligned base. */
	at = base;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&at, lp, MEM_RESERVE | MEM_COMMIT |
					   MEM_LARGE_PAGES, PAGE_READWRITE));
	EXPECT_EQ(base, at);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(at, 0, MEM_RELEASE));
}

/*
 * Large pages are never paged: NT neither locks nor unlocks them (the
 * WRK).  A lock that meets them fails with STATUS_INCOMPATIBLE_FILE_MAP
 * and locks nothing; an unlock stops where they begin, and they stay
 * locked.
 */
TEST_F(api, large_pages_stay_locked)
{
	const SIZE_T lp = MB(2);
	PVOID base = NULL, at, below;
	SIZE_T size = 3 * lp;
	char *p;

	if (!has_ipc_lock() || thp_off())
		SKIP(return, "no large pages here (CAP_IPC_LOCK, transparent huge pages)");
	/* Room for the large pages and 64K of plain memory just below. */
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, size, MEM_RESERVE, PAGE_NOACCESS));
	ASSERT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
	p = P((U(base) + 2 * lp - 1) / lp * lp);
	at = p;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&at, lp, MEM_RESERVE | MEM_COMMIT |
					   MEM_LARGE_PAGES, PAGE_READWRITE));
	below = p - 0x10000;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&below, 0x10000, MEM_RESERVE | MEM_COMMIT,
					   PAGE_READWRITE));
	p[0] = 1;
	p[-1] = 1;
	EXPECT_EQ(1, (int)ws(p).Locked);
	EXPECT_EQ(0, (int)ws(p - 1).Locked);

	/* A lock: refused, the variables as they were, nothing locked. */
	at = p + 0x123;
	size = 0x1000;
	EXPECT_EQ(STATUS_INCOMPATIBLE_FILE_MAP,
		  NtLockVirtualMemory(CUR, &at, &size, MAP_PROCESS));
	EXPECT_EQ(p + 0x123, at);
	EXPECT_EQ(0x1000, size);
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER, VirtualLock(p - 0x1000, 0x2000));
	EXPECT_EQ(0, (int)ws(p - 1).Locked);

	/* An unlock: the whole range reported, the large pages kept locked. */
	at = p + 0x123;
	size = 0x1000;
	EXPECT_EQ(STATUS_SUCCESS, NtUnlockVirtualMemory(CUR, &at, &size, MAP_PROCESS));
	EXPECT_EQ(p, at);
	EXPECT_EQ(0x2000, size);
	EXPECT_TRUE(VirtualUnlock(p, lp));
	EXPECT_EQ(1, (int)ws(p).Locked);
	EXPECT_EQ(1, (int)ws(p + lp - 1).Locked);
	/* The pages before them are unlocked, and must have been locked. */
	EXPECT_TRUE(VirtualLock(p - 0x1000, 0x1000));
	EXPECT_EQ(1, (int)ws(p - 1).Locked);
	at = p - 0x1000;
	size = 0x2000;
	EXPECT_EQ(STATUS_SUCCESS, NtUnlockVirtualMemory(CUR, &at, &size, MAP_PROCESS));
	EXPECT_EQ(p - 0x1000, at);
	EXPECT_EQ(0x2000, size);
	EXPECT_EQ(0, (int)ws(p - 1).Locked);
	EXPECT_EQ(1, (int)ws(p).Locked);
	EXPECT_EQ(STATUS_NOT_LOCKED, NtUnlockVirtualMemory(CUR, &at, &size, MAP_PROCESS));
	EXPECT_EQ(p - 0x1000, at);
	EXPECT_EQ(0x2000, size);
	EXPECT_EQ(1, (int)ws(p).Locked);

	EXPECT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_SUCCESS, nt_free(below, 0, MEM_RELEASE));
}

/* ---- The *Ex calls: the current process only ---- */

TEST_F(api, ex_handles)
{
	MEMORY_BASIC_INFORMATION m;
	DWORD old = 0xdead;
	char *p;

	EXPECT_EQ(NtCurrentProcess(), GetCurrentProcess());
	EXPECT_EQ(P(-1), GetCurrentProcess());

	p = VirtualAllocEx(GetCurrentProcess(), NULL, 0x10000, MEM_RESERVE | MEM_COMMIT,
			   PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	p[5] = 5;
	EXPECT_EQ(sizeof(m), VirtualQueryEx(GetCurrentProcess(), p, &m, sizeof(m)));
	EXPECT_EQ(MEM_COMMIT, m.State);
	EXPECT_TRUE(VirtualProtectEx(GetCurrentProcess(), p, 0x1000, PAGE_READONLY, &old));
	EXPECT_EQ(PAGE_READWRITE, old);

	/* Other handles (spec 1.3.2, 2.1): nothing happens. */
	EXPECT_WIN32_ERROR(ERROR_INVALID_HANDLE,
			   VirtualAllocEx(NULL, NULL, 0x1000, MEM_RESERVE | MEM_COMMIT,
					  PAGE_READWRITE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_HANDLE,
			   VirtualAllocEx(P(0x1234), NULL, 0x1000, MEM_RESERVE, PAGE_READWRITE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_HANDLE, VirtualFreeEx(NULL, p, 0, MEM_RELEASE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_HANDLE, VirtualFreeEx(NULL, p, 0x1000, MEM_RELEASE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_HANDLE, VirtualQueryEx(NULL, p, &m, sizeof(m)));
	SetLastError(0);
	old = 0xdead;
	EXPECT_FALSE(VirtualProtectEx(P(0x10), p, 0x1000, PAGE_READWRITE, &old));
	EXPECT_EQ(ERROR_INVALID_HANDLE, GetLastError());
	EXPECT_EQ(0xdead, old);
	EXPECT_EQ(PAGE_READONLY, q(p).Protect);
	EXPECT_EQ(5, p[5]);

	/* VirtualFreeEx keeps kernelbase's rule (spec 2.3). */
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   VirtualFreeEx(GetCurrentProcess(), p, 0x1000, MEM_RELEASE));
	EXPECT_TRUE(VirtualFreeEx(GetCurrentProcess(), p, 0, MEM_RELEASE));
	EXPECT_EQ(MEM_FREE, q(p).State);

	/* NUMA: node 0 and "no preference" exist; node 63 does not here. */
	p = VirtualAllocExNuma(GetCurrentProcess(), NULL, 0x1000, MEM_RESERVE | MEM_COMMIT,
			       PAGE_READWRITE, 0);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(VirtualFreeEx(GetCurrentProcess(), p, 0, MEM_RELEASE));
	p = VirtualAllocExNuma(GetCurrentProcess(), NULL, 0x1000, MEM_RESERVE,
			       PAGE_READWRITE, NUMA_NO_PREFERRED_NODE);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(VirtualFreeEx(GetCurrentProcess(), p, 0, MEM_RELEASE));
	EXPECT_WIN32_ERROR(ERROR_INVALID_PARAMETER,
			   VirtualAllocExNuma(GetCurrentProcess(), NULL, 0x1000, MEM_RESERVE,
					      PAGE_READWRITE, 63));
	EXPECT_WIN32_ERROR(ERROR_INVALID_HANDLE, VirtualAllocExNuma(NULL, NULL, 0x1000, MEM_RESERVE,
								    PAGE_READWRITE, 0));
}

/*
 * A wild extended-parameter array, or address requirements behind a wild
 * pointer, are STATUS_ACCESS_VIOLATION (ERROR_NOACCESS) and change
 * nothing, as NT's probe of them gives: libntvm reads them through the
 * kernel, not by dereferencing them.
 */
TEST_F(api, ext_params_bad_pointers)
{
	MEM_EXTENDED_PARAMETER ext = { 0 }, *ro;
	struct ntvm_stats before = stats();
	PVOID base = NULL;
	SIZE_T size = 0x10000;
	HANDLE h;

	ext.Type = MemExtendedParameterAddressRequirements;
	ext.Pointer = P(8);
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE,
					    P(8), 1));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtAllocateVirtualMemoryEx(CUR, &base, &size, MEM_RESERVE, PAGE_READWRITE,
					    &ext, 1));
	EXPECT_EQ(NULL, base);
	EXPECT_EQ(0x10000, size);
	EXPECT_EQ(NULL, VirtualAlloc2(NULL, NULL, 0x10000, MEM_RESERVE, PAGE_READWRITE,
				      P(8), 1));
	EXPECT_EQ(ERROR_NOACCESS, GetLastError());
	/* A read-only array is only read. */
	ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ro->Type = MemExtendedParameterNumaNode;
	ASSERT_EQ(0, mprotect(ro, 4096, PROT_READ));
	base = VirtualAlloc2(NULL, NULL, 0x10000, MEM_RESERVE, PAGE_READWRITE, ro, 1);
	EXPECT_NE(NULL, base);
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
	/* The first bad entry ends the walk, whatever the count says. */
	EXPECT_EQ(NULL, VirtualAlloc2(NULL, NULL, 0x10000, MEM_RESERVE, PAGE_READWRITE,
				      ro, 0xffffffff));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	munmap(ro, 4096);

	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000, NULL);
	ASSERT_NE(NULL, h);
	EXPECT_EQ(NULL, MapViewOfFile3(h, NULL, NULL, 0, 0x10000, 0, PAGE_READWRITE, P(8), 1));
	EXPECT_EQ(ERROR_NOACCESS, GetLastError());
	EXPECT_EQ(NULL, MapViewOfFile3(h, NULL, NULL, 0, 0x10000, 0, PAGE_READWRITE, &ext, 1));
	EXPECT_EQ(ERROR_NOACCESS, GetLastError());
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(before.allocations, stats().allocations);
	EXPECT_EQ(before.reserved_bytes, stats().reserved_bytes);
}

TEST_HARNESS_MAIN
