// SPDX-License-Identifier: GPL-2.0
/*
 * A program with a Win32 layer of its own links libntvm.a for the NT
 * functions only (README, "Linking next to your own VirtualAlloc").  This
 * is a link test: if libntvm's Win32 object were pulled in, the link would
 * fail with duplicate symbols.
 */
#define NTVM_NO_WIN32
#include <stdio.h>
#include <ntvm.h>

static DWORD my_last_error = 1234;

/* The program's own Win32 functions, with the same names. */
void *VirtualAlloc(void *address, SIZE_T size, DWORD type, DWORD protect)
{
	PVOID base = address;
	NTSTATUS st = NtAllocateVirtualMemory(NtCurrentProcess(), &base, 0,
					      &size, type, protect);

	my_last_error = RtlNtStatusToDosError(st);
	return st ? NULL : base;
}

DWORD GetLastError(void)
{
	return my_last_error;
}

int main(void)
{
	/* With or without /dev/ntvm: a status, mapped by the program's own layer. */
	void *p = VirtualAlloc(NULL, 0, MEM_RESERVE, PAGE_NOACCESS);

	if (p || (GetLastError() != 87 && GetLastError() != 50)) {
		fprintf(stderr, "own_win32: unexpected %p / %u\n", p, GetLastError());
		return 1;
	}
	return 0;
}
