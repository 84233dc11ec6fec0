// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libntvm, issue 11: the rest of the NT memory API.
 *
 *  - NtQueryVirtualMemory's MemoryRegionInformation(Ex) and
 *    MemoryWorkingSetExInformation classes (ntapi.c hands them here);
 *  - NtLockVirtualMemory / NtUnlockVirtualMemory, NtFlushVirtualMemory;
 *  - NtSetInformationVirtualMemory (VmPrefetchInformation);
 *  - NtFlushInstructionCache, NtFlushProcessWriteBuffers.
 *
 * The module (NTVM_IOC_MEMCTL) gives the NT answer and the statuses; the
 * library only makes the system calls a module cannot: mlock(2),
 * munlock(2), msync(2), and reads the page presence from
 * /proc/self/pagemap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/membarrier.h>

#include "ntvm.h"
#include "internal.h"

#define PAGE		4096ULL

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/* The highest user address, from the module (or 64-bit Windows' value). */
static uintptr_t max_address(void)
{
	struct ntvm_api api;

	if (ntvm_geometry(&api))
		return (uintptr_t)(sizeof(void *) == 8 ? 0x7ffffffeffffULL : 0x7ffeffffUL);
	return api.max_address;
}

static NTSTATUS memctl_locked(struct ntvm_memctl_args *m)
{
	m->size = sizeof(*m);
	return ntvm_ioctl_locked(NTVM_IOC_MEMCTL, m, &m->status);
}

static NTSTATUS memctl(struct ntvm_memctl_args *m)
{
	NTSTATUS st;

	ntvm_lib_lock();
	st = memctl_locked(m);
	ntvm_lib_unlock();
	return st;
}

/* ---- Outputs this library writes itself ---- */

/*
 * NT probes every output of a call before the call does anything: a
 * buffer it wants aligned that is not is STATUS_DATATYPE_MISALIGNMENT, a
 * bad one STATUS_ACCESS_VIOLATION; the module makes the probe, of a
 * buffer and a SIZE_T variable in one call (NTVM_MEMCTL_PROBE).  Nothing
 * in the caller's own stack frames needs probing for access (a variable
 * of the caller's, the usual case): no call is made when nothing else is
 * left, unless the buffer is misaligned, which the module answers.  A
 * length of 0 probes nothing, as in NT.  A module that cannot probe
 * (none, or one older than this library) leaves the call to go on as
 * before.
 */
NTSTATUS ntvm_probe_outputs(const void *buf, SIZE_T length, ULONG align,
			    const SIZE_T *var)
{
	struct ntvm_memctl_args m = { .op = NTVM_MEMCTL_PROBE, .map_type = align };
	bool misaligned = align && ((uintptr_t)buf & (align - 1));
	NTSTATUS st;

	if (length && (misaligned || !ntvm_on_stack(buf, length))) {
		m.base = (uintptr_t)buf;
		m.length = length;
	}
	if (var && !ntvm_on_stack(var, sizeof(*var)))
		m.size_ptr = (uintptr_t)var;
	if (!m.length && !m.size_ptr)
		return STATUS_SUCCESS;
	st = memctl(&m);
	return st == STATUS_ACCESS_VIOLATION || st == STATUS_DATATYPE_MISALIGNMENT ?
	       st : STATUS_SUCCESS;
}

/* ---- MemoryRegionInformation(Ex) ---- */

/*
 * The length rule is the [T] one (spec 3.9): a buffer that ends before
 * RegionSize is STATUS_INFO_LENGTH_MISMATCH, one that ends at CommitSize
 * or later is enough; only the fields that fit whole are written, and
 * ReturnLength is the structure's size.  PartitionId and NodePreference
 * are left as they are, as Wine does.  MemoryRegionInformation leaves the
 * region type 0 (Windows does, spec 3.9); the Ex class fills it in.
 * The checks are MemoryBasicInformation's, in its order: the length, the
 * buffer and ReturnLength (probed), the address, the handle.
 */
static NTSTATUS query_region(HANDLE process, LPCVOID base,
			     MEMORY_INFORMATION_CLASS info_class, PVOID info,
			     SIZE_T length, PSIZE_T result_length)
{
	MEMORY_REGION_INFORMATION *r = info;
	struct ntvm_memctl_args m = { .op = NTVM_MEMCTL_REGION };
	NTSTATUS st;

	if (length < offsetof(MEMORY_REGION_INFORMATION, CommitSize))
		return STATUS_INFO_LENGTH_MISMATCH;
	st = ntvm_probe_outputs(info, length, sizeof(ULONG_PTR), result_length);
	if (st)
		return st;
	m.base = (uintptr_t)base;
	m.flags = ntvm_process_flags(process);
	st = memctl(&m);
	if (st)
		return st;
	r->AllocationBase = (PVOID)(uintptr_t)m.alloc_base;
	r->AllocationProtect = m.alloc_protect;
	r->RegionType = 0;
	if (info_class == MemoryRegionInformationEx) {
		if (m.type == MEM_PRIVATE)
			r->Private = 1;
		else if (m.lock & NTVM_MEMCTL_PAGE_FILE)
			r->MappedPageFile = 1;
		else
			r->MappedDataFile = 1;
		if (m.lock & NTVM_MEMCTL_LARGE_PAGES)
			r->PageSizeLarge = 1;
		if (m.lock & NTVM_MEMCTL_PLACEHOLDER)
			r->PlaceholderReservation = 1;
		if (m.lock & NTVM_MEMCTL_WRITE_WATCH)
			r->MappedWriteWatch = 1;
	}
	r->RegionSize = m.alloc_size;
	if (length >= offsetof(MEMORY_REGION_INFORMATION, PartitionId))
		r->CommitSize = m.commit_size;
	if (result_length)
		*result_length = sizeof(MEMORY_REGION_INFORMATION);
	return STATUS_SUCCESS;
}

/* ---- MemoryWorkingSetExInformation ---- */

/* /proc/self/pagemap bits (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_PRESENT	(1ULL << 63)
#define PM_SWAP		(1ULL << 62)
#define PM_FILE		(1ULL << 61)
#define PM_EXCLUSIVE	(1ULL << 56)

/* The pagemap entry of addr, or 0 when it cannot be read. */
static uint64_t pagemap_entry(int fd, uintptr_t addr)
{
	uint64_t e = 0;
	unsigned char vec = 0;

	if (fd >= 0) {
		if (pread(fd, &e, sizeof(e), (addr / PAGE) * sizeof(e)) ==
		    sizeof(e))
			return e;
		e = 0;
	}
	/* No pagemap: residency alone, from mincore(2). */
	if (!mincore((void *)(uintptr_t)(addr & ~(PAGE - 1)), PAGE, &vec) &&
	    (vec & 1))
		e = PM_PRESENT | PM_EXCLUSIVE;
	return e;
}

/*
 * One entry, as Windows fills it (spec: Wine's psapi test, WRK
 * MiGetWorkingSetInfoList): all zero unless the page is valid, i.e.
 * committed, accessible (not PAGE_NOACCESS, not an armed guard page) and
 * present in memory.  A valid page gets its protection, Locked when it is
 * VM_LOCKED, and Shared (with a ShareCount) only when it is shared memory
 * (a file or shmem page of a view): private memory is never Shared, also
 * when it maps Linux's shared zero page (the huge one shows as a file
 * page in pagemap) or is shared copy-on-write after fork().  Node is 0;
 * LargePage is set in MEM_LARGE_PAGES allocations.
 */
static ULONG_PTR ws_attributes(const struct ntvm_memctl_args *m, int fd,
			       uintptr_t addr)
{
	MEMORY_WORKING_SET_EX_BLOCK b = { .Flags = 0 };
	uint64_t e;

	if (m->state != MEM_COMMIT || (m->protect & PAGE_GUARD) ||
	    (m->protect & 0xff) == PAGE_NOACCESS)
		return 0;
	e = pagemap_entry(fd, addr);
	if (!(e & PM_PRESENT))
		return 0;
	b.Valid = 1;
	b.Win32Protection = m->protect;
	if (m->lock & NTVM_MEMCTL_LOCKED_ALL)
		b.Locked = 1;
	if (m->lock & NTVM_MEMCTL_LARGE_PAGES)
		b.LargePage = 1;
	if (m->type == MEM_MAPPED && (e & PM_FILE)) {
		b.Shared = 1;
		b.ShareCount = (e & PM_EXCLUSIVE) ? 1 : 2;
	}
	return b.Flags;
}

static NTSTATUS query_working_set(HANDLE process, LPCVOID base, PVOID info,
				  SIZE_T length, PSIZE_T result_length)
{
	MEMORY_WORKING_SET_EX_INFORMATION *w = info;
	SIZE_T n = length / sizeof(*w), i;
	struct ntvm_memctl_args m = { 0 };
	uintptr_t addr, max = max_address();
	uint64_t lo = 1, hi = 0;
	NTSTATUS st = STATUS_SUCCESS;
	int fd;

	/* MemoryBasicInformation's checks and order, as query_region(). */
	if (!n)
		return STATUS_INFO_LENGTH_MISMATCH;
	st = ntvm_probe_outputs(info, length, sizeof(ULONG_PTR), result_length);
	if (st)
		return st;
	if ((uintptr_t)base > max)
		return STATUS_INVALID_PARAMETER;
	if (process != NtCurrentProcess())
		return STATUS_INVALID_HANDLE;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	for (i = 0; i < n; i++) {
		addr = (uintptr_t)w[i].VirtualAddress;
		if (addr > max) {
			w[i].VirtualAttributes.Flags = 0;
			continue;
		}
		/* One module call per run of like pages. */
		if (addr < lo || addr >= hi) {
			memset(&m, 0, sizeof(m));
			m.op = NTVM_MEMCTL_PAGE;
			m.base = addr;
			st = memctl(&m);
			if (st)
				break;
			lo = m.out_base;
			hi = m.out_base + m.out_size;
		}
		w[i].VirtualAttributes.Flags = ws_attributes(&m, fd, addr);
	}
	if (fd >= 0)
		close(fd);
	if (st)
		return st;
	if (result_length)
		*result_length = length;
	return STATUS_SUCCESS;
}

/*
 * NtQueryVirtualMemory for every class but MemoryBasicInformation (called
 * by ntapi.c).  Other classes: STATUS_INVALID_INFO_CLASS, first.
 */
NTSTATUS ntvm_query_more(HANDLE process, LPCVOID base,
			 MEMORY_INFORMATION_CLASS info_class, PVOID info,
			 SIZE_T length, PSIZE_T result_length)
{
	switch ((int)info_class) {
	case MemoryRegionInformation:
	case MemoryRegionInformationEx:
		return query_region(process, base, info_class, info, length,
				    result_length);
	case MemoryWorkingSetExInformation:
		return query_working_set(process, base, info, length,
					 result_length);
	default:
		return STATUS_INVALID_INFO_CLASS;
	}
}

/* ---- MEM_LARGE_PAGES ---- */

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Does the mapping at p hold at least size bytes of huge pages? */
static int huge_backed(uintptr_t p, uint64_t size)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	unsigned long lo, hi, kb;
	char line[256];
	int in = 0, ok = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ' ') &&
		    line[0] != ' ') {
			in = lo <= p && p < hi;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1) {
			ok = (uint64_t)kb * 1024 >= size;
			break;
		}
	}
	fclose(f);
	return ok;
}

/*
 * NTVM_APPLY_LARGE_PAGES: back [base, base + size), which the module just
 * reserved and committed writable and 2 MiB-aligned, with transparent huge
 * pages, populated and locked as Windows' large pages are; then give it
 * its protection.  When Linux cannot (THP off, no free huge page), release
 * it again: STATUS_INSUFFICIENT_RESOURCES, and nothing changed.
 */
NTSTATUS ntvm_large_apply(__u64 base, __u64 size, __u32 prot)
{
	void *p = (void *)(uintptr_t)base;
	PVOID fbase = p;
	SIZE_T fsize = 0;
	struct ntvm_free_args f = {
		.size = sizeof(f), .base_ptr = (uintptr_t)&fbase,
		.size_ptr = (uintptr_t)&fsize, .type = MEM_RELEASE,
	};

	if (!madvise(p, size, MADV_HUGEPAGE) &&
	    !madvise(p, size, MADV_POPULATE_WRITE) && !mlock(p, size) &&
	    huge_backed(base, size) &&
	    (prot == (PROT_READ | PROT_WRITE) || !mprotect(p, size, prot)))
		return STATUS_SUCCESS;
	ntvm_ioctl_locked(NTVM_IOC_FREE, &f, &f.status);
	return STATUS_INSUFFICIENT_RESOURCES;
}

/* ---- NtLockVirtualMemory / NtUnlockVirtualMemory ---- */

/* An mlock(2) refused: the working-set quota is RLIMIT_MEMLOCK (README). */
static NTSTATUS mlock_status(int err)
{
	switch (err) {
	case ENOMEM:
	case EPERM:
	case EAGAIN:
		return STATUS_WORKING_SET_QUOTA;
	default:
		return STATUS_NO_MEMORY;
	}
}

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

/*
 * mlock(2) makes every page resident, writing to the never-written ones
 * (it breaks their copy-on-write of the zero page), which a write watch
 * would report as written.  In a MEM_WRITE_WATCH allocation the pages are
 * instead read in (MADV_POPULATE_READ: swapped pages come back, untouched
 * ones map the zero page) and locked as they are, the rest on their first
 * write (MLOCK_ONFAULT): resident either way, and nothing counts as
 * written.
 */
static int lock_pages(void *p, size_t len)
{
	if (!ntvm_ww_overlaps((uintptr_t)p, len))
		return mlock(p, len);
	madvise(p, len, MADV_POPULATE_READ);
	return syscall(SYS_mlock2, p, len, MLOCK_ONFAULT);
}

/*
 * The runs of [p, p + len) that were locked before a lock call, so that a
 * failed mlock(2), which leaves whatever it reached VM_LOCKED, is undone
 * exactly.  NTVM_MEMCTL_PAGE gives the runs, one query each: as many as
 * the range has runs of like pages (its mappings and ntvm's runs), and
 * only for a range that is locked in part.  Without memory for the list,
 * or if a query fails, the undo is not attempted.  The caller holds the
 * library lock.
 */
struct locked_runs {
	uintptr_t (*run)[2];		/* [lo, hi) */
	size_t n, cap;
};

static bool locked_runs_add(struct locked_runs *r, uintptr_t lo, uintptr_t hi)
{
	uintptr_t (*more)[2];

	if (r->n && r->run[r->n - 1][1] == lo) {
		r->run[r->n - 1][1] = hi;
		return true;
	}
	if (r->n == r->cap) {
		more = realloc(r->run, (r->cap ? 2 * r->cap : 16) * sizeof(*more));
		if (!more)
			return false;
		r->run = more;
		r->cap = r->cap ? 2 * r->cap : 16;
	}
	r->run[r->n][0] = lo;
	r->run[r->n++][1] = hi;
	return true;
}

static bool locked_runs_get(uintptr_t p, size_t len, struct locked_runs *r)
{
	uintptr_t at = p, end = p + len, to;
	struct ntvm_memctl_args m;

	while (at < end) {
		m = (struct ntvm_memctl_args){ .op = NTVM_MEMCTL_PAGE, .base = at };
		if (memctl_locked(&m) || m.out_base + m.out_size <= at)
			return false;
		to = m.out_base + m.out_size < end ? m.out_base + m.out_size : end;
		if ((m.lock & NTVM_MEMCTL_LOCKED_ALL) && !locked_runs_add(r, at, to))
			return false;
		at = to;
	}
	return true;
}

/* munlock(2) [p, p + len) but the runs that were locked before. */
static void unlock_new(uintptr_t p, size_t len, const struct locked_runs *r)
{
	uintptr_t at = p;
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (r->run[i][0] > at)
			munlock((void *)at, r->run[i][0] - at);
		at = r->run[i][1];
	}
	if (p + len > at)
		munlock((void *)at, p + len - at);
}

/*
 * The module reads BaseAddress and RegionSize itself and checks the
 * process handle, in NT's order (NTVM_MEMCTL_VARS): a bad variable is
 * STATUS_ACCESS_VIOLATION, not a fault here.  They are written here, once
 * the system call has succeeded.
 */
static void memctl_vars(struct ntvm_memctl_args *m, HANDLE process,
			PVOID *base, PSIZE_T size)
{
	m->flags = NTVM_MEMCTL_VARS | ntvm_process_flags(process);
	m->base_ptr = (uintptr_t)base;
	m->size_ptr = (uintptr_t)size;
}

static NTSTATUS lock_unlock(HANDLE process, PVOID *base, PSIZE_T size,
			    ULONG map_type, __u32 op)
{
	struct ntvm_memctl_args m = { .op = op, .map_type = map_type };
	void *p;
	NTSTATUS st;

	memctl_vars(&m, process, base, size);
	ntvm_lib_lock();
	st = memctl_locked(&m);
	p = (void *)(uintptr_t)m.out_base;
	if (st == STATUS_GUARD_PAGE_VIOLATION &&
	    (m.apply & NTVM_APPLY_MPROTECT) &&
	    mprotect(p, m.out_size, m.apply_prot))
		st = STATUS_ACCESS_VIOLATION;
	if (!st && op == NTVM_MEMCTL_LOCK) {
		struct locked_runs was = { .n = 0 };
		bool known = true;

		/* Some pages locked, not all: which ones. */
		if ((m.lock & NTVM_MEMCTL_LOCKED_SOME) &&
		    !(m.lock & NTVM_MEMCTL_LOCKED_ALL))
			known = locked_runs_get((uintptr_t)p, m.out_size, &was);
		else if (m.lock & NTVM_MEMCTL_LOCKED_ALL)
			known = locked_runs_add(&was, (uintptr_t)p,
						(uintptr_t)p + m.out_size);

		if (lock_pages(p, m.out_size)) {
			st = mlock_status(errno);
			/* Undo what it locked; what was locked before stays. */
			if (known)
				unlock_new((uintptr_t)p, m.out_size, &was);
		}
		free(was.run);
	}
	/* Large pages stay locked, as in NT: the module says where they begin. */
	if (!st && op == NTVM_MEMCTL_UNLOCK) {
		size_t len = (m.lock & NTVM_MEMCTL_LARGE_PAGES) ?
			     m.alloc_base - m.out_base : m.out_size;

		if (len && munlock(p, len))
			st = mlock_status(errno);
	}
	ntvm_lib_unlock();
	if (st)
		return st;
	*base = p;
	*size = m.out_size;
	/* "One of the pages to lock was already locked." */
	if (op == NTVM_MEMCTL_LOCK && (m.lock & NTVM_MEMCTL_LOCKED_SOME))
		return STATUS_WAS_LOCKED;
	return STATUS_SUCCESS;
}

NTVM_EXPORT NTSTATUS NtLockVirtualMemory(HANDLE process, PVOID *base,
					 PSIZE_T size, ULONG map_type)
{
	return lock_unlock(process, base, size, map_type, NTVM_MEMCTL_LOCK);
}

NTVM_EXPORT NTSTATUS NtUnlockVirtualMemory(HANDLE process, PVOID *base,
					   PSIZE_T size, ULONG map_type)
{
	return lock_unlock(process, base, size, map_type, NTVM_MEMCTL_UNLOCK);
}

/* ---- NtFlushVirtualMemory ---- */

/*
 * Spec 5.4: the module checks the range (one view, size 0: to its end);
 * dirty pages of a file view are then scheduled for writing (msync
 * MS_ASYNC, which does not wait for the disk, as FlushViewOfFile does
 * not).  IoStatus is not written.
 */
NTVM_EXPORT NTSTATUS NtFlushVirtualMemory(HANDLE process, PVOID *base,
					  PSIZE_T size, PVOID io_status)
{
	struct ntvm_memctl_args m = { .op = NTVM_MEMCTL_FLUSH };
	NTSTATUS st;

	(void)io_status;
	memctl_vars(&m, process, base, size);
	ntvm_lib_lock();
	st = memctl_locked(&m);
	if (!st && msync((void *)(uintptr_t)m.out_base, m.out_size, MS_ASYNC))
		st = STATUS_INVALID_PARAMETER;
	ntvm_lib_unlock();
	if (st)
		return st;
	*base = (PVOID)(uintptr_t)m.out_base;
	*size = m.out_size;
	return STATUS_SUCCESS;
}

/*
 * Spec 4.5.2: whether two addresses lie in views of one section, which
 * only the module knows (NTVM_MEMCTL_SAME_FILES).
 */
NTVM_EXPORT NTSTATUS NtAreMappedFilesTheSame(PVOID file1, PVOID file2)
{
	struct ntvm_memctl_args m = {
		.op = NTVM_MEMCTL_SAME_FILES,
		.base = (uintptr_t)file1, .other = (uintptr_t)file2,
	};

	return memctl(&m);
}

/* ---- NtSetInformationVirtualMemory ---- */

#define PREFETCH_STEP	32	/* entries read through the kernel at once */

/*
 * The caller's entries, read through the kernel PREFETCH_STEP at a time:
 * checked, or, with prefetch set, prefetched.  The check is NT's: the
 * whole array is probed first (STATUS_ACCESS_VIOLATION if any of it
 * cannot be read), then every NumberOfBytes must be non-zero (_4).
 */
static NTSTATUS prefetch_entries(const MEMORY_RANGE_ENTRY *entries,
				 ULONG_PTR count, bool prefetch)
{
	MEMORY_RANGE_ENTRY e[PREFETCH_STEP];
	NTSTATUS st = STATUS_SUCCESS;
	ULONG_PTR at, n, i;
	uintptr_t lo, hi;

	for (at = 0; at < count; at += n) {
		n = count - at < PREFETCH_STEP ? count - at : PREFETCH_STEP;
		if (ntvm_copy_user_memory(e, entries + at, n * sizeof(*e)))
			return STATUS_ACCESS_VIOLATION;
		for (i = 0; i < n; i++) {
			if (!prefetch) {
				if (!e[i].NumberOfBytes)
					st = STATUS_INVALID_PARAMETER_4;
				continue;
			}
			lo = (uintptr_t)e[i].VirtualAddress & ~(uintptr_t)(PAGE - 1);
			hi = (uintptr_t)e[i].VirtualAddress + e[i].NumberOfBytes;
			if (hi < lo)
				continue;
			hi = (hi + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
			if (madvise((void *)lo, hi - lo, MADV_POPULATE_READ))
				madvise((void *)lo, hi - lo, MADV_WILLNEED);
		}
	}
	return st;
}

/*
 * VmPrefetchInformation only, with the parameter checks in the order the
 * [T] facts show (Wine's ntdll test_prefetch): no information block
 * STATUS_INVALID_PARAMETER_5, a block that is not one ULONG _6, no
 * entries _3, a NULL entry array STATUS_ACCESS_VIOLATION, an empty entry
 * _4.  Non-zero flags: _5 (chosen).  Other classes:
 * STATUS_INVALID_PARAMETER_2 (chosen).  NT probes the block and the
 * entries: a wild or unreadable one is STATUS_ACCESS_VIOLATION where a
 * NULL one is, the block read before the entries.  The prefetch itself is
 * advice: MADV_POPULATE_READ brings accessible committed pages in (Linux
 * 5.14+), MADV_WILLNEED the rest; failures, unmapped entries included,
 * are not errors, as on Windows.
 */
NTVM_EXPORT NTSTATUS NtSetInformationVirtualMemory(HANDLE process,
						   VIRTUAL_MEMORY_INFORMATION_CLASS info_class,
						   ULONG_PTR count,
						   PMEMORY_RANGE_ENTRY entries,
						   PVOID info, ULONG length)
{
	ULONG flags;
	NTSTATUS st;

	if (process != NtCurrentProcess())
		return STATUS_INVALID_HANDLE;
	if (info_class != VmPrefetchInformation)
		return STATUS_INVALID_PARAMETER_2;
	if (!info)
		return STATUS_INVALID_PARAMETER_5;
	if (length != sizeof(ULONG))
		return STATUS_INVALID_PARAMETER_6;
	if (!count)
		return STATUS_INVALID_PARAMETER_3;
	if (!entries || ntvm_copy_user_memory(&flags, info, sizeof(flags)))
		return STATUS_ACCESS_VIOLATION;
	if (flags)
		return STATUS_INVALID_PARAMETER_5;
	st = prefetch_entries(entries, count, false);
	return st ? st : prefetch_entries(entries, count, true);
}

/* ---- Caches and barriers ---- */

/* x86 keeps instruction caches coherent; elsewhere GCC's builtin flushes. */
NTVM_EXPORT NTSTATUS NtFlushInstructionCache(HANDLE process, LPCVOID base,
					     SIZE_T size)
{
	if (process != NtCurrentProcess())
		return STATUS_INVALID_HANDLE;
#if !defined(__x86_64__) && !defined(__i386__)
	if (base && size)
		__builtin___clear_cache((char *)base, (char *)base + size);
#else
	(void)base;
	(void)size;
#endif
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return STATUS_SUCCESS;
}

/*
 * FlushProcessWriteBuffers: every thread of the process runs a full memory
 * barrier before this returns.  membarrier(PRIVATE_EXPEDITED) does exactly
 * that (Linux 4.14+; registered once); without it
 * membarrier(MEMBARRIER_CMD_GLOBAL) (4.3+, slower: it waits for every CPU);
 * without either, a protection change of a page this process touched,
 * whose TLB shootdown interrupts every CPU running one of its threads
 * (what Windows itself does, and what runtimes did before membarrier).
 */
static int barrier_mode;	/* 0 unknown, 1 expedited, 2 global, 3 mprotect */
static char *barrier_page;

static int membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

static int barrier_pick(void)
{
	int cmds = membarrier(MEMBARRIER_CMD_QUERY);

	if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    !membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED))
		return 1;
	if (cmds > 0 && (cmds & MEMBARRIER_CMD_GLOBAL))
		return 2;
	barrier_page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return barrier_page == MAP_FAILED ? 0 : 3;
}

NTVM_EXPORT NTSTATUS NtFlushProcessWriteBuffers(void)
{
	int mode;

	ntvm_lib_lock();
	if (!barrier_mode)
		barrier_mode = barrier_pick();
	mode = barrier_mode;
	if (mode == 3) {
		/* Touch, then take write access away: a shootdown. */
		*(volatile char *)barrier_page = 1;
		mprotect(barrier_page, PAGE, PROT_READ);
		mprotect(barrier_page, PAGE, PROT_READ | PROT_WRITE);
	}
	ntvm_lib_unlock();
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (mode == 1 && !membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED))
		return STATUS_SUCCESS;
	if (mode == 2 || mode == 1)
		membarrier(MEMBARRIER_CMD_GLOBAL);
	return STATUS_SUCCESS;
}
