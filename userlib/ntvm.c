// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libntvm: the NT and Win32 virtual-memory API on top of /dev/ntvm.
 *
 * The module is the authority on NT state and status codes; this library
 * only marshals arguments, and makes the two page-table changes a module
 * cannot make (the kernel exports no mprotect or madvise to modules): when
 * an ioctl answers NTVM_APPLY_MPROTECT or NTVM_APPLY_MADV_FREE, the library
 * makes that syscall.  Each ioctl and its syscall run under one
 * process-wide lock, so no other NT call of this process can come between
 * them (see module/main.c, "Division of work").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ntvm.h"

#define NTVM_EXPORT __attribute__((visibility("default")))

static pthread_mutex_t ntvm_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t ntvm_once = PTHREAD_ONCE_INIT;
static int ntvm_dev_fd = -1;
static __thread DWORD ntvm_last_error;

/*
 * The descriptor is bound to the address space that opened it, so a
 * forked child must open its own: the fork handlers hold the lock across
 * fork() and make the child forget the parent's descriptor.
 */
static void atfork_prepare(void)
{
	pthread_mutex_lock(&ntvm_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&ntvm_lock);
}

static void atfork_child(void)
{
	if (ntvm_dev_fd >= 0)
		close(ntvm_dev_fd);
	ntvm_dev_fd = -1;
	pthread_mutex_unlock(&ntvm_lock);
}

static void ntvm_init_once(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* Called with ntvm_lock held. */
static int dev_fd_locked(void)
{
	if (ntvm_dev_fd < 0)
		ntvm_dev_fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	return ntvm_dev_fd;
}

static void lock(void)
{
	pthread_once(&ntvm_once, ntvm_init_once);
	pthread_mutex_lock(&ntvm_lock);
}

NTVM_EXPORT int ntvm_fd(void)
{
	int fd;

	lock();
	fd = dev_fd_locked();
	pthread_mutex_unlock(&ntvm_lock);
	return fd;
}

/* Status for an ioctl that failed as a system call. */
static NTSTATUS errno_status(int err)
{
	switch (err) {
	case EFAULT:
		return STATUS_ACCESS_VIOLATION;
	case ENOMEM:
		return STATUS_NO_MEMORY;
	default:
		return STATUS_INVALID_PARAMETER;
	}
}

/* Status for a failed mprotect(2) that applied an NT change. */
static NTSTATUS apply_status(int err, unsigned int prot)
{
	if (err == ENOMEM)
		return (prot & PROT_WRITE) ? STATUS_COMMITMENT_LIMIT :
					     STATUS_INSUFFICIENT_RESOURCES;
	return STATUS_INVALID_PARAMETER;
}

/* One ioctl; the caller holds ntvm_lock.  Returns the NT status. */
static NTSTATUS ioctl_locked(unsigned long cmd, void *args, const __u32 *status)
{
	int fd = dev_fd_locked();

	if (fd < 0)
		return STATUS_NOT_SUPPORTED;
	if (ioctl(fd, cmd, args))
		return errno_status(errno);
	return (NTSTATUS)*status;
}

/* The page-table change an ioctl asked for; the caller holds ntvm_lock. */
static NTSTATUS apply_locked(__u64 base, __u64 size, __u32 apply, __u32 prot)
{
	if ((apply & NTVM_APPLY_MPROTECT) &&
	    mprotect((void *)(uintptr_t)base, size, prot))
		return apply_status(errno, prot);
	/* A lazy reset is advice: if the kernel declines, the data stays. */
	if (apply & NTVM_APPLY_MADV_FREE)
		madvise((void *)(uintptr_t)base, size, MADV_FREE);
	return STATUS_SUCCESS;
}

static NTSTATUS check_process(HANDLE process)
{
	return process == NtCurrentProcess() ? STATUS_SUCCESS :
					       STATUS_INVALID_HANDLE;
}

static NTSTATUS allocate(PVOID *base, PSIZE_T size, struct ntvm_alloc *a)
{
	NTSTATUS st;

	if (!base || !size)
		return STATUS_ACCESS_VIOLATION;
	a->base = (uintptr_t)*base;
	a->size = *size;
	lock();
	st = ioctl_locked(NTVM_IOC_ALLOCATE, a, &a->status);
	if (!st && a->apply)
		st = apply_locked(a->base, a->size, a->apply, a->apply_prot);
	pthread_mutex_unlock(&ntvm_lock);
	if (!st) {
		*base = (PVOID)(uintptr_t)a->base;
		*size = a->size;
	}
	return st;
}

NTVM_EXPORT NTSTATUS NtAllocateVirtualMemory(HANDLE process, PVOID *base,
					     ULONG_PTR zero_bits, PSIZE_T size,
					     ULONG type, ULONG protect)
{
	struct ntvm_alloc a = {
		.zero_bits = zero_bits, .type = type, .protect = protect,
	};
	NTSTATUS st = check_process(process);

	return st ? st : allocate(base, size, &a);
}

NTVM_EXPORT NTSTATUS NtAllocateVirtualMemoryEx(HANDLE process, PVOID *base,
					       PSIZE_T size, ULONG type,
					       ULONG protect,
					       MEM_EXTENDED_PARAMETER *params,
					       ULONG count)
{
	struct ntvm_alloc a = { .type = type, .protect = protect };
	MEM_ADDRESS_REQUIREMENTS *req;
	unsigned int seen = 0, t;
	NTSTATUS st = check_process(process);
	ULONG i;

	if (st)
		return st;
	if (count && !params)
		return STATUS_INVALID_PARAMETER;
	for (i = 0; i < count; i++) {
		t = params[i].Type;
		if (t == MemExtendedParameterInvalidType ||
		    t >= MemExtendedParameterMax || (seen & (1u << t)))
			return STATUS_INVALID_PARAMETER;
		seen |= 1u << t;
		switch (t) {
		case MemExtendedParameterAddressRequirements:
			req = params[i].Pointer;
			if (!req)
				return STATUS_ACCESS_VIOLATION;
			a.flags |= NTVM_ALLOC_REQUIREMENTS;
			a.lowest = (uintptr_t)req->LowestStartingAddress;
			a.highest = (uintptr_t)req->HighestEndingAddress;
			a.alignment = req->Alignment;
			break;
		case MemExtendedParameterNumaNode:
			/* One node: any node number is satisfied. */
			break;
		default:
			return STATUS_NOT_SUPPORTED;
		}
	}
	return allocate(base, size, &a);
}

NTVM_EXPORT NTSTATUS NtFreeVirtualMemory(HANDLE process, PVOID *base,
					 PSIZE_T size, ULONG type)
{
	struct ntvm_free f = { .type = type };
	NTSTATUS st = check_process(process);

	if (st)
		return st;
	if (!base || !size)
		return STATUS_ACCESS_VIOLATION;
	f.base = (uintptr_t)*base;
	f.size = *size;
	lock();
	st = ioctl_locked(NTVM_IOC_FREE, &f, &f.status);
	pthread_mutex_unlock(&ntvm_lock);
	if (!st) {
		*base = (PVOID)(uintptr_t)f.base;
		*size = f.size;
	}
	return st;
}

NTVM_EXPORT NTSTATUS NtProtectVirtualMemory(HANDLE process, PVOID *base,
					    PSIZE_T size, ULONG new_protect,
					    PULONG old_protect)
{
	struct ntvm_protect p = { .protect = new_protect };
	NTSTATUS st = check_process(process);

	if (st)
		return st;
	if (!base || !size || !old_protect)
		return STATUS_ACCESS_VIOLATION;
	p.base = (uintptr_t)*base;
	p.size = *size;
	lock();
	st = ioctl_locked(NTVM_IOC_PROTECT, &p, &p.status);
	if (!st && p.apply)
		st = apply_locked(p.base, p.size, p.apply, p.apply_prot);
	pthread_mutex_unlock(&ntvm_lock);
	if (!st) {
		*base = (PVOID)(uintptr_t)p.base;
		*size = p.size;
		*old_protect = p.old_protect;
	}
	return st;
}

static void region_to_mbi(const struct ntvm_region *r, MEMORY_BASIC_INFORMATION *m)
{
	memset(m, 0, sizeof(*m));
	m->BaseAddress = (PVOID)(uintptr_t)r->base;
	m->AllocationBase = (PVOID)(uintptr_t)r->allocation_base;
	m->AllocationProtect = r->allocation_protect;
	m->RegionSize = r->size;
	m->State = r->state;
	m->Protect = r->protect;
	m->Type = r->type;
}

static NTSTATUS query(uintptr_t start, uintptr_t end, struct ntvm_region *out,
		      ULONG *count)
{
	struct ntvm_query q = {
		.address = start, .end = end,
		.regions = (uintptr_t)out, .count = *count,
	};
	NTSTATUS st;

	lock();
	st = ioctl_locked(NTVM_IOC_QUERY, &q, &q.status);
	pthread_mutex_unlock(&ntvm_lock);
	if (!st)
		*count = q.count;
	return st;
}

NTVM_EXPORT NTSTATUS NtQueryVirtualMemory(HANDLE process, LPCVOID base,
					  MEMORY_INFORMATION_CLASS info_class,
					  PVOID info, SIZE_T length,
					  PSIZE_T result_length)
{
	struct ntvm_region r;
	NTSTATUS st = check_process(process);
	ULONG n = 1;

	if (st)
		return st;
	if (info_class != MemoryBasicInformation)
		return STATUS_INVALID_INFO_CLASS;
	if (length < sizeof(MEMORY_BASIC_INFORMATION))
		return STATUS_INFO_LENGTH_MISMATCH;
	if (!info)
		return STATUS_ACCESS_VIOLATION;
	st = query((uintptr_t)base, 0, &r, &n);
	if (st)
		return st;
	region_to_mbi(&r, info);
	if (result_length)
		*result_length = sizeof(MEMORY_BASIC_INFORMATION);
	return STATUS_SUCCESS;
}

NTVM_EXPORT NTSTATUS ntvm_query_regions(LPCVOID start, LPCVOID end,
					MEMORY_BASIC_INFORMATION *regions,
					ULONG *count)
{
	struct ntvm_region *r;
	NTSTATUS st;
	ULONG i;

	if (!regions || !count)
		return STATUS_ACCESS_VIOLATION;
	if (!*count || (uintptr_t)end <= (uintptr_t)start)
		return STATUS_INVALID_PARAMETER;
	r = calloc(*count, sizeof(*r));
	if (!r)
		return STATUS_NO_MEMORY;
	st = query((uintptr_t)start, (uintptr_t)end, r, count);
	for (i = 0; !st && i < *count; i++)
		region_to_mbi(&r[i], &regions[i]);
	free(r);
	return st;
}

NTVM_EXPORT NTSTATUS ntvm_stats(struct ntvm_stats *stats)
{
	static const __u32 ok;
	NTSTATUS st;

	if (!stats)
		return STATUS_ACCESS_VIOLATION;
	memset(stats, 0, sizeof(*stats));
	lock();
	st = ioctl_locked(NTVM_IOC_STATS, stats, &ok);
	pthread_mutex_unlock(&ntvm_lock);
	return st;
}

/* ---- Win32 ---- */

/* RtlNtStatusToDosError for the statuses this API returns (spec 0.2). */
NTVM_EXPORT ULONG RtlNtStatusToDosError(NTSTATUS status)
{
	switch ((uint32_t)status) {
	case NTVM_STATUS_SUCCESS:
		return ERROR_SUCCESS;
	case NTVM_STATUS_CONFLICTING_ADDRESSES:
	case NTVM_STATUS_NOT_MAPPED_VIEW:
	case NTVM_STATUS_NOT_COMMITTED:
	case NTVM_STATUS_FREE_VM_NOT_AT_BASE:
	case NTVM_STATUS_MEMORY_NOT_ALLOCATED:
	case NTVM_STATUS_INVALID_ADDRESS:
		return ERROR_INVALID_ADDRESS;
	case NTVM_STATUS_UNABLE_TO_FREE_VM:
	case NTVM_STATUS_INVALID_PAGE_PROTECTION:
	case NTVM_STATUS_INVALID_PARAMETER:
	case NTVM_STATUS_INVALID_PARAMETER_1:
	case NTVM_STATUS_INVALID_PARAMETER_2:
	case NTVM_STATUS_INVALID_PARAMETER_3:
	case NTVM_STATUS_INVALID_PARAMETER_4:
	case NTVM_STATUS_INVALID_PARAMETER_5:
	case NTVM_STATUS_INVALID_PARAMETER_6:
	case NTVM_STATUS_INVALID_INFO_CLASS:
		return ERROR_INVALID_PARAMETER;
	case NTVM_STATUS_ALREADY_COMMITTED:
	case NTVM_STATUS_ACCESS_DENIED:
		return ERROR_ACCESS_DENIED;
	case NTVM_STATUS_NO_MEMORY:
		return ERROR_NOT_ENOUGH_MEMORY;
	case NTVM_STATUS_ACCESS_VIOLATION:
		return ERROR_NOACCESS;
	case NTVM_STATUS_INVALID_HANDLE:
		return ERROR_INVALID_HANDLE;
	case NTVM_STATUS_INFO_LENGTH_MISMATCH:
		return ERROR_BAD_LENGTH;
	case NTVM_STATUS_PRIVILEGE_NOT_HELD:
		return ERROR_PRIVILEGE_NOT_HELD;
	case NTVM_STATUS_NOT_SUPPORTED:
		return ERROR_NOT_SUPPORTED;
	case NTVM_STATUS_INSUFFICIENT_RESOURCES:
		return ERROR_NO_SYSTEM_RESOURCES;
	case NTVM_STATUS_COMMITMENT_LIMIT:
		return ERROR_COMMITMENT_LIMIT;
	default:
		return ERROR_MR_MID_NOT_FOUND;
	}
}

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
	/* kernelbase's own rule (spec 2.3): MEM_RELEASE takes size 0. */
	if ((type & MEM_RELEASE) && size) {
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
