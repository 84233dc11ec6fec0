// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: MEM_RESET and MEM_RESET_UNDO.
 *
 * A MEM_RESET range is armed before libntvm's madvise(MADV_FREE), so no
 * discard can slip in between; the invalidations of the arming task's own
 * madvise(MADV_FREE) are ignored until NTVM_IOC_RESET_DONE closes that
 * window, or conservatively the next operation does.  Any other discard
 * the arming task makes meanwhile (reclaim, MADV_PAGEOUT, MADV_DONTNEED,
 * a signal handler's) counts as anyone's.  The arming task is named by its
 * pid and start time, which no later task can share, not by its
 * task_struct, whose memory a new task may get once the arming one exits.
 * From then on any invalidation of the range that may drop pages (not a
 * protection or soft-dirty change) marks it lost.  MEM_RESET_UNDO first
 * dirties the watched pages with GUP, after which the kernel keeps them,
 * and only then reads the mark.  A lost mark can be a false alarm
 * (migration, compaction, swap), never a miss, but for a swap-out already
 * under way when the range is armed (ntvm_reset_madvised()).
 *
 * Only watched pages in writable private memory are dirtied, and without
 * FOLL_FORCE: those are charged to the commit limit, so faulting one in
 * (one the kernel dropped) allocates nothing uncharged.  A watched page
 * that is not writable now (PAGE_NOACCESS, read-only, guard) cannot be
 * kept without writing to it against its protection, which in a mapping
 * Linux does not charge would also allocate uncharged memory: the undo
 * then reports it lost.
 */
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <asm/syscall.h>
#include <asm/unistd.h>

#include "context.h"

/*
 * The MEM_RESET ranges are a small array sorted by address, under
 * reset_lock.  Ranges are split so that a discard marks only the part it
 * hit, and a new reset or an undo replaces only the part it covers; when
 * the array is full, marks fall back to whole ranges and the two closest
 * ranges merge: always towards "lost", never towards "intact".
 */

/* Split range i at a (lo < a < hi); false when there is no room. */
static bool ntvm_reset_split(struct ntvm_ctx *nc, unsigned int i, u64 a)
{
	struct ntvm_reset *r = nc->resets;
	unsigned int n = nc->nresets;

	lockdep_assert_held(&nc->reset_lock);
	if (n == NTVM_MAX_RESETS)
		return false;
	memmove(&r[i + 2], &r[i + 1], (n - i - 1) * sizeof(*r));
	r[i + 1] = r[i];
	r[i + 1].lo = a;
	r[i].hi = a;
	WRITE_ONCE(nc->nresets, n + 1);
	return true;
}

static void ntvm_reset_remove(struct ntvm_ctx *nc, unsigned int i)
{
	struct ntvm_reset *r = nc->resets;
	unsigned int n = nc->nresets;

	lockdep_assert_held(&nc->reset_lock);
	memmove(&r[i], &r[i + 1], (n - i - 1) * sizeof(*r));
	WRITE_ONCE(nc->nresets, n - 1);
}

/*
 * Take [lo, hi) out of the ranges, where room allows; returns whether
 * any of what was taken out, or of a range it could not split, was lost.
 */
static bool ntvm_resets_cut(struct ntvm_ctx *nc, u64 lo, u64 hi)
{
	struct ntvm_reset *r = nc->resets;
	unsigned int i = 0;
	bool lost = false;

	lockdep_assert_held(&nc->reset_lock);
	while (i < nc->nresets && r[i].lo < hi) {
		if (r[i].hi <= lo) {
			i++;
			continue;
		}
		lost |= r[i].lost;
		if (r[i].lo < lo && ntvm_reset_split(nc, i, lo))
			i++;
		if (r[i].hi > hi && !ntvm_reset_split(nc, i, hi)) {
			i++;
			continue;
		}
		if (r[i].lo >= lo)
			ntvm_reset_remove(nc, i);
		else
			i++;
	}
	return lost;
}

/* Merge the two closest ranges: the union stays watched. */
static void ntvm_resets_merge(struct ntvm_ctx *nc)
{
	struct ntvm_reset *r = nc->resets;
	unsigned int i, best = 0, n = nc->nresets;
	u64 gap = U64_MAX, g;

	lockdep_assert_held(&nc->reset_lock);
	for (i = 0; i + 1 < n; i++) {
		g = r[i + 1].lo > r[i].hi ? r[i + 1].lo - r[i].hi : 0;
		if (g < gap) {
			gap = g;
			best = i;
		}
	}
	r[best].hi = max(r[best].hi, r[best + 1].hi);
	r[best].lost |= r[best + 1].lost;
	r[best].arming = false;
	ntvm_reset_remove(nc, best + 1);
}

/* Watch [lo, hi) from now on, in place of what was said of it; under reset_lock. */
static void ntvm_reset_add(struct ntvm_ctx *nc, u64 lo, u64 hi, bool arming)
{
	struct ntvm_reset *r = nc->resets;
	unsigned int i, n;

	lockdep_assert_held(&nc->reset_lock);
	/* Inside a range watched as intact: it already says so. */
	for (i = 0; !arming && i < nc->nresets && r[i].lo <= lo; i++) {
		if (r[i].hi >= hi && !r[i].lost && !r[i].arming)
			return;
	}
	/*
	 * The new reset replaces what older ones said of these pages.  The
	 * cut may split a range at lo and at hi and remove what lies between
	 * (one more range at most), and the new range takes one more slot:
	 * with room for the two splits, the cut never leaves a range it could
	 * not split overlapping the new one, which would leave the array
	 * unsorted, and the insertion below always fits.
	 */
	while (nc->nresets > NTVM_MAX_RESETS - 2)
		ntvm_resets_merge(nc);
	ntvm_resets_cut(nc, lo, hi);
	n = nc->nresets;
	for (i = 0; i < n && r[i].lo < lo; i++)
		;
	/*
	 * Next to a range watched as intact, outside a window, a range that
	 * starts as intact joins it: a heap resetting page after page keeps
	 * one range, and a later discard still marks only the part it hits.
	 */
	if (!arming && i && r[i - 1].hi == lo && !r[i - 1].lost &&
	    !r[i - 1].arming) {
		r[i - 1].hi = hi;
		if (i < n && r[i].lo == hi && !r[i].lost && !r[i].arming) {
			r[i - 1].hi = r[i].hi;
			ntvm_reset_remove(nc, i);
		}
		return;
	}
	if (!arming && i < n && r[i].lo == hi && !r[i].lost && !r[i].arming) {
		r[i].lo = lo;
		return;
	}
	memmove(&r[i + 1], &r[i], (n - i) * sizeof(*r));
	r[i] = (struct ntvm_reset){ .lo = lo, .hi = hi, .arming = arming };
	WRITE_ONCE(nc->nresets, n + 1);
}

int ntvm_vm_reset_arm(void *ctx, u64 addr, u64 len)
{
	struct ntvm_ctx *nc = ntvm_ctx_of(ctx);

	ntvm_assert_locked(ctx);
	spin_lock(&nc->reset_lock);
	ntvm_reset_add(nc, addr, addr + len, true);
	nc->arm_pid = current->pid;
	nc->arm_start = current->start_time;
	WRITE_ONCE(nc->reset_window, true);
	spin_unlock(&nc->reset_lock);
	return 0;
}

static bool ntvm_is_madvise(long nr)
{
#ifdef CONFIG_IA32_EMULATION
	if (in_ia32_syscall())
		return nr == __NR_ia32_madvise;
#endif
	/* x32's numbers carry __X32_SYSCALL_BIT: never equal. */
	return nr == __NR_madvise;
}

/*
 * Is this invalidation the work of a madvise(MADV_FREE) that a thread of
 * the address space is making now?  The system call the task is in, and
 * its arguments, are in its saved user registers, which nothing changes
 * while the call runs.  Reclaim the task does on the way (PF_MEMALLOC) is
 * not the madvise(), nor is io_uring's worker.  False when unsure; else
 * [*lo, *hi) is the advice's range.  A large folio split the call makes
 * at the edge of the advice (a huge page it covers in part) reaches beyond
 * it; that drops no page.
 */
static bool ntvm_madv_free_call(struct ntvm_ctx *nc,
				const struct mmu_notifier_range *range,
				u64 *lo, u64 *hi)
{
	struct pt_regs *regs;
	unsigned long args[6];

	if (range->event != MMU_NOTIFY_CLEAR || current->mm != nc->mm ||
	    (current->flags & (PF_KTHREAD | PF_MEMALLOC | PF_IO_WORKER)))
		return false;
	regs = task_pt_regs(current);
	if (!ntvm_is_madvise(syscall_get_nr(current, regs)))
		return false;
	syscall_get_arguments(current, regs, args);
	*lo = args[0];
	*hi = args[0] + PAGE_ALIGN(args[1]);
	return args[2] == MADV_FREE && *hi >= *lo;
}

void ntvm_reset_close_windows(struct ntvm_ctx *nc)
{
	unsigned int i;

	spin_lock(&nc->reset_lock);
	for (i = 0; i < nc->nresets; i++)
		nc->resets[i].arming = false;
	nc->arm_pid = 0;
	WRITE_ONCE(nc->reset_window, false);
	spin_unlock(&nc->reset_lock);
}

/* Is current the task that opened the reset window?  Under reset_lock. */
static bool ntvm_reset_armer(struct ntvm_ctx *nc)
{
	lockdep_assert_held(&nc->reset_lock);
	return nc->arm_pid && nc->arm_pid == current->pid &&
	       nc->arm_start == current->start_time;
}

/*
 * The first watched range part in [*lo, hi), under reset_lock: false when
 * there is none, else [*lo, *end) is it.
 */
static bool ntvm_reset_next(struct ntvm_ctx *nc, u64 *lo, u64 hi, u64 *end)
{
	struct ntvm_reset *r = nc->resets;
	unsigned int i;
	bool found = false;

	spin_lock(&nc->reset_lock);
	for (i = 0; i < nc->nresets && r[i].lo < hi; i++) {
		if (r[i].hi <= *lo)
			continue;
		*lo = max(*lo, r[i].lo);
		*end = min(hi, r[i].hi);
		found = true;
		break;
	}
	spin_unlock(&nc->reset_lock);
	return found;
}

/*
 * Dirty the pages of [addr, end), which lies in one writable private
 * mapping when this starts; 1 if a page could not be (the mapping changed
 * meanwhile), or a negative errno.
 */
static int ntvm_touch_writable(u64 addr, u64 end)
{
	struct page *pages[16];
	long got, i;

	while (addr < end) {
		if (fatal_signal_pending(current))
			return -EINTR;
		/* Same signature on 6.1 and 6.12; takes mmap_lock itself. */
		got = get_user_pages_unlocked(addr,
					      min_t(u64, (end - addr) >> PAGE_SHIFT, 16),
					      pages, FOLL_WRITE);
		if (got == -EFAULT || !got)
			return 1;
		if (got < 0)
			return (int)got;
		for (i = 0; i < got; i++)
			put_page(pages[i]);
		addr += got << PAGE_SHIFT;
		cond_resched();
	}
	return 0;
}

/*
 * Dirty [addr, end) where its mappings are writable private memory; 1 if
 * some of it is not, or a negative errno.
 */
static int ntvm_touch_range(u64 addr, u64 end)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	int ret = 0, err;
	u64 stop;
	bool writable;

	while (addr < end) {
		if (mmap_read_lock_killable(mm))
			return -EINTR;
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start > addr) {
			mmap_read_unlock(mm);
			return 1;	/* a hole: the core found none */
		}
		stop = min_t(u64, end, vma->vm_end);
		writable = (vma->vm_flags & VM_WRITE) && vma_is_anonymous(vma) &&
			   !(vma->vm_flags & VM_SHARED);
		mmap_read_unlock(mm);
		if (writable) {
			err = ntvm_touch_writable(addr, stop);
			if (err < 0)
				return err;
			ret |= err;
		} else {
			ret = 1;
		}
		addr = stop;
	}
	return ret;
}

/*
 * Make the watched (reset) pages of [addr, addr + len) stay: 0, 1 when
 * some of them could not be kept because they are not writable, or a
 * negative errno.  Pages no MEM_RESET watches are not touched.
 */
int ntvm_vm_touch(void *ctx, u64 addr, u64 len)
{
	struct ntvm_ctx *nc = ntvm_ctx_of(ctx);
	u64 lo = addr, hi = addr + len, end;
	int ret = 0, err;

	ntvm_assert_locked(ctx);
	WRITE_ONCE(nc->op_touches, true);
	while (lo < hi && ntvm_reset_next(nc, &lo, hi, &end)) {
		err = ntvm_touch_range(lo, end);
		if (err < 0) {
			ret = err;
			break;
		}
		ret |= err;
		lo = end;
	}
	WRITE_ONCE(nc->op_touches, false);
	return ret;
}

bool ntvm_vm_reset_lost(void *ctx, u64 addr, u64 len)
{
	struct ntvm_ctx *nc = ntvm_ctx_of(ctx);
	bool lost;

	ntvm_assert_locked(ctx);
	/*
	 * Every release and decommit asks (core/space.c), and most find
	 * nothing watched.  Only the notifier adds a watch without
	 * ntvm_ctx.lock (ntvm_reset_madvised()); one racing with this call
	 * over the same pages is the program's own race.
	 */
	if (!READ_ONCE(nc->nresets))
		return false;
	spin_lock(&nc->reset_lock);
	lost = ntvm_resets_cut(nc, addr, addr + len);
	spin_unlock(&nc->reset_lock);
	return lost;
}

/*
 * Pages of watched MEM_RESET ranges may be dropped: mark them lost, but
 * for a range still arming when this is its armer's madvise(MADV_FREE)
 * (madv_free: ntvm_madv_free_call() said so).
 */
static void ntvm_reset_invalidate(struct ntvm_ctx *nc,
				  const struct mmu_notifier_range *range,
				  bool madv_free)
{
	struct ntvm_reset *r = nc->resets;
	unsigned int i;

	if (!READ_ONCE(nc->nresets))
		return;
	switch (range->event) {
	case MMU_NOTIFY_PROTECTION_VMA:
	case MMU_NOTIFY_PROTECTION_PAGE:
	case MMU_NOTIFY_SOFT_DIRTY:
		return;	/* the pages stay */
	default:
		break;
	}
	spin_lock(&nc->reset_lock);
	for (i = 0; i < nc->nresets && r[i].lo < range->end; i++) {
		if (r[i].hi <= range->start ||
		    (r[i].arming && madv_free && ntvm_reset_armer(nc)))
			continue;
		/* Mark only the part hit, where there is room to split. */
		if (r[i].lo < range->start &&
		    ntvm_reset_split(nc, i, range->start))
			i++;
		if (r[i].hi > range->end)
			ntvm_reset_split(nc, i, range->end);
		r[i].lost = true;
	}
	spin_unlock(&nc->reset_lock);
}

/*
 * Has the address space pages out on swap?  Exactly: the per-CPU counters
 * of 6.2 on are summed, not estimated.  (6.1 adds swap entries to the mm's
 * counter at once, and may be late only to take them off.)
 */
static bool ntvm_mm_swapped(struct mm_struct *mm)
{
#ifdef NTVM_HAVE_PERCPU_RSS
	return percpu_counter_sum_positive(&mm->rss_stat[MM_SWAPENTS]) > 0;
#else
	return get_mm_counter(mm, MM_SWAPENTS) > 0;
#endif
}

/*
 * A MEM_RESET of published memory (shared.c) is the caller's madvise()
 * alone: the invalidation it makes of each part of its range starts the
 * watch there, as ntvm_vm_reset_arm() would have.  The parts of the range
 * that are not published may drop pages of watched ranges, as any other
 * invalidation (ntvm_reset_invalidate()).
 *
 * This is also the invalidation of libntvm's madvise() after
 * NTVM_IOC_ALLOCATE armed the range.  Either way, what the call frees
 * itself after it (swapped-out pages, which MADV_FREE frees at once) would
 * go unseen: if the address space has any page out on swap, the whole
 * range counts as lost, a false alarm where its own pages are not.
 */
static noinline void ntvm_reset_madvised(struct ntvm_ctx *nc,
					 const struct mmu_notifier_range *range)
{
	struct ntvm_span parts[4];
	unsigned int i, n;
	u64 lo = range->start;

	n = ntvm_shared_parts(nc, lo, range->end, parts, ARRAY_SIZE(parts));
	/* All of it published: what the watch said of it is replaced. */
	if (n != 1 || parts[0].lo != range->start || parts[0].hi != range->end)
		ntvm_reset_invalidate(nc, range, true);
	/* Every published part, a few at a time (the page holds at most 64). */
	while (n) {
		spin_lock(&nc->reset_lock);
		for (i = 0; i < n; i++)
			ntvm_reset_add(nc, parts[i].lo, parts[i].hi, false);
		spin_unlock(&nc->reset_lock);
		if (n < ARRAY_SIZE(parts))
			break;
		lo = parts[n - 1].hi;
		n = ntvm_shared_parts(nc, lo, range->end, parts,
				      ARRAY_SIZE(parts));
	}
	if (READ_ONCE(nc->nresets) && ntvm_mm_swapped(nc->mm))
		ntvm_reset_invalidate(nc, range, false);
}

/*
 * Is this invalidation the undo's own write breaking copy-on-write (after
 * a fork(), or of the zero page)?  That copies a page, or splits a huge
 * one, and drops nothing; reclaim on the way (PF_MEMALLOC) does.
 */
static bool ntvm_touch_copies(struct ntvm_ctx *nc,
			      const struct mmu_notifier_range *range)
{
	return range->event == MMU_NOTIFY_CLEAR &&
	       READ_ONCE(nc->op_touches) && READ_ONCE(nc->op_task) == current &&
	       !(current->flags & PF_MEMALLOC) &&
	       range->end - range->start <= PMD_SIZE;
}

void ntvm_reset_notify(struct ntvm_ctx *nc,
		       const struct mmu_notifier_range *range)
{
	bool madv_free;
	u64 lo, hi;

	if (ntvm_touch_copies(nc, range))
		return;

	madv_free = ntvm_madv_free_call(nc, range, &lo, &hi);
	/* The advice over the whole of this range: maybe published memory. */
	if (madv_free && range->start >= lo && range->end <= hi)
		ntvm_reset_madvised(nc, range);
	/*
	 * Reaching beyond the advice, the call can only be splitting a large
	 * folio (its reclaim is PF_MEMALLOC): nothing is dropped, and the
	 * call's own invalidation of its range came first (madvise_free_*()
	 * starts it before the walk that splits).
	 */
	else if (!madv_free)
		ntvm_reset_invalidate(nc, range, false);
}
