// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libntvm's Win32 layer for placeholders, sections and views: kernelbase's
 * VirtualAlloc2, VirtualFreeEx and friends on top of the NT functions.
 * Like win32.c, an object of its own (see there).
 */
#include "ntvm.h"
#include "internal.h"

static BOOL win32_ok(NTSTATUS st)
{
	if (st) {
		SetLastError(RtlNtStatusToDosError(st));
		return FALSE;
	}
	return TRUE;
}

/* kernelbase's is_exec_prot(): the *FromApp functions refuse these. */
static int is_exec_prot(ULONG prot)
{
	return prot & (PAGE_EXECUTE | PAGE_EXECUTE_READ |
		       PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY);
}

NTVM_EXPORT PVOID VirtualAlloc2(HANDLE process, PVOID address, SIZE_T size,
				ULONG type, ULONG protect,
				MEM_EXTENDED_PARAMETER *params, ULONG count)
{
	PVOID base = address;

	/* A NULL process is the current one (spec 6.5.7). */
	if (!process)
		process = NtCurrentProcess();
	if (!win32_ok(NtAllocateVirtualMemoryEx(process, &base, &size, type,
						protect, params, count)))
		return NULL;
	return base;
}

NTVM_EXPORT PVOID VirtualAlloc2FromApp(HANDLE process, PVOID address,
				       SIZE_T size, ULONG type, ULONG protect,
				       MEM_EXTENDED_PARAMETER *params,
				       ULONG count)
{
	if (is_exec_prot(protect)) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	return VirtualAlloc2(process, address, size, type, protect, params,
			     count);
}

NTVM_EXPORT BOOL VirtualFreeEx(HANDLE process, LPVOID address, SIZE_T size,
			       DWORD type)
{
	/* Only MEM_RELEASE alone needs size 0 (spec 6.3.4). */
	if (type == MEM_RELEASE && size) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return FALSE;
	}
	return win32_ok(NtFreeVirtualMemory(process, &address, &size, type));
}
