// SPDX-License-Identifier: GPL-2.0
/*
 * <ntvm.h> after Wine's or MinGW's <windows.h>: it takes the includer's NT
 * types and names and adds only what is missing.  Built by
 * selftests/host-build-check with gcc and Wine's headers (compiled, linked
 * with libntvm.a and run), with winegcc (compiled) and with MinGW (compiled
 * only: the result could not run on Linux).  TEST_NO_STATUS adds
 * <ntstatus.h> the usual way, TEST_WINTERNL <winternl.h> (compiled only).
 */
#ifdef TEST_NO_STATUS		/* the usual way to have every STATUS_* */
#define WIN32_NO_STATUS
#endif
#include <windows.h>
#ifdef TEST_NO_STATUS
#undef WIN32_NO_STATUS
#include <ntstatus.h>
#endif
#ifdef TEST_WINTERNL		/* Wine's declares the Nt* functions itself */
#include <winternl.h>
#define NTVM_NO_NT
#endif
#include <ntvm.h>

#ifndef NTVM_WINDOWS_HEADERS
#error "ntvm.h did not see <windows.h>"
#endif

/*
 * The includer's types are the ones used: these would clash otherwise (not
 * static: a variant without main() uses none of them).
 */
MEMORY_BASIC_INFORMATION mbi;
SIZE_T size = 0x10000;
PVOID base;
NTSTATUS status;
MEM_EXTENDED_PARAMETER param;
MEM_ADDRESS_REQUIREMENTS req;
SYSTEM_INFO si;

_Static_assert(sizeof(ULONG) == 4 && sizeof(DWORD) == 4, "ULONG/DWORD");
_Static_assert(sizeof(SIZE_T) == sizeof(void *), "SIZE_T");
_Static_assert(sizeof(mbi) == 6 * sizeof(void *), "MEMORY_BASIC_INFORMATION");
_Static_assert(sizeof(param) == 16, "MEM_EXTENDED_PARAMETER");
/* ntvm's values agree with the includer's. */
_Static_assert(MEM_COMMIT == NTVM_MEM_COMMIT && MEM_RESERVE == NTVM_MEM_RESERVE &&
	       MEM_RELEASE == NTVM_MEM_RELEASE && PAGE_GUARD == NTVM_PAGE_GUARD &&
	       PAGE_READWRITE == NTVM_PAGE_READWRITE &&
	       MEM_RESERVE_PLACEHOLDER == NTVM_MEM_RESERVE_PLACEHOLDER, "values");
_Static_assert(STATUS_NOT_SUPPORTED == (NTSTATUS)0xC00000BB, "status");
_Static_assert(ERROR_NOT_SUPPORTED == 50, "error");

#if !defined(_WIN32) && !defined(NTVM_NO_NT)
#include <stdio.h>

int main(void)
{
	enum ntvm_availability a = ntvm_availability();
	ULONG old;

	(void)req;
	(void)si;
	status = NtAllocateVirtualMemory(NtCurrentProcess(), &base, 0, &size,
					 MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
	if (a != NTVM_AVAILABLE) {
		/* No module here: the status every call gives then. */
		if (status != STATUS_NOT_SUPPORTED) {
			printf("not ok: status %#x without ntvm\n", (unsigned int)status);
			return 1;
		}
		printf("ok: without ntvm (%s), STATUS_NOT_SUPPORTED\n",
		       ntvm_availability_string(a));
		return 0;
	}
	if (status != STATUS_SUCCESS ||
	    NtProtectVirtualMemory(NtCurrentProcess(), &base, &size,
				   PAGE_READONLY, &old) != STATUS_SUCCESS ||
	    old != PAGE_READWRITE ||
	    NtQueryVirtualMemory(NtCurrentProcess(), base, MemoryBasicInformation,
				 &mbi, sizeof(mbi), NULL) != STATUS_SUCCESS ||
	    mbi.Protect != PAGE_READONLY || mbi.State != MEM_COMMIT) {
		printf("not ok: NT calls with the includer's types\n");
		return 1;
	}
	size = 0;
	if (NtFreeVirtualMemory(NtCurrentProcess(), &base, &size, MEM_RELEASE)) {
		printf("not ok: release\n");
		return 1;
	}
	printf("ok: NT calls with the includer's types\n");
	return 0;
}
#endif
