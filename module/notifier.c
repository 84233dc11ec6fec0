// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: one struct ntvm_ctx per address space, and what it sees happen to
 * that address space.
 *
 * Lifetime
 * --------
 * One struct ntvm_ctx exists per address space (mm) that has opened
 * /dev/ntvm.  It is the mmu_notifier returned by mmu_notifier_get(), so it
 * is reference counted by the mmu-notifier core: every open file holds one
 * reference (ntvm_ctx_get() in open, ntvm_ctx_put() in release), and so
 * does the address space itself, from its first open to ->release().  The
 * structure is freed by ->free_notifier() after the last put and an SRCU
 * grace period.  All opens in one process therefore share one NT state,
 * and it outlives a close of every file: registering a notifier runs
 * mm_take_all_locks() (the machine-wide mm_all_locks_mutex, and every
 * i_mmap_rwsem of the process's files), which a loop of open() and
 * close() would otherwise repeat at will.  The mm itself stays allocated
 * (mm_count) while the notifier is registered, so the mm pointer kept in
 * each file is stable.
 *
 * The debugfs file ntvm/maps/<tgid> (maps.c) lives while a file is open.
 *
 * ->release() runs when the address space is torn down (exit or exec).
 * It frees every allocation of the NT state (nothing can use them any
 * more), under ntvm_ctx.lock, and drops the address space's reference;
 * the structure itself lives on until the last file is closed.  Each
 * structure holds a reference on the module until ->free_notifier() has
 * run, so the module stays while a registration does; module unload
 * waits for those SRCU callbacks with mmu_notifier_synchronize().
 *
 * Mappings changed behind ntvm's back
 * -----------------------------------
 * The core checks that the mappings of an allocation are still there
 * before it uses it (core/space.c).  ->invalidate_range_start() counts, in
 * ntvm_ctx.changes, every MMU_NOTIFY_UNMAP that no ntvm operation made: the
 * munmap(), mremap() and mmap(MAP_FIXED) paths all unmap through it.  An
 * operation marks itself in ntvm_ctx.op_task, so its own vm_mmap() and
 * vm_munmap() don't count, and a failed MAP_FIXED counts because it may
 * leave a hole.  While the count stays the same, an allocation the core
 * has found whole is not checked again.  Every unmap, the operations' own
 * vm_munmap() included, also lowers the placement floor (core/place.c).
 */
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "context.h"

static struct mmu_notifier *ntvm_alloc_notifier(struct mm_struct *mm)
{
	struct ntvm_ctx *nc;

	nc = kzalloc(sizeof(*nc), GFP_KERNEL_ACCOUNT);
	if (!nc)
		return ERR_PTR(-ENOMEM);
	if (ntvm_section_budget_init(nc)) {
		kfree(nc);
		return ERR_PTR(-ENOMEM);
	}
	if (ntvm_shared_init(nc)) {
		ntvm_section_budget_put(nc->sec_budget);
		kfree(nc);
		return ERR_PTR(-ENOMEM);
	}
	nc->mm = mm;
	/* Dropped by ->free_notifier(); the opener's file holds one now. */
	__module_get(THIS_MODULE);
	mutex_init(&nc->lock);
	mutex_init(&nc->maps_lock);
	spin_lock_init(&nc->reset_lock);
	/* Never 0, which no allocation may take as checked. */
	atomic64_set(&nc->changes, 1);
	nt_space_init(&nc->space, &ntvm_vm_ops, nc, NTVM_GRANULARITY,
		      ntvm_max_address(mm));
	atomic_long_inc(&ntvm_live_ctxs);
	return &nc->mn;
}

/* Forget the NT state; the address space is gone or going. */
static void ntvm_ctx_forget(struct ntvm_ctx *nc)
{
	mutex_lock(&nc->lock);
	ntvm_shared_withdraw(nc, 0, 0);
	atomic_long_sub(nc->space.nallocs, &ntvm_live_allocs);
	nt_space_destroy(&nc->space);
	mutex_unlock(&nc->lock);
}

/*
 * Runs from an SRCU callback, where sleeping is not allowed, after the last
 * reference is gone: nobody else can see nc, so no lock is needed.
 */
static void ntvm_free_notifier(struct mmu_notifier *mn)
{
	struct ntvm_ctx *nc = container_of(mn, struct ntvm_ctx, mn);

	atomic_long_sub(nc->space.nallocs, &ntvm_live_allocs);
	nt_space_destroy(&nc->space);
	mutex_destroy(&nc->lock);
	mutex_destroy(&nc->maps_lock);
	ntvm_shared_fini(nc);
	ntvm_section_budget_put(nc->sec_budget);
	kfree(nc);
	atomic_long_dec(&ntvm_live_ctxs);
	/* Last: mmu_notifier_synchronize() in module exit waits for this. */
	module_put(THIS_MODULE);
}

static void ntvm_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct ntvm_ctx *nc = container_of(mn, struct ntvm_ctx, mn);

	ntvm_ctx_forget(nc);
	/* The address space's reference; put may be called from ->release. */
	if (test_and_clear_bit(0, &nc->pinned))
		mmu_notifier_put(mn);
}

/*
 * An unmap behind ntvm's back, a change that makes published facts false
 * (shared.c), pages of MEM_RESET ranges dropped, or a MEM_RESET made by
 * madvise() (reset.c).
 */
static int ntvm_mn_invalidate_range_start(struct mmu_notifier *mn,
					  const struct mmu_notifier_range *range)
{
	struct ntvm_ctx *nc = container_of(mn, struct ntvm_ctx, mn);

	/*
	 * A mapping may be gone: allocations must be checked again, and the
	 * range may be free.  An operation's own MAP_FIXED replaces a mapping
	 * and frees nothing; its vm_munmap() does.
	 */
	if (range->event == MMU_NOTIFY_UNMAP) {
		if (READ_ONCE(nc->op_task) != current) {
			atomic64_inc(&nc->changes);
			ntvm_floor_lower(nc, range->start, 0);
		} else if (READ_ONCE(nc->op_unmaps)) {
			ntvm_floor_lower(nc, range->start, range->end);
		}
	}
	ntvm_shared_invalidate(nc, range);
	ntvm_reset_notify(nc, range);
	return 0;
}

static const struct mmu_notifier_ops ntvm_mn_ops = {
	.release = ntvm_mn_release,
	.invalidate_range_start = ntvm_mn_invalidate_range_start,
	.alloc_notifier = ntvm_alloc_notifier,
	.free_notifier = ntvm_free_notifier,
};

/* Highest usable address: the 47-bit window less one granule, as NT. */
u64 ntvm_max_address(struct mm_struct *mm)
{
	return round_down(min_t(u64, mm->task_size, DEFAULT_MAP_WINDOW),
			  NTVM_GRANULARITY) - 1;
}

/* The NT state of @mm, made on first use; a reference for an open file. */
struct ntvm_ctx *ntvm_ctx_get(struct mm_struct *mm)
{
	struct mmu_notifier *mn = mmu_notifier_get(&ntvm_mn_ops, mm);

	struct ntvm_ctx *nc;

	if (IS_ERR(mn))
		return ERR_CAST(mn);
	nc = container_of(mn, struct ntvm_ctx, mn);
	/*
	 * The address space's own reference, once (see Lifetime above).  The
	 * caller's mm_users keeps ->release() from running meanwhile; this
	 * second get finds nc and registers nothing.
	 */
	if (!test_and_set_bit(0, &nc->pinned) &&
	    IS_ERR(mmu_notifier_get(&ntvm_mn_ops, mm)))
		clear_bit(0, &nc->pinned);
	/* Not in ->alloc_notifier(), which runs under mmap_lock (maps.c). */
	ntvm_maps_open(nc);
	return nc;
}

void ntvm_ctx_put(struct ntvm_ctx *nc)
{
	/* The debugfs file goes first: ->free_notifier() may not sleep. */
	ntvm_maps_close(nc);
	mmu_notifier_put(&nc->mn);
}
