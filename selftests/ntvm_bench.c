// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm benchmark: each NT operation next to the raw Linux syscalls that do
 * the same memory work, in the same process, alternated, median of three.
 * Not a test: it prints tables of costs, ratios and kernel entries, and the
 * same figures as CSV lines ("csv:" prefix; selftests/bench-run collects
 * them).
 *
 * Run it with "make bench" (selftests/vm-run --icount): guest clocks then
 * count instructions, so the ratios repeat from run to run.
 *
 *   ntvm_bench [-t MS] [-n ITERATIONS] [-r REPETITIONS] [-s BYTES]
 *              [-c CASE[,CASE]...] [-p] [-W] [-w] [-P]
 *
 *   -t MS   guest milliseconds of timed work per measurement (default 50);
 *           the iteration count of each case follows from a probe of the
 *           raw side, so cheap and costly cases take about as long
 *   -n N    exactly N iterations per measurement instead (quick checks)
 *   -r R    repetitions, the median is printed (default 3)
 *   -s B    size of each population allocation (default 64K)
 *   -c KEY  only the cases whose key contains KEY (or one of several
 *           KEYs, separated by commas)
 *   -p      each case at its summary population only (quick checks)
 *   -W      without the write-watch part
 *   -w      the write-watch part only
 *   -P      the placeholder cycle per call only (-n: its cycles)
 *
 * Three parts:
 *  - Kernel entries: every case runs once in a child under a ptrace
 *    syscall counter (the guest has no strace): the system calls between
 *    two marker calls, divided by the NT calls made, for ntvm and for raw.
 *    Page faults (getrusage) are counted apart.
 *  - Timing, by population: the process holds 1, 10, 100, 1,000, 2,000,
 *    10,000 and 100,000 live allocations in turn (64K reservations by
 *    default; Linux merges neighbouring ones into few VMAs, so the kernel's
 *    own costs stay flat and the growth measured is ntvm's; with -s 4096
 *    each is a VMA of its own).  The sweep cases run at every population,
 *    the others at the ones they name.  The cases' own regions come on top.
 *  - Write watch, for scale (no raw equivalent).
 *
 * Page-granular cases work in a 1 MiB (256-page) region: ntvm's is an NT
 * reservation, raw's a PROT_NONE mapping of the same size at the same
 * address (big_place()), and an iteration moves on to the next page,
 * cycling.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ntvm_selftest.h"

#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define GRAN 0x10000UL
#define PG 4096UL
#define BIG_PAGES 256			/* the 1 MiB region of the 4K cases */
#define BIG (BIG_PAGES * PG)

static double budget_ns = 50e6;
static long fixed_iters;
static int reps = 3;
static SIZE_T pop_size = GRAN;
static const char *only;
static int primary_only;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double t_start;

static void die(const char *what, long v)
{
	fprintf(stderr, "ntvm_bench: %s failed (%#lx)\n", what, v);
	exit(1);
}

/* ---- Regions ---- */

static char *nt_reserve(SIZE_T size)
{
	PVOID b = NULL;
	SIZE_T s = size;

	if (NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_RESERVE, PAGE_NOACCESS))
		die("reserve", size);
	return b;
}

static void nt_commit(char *p, SIZE_T size, ULONG prot)
{
	PVOID b = p;
	SIZE_T s = size;

	if (NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_COMMIT, prot))
		die("commit", (long)p);
}

static void nt_decommit(char *p, SIZE_T size)
{
	PVOID b = p;
	SIZE_T s = size;

	if (NtFreeVirtualMemory(CUR, &b, &s, MEM_DECOMMIT))
		die("decommit", (long)p);
}

static void nt_release(char *p)
{
	PVOID b = p;
	SIZE_T s = 0;

	if (p && NtFreeVirtualMemory(CUR, &b, &s, MEM_RELEASE))
		die("release", (long)p);
}

static char *raw_reserve(SIZE_T size)
{
	char *p = mmap(NULL, size, PROT_NONE, ANON | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap", size);
	return p;
}

static void raw_commit(char *p, SIZE_T size)
{
	if (mmap(p, size, PROT_READ | PROT_WRITE, ANON | MAP_FIXED, -1, 0) != p)
		die("mmap commit", (long)p);
}

static void raw_decommit(char *p, SIZE_T size)
{
	if (mmap(p, size, PROT_NONE, ANON | MAP_FIXED | MAP_NORESERVE, -1, 0) != p)
		die("mmap decommit", (long)p);
}

static void touch_pages(char *p, long n)
{
	long i;

	for (i = 0; i < n; i++)
		((volatile char *)p)[i * PG] = (char)i;
}

/*
 * The live allocations of the population, and the 1 MiB regions of the
 * page-granular cases: nt_big an NT reservation, raw_big a mapping.
 *
 * Both lie at one base, big_base, in turn (big_place() before each
 * measurement): where ntvm's placement puts the reservation.  What a
 * mapping's neighbours are changes what the kernel's own mmap() and
 * mprotect() cost there (the maple tree's nodes): on 6.12 the same raw
 * commit + decommit of a page costs up to 2,500 instructions more at one
 * base than at another, from one population to the next.  Side by side
 * at one base, the difference measured is ntvm's.
 */
static PVOID *pop_v;
static long npop;
static char *nt_big, *raw_big, *big_base;
static int big_committed;		/* committed and written, or reserved */

static void big_free(void)
{
	nt_release(nt_big);
	if (raw_big)
		munmap(raw_big, BIG);
	nt_big = raw_big = NULL;
}

/* The case's region: where ntvm puts a 1 MiB reservation now. */
static void big_reserve(void)
{
	big_base = nt_reserve(BIG);
	nt_release(big_base);
	big_committed = 0;
}

static void big_commit(void)
{
	big_reserve();
	big_committed = 1;
}

/* One side's region at big_base, the other's gone (setup of each case). */
static void big_place(int nt)
{
	PVOID b = big_base;
	SIZE_T s = BIG;

	big_free();
	if (nt) {
		if (NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_RESERVE,
					    PAGE_NOACCESS) || b != big_base)
			die("reserve at the region's base", (long)big_base);
		nt_big = big_base;
		if (big_committed) {
			nt_commit(nt_big, BIG, PAGE_READWRITE);
			touch_pages(nt_big, BIG_PAGES);
		}
	} else {
		raw_big = mmap(big_base, BIG, PROT_NONE,
			       ANON | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (raw_big != big_base)
			die("mmap at the region's base", (long)big_base);
		if (big_committed) {
			raw_commit(raw_big, BIG);
			touch_pages(raw_big, BIG_PAGES);
		}
	}
}

#define PAGE_OF(base, i) ((base) + ((i) % BIG_PAGES) * PG)

/* ---- Page-granular cases in a 1 MiB region ---- */

static void nt_commit_decommit_4k(long i)
{
	char *p = PAGE_OF(nt_big, i);

	nt_commit(p, PG, PAGE_READWRITE);
	nt_decommit(p, PG);
}

static void raw_commit_decommit_4k(long i)
{
	char *p = PAGE_OF(raw_big, i);

	raw_commit(p, PG);
	raw_decommit(p, PG);
}

/* A heap commits a page it already has, writes it, and resets it. */
static void nt_reset_4k(long i)
{
	char *p = PAGE_OF(nt_big, i);
	PVOID b = p;
	SIZE_T s = PG;

	nt_commit(p, PG, PAGE_READWRITE);
	*(volatile char *)p = 1;
	if (NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_RESET, PAGE_READWRITE))
		die("reset", (long)p);
}

static void raw_reset_4k(long i)
{
	char *p = PAGE_OF(raw_big, i);

	*(volatile char *)p = 1;
	madvise(p, PG, MADV_FREE);
}

static void nt_protect_4k(long i)
{
	PVOID b = PAGE_OF(nt_big, i);
	SIZE_T s = PG;
	ULONG old;

	if (NtProtectVirtualMemory(CUR, &b, &s, PAGE_READONLY, &old))
		die("protect", 0);
	if (NtProtectVirtualMemory(CUR, &b, &s, PAGE_READWRITE, &old))
		die("protect", 0);
}

static void raw_protect_4k(long i)
{
	char *p = PAGE_OF(raw_big, i);

	mprotect(p, PG, PROT_READ);
	mprotect(p, PG, PROT_READ | PROT_WRITE);
}

/* One address of one of the live allocations, a different one each time. */
static void nt_query_pop(long i)
{
	MEMORY_BASIC_INFORMATION m;
	long k = (i * 7919) % npop;

	if (NtQueryVirtualMemory(CUR, (char *)pop_v[k] + 0x800,
				 MemoryBasicInformation, &m, sizeof(m), NULL))
		die("query", k);
}

static void raw_query_pop(long i)
{
	unsigned char vec;
	long k = (i * 7919) % npop;

	mincore(pop_v[k], PG, &vec);
}

/*
 * Decommit a run of 4 pages in the middle of a committed region: run k is
 * pages 8k+2 .. 8k+5, so committed pages stay on both sides.  32 runs a
 * batch; between batches, untimed, the region is committed and written
 * again.
 */
#define RUN_PAGES 4
#define RUNS 32

static void nt_decommit_run(long i)
{
	nt_decommit(nt_big + ((i % RUNS) * 8 + 2) * PG, RUN_PAGES * PG);
}

static void raw_decommit_run(long i)
{
	raw_decommit(raw_big + ((i % RUNS) * 8 + 2) * PG, RUN_PAGES * PG);
}

static void nt_refill_runs(void)
{
	int k;

	nt_commit(nt_big, BIG, PAGE_READWRITE);
	for (k = 0; k < RUNS; k++)
		touch_pages(nt_big + (k * 8 + 2) * PG, RUN_PAGES);
}

static void raw_refill_runs(void)
{
	int k;

	for (k = 0; k < RUNS; k++) {
		raw_commit(raw_big + (k * 8 + 2) * PG, RUN_PAGES * PG);
		touch_pages(raw_big + (k * 8 + 2) * PG, RUN_PAGES);
	}
}

/*
 * An allocator's pattern, replayed: reserve a large heap and a JIT region,
 * commit pages on demand and write them, reset freed pages, reuse some,
 * decommit on trim, and toggle JIT pages between read-write and
 * execute-read (write-xor-execute); then release both.  The script is
 * drawn once from a fixed seed; ntvm and raw replay the same one.
 */
enum { M_RESERVE, M_JIT_ALLOC, M_COMMIT, M_TOUCH, M_RESET, M_DECOMMIT,
	M_PROT_RW, M_PROT_RX, M_JIT_WRITE, M_RELEASE };

struct mop {
	unsigned char op;
	unsigned short page, npages;
};

#define HEAP_PAGES 2048			/* 8 MiB */
#define JIT_PAGES 256			/* 1 MiB */
#define MIX_STEPS 200
#define MIX_MAX (3 * MIX_STEPS + 8)

static struct mop mix[MIX_MAX];
static int nmix, mix_calls;

static unsigned int mix_rand(void)
{
	static unsigned long long x = 0x4e54564d;

	x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return x >> 33;
}

static void mix_add(int op, int page, int npages)
{
	mix[nmix++] = (struct mop){ op, page, npages };
	if (op != M_TOUCH && op != M_JIT_WRITE)
		mix_calls += op == M_RELEASE ? 2 : 1;
}

static void mix_gen(void)
{
	struct run { unsigned short p, n; } a[MIX_STEPS], f[MIX_STEPS], r;
	static unsigned char used[HEAP_PAGES];
	int k, j, t, p, n, na = 0, nf = 0;

	if (nmix)
		return;
	mix_add(M_RESERVE, 0, HEAP_PAGES);
	mix_add(M_JIT_ALLOC, 0, JIT_PAGES);
	mix_add(M_PROT_RX, 0, JIT_PAGES);
	for (k = 0; k < MIX_STEPS; k++) {
		t = mix_rand() % 100;
		if (t < 40 && nf && mix_rand() % 2) {		/* reuse */
			j = mix_rand() % nf;
			r = f[j];
			f[j] = f[--nf];
			mix_add(M_TOUCH, r.p, r.n);
			a[na++] = r;
		} else if (t < 40) {				/* commit */
			n = 1 + mix_rand() % 8;
			p = mix_rand() % (HEAP_PAGES - n);
			for (j = 0; j < n && !used[p + j]; j++)
				;
			if (j < n)
				continue;
			memset(used + p, 1, n);
			mix_add(M_COMMIT, p, n);
			mix_add(M_TOUCH, p, n);
			a[na++] = (struct run){ p, n };
		} else if (t < 70 && na) {			/* free */
			j = mix_rand() % na;
			r = a[j];
			a[j] = a[--na];
			mix_add(M_RESET, r.p, r.n);
			f[nf++] = r;
		} else if (t < 80 && nf) {			/* trim */
			j = mix_rand() % nf;
			r = f[j];
			f[j] = f[--nf];
			memset(used + r.p, 0, r.n);
			mix_add(M_DECOMMIT, r.p, r.n);
		} else if (t >= 80) {				/* JIT */
			p = mix_rand() % JIT_PAGES;
			mix_add(M_PROT_RW, p, 1);
			mix_add(M_JIT_WRITE, p, 1);
			mix_add(M_PROT_RX, p, 1);
		}
	}
	mix_add(M_RELEASE, 0, 0);
}

static void nt_protect_run(char *p, SIZE_T size, ULONG prot)
{
	PVOID b = p;
	SIZE_T s = size;
	ULONG old;

	if (NtProtectVirtualMemory(CUR, &b, &s, prot, &old))
		die("protect", (long)p);
}

static void nt_mixed(long i)
{
	char *heap = NULL, *jit = NULL, *p;
	const struct mop *m;
	PVOID b;
	SIZE_T s;

	for (m = mix; m < mix + nmix; m++) {
		p = (m->op == M_PROT_RW || m->op == M_PROT_RX || m->op == M_JIT_WRITE ?
		     jit : heap) + m->page * PG;
		s = m->npages * PG;
		switch (m->op) {
		case M_RESERVE:
			heap = nt_reserve(s);
			break;
		case M_JIT_ALLOC:
			b = NULL;
			if (NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_RESERVE | MEM_COMMIT,
						    PAGE_READWRITE))
				die("jit", 0);
			jit = b;
			break;
		case M_COMMIT:
			nt_commit(p, s, PAGE_READWRITE);
			break;
		case M_TOUCH:
			touch_pages(p, m->npages);
			break;
		case M_RESET:
			b = p;
			if (NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_RESET, PAGE_READWRITE))
				die("reset", (long)p);
			break;
		case M_DECOMMIT:
			nt_decommit(p, s);
			break;
		case M_PROT_RW:
			nt_protect_run(p, s, PAGE_READWRITE);
			break;
		case M_PROT_RX:
			nt_protect_run(p, s, PAGE_EXECUTE_READ);
			break;
		case M_JIT_WRITE:
			memset(p + (i % 64) * 64, 0xc3, 64);
			break;
		case M_RELEASE:
			nt_release(heap);
			nt_release(jit);
			break;
		}
	}
}

static void raw_mixed(long i)
{
	char *heap = NULL, *jit = NULL, *p;
	const struct mop *m;
	SIZE_T s;

	for (m = mix; m < mix + nmix; m++) {
		p = (m->op == M_PROT_RW || m->op == M_PROT_RX || m->op == M_JIT_WRITE ?
		     jit : heap) + m->page * PG;
		s = m->npages * PG;
		switch (m->op) {
		case M_RESERVE:
			heap = raw_reserve(s);
			break;
		case M_JIT_ALLOC:
			jit = mmap(NULL, s, PROT_READ | PROT_WRITE, ANON, -1, 0);
			if (jit == MAP_FAILED)
				die("mmap jit", 0);
			break;
		case M_COMMIT:
			raw_commit(p, s);
			break;
		case M_TOUCH:
			touch_pages(p, m->npages);
			break;
		case M_RESET:
			madvise(p, s, MADV_FREE);
			break;
		case M_DECOMMIT:
			raw_decommit(p, s);
			break;
		case M_PROT_RW:
			mprotect(p, s, PROT_READ | PROT_WRITE);
			break;
		case M_PROT_RX:
			mprotect(p, s, PROT_READ | PROT_EXEC);
			break;
		case M_JIT_WRITE:
			memset(p + (i % 64) * 64, 0xc3, 64);
			break;
		case M_RELEASE:
			munmap(heap, HEAP_PAGES * PG);
			munmap(jit, JIT_PAGES * PG);
			break;
		}
	}
}

/* ---- The 64K cases of the first benchmark, in a 1 MiB NT reservation ---- */

static char *area;

static void area_init(void)
{
	if (!area)
		area = nt_reserve(16 * GRAN);
}

static void nt_reserve_release(long i)
{
	nt_release(nt_reserve(GRAN));
}

static void raw_reserve_release(long i)
{
	munmap(raw_reserve(GRAN), GRAN);
}

/*
 * The range ntvm reserves next, for the raw syscalls that do exactly its
 * memory work: the same mapping, merged with the same neighbour, split off
 * again by the munmap.
 */
static char *next_base;

static void setup_next_base(int nt)
{
	next_base = nt_reserve(GRAN);
	nt_release(next_base);
}

static void nt_reserve_release_same(long i)
{
	char *b = nt_reserve(GRAN);

	if (b != next_base)
		die("reserve at the expected base", (long)b);
	nt_release(b);
}

static void raw_reserve_release_same(long i)
{
	void *p = mmap(next_base, GRAN, PROT_NONE,
		       ANON | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

	if (p != next_base)
		die("mmap", (long)p);
	munmap(p, GRAN);
}

/* Calibration: the cost of entering the kernel by ioctl and by syscall. */
static void nt_ioctl_entry(long i)
{
	struct ntvm_api api = { .size = sizeof(api), .api = NTVM_API };

	ioctl(ntvm_fd(), NTVM_IOC_API, &api);
}

static void raw_syscall_entry(long i)
{
	syscall(SYS_getppid);
}

static void nt_commit_decommit(long i)
{
	nt_commit(area, GRAN, PAGE_READWRITE);
	nt_decommit(area, GRAN);
}

static void raw_commit_decommit(long i)
{
	raw_commit(area, GRAN);
	raw_decommit(area, GRAN);
}

static void nt_commit_touch_reset(long i)
{
	PVOID b = area;
	SIZE_T s = GRAN;

	nt_commit(area, GRAN, PAGE_READWRITE);
	touch_pages(area, GRAN / PG);
	if (NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_RESET, PAGE_READWRITE))
		die("reset", 0);
	nt_decommit(area, GRAN);
}

static void raw_commit_touch_reset(long i)
{
	raw_commit(area, GRAN);
	touch_pages(area, GRAN / PG);
	madvise(area, GRAN, MADV_FREE);
	raw_decommit(area, GRAN);
}

static void nt_protect(long i)
{
	PVOID b = area;
	SIZE_T s = PG;
	ULONG old;

	if (NtProtectVirtualMemory(CUR, &b, &s, PAGE_READONLY, &old))
		die("protect", 0);
	if (NtProtectVirtualMemory(CUR, &b, &s, PAGE_READWRITE, &old))
		die("protect", 0);
}

static void raw_protect(long i)
{
	mprotect(area, PG, PROT_READ);
	mprotect(area, PG, PROT_READ | PROT_WRITE);
}

static void nt_query(long i)
{
	MEMORY_BASIC_INFORMATION m;

	if (NtQueryVirtualMemory(CUR, area + 0x800, MemoryBasicInformation, &m,
				 sizeof(m), NULL))
		die("query", 0);
}

static void raw_query(long i)
{
	unsigned char vec;

	mincore(area, PG, &vec);
}

/* The raw 64K cases change the area behind ntvm's back: ntvm sets it again. */
static void setup_protect(int nt)
{
	nt_commit(area, GRAN, PAGE_READWRITE);
}

static void setup_uncommitted(int nt)
{
	PVOID b = area;
	SIZE_T s = GRAN;

	NtFreeVirtualMemory(CUR, &b, &s, MEM_DECOMMIT);
}

static void mixed_init(void)
{
	mix_gen();
}

/*
 * ---- Sections and placeholders (issue 10) ----
 *
 * A 64 KiB pagefile-backed section, created once; raw's equivalent is a
 * memfd of the same size, mapped MAP_SHARED.
 */
#define SECT (2 * GRAN)			/* the placeholder region */

static HANDLE sect;
static int sect_memfd = -1;

static void sect_init(void)
{
	if (!sect) {
		sect = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
					 0, GRAN, NULL);
		if (!sect)
			die("CreateFileMapping", GetLastError());
	}
	if (sect_memfd < 0) {
		sect_memfd = memfd_create("ntvm_bench", MFD_CLOEXEC);
		if (sect_memfd < 0)
			die("memfd_create", errno);
		if (ftruncate(sect_memfd, GRAN))
			die("ftruncate", errno);
	}
}

static void nt_view_map_unmap(long i)
{
	char *v = MapViewOfFile(sect, FILE_MAP_WRITE, 0, 0, GRAN);

	if (!v)
		die("MapViewOfFile", GetLastError());
	if (!UnmapViewOfFile(v))
		die("UnmapViewOfFile", GetLastError());
}

static void raw_view_map_unmap(long i)
{
	char *v = mmap(NULL, GRAN, PROT_READ | PROT_WRITE, MAP_SHARED, sect_memfd, 0);

	if (v == MAP_FAILED)
		die("mmap shared", errno);
	if (munmap(v, GRAN))
		die("munmap", errno);
}

/*
 * A 128 KiB placeholder, split in two, the first half replaced by a view,
 * unmapped back to a placeholder, coalesced and released.  Raw: the same
 * memory work in the same range (as reserve_release_64k: where a mapping
 * lies changes what the kernel's own mmap()/munmap() cost), the
 * reservation, the shared mapping over its first half, the PROT_NONE
 * mapping back over it, the munmap (the split and the coalescing are no
 * memory work).
 */
static char *next_ph;

static char *nt_placeholder(void)
{
	char *p = VirtualAlloc2(NULL, NULL, SECT, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
				PAGE_NOACCESS, NULL, 0);

	if (!p)
		die("VirtualAlloc2 placeholder", GetLastError());
	return p;
}

static void setup_next_ph(int nt)
{
	next_ph = nt_placeholder();
	if (!VirtualFree(next_ph, 0, MEM_RELEASE))
		die("VirtualFree placeholder", GetLastError());
}

static void nt_placeholder_split_replace(long i)
{
	char *p = nt_placeholder();

	if (p != next_ph)
		die("placeholder at the expected base", (long)p);
	if (!VirtualFree(p, GRAN, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER))
		die("VirtualFree split", GetLastError());
	if (MapViewOfFile3(sect, NULL, p, 0, GRAN, MEM_REPLACE_PLACEHOLDER,
			   PAGE_READWRITE, NULL, 0) != p)
		die("MapViewOfFile3 replace", GetLastError());
	if (!UnmapViewOfFile2(CUR, p, MEM_PRESERVE_PLACEHOLDER))
		die("UnmapViewOfFile2 preserve", GetLastError());
	if (!VirtualFree(p, SECT, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS))
		die("VirtualFree coalesce", GetLastError());
	if (!VirtualFree(p, 0, MEM_RELEASE))
		die("VirtualFree release", GetLastError());
}

static void raw_placeholder_split_replace(long i)
{
	char *p = mmap(next_ph, SECT, PROT_NONE,
		       ANON | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

	if (p != next_ph)
		die("mmap", (long)p);
	if (mmap(p, GRAN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 sect_memfd, 0) != p)
		die("mmap shared fixed", errno);
	raw_decommit(p, GRAN);
	if (munmap(p, SECT))
		die("munmap", errno);
}

/*
 * An emulator's arena (Dolphin's MemArenaWin, yuzu's host_memory: spec
 * 10): one page of the section mapped into a 1 GiB placeholder and
 * unmapped again, at page granularity: the page split off, replaced by a
 * view of a page of the section, unmapped back to a placeholder, the
 * arena coalesced (4 NT calls).  Raw: a PROT_NONE reservation of the
 * arena at the same place, the shared page mapped over one of its pages
 * and PROT_NONE mapped back (2 system calls: the split and the coalescing
 * are no memory work).  No target: it shows what the two calls that
 * change only ntvm's records cost where nothing dilutes them.
 */
#define ARENA (1UL << 30)

static char *arena_base, *nt_arena, *raw_arena;

static void arena_free(void)
{
	if (nt_arena && !VirtualFree(nt_arena, 0, MEM_RELEASE))
		die("VirtualFree arena", GetLastError());
	if (raw_arena)
		munmap(raw_arena, ARENA);
	nt_arena = raw_arena = NULL;
}

static void arena_init(void)
{
	sect_init();
	arena_base = VirtualAlloc2(NULL, NULL, ARENA,
				   MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
				   PAGE_NOACCESS, NULL, 0);
	if (!arena_base || !VirtualFree(arena_base, 0, MEM_RELEASE))
		die("VirtualAlloc2 arena", GetLastError());
}

static void arena_place(int nt)
{
	arena_free();
	if (nt) {
		nt_arena = VirtualAlloc2(NULL, arena_base, ARENA,
					 MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
					 PAGE_NOACCESS, NULL, 0);
		if (nt_arena != arena_base)
			die("VirtualAlloc2 arena at its base", GetLastError());
	} else {
		raw_arena = mmap(arena_base, ARENA, PROT_NONE,
				 ANON | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (raw_arena != arena_base)
			die("mmap arena at its base", errno);
	}
}

static void nt_arena_page(long i)
{
	char *p = PAGE_OF(nt_arena, i);

	if (!VirtualFree(p, PG, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER))
		die("VirtualFree split page", GetLastError());
	if (MapViewOfFile3(sect, NULL, p, (i % 16) * PG, PG, MEM_REPLACE_PLACEHOLDER,
			   PAGE_READWRITE, NULL, 0) != p)
		die("MapViewOfFile3 page", GetLastError());
	if (!UnmapViewOfFile2(CUR, p, MEM_PRESERVE_PLACEHOLDER))
		die("UnmapViewOfFile2 page", GetLastError());
	if (!VirtualFree(nt_arena, ARENA, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS))
		die("VirtualFree coalesce arena", GetLastError());
}

static void raw_arena_page(long i)
{
	char *p = PAGE_OF(raw_arena, i);

	if (mmap(p, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 sect_memfd, (i % 16) * PG) != p)
		die("mmap shared page", errno);
	raw_decommit(p, PG);
}

/* ---- The cases ---- */

static const long points[] = { 1, 10, 100, 1000, 2000, 10000, 100000 };
#define NPOINTS 7
#define AT(p) (1u << (p))
#define SWEEP 0x7fu			/* every population */
#define P10 AT(1)
#define P2000 AT(4)
#define P100K AT(6)

#define G_PAGE "page-granular"		/* issue 12's table, and more */
#define G_64K "64K (first benchmark)"
#define G_SECT "sections and placeholders (issue 10)"
#define G_CAL "calibration"

struct bench_case {
	const char *key, *name, *raw_ops;
	unsigned int pops;		/* AT(index in points[]) */
	int primary;			/* the population of the summary row */
	int nt_calls;			/* NT calls an iteration makes */
	int batch;			/* iterations between refills, 0: none */
	void (*init)(void), (*fini)(void);
	void (*setup)(int nt);		/* before each measurement */
	void (*nt)(long i), (*raw)(long i);
	void (*nt_refill)(void), (*raw_refill)(void);
	double target;			/* ntvm/raw, 0: none */
	const char *group;
};

static const struct bench_case cases[] = {
	{ "commit_decommit_4k", "commit+decommit 4K", "mmap(FIXED RW) + mmap(FIXED NONE)",
	  SWEEP, 1, 2, 0, big_reserve, big_free, big_place,
	  nt_commit_decommit_4k, raw_commit_decommit_4k, NULL, NULL, 1.2,
	  G_PAGE },
	{ "reset_4k", "commit+touch+reset 4K", "touch + madvise(FREE)",
	  SWEEP, 1, 2, 0, big_commit, big_free, big_place,
	  nt_reset_4k, raw_reset_4k, NULL, NULL, 1.2,
	  G_PAGE },
	{ "protect_4k", "protect RW<->RO 4K", "2 x mprotect",
	  SWEEP, 1, 2, 0, big_commit, big_free, big_place,
	  nt_protect_4k, raw_protect_4k, NULL, NULL, 1.5,
	  G_PAGE },
	{ "reserve_release_64k", "reserve+release 64K",
	  "mmap(NONE) of ntvm's range + munmap",
	  SWEEP, 1, 2, 0, NULL, NULL, setup_next_base,
	  nt_reserve_release_same, raw_reserve_release_same, NULL, NULL, 1.2,
	  G_PAGE },
	{ "query", "query 1 of N allocs", "mincore of 1 page",
	  SWEEP, 4, 1, 0, NULL, NULL, NULL,
	  nt_query_pop, raw_query_pop, NULL, NULL, 1.0,
	  G_PAGE },
	{ "decommit_run", "decommit 4 pages mid-region", "mmap(FIXED NONE)",
	  P10, 1, 1, RUNS, big_commit, big_free, big_place,
	  nt_decommit_run, raw_decommit_run, nt_refill_runs, raw_refill_runs, 0,
	  G_PAGE },
	{ "mixed", "allocator replay", "mmap/madvise/mprotect/munmap",
	  P10, 1, 0, 0, mixed_init, NULL, NULL, nt_mixed, raw_mixed, NULL, NULL, 0,
	  G_PAGE },
	{ "reserve_release_null", "reserve+release 64K anywhere",
	  "mmap(NULL NONE) + munmap",
	  P10 | P100K, 1, 2, 0, NULL, NULL, NULL,
	  nt_reserve_release, raw_reserve_release, NULL, NULL, 0,
	  G_64K },
	{ "commit_decommit_64k", "commit+decommit 64K", "mmap(FIXED RW) + mmap(FIXED NONE)",
	  P10 | P100K, 1, 2, 0, area_init, NULL, setup_uncommitted,
	  nt_commit_decommit, raw_commit_decommit, NULL, NULL, 1.2,
	  G_64K },
	{ "reset_64k", "commit+touch+reset+decommit 64K",
	  "the same with madvise(FREE)",
	  P10 | P100K, 1, 3, 0, area_init, NULL, setup_uncommitted,
	  nt_commit_touch_reset, raw_commit_touch_reset, NULL, NULL, 1.2,
	  G_64K },
	{ "protect_area", "protect RO+RW 4K of 64K", "2 x mprotect",
	  P10 | P100K, 1, 2, 0, area_init, NULL, setup_protect,
	  nt_protect, raw_protect, NULL, NULL, 1.5,
	  G_64K },
	{ "query_area", "query (vs mincore)", "mincore of 1 page",
	  P10 | P100K, 1, 1, 0, area_init, NULL, setup_protect,
	  nt_query, raw_query, NULL, NULL, 1.0,
	  G_64K },
	{ "view_map_unmap", "map+unmap a 64K section view",
	  "mmap(SHARED) of a memfd + munmap",
	  P10, 1, 2, 0, sect_init, NULL, NULL,
	  nt_view_map_unmap, raw_view_map_unmap, NULL, NULL, 1.2,
	  G_SECT },
	{ "placeholder_split_replace", "placeholder split+view+coalesce",
	  "mmap(NONE) of ntvm's range + mmap(FIXED SHARED) + mmap(FIXED NONE) + munmap",
	  P10, 1, 6, 0, sect_init, NULL, setup_next_ph,
	  nt_placeholder_split_replace, raw_placeholder_split_replace, NULL, NULL, 1.2,
	  G_SECT },
	{ "placeholder_arena_page", "page view in a 1 GiB placeholder",
	  "mmap(FIXED SHARED) 4K + mmap(FIXED NONE) 4K",
	  P10, 1, 4, 0, arena_init, arena_free, arena_place,
	  nt_arena_page, raw_arena_page, NULL, NULL, 0,
	  G_SECT },
	{ "entry", "ioctl vs getppid", "getppid",
	  P10 | P100K, 1, 1, 0, NULL, NULL, NULL,
	  nt_ioctl_entry, raw_syscall_entry, NULL, NULL, 0,
	  G_CAL },
};

#define NC (sizeof(cases) / sizeof(cases[0]))

static int nt_calls(const struct bench_case *c)
{
	return c->nt_calls ? c->nt_calls : mix_calls;
}

static int selected(const struct bench_case *c)
{
	const char *k = only, *e;
	char key[64];
	size_t len;

	if (!only)
		return 1;
	for (; *k; k = *e ? e + 1 : e) {
		e = strchrnul(k, ',');
		len = e - k < (long)sizeof(key) ? e - k : sizeof(key) - 1;
		memcpy(key, k, len);
		key[len] = 0;
		if (len && strstr(c->key, key))
			return 1;
	}
	return 0;
}

/* The populations a case runs at (-p: its summary one only). */
static unsigned int case_pops(const struct bench_case *c)
{
	return primary_only ? AT(c->primary) : c->pops;
}

/* ---- Population ---- */

static void populate_to(long n)
{
	SIZE_T s;

	pop_v = realloc(pop_v, n * sizeof(*pop_v));
	if (!pop_v)
		die("realloc", n);
	for (; npop < n; npop++) {
		s = pop_size;
		pop_v[npop] = NULL;
		if (NtAllocateVirtualMemory(CUR, &pop_v[npop], 0, &s, MEM_RESERVE,
					    PAGE_NOACCESS))
			die("populate", npop);
	}
}

/* ---- Running a case ---- */

/* n iterations from 0, a refill after each batch; returns the timed ns. */
static double run(const struct bench_case *c, int nt, long n)
{
	void (*fn)(long) = nt ? c->nt : c->raw;
	void (*refill)(void) = nt ? c->nt_refill : c->raw_refill;
	long i = 0, j, m, batch = c->batch ? c->batch : n;
	double t, sum = 0;

	while (i < n) {
		m = n - i < batch ? n - i : batch;
		t = now_ns();
		for (j = 0; j < m; j++)
			fn(i++);
		sum += now_ns() - t;
		if (refill)
			refill();
	}
	return sum;
}

static long round_batch(const struct bench_case *c, long n)
{
	if (n < 1)
		n = 1;
	if (c->batch)
		n = (n + c->batch - 1) / c->batch * c->batch;
	return n;
}

/* ns per iteration: setup, a warm-up of a tenth, then n timed. */
static double measure(const struct bench_case *c, int nt, long n)
{
	if (c->setup)
		c->setup(nt);
	run(c, nt, round_batch(c, n / 10));
	return run(c, nt, n) / n;
}

/* ---- Kernel entries: a ptrace syscall counter ---- */

#define MARK_START 0x4e540
#define MARK_STOP 0x4e541
#define NSYS 512
#define NO_PTRACE 3			/* the child's exit status */

struct count {
	long calls;			/* NT calls made while counting */
	long sys, faults;		/* system calls and page faults */
	char detail[128];		/* "ioctl:2 madvise:1" per iteration */
};

static struct count counts[NC][2];	/* [case][raw, ntvm] */

static void marker(long nr)
{
	syscall(nr);			/* -ENOSYS, but the tracer sees it */
}

/* In the traced child: the case, with markers around the timed parts. */
static void count_child(const struct bench_case *c, int nt, long n, long *faults)
{
	void (*fn)(long) = nt ? c->nt : c->raw;
	void (*refill)(void) = nt ? c->nt_refill : c->raw_refill;
	long i = 0, j, m, batch = c->batch ? c->batch : n;
	struct rusage a, b;

	populate_to(points[c->primary]);
	if (c->init)
		c->init();
	if (c->setup)
		c->setup(nt);
	/*
	 * First-call work, and the steady state the timing's warm-up
	 * reaches: the page-granular cases go once over their 256 pages
	 * (a commit of a committed page makes no kernel entry only after
	 * the first one of that page has).
	 */
	run(c, nt, round_batch(c, c->nt_calls <= 2 ? BIG_PAGES : 2));
	*faults = 0;
	while (i < n) {
		m = n - i < batch ? n - i : batch;
		getrusage(RUSAGE_SELF, &a);
		marker(MARK_START);
		for (j = 0; j < m; j++)
			fn(i++);
		marker(MARK_STOP);
		getrusage(RUSAGE_SELF, &b);
		*faults += b.ru_minflt - a.ru_minflt + b.ru_majflt - a.ru_majflt;
		if (refill)
			refill();
	}
}

static const char *sys_name(int nr)
{
	static char buf[16];

	switch (nr) {
	case SYS_ioctl: return "ioctl";
	case SYS_mmap: return "mmap";
	case SYS_munmap: return "munmap";
	case SYS_mprotect: return "mprotect";
	case SYS_madvise: return "madvise";
	case SYS_mincore: return "mincore";
	case SYS_futex: return "futex";
	case SYS_getppid: return "getppid";
	case SYS_openat: return "openat";
	}
	snprintf(buf, sizeof(buf), "sys%d", nr);
	return buf;
}

static void count_entries(const struct bench_case *c, int nt, struct count *out)
{
	long n = c->batch ? c->batch : c->nt_calls ? 64 : 2, nr;
	long hist[NSYS] = { 0 };
	long *shared;
	int st, sig = 0, in_sys = 0, on = 0, k, len;
	pid_t pid;

	shared = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		die("mmap shared", 0);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork", 0);
	if (!pid) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(NO_PTRACE);
		raise(SIGSTOP);
		count_child(c, nt, n, shared);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid", 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == NO_PTRACE) {
		/* Yama's ptrace_scope 3, or this process is traced itself */
		out->calls = 0;
		strcpy(out->detail, "(no ptrace)");
		munmap(shared, PG);
		return;
	}
	if (!WIFSTOPPED(st))
		die("stopping the counted child", st);
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL,
		   (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)))
		die("PTRACE_SETOPTIONS", 0);
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig))
			die("PTRACE_SYSCALL", 0);
		sig = 0;
		if (waitpid(pid, &st, 0) != pid)
			die("waitpid", 0);
		if (WIFEXITED(st) || WIFSIGNALED(st))
			break;
		if (WSTOPSIG(st) != (SIGTRAP | 0x80)) {
			sig = WSTOPSIG(st);	/* a signal: deliver it */
			continue;
		}
		in_sys = !in_sys;
		if (!in_sys)			/* the exit stop */
			continue;
		nr = ptrace(PTRACE_PEEKUSER, pid,
			    (void *)offsetof(struct user_regs_struct, orig_rax), NULL);
		if (nr == MARK_START)
			on = 1;
		else if (nr == MARK_STOP)
			on = 0;
		else if (on)
			hist[nr >= 0 && nr < NSYS ? nr : NSYS - 1]++;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("counted child", st);
	out->calls = n * nt_calls(c);
	out->faults = *shared;
	out->sys = 0;
	out->detail[0] = 0;
	for (k = 0, len = 0; k < NSYS; k++) {
		if (!hist[k])
			continue;
		out->sys += hist[k];
		len += snprintf(out->detail + len, sizeof(out->detail) - len, "%s%s:%g",
				len ? " " : "", sys_name(k), (double)hist[k] / n);
		if (len >= (int)sizeof(out->detail))
			len = sizeof(out->detail) - 1;
	}
	munmap(shared, PG);
}

/* ---- Results ---- */

struct result {
	long iters;
	double raw, nt;			/* median ns per iteration */
};

static struct result results[NC][NPOINTS];
static int progress_i, progress_n;

static void progress(const char *what, const struct bench_case *c, long pop)
{
	fprintf(stderr, "ntvm_bench: [%d/%d] %s %s", ++progress_i, progress_n,
		what, c->key);
	if (pop >= 0)
		fprintf(stderr, " at %ld allocations", pop);
	fprintf(stderr, " (%.1f s guest)\n", (now_ns() - t_start) / 1e9);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void time_case(const struct bench_case *c, int p)
{
	double raw[16], nt[16];
	long n;
	int r;

	progress("timing", c, points[p]);
	if (c->init)
		c->init();
	if (fixed_iters) {
		n = round_batch(c, fixed_iters);
	} else {
		/* a probe of the raw side sets the count for both */
		if (c->setup)
			c->setup(0);
		n = round_batch(c, c->batch ? c->batch : 8);
		n = round_batch(c, budget_ns / (run(c, 0, n) / n));
		if (n > 200000)
			n = 200000;
	}
	for (r = 0; r < reps; r++) {
		raw[r] = measure(c, 0, n);
		nt[r] = measure(c, 1, n);
	}
	if (c->fini)
		c->fini();
	qsort(raw, reps, sizeof(double), cmp_double);
	qsort(nt, reps, sizeof(double), cmp_double);
	results[c - cases][p] = (struct result){ n, raw[reps / 2], nt[reps / 2] };
}

/* Per NT call; NAN when not counted. */
static double per_call(const struct count *k, long v)
{
	return k->calls ? (double)v / k->calls : NAN;
}

static void print_tables(const char *kernel)
{
	const struct bench_case *c;
	const struct result *res;
	const struct count *k;
	double ratio, growth;
	int p, ok = 1;

	printf("\nntvm benchmark on %s: guest ns per iteration (icount: instructions),\n"
	       "median of %d; population: allocations of %zu bytes; sys/call: system\n"
	       "calls per NT call (raw: per equivalent operation), ptrace-counted\n\n",
	       kernel, reps, pop_size);
	printf("%-32s %6s %6s %9s %9s %6s %6s  %9s %9s  %s\n", "case", "allocs", "iters",
	       "raw", "ntvm", "ratio", "target", "sys/call", "", "ntvm syscalls per iteration");
	printf("%-32s %6s %6s %9s %9s %6s %6s  %9s %9s\n", "", "", "", "", "", "", "",
	       "raw", "ntvm");
	for (c = cases; c < cases + NC; c++) {
		if (!selected(c))
			continue;
		res = &results[c - cases][c->primary];
		k = counts[c - cases];
		ratio = res->nt / res->raw;
		printf("%-32s %6ld %6ld %9.0f %9.0f %5.2fx ", c->name,
		       points[c->primary], res->iters, res->raw, res->nt, ratio);
		if (c->target) {
			printf("%5.1fx%s", c->target, ratio <= c->target ? " " : "!");
			ok &= ratio <= c->target;
		} else {
			printf("%6s ", "-");
		}
		printf(" %9.2f %9.2f  %s\n", per_call(&k[0], k[0].sys),
		       per_call(&k[1], k[1].sys), k[1].detail);
	}
	printf("(!: over the target)  %s\n", ok ? "every target met" : "some targets missed");

	printf("\nscaling: ntvm/raw, and ntvm ns, by live allocations\n%-22s", "case");
	for (p = 0; p < NPOINTS; p++)
		printf(" %8ld", points[p]);
	printf("  %s\n", "ntvm 100k/1");
	for (c = cases; c < cases + NC; c++) {
		if (!selected(c) || c->pops != SWEEP || primary_only)
			continue;
		printf("%-22s", c->key);
		for (p = 0; p < NPOINTS; p++)
			printf(" %7.2fx", results[c - cases][p].nt / results[c - cases][p].raw);
		printf("\n%-22s", "");
		for (p = 0; p < NPOINTS; p++)
			printf(" %8.0f", results[c - cases][p].nt);
		growth = results[c - cases][NPOINTS - 1].nt / results[c - cases][0].nt;
		printf("  %10.2fx\n", growth);
	}
	printf("\nthe first benchmark's cases, at 10 and 100,000 allocations\n");
	printf("%-32s %9s %9s %9s %9s %7s\n", "case", "raw 10", "ntvm 10", "raw 100k",
	       "ntvm 100k", "100k/10");
	for (c = cases; c < cases + NC; c++) {
		if (!selected(c) || c->pops != (P10 | P100K) || primary_only)
			continue;
		res = results[c - cases];
		printf("%-32s %9.0f %9.0f %9.0f %9.0f %6.2fx\n", c->name, res[1].raw,
		       res[1].nt, res[6].raw, res[6].nt, res[6].nt / res[1].nt);
	}
}

static void print_csv(const char *kernel)
{
	const struct bench_case *c;
	const struct result *res;
	const struct count *k;
	int p;

	printf("csv:kernel,case,label,raw_ops,population,primary,sweep,iterations,"
	       "raw_ns,ntvm_ns,ratio,target,group,nt_calls_per_iteration,"
	       "raw_syscalls_per_call,ntvm_syscalls_per_call,"
	       "raw_faults_per_call,ntvm_faults_per_call,"
	       "raw_syscalls_per_iteration,ntvm_syscalls_per_iteration\n");
	for (c = cases; c < cases + NC; c++) {
		if (!selected(c))
			continue;
		k = counts[c - cases];
		for (p = 0; p < NPOINTS; p++) {
			if (!(case_pops(c) & AT(p)))
				continue;
			res = &results[c - cases][p];
			printf("csv:%s,%s,%s,%s,%ld,%d,%d,%ld,%.1f,%.1f,%.4f,",
			       kernel, c->key, c->name, c->raw_ops, points[p],
			       p == c->primary, c->pops == SWEEP, res->iters,
			       res->raw, res->nt, res->nt / res->raw);
			if (c->target)
				printf("%.1f", c->target);
			printf(",%s,%d,%.3f,%.3f,%.3f,%.3f,%s,%s\n", c->group, nt_calls(c),
			       per_call(&k[0], k[0].sys), per_call(&k[1], k[1].sys),
			       per_call(&k[0], k[0].faults), per_call(&k[1], k[1].faults),
			       k[0].detail, k[1].detail);
		}
	}
}

/*
 * Write watch (issue: cost per first write to a watched page, and per
 * GetWriteWatch over 1,024 pages).  No raw equivalent exists; the first
 * write to an unwatched page that is already present, and to a fresh one,
 * are printed for scale.
 */
#define WW_PAGES 1024

static void bench_write_watch(void)
{
	static PVOID res[WW_PAGES];
	double t, present = 0, fresh = 0, first = 0, get = 0, get_reset = 0;
	const char *mode;
	char *w, *plain;
	ULONG_PTR count;
	ULONG gran;
	int r, rounds = 20;

	w = VirtualAlloc(NULL, WW_PAGES * 4096, MEM_RESERVE | MEM_COMMIT |
			 MEM_WRITE_WATCH, PAGE_READWRITE);
	if (!w)
		die("write-watch allocation", GetLastError());
	for (r = 0; r < rounds; r++) {
		plain = VirtualAlloc(NULL, WW_PAGES * 4096, MEM_COMMIT, PAGE_READWRITE);
		if (!plain)
			die("allocation", GetLastError());
		t = now_ns();
		touch_pages(plain, WW_PAGES);
		fresh += now_ns() - t;
		t = now_ns();
		touch_pages(plain, WW_PAGES);
		present += now_ns() - t;
		VirtualFree(plain, 0, MEM_RELEASE);

		if (ResetWriteWatch(w, WW_PAGES * 4096))
			die("ResetWriteWatch", GetLastError());
		t = now_ns();
		touch_pages(w, WW_PAGES);
		first += now_ns() - t;
		count = WW_PAGES;
		t = now_ns();
		if (GetWriteWatch(0, w, WW_PAGES * 4096, res, &count, &gran) ||
		    count != WW_PAGES)
			die("GetWriteWatch", count);
		get += now_ns() - t;
		count = WW_PAGES;
		t = now_ns();
		if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, w, WW_PAGES * 4096, res,
				  &count, &gran) || count != WW_PAGES)
			die("GetWriteWatch reset", count);
		get_reset += now_ns() - t;
	}
	VirtualFree(w, 0, MEM_RELEASE);
	switch (ntvm_write_watch_mode()) {
	case NTVM_WRITE_WATCH_UFFD:
		mode = "userfaultfd + PAGEMAP_SCAN";
		break;
	case NTVM_WRITE_WATCH_MODULE:
		mode = "module soft-dirty scan";
		break;
	default:
		mode = "soft-dirty + clear_refs";
		break;
	}
	printf("\nwrite watch (%s), ns, mean of %d rounds\n", mode, rounds);
	printf("  first write to a watched page after a reset  %8.0f  per page\n",
	       first / rounds / WW_PAGES);
	printf("    for scale: write to a present page          %8.0f  per page\n",
	       present / rounds / WW_PAGES);
	printf("    for scale: first touch of a fresh page      %8.0f  per page\n",
	       fresh / rounds / WW_PAGES);
	printf("  GetWriteWatch over %d written pages         %8.0f\n", WW_PAGES,
	       get / rounds);
	printf("    with WRITE_WATCH_FLAG_RESET                 %8.0f\n",
	       get_reset / rounds);
}

/*
 * Per call (-P): the placeholder cycle of placeholder_split_replace, each
 * call timed alone, ntvm's next to the raw call that does its memory work,
 * so that the case's ratio can be read call by call (README,
 * "Performance").  A pair of clock readings with nothing between them is
 * taken off every call; the population is the case's (10); ntvm's cycles
 * and raw's run in batches, as the case runs them: the mean of -n cycles
 * (default 20,000) of each after as many untimed ones.  No CSV.
 */
enum { PC_RESERVE, PC_SPLIT, PC_MAP, PC_UNMAP, PC_COALESCE, PC_RELEASE, PC_N };

static double pc_t;

static void pc_start(void)
{
	pc_t = now_ns();
}

static void pc_stop(double *sum)
{
	*sum += now_ns() - pc_t;
}

/* A VirtualFree that must succeed, timed into *sum. */
static void pc_virtual_free(double *sum, char *p, SIZE_T size, DWORD type, const char *what)
{
	BOOL ok;

	pc_start();
	ok = VirtualFree(p, size, type);
	pc_stop(sum);
	if (!ok)
		die(what, GetLastError());
}

static void per_call_nt(double *nt)
{
	char *p, *v;
	BOOL ok;

	pc_start();
	p = nt_placeholder();
	pc_stop(&nt[PC_RESERVE]);
	if (p != next_ph)
		die("placeholder at the expected base", (long)p);
	pc_virtual_free(&nt[PC_SPLIT], p, GRAN, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER,
			"VirtualFree split");
	pc_start();
	v = MapViewOfFile3(sect, NULL, p, 0, GRAN, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE,
			   NULL, 0);
	pc_stop(&nt[PC_MAP]);
	if (v != p)
		die("MapViewOfFile3 replace", GetLastError());
	pc_start();
	ok = UnmapViewOfFile2(CUR, p, MEM_PRESERVE_PLACEHOLDER);
	pc_stop(&nt[PC_UNMAP]);
	if (!ok)
		die("UnmapViewOfFile2 preserve", GetLastError());
	pc_virtual_free(&nt[PC_COALESCE], p, SECT, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS,
			"VirtualFree coalesce");
	pc_virtual_free(&nt[PC_RELEASE], p, 0, MEM_RELEASE, "VirtualFree release");
}

static void per_call_raw(double *raw)
{
	char *p, *v;
	BOOL ok;

	pc_start();
	p = mmap(next_ph, SECT, PROT_NONE, ANON | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	pc_stop(&raw[PC_RESERVE]);
	if (p != next_ph)
		die("mmap", (long)p);
	pc_start();
	v = mmap(p, GRAN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, sect_memfd, 0);
	pc_stop(&raw[PC_MAP]);
	if (v != p)
		die("mmap shared fixed", errno);
	pc_start();
	raw_decommit(p, GRAN);
	pc_stop(&raw[PC_UNMAP]);
	pc_start();
	ok = !munmap(p, SECT);
	pc_stop(&raw[PC_RELEASE]);
	if (!ok)
		die("munmap", errno);
}

static void bench_per_call(void)
{
	static const char *const names[PC_N] = {
		"reserve 128K placeholder | mmap(NONE, FIXED_NOREPLACE)",
		"split | -",
		"view over the half (replace) | mmap(FIXED SHARED)",
		"unmap to a placeholder | mmap(FIXED NONE)",
		"coalesce | -",
		"release | munmap",
	};
	double nt[PC_N] = { 0 }, raw[PC_N] = { 0 }, empty = 0, cnt, snt = 0, sraw = 0, d;
	long i, n = fixed_iters ? fixed_iters : 20000;
	int k;

	sect_init();
	populate_to(10);
	setup_next_ph(1);
	/* As the case runs them: a batch of ntvm's, then one of raw's. */
	for (i = 0; i < n; i++)
		per_call_nt(nt);
	for (i = 0; i < n; i++)
		per_call_raw(raw);
	memset(nt, 0, sizeof(nt));
	memset(raw, 0, sizeof(raw));
	for (i = 0; i < n; i++)
		per_call_nt(nt);
	for (i = 0; i < n; i++)
		per_call_raw(raw);
	for (i = 0; i < n; i++) {
		pc_start();
		pc_stop(&empty);
	}
	cnt = n;
	printf("\nplaceholder cycle per call on %ld cycles, guest ns per call (icount: instructions)\n",
	       n);
	printf("  %-56s %8s %8s %8s\n", "call (ntvm | raw)", "ntvm", "raw", "ntvm-raw");
	for (k = 0; k < PC_N; k++) {
		nt[k] = nt[k] / cnt - empty / cnt;
		raw[k] = k == PC_SPLIT || k == PC_COALESCE ? 0 : raw[k] / cnt - empty / cnt;
		snt += nt[k];
		sraw += raw[k];
		d = nt[k] - raw[k];
		printf("  %-56s %8.0f %8.0f %8.0f\n", names[k], nt[k], raw[k], d);
	}
	printf("  %-56s %8.0f %8.0f %8.0f  ratio %.3f\n", "the cycle", snt, sraw, snt - sraw,
	       snt / sraw);
}

int main(int argc, char **argv)
{
	const struct bench_case *c;
	struct utsname u;
	int ch, p, ww_only = 0, no_ww = 0, per_call = 0;
	FILE *f;

	while ((ch = getopt(argc, argv, "t:n:r:s:c:pPWw")) != -1) {
		if (ch == 'w')
			ww_only = 1;
		else if (ch == 'P')
			per_call = 1;
		else if (ch == 'W')
			no_ww = 1;
		else if (ch == 'p')
			primary_only = 1;
		else if (ch == 't')
			budget_ns = atof(optarg) * 1e6;
		else if (ch == 'n')
			fixed_iters = atol(optarg);
		else if (ch == 'r')
			reps = atoi(optarg);
		else if (ch == 's')
			pop_size = strtoul(optarg, NULL, 0);
		else if (ch == 'c')
			only = optarg;
		else
			ww_only = -1;
	}
	if (ww_only < 0 || budget_ns <= 0 || fixed_iters < 0 || reps < 1 || reps > 16 ||
	    !pop_size || pop_size % 4096) {
		fprintf(stderr, "usage: ntvm_bench [-t ms] [-n iterations] [-r 1..16] "
			"[-s bytes] [-c case[,case]...] [-p] [-W] [-w] [-P]\n");
		return 2;
	}
	if (per_call) {
		bench_per_call();
		return 0;
	}
	if (ww_only) {
		bench_write_watch();
		return 0;
	}
	uname(&u);
	t_start = now_ns();
	/* With -s 4096, 100,000 reservations need as many VMAs. */
	f = fopen("/proc/sys/vm/max_map_count", "w");
	if (f) {
		fputs("262144", f);
		fclose(f);
	}
	mix_gen();

	for (c = cases; c < cases + NC; c++) {
		if (!selected(c))
			continue;
		progress_n += 2;
		for (p = 0; p < NPOINTS; p++)
			progress_n += !!(case_pops(c) & AT(p));
	}
	/* Kernel entries first: the children start from a clean process. */
	for (c = cases; c < cases + NC; c++) {
		if (!selected(c))
			continue;
		progress("kernel entries, raw:", c, -1);
		count_entries(c, 0, &counts[c - cases][0]);
		progress("kernel entries, ntvm:", c, -1);
		count_entries(c, 1, &counts[c - cases][1]);
	}
	for (p = 0; p < NPOINTS; p++) {
		for (c = cases; c < cases + NC; c++) {
			if (!selected(c) || !(case_pops(c) & AT(p)))
				continue;
			populate_to(points[p]);
			time_case(c, p);
		}
	}
	fprintf(stderr, "ntvm_bench: done (%.1f s guest)\n", (now_ns() - t_start) / 1e9);
	print_tables(u.release);
	print_csv(u.release);
	fflush(stdout);
	/* Scale only; with the population gone. */
	while (npop)
		nt_release(pop_v[--npop]);
	nt_release(area);
	if (!no_ww)
		bench_write_watch();
	return 0;
}
