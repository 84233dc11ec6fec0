// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm demo: what /dev/ntvm does, step by step, as a program sees it.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "ntvm_selftest.h"

static int failed;

static void step(const char *what, NTSTATUS st)
{
	printf("  %-58s %s", what, st ? "FAILED" : "ok");
	if (st)
		printf(" (status %#x)", (unsigned int)st);
	printf("\n");
	failed |= st != 0;
}

static const char *state_name(DWORD s)
{
	return s == MEM_COMMIT ? "MEM_COMMIT" : s == MEM_RESERVE ? "MEM_RESERVE" :
	       s == MEM_FREE ? "MEM_FREE" : "?";
}

static void show(const char *label, const void *addr)
{
	MEMORY_BASIC_INFORMATION m;

	if (!VirtualQuery(addr, &m, sizeof(m))) {
		printf("    %-10s query failed, error %u\n", label, GetLastError());
		failed = 1;
		return;
	}
	printf("    %-10s base %p  alloc %p  size %#8zx  %-11s protect 0x%03x\n",
	       label, m.BaseAddress, m.AllocationBase, m.RegionSize,
	       state_name(m.State), m.Protect);
}

int main(void)
{
	struct ntvm_api api = { .api = NTVM_API };
	PVOID base = NULL, c;
	SIZE_T size = 0x100000;
	char *p;

	printf("ntvm demo: NT virtual memory in a Linux process\n\n");
	printf("1. handshake\n");
	if (ntvm_fd() < 0 || ioctl(ntvm_fd(), NTVM_IOC_API, &api)) {
		printf("  /dev/ntvm: %s\n", strerror(errno));
		return 1;
	}
	printf("  ABI %llu, features %#llx, page %#llx, granularity %#llx\n",
	       (unsigned long long)api.api, (unsigned long long)api.features,
	       (unsigned long long)api.page_size,
	       (unsigned long long)api.granularity);
	printf("  user addresses %#llx .. %#llx\n\n",
	       (unsigned long long)api.min_address,
	       (unsigned long long)api.max_address);

	printf("2. reserve 1 MiB (MEM_RESERVE, PAGE_NOACCESS)\n");
	step("NtAllocateVirtualMemory(NULL, 1 MiB, MEM_RESERVE)",
	     NtAllocateVirtualMemory(NtCurrentProcess(), &base, 0, &size,
				     MEM_RESERVE, PAGE_NOACCESS));
	show("region", base);

	printf("\n3. commit 64 KiB in the middle (MEM_COMMIT, PAGE_READWRITE)\n");
	p = base;
	c = p + 0x40000;
	size = 0x10000;
	step("NtAllocateVirtualMemory(base + 256 KiB, 64 KiB, MEM_COMMIT)",
	     NtAllocateVirtualMemory(NtCurrentProcess(), &c, 0, &size,
				     MEM_COMMIT, PAGE_READWRITE));
	memset(c, 0x5a, size);
	printf("  wrote 64 KiB of 0x5a at %p\n", c);

	printf("\n4. query the three regions\n");
	show("before", p);
	show("committed", p + 0x40000);
	show("after", p + 0x50000);

	printf("\n5. release the whole allocation (MEM_RELEASE, size 0)\n");
	size = 0;
	step("NtFreeVirtualMemory(base, 0, MEM_RELEASE)",
	     NtFreeVirtualMemory(NtCurrentProcess(), &base, &size, MEM_RELEASE));
	printf("  released %#zx bytes at %p\n", size, base);
	show("now", base);

	printf("\n%s\n", failed ? "demo FAILED" : "demo done");
	return failed;
}
