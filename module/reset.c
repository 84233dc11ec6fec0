// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: MEM_RESET and MEM_RESET_UNDO.
 *
 * A MEM_RESET range is armed before libntvm's madvise(MADV_FREE), so no
 * discard can slip in between; the arming task's own invalidations (the
 * madvise) are ignored until NTVM_IOC_RESET_DONE closes that window, or
 * conservatively the next operation does.  From then on any invalidation
 * of the range that may drop pages (not a protection or soft-dirty change)
 * marks it lost.  MEM_RESET_UNDO first dirties every page with GUP, after
 * which the kernel keeps them, and only then reads the mark.  A lost mark
 * can be a false alarm (migration, compaction, swap), never a miss.
 */
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/string.h>

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
	r[best].arming = NULL;
	ntvm_reset_remove(nc, best + 1);
}

int ntvm_vm_reset_arm(void *ctx, u64 addr, u64 len)
{
	struct ntvm_ctx *nc = ntvm_ctx_of(ctx);
	struct ntvm_reset *r = nc->resets;
	unsigned int i, n;

	ntvm_assert_locked(ctx);
	spin_lock(&nc->reset_lock);
	/* The new reset replaces what older ones said of these pages. */
	ntvm_resets_cut(nc, addr, addr + len);
	if (nc->nresets == NTVM_MAX_RESETS)
		ntvm_resets_merge(nc);
	n = nc->nresets;
	for (i = 0; i < n && r[i].lo < addr; i++)
		;
	memmove(&r[i + 1], &r[i], (n - i) * sizeof(*r));
	r[i] = (struct ntvm_reset){ .lo = addr, .hi = addr + len,
				    .arming = current };
	WRITE_ONCE(nc->reset_window, true);
	WRITE_ONCE(nc->nresets, n + 1);
	spin_unlock(&nc->reset_lock);
	return 0;
}

void ntvm_reset_close_windows(struct ntvm_ctx *nc)
{
	unsigned int i;

	spin_lock(&nc->reset_lock);
	for (i = 0; i < nc->nresets; i++)
		nc->resets[i].arming = NULL;
	WRITE_ONCE(nc->reset_window, false);
	spin_unlock(&nc->reset_lock);
}

/* Dirty every page of [addr, addr + len): the kernel then keeps them. */
int ntvm_vm_touch(void *ctx, u64 addr, u64 len)
{
	unsigned long n = len >> PAGE_SHIFT, done = 0;
	struct page *pages[16];
	long got, i;
	int ret = 0;

	ntvm_assert_locked(ctx);
	while (done < n) {
		/* Same signature on 6.1 and 6.12; takes mmap_lock itself. */
		got = get_user_pages_unlocked(addr + done * PAGE_SIZE,
					      min_t(unsigned long, n - done, 16),
					      pages, FOLL_WRITE | FOLL_FORCE);
		if (got <= 0) {
			ret = got ? (int)got : -EFAULT;
			break;
		}
		for (i = 0; i < got; i++)
			put_page(pages[i]);
		done += got;
	}
	return ret;
}

bool ntvm_vm_reset_lost(void *ctx, u64 addr, u64 len)
{
	struct ntvm_ctx *nc = ntvm_ctx_of(ctx);
	bool lost;

	ntvm_assert_locked(ctx);
	spin_lock(&nc->reset_lock);
	lost = ntvm_resets_cut(nc, addr, addr + len);
	spin_unlock(&nc->reset_lock);
	return lost;
}

/* Pages of watched MEM_RESET ranges may be dropped: mark them lost. */
void ntvm_reset_invalidate(struct ntvm_ctx *nc,
			   const struct mmu_notifier_range *range)
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
		if (r[i].hi <= range->start || r[i].arming == current)
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
