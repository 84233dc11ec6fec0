/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the ntvm guest programs (tests, demo, benchmark). */
#ifndef NTVM_SELFTEST_H
#define NTVM_SELFTEST_H

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ntvm.h>

#define KB(x) ((SIZE_T)(x) << 10)
#define MB(x) ((SIZE_T)(x) << 20)

/*
 * Run on this CPU only, for a test that has the kernel drop pages with
 * MADV_PAGEOUT: MADV_FREE queues the pages it makes lazy on the CPU it
 * runs on, and MADV_PAGEOUT drains only its own CPU's queue, so after a
 * move to another CPU in between it would find them off the LRU and drop
 * nothing.
 */
static inline int pin_to_this_cpu(void)
{
	cpu_set_t cpus;

	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	return sched_setaffinity(0, sizeof(cpus), &cpus);
}

/* Live address spaces and allocations, from debugfs; -1 if unreadable. */
static inline long ntvm_counter(const char *name)
{
	FILE *f = fopen("/sys/kernel/debug/ntvm/counters", "r");
	char key[64];
	long val, ret = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &val) == 2)
		if (!strcmp(key, name))
			ret = val;
	fclose(f);
	return ret;
}

/*
 * Without a usable /dev/ntvm (no module, no permission, another ABI) a
 * program skips as a whole, the kselftest way: "1..0 # SKIP why" and exit
 * status 4 (KSFT_SKIP), before any test runs.
 */
__attribute__((constructor)) static void ntvm_skip_without_device(void)
{
	if (ntvm_availability() == NTVM_AVAILABLE)
		return;
	printf("TAP version 13\n1..0 # SKIP ntvm is not usable here (%s): %s\n",
	       ntvm_availability_string(ntvm_availability()), ntvm_diagnostic());
	fflush(stdout);
	exit(4);
}

/*
 * How many times slower than a Debian kernel this one is: make
 * check-debug boots its KASAN/lockdep kernel with ntvm_test_scale=N on the
 * command line, and the tests that size their work for a Debian kernel
 * divide it by N (1 elsewhere).
 */
static inline unsigned int ntvm_test_scale(void)
{
	static unsigned int scale;
	char buf[4096], *p;
	FILE *f;

	if (scale)
		return scale;
	scale = 1;
	f = fopen("/proc/cmdline", "r");
	if (f) {
		if (fgets(buf, sizeof(buf), f) &&
		    (p = strstr(buf, "ntvm_test_scale=")) && atoi(p + 16) > 0)
			scale = atoi(p + 16);
		fclose(f);
	}
	return scale;
}

/* ---- The test programs' view of NT state ---- */

#define CUR NtCurrentProcess()
#define P(x) ((PVOID)(uintptr_t)(x))
#define U(x) ((uintptr_t)(x))

/* NtAllocateVirtualMemory of the calling process, ZeroBits 0. */
static inline NTSTATUS nt_alloc(PVOID *base, SIZE_T size, ULONG type, ULONG prot)
{
	return NtAllocateVirtualMemory(CUR, base, 0, &size, type, prot);
}

/* Frees; on failure the caller's variables must stay as they were. */
static inline NTSTATUS nt_free_out(PVOID *base, SIZE_T *size, ULONG type)
{
	PVOID b = *base;
	SIZE_T s = *size;
	NTSTATUS st = NtFreeVirtualMemory(CUR, &b, &s, type);

	if (st && (b != *base || s != *size))
		return (NTSTATUS)0xdeadbeef;
	*base = b;
	*size = s;
	return st;
}

static inline NTSTATUS nt_free(PVOID base, SIZE_T size, ULONG type)
{
	return nt_free_out(&base, &size, type);
}

/* ---- The shared NT state (uapi: struct ntvm_shared) ---- */

/* This process's shared NT state, mapped again; NULL if it cannot be. */
static inline const struct ntvm_shared *shared_map(void)
{
	void *p = mmap(NULL, NTVM_SHARED_SIZE, PROT_READ, MAP_SHARED, ntvm_fd(),
		       NTVM_SHARED_OFFSET);

	return p == MAP_FAILED ? NULL : p;
}

/* The published ranges, read as the uapi header says, into g: how many. */
static inline __u32 shared_snapshot(const struct ntvm_shared *sh,
				    struct ntvm_shared_range *g)
{
	__u32 seq, n;

	do {
		while ((seq = __atomic_load_n(&sh->seq, __ATOMIC_ACQUIRE)) & 1)
			;
		n = __atomic_load_n(&sh->count, __ATOMIC_RELAXED);
		if (n > NTVM_SHARED_MAX_RANGES)
			n = NTVM_SHARED_MAX_RANGES + 1;	/* ill-formed */
		else
			memcpy(g, (const void *)sh->ranges, n * sizeof(*g));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while (__atomic_load_n(&sh->seq, __ATOMIC_RELAXED) != seq);
	return n;
}

/* Sorted, disjoint, non-empty, page-aligned, flags zero? */
static inline int shared_well_formed(const struct ntvm_shared_range *g, __u32 n)
{
	__u32 i;

	if (n > NTVM_SHARED_MAX_RANGES)
		return 0;
	for (i = 0; i < n; i++) {
		if (g[i].base >= g[i].end || g[i].flags ||
		    ((g[i].base | g[i].end) & (NTVM_PAGE_SIZE - 1)) ||
		    (i && g[i - 1].end > g[i].base))
			return 0;
	}
	return 1;
}

/* NtQueryVirtualMemory of addr; 0xee bytes if it fails. */
static inline MEMORY_BASIC_INFORMATION region_of(const void *addr)
{
	MEMORY_BASIC_INFORMATION m;
	SIZE_T len = 0;

	memset(&m, 0xcc, sizeof(m));
	if (NtQueryVirtualMemory(CUR, addr, MemoryBasicInformation, &m,
				 sizeof(m), &len) || len != sizeof(m))
		memset(&m, 0xee, sizeof(m));
	return m;
}

/*
 * A Win32 call that fails: it returns 0 (FALSE, NULL) and sets the last
 * error to err.  The last error is cleared first, so that a stale one
 * can't pass (kselftest_harness.h).
 */
#define EXPECT_WIN32_ERROR(err, call) do {				\
	SetLastError(0);						\
	EXPECT_EQ(0, (uintptr_t)(call));				\
	EXPECT_EQ((DWORD)(err), GetLastError());			\
} while (0)

/* Every field of the region that contains addr (kselftest_harness.h). */
#define EXPECT_REGION(addr, base, abase, aprot, size, state, prot, type) do { \
	MEMORY_BASIC_INFORMATION __m = region_of(P(addr));		\
	EXPECT_EQ(U(base), U(__m.BaseAddress));				\
	EXPECT_EQ(U(abase), U(__m.AllocationBase));			\
	EXPECT_EQ((DWORD)(aprot), __m.AllocationProtect);		\
	EXPECT_EQ((SIZE_T)(size), __m.RegionSize);			\
	EXPECT_EQ((DWORD)(state), __m.State);				\
	EXPECT_EQ((DWORD)(prot), __m.Protect);				\
	EXPECT_EQ((DWORD)(type), __m.Type);				\
} while (0)

/*
 * NtQueryVirtualMemory's order once the length is right, for class cls:
 * the buffer (bad: one it must refuse) before the address (above: past
 * the user range) and the handle, then the address before the handle;
 * good is a buffer of len bytes it accepts.  None of the calls writes
 * *rl (kselftest_harness.h).
 */
#define EXPECT_QUERY_ORDER(cls, base, above, good, bad, len, rl) do {	\
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,					\
		  NtQueryVirtualMemory(CUR, P(above), cls, bad, len, rl));	\
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,					\
		  NtQueryVirtualMemory(NULL, base, cls, bad, len, rl));	\
	EXPECT_EQ(STATUS_INVALID_PARAMETER,					\
		  NtQueryVirtualMemory(CUR, P(above), cls, good, len, rl));	\
	EXPECT_EQ(STATUS_INVALID_PARAMETER,					\
		  NtQueryVirtualMemory(NULL, P(above), cls, good, len, rl));	\
	EXPECT_EQ(STATUS_INVALID_HANDLE,					\
		  NtQueryVirtualMemory(NULL, base, cls, good, len, rl));	\
} while (0)

/*
 * A read-only page of NT variables for the bad-pointer tests: a PVOID at
 * [0] and a SIZE_T at [1], the rest zero.  NULL if it cannot be made.
 */
static inline PVOID *ro_variables(PVOID base, SIZE_T size)
{
	PVOID *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (ro == MAP_FAILED)
		return NULL;
	ro[0] = base;
	((SIZE_T *)ro)[1] = size;
	if (mprotect(ro, 4096, PROT_READ)) {
		munmap(ro, 4096);
		return NULL;
	}
	return ro;
}

/* Two pages, a writable one and then a read-only one; NULL on failure. */
static inline void *rw_then_ro_pages(void)
{
	char *p = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + 4096, 4096, PROT_READ)) {
		munmap(p, 2 * 4096);
		return NULL;
	}
	return p;
}

/* The module's statistics; all bits set if the call fails. */
static inline struct ntvm_stats stats(void)
{
	struct ntvm_stats st;

	if (ntvm_get_stats(&st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

/*
 * For a failure that depends on what else is mapped: the mappings that
 * overlap [lo, hi), and the NT region at lo, on stderr as TAP comments.
 */
static inline void log_maps(uintptr_t lo, uintptr_t hi)
{
	MEMORY_BASIC_INFORMATION m = region_of((void *)lo);
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long s, e;
	char line[512];

	fprintf(stderr, "# at %#lx: base %p alloc %p size %#zx state %#x type %#x\n",
		(unsigned long)lo, m.BaseAddress, m.AllocationBase, m.RegionSize,
		(unsigned int)m.State, (unsigned int)m.Type);
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s < hi && e > lo)
			fprintf(stderr, "# maps: %s", line);
	}
	if (f)
		fclose(f);
}

/* Does reading (or writing) addr fault?  Checked in a child. */
static inline int faults(void *addr, int write)
{
	pid_t pid = fork();
	int status;

	if (!pid) {
		if (write)
			*(volatile char *)addr = 1;
		else
			(void)*(volatile char *)addr;
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

#endif
