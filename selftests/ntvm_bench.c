// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm benchmark: each NT operation next to the raw Linux syscalls that do
 * the same memory work, in the same process, at 10 and at 100,000 live
 * allocations.  Not a test: it prints a table of costs and ratios.
 *
 * Run it with "make bench" (selftests/vm-run --icount): guest clocks then
 * count instructions, so the ratios repeat from run to run.
 *
 *   ntvm_bench [-n ITERATIONS] [-r REPETITIONS] [-s POPULATION_SIZE]
 *
 * The 100,000 allocations are 64K reservations by default: Linux merges
 * neighbouring ones into few VMAs, so the kernel's own costs stay flat and
 * the growth measured is ntvm's.  With -s 4096 each is a separate VMA, and
 * the raw syscalls slow down too (on 6.1 about twice).
 */
#include <getopt.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ntvm_selftest.h"

#define CUR NtCurrentProcess()
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define GRAN 0x10000UL

static int iters = 20000, reps = 3;
static SIZE_T pop_size = GRAN;
static char *area;		/* a reservation the fixed-address cases use */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what, long v)
{
	fprintf(stderr, "ntvm_bench: %s failed (%#lx)\n", what, v);
	exit(1);
}

/* ---- The operations, as pairs: ntvm and raw ---- */

static void nt_reserve_release(void)
{
	PVOID b = NULL;
	SIZE_T s = GRAN;

	if (NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_RESERVE, PAGE_NOACCESS))
		die("reserve", 0);
	s = 0;
	if (NtFreeVirtualMemory(CUR, &b, &s, MEM_RELEASE))
		die("release", 0);
}

/*
 * The range ntvm reserves next, for the raw syscalls that do exactly its
 * memory work: the same mapping, merged with the same neighbour, split off
 * again by the munmap.
 */
static char *next_base;

static void setup_next_base(void)
{
	PVOID b = NULL;
	SIZE_T s = GRAN;

	if (NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_RESERVE, PAGE_NOACCESS))
		die("reserve", 0);
	next_base = b;
	s = 0;
	if (NtFreeVirtualMemory(CUR, &b, &s, MEM_RELEASE))
		die("release", 0);
}

static void nt_reserve_release_same(void)
{
	PVOID b = NULL;
	SIZE_T s = GRAN;

	if (NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_RESERVE, PAGE_NOACCESS) ||
	    b != next_base)
		die("reserve", (long)b);
	s = 0;
	if (NtFreeVirtualMemory(CUR, &b, &s, MEM_RELEASE))
		die("release", 0);
}

static void raw_reserve_release_same(void)
{
	void *p = mmap(next_base, GRAN, PROT_NONE,
		       ANON | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

	if (p != next_base)
		die("mmap", (long)p);
	munmap(p, GRAN);
}

static void raw_reserve_release(void)
{
	void *p = mmap(NULL, GRAN, PROT_NONE, ANON | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap", 0);
	munmap(p, GRAN);
}

/* Calibration: the cost of entering the kernel by ioctl and by syscall. */
static void nt_ioctl_entry(void)
{
	struct ntvm_api api = { .size = sizeof(api), .api = NTVM_API };

	ioctl(ntvm_fd(), NTVM_IOC_API, &api);
}

static void raw_syscall_entry(void)
{
	syscall(SYS_getppid);
}

static void nt_commit_decommit(void)
{
	PVOID b = area;
	SIZE_T s = GRAN;

	if (NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_COMMIT, PAGE_READWRITE))
		die("commit", 0);
	if (NtFreeVirtualMemory(CUR, &b, &s, MEM_DECOMMIT))
		die("decommit", 0);
}

static void raw_commit_decommit(void)
{
	if (mmap(area, GRAN, PROT_READ | PROT_WRITE, ANON | MAP_FIXED, -1, 0) == MAP_FAILED)
		die("mmap commit", 0);
	if (mmap(area, GRAN, PROT_NONE, ANON | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
		die("mmap decommit", 0);
}

static void touch(void)
{
	int i;

	for (i = 0; i < (int)(GRAN / 4096); i++)
		area[i * 4096] = 1;
}

static void nt_commit_touch_reset(void)
{
	PVOID b = area;
	SIZE_T s = GRAN;

	if (NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_COMMIT, PAGE_READWRITE))
		die("commit", 0);
	touch();
	if (NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_RESET, PAGE_READWRITE))
		die("reset", 0);
	if (NtFreeVirtualMemory(CUR, &b, &s, MEM_DECOMMIT))
		die("decommit", 0);
}

static void raw_commit_touch_reset(void)
{
	if (mmap(area, GRAN, PROT_READ | PROT_WRITE, ANON | MAP_FIXED, -1, 0) == MAP_FAILED)
		die("mmap commit", 0);
	touch();
	madvise(area, GRAN, MADV_FREE);
	if (mmap(area, GRAN, PROT_NONE, ANON | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
		die("mmap decommit", 0);
}

static void nt_protect(void)
{
	PVOID b = area;
	SIZE_T s = 4096;
	ULONG old;

	if (NtProtectVirtualMemory(CUR, &b, &s, PAGE_READONLY, &old))
		die("protect", 0);
	if (NtProtectVirtualMemory(CUR, &b, &s, PAGE_READWRITE, &old))
		die("protect", 0);
}

static void raw_protect(void)
{
	mprotect(area, 4096, PROT_READ);
	mprotect(area, 4096, PROT_READ | PROT_WRITE);
}

static void nt_query(void)
{
	MEMORY_BASIC_INFORMATION m;

	if (NtQueryVirtualMemory(CUR, area + 0x800, MemoryBasicInformation, &m,
				 sizeof(m), NULL))
		die("query", 0);
}

static void raw_query(void)
{
	unsigned char vec;

	mincore(area, 4096, &vec);
}

/* ---- Measurement ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median over repetitions of ns per call; raw and ntvm interleaved. */
static void measure(void (*fn)(void), void (*setup)(void), double *out, int rep)
{
	double t;
	int i;

	if (setup)
		setup();
	for (i = 0; i < iters / 10; i++)	/* warm up, not timed */
		fn();
	t = now_ns();
	for (i = 0; i < iters; i++)
		fn();
	out[rep] = (now_ns() - t) / iters;
}

static void setup_protect(void)
{
	PVOID b = area;
	SIZE_T s = GRAN;

	if (NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_COMMIT, PAGE_READWRITE))
		die("commit for protect", 0);
}

static void setup_uncommitted(void)
{
	PVOID b = area;
	SIZE_T s = GRAN;

	NtFreeVirtualMemory(CUR, &b, &s, MEM_DECOMMIT);
}

struct bench {
	const char *name;
	void (*nt)(void), (*raw)(void), (*setup)(void);
	double target;
};

static const struct bench benches[] = {
	{ "reserve+release 64K", nt_reserve_release_same,
	  raw_reserve_release_same, setup_next_base, 1.2 },
	{ "  raw at mmap(NULL)", nt_reserve_release, raw_reserve_release, NULL, 0 },
	{ "commit+decommit 64K", nt_commit_decommit, raw_commit_decommit,
	  setup_uncommitted, 1.2 },
	{ "commit+touch+reset 64K", nt_commit_touch_reset, raw_commit_touch_reset,
	  setup_uncommitted, 1.2 },
	{ "protect RO+RW 4K", nt_protect, raw_protect, setup_protect, 1.5 },
	{ "query (vs mincore)", nt_query, raw_query, setup_protect, 1.0 },
	{ "ioctl vs getppid", nt_ioctl_entry, raw_syscall_entry, NULL, 0 },
};

#define NB (sizeof(benches) / sizeof(benches[0]))

static double results[2][NB][2];	/* [population][bench][raw, ntvm] */

static void run_all(int pop)
{
	double raw[16], nt[16];
	unsigned int b;
	int r;

	for (b = 0; b < NB; b++) {
		for (r = 0; r < reps; r++) {
			measure(benches[b].raw, benches[b].setup, raw, r);
			measure(benches[b].nt, benches[b].setup, nt, r);
		}
		qsort(raw, reps, sizeof(double), cmp_double);
		qsort(nt, reps, sizeof(double), cmp_double);
		results[pop][b][0] = raw[reps / 2];
		results[pop][b][1] = nt[reps / 2];
	}
}

/* Fill the address space with n allocations of pop_size. */
static PVOID *populate(int n)
{
	PVOID *v = calloc(n, sizeof(*v));
	SIZE_T s;
	int i;

	if (!v)
		die("calloc", n);
	for (i = 0; i < n; i++) {
		s = pop_size;
		if (NtAllocateVirtualMemory(CUR, &v[i], 0, &s, MEM_RESERVE, PAGE_NOACCESS))
			die("populate", i);
	}
	return v;
}

static void depopulate(PVOID *v, int n)
{
	SIZE_T s;
	int i;

	for (i = 0; i < n; i++) {
		s = 0;
		NtFreeVirtualMemory(CUR, &v[i], &s, MEM_RELEASE);
	}
	free(v);
}

/*
 * Write watch (issue: cost per first write to a watched page, and per
 * GetWriteWatch over 1,024 pages).  No raw equivalent exists; the first
 * write to an unwatched page that is already present, and to a fresh one,
 * are printed for scale.
 */
#define WW_PAGES 1024

static void touch_pages(char *p, int n)
{
	int i;

	for (i = 0; i < n; i++)
		((volatile char *)p)[i * 4096] = (char)i;
}

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

int main(int argc, char **argv)
{
	static const int pops[2] = { 10, 100000 };
	PVOID base = NULL, *v;
	SIZE_T size = 16 * GRAN;
	FILE *f;
	unsigned int b;
	int c, p, worst_ok = 1, ww_only = 0;
	double ratio, growth;

	while ((c = getopt(argc, argv, "n:r:s:w")) != -1) {
		if (c == 'w')
			ww_only = 1;
		else if (c == 'n')
			iters = atoi(optarg);
		else if (c == 'r')
			reps = atoi(optarg);
		else if (c == 's')
			pop_size = strtoul(optarg, NULL, 0);
	}
	if (iters < 1 || reps < 1 || reps > 16 || !pop_size || pop_size % 4096) {
		fprintf(stderr, "usage: ntvm_bench [-n iterations] [-r 1..16] [-s bytes] [-w]\n"
			"  -w: the write-watch part only\n");
		return 2;
	}
	if (ww_only) {
		bench_write_watch();
		return 0;
	}
	/* With -s 4096, 100,000 reservations need as many VMAs. */
	f = fopen("/proc/sys/vm/max_map_count", "w");
	if (f) {
		fputs("262144", f);
		fclose(f);
	}
	if (NtAllocateVirtualMemory(CUR, &base, 0, &size, MEM_RESERVE, PAGE_NOACCESS))
		die("area", 0);
	area = base;

	for (p = 0; p < 2; p++) {
		v = populate(pops[p] - 1);	/* plus the area itself */
		run_all(p);
		depopulate(v, pops[p] - 1);
	}

	printf("ntvm benchmark: ns per operation (guest clock), median of %d x %d;\n"
	       "population: allocations of %zu bytes\n\n", reps, iters, pop_size);
	printf("%-24s %7s %10s %10s %7s %7s  %s\n", "operation", "allocs",
	       "raw", "ntvm", "ratio", "target", "");
	for (b = 0; b < NB; b++) {
		for (p = 0; p < 2; p++) {
			ratio = results[p][b][1] / results[p][b][0];
			printf("%-24s %7d %10.0f %10.0f %6.2fx ",
			       p ? "" : benches[b].name, pops[p], results[p][b][0],
			       results[p][b][1], ratio);
			if (!benches[b].target) {
				printf("%7s\n", "-");
				continue;
			}
			printf("%6.1fx  %s\n", benches[b].target,
			       ratio <= benches[b].target ? "ok" : "over");
			worst_ok &= ratio <= benches[b].target;
		}
	}
	printf("\n%-24s %18s  %s\n", "scaling", "100k / 10", "(target <= 1.5x)");
	for (b = 0; b < NB; b++) {
		if (!benches[b].target)
			continue;
		growth = results[1][b][1] / results[0][b][1];
		printf("%-24s %17.2fx  %s\n", benches[b].name, growth,
		       growth <= 1.5 ? "ok" : "over");
		worst_ok &= growth <= 1.5;
	}
	printf("\n%s\n", worst_ok ? "all targets met" : "some targets missed");
	bench_write_watch();
	return 0;
}
