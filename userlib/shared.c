// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libntvm: the NT calls that the shared NT state answers without a kernel
 * entry for the NT call itself (uapi: struct ntvm_shared;
 * Documentation/ntvm.rst, "The shared NT state").
 *
 * The module publishes ranges of committed plain private memory with
 * their protection.  Where a range covers a call's pages:
 *  - a MEM_COMMIT with that protection changes nothing: the module would
 *    have returned STATUS_SUCCESS and the page-rounded range, and so does
 *    this;
 *  - a MEM_RESET is the madvise(MADV_FREE) the module would have asked
 *    for; the module sees that madvise() in its notifier and watches the
 *    range for MEM_RESET_UNDO as it would have.
 * Anything else, or a range not published, takes the ioctl path; a commit
 * there of pages already committed publishes them, so the next call finds
 * them.
 *
 * The caller's BaseAddress and RegionSize are read and written here only
 * when they lie in the calling thread's stack, above its stack pointer:
 * memory that cannot fault.  The module reads any other pointer, and
 * answers STATUS_ACCESS_VIOLATION for a bad one, as NT does.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#include "ntvm.h"
#include "internal.h"

/* The mapped page, or NULL; set under the library lock, read without. */
static const struct ntvm_shared *shared;

/* The calling thread's stack, [lo, hi); hi == 1: unknown. */
static __thread uintptr_t stack_lo __attribute__((tls_model("initial-exec")));
static __thread uintptr_t stack_hi __attribute__((tls_model("initial-exec")));

/* Map the shared NT state of fd (library lock held); harmless when absent. */
void ntvm_shared_map(int fd)
{
	void *p;

	if (shared || fd < 0 ||
	    !(ntvm_probe_features() & NTVM_FEATURE_SHARED_STATE))
		return;
	p = mmap(NULL, NTVM_SHARED_SIZE, PROT_READ, MAP_SHARED, fd,
		 NTVM_SHARED_OFFSET);
	if (p == MAP_FAILED)
		return;
	__atomic_store_n(&shared, (const struct ntvm_shared *)p,
			 __ATOMIC_RELEASE);
}

/* In a forked child: the module did not copy the mapping. */
void ntvm_shared_forget(void)
{
	shared = NULL;
}

static void stack_bounds(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;

	stack_hi = 1;
	if (pthread_getattr_np(pthread_self(), &attr))
		return;
	if (!pthread_attr_getstack(&attr, &addr, &size)) {
		stack_lo = (uintptr_t)addr;
		stack_hi = (uintptr_t)addr + size;
	}
	pthread_attr_destroy(&attr);
}

/*
 * Do both variables lie in this thread's stack, above the stack pointer?
 * Such memory is mapped and writable (the caller's frames).  A thread on
 * another stack (sigaltstack, coroutines) fails the test.
 */
static inline int vars_on_stack(const void *a, const void *b, size_t n)
{
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	uintptr_t lo = (uintptr_t)a < (uintptr_t)b ? (uintptr_t)a : (uintptr_t)b;
	uintptr_t hi = ((uintptr_t)a > (uintptr_t)b ? (uintptr_t)a : (uintptr_t)b) + n;

	if (__builtin_expect(!stack_hi, 0))
		stack_bounds();
	return here - stack_lo < stack_hi - stack_lo && lo >= here &&
	       hi > lo && hi <= stack_hi;
}

/* One output of the caller's (memapi.c's probes: ntvm_probe_outputs()). */
int ntvm_on_stack(const void *p, size_t n)
{
	return vars_on_stack(p, p, n);
}

/*
 * The published range that holds [lo, hi): its protection in *protect,
 * and 1; 0 when none does, or the module was writing (then the ioctl path
 * decides).
 */
static int shared_lookup(const struct ntvm_shared *sh, uintptr_t lo,
			 uintptr_t hi, __u32 *protect)
{
	const struct ntvm_shared_range *r;
	__u32 seq, n, l, h, m;
	int found = 0;

	seq = __atomic_load_n(&sh->seq, __ATOMIC_ACQUIRE);
	if (seq & 1)
		return 0;
	n = __atomic_load_n(&sh->count, __ATOMIC_RELAXED);
	if (n > NTVM_SHARED_MAX_RANGES)
		return 0;
	/* The last range that starts at or below lo. */
	for (l = 0, h = n; l < h;) {
		m = l + (h - l) / 2;
		if (__atomic_load_n(&sh->ranges[m].base, __ATOMIC_RELAXED) <= lo)
			l = m + 1;
		else
			h = m;
	}
	if (l) {
		r = &sh->ranges[l - 1];
		found = __atomic_load_n(&r->end, __ATOMIC_RELAXED) >= hi;
		*protect = __atomic_load_n(&r->protect, __ATOMIC_RELAXED);
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return found && __atomic_load_n(&sh->seq, __ATOMIC_RELAXED) == seq;
}

/* The protections every allocation type takes (nt_check_protect()). */
static int base_protection(ULONG protect)
{
	switch (protect) {
	case PAGE_NOACCESS:
	case PAGE_READONLY:
	case PAGE_READWRITE:
	case PAGE_EXECUTE:
	case PAGE_EXECUTE_READ:
	case PAGE_EXECUTE_READWRITE:
		return 1;
	default:
		return 0;
	}
}

/*
 * NtAllocateVirtualMemory(NtCurrentProcess(), base, 0, size, type,
 * protect): 1 when answered here, with the status in *st; 0 for the
 * ioctl path.
 */
int ntvm_shared_allocate(PVOID *base, PSIZE_T size, ULONG type,
			 ULONG protect, NTSTATUS *st)
{
	const struct ntvm_shared *sh = __atomic_load_n(&shared, __ATOMIC_ACQUIRE);
	uintptr_t b, lo, hi;
	__u32 prot;
	SIZE_T s;
	int done = 0;

	if (!sh || !__atomic_load_n(&sh->count, __ATOMIC_RELAXED) ||
	    (type != MEM_COMMIT && type != MEM_RESET) ||
	    !vars_on_stack(base, size, sizeof(*base)))
		return 0;
	b = (uintptr_t)*base;
	s = *size;
	if (!b || !s || b + s < b || b + s > UINTPTR_MAX - (NTVM_PAGE_SIZE - 1))
		return 0;
	lo = b & ~(uintptr_t)(NTVM_PAGE_SIZE - 1);
	hi = (b + s + NTVM_PAGE_SIZE - 1) & ~(uintptr_t)(NTVM_PAGE_SIZE - 1);
	if (type == MEM_COMMIT) {
		/* Committed with this protection: nothing to change. */
		done = shared_lookup(sh, lo, hi, &prot) && prot == protect;
	} else if (base_protection(protect)) {
		/*
		 * Under the lock, so that none of this process's NT calls
		 * changes the range between the lookup and the madvise().
		 * The module watches the range through the madvise() it sees
		 * in its notifier.  One the kernel refuses (a VirtualLock()ed
		 * range: EINVAL) reaches no notifier, so the ioctl path does
		 * the call instead: it watches the range itself, and the data
		 * stays there too (a lazy reset is advice).
		 */
		ntvm_lib_lock();
		done = shared_lookup(sh, lo, hi, &prot) &&
		       !madvise((void *)lo, hi - lo, MADV_FREE);
		ntvm_lib_unlock();
	}
	if (!done)
		return 0;
	*base = (PVOID)lo;
	*size = hi - lo;
	*st = STATUS_SUCCESS;
	return 1;
}
