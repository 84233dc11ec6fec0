// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libntvm: the NT virtual-memory calls (NtAllocateVirtualMemory(Ex),
 * NtFreeVirtualMemory, NtProtectVirtualMemory, NtQueryVirtualMemory), the
 * library's process-wide lock and its ioctl path, and the guard-page
 * fault handler.
 *
 * The module decides NT state and every status; this library marshals
 * arguments and makes the page-table changes a module cannot make (the
 * kernel exports no mprotect or madvise to modules): when an ioctl answers
 * NTVM_APPLY_MPROTECT or NTVM_APPLY_MADV_FREE, the library makes that
 * syscall.  Each ioctl and its syscall run under one process-wide lock, so
 * no other NT call of this process comes between them.  Who decides what:
 * Documentation/ntvm.rst, "Who decides what".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <ucontext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/futex.h>

#include "ntvm.h"
#include "internal.h"

/*
 * ntvm_lock, the process-wide lock: a futex word, 0 free, 1 held, 2 held
 * and maybe waited for (the classic three-state mutex).  Every NT call
 * takes it once, so it costs a compare-and-swap and an exchange when
 * nobody waits, less than a pthread mutex.
 */
static int ntvm_lock;
static int ntvm_dev_fd = -1;
/*
 * This thread holds ntvm_lock (for a fault taken while it does).  The
 * initial-exec model makes it one %fs-relative access, not a call.
 */
static __thread int ntvm_lock_held __attribute__((tls_model("initial-exec")));

static void futex_op(int op, int val)
{
	int saved_errno = errno;

	syscall(SYS_futex, &ntvm_lock, op, val, NULL, NULL, 0);
	errno = saved_errno;
}

static void lock_acquire(void)
{
	int c = 0;

	if (__atomic_compare_exchange_n(&ntvm_lock, &c, 1, 0, __ATOMIC_ACQUIRE,
					__ATOMIC_RELAXED))
		return;
	if (c != 2)
		c = __atomic_exchange_n(&ntvm_lock, 2, __ATOMIC_ACQUIRE);
	while (c) {
		futex_op(FUTEX_WAIT_PRIVATE, 2);
		c = __atomic_exchange_n(&ntvm_lock, 2, __ATOMIC_ACQUIRE);
	}
}

static void lock_release(void)
{
	if (__atomic_exchange_n(&ntvm_lock, 0, __ATOMIC_RELEASE) == 2)
		futex_op(FUTEX_WAKE_PRIVATE, 1);
}

/*
 * The descriptor is bound to the address space that opened it, so a
 * forked child must open its own: the fork handlers hold the lock across
 * fork() and make the child forget the parent's descriptor.  They hold
 * the names' lock too (section.c), taken first, as a named create or open
 * takes it: a thread inside NtClose() or a named call would otherwise
 * leave it held for good in the child.
 */
static void atfork_prepare(void)
{
	ntvm_names_lock();
	lock_acquire();
}

static void atfork_parent(void)
{
	lock_release();
	ntvm_names_unlock();
}

static void atfork_child(void)
{
	if (ntvm_dev_fd >= 0)
		close(ntvm_dev_fd);
	ntvm_dev_fd = -1;
	ntvm_shared_forget();
	ntvm_ww_forget();
	/* The only thread of the child held it: nobody waits here. */
	ntvm_lock = 0;
	ntvm_names_unlock();
}

/*
 * Registered when the library is loaded, not at the first NT call, so that
 * no NT call pays for asking whether it was: the handlers have nothing to
 * do in a process that never made one.
 */
static void __attribute__((constructor)) ntvm_lib_init(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* Called with ntvm_lock held.  probe.c opens it and decides availability. */
static int dev_fd_locked(void)
{
	if (ntvm_dev_fd < 0) {
		ntvm_dev_fd = ntvm_probe_open();
		ntvm_shared_map(ntvm_dev_fd);
	}
	return ntvm_dev_fd;
}

static void lock(void)
{
	lock_acquire();
	ntvm_lock_held = 1;
}

static void unlock(void)
{
	ntvm_lock_held = 0;
	lock_release();
}

NTVM_EXPORT int ntvm_fd(void)
{
	int fd;

	lock();
	fd = dev_fd_locked();
	unlock();
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
	case EMFILE:	/* no descriptor for a new section handle */
	case ENFILE:
		return STATUS_INSUFFICIENT_RESOURCES;
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

/*
 * The ioctl of an NT call: 0 or a negative errno, and errno left alone.
 * On x86-64 the system call is made inline: glibc's ioctl() is a variadic
 * function with a stack-protected frame and an errno store, which every NT
 * call paid (about 28 instructions a call with the errno mapping, counted
 * on 6.12).  Other ABIs (i386 enters the kernel through the vDSO) keep the
 * C library's.
 */
static inline long nt_ioctl(int fd, unsigned long cmd, void *arg)
{
#ifdef __x86_64__
	long ret;

	asm volatile("syscall"
		     : "=a"(ret)
		     : "0"((long)SYS_ioctl), "D"((long)fd), "S"(cmd), "d"(arg)
		     : "rcx", "r11", "memory");
	return ret;
#else
	int saved_errno = errno;
	long ret = ioctl(fd, cmd, arg) ? -errno : 0;

	errno = saved_errno;
	return ret;
#endif
}

/* One ioctl; the caller holds ntvm_lock.  Returns the NT status. */
static NTSTATUS ioctl_locked(unsigned long cmd, void *args, const __u32 *status)
{
	int fd = dev_fd_locked();
	long ret;

	if (fd < 0)
		return STATUS_NOT_SUPPORTED;
	ret = nt_ioctl(fd, cmd, args);
	if (ret)
		return errno_status((int)-ret);
	return (NTSTATUS)*status;
}

/* The page-table change an ioctl asked for; the caller holds ntvm_lock. */
static NTSTATUS apply_locked(__u64 base, __u64 size, __u32 apply, __u32 prot)
{
	if (apply & NTVM_APPLY_LARGE_PAGES)	/* memapi.c */
		return ntvm_large_apply(base, size, prot);
	if ((apply & NTVM_APPLY_MPROTECT) &&
	    mprotect((void *)(uintptr_t)base, size, prot))
		return apply_status(errno, prot);
	/*
	 * A lazy reset is advice: if the kernel declines, the data stays.
	 * Then tell the module the discards of that range are no longer ours.
	 */
	if (apply & NTVM_APPLY_MADV_FREE) {
		madvise((void *)(uintptr_t)base, size, MADV_FREE);
		nt_ioctl(dev_fd_locked(), NTVM_IOC_RESET_DONE, NULL);
	}
	return STATUS_SUCCESS;
}

/*
 * Put back a protection the failed mprotect() changed.  Under memory
 * pressure (a VMA split that needs an allocation) a retry usually works:
 * tried as often as the module tries its own restoring steps.
 */
#define RESTORE_TRIES 8

static void restore_prot(__u64 base, __u64 size, __u32 prot)
{
	int tries;

	for (tries = 0; tries < RESTORE_TRIES; tries++)
		if (!mprotect((void *)(uintptr_t)base, size, prot) ||
		    (errno != ENOMEM && errno != EAGAIN))
			break;
}

/*
 * The mprotect() of a commit or protection change failed: the module takes
 * the NT change back and says which protections to put back (those
 * mprotect() changed before it failed), so that the failed call changes
 * nothing.  Only this failure path costs more kernel entries.  If the
 * kernel cannot put everything back, the NT state says what memory holds
 * (Documentation/ntvm.rst, "Failed calls").  The caller holds ntvm_lock.
 */
static void undo_locked(__u64 base, __u64 size)
{
	struct ntvm_undo_range r[NTVM_UNDO_MAX_RANGES];
	struct ntvm_undo_args u;
	int fd = dev_fd_locked(), saved_errno = errno;
	__u32 i;

	do {
		u = (struct ntvm_undo_args){
			.size = sizeof(u), .base = base, .region_size = size,
			.ranges = (uintptr_t)r, .max_count = NTVM_UNDO_MAX_RANGES,
		};
		if (nt_ioctl(fd, NTVM_IOC_UNDO, &u))
			break;
		for (i = 0; i < u.count && i < NTVM_UNDO_MAX_RANGES; i++)
			restore_prot(r[i].base, r[i].size, r[i].prot);
	} while (u.more && u.count);
	errno = saved_errno;
}

static NTSTATUS allocate(HANDLE process, PVOID *base, PSIZE_T size,
			 struct ntvm_alloc_args *a)
{
	NTSTATUS st;

	a->size = sizeof(*a);
	a->flags |= ntvm_process_flags(process);
	a->base_ptr = (uintptr_t)base;
	a->size_ptr = (uintptr_t)size;
	lock();
	st = ioctl_locked(NTVM_IOC_ALLOCATE, a, &a->status);
	if (!st && (a->out_flags & NTVM_OUT_WRITE_WATCH))
		ntvm_ww_allocated(a);
	if (!st && a->apply) {
		/* The module left the results to be written once finished. */
		st = apply_locked(a->base, a->region_size, a->apply, a->apply_prot);
		if (!st) {
			*base = (PVOID)(uintptr_t)a->base;
			*size = a->region_size;
		} else if (a->apply & NTVM_APPLY_MPROTECT) {
			undo_locked(a->base, a->region_size);
		}
	}
	unlock();
	return st;
}

/* The ioctl path of NtAllocateVirtualMemory. */
static __attribute__((noinline)) NTSTATUS
allocate_nt(HANDLE process, PVOID *base, ULONG_PTR zero_bits, PSIZE_T size,
	    ULONG type, ULONG protect)
{
	struct ntvm_alloc_args a = {
		.zero_bits = zero_bits, .type = type, .protect = protect,
	};

	return allocate(process, base, size, &a);
}

NTVM_EXPORT NTSTATUS NtAllocateVirtualMemory(HANDLE process, PVOID *base,
					     ULONG_PTR zero_bits, PSIZE_T size,
					     ULONG type, ULONG protect)
{
	NTSTATUS st;

	/* What the shared NT state answers needs no kernel entry (shared.c). */
	if (process == NtCurrentProcess() && !zero_bits &&
	    ntvm_shared_allocate(base, size, type, protect, &st))
		return st;
	return allocate_nt(process, base, zero_bits, size, type, protect);
}

/*
 * Copy n bytes of the caller's memory at src, which may be wild: 0, or -1
 * if it cannot be read.  NT probes the extended parameters and the
 * address requirements they point to (and NtSetInformationVirtualMemory's
 * entries and block, memapi.c): a bad pointer is STATUS_ACCESS_VIOLATION,
 * not a fault.  process_vm_readv() on the
 * process itself reads through the kernel's user copy (one system call,
 * on the path of extended parameters only); a sandbox that forbids it
 * gets a plain copy.
 */
int ntvm_copy_user_memory(void *dst, const void *src, size_t n)
{
	struct iovec local = { dst, n }, remote = { (void *)src, n };
	ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

	if (got == (ssize_t)n)
		return 0;
	if (got < 0 && (errno == ENOSYS || errno == EPERM)) {
		memcpy(dst, src, n);
		return 0;
	}
	return -1;
}

/*
 * The extended parameters of NtAllocateVirtualMemoryEx and
 * NtMapViewOfSectionEx (spec 8): each type at most once, address
 * requirements copied into *req (*has_req: given), attribute flags
 * checked, a NUMA node accepted (one node: any number is satisfied).
 * Each parameter is read as the loop reaches it, so the work stops at
 * the first bad one whatever count says.  What Windows takes and ntvm
 * does not (STATUS_NOT_SUPPORTED) is reported only once every parameter
 * has passed Windows' own checks: ImageMachine given twice is
 * STATUS_INVALID_PARAMETER, as on Windows (spec 2.6.5).
 */
NTSTATUS ntvm_ext_params(const MEM_EXTENDED_PARAMETER *params, ULONG count,
			 MEM_ADDRESS_REQUIREMENTS *req, bool *has_req)
{
	NTSTATUS st, unsupported = STATUS_SUCCESS;
	unsigned int seen = 0, t;
	MEM_EXTENDED_PARAMETER p;
	ULONG i;

	*has_req = false;
	if (count && !params)
		return STATUS_INVALID_PARAMETER;
	for (i = 0; i < count; i++) {
		if (ntvm_copy_user_memory(&p, &params[i], sizeof(p)))
			return STATUS_ACCESS_VIOLATION;
		t = p.Type;
		if (t == MemExtendedParameterInvalidType ||
		    t >= MemExtendedParameterMax || (seen & (1u << t)))
			return STATUS_INVALID_PARAMETER;
		seen |= 1u << t;
		switch (t) {
		case MemExtendedParameterAddressRequirements:
			if (!p.Pointer ||
			    ntvm_copy_user_memory(req, p.Pointer, sizeof(*req)))
				return STATUS_ACCESS_VIOLATION;
			*has_req = true;
			break;
		case MemExtendedParameterNumaNode:
			break;
		case MemExtendedParameterAttributeFlags:
			st = ntvm_ext_attribute_flags(p.ULong64);
			if (st == STATUS_NOT_SUPPORTED)
				unsupported = st;
			else if (st)
				return st;
			break;
		default:
			unsupported = STATUS_NOT_SUPPORTED;
			break;
		}
	}
	return unsupported;
}

NTVM_EXPORT NTSTATUS NtAllocateVirtualMemoryEx(HANDLE process, PVOID *base,
					       PSIZE_T size, ULONG type,
					       ULONG protect,
					       MEM_EXTENDED_PARAMETER *params,
					       ULONG count)
{
	struct ntvm_alloc_args a = { .type = type, .protect = protect,
				     .flags = NTVM_ALLOC_EX };
	MEM_ADDRESS_REQUIREMENTS req;
	bool has_req;
	NTSTATUS st;

	/* The library's own array; the handle is the module's (allocate()). */
	st = ntvm_ext_params(params, count, &req, &has_req);
	if (st)
		return st;
	if (has_req) {
		a.flags |= NTVM_ALLOC_REQUIREMENTS;
		a.lowest = (uintptr_t)req.LowestStartingAddress;
		a.highest = (uintptr_t)req.HighestEndingAddress;
		a.alignment = req.Alignment;
	}
	return allocate(process, base, size, &a);
}

NTVM_EXPORT NTSTATUS NtFreeVirtualMemory(HANDLE process, PVOID *base,
					 PSIZE_T size, ULONG type)
{
	struct ntvm_free_args f = {
		.size = sizeof(f), .flags = ntvm_process_flags(process),
		.base_ptr = (uintptr_t)base, .size_ptr = (uintptr_t)size,
		.type = type,
	};
	NTSTATUS st;

	lock();
	st = ioctl_locked(NTVM_IOC_FREE, &f, &f.status);
	if (!st && (f.out_flags & NTVM_OUT_WRITE_WATCH))
		ntvm_ww_freed(&f);
	unlock();
	return st;
}

NTVM_EXPORT NTSTATUS NtProtectVirtualMemory(HANDLE process, PVOID *base,
					    PSIZE_T size, ULONG new_protect,
					    PULONG old_protect)
{
	struct ntvm_protect_args p = {
		.size = sizeof(p), .flags = ntvm_process_flags(process),
		.base_ptr = (uintptr_t)base, .size_ptr = (uintptr_t)size,
		.old_protect_ptr = (uintptr_t)old_protect,
		.protect = new_protect,
	};
	NTSTATUS st;

	lock();
	st = ioctl_locked(NTVM_IOC_PROTECT, &p, &p.status);
	if (!st && p.apply) {
		/* The module left the results to be written once finished. */
		st = apply_locked(p.base, p.region_size, p.apply, p.apply_prot);
		if (!st) {
			*base = (PVOID)(uintptr_t)p.base;
			*size = p.region_size;
			*old_protect = p.old_protect;
		} else {
			undo_locked(p.base, p.region_size);
		}
	}
	if (!st && (p.out_flags & NTVM_OUT_WRITE_WATCH))	/* the latch */
		ntvm_ww_protected(p.base, p.region_size);
	unlock();
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

static NTSTATUS query(HANDLE process, uintptr_t start, uintptr_t end,
		      struct ntvm_region *out, ULONG *count)
{
	struct ntvm_query_args q = {
		.size = sizeof(q), .flags = ntvm_process_flags(process),
		.address = start, .end = end, .regions = (uintptr_t)out,
		.region_size = sizeof(*out), .count = *count,
	};
	NTSTATUS st;

	lock();
	st = ioctl_locked(NTVM_IOC_QUERY, &q, &q.status);
	unlock();
	if (!st)
		*count = q.count;
	return st;
}

/*
 * MemoryBasicInformation is the module's whole (NTVM_QUERY_INFO): the
 * length, the buffer and ReturnLength checked as NT checks them, and the
 * structure written there.  The other classes are memapi.c's.
 */
NTVM_EXPORT NTSTATUS NtQueryVirtualMemory(HANDLE process, LPCVOID base,
					  MEMORY_INFORMATION_CLASS info_class,
					  PVOID info, SIZE_T length,
					  PSIZE_T result_length)
{
	struct ntvm_query_args q = {
		.size = sizeof(q),
		.flags = ntvm_process_flags(process) | NTVM_QUERY_INFO,
		.address = (uintptr_t)base, .regions = (uintptr_t)info,
		.count = 1, .info_length = length,
		.ret_len_ptr = (uintptr_t)result_length,
	};
	NTSTATUS st;

	if (info_class != MemoryBasicInformation)	/* memapi.c */
		return ntvm_query_more(process, base, info_class, info, length,
				       result_length);
	lock();
	st = ioctl_locked(NTVM_IOC_QUERY, &q, &q.status);
	unlock();
	return st;
}

NTVM_EXPORT NTSTATUS ntvm_query_regions(LPCVOID start, LPCVOID end,
					MEMORY_BASIC_INFORMATION *regions,
					ULONG *count)
{
	/* In steps on the stack: a query must not map memory itself. */
	struct ntvm_region r[32];
	uintptr_t at = (uintptr_t)start;
	ULONG done = 0, n, i;
	NTSTATUS st = STATUS_SUCCESS;

	if (!regions || !count)
		return STATUS_ACCESS_VIOLATION;
	if (!*count || (uintptr_t)end <= at)
		return STATUS_INVALID_PARAMETER;
	while (done < *count && at < (uintptr_t)end) {
		n = *count - done < 32 ? *count - done : 32;
		st = query(NtCurrentProcess(), at, (uintptr_t)end, r, &n);
		if (st || !n)
			break;
		for (i = 0; i < n; i++)
			region_to_mbi(&r[i], &regions[done + i]);
		done += n;
		at = r[n - 1].base + r[n - 1].size;
		if (n < 32)
			break;
	}
	if (st && !done)
		return st;
	*count = done;
	return STATUS_SUCCESS;
}

NTVM_EXPORT NTSTATUS ntvm_get_stats(struct ntvm_stats *stats)
{
	NTSTATUS st = STATUS_SUCCESS;
	long ret;
	int fd;

	if (!stats)
		return STATUS_ACCESS_VIOLATION;
	lock();
	fd = dev_fd_locked();
	if (fd < 0) {
		st = STATUS_NOT_SUPPORTED;
	} else {
		ret = nt_ioctl(fd, NTVM_IOC_STATS, stats);
		if (ret)
			st = errno_status((int)-ret);
	}
	unlock();
	return st;
}

/* RtlNtStatusToDosError for the statuses this API returns (spec 0.2). */
NTVM_EXPORT ULONG RtlNtStatusToDosError(NTSTATUS status)
{
	switch ((uint32_t)status) {
	case NTVM_STATUS_SUCCESS:
		return ERROR_SUCCESS;
	case NTVM_STATUS_UNSUCCESSFUL:
		return ERROR_GEN_FAILURE;
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
	case NTVM_STATUS_INCOMPATIBLE_FILE_MAP:
		return ERROR_INVALID_PARAMETER;
	case NTVM_STATUS_ALREADY_COMMITTED:
	case NTVM_STATUS_ACCESS_DENIED:
		return ERROR_ACCESS_DENIED;
	case NTVM_STATUS_NO_MEMORY:
		return ERROR_NOT_ENOUGH_MEMORY;
	case NTVM_STATUS_ACCESS_VIOLATION:
	case NTVM_STATUS_DATATYPE_MISALIGNMENT:
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
	case NTVM_STATUS_NOT_LOCKED:
		return ERROR_NOT_LOCKED;
	case NTVM_STATUS_WORKING_SET_QUOTA:
		return ERROR_WORKING_SET_QUOTA;
	default:
		return ntvm_section_dos_error(status) ?: ERROR_MR_MID_NOT_FOUND;
	}
}


/* For writewatch.c. */
void ntvm_lib_lock(void)
{
	lock();
}

void ntvm_lib_unlock(void)
{
	unlock();
}

NTSTATUS ntvm_ioctl_locked(unsigned long cmd, void *args, const __u32 *status)
{
	return ioctl_locked(cmd, args, status);
}

/* The geometry the module reports, asked for once. */
int ntvm_geometry(struct ntvm_api *out)
{
	static struct ntvm_api api;
	static const __u32 ok;
	int ret = 0;

	lock();
	if (!api.api) {
		struct ntvm_api a = { .size = sizeof(a), .api = NTVM_API };

		if (ioctl_locked(NTVM_IOC_API, &a, &ok) == STATUS_SUCCESS)
			api = a;
		else
			ret = -1;
	}
	*out = api;
	unlock();
	return ret;
}

/* ---- Guard pages ---- */

/* Windows' access type of a fault, from the x86 page-fault error code. */
static ULONG_PTR access_type(const void *ucontext)
{
#if defined(__x86_64__) || defined(__i386__)
	const ucontext_t *uc = ucontext;
	unsigned long err = uc ? uc->uc_mcontext.gregs[REG_ERR] : 0;

	if (err & 0x10)
		return 8;	/* EXCEPTION_EXECUTE_FAULT */
	if (err & 0x2)
		return 1;	/* EXCEPTION_WRITE_FAULT */
#else
	(void)ucontext;
#endif
	return 0;		/* EXCEPTION_READ_FAULT */
}

static PVOID fault_ip(const void *ucontext)
{
#if defined(__x86_64__)
	const ucontext_t *uc = ucontext;

	return uc ? (PVOID)uc->uc_mcontext.gregs[REG_RIP] : NULL;
#elif defined(__i386__)
	const ucontext_t *uc = ucontext;

	return uc ? (PVOID)uc->uc_mcontext.gregs[REG_EIP] : NULL;
#else
	(void)ucontext;
	return NULL;
#endif
}

NTVM_EXPORT NTSTATUS ntvm_guard_fault(const siginfo_t *si, const void *ucontext,
				      NTVM_GUARD_EXCEPTION *exception)
{
	struct ntvm_guard_args g = { .size = sizeof(g) };
	int held = ntvm_lock_held, saved_errno = errno;
	NTSTATUS st;

	/* Guard pages fault as access errors, raised by the kernel. */
	if (!si || si->si_signo != SIGSEGV || si->si_code != SEGV_ACCERR)
		return STATUS_ACCESS_VIOLATION;
	g.address = (uintptr_t)si->si_addr;
	g.access = access_type(ucontext);
	/* A fault inside libntvm's own locked section already holds it. */
	if (!held)
		lock();
	st = ioctl_locked(NTVM_IOC_GUARD, &g, &g.status);
	if (st == STATUS_GUARD_PAGE_VIOLATION &&
	    apply_locked(g.base, 4096, g.apply, g.apply_prot))
		st = STATUS_ACCESS_VIOLATION;
	if (!held)
		unlock();
	if (st == STATUS_GUARD_PAGE_VIOLATION && exception) {
		exception->ExceptionCode = STATUS_GUARD_PAGE_VIOLATION;
		exception->NumberParameters = 2;
		exception->ExceptionAddress = fault_ip(ucontext);
		exception->ExceptionInformation[0] = access_type(ucontext);
		exception->ExceptionInformation[1] = (ULONG_PTR)si->si_addr;
	}
	errno = saved_errno;
	return st;
}

static struct sigaction ntvm_old_segv;
static NTVM_GUARD_CALLBACK ntvm_guard_cb;
static void *ntvm_guard_ctx;

static void guard_handler(int sig, siginfo_t *si, void *ucontext)
{
	NTVM_GUARD_EXCEPTION e;
	NTSTATUS st = ntvm_guard_fault(si, ucontext, &e);

	if (st == STATUS_GUARD_PAGE_VIOLATION) {
		if (ntvm_guard_cb)
			ntvm_guard_cb(&e, ntvm_guard_ctx);
		return;		/* the access runs again, and succeeds */
	}
	if (st == STATUS_SUCCESS)
		return;
	/* Not a guard page: whoever handled SIGSEGV before, or the default. */
	if ((ntvm_old_segv.sa_flags & SA_SIGINFO) && ntvm_old_segv.sa_sigaction) {
		ntvm_old_segv.sa_sigaction(sig, si, ucontext);
	} else if (ntvm_old_segv.sa_handler != SIG_DFL &&
		   ntvm_old_segv.sa_handler != SIG_IGN) {
		ntvm_old_segv.sa_handler(sig);
	} else {
		/* Re-executing the access now takes the default action. */
		signal(SIGSEGV, SIG_DFL);
	}
}

NTVM_EXPORT int ntvm_install_guard_handler(NTVM_GUARD_CALLBACK callback,
					   void *context)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = guard_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	ntvm_guard_cb = callback;
	ntvm_guard_ctx = context;
	return sigaction(SIGSEGV, &sa, &ntvm_old_segv);
}
