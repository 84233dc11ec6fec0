// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libntvm: write watch (MEM_WRITE_WATCH, NtGetWriteWatch, NtResetWriteWatch).
 *
 * Who owns what (Documentation/ntvm.rst, "Who decides what" and "Write
 * watch"):
 *  - the module owns which allocations are watched and their bounds, with
 *    every range rule: it answers NTVM_OUT_WRITE_WATCH in out_flags after
 *    each allocate, free and protect that acted inside a watched
 *    allocation, and NTVM_IOC_WATCH checks a GetWriteWatch range.  This
 *    file keeps no list of watched allocations and no split rules: it
 *    acts on the range the module reported, and only when it said so;
 *  - the page tables own which pages were written, read and reset by the
 *    mechanism below;
 *  - this file owns only Windows' latch (spec 5.10): the pages written
 *    before an NtProtectVirtualMemory over them, which stay reported
 *    through a decommit and a recommit until a reset.  They are kept as a
 *    set of page runs keyed by address, not by allocation, so a release
 *    drops the runs in the released range and needs to know nothing of
 *    how the module split the allocation.
 *
 * Which pages were written, by the mechanism the kernel offers, probed at
 * run time, never by version:
 *
 *  - userfaultfd asynchronous write-protection (UFFD_FEATURE_WP_ASYNC,
 *    UFFD_FEATURE_WP_UNPOPULATED; Linux 6.7 and later) with the
 *    PAGEMAP_SCAN ioctl of /proc/self/pagemap.  A watched range is
 *    registered for write-protection; a write to a protected page (by the
 *    program or by the kernel, e.g. read(2)) is resolved by the kernel
 *    itself, which only clears the page's uffd-wp bit.  PAGEMAP_SCAN lists
 *    the pages without the bit ("written") and, for a reset, protects
 *    exactly those it lists, page by page under the page-table lock, so
 *    no concurrent write is lost.
 *
 *  - the module's NTVM_IOC_WW_SCAN (where it advertises it: kernels
 *    before 6.3, e.g. Debian's 6.1), which reads the soft-dirty bits of a
 *    range of one watched allocation from its page tables and, for a
 *    reset, clears and write-protects exactly the pages it reports, each
 *    under its page-table lock.  A new mapping is flagged soft-dirty as a
 *    whole (VM_SOFTDIRTY), which would let mprotect() make clean pages
 *    writable without a fault, so after each commit or decommit in a
 *    watched allocation a scan of max_count 0 clears the flag again
 *    (ww_track()).
 *
 *  - neither (Linux 6.3 to 6.6, which ntvm does not support): a
 *    MEM_WRITE_WATCH allocation is made, and NtGetWriteWatch and
 *    NtResetWriteWatch return STATUS_NOT_SUPPORTED.
 *
 * The module commits and decommits by mapping new VMAs (vm_mmap
 * MAP_FIXED), which are neither registered with userfaultfd nor clean for
 * soft-dirty, so ntapi.c calls ntvm_ww_allocated() and ntvm_ww_freed()
 * after each such change that the module reported in a watched
 * allocation.  Transparent huge pages are turned off on watched memory
 * (MADV_NOHUGEPAGE): both mechanisms would report a written huge page as
 * 512 written pages.
 *
 * NTVM_WRITE_WATCH=uffd or =module in the environment forces one
 * mechanism (for tests); when the kernel lacks it, there is none.
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

static int ww_mode = -1;	/* NTVM_WRITE_WATCH_*, -1: not probed */
static int ww_uffd = -1;
static int ww_pagemap = -1;
/* The module has reported a watched range to this process. */
static int ww_seen;

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

/* The mechanism of this process, probed once (NTVM_WRITE_WATCH_*). */
static int ww_probe(void)
{
	const char *force;

	if (ww_mode >= 0)
		return ww_mode;
	/* NTVM_WRITE_WATCH=uffd|module: only that one (tests). */
	force = secure_getenv("NTVM_WRITE_WATCH");
	if ((!force || !strcmp(force, "uffd")) && !ww_probe_uffd())
		ww_mode = NTVM_WRITE_WATCH_UFFD;
	else if ((!force || !strcmp(force, "module")) && !ww_probe_module())
		ww_mode = NTVM_WRITE_WATCH_MODULE;
	else
		ww_mode = NTVM_WRITE_WATCH_NONE;
	return ww_mode;
}

/* ---- The latch ---- */

/*
 * The "latch" (spec 5.10, Windows' kernel32 test_write_watch): a page
 * written before an NtProtectVirtualMemory call over it stays reported
 * after a decommit, and after the recommit, until a reset.  Windows keeps
 * such pages in the allocation's own bitmap, which a protection change
 * fills from the page tables and a decommit does not clear.  Here they
 * are runs of pages [start, end), sorted, disjoint and not adjacent,
 * keyed by address only: ntvm_ww_protected() adds to them, ww_get()
 * reports them with the pages written since and drops them on reset, and
 * a release or a new watched allocation drops those in its range.  A run
 * left by memory unmapped behind ntvm's back is never reported: a watched
 * allocation made there later starts by dropping it.
 */
struct ww_run {
	uintptr_t start, end;
};

static struct ww_run *ww_latch;
static size_t ww_nlatch;

/* Index of the first run that ends above addr. */
static size_t latch_lower(uintptr_t addr)
{
	size_t lo = 0, hi = ww_nlatch, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ww_latch[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Any latched page in [lo, hi)? */
static int latch_any(uintptr_t lo, uintptr_t hi)
{
	size_t i = latch_lower(lo);

	return i < ww_nlatch && ww_latch[i].start < hi;
}

/* Append [start, end) to the n runs of buf, merging with the last one. */
static size_t latch_push(struct ww_run *buf, size_t n, uintptr_t start,
			 uintptr_t end)
{
	if (n && buf[n - 1].end >= start) {
		if (end > buf[n - 1].end)
			buf[n - 1].end = end;
		return n;
	}
	buf[n].start = start;
	buf[n].end = end;
	return n + 1;
}

/*
 * The latch made anew in buf, which has room for ww_nlatch + 1 + m runs
 * and becomes the latch: the old runs less [dlo, dhi), with the m sorted,
 * disjoint runs of add merged in.  It cannot fail, so a caller that
 * allocates buf first changes nothing when that fails.
 */
static void latch_rebuild(struct ww_run *buf, uintptr_t dlo, uintptr_t dhi,
			  const struct ww_run *add, size_t m)
{
	size_t i = 0, j = 0, n = 0;
	struct ww_run r;

	while (i < ww_nlatch || j < m) {
		if (j == m || (i < ww_nlatch && ww_latch[i].start < add[j].start))
			r = ww_latch[i++];
		else
			r = add[j++];
		if (r.start < dhi && r.end > dlo) {
			/* At most one run reaches past both ends: room + 1. */
			if (r.start < dlo)
				n = latch_push(buf, n, r.start, dlo);
			if (r.end > dhi)
				n = latch_push(buf, n, dhi, r.end);
			continue;
		}
		n = latch_push(buf, n, r.start, r.end);
	}
	free(ww_latch);
	ww_latch = buf;
	ww_nlatch = n;
}

static struct ww_run *latch_buf(size_t m)
{
	return malloc((ww_nlatch + 1 + m) * sizeof(struct ww_run));
}

/* Forget the latched pages of [lo, hi); -1 if out of memory. */
static int latch_drop(uintptr_t lo, uintptr_t hi)
{
	struct ww_run *buf;

	if (!latch_any(lo, hi))
		return 0;
	buf = latch_buf(0);
	if (!buf)
		return -1;
	latch_rebuild(buf, lo, hi, NULL, 0);
	return 0;
}

/* The n ascending pages as runs, into runs; their number. */
static size_t pages_to_runs(PVOID const *pages, size_t n, struct ww_run *runs)
{
	size_t i, m = 0;

	for (i = 0; i < n; i++)
		m = latch_push(runs, m, (uintptr_t)pages[i],
			       (uintptr_t)pages[i] + WW_PAGE);
	return m;
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
	if (accessible)
		madvise((void *)lo, len, MADV_NOHUGEPAGE);
}

/*
 * After an NtAllocateVirtualMemory(Ex) that the module reported inside a
 * watched allocation (NTVM_OUT_WRITE_WATCH).
 */
void ntvm_ww_allocated(const struct ntvm_alloc_args *a)
{
	uintptr_t base = a->base, size = a->region_size;

	ww_seen = 1;
	/* A reset maps nothing: the pages stay tracked as they were. */
	if (a->type & (NTVM_MEM_RESET | NTVM_MEM_RESET_UNDO))
		return;
	/* A new watched allocation starts with no latched page. */
	if (a->type & NTVM_MEM_RESERVE)
		latch_drop(base, base + size);
	if (ww_probe() == NTVM_WRITE_WATCH_NONE)
		return;
	ww_track(base, size, !!(a->type & NTVM_MEM_COMMIT));
}

/*
 * After an NtFreeVirtualMemory that the module reported inside a watched
 * allocation.  A release (and its placeholder forms) drops the latched
 * pages of the range, wherever the allocation was split; a decommit
 * keeps them (spec 5.10) and tracks the new mapping.
 */
void ntvm_ww_freed(const struct ntvm_free_args *f)
{
	struct ntvm_watch_args w = { 0 };
	uintptr_t lo = f->base, len = f->region_size;

	ww_seen = 1;
	if (f->type & NTVM_MEM_RELEASE) {
		latch_drop(lo, lo + len);
		return;
	}
	if (ww_probe() == NTVM_WRITE_WATCH_NONE)
		return;
	if (!len) {
		/* Size 0 decommits the whole allocation and reports 0. */
		w.size = sizeof(w);
		w.base = lo;
		w.length = WW_PAGE;
		if (ntvm_ioctl_locked(NTVM_IOC_WATCH, &w, &w.status))
			return;
		lo = w.alloc_base;
		len = w.alloc_size;
	}
	ww_track(lo, len, 0);
}

static NTSTATUS ww_mech_get(uintptr_t alo, uintptr_t ahi, uintptr_t lo,
			    uintptr_t hi, int reset, PVOID *out, ULONG_PTR max,
			    ULONG_PTR *found);

/* After an NtProtectVirtualMemory in a watched allocation: the latch. */
void ntvm_ww_protected(uintptr_t lo, size_t len)
{
	ULONG_PTR n = len / WW_PAGE, found = 0;
	struct ww_run *runs, *buf;
	PVOID *pages;
	size_t m;

	ww_seen = 1;
	if (ww_probe() == NTVM_WRITE_WATCH_NONE)
		return;
	pages = malloc(n * sizeof(*pages));
	runs = malloc(n * sizeof(*runs));
	if (pages && runs &&
	    !ww_mech_get(lo, lo + len, lo, lo + len, 0, pages, n, &found) &&
	    found) {
		m = pages_to_runs(pages, found, runs);
		buf = latch_buf(m);
		if (buf)
			latch_rebuild(buf, 0, 0, runs, m);
	}
	free(runs);
	free(pages);
}

/* Does [lo, lo + len) overlap a MEM_WRITE_WATCH allocation?  The module says. */
int ntvm_ww_overlaps(uintptr_t lo, size_t len)
{
	struct ntvm_region r[16];
	struct ntvm_query_args q;
	uintptr_t at = lo, hi = lo + len;
	__u32 i;

	if (!ww_seen)
		return 0;
	while (at < hi) {
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.address = at;
		q.end = hi;
		q.regions = (uintptr_t)r;
		q.region_size = sizeof(r[0]);
		q.count = ARRAY_SIZE(r);
		/* When in doubt, as if it did: nothing is marked written. */
		if (ntvm_ioctl_locked(NTVM_IOC_QUERY, &q, &q.status) || !q.count)
			return 1;
		for (i = 0; i < q.count; i++)
			if (r[i].flags & NTVM_REGION_WRITE_WATCH)
				return 1;
		at = r[q.count - 1].base + r[q.count - 1].size;
	}
	return 0;
}

void ntvm_ww_forget(void)
{
	free(ww_latch);
	ww_latch = NULL;
	ww_nlatch = 0;
	ww_seen = 0;
	ww_close(&ww_uffd);
	ww_close(&ww_pagemap);
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
 *
 * A mapping not registered with userfaultfd stops the kernel with EPERM,
 * after it wrote out, and when resetting write-protected, what it found
 * before it: those pages are in *found all the same (a later scan would
 * not see them again), and *stop says where to go on once the range is
 * registered.  -1 then, errno EPERM.
 */
static int uffd_scan(uintptr_t lo, uintptr_t hi, int reset, PVOID *out,
		     ULONG_PTR max, ULONG_PTR *found, uintptr_t *stop)
{
	struct ww_page_region vec[64];
	struct ww_pm_scan_arg a;
	ULONG_PTR n = 0;
	uintptr_t at = lo, p;
	int ret, i, refused;

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
		memset(vec, 0, sizeof(vec));
		ret = ioctl(ww_pagemap, WW_PAGEMAP_SCAN, &a);
		refused = ret < 0;
		if (refused) {
			if (errno != EPERM)
				return -1;
			for (ret = 0; ret < (int)ARRAY_SIZE(vec) && vec[ret].end; ret++)
				;
		}
		for (i = 0; i < ret; i++)
			for (p = vec[i].start; p < vec[i].end; p += WW_PAGE) {
				if (out && n == max)
					break;
				if (out)
					out[n] = (PVOID)p;
				n++;
			}
		if (refused) {
			*found = n;
			*stop = ret ? vec[ret - 1].end : at;
			errno = EPERM;
			return -1;
		}
		if (a.walk_end <= at)
			break;
		at = a.walk_end;
	}
	*found = n;
	return 0;
}

/*
 * uffd_scan(), registering [alo, ahi) (the allocation, or the protected
 * range) again if a VMA lost its registration: mapped behind libntvm's
 * back (module error paths, the program), or made by a call libntvm did
 * not see.
 */
static NTSTATUS uffd_get(uintptr_t alo, uintptr_t ahi, uintptr_t lo,
			 uintptr_t hi, int reset, PVOID *out, ULONG_PTR max,
			 ULONG_PTR *found)
{
	ULONG_PTR got = 0, more = 0;
	uintptr_t stop = lo;

	if (!uffd_scan(lo, hi, reset, out, max, found, &stop))
		return STATUS_SUCCESS;
	if (errno != EPERM)
		return ww_errno_status(errno);
	/* What the refused scan found counts: go on from there. */
	got = *found;
	ww_track(alo, ahi - alo, 1);
	if (!out || got < max) {
		if (uffd_scan(stop, hi, reset, out ? out + got : NULL,
			      out ? max - got : 0, &more, &stop))
			return ww_errno_status(errno);
	}
	*found = got + more;
	return STATUS_SUCCESS;
}

/*
 * The written pages of [lo, hi), in [alo, ahi) of a watched allocation,
 * by the mechanism in use, as uffd_scan().
 */
static NTSTATUS ww_mech_get(uintptr_t alo, uintptr_t ahi, uintptr_t lo,
			    uintptr_t hi, int reset, PVOID *out, ULONG_PTR max,
			    ULONG_PTR *found)
{
	if (ww_mode == NTVM_WRITE_WATCH_UFFD)
		return uffd_get(alo, ahi, lo, hi, reset, out, max, found);
	return mod_scan(lo, hi, reset, 0, out, max, found);
}

/*
 * With latched pages in the range: the written pages (reset atomically
 * with their test, as without), merged in order with the latched ones, up
 * to max of them.  The mechanism is asked for at most max pages, all of
 * them reset when reset is set; those beyond the last one reported are
 * latched, so that they are reported later: nothing is lost.  Everything
 * that can fail comes before the mechanism's reset.
 */
static NTSTATUS ww_get_latched(uintptr_t alo, uintptr_t ahi, uintptr_t lo,
			       uintptr_t hi, int reset, PVOID *out,
			       ULONG_PTR max, ULONG_PTR *found)
{
	ULONG_PTR n = (hi - lo) / WW_PAGE, cap = max < n ? max : n;
	ULONG_PTR got = 0, k = 0, j = 0;
	struct ww_run *buf = NULL, *add = NULL;
	uintptr_t p, cut = hi;
	size_t r = latch_lower(lo);
	PVOID *pages = malloc(cap * sizeof(*pages));
	int written, latched;
	NTSTATUS st = STATUS_NO_MEMORY;

	if (!pages)
		goto out;
	if (reset) {
		buf = latch_buf(cap);
		add = malloc(cap * sizeof(*add));
		if (!buf || !add)
			goto out;
	}
	st = ww_mech_get(alo, ahi, lo, hi, reset, pages, cap, &got);
	if (st)
		goto out;
	for (p = lo; p < hi; p += WW_PAGE) {
		while (r < ww_nlatch && ww_latch[r].end <= p)
			r++;
		if (r == ww_nlatch && j == got)
			break;
		latched = r < ww_nlatch && ww_latch[r].start <= p;
		written = j < got && (uintptr_t)pages[j] == p;
		if (!written && !latched)
			continue;
		if (k == max) {
			cut = p;
			break;
		}
		j += written;
		out[k++] = (PVOID)p;
	}
	if (reset) {
		latch_rebuild(buf, lo, cut, add,
			      pages_to_runs(pages + j, got - j, add));
		buf = NULL;
	}
	*found = k;
out:
	free(add);
	free(buf);
	free(pages);
	return st;
}

static NTSTATUS ww_get(ULONG flags, PVOID base, SIZE_T size,
		       PVOID *out, ULONG_PTR max, ULONG_PTR *found)
{
	struct ntvm_watch_args w = {
		.size = sizeof(w), .base = (uintptr_t)base, .length = size,
	};
	uintptr_t lo, hi, alo, ahi;
	struct ww_run *buf;
	int reset = flags & WRITE_WATCH_FLAG_RESET;
	NTSTATUS st;

	/* NtGetWriteWatch's array, probed by the module before the range. */
	if (out) {
		w.flags = NTVM_WATCH_PROBE;
		w.array = (uintptr_t)out;
		w.array_size = (__u64)max * sizeof(*out);
	}
	ntvm_lib_lock();
	/* The module checks the range and names its allocation. */
	st = ntvm_ioctl_locked(NTVM_IOC_WATCH, &w, &w.status);
	if (!st && ww_probe() == NTVM_WRITE_WATCH_NONE)
		st = STATUS_NOT_SUPPORTED;
	if (st)
		goto out;
	alo = w.alloc_base;
	ahi = w.alloc_base + w.alloc_size;
	lo = (uintptr_t)base & ~(WW_PAGE - 1);
	hi = ((uintptr_t)base + size + WW_PAGE - 1) & ~(WW_PAGE - 1);
	if (!latch_any(lo, hi)) {
		st = ww_mech_get(alo, ahi, lo, hi, reset, out, max, found);
	} else if (out) {
		st = ww_get_latched(alo, ahi, lo, hi, reset, out, max, found);
	} else {
		/* NtResetWriteWatch: every page of the range. */
		buf = latch_buf(0);
		st = buf ? ww_mech_get(alo, ahi, lo, hi, 1, NULL, 0, found) :
			   STATUS_NO_MEMORY;
		if (!st)
			latch_rebuild(buf, lo, hi, NULL, 0);
		else
			free(buf);
	}
out:
	ntvm_lib_unlock();
	return st;
}

NTVM_EXPORT NTSTATUS NtGetWriteWatch(HANDLE process, ULONG flags, PVOID base,
				     SIZE_T size, PVOID *addresses,
				     ULONG_PTR *count, ULONG *granularity)
{
	ULONG_PTR found = 0;
	NTSTATUS st;

	/*
	 * Spec 5.13, in Wine's order; a wild or read-only variable or array
	 * is STATUS_ACCESS_VIOLATION where a NULL one is, and nothing is
	 * read or reset: the variables are probed here (NTVM_MEMCTL_PROBE),
	 * the array by the range check (NTVM_WATCH_PROBE, in ww_get()).
	 */
	if (process != NtCurrentProcess())
		return STATUS_INVALID_HANDLE;
	if (!count || !granularity ||
	    ntvm_probe_outputs(granularity, sizeof(*granularity), 0,
			       (const SIZE_T *)count))
		return STATUS_ACCESS_VIOLATION;
	if (!*count || !size || (flags & ~WRITE_WATCH_FLAG_RESET))
		return STATUS_INVALID_PARAMETER;
	if (!addresses || *count > SIZE_MAX / sizeof(*addresses))
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
