// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libntvm: write watch (MEM_WRITE_WATCH, NtGetWriteWatch, NtResetWriteWatch).
 *
 * The module owns the NT side: which allocations were made with
 * MEM_WRITE_WATCH and the range rules (NTVM_IOC_WATCH).  Which pages were
 * written is tracked here, with the best mechanism the kernel offers,
 * chosen at run time by probing, never by version:
 *
 *  - userfaultfd asynchronous write-protection (UFFD_FEATURE_WP_ASYNC,
 *    UFFD_FEATURE_WP_UNPOPULATED; Linux 6.7 and later) with the
 *    PAGEMAP_SCAN ioctl of /proc/self/pagemap.  A watched allocation is
 *    registered for write-protection; a write to a protected page (by the
 *    program or by the kernel, e.g. read(2)) is resolved by the kernel
 *    itself, which only clears the page's uffd-wp bit.  PAGEMAP_SCAN lists
 *    the pages without the bit ("written") and, for a reset, protects
 *    exactly those it lists, page by page under the page-table lock, so
 *    no concurrent write is lost.  The state lives in the page tables:
 *    nothing is kept here but the list of watched allocations.
 *
 *  - the module's NTVM_IOC_WW_SCAN (where it advertises
 *    NTVM_FEATURE_WW_SCAN: kernels before 6.3, e.g. Debian's 6.1), which
 *    reads the soft-dirty bits of a range of one watched allocation from
 *    its page tables and, for a reset, clears and write-protects exactly
 *    the pages it reports, each under its page-table lock, so no
 *    concurrent write is lost.  Here too the state lives in the page
 *    tables.  A new mapping is flagged soft-dirty as a whole (VM_SOFTDIRTY),
 *    which would let mprotect() make clean pages writable without a fault,
 *    so after each commit or decommit in a watched allocation a scan of
 *    max_count 0 clears the flag again (ww_track()).
 *
 *  - soft-dirty bits through /proc, the last resort (Linux 3.11 and
 *    later): bit 55 of /proc/self/pagemap, cleared for the whole process
 *    by writing "4" to /proc/self/clear_refs.
 *    Because the clear is process-wide, every watched allocation keeps a
 *    bitmap here, and before each clear the soft-dirty bits of every
 *    watched allocation are folded into the bitmaps.  Reading and clearing
 *    are two steps, so a write between them could be lost.  A page that
 *    did not exist at the fold and exists after the clear was written in
 *    between, and is found again (sd_recheck()); a write to an existing
 *    page in that window is lost: on such kernels a reset (and a commit in
 *    a watched allocation) is not atomic against concurrent writes (see
 *    README).
 *
 * The module commits and decommits by mapping new VMAs (vm_mmap
 * MAP_FIXED), which are neither registered with userfaultfd nor clean for
 * soft-dirty (VM_SOFTDIRTY), so libntvm calls ntvm_ww_allocated() and
 * ntvm_ww_freed() after each such change inside a watched allocation.
 * Transparent huge pages are turned off on watched memory
 * (MADV_NOHUGEPAGE): every mechanism would report a written huge page as
 * 512 written pages.
 *
 * NTVM_WRITE_WATCH=uffd, =module or =soft-dirty in the environment forces
 * one mechanism (for tests); when the kernel lacks it, there is none.
 *
 * Every function here runs with the library lock held (ntvm_lib_lock()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "ntvm.h"
#include "internal.h"

#define WW_PAGE		4096UL
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * ABI values newer than the build host's headers, from the kernel's
 * documented UAPI (include/uapi/linux/userfaultfd.h and fs.h of 6.7+).
 */
#define WW_UFFD_FEATURE_WP_UNPOPULATED	(1ULL << 13)
#define WW_UFFD_FEATURE_WP_ASYNC	(1ULL << 15)
#define WW_UFFD_FEATURES	(WW_UFFD_FEATURE_WP_ASYNC | \
				 WW_UFFD_FEATURE_WP_UNPOPULATED)
#define WW_UFFD_USER_MODE_ONLY	1

struct ww_page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

struct ww_pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define WW_PAGEMAP_SCAN		_IOWR('f', 16, struct ww_pm_scan_arg)
#define WW_PAGE_IS_WRITTEN	(1ULL << 1)
#define WW_PAGE_IS_PRESENT	(1ULL << 3)
#define WW_PAGE_IS_SWAPPED	(1ULL << 4)
#define WW_PAGE_IS_PFNZERO	(1ULL << 5)
#define WW_PM_SCAN_WP_MATCHING	(1ULL << 0)
#define WW_PM_SCAN_CHECK_WPASYNC (1ULL << 1)

/* /proc/PID/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst). */
#define WW_PM_SOFT_DIRTY	(1ULL << 55)
#define WW_PM_EXCLUSIVE		(1ULL << 56)
#define WW_PM_SWAP		(1ULL << 62)
#define WW_PM_PRESENT		(1ULL << 63)

/* A watched allocation, as the module last described it. */
struct ww_alloc {
	uintptr_t base;
	size_t size;
	uint64_t *dirty;	/* soft-dirty: written pages, one bit each */
	uint64_t *absent;	/* soft-dirty: pages absent at the last fold */
};

static int ww_mode = -1;	/* NTVM_WRITE_WATCH_*, -1: not probed */
static int ww_uffd = -1;
static int ww_pagemap = -1;
static int ww_clear_refs = -1;
static struct ww_alloc *ww_tab;	/* sorted by base, never overlapping */
static unsigned int ww_cap;
unsigned int ntvm_ww_allocs;	/* entries of ww_tab */
/* Pagemap entries, read in chunks (under the library lock). */
static uint64_t ww_pm[4096];

static void ww_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- Probing ---- */

static int ww_probe_uffd(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = WW_UFFD_FEATURES };
	uintptr_t page = (uintptr_t)&ww_mode & ~(WW_PAGE - 1);
	struct ww_page_region r;
	/* Any range will do: does the kernel know the ioctl? */
	struct ww_pm_scan_arg a = {
		.size = sizeof(a), .start = page, .end = page + WW_PAGE,
		.vec = (uintptr_t)&r,
		.vec_len = 1, .category_mask = WW_PAGE_IS_WRITTEN,
		.return_mask = WW_PAGE_IS_WRITTEN,
	};

	/* User-mode-only needs no privilege (vm.unprivileged_userfaultfd). */
	ww_uffd = syscall(__NR_userfaultfd,
			  O_CLOEXEC | O_NONBLOCK | WW_UFFD_USER_MODE_ONLY);
	if (ww_uffd < 0)
		return -1;
	if (ioctl(ww_uffd, UFFDIO_API, &api) ||
	    (api.features & WW_UFFD_FEATURES) != WW_UFFD_FEATURES)
		goto fail;
	ww_pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (ww_pagemap < 0 || ioctl(ww_pagemap, WW_PAGEMAP_SCAN, &a) < 0)
		goto fail;
	return 0;
fail:
	ww_close(&ww_uffd);
	ww_close(&ww_pagemap);
	return -1;
}

/* The module's NTVM_IOC_WW_SCAN (with the library lock held). */
static int ww_probe_module(void)
{
	struct ntvm_api api = { .size = sizeof(api), .api = NTVM_API };
	static const __u32 ok;

	if (ntvm_ioctl_locked(NTVM_IOC_API, &api, &ok) ||
	    !(api.ioctls & NTVM_IOC_BIT(NTVM_IOC_WW_SCAN)))
		return -1;
	return 0;
}

static int ww_probe_soft_dirty(void)
{
	ww_pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ww_clear_refs = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (ww_pagemap >= 0 && ww_clear_refs >= 0)
		return 0;
	ww_close(&ww_pagemap);
	ww_close(&ww_clear_refs);
	return -1;
}

/* The mechanism of this process, probed once (NTVM_WRITE_WATCH_*). */
static int ww_probe(void)
{
	const char *force;

	if (ww_mode >= 0)
		return ww_mode;
	/* NTVM_WRITE_WATCH=uffd|module|soft-dirty: only that one (tests). */
	force = secure_getenv("NTVM_WRITE_WATCH");
	if ((!force || !strcmp(force, "uffd")) && !ww_probe_uffd())
		ww_mode = NTVM_WRITE_WATCH_UFFD;
	else if ((!force || !strcmp(force, "module")) && !ww_probe_module())
		ww_mode = NTVM_WRITE_WATCH_MODULE;
	else if ((!force || !strcmp(force, "soft-dirty")) &&
		 !ww_probe_soft_dirty())
		ww_mode = NTVM_WRITE_WATCH_SOFT_DIRTY;
	else
		ww_mode = NTVM_WRITE_WATCH_NONE;
	return ww_mode;
}

/* ---- The table of watched allocations ---- */

/* Index of the first entry that ends above addr. */
static unsigned int ww_lower(uintptr_t addr)
{
	unsigned int lo = 0, hi = ntvm_ww_allocs, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ww_tab[mid].base + ww_tab[mid].size <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The entry that contains addr, or NULL. */
static struct ww_alloc *ww_find(uintptr_t addr)
{
	unsigned int i = ww_lower(addr);

	return i < ntvm_ww_allocs && ww_tab[i].base <= addr ? &ww_tab[i] : NULL;
}

/* Forget the entries overlapping [lo, hi): the module no longer has them. */
static void ww_drop(uintptr_t lo, uintptr_t hi)
{
	unsigned int i = ww_lower(lo), j = i;

	while (j < ntvm_ww_allocs && ww_tab[j].base < hi)
		free(ww_tab[j++].dirty);
	memmove(&ww_tab[i], &ww_tab[j], (ntvm_ww_allocs - j) * sizeof(*ww_tab));
	ntvm_ww_allocs -= j - i;
}

static size_t ww_bitmap_words(size_t size)
{
	return (size / WW_PAGE + 63) / 64;
}

/*
 * A new entry for [base, base + size), after dropping what overlapped it;
 * in soft-dirty mode with a clean bitmap.  NULL if out of memory.
 */
static struct ww_alloc *ww_add(uintptr_t base, size_t size)
{
	struct ww_alloc *tab, e = { .base = base, .size = size };
	unsigned int i;

	ww_drop(base, base + size);
	if (ww_mode == NTVM_WRITE_WATCH_SOFT_DIRTY) {
		e.dirty = calloc(2 * ww_bitmap_words(size), sizeof(uint64_t));
		if (!e.dirty)
			return NULL;
		e.absent = e.dirty + ww_bitmap_words(size);
	}
	if (ntvm_ww_allocs == ww_cap) {
		tab = realloc(ww_tab, (ww_cap ? 2 * ww_cap : 16) * sizeof(*tab));
		if (!tab) {
			free(e.dirty);
			return NULL;
		}
		ww_tab = tab;
		ww_cap = ww_cap ? 2 * ww_cap : 16;
	}
	i = ww_lower(base);
	memmove(&ww_tab[i + 1], &ww_tab[i], (ntvm_ww_allocs - i) * sizeof(*ww_tab));
	ww_tab[i] = e;
	ntvm_ww_allocs++;
	return &ww_tab[i];
}

static int bit_test(const uint64_t *map, size_t i)
{
	return (map[i / 64] >> (i % 64)) & 1;
}

static void bit_set(uint64_t *map, size_t i)
{
	map[i / 64] |= 1ULL << (i % 64);
}

static void bit_clear(uint64_t *map, size_t i)
{
	map[i / 64] &= ~(1ULL << (i % 64));
}

/* ---- Soft-dirty bits ---- */

/* Was the page of this pagemap entry written since the last clear? */
static int sd_written(uint64_t e)
{
	/*
	 * A VMA the kernel has not cleared yet (VM_SOFTDIRTY) reports every
	 * page soft-dirty, holes included; only a page that exists counts.
	 */
	return (e & WW_PM_SOFT_DIRTY) && (e & (WW_PM_PRESENT | WW_PM_SWAP));
}

/* Pagemap entries of n pages from addr into ww_pm. */
static int sd_read(uintptr_t addr, size_t n)
{
	size_t done = 0, len = n * sizeof(uint64_t);
	off_t off = (off_t)(addr / WW_PAGE) * sizeof(uint64_t);
	ssize_t got;

	while (done < len) {
		got = pread(ww_pagemap, (char *)ww_pm + done, len - done,
			    off + done);
		if (got <= 0)
			return -1;
		done += got;
	}
	return 0;
}

/*
 * OR the soft-dirty bits of [lo, hi) into e's bitmap; note_absent: also
 * note which pages do not exist (for sd_recheck()).
 */
static int sd_fold(struct ww_alloc *e, uintptr_t lo, uintptr_t hi,
		   int note_absent)
{
	size_t first = (lo - e->base) / WW_PAGE, n = (hi - lo) / WW_PAGE;
	size_t i, k, chunk, pg;

	for (i = 0; i < n; i += chunk) {
		chunk = n - i < ARRAY_SIZE(ww_pm) ? n - i : ARRAY_SIZE(ww_pm);
		if (sd_read(lo + i * WW_PAGE, chunk))
			return -1;
		for (k = 0; k < chunk; k++) {
			pg = first + i + k;
			if (sd_written(ww_pm[k]))
				bit_set(e->dirty, pg);
			if (!note_absent)
				continue;
			if (ww_pm[k] & (WW_PM_PRESENT | WW_PM_SWAP))
				bit_clear(e->absent, pg);
			else
				bit_set(e->absent, pg);
		}
	}
	return 0;
}

/*
 * After a clear: a page that did not exist at the fold and exists now as
 * the process's own page (not the shared zero page a read maps) was
 * written in between, although the clear took its soft-dirty bit.  Only
 * a write to a page that existed, clean, at the fold goes unseen.
 */
static int sd_recheck(struct ww_alloc *e)
{
	size_t n = e->size / WW_PAGE, i = 0, j, k;
	uint64_t v;

	while (i < n) {
		if (!bit_test(e->absent, i)) {
			i++;
			continue;
		}
		j = i;
		while (j < n && j - i < ARRAY_SIZE(ww_pm) && bit_test(e->absent, j))
			j++;
		if (sd_read(e->base + i * WW_PAGE, j - i))
			return -1;
		for (k = 0; k < j - i; k++) {
			v = ww_pm[k];
			if ((v & WW_PM_SWAP) ||
			    ((v & WW_PM_PRESENT) && (v & WW_PM_EXCLUSIVE)))
				bit_set(e->dirty, i + k);
		}
		i = j;
	}
	return 0;
}

/*
 * Fold every watched allocation's soft-dirty bits into its bitmap, then
 * clear the bits of the whole process.  A write between the two to a page
 * that existed is lost.
 */
static int sd_fold_and_clear(void)
{
	unsigned int i;

	for (i = 0; i < ntvm_ww_allocs; i++)
		if (sd_fold(&ww_tab[i], ww_tab[i].base,
			    ww_tab[i].base + ww_tab[i].size, 1))
			return -1;
	if (write(ww_clear_refs, "4", 1) != 1)
		return -1;
	for (i = 0; i < ntvm_ww_allocs; i++)
		if (sd_recheck(&ww_tab[i]))
			return -1;
	return 0;
}

/* ---- The module's scan ---- */

/* Bitmap of one NTVM_IOC_WW_SCAN call (under the library lock). */
static uint64_t ww_bits[NTVM_WW_SCAN_MAX_PAGES / 64];

/*
 * NTVM_IOC_WW_SCAN of [lo, hi), one call per NTVM_WW_SCAN_MAX_PAGES pages,
 * as uffd_scan(); max_count 0 (clean): only make the mappings track writes
 * again.
 */
static NTSTATUS mod_scan(uintptr_t lo, uintptr_t hi, int reset, int clean,
			 PVOID *out, ULONG_PTR max, ULONG_PTR *found)
{
	struct ntvm_ww_scan_args a;
	ULONG_PTR n = 0;
	uintptr_t at = lo;
	size_t i;
	NTSTATUS st;

	do {
		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.base = at;
		a.length = hi - at;
		a.bitmap = (uintptr_t)ww_bits;
		a.max_count = clean ? 0 : out ? max - n : UINT64_MAX;
		a.flags = reset ? NTVM_WW_RESET : 0;
		st = ntvm_ioctl_locked(NTVM_IOC_WW_SCAN, &a, &a.status);
		if (st)
			return st;
		for (i = 0; i < a.scanned / WW_PAGE; i++) {
			if (!((ww_bits[i / 64] >> (i % 64)) & 1))
				continue;
			if (out)
				out[n] = (PVOID)(at + i * WW_PAGE);
			n++;
		}
		at += a.scanned;
	} while (a.scanned && at < hi && (!out || n < max));
	if (found)
		*found = n;
	return STATUS_SUCCESS;
}

/* ---- Tracking a range ---- */

/*
 * [lo, lo + len) of a watched allocation was just mapped anew (reserve,
 * commit or decommit): make its pages tracked and clean.  accessible: the
 * new mapping can be read or written (a commit).
 */
static void ww_track(uintptr_t lo, size_t len, int accessible)
{
	struct uffdio_register reg = {
		.range = { .start = lo, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	if (ww_mode == NTVM_WRITE_WATCH_UFFD) {
		/*
		 * Registration is per VMA and the new ones have none; the
		 * pages that were there keep theirs and their state.  New
		 * pages need no write-protection: scans count only pages
		 * that exist (uffd_scan()), and a page that comes to exist
		 * by a write is written.
		 */
		ioctl(ww_uffd, UFFDIO_REGISTER, &reg);
	}
	if (ww_mode == NTVM_WRITE_WATCH_MODULE) {
		/*
		 * The new mapping, and whatever it merged with, is flagged
		 * VM_SOFTDIRTY; so is what MADV_NOHUGEPAGE then merges with
		 * it.  The scan clears the flag (its pages stay as they
		 * are: new pages are not written, old ones keep their
		 * state).
		 */
		if (accessible)
			madvise((void *)lo, len, MADV_NOHUGEPAGE);
		mod_scan(lo, lo + len, 0, 1, NULL, 0, NULL);
		return;
	}
	if (!accessible)
		return;		/* no pages, no huge pages */
	if (ww_mode == NTVM_WRITE_WATCH_SOFT_DIRTY) {
		/*
		 * A new VMA reads as all soft-dirty (VM_SOFTDIRTY) until the
		 * next clear: a read of its zero page would count as a write.
		 * The clear also has to come before MADV_NOHUGEPAGE merges
		 * the new VMA with its neighbours, which would then inherit
		 * VM_SOFTDIRTY.  (Until then the flag differs, so nothing
		 * watched merged with it.)
		 */
		sd_fold_and_clear();
	}
	madvise((void *)lo, len, MADV_NOHUGEPAGE);
}

void ntvm_ww_allocated(const struct ntvm_alloc_args *a)
{
	uintptr_t base = a->base, size = a->region_size;
	struct ww_alloc *e;

	if (a->type & NTVM_MEM_WRITE_WATCH) {
		/* A new watched allocation (MEM_RESERVE is required). */
		if (ww_probe() == NTVM_WRITE_WATCH_NONE)
			return;
		e = ww_add(base, size);
		if (e)
			ww_track(base, size, !!(a->type & NTVM_MEM_COMMIT));
		return;
	}
	if (a->type & NTVM_MEM_RESERVE) {
		/* A new allocation: what was watched there is gone. */
		ww_drop(base, base + size);
		return;
	}
	e = ww_find(base);
	if (e && base + size <= e->base + e->size)
		ww_track(base, size, 1);
}

void ntvm_ww_freed(const struct ntvm_free_args *f)
{
	struct ww_alloc *e = ww_find(f->base), old;
	uintptr_t lo = f->base, hi = f->base + f->region_size, end;
	size_t i, skip;

	if (!e)
		return;
	end = e->base + e->size;
	if (f->type == NTVM_MEM_DECOMMIT) {
		/* Size 0 decommits the whole allocation and reports 0. */
		if (!f->region_size)
			hi = end;
		if (e->dirty)
			for (i = (lo - e->base) / WW_PAGE;
			     i < (hi - e->base) / WW_PAGE; i++)
				bit_clear(e->dirty, i);
		ww_track(lo, hi - lo, 0);
		return;
	}
	/* MEM_RELEASE: the rest, if any, is one or two allocations. */
	old = *e;
	e->dirty = NULL;
	ww_drop(old.base, end);
	if (lo > old.base) {
		e = ww_add(old.base, lo - old.base);
		for (i = 0; e && e->dirty && i < e->size / WW_PAGE; i++)
			if (bit_test(old.dirty, i))
				bit_set(e->dirty, i);
	}
	if (hi < end) {
		e = ww_add(hi, end - hi);
		skip = (hi - old.base) / WW_PAGE;
		for (i = 0; e && e->dirty && i < e->size / WW_PAGE; i++)
			if (bit_test(old.dirty, skip + i))
				bit_set(e->dirty, i);
	}
	free(old.dirty);
}

void ntvm_ww_forget(void)
{
	while (ntvm_ww_allocs)
		free(ww_tab[--ntvm_ww_allocs].dirty);
	free(ww_tab);
	ww_tab = NULL;
	ww_cap = 0;
	ww_close(&ww_uffd);
	ww_close(&ww_pagemap);
	ww_close(&ww_clear_refs);
	ww_mode = -1;
}

/* ---- Reading and resetting ---- */

static NTSTATUS ww_errno_status(int err)
{
	return err == ENOMEM ? STATUS_NO_MEMORY : STATUS_NOT_SUPPORTED;
}

/*
 * PAGEMAP_SCAN of [lo, hi) for written pages, in ascending order: up to
 * max of them into out (all of them when out is NULL), their number in
 * *found.  reset: write-protect exactly the pages reported, atomically
 * with the test of each.
 */
static int uffd_scan(uintptr_t lo, uintptr_t hi, int reset, PVOID *out,
		     ULONG_PTR max, ULONG_PTR *found)
{
	struct ww_page_region vec[64];
	struct ww_pm_scan_arg a;
	ULONG_PTR n = 0;
	uintptr_t at = lo, p;
	int ret, i;

	while (at < hi && (!out || n < max)) {
		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.flags = WW_PM_SCAN_CHECK_WPASYNC;
		if (reset)
			a.flags |= WW_PM_SCAN_WP_MATCHING;
		a.start = at;
		a.end = hi;
		a.vec = (uintptr_t)vec;
		a.vec_len = ARRAY_SIZE(vec);
		a.max_pages = out ? max - n : 0;
		/*
		 * Not write-protected ("written"), and a page that exists
		 * (PAGEMAP_SCAN counts a page never touched as written too),
		 * but not the zero page a read maps.
		 */
		a.category_mask = WW_PAGE_IS_WRITTEN | WW_PAGE_IS_PFNZERO;
		a.category_inverted = WW_PAGE_IS_PFNZERO;
		a.category_anyof_mask = WW_PAGE_IS_PRESENT | WW_PAGE_IS_SWAPPED;
		a.return_mask = WW_PAGE_IS_WRITTEN;
		ret = ioctl(ww_pagemap, WW_PAGEMAP_SCAN, &a);
		if (ret < 0)
			return -1;
		for (i = 0; i < ret; i++)
			for (p = vec[i].start; p < vec[i].end; p += WW_PAGE) {
				if (out && n == max)
					break;
				if (out)
					out[n] = (PVOID)p;
				n++;
			}
		if (a.walk_end <= at)
			break;
		at = a.walk_end;
	}
	*found = n;
	return 0;
}

/*
 * The watched allocation around [base, base + size), as the module
 * reports it (spec 5.13: else STATUS_INVALID_PARAMETER), with its entry,
 * created if libntvm did not see it made.
 */
static NTSTATUS ww_lookup(PVOID base, SIZE_T size, struct ntvm_watch_args *w,
			  struct ww_alloc **entry)
{
	struct ww_alloc *e;
	NTSTATUS st;

	w->size = sizeof(*w);
	w->base = (uintptr_t)base;
	w->length = size;
	st = ntvm_ioctl_locked(NTVM_IOC_WATCH, w, &w->status);
	if (st)
		return st;
	if (ww_probe() == NTVM_WRITE_WATCH_NONE)
		return STATUS_NOT_SUPPORTED;
	e = ww_find(w->alloc_base);
	if (!e || e->base != w->alloc_base || e->size != w->alloc_size) {
		e = ww_add(w->alloc_base, w->alloc_size);
		if (!e)
			return STATUS_NO_MEMORY;
		ww_track(e->base, e->size, 1);
	}
	*entry = e;
	return STATUS_SUCCESS;
}

/* uffd_scan(), registering the allocation again if a VMA lost it. */
static NTSTATUS uffd_get(const struct ntvm_watch_args *w, uintptr_t lo,
			 uintptr_t hi, int reset, PVOID *out, ULONG_PTR max,
			 ULONG_PTR *found)
{
	if (!uffd_scan(lo, hi, reset, out, max, found))
		return STATUS_SUCCESS;
	if (errno != EPERM)
		return ww_errno_status(errno);
	/* Mapped behind libntvm's back (module error paths, the program). */
	ww_track(w->alloc_base, w->alloc_size, 1);
	return uffd_scan(lo, hi, reset, out, max, found) ?
	       ww_errno_status(errno) : STATUS_SUCCESS;
}

/* Soft-dirty: the written pages of [lo, hi) of e, as uffd_scan(). */
static NTSTATUS sd_get(struct ww_alloc *e, uintptr_t lo, uintptr_t hi,
		       int reset, PVOID *out, ULONG_PTR max, ULONG_PTR *found)
{
	size_t i = (lo - e->base) / WW_PAGE, end = (hi - e->base) / WW_PAGE;
	ULONG_PTR n = 0;

	if (reset ? sd_fold_and_clear() : sd_fold(e, lo, hi, 0))
		return ww_errno_status(errno);
	for (; i < end && (!out || n < max); i++) {
		if (!bit_test(e->dirty, i))
			continue;
		if (reset)
			bit_clear(e->dirty, i);
		if (out)
			out[n] = (PVOID)(e->base + i * WW_PAGE);
		n++;
	}
	*found = n;
	return STATUS_SUCCESS;
}

static NTSTATUS ww_get(ULONG flags, PVOID base, SIZE_T size,
		       PVOID *out, ULONG_PTR max, ULONG_PTR *found)
{
	struct ntvm_watch_args w = { 0 };
	struct ww_alloc *e;
	uintptr_t lo, hi;
	int reset = flags & WRITE_WATCH_FLAG_RESET;
	NTSTATUS st;

	ntvm_lib_lock();
	st = ww_lookup(base, size, &w, &e);
	if (!st) {
		lo = (uintptr_t)base & ~(WW_PAGE - 1);
		hi = ((uintptr_t)base + size + WW_PAGE - 1) & ~(WW_PAGE - 1);
		if (ww_mode == NTVM_WRITE_WATCH_UFFD)
			st = uffd_get(&w, lo, hi, reset, out, max, found);
		else if (ww_mode == NTVM_WRITE_WATCH_MODULE)
			st = mod_scan(lo, hi, reset, 0, out, max, found);
		else
			st = sd_get(e, lo, hi, reset, out, max, found);
	}
	ntvm_lib_unlock();
	return st;
}

NTVM_EXPORT NTSTATUS NtGetWriteWatch(HANDLE process, ULONG flags, PVOID base,
				     SIZE_T size, PVOID *addresses,
				     ULONG_PTR *count, ULONG *granularity)
{
	ULONG_PTR found = 0;
	NTSTATUS st;

	/* Spec 5.13, in Wine's order. */
	if (process != NtCurrentProcess())
		return STATUS_INVALID_HANDLE;
	if (!count || !granularity)
		return STATUS_ACCESS_VIOLATION;
	if (!*count || !size || (flags & ~WRITE_WATCH_FLAG_RESET))
		return STATUS_INVALID_PARAMETER;
	if (!addresses)
		return STATUS_ACCESS_VIOLATION;
	st = ww_get(flags, base, size, addresses, *count, &found);
	if (!st) {
		*count = found;
		*granularity = WW_PAGE;
	}
	return st;
}

NTVM_EXPORT NTSTATUS NtResetWriteWatch(HANDLE process, PVOID base, SIZE_T size)
{
	ULONG_PTR found;

	if (process != NtCurrentProcess())
		return STATUS_INVALID_HANDLE;
	/* The module checks the range, size 0 included. */
	return ww_get(WRITE_WATCH_FLAG_RESET, base, size, NULL, 0, &found);
}

NTVM_EXPORT int ntvm_write_watch_mode(void)
{
	int mode;

	ntvm_lib_lock();
	mode = ww_probe();
	ntvm_lib_unlock();
	return mode;
}
