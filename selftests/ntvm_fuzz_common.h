/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by ntvm_fuzz.c and ntvm_model.c: a seeded random generator, the
 * run time budget, figures kept in shared memory across processes, and the
 * invariant "the NT query agrees with /proc/self/maps".
 */
#ifndef NTVM_FUZZ_COMMON_H
#define NTVM_FUZZ_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <ntvm.h>

#include "ntvm_selftest.h"

#define FZ_PAGE		0x1000ULL
#define FZ_GRAN		0x10000ULL
#define FZ_ALIGN_UP(x, a)	(((x) + (a) - 1) & ~((a) - 1))
#define FZ_ALIGN_DOWN(x, a)	((x) & ~((a) - 1))
#define FZ_P(x)		((void *)(uintptr_t)(x))
#define FZ_U(x)		((uint64_t)(uintptr_t)(x))

/* ---- random numbers: splitmix64, one state per thread ---- */
static inline uint64_t fz_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t fz_below(uint64_t *s, uint64_t n)
{
	return n ? fz_next(s) % n : 0;
}

static inline int fz_chance(uint64_t *s, unsigned int one_in)
{
	return fz_below(s, one_in) == 0;
}

/* The seed of this run: NTVM_FUZZ_SEED, else the clock and pid. */
static inline uint64_t fz_seed(void)
{
	const char *e = getenv("NTVM_FUZZ_SEED");
	struct timespec ts;

	if (e && *e)
		return strtoull(e, NULL, 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
}

/* Seconds of run time: NTVM_FUZZ_SECS (make stress SECS=N), else def. */
static inline double fz_secs(double def)
{
	const char *e = getenv("NTVM_FUZZ_SECS");
	double v;

	if (!e || !*e)
		return def;
	v = strtod(e, NULL);
	return v > 0 ? v : def;
}

static inline double fz_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- figures, shared between the processes of a test ---- */
struct fz_figures {
	long calls;		/* ioctls and library calls made */
	long ops;		/* NT operations that succeeded */
	long bad_inputs;	/* malformed or mutated arguments tried */
	long foreign;		/* changes behind ntvm's back that took */
	long checks;		/* invariant checks made */
	long violations;	/* invariant or expectation failures */
	long faults;		/* faults injected */
	long processes;		/* forks, execs, kills */
	long fd_passes;		/* descriptors passed and refused */
	long compared;		/* model comparisons */
};

static struct fz_figures *fz_fig;

static inline void fz_figures_init(void)
{
	if (fz_fig)
		return;
	fz_fig = mmap(NULL, sizeof(*fz_fig), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fz_fig == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	memset(fz_fig, 0, sizeof(*fz_fig));
}

#define FZ_ADD(field, n) __atomic_add_fetch(&fz_fig->field, (n), __ATOMIC_RELAXED)

static uint64_t fz_run_seed;

static inline void __attribute__((format(printf, 1, 2))) fz_violation(const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	FZ_ADD(violations, 1);
	printf("# VIOLATION (pid %d, seed %#llx): %s\n", getpid(),
	       (unsigned long long)fz_run_seed, buf);
	fflush(stdout);
}

static inline void fz_print_figures(const char *what)
{
	printf("# %s figures: calls %ld, operations %ld, bad inputs %ld, foreign changes %ld, "
	       "invariant checks %ld, faults injected %ld, processes %ld, fds passed %ld, "
	       "model comparisons %ld, violations %ld\n", what,
	       fz_fig->calls, fz_fig->ops, fz_fig->bad_inputs, fz_fig->foreign,
	       fz_fig->checks, fz_fig->faults, fz_fig->processes, fz_fig->fd_passes,
	       fz_fig->compared, fz_fig->violations);
	fflush(stdout);
}

/* ---- /proc/self/maps ---- */
struct fz_vma {
	uint64_t start, end;
	char prot[5];		/* "rwxp" */
	int anon;		/* no file behind it */
	char name[32];
};

/* Reads the mappings; returns their number, or -1. */
static inline int fz_read_maps(struct fz_vma *v, int max)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && n < max) {
		unsigned long long s, e, off, ino;
		char prot[8], dev[16], name[256] = "";

		if (sscanf(line, "%llx-%llx %7s %llx %15s %llu %255s", &s, &e, prot, &off,
			   dev, &ino, name) < 6)
			continue;
		v[n].start = s;
		v[n].end = e;
		memcpy(v[n].prot, prot, 4);
		v[n].prot[4] = 0;
		v[n].anon = ino == 0;
		snprintf(v[n].name, sizeof(v[n].name), "%s", name);
		n++;
	}
	fclose(f);
	return n;
}

/* What the mappings must show for an NT protection. */
static inline const char *fz_expected_rwx(uint32_t protect)
{
	if (protect & NTVM_PAGE_GUARD)
		return "---";
	switch (protect & 0xff) {
	case NTVM_PAGE_NOACCESS: return "---";
	case NTVM_PAGE_READONLY: return "r--";
	case NTVM_PAGE_READWRITE: return "rw-";
	case NTVM_PAGE_EXECUTE: return "--x";
	case NTVM_PAGE_EXECUTE_READ: return "r-x";
	case NTVM_PAGE_EXECUTE_READWRITE: return "rwx";
	}
	return "???";
}

/*
 * Is [lo, hi) covered, without a hole, by mappings that all have the
 * protection rwx and are private anonymous (want_private) or not?
 */
static inline int fz_covered(const struct fz_vma *v, int n, uint64_t lo, uint64_t hi,
			     const char *rwx, int want_private, char *why, size_t wl)
{
	uint64_t at = lo;
	int i;

	for (i = 0; i < n && at < hi; i++) {
		if (v[i].end <= at)
			continue;
		if (v[i].start > at) {
			snprintf(why, wl, "hole at %#llx", (unsigned long long)at);
			return 0;
		}
		if (memcmp(v[i].prot, rwx, 3)) {
			snprintf(why, wl, "mapping %#llx-%#llx is %s, NT says %s",
				 (unsigned long long)v[i].start, (unsigned long long)v[i].end,
				 v[i].prot, rwx);
			return 0;
		}
		/* the kernel's special mappings ([vdso], [vvar]) are either */
		if (want_private >= 0 && !(v[i].name[0] == '[' && strcmp(v[i].name, "[heap]") &&
					   strncmp(v[i].name, "[stack", 6)) &&
		    want_private != (v[i].prot[3] == 'p' && v[i].anon)) {
			snprintf(why, wl, "mapping %#llx-%#llx %s %s: type disagrees",
				 (unsigned long long)v[i].start, (unsigned long long)v[i].end,
				 v[i].prot, v[i].name);
			return 0;
		}
		at = v[i].end;
	}
	if (at < hi) {
		snprintf(why, wl, "nothing mapped at %#llx", (unsigned long long)at);
		return 0;
	}
	return 1;
}

static inline int fz_overlaps(const struct fz_vma *v, int n, uint64_t lo, uint64_t hi)
{
	int i;

	for (i = 0; i < n; i++)
		if (v[i].start < hi && v[i].end > lo && strcmp(v[i].name, "[vsyscall]"))
			return 1;
	return 0;
}

#define FZ_MAX_VMAS 70000
#define FZ_QCHUNK 256

/*
 * The shared NT state: every published range is what the query reports,
 * one region of committed private memory with that protection in that
 * allocation, at least as long as the range.  Returns violations.
 */
static inline int fz_check_shared(const char *where)
{
	static const struct ntvm_shared *sh;
	struct ntvm_shared_range g[NTVM_SHARED_MAX_RANGES + 1];
	MEMORY_BASIC_INFORMATION m;
	__u32 n, i;
	int bad = 0;

	if (!sh && !(sh = shared_map())) {
		fz_violation("%s: the shared NT state cannot be mapped", where);
		return 1;
	}
	n = shared_snapshot(sh, g);
	if (!shared_well_formed(g, n)) {
		fz_violation("%s: the published ranges are ill-formed (count %u)", where, n);
		return 1;
	}
	for (i = 0; i < n; i++) {
		FZ_ADD(calls, 1);
		if (NtQueryVirtualMemory(NtCurrentProcess(), FZ_P(g[i].base),
					 MemoryBasicInformation, &m, sizeof(m), NULL) ||
		    m.State != MEM_COMMIT || m.Type != MEM_PRIVATE ||
		    m.Protect != g[i].protect ||
		    FZ_U(m.AllocationBase) != g[i].allocation_base ||
		    FZ_U(m.BaseAddress) + m.RegionSize < g[i].end) {
			fz_violation("%s: published %#llx-%#llx (%#x in %#llx) but the query says %#llx+%#llx state %#x protect %#x type %#x base %p",
				     where, (unsigned long long)g[i].base,
				     (unsigned long long)g[i].end, g[i].protect,
				     (unsigned long long)g[i].allocation_base,
				     (unsigned long long)FZ_U(m.BaseAddress),
				     (unsigned long long)m.RegionSize, m.State, m.Protect,
				     m.Type, m.AllocationBase);
			bad++;
		}
	}
	return bad;
}

/*
 * The invariant: every region the NT query reports in [lo, hi) agrees with
 * /proc/self/maps, and so does the shared NT state.  The caller makes sure nothing changes meanwhile.
 * Calls per_region (if not NULL) for each region.  Returns violations.
 */
static inline int fz_check_maps(uint64_t lo, uint64_t hi, const char *where,
				void (*per_region)(const MEMORY_BASIC_INFORMATION *, void *),
				void *ctx)
{
	static struct fz_vma *v;
	static MEMORY_BASIC_INFORMATION r[FZ_QCHUNK];
	uint64_t at = lo;
	int n, bad = 0;
	char why[200];

	if (!v) {
		v = mmap(NULL, sizeof(*v) * FZ_MAX_VMAS, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (v == MAP_FAILED) {
			v = NULL;
			fz_violation("%s: no memory for the maps", where);
			return 1;
		}
	}
	/* First: its first call maps the page, which the maps must show. */
	bad = fz_check_shared(where);
	n = fz_read_maps(v, FZ_MAX_VMAS);
	if (n < 0) {
		fz_violation("%s: /proc/self/maps unreadable", where);
		return 1;
	}
	FZ_ADD(checks, 1);
	while (at < hi) {
		ULONG cnt = FZ_QCHUNK, i;
		NTSTATUS st = ntvm_query_regions(FZ_P(at), FZ_P(hi), r, &cnt);

		FZ_ADD(calls, 1);
		if (st || !cnt) {
			fz_violation("%s: bulk query at %#llx: status %#x, count %u", where,
				     (unsigned long long)at, (unsigned int)st, cnt);
			return bad + 1;
		}
		for (i = 0; i < cnt; i++) {
			const MEMORY_BASIC_INFORMATION *m = &r[i];
			uint64_t b = FZ_U(m->BaseAddress), e = b + m->RegionSize;
			uint64_t cl = b < lo ? lo : b, ch = e > hi ? hi : e;

			if (b != FZ_ALIGN_DOWN(at, FZ_PAGE) || !m->RegionSize ||
			    m->RegionSize % FZ_PAGE) {
				fz_violation("%s: region %#llx+%#llx does not follow %#llx", where,
					     (unsigned long long)b,
					     (unsigned long long)m->RegionSize,
					     (unsigned long long)at);
				return bad + 1;
			}
			switch (m->State) {
			case MEM_FREE:
				if (m->AllocationBase || m->AllocationProtect || m->Type ||
				    m->Protect != PAGE_NOACCESS) {
					fz_violation("%s: free region %#llx with attributes %p/%#x/%#x/%#x",
						     where, (unsigned long long)b,
						     m->AllocationBase, m->AllocationProtect,
						     m->Protect, m->Type);
					bad++;
				}
				if (fz_overlaps(v, n, cl, ch)) {
					fz_violation("%s: free region %#llx-%#llx is mapped", where,
						     (unsigned long long)cl, (unsigned long long)ch);
					bad++;
				}
				break;
			case MEM_RESERVE:
				if (m->Protect || m->Type != MEM_PRIVATE || !m->AllocationBase ||
				    FZ_U(m->AllocationBase) > b) {
					fz_violation("%s: reserved region %#llx with attributes %p/%#x/%#x",
						     where, (unsigned long long)b,
						     m->AllocationBase, m->Protect, m->Type);
					bad++;
				}
				if (!fz_covered(v, n, cl, ch, "---", 1, why, sizeof(why))) {
					fz_violation("%s: reserved %#llx-%#llx: %s", where,
						     (unsigned long long)cl, (unsigned long long)ch, why);
					bad++;
				}
				break;
			case MEM_COMMIT:
				if ((m->Type != MEM_PRIVATE && m->Type != MEM_MAPPED) ||
				    !m->AllocationBase || FZ_U(m->AllocationBase) > b) {
					fz_violation("%s: committed region %#llx with attributes %p/%#x",
						     where, (unsigned long long)b,
						     m->AllocationBase, m->Type);
					bad++;
				}
				if (!fz_covered(v, n, cl, ch, fz_expected_rwx(m->Protect),
						m->Type == MEM_PRIVATE, why, sizeof(why))) {
					fz_violation("%s: committed %#llx-%#llx protect %#x: %s", where,
						     (unsigned long long)cl, (unsigned long long)ch,
						     m->Protect, why);
					bad++;
				}
				break;
			default:
				fz_violation("%s: region %#llx has state %#x", where,
					     (unsigned long long)b, m->State);
				bad++;
			}
			if (per_region)
				per_region(m, ctx);
			at = e;
			if (at >= hi)
				break;
		}
	}
	return bad;
}

/* Every status the NT calls may return. */
static inline int fz_known_status(NTSTATUS st)
{
	switch ((uint32_t)st) {
	case NTVM_STATUS_SUCCESS:
	case NTVM_STATUS_UNSUCCESSFUL:
	case NTVM_STATUS_INVALID_INFO_CLASS:
	case NTVM_STATUS_INFO_LENGTH_MISMATCH:
	case NTVM_STATUS_ACCESS_VIOLATION:
	case NTVM_STATUS_INVALID_HANDLE:
	case NTVM_STATUS_INVALID_PARAMETER:
	case NTVM_STATUS_NO_MEMORY:
	case NTVM_STATUS_CONFLICTING_ADDRESSES:
	case NTVM_STATUS_NOT_MAPPED_VIEW:
	case NTVM_STATUS_UNABLE_TO_FREE_VM:
	case NTVM_STATUS_ALREADY_COMMITTED:
	case NTVM_STATUS_ACCESS_DENIED:
	case NTVM_STATUS_NOT_COMMITTED:
	case NTVM_STATUS_INVALID_PAGE_PROTECTION:
	case NTVM_STATUS_PRIVILEGE_NOT_HELD:
	case NTVM_STATUS_INSUFFICIENT_RESOURCES:
	case NTVM_STATUS_FREE_VM_NOT_AT_BASE:
	case NTVM_STATUS_MEMORY_NOT_ALLOCATED:
	case NTVM_STATUS_NOT_SUPPORTED:
	case NTVM_STATUS_INVALID_PARAMETER_1:
	case NTVM_STATUS_INVALID_PARAMETER_2:
	case NTVM_STATUS_INVALID_PARAMETER_3:
	case NTVM_STATUS_INVALID_PARAMETER_4:
	case NTVM_STATUS_INVALID_PARAMETER_5:
	case NTVM_STATUS_INVALID_PARAMETER_6:
	case NTVM_STATUS_COMMITMENT_LIMIT:
	case NTVM_STATUS_INVALID_ADDRESS:
		return 1;
	}
	return 0;
}

/*
 * A free hole of size bytes, 64K aligned, with free space around it, far
 * from where mmap(NULL) puts things (thread stacks, malloc arenas): at
 * 16 TiB and up, where nothing goes unless asked.
 */
static inline uint64_t fz_find_hole(uint64_t size)
{
	static uint64_t next;
	uint64_t a, span = FZ_ALIGN_UP(size, FZ_GRAN) + FZ_GRAN * 16;
	int tries;

	if (!next)
		next = 0x100000000000ULL + ((uint64_t)(getpid() & 0xfff) << 32);
	for (tries = 0; tries < 4096; tries++) {
		void *p;

		a = next;
		next += FZ_ALIGN_UP(span, 1ULL << 32);
		if (next >= 0x600000000000ULL)
			next = 0x100000000000ULL;
		p = mmap(FZ_P(a), span, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (p == MAP_FAILED)
			continue;
		munmap(p, span);
		if (p != FZ_P(a))
			continue;
		return a + FZ_GRAN * 8;
	}
	return 0;
}

#endif
