// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm demo: Microsoft KB Q216540, "VirtualAlloc of small sizes wastes
 * address space", reproduced in a Linux process through /dev/ntvm.
 *
 * Every NT allocation starts on a 64 KiB allocation-granularity boundary, so
 * a 4 KiB VirtualAlloc(MEM_RESERVE | MEM_COMMIT) takes a whole 64 KiB of
 * address space.  A program that makes many small allocations runs out of
 * address space long before it runs out of memory.  The demo fills a free
 * 256 MiB window (a 32-bit process's 2 GiB user space at 1:8) with 4 KiB
 * allocations until NT refuses one, then shows the remedy: one reservation,
 * committed a page at a time.  Every figure comes from the module's
 * statistics (NTVM_IOC_STATS) and from a region walk of the window, and the
 * two are checked against each other and against the expected values.
 *
 * Then two uses of placeholders and sections (issue 10): Microsoft's ring
 * buffer, two views of one section back to back in a split placeholder,
 * where a write running off the end of the first view appears at the start
 * of the second; and an emulator's arena, a placeholder into which views
 * of one "guest RAM" section are mapped and unmapped at page granularity.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ntvm_selftest.h"

#define PAGE		KB(4)
#define GRAN		KB(64)
#define NSMALL		4096		/* 4096 x 64 KiB fills the window */
#define WIN_SIZE	MB(256)
#define WIN_LIMIT	(1ULL << 32)	/* look for the window below 4 GiB */
#define BRK_ROOM	MB(128)		/* ntvm keeps 64 MiB free above brk */
#define BAR_WIDTH	32		/* one character: 8 MiB of the window */

static bool failed;
static uintptr_t win_lo, win_end;	/* the window: [win_lo, win_end) */
static MEMORY_BASIC_INFORMATION *regs;	/* scratch for region walks */
static ULONG regs_cap;

static void __attribute__((format(printf, 1, 2))) bad(const char *fmt, ...)
{
	va_list ap;

	printf("  unexpected: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failed = true;
}

/* A byte count in the largest binary unit that keeps it >= 1. */
static const char *human(uint64_t v)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	static char buf[8][24];
	static unsigned int next;
	char *b = buf[next++ % 8];
	uint64_t scale = 1;
	unsigned int u = 0;

	while (u < 4 && v >= scale << 10) {
		scale <<= 10;
		u++;
	}
	if (v % scale)
		snprintf(b, sizeof(buf[0]), "%.1f %s", (double)v / scale, unit[u]);
	else
		snprintf(b, sizeof(buf[0]), "%llu %s",
			 (unsigned long long)(v / scale), unit[u]);
	return b;
}

static const char *state_name(DWORD s)
{
	return s == MEM_COMMIT ? "MEM_COMMIT" : s == MEM_RESERVE ? "MEM_RESERVE" :
	       s == MEM_FREE ? "MEM_FREE" : "?";
}

/* ---- Step 1: handshake and the basic calls ------------------------------ */

static int basics(void)
{
	struct ntvm_api api = { .size = sizeof(api), .api = NTVM_API };
	const uint64_t need = NTVM_FEATURE_QUERY_BULK |
			      NTVM_FEATURE_ADDRESS_REQ;
	MEMORY_BASIC_INFORMATION m[4];
	SIZE_T size = MB(1);
	PVOID base = NULL, c;
	NTSTATUS st;
	ULONG n = 4;
	char *p;

	if (ntvm_fd() < 0 || ioctl(ntvm_fd(), NTVM_IOC_API, &api)) {
		bad("/dev/ntvm: %s", strerror(errno));
		return -1;
	}
	printf("/dev/ntvm: ABI %llu, features %#llx, page %s, granularity %s, "
	       "user space %#llx-%#llx\n",
	       (unsigned long long)api.api, (unsigned long long)api.features,
	       human(api.page_size), human(api.granularity),
	       (unsigned long long)api.min_address,
	       (unsigned long long)api.max_address);
	if (api.page_size != PAGE || api.granularity != GRAN ||
	    (api.features & need) != need) {
		bad("geometry or features differ from what the demo needs");
		return -1;
	}

	st = NtAllocateVirtualMemory(NtCurrentProcess(), &base, 0, &size,
				     MEM_RESERVE, PAGE_NOACCESS);
	if (st || size != MB(1)) {
		bad("reserve 1 MiB: status %#x, size %#zx", (unsigned int)st, size);
		return -1;
	}
	p = base;
	c = p + KB(256);
	size = KB(64);
	st = NtAllocateVirtualMemory(NtCurrentProcess(), &c, 0, &size,
				     MEM_COMMIT, PAGE_READWRITE);
	if (st || c != p + KB(256) || size != KB(64)) {
		bad("commit 64 KiB: status %#x, %p size %#zx",
		    (unsigned int)st, c, size);
		return -1;
	}
	memset(c, 0x5a, size);
	st = ntvm_query_regions(p, p + MB(1), m, &n);
	if (st || n != 3 || m[0].State != MEM_RESERVE ||
	    m[0].RegionSize != KB(256) || m[1].State != MEM_COMMIT ||
	    m[1].RegionSize != KB(64) || m[1].Protect != PAGE_READWRITE ||
	    m[2].State != MEM_RESERVE || m[2].RegionSize != KB(704) ||
	    m[2].AllocationBase != base) {
		bad("query of the 1 MiB reservation: status %#x, %u regions",
		    (unsigned int)st, n);
		return -1;
	}
	printf("basics: reserve 1 MiB at %p, commit and write 64 KiB at +256 KiB; "
	       "query:\n", base);
	printf("        %s %s | %s %s PAGE_READWRITE | %s %s\n",
	       human(m[0].RegionSize), state_name(m[0].State),
	       human(m[1].RegionSize), state_name(m[1].State),
	       human(m[2].RegionSize), state_name(m[2].State));
	size = 0;
	st = NtFreeVirtualMemory(NtCurrentProcess(), &base, &size, MEM_RELEASE);
	if (st || size != MB(1) || !VirtualQuery(p, m, sizeof(m[0])) ||
	    m[0].State != MEM_FREE) {
		bad("release: status %#x, size %#zx, state now %s",
		    (unsigned int)st, size, state_name(m[0].State));
		return -1;
	}
	printf("        release (MEM_RELEASE, size 0): %s freed, the range is %s\n",
	       human(size), state_name(m[0].State));
	return 0;
}

/* ---- The window --------------------------------------------------------- */

/*
 * The lowest 256 MiB-aligned, entirely free 256 MiB below 4 GiB, away from
 * the heap (ntvm's bottom-up placement keeps 64 MiB above brk free).
 */
static int find_window(void)
{
	uintptr_t brk = (uintptr_t)sbrk(0), w;
	uintptr_t heap_lo = brk > BRK_ROOM ? brk - BRK_ROOM : 0;
	MEMORY_BASIC_INFORMATION m;

	for (w = WIN_SIZE; w + WIN_SIZE <= WIN_LIMIT; w += WIN_SIZE) {
		if (w < brk + BRK_ROOM && w + WIN_SIZE > heap_lo)
			continue;
		if (!VirtualQuery((void *)w, &m, sizeof(m))) {
			bad("VirtualQuery(%#lx): error %u", (unsigned long)w,
			    GetLastError());
			return -1;
		}
		if (m.State == MEM_FREE &&
		    (uintptr_t)m.BaseAddress + m.RegionSize >= w + WIN_SIZE) {
			win_lo = w;
			win_end = w + WIN_SIZE;
			return 0;
		}
	}
	bad("no free 256 MiB window below 4 GiB");
	return -1;
}

struct window {
	uint64_t used;		/* address space not in a free 64K block */
	uint64_t largest;	/* largest free 64K-aligned block */
};

/* Walk the window's regions; free memory counts only in whole granules. */
static int walk_window(struct window *w)
{
	uintptr_t addr = win_lo, rb, re, a, b;
	uint64_t free_bytes = 0;
	bool prev_free = false;
	MEMORY_BASIC_INFORMATION *m;
	NTSTATUS st;
	ULONG n, i;

	w->largest = 0;
	while (addr < win_end) {
		n = regs_cap;
		st = ntvm_query_regions((void *)addr, (void *)win_end, regs, &n);
		if (st || !n) {
			bad("ntvm_query_regions(%#lx): status %#x, %u regions",
			    (unsigned long)addr, (unsigned int)st, n);
			return -1;
		}
		for (i = 0; i < n; i++) {
			m = &regs[i];
			rb = (uintptr_t)m->BaseAddress;
			re = rb + m->RegionSize;
			if (rb > addr || re <= addr || (i && rb != addr)) {
				bad("region %#lx+%#zx does not follow %#lx",
				    (unsigned long)rb, m->RegionSize,
				    (unsigned long)addr);
				return -1;
			}
			if (m->State == MEM_FREE && prev_free) {
				bad("two adjacent MEM_FREE regions at %#lx",
				    (unsigned long)rb);
				return -1;
			}
			prev_free = m->State == MEM_FREE;
			addr = re;
			if (!prev_free)
				continue;
			a = (rb < win_lo ? win_lo : rb + GRAN - 1) & ~(GRAN - 1);
			b = (re > win_end ? win_end : re) & ~(GRAN - 1);
			if (b > a) {
				free_bytes += b - a;
				if (b - a > w->largest)
					w->largest = b - a;
			}
		}
	}
	w->used = WIN_SIZE - free_bytes;
	return 0;
}

/* ---- The table ---------------------------------------------------------- */

#define ROW_FMT "  %-17s %6s %10s %9s %9s %12s  %s\n"

/* A checkpoint: the module's statistics and the window walk. */
struct figures {
	struct ntvm_stats s;
	struct window w;
};

/* v as a number of 1/scale characters of the bar, rounded, at least 1. */
static int cells(uint64_t v, int scale)
{
	int c = (v * BAR_WIDTH * scale + WIN_SIZE / 2) / WIN_SIZE;

	return v && !c ? 1 : c;
}

/*
 * The window as a bar: committed memory (in half characters), address
 * space taken without memory behind it, free.
 */
static void window_bar(char *q, uint64_t committed, uint64_t used)
{
	int half = cells(committed, 2), nu = cells(used, 1), i;

	if (nu < (half + 1) / 2)
		nu = (half + 1) / 2;
	for (i = 0; i < BAR_WIDTH; i++)
		q += sprintf(q, "%s", i < half / 2 ? "\u2588" :
				      i == half / 2 && half % 2 ? "\u258c" :
				      i < nu ? "\u2591" : "\u00b7");
}

/*
 * One row: the module's statistics, the window walk, and a bar of the
 * window.  Checks the statistics against what the demo expects, and that
 * the window (where every allocation of the demo lives) agrees with them.
 */
static struct figures checkpoint(const char *step, uint64_t allocs,
				 uint64_t reserved, uint64_t committed,
				 uint64_t waste)
{
	struct figures f = { 0 };
	struct ntvm_stats s;
	struct window w = { 0 };
	char bar[BAR_WIDTH * 3 + 1];
	char nallocs[24];
	uint64_t space;
	NTSTATUS st;

	st = ntvm_get_stats(&s);
	if (st) {
		bad("ntvm_stats: status %#x", (unsigned int)st);
		return f;
	}
	if (walk_window(&w))
		return f;
	space = s.reserved_bytes + s.granularity_waste;
	window_bar(bar, s.committed_bytes, w.used);
	snprintf(nallocs, sizeof(nallocs), "%llu",
		 (unsigned long long)s.allocations);
	printf(ROW_FMT, step, nallocs, human(space), human(s.committed_bytes),
	       human(s.granularity_waste), human(w.largest), bar);

	if (s.allocations != allocs || s.reserved_bytes != reserved ||
	    s.committed_bytes != committed || s.granularity_waste != waste)
		bad("stats: %llu allocations, %s reserved, %s committed, %s waste;"
		    " expected %llu, %s, %s, %s",
		    (unsigned long long)s.allocations, human(s.reserved_bytes),
		    human(s.committed_bytes), human(s.granularity_waste),
		    (unsigned long long)allocs, human(reserved),
		    human(committed), human(waste));
	if (w.used != space)
		bad("the window has %s taken, the statistics say %s",
		    human(w.used), human(space));
	f.s = s;
	f.w = w;
	return f;
}

/* ---- Step 2: KB Q216540 ------------------------------------------------- */

static NTSTATUS alloc_in_window(PVOID *base, SIZE_T size, ULONG type,
				ULONG protect)
{
	MEM_ADDRESS_REQUIREMENTS req = {
		.LowestStartingAddress = (PVOID)win_lo,
		.HighestEndingAddress = (PVOID)(win_end - 1),
	};
	MEM_EXTENDED_PARAMETER param = {
		.Type = MemExtendedParameterAddressRequirements,
		.Pointer = &req,
	};

	*base = NULL;
	return NtAllocateVirtualMemoryEx(NtCurrentProcess(), base, &size, type,
					 protect, &param, 1);
}

static bool in_window(uintptr_t p, SIZE_T size)
{
	return p >= win_lo && p + size <= win_end;
}

/* Fill the window with 4 KiB allocations; the one after the last must fail. */
static int small_allocs(char **small, struct figures *start,
			struct figures *full)
{
	static const int marks[] = { NSMALL / 4, NSMALL / 2, 3 * NSMALL / 4, NSMALL };
	char label[32];
	PVOID p;
	NTSTATUS st;
	int i, k = 0;

	*start = checkpoint("start", 0, 0, 0, 0);
	for (i = 0; i < NSMALL; i++) {
		st = alloc_in_window(&p, PAGE, MEM_RESERVE | MEM_COMMIT,
				     PAGE_READWRITE);
		if (st || !in_window((uintptr_t)p, PAGE) ||
		    (uintptr_t)p % GRAN) {
			bad("4 KiB allocation #%d: status %#x at %p", i + 1,
			    (unsigned int)st, p);
			return i;
		}
		small[i] = p;
		*(int *)small[i] = i;
		if (i + 1 == marks[k]) {
			snprintf(label, sizeof(label), "%d x 4 KiB", i + 1);
			*full = checkpoint(label, i + 1, (i + 1) * PAGE,
					   (i + 1) * PAGE,
					   (i + 1) * (GRAN - PAGE));
			k++;
		}
	}

	st = alloc_in_window(&p, PAGE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
	if (st != STATUS_NO_MEMORY ||
	    RtlNtStatusToDosError(st) != ERROR_NOT_ENOUGH_MEMORY) {
		bad("allocation #%d: status %#x (Win32 error %u), expected "
		    "STATUS_NO_MEMORY", NSMALL + 1, (unsigned int)st,
		    RtlNtStatusToDosError(st));
		if (!st)
			VirtualFree(p, 0, MEM_RELEASE);
	} else {
		printf("  #%d fails: STATUS_NO_MEMORY (ERROR_NOT_ENOUGH_MEMORY) "
		       "with only %s of memory committed\n", NSMALL + 1,
		       human(full->s.committed_bytes));
	}
	return NSMALL;
}

/* Check that each small allocation kept its value, and release them. */
static void release_small(char **small, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (*(int *)small[i] != i)
			bad("4 KiB allocation #%d at %p lost its contents", i + 1,
			    small[i]);
		if (!VirtualFree(small[i], 0, MEM_RELEASE)) {
			bad("VirtualFree(%p, 0, MEM_RELEASE): error %u",
			    small[i], GetLastError());
			break;
		}
	}
}

/* ---- Step 3: the remedy ------------------------------------------------- */

static void one_reservation(struct figures *done)
{
	static const int marks[] = { NSMALL / 2, NSMALL };
	const SIZE_T size = NSMALL * PAGE;
	char label[32], *p, *c;
	PVOID base;
	NTSTATUS st;
	int i, k = 0;

	st = alloc_in_window(&base, size, MEM_RESERVE, PAGE_NOACCESS);
	if (st || !in_window((uintptr_t)base, size)) {
		bad("reserve %s: status %#x at %p", human(size),
		    (unsigned int)st, base);
		return;
	}
	p = base;
	snprintf(label, sizeof(label), "reserve %s", human(size));
	checkpoint(label, 1, size, 0, 0);
	for (i = 0; i < NSMALL; i++) {
		c = VirtualAlloc(p + i * PAGE, PAGE, MEM_COMMIT, PAGE_READWRITE);
		if (c != p + i * PAGE) {
			bad("commit page %d: %p, error %u", i, c, GetLastError());
			break;
		}
		*(int *)c = i;
		if (i + 1 == marks[k]) {
			snprintf(label, sizeof(label), "commit %d pages", i + 1);
			*done = checkpoint(label, 1, size, (i + 1) * PAGE, 0);
			k++;
		}
	}
	for (i = 0; i < NSMALL && !failed; i++)
		if (*(int *)(p + i * PAGE) != i)
			bad("page %d of the reservation lost its contents", i);
	if (!VirtualFree(base, 0, MEM_RELEASE))
		bad("VirtualFree(%p, 0, MEM_RELEASE): error %u", base,
		    GetLastError());
}


/* ---- Step 4: a ring buffer from two views (VirtualAlloc2's example) ----- */

#define RING		KB(64)

static const char *type_name(DWORD t)
{
	return t == MEM_PRIVATE ? "MEM_PRIVATE" : t == MEM_MAPPED ? "MEM_MAPPED" :
	       t ? "?" : "-";
}

/* The query walk of [lo, hi), one row per region. */
static int print_walk(uintptr_t lo, uintptr_t hi)
{
	MEMORY_BASIC_INFORMATION m[16];
	ULONG n = 16, i;
	NTSTATUS st = ntvm_query_regions((PVOID)lo, (PVOID)hi, m, &n);

	if (st) {
		bad("ntvm_query_regions: status %#x", (unsigned int)st);
		return -1;
	}
	printf("    %-14s %-14s %9s  %-11s %-11s %s\n", "BaseAddress",
	       "AllocationBase", "size", "State", "Type", "Protect/AllocProtect");
	for (i = 0; i < n; i++)
		printf("    %#-14lx %#-14lx %9s  %-11s %-11s %#x/%#x\n",
		       (unsigned long)m[i].BaseAddress,
		       (unsigned long)m[i].AllocationBase, human(m[i].RegionSize),
		       state_name(m[i].State), type_name(m[i].Type), m[i].Protect,
		       m[i].AllocationProtect);
	return (int)n;
}

static void ring_buffer(void)
{
	static const char msg[] = "..a write that runs off the end..";
	char *p, *v1, *v2;
	HANDLE h;
	size_t at = RING - 16;

	printf("\nRing buffer (VirtualAlloc2's example): one %s section mapped "
	       "twice, back to back,\nin a placeholder split in two.\n",
	       human(RING));
	p = VirtualAlloc2(NULL, NULL, 2 * RING, MEM_RESERVE |
			  MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS, NULL, 0);
	if (!p) {
		bad("VirtualAlloc2(placeholder): error %u", GetLastError());
		return;
	}
	if (!VirtualFree(p, RING, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER)) {
		bad("split: error %u", GetLastError());
		return;
	}
	printf("  placeholder of %s at %p, split in two:\n", human(2 * RING), p);
	if (print_walk((uintptr_t)p, (uintptr_t)p + 2 * RING) != 2)
		bad("the split placeholder is not two regions");
	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, RING,
			      NULL);
	v1 = h ? MapViewOfFile3(h, NULL, p, 0, RING, MEM_REPLACE_PLACEHOLDER,
				PAGE_READWRITE, NULL, 0) : NULL;
	v2 = v1 ? MapViewOfFile3(h, NULL, p + RING, 0, RING,
				 MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL,
				 0) : NULL;
	if (!v2) {
		bad("CreateFileMapping/MapViewOfFile3: error %u", GetLastError());
		return;
	}
	CloseHandle(h);
	printf("  both halves replaced by views of the section (handle closed):\n");
	if (print_walk((uintptr_t)p, (uintptr_t)p + 2 * RING) != 2)
		bad("the two views are not two regions");
	memcpy(v1 + at, msg, sizeof(msg));
	__asm__ volatile("" ::: "memory");
	printf("  wrote \"%s\" at offset %#zx (%zu bytes past the end);\n",
	       msg, at, at + sizeof(msg) - RING);
	printf("  the start of the buffer now reads \"%.*s\"\n",
	       (int)(at + sizeof(msg) - RING), v1);
	if (memcmp(v1, msg + RING - at, at + sizeof(msg) - RING))
		bad("the wrap-around did not appear at the start");
	if (!UnmapViewOfFile2(NtCurrentProcess(), v1, MEM_PRESERVE_PLACEHOLDER) ||
	    !UnmapViewOfFile2(NtCurrentProcess(), v2, MEM_PRESERVE_PLACEHOLDER) ||
	    !VirtualFree(p, 2 * RING, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS)) {
		bad("unmap/coalesce: error %u", GetLastError());
		return;
	}
	printf("  unmapped back to placeholders and coalesced:\n");
	if (print_walk((uintptr_t)p, (uintptr_t)p + 2 * RING) != 1)
		bad("the coalesced placeholder is not one region");
	if (!VirtualFree(p, 0, MEM_RELEASE))
		bad("release: error %u", GetLastError());
}

/* ---- Step 5: an emulator's arena ----------------------------------------- */

#define ARENA_PAGES	64		/* the guest's address space */
#define RAM_PAGES	16		/* the guest's memory, one section */

static char *arena;

/* The arena, a character a page: the RAM page mapped there, or '.'. */
static void draw_arena(const char *what, int regions_expected)
{
	MEMORY_BASIC_INFORMATION m[ARENA_PAGES];
	ULONG n = ARENA_PAGES, i;
	char line[ARENA_PAGES + 1];
	uintptr_t a, end;
	int k = 0;

	if (ntvm_query_regions(arena, arena + ARENA_PAGES * PAGE, m, &n)) {
		bad("query of the arena failed");
		return;
	}
	for (i = 0; i < n; i++) {
		end = (uintptr_t)m[i].BaseAddress + m[i].RegionSize;
		for (a = (uintptr_t)m[i].BaseAddress; a < end; a += PAGE, k++)
			line[k] = m[i].Type != MEM_MAPPED ? '.' :
				  m[i].Protect == PAGE_NOACCESS ? '#' :
				  "0123456789abcdef"[*(volatile char *)a & 15];
	}
	line[k] = 0;
	printf("  %-34s |%s| %2lu regions\n", what, line, (unsigned long)n);
	if ((int)n != regions_expected)
		bad("%lu regions, expected %d", (unsigned long)n,
		    regions_expected);
}

/* Map RAM pages [ram, ram + n) at arena page at, splitting the placeholder. */
static void guest_map(HANDLE ram_h, int at, int ram, int n, ULONG prot)
{
	char *b = arena + at * PAGE;
	MEMORY_BASIC_INFORMATION m;

	/* Find the placeholder piece, split off the head and the tail. */
	if (!VirtualQuery(b, &m, sizeof(m)) || m.State != MEM_RESERVE) {
		bad("arena page %d is not a placeholder", at);
		return;
	}
	if ((char *)m.BaseAddress < b &&
	    !VirtualFree(m.BaseAddress, b - (char *)m.BaseAddress,
			 MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER))
		bad("split head: error %u", GetLastError());
	if ((char *)m.BaseAddress + m.RegionSize > b + n * PAGE &&
	    !VirtualFree(b, n * PAGE, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER))
		bad("split tail: error %u", GetLastError());
	if (MapViewOfFile3(ram_h, NULL, b, (DWORD64)ram * PAGE, n * PAGE,
			   MEM_REPLACE_PLACEHOLDER, prot, NULL, 0) != b)
		bad("MapViewOfFile3 at arena page %d: error %u", at,
		    GetLastError());
}

/* Unmap the view at arena page at, and merge the free neighbours. */
static void guest_unmap(int at)
{
	char *b = arena + at * PAGE, *lo, *hi;
	MEMORY_BASIC_INFORMATION m;

	if (!UnmapViewOfFile2(NtCurrentProcess(), b, MEM_PRESERVE_PLACEHOLDER) ||
	    !VirtualQuery(b, &m, sizeof(m))) {
		bad("UnmapViewOfFile2 at arena page %d: error %u", at,
		    GetLastError());
		return;
	}
	/* RPCS3's way: query the neighbours, one coalesce over all of them. */
	lo = b;
	hi = b + m.RegionSize;
	if (b > arena && VirtualQuery(b - 1, &m, sizeof(m)) &&
	    m.State == MEM_RESERVE && m.Type == MEM_PRIVATE)
		lo = m.AllocationBase;
	if (hi < arena + ARENA_PAGES * PAGE && VirtualQuery(hi, &m, sizeof(m)) &&
	    m.State == MEM_RESERVE && m.Type == MEM_PRIVATE)
		hi += m.RegionSize;
	if ((lo != b || VirtualQuery(b, &m, sizeof(m)) == 0 ||
	     hi != b + m.RegionSize) &&
	    !VirtualFree(lo, hi - lo, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS))
		bad("coalesce: error %u", GetLastError());
}

static void emulator_arena(void)
{
	HANDLE ram_h;
	char *ram;
	DWORD old;
	int i;

	printf("\nEmulator arena: the guest's %d-page address space is one "
	       "placeholder; its %d pages\nof RAM are one section, mapped into "
	       "the arena page by page as the guest remaps.\n"
	       "One character per page: the RAM page mapped there, '.' "
	       "placeholder, '#' no access.\n\n", ARENA_PAGES, RAM_PAGES);
	arena = VirtualAlloc2(NULL, NULL, ARENA_PAGES * PAGE, MEM_RESERVE |
			      MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS, NULL, 0);
	ram_h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
				  RAM_PAGES * PAGE, NULL);
	ram = ram_h ? MapViewOfFile(ram_h, FILE_MAP_WRITE, 0, 0, 0) : NULL;
	if (!arena || !ram) {
		bad("arena or RAM: error %u", GetLastError());
		return;
	}
	for (i = 0; i < RAM_PAGES; i++)
		ram[i * PAGE] = (char)i;
	draw_arena("reserved", 1);
	guest_map(ram_h, 0, 0, 4, PAGE_READWRITE);
	draw_arena("RAM 0-3 at 0", 2);
	guest_map(ram_h, 32, 0, 4, PAGE_READWRITE);
	draw_arena("mirror of RAM 0-3 at 32", 4);
	arena[32 * PAGE + 1] = 'm';
	if (((volatile char *)arena)[1] != 'm' || ram[1] != 'm')
		bad("a write through the mirror is not in RAM");
	guest_map(ram_h, 40, 9, 1, PAGE_READWRITE);
	guest_map(ram_h, 41, 10, 1, PAGE_READWRITE);
	guest_map(ram_h, 42, 11, 2, PAGE_READONLY);
	draw_arena("RAM 9, 10, 11-12 (read-only) at 40", 8);
	if (!VirtualProtect(arena + 41 * PAGE, PAGE, PAGE_NOACCESS, &old))
		bad("VirtualProtect: error %u", GetLastError());
	draw_arena("page 41 made inaccessible", 8);
	guest_unmap(0);
	draw_arena("RAM 0-3 at 0 unmapped", 7);
	guest_unmap(41);
	guest_unmap(40);
	draw_arena("40 and 41 unmapped", 5);
	guest_map(ram_h, 8, 15, 1, PAGE_READWRITE);
	draw_arena("RAM 15 at 8", 7);
	guest_unmap(8);
	guest_unmap(32);
	guest_unmap(42);
	draw_arena("everything unmapped", 1);
	if (!VirtualFree(arena, 0, MEM_RELEASE) || !UnmapViewOfFile(ram) ||
	    !CloseHandle(ram_h))
		bad("release: error %u", GetLastError());
	checkpoint("arena released", 0, 0, 0, 0);
}

int main(void)
{
	static char *small[NSMALL];
	struct figures start = { 0 }, full = { 0 }, done = { 0 };
	char legend[32];
	int n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ntvm demo: Microsoft KB Q216540, \"VirtualAlloc of small sizes "
	       "wastes address space\"\n\n");
	if (basics() || find_window())
		goto out;

	regs_cap = 2 * NSMALL + 64;
	regs = calloc(regs_cap, sizeof(*regs));
	if (!regs) {
		bad("out of memory");
		goto out;
	}
	printf("\nEach NT allocation takes a whole %s granule of address space, "
	       "even one of %s.\n", human(GRAN), human(PAGE));
	printf("Window %#lx-%#lx (%s, free) stands for a 32-bit process's 2 GiB, "
	       "at 1:8.\n", (unsigned long)win_lo, (unsigned long)win_end - 1,
	       human(WIN_SIZE));
	printf("Small allocation: VirtualAlloc(NULL, %llu, MEM_RESERVE|MEM_COMMIT, "
	       "PAGE_READWRITE), kept\nin the window by NtAllocateVirtualMemoryEx "
	       "with MEM_ADDRESS_REQUIREMENTS.\n\n", (unsigned long long)PAGE);
	snprintf(legend, sizeof(legend), "window, 1 char = %s:",
		 human(WIN_SIZE / BAR_WIDTH));
	printf(ROW_FMT, "", "", "address", "", "granule", "largest free",
	       legend);
	printf(ROW_FMT, "step", "allocs", "space", "committed", "waste",
	       "in window", "\u2588 committed \u2591 no memory \u00b7 free");
	n = small_allocs(small, &start, &full);
	release_small(small, n);
	checkpoint("release all", 0, 0, 0, 0);
	if (failed)
		goto out;
	one_reservation(&done);
	checkpoint("release", 0, 0, 0, 0);
	if (failed)
		goto out;

	printf("\nModule's largest_free (whole 47-bit space): %s at the start, %s "
	       "with the window full:\nno visible change, hence the window.\n",
	       human(start.s.largest_free), human(full.s.largest_free));
	printf("Conclusion: %s as %d x %s allocations took %s of address space; "
	       "as one, %s.\n", human(full.s.committed_bytes), NSMALL,
	       human(PAGE), human(full.w.used), human(done.w.used));
	ring_buffer();
	emulator_arena();
out:
	free(regs);
	printf("\n%s\n", failed ? "demo FAILED" : "demo done");
	return failed;
}
