// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libntvm's Win32 layer: kernelbase's functions on top of the NT ones.
 *
 * It is an object of its own, so that a program with a Win32 layer of its
 * own (its own VirtualAlloc) can link libntvm.a for the Nt* functions only:
 * nothing in the NT part refers to this file.
 */
#include <unistd.h>

#include "ntvm.h"
#include "internal.h"

static __thread DWORD ntvm_last_error
	__attribute__((tls_model("initial-exec")));

NTVM_EXPORT DWORD GetLastError(void)
{
	return ntvm_last_error;
}

NTVM_EXPORT void SetLastError(DWORD error)
{
	ntvm_last_error = error;
}

static BOOL win32_result(NTSTATUS st)
{
	if (st) {
		SetLastError(RtlNtStatusToDosError(st));
		return FALSE;
	}
	return TRUE;
}

NTVM_EXPORT LPVOID VirtualAlloc(LPVOID address, SIZE_T size, DWORD type,
				DWORD protect)
{
	PVOID base = address;

	if (!win32_result(NtAllocateVirtualMemory(NtCurrentProcess(), &base, 0,
						  &size, type, protect)))
		return NULL;
	return base;
}

NTVM_EXPORT BOOL VirtualFree(LPVOID address, SIZE_T size, DWORD type)
{
	/*
	 * kernelbase's own rule (spec 2.3): MEM_RELEASE takes size 0; only
	 * MEM_RELEASE alone, so placeholder splits reach the kernel (6.3.4).
	 */
	if (type == MEM_RELEASE && size) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return FALSE;
	}
	return win32_result(NtFreeVirtualMemory(NtCurrentProcess(), &address,
						&size, type));
}

NTVM_EXPORT SIZE_T VirtualQuery(LPCVOID address, PMEMORY_BASIC_INFORMATION info,
				SIZE_T length)
{
	SIZE_T ret = 0;

	if (!win32_result(NtQueryVirtualMemory(NtCurrentProcess(), address,
					       MemoryBasicInformation, info,
					       length, &ret)))
		return 0;
	return ret;
}

NTVM_EXPORT BOOL VirtualProtect(LPVOID address, SIZE_T size, DWORD new_protect,
				PDWORD old_protect)
{
	return win32_result(NtProtectVirtualMemory(NtCurrentProcess(), &address,
						   &size, new_protect,
						   (PULONG)old_protect));
}

NTVM_EXPORT UINT GetWriteWatch(DWORD flags, PVOID base, SIZE_T size,
				PVOID *addresses, ULONG_PTR *count,
				ULONG *granularity)
{
	return win32_result(NtGetWriteWatch(NtCurrentProcess(), flags, base,
					    size, addresses, count,
					    granularity)) ? 0 : (UINT)-1;
}

NTVM_EXPORT UINT ResetWriteWatch(LPVOID base, SIZE_T size)
{
	return win32_result(NtResetWriteWatch(NtCurrentProcess(), base,
					      size)) ? 0 : (UINT)-1;
}

NTVM_EXPORT void GetSystemInfo(LPSYSTEM_INFO info)
{
	struct ntvm_api api;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!info)
		return;
	memset(info, 0, sizeof(*info));
	if (ntvm_geometry(&api)) {
		/* No module: the fixed values of 64-bit Windows. */
		api.page_size = NTVM_PAGE_SIZE;
		api.granularity = NTVM_GRANULARITY;
		api.min_address = NTVM_GRANULARITY;
		api.max_address = sizeof(void *) == 4 ? 0x7ffeffffULL :
							0x7ffffffeffffULL;
	}
	if (cpus < 1)
		cpus = 1;
#if defined(__i386__)
	info->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_INTEL;
	info->dwProcessorType = PROCESSOR_INTEL_PENTIUM;
#else
	info->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_AMD64;
	info->dwProcessorType = PROCESSOR_AMD_X8664;
#endif
	info->dwPageSize = api.page_size;
	info->lpMinimumApplicationAddress = (LPVOID)(uintptr_t)api.min_address;
	info->lpMaximumApplicationAddress = (LPVOID)(uintptr_t)api.max_address;
	info->dwActiveProcessorMask = cpus >= 64 ? ~(DWORD_PTR)0 :
				      ((DWORD_PTR)1 << cpus) - 1;
	info->dwNumberOfProcessors = cpus;
	info->dwAllocationGranularity = api.granularity;
	info->wProcessorLevel = 6;
}
