// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libntvm's Win32 layer, issue 11: kernelbase's functions for the calls of
 * memapi.c, and the *Ex functions for the current process.  An object of
 * its own, like win32.c, so that a program with a Win32 layer of its own
 * links libntvm.a for the NT functions only.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <unistd.h>

#include "ntvm.h"
#include "internal.h"

/*
 * RtlNtStatusToDosError for the statuses of these calls; the others as
 * ntapi.c's table.  STATUS_GUARD_PAGE_VIOLATION is its own "error": spec
 * 4.7, VirtualLock on a guard page leaves GetLastError() ==
 * STATUS_GUARD_PAGE_VIOLATION.
 */
static DWORD dos_error(NTSTATUS st)
{
	switch ((uint32_t)st) {
	case (uint32_t)STATUS_GUARD_PAGE_VIOLATION:
		return (DWORD)STATUS_GUARD_PAGE_VIOLATION;
	case (uint32_t)STATUS_NOT_LOCKED:
		return ERROR_NOT_LOCKED;
	case (uint32_t)STATUS_WORKING_SET_QUOTA:
		return ERROR_WORKING_SET_QUOTA;
	default:
		return RtlNtStatusToDosError(st);
	}
}

/* Informational statuses (STATUS_WAS_LOCKED) are successes. */
static BOOL result(NTSTATUS st)
{
	if (st < 0) {
		SetLastError(dos_error(st));
		return FALSE;
	}
	return TRUE;
}

static BOOL current(HANDLE process)
{
	if (process == GetCurrentProcess())
		return TRUE;
	SetLastError(ERROR_INVALID_HANDLE);
	return FALSE;
}

NTVM_EXPORT LPVOID VirtualAllocEx(HANDLE process, LPVOID address, SIZE_T size,
				  DWORD type, DWORD protect)
{
	PVOID base = address;

	if (!result(NtAllocateVirtualMemory(process, &base, 0, &size, type,
					    protect)))
		return NULL;
	return base;
}

/* The highest NUMA node number Linux reports online (0 without NUMA). */
static DWORD highest_node(void)
{
	FILE *f = fopen("/sys/devices/system/node/online", "re");
	char buf[256], *p;
	unsigned long n, hi = 0;

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f)) {
		for (p = buf; *p; p++) {
			if (*p < '0' || *p > '9')
				continue;
			n = strtoul(p, &p, 10);
			if (n > hi)
				hi = n;
			if (!*p)
				break;
		}
	}
	fclose(f);
	return hi;
}

/*
 * The preferred node is a hint (ntvm places no memory by node): a node
 * that does not exist is ERROR_INVALID_PARAMETER, as on Windows.
 */
NTVM_EXPORT LPVOID VirtualAllocExNuma(HANDLE process, LPVOID address,
				      SIZE_T size, DWORD type, DWORD protect,
				      DWORD node)
{
	if (node != NUMA_NO_PREFERRED_NODE && node > highest_node()) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	return VirtualAllocEx(process, address, size, type, protect);
}

NTVM_EXPORT BOOL VirtualFreeEx(HANDLE process, LPVOID address, SIZE_T size,
			       DWORD type)
{
	/*
	 * kernelbase's rule (spec 2.3), after the handle (spec 2.1): only
	 * MEM_RELEASE alone needs size 0, placeholder splits take one (6.3.4).
	 */
	if (!current(process))
		return FALSE;
	if (type == MEM_RELEASE && size) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return FALSE;
	}
	return result(NtFreeVirtualMemory(process, &address, &size, type));
}

NTVM_EXPORT SIZE_T VirtualQueryEx(HANDLE process, LPCVOID address,
				  PMEMORY_BASIC_INFORMATION info, SIZE_T length)
{
	SIZE_T ret = 0;

	if (!result(NtQueryVirtualMemory(process, address,
					 MemoryBasicInformation, info, length,
					 &ret)))
		return 0;
	return ret;
}

NTVM_EXPORT BOOL VirtualProtectEx(HANDLE process, LPVOID address, SIZE_T size,
				  DWORD new_protect, PDWORD old_protect)
{
	return result(NtProtectVirtualMemory(process, &address, &size,
					     new_protect, (PULONG)old_protect));
}

NTVM_EXPORT BOOL VirtualLock(LPVOID address, SIZE_T size)
{
	return result(NtLockVirtualMemory(GetCurrentProcess(), &address, &size,
					  MAP_PROCESS));
}

NTVM_EXPORT BOOL VirtualUnlock(LPVOID address, SIZE_T size)
{
	return result(NtUnlockVirtualMemory(GetCurrentProcess(), &address,
					    &size, MAP_PROCESS));
}

NTVM_EXPORT BOOL QueryWorkingSetEx(HANDLE process, PVOID info, DWORD length)
{
	return result(NtQueryVirtualMemory(process, NULL,
					   MemoryWorkingSetExInformation, info,
					   length, NULL));
}

/*
 * WIN32_MEMORY_REGION_INFORMATION is MEMORY_REGION_INFORMATION's first
 * fields; its flags are the Ex class's.
 */
NTVM_EXPORT BOOL QueryVirtualMemoryInformation(HANDLE process, LPCVOID address,
					       WIN32_MEMORY_INFORMATION_CLASS info_class,
					       PVOID info, SIZE_T length,
					       PSIZE_T result_length)
{
	MEMORY_REGION_INFORMATION r;
	SIZE_T len = 0, n;
	NTSTATUS st;

	if (info_class != MemoryRegionInfo) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return FALSE;
	}
	if (length < sizeof(WIN32_MEMORY_REGION_INFORMATION)) {
		SetLastError(ERROR_BAD_LENGTH);
		return FALSE;
	}
	/* The caller's outputs are probed where NT would probe them. */
	st = ntvm_probe_outputs(info, length, sizeof(ULONG_PTR), result_length);
	if (!st)
		st = NtQueryVirtualMemory(process, address,
					  MemoryRegionInformationEx, &r,
					  sizeof(r), &len);
	if (!result(st))
		return FALSE;
	n = sizeof(WIN32_MEMORY_REGION_INFORMATION);
	memcpy(info, &r, n);
	if (result_length)
		*result_length = n;
	return TRUE;
}

/* Page-aligned address and size, as the documentation requires. */
static BOOL page_aligned(const void *address, SIZE_T size)
{
	return !((uintptr_t)address & 0xfff) && size && !(size & 0xfff);
}

/*
 * DiscardVirtualMemory: the contents become undefined, the pages stay
 * committed: MEM_RESET (the module's lazy MADV_FREE).
 */
NTVM_EXPORT DWORD DiscardVirtualMemory(PVOID address, SIZE_T size)
{
	PVOID base = address;

	if (!page_aligned(address, size))
		return ERROR_INVALID_PARAMETER;
	return dos_error(NtAllocateVirtualMemory(GetCurrentProcess(), &base, 0,
						 &size, MEM_RESET,
						 PAGE_NOACCESS));
}

/*
 * OfferVirtualMemory: MEM_RESET, whose pages the kernel may take until
 * ReclaimVirtualMemory.  Linux has no discard priority per range: every
 * priority frees lazily; VeryLow and Low also move the pages to the
 * inactive list (MADV_COLD), so that they go first.
 */
#ifndef MADV_COLD
#define MADV_COLD 20
#endif

NTVM_EXPORT DWORD OfferVirtualMemory(PVOID address, SIZE_T size,
				     OFFER_PRIORITY priority)
{
	PVOID base = address;
	SIZE_T len = size;
	DWORD err;

	if (priority < VmOfferPriorityVeryLow || priority > VmOfferPriorityNormal ||
	    !page_aligned(address, size))
		return ERROR_INVALID_PARAMETER;
	err = dos_error(NtAllocateVirtualMemory(GetCurrentProcess(), &base, 0,
						&len, MEM_RESET, PAGE_NOACCESS));
	if (!err && priority <= VmOfferPriorityLow)
		madvise(base, len, MADV_COLD);
	return err;
}

/*
 * ReclaimVirtualMemory: MEM_RESET_UNDO.  ERROR_SUCCESS: the contents are
 * all there.  ERROR_BUSY: the memory is usable again but some contents
 * were discarded (read as zero), which the module reports honestly
 * (STATUS_UNSUCCESSFUL from MEM_RESET_UNDO, whose pages stay in either
 * case).
 */
NTVM_EXPORT DWORD ReclaimVirtualMemory(LPCVOID address, SIZE_T size)
{
	PVOID base = (PVOID)address;
	NTSTATUS st;

	if (!page_aligned(address, size))
		return ERROR_INVALID_PARAMETER;
	st = NtAllocateVirtualMemory(GetCurrentProcess(), &base, 0, &size,
				     MEM_RESET_UNDO, PAGE_NOACCESS);
	if (st == STATUS_UNSUCCESSFUL)
		return ERROR_BUSY;
	return dos_error(st);
}

NTVM_EXPORT BOOL PrefetchVirtualMemory(HANDLE process, ULONG_PTR count,
				       PWIN32_MEMORY_RANGE_ENTRY entries,
				       ULONG flags)
{
	return result(NtSetInformationVirtualMemory(process,
						    VmPrefetchInformation,
						    count, entries, &flags,
						    sizeof(flags)));
}

NTVM_EXPORT BOOL FlushInstructionCache(HANDLE process, LPCVOID base,
				       SIZE_T size)
{
	return result(NtFlushInstructionCache(process, base, size));
}

NTVM_EXPORT void FlushProcessWriteBuffers(void)
{
	NtFlushProcessWriteBuffers();
}

/*
 * The large-page size MEM_LARGE_PAGES would use: the PMD size of
 * transparent huge pages, else the default hugetlb size, else 0 (no large
 * pages), as Windows returns 0 where the processor has none.
 */
NTVM_EXPORT SIZE_T GetLargePageMinimum(void)
{
	static SIZE_T size = (SIZE_T)-1;
	unsigned long long v = 0;
	char line[128];
	FILE *f;

	if (size != (SIZE_T)-1)
		return size;
	f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "re");
	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	if (!v) {
		f = fopen("/proc/meminfo", "re");
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "Hugepagesize: %llu kB", &v) == 1) {
				v <<= 10;
				break;
			}
		if (f)
			fclose(f);
	}
	size = v;
	return size;
}
