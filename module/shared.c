// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: the shared NT state, a read-only page of NT facts mapped into the
 * process (uapi: struct ntvm_shared; Documentation/ntvm.rst, "The shared
 * NT state").
 *
 * The page holds ranges of committed plain private memory and their NT
 * protection.  libntvm reads it, with the sequence count, to finish a
 * MEM_COMMIT of pages already committed with that protection and to make
 * a MEM_RESET's madvise() without entering the kernel for the NT call.
 * The ranges are a cache of facts: a range may always be withdrawn, and
 * must be before its statement can become false.  So:
 *  - a MEM_COMMIT that finds a range so, and leaves it so, publishes it
 *    (ioctl.c): a commit of fresh pages does not, so that the common
 *    commit pays nothing for it.  It publishes only if the notifier saw
 *    no change behind ntvm's back since before it looked (shared_gen):
 *    such a change, made by another thread meanwhile, could already have
 *    made the range false, and been withdrawn before it was published;
 *  - an operation withdraws what it may change: everything, from
 *    ntvm_begin(), or only the range it acts on, for the commands that
 *    call ntvm_begin_published() (frame.h);
 *  - the notifier withdraws what an munmap(), mremap() or mmap(MAP_FIXED)
 *    behind ntvm's back removes, and what an mprotect() changes where the
 *    kernel tells mmu notifiers (pages that are mapped; an mprotect() of
 *    pages never touched is not seen: Documentation/ntvm.rst says what
 *    that means).
 * Discards (MADV_FREE, MADV_DONTNEED, reclaim, migration) leave pages
 * committed with their protection: they withdraw nothing.
 *
 * The module writes the page under ntvm_ctx.shared_lock, a spinlock, as
 * the notifier may run under mmap_lock, with or without ntvm_ctx.lock
 * held elsewhere; user space can only read it.
 */
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "context.h"

int ntvm_shared_init(struct ntvm_ctx *nc)
{
	struct ntvm_shared *sh;

	BUILD_BUG_ON(sizeof(struct ntvm_shared) != NTVM_SHARED_SIZE);
	BUILD_BUG_ON(NTVM_SHARED_SIZE != PAGE_SIZE);
	sh = (struct ntvm_shared *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!sh)
		return -ENOMEM;
	sh->max_count = NTVM_SHARED_MAX_RANGES;
	sh->range_size = sizeof(struct ntvm_shared_range);
	spin_lock_init(&nc->shared_lock);
	nc->shared = sh;
	return 0;
}

/* After the last reference: no mapping of the page is left. */
void ntvm_shared_fini(struct ntvm_ctx *nc)
{
	free_page((unsigned long)nc->shared);
	nc->shared = NULL;
}

/* The writer's side of the sequence count, under shared_lock. */
static void ntvm_shared_write_begin(struct ntvm_shared *sh)
{
	WRITE_ONCE(sh->seq, sh->seq + 1);
	smp_wmb();	/* the odd count before the ranges */
}

static void ntvm_shared_write_end(struct ntvm_shared *sh)
{
	smp_wmb();	/* the ranges before the even count */
	WRITE_ONCE(sh->seq, sh->seq + 1);
}

static void ntvm_shared_remove(struct ntvm_shared *sh, unsigned int i)
{
	memmove(&sh->ranges[i], &sh->ranges[i + 1],
		(sh->count - i - 1) * sizeof(sh->ranges[0]));
	sh->count--;
}

/*
 * Withdraw [lo, hi) from the ranges, under shared_lock within a write.  A
 * range that would need a split when the page is full goes whole.
 */
static void ntvm_shared_cut(struct ntvm_shared *sh, u64 lo, u64 hi)
{
	struct ntvm_shared_range *r = sh->ranges;
	unsigned int i = 0;

	while (i < sh->count && r[i].base < hi) {
		if (r[i].end <= lo) {
			i++;
			continue;
		}
		if (r[i].base < lo && r[i].end > hi) {
			if (sh->count == NTVM_SHARED_MAX_RANGES) {
				ntvm_shared_remove(sh, i);
				continue;
			}
			memmove(&r[i + 1], &r[i], (sh->count - i) * sizeof(*r));
			sh->count++;
			r[i].end = lo;
			r[i + 1].base = hi;
			return;
		}
		if (r[i].base < lo) {
			r[i].end = lo;
			i++;
		} else if (r[i].end > hi) {
			r[i].base = hi;
			i++;
		} else {
			ntvm_shared_remove(sh, i);
		}
	}
}

/* Withdraw what may overlap [lo, hi), hi == 0: everything; under shared_lock. */
static void ntvm_shared_withdraw_locked(struct ntvm_ctx *nc, u64 lo, u64 hi)
{
	struct ntvm_shared *sh = nc->shared;

	lockdep_assert_held(&nc->shared_lock);
	if (!sh->count)
		return;
	ntvm_shared_write_begin(sh);
	if (hi)
		ntvm_shared_cut(sh, lo, hi);
	else
		sh->count = 0;
	ntvm_shared_write_end(sh);
}

void ntvm_shared_withdraw(struct ntvm_ctx *nc, u64 lo, u64 hi)
{
	if (!READ_ONCE(nc->shared->count))
		return;
	spin_lock(&nc->shared_lock);
	ntvm_shared_withdraw_locked(nc, lo, hi);
	spin_unlock(&nc->shared_lock);
}

/* Does r say the same of its pages as a range of alloc with protect? */
static bool ntvm_shared_alike(const struct ntvm_shared_range *r, u64 alloc,
			      u32 protect)
{
	return r->allocation_base == alloc && r->protect == protect;
}

/*
 * The notifier's count of changes behind ntvm's back, for
 * ntvm_shared_publish(): read before the operation looks at what it will
 * publish.  The acquire pairs with the notifier's release, so that what
 * the notifier saw moves (ntvm_ctx.changes) is seen moved after it.
 */
unsigned long ntvm_shared_gen(struct ntvm_ctx *nc)
{
	/* Pairs with the release in ntvm_shared_invalidate(). */
	return smp_load_acquire(&nc->shared_gen);
}

/*
 * Publish [base, end) of the allocation at alloc with protect, under
 * ntvm_ctx.lock, after the commit that made it so, if no change behind
 * ntvm's back came since gen (ntvm_shared_gen()): else only withdraw it.
 * When the page is full, the ranges are dropped and start again: a cache
 * of the newest facts.
 */
void ntvm_shared_publish(struct ntvm_ctx *nc, u64 base, u64 end, u64 alloc,
			 u32 protect, unsigned long gen)
{
	struct ntvm_shared *sh = nc->shared;
	struct ntvm_shared_range *r = sh->ranges;
	bool joins_prev, joins_next;
	unsigned int i;

	ntvm_assert_locked(nc);
	spin_lock(&nc->shared_lock);
	ntvm_shared_write_begin(sh);
	ntvm_shared_cut(sh, base, end);
	if (nc->shared_gen != gen)
		goto out;
	for (i = 0; i < sh->count && r[i].base < base; i++)
		;
	/* Join the neighbours of the same allocation and protection. */
	joins_prev = i && r[i - 1].end == base &&
		     ntvm_shared_alike(&r[i - 1], alloc, protect);
	joins_next = i < sh->count && r[i].base == end &&
		     ntvm_shared_alike(&r[i], alloc, protect);
	if (joins_prev && joins_next) {
		r[i - 1].end = r[i].end;
		ntvm_shared_remove(sh, i);
	} else if (joins_prev) {
		r[i - 1].end = end;
	} else if (joins_next) {
		r[i].base = base;
	} else {
		if (sh->count == NTVM_SHARED_MAX_RANGES) {
			sh->count = 0;
			i = 0;
		}
		memmove(&r[i + 1], &r[i], (sh->count - i) * sizeof(*r));
		r[i] = (struct ntvm_shared_range){
			.base = base, .end = end, .allocation_base = alloc,
			.protect = protect,
		};
		sh->count++;
	}
out:
	ntvm_shared_write_end(sh);
	spin_unlock(&nc->shared_lock);
}

/*
 * The published parts of [lo, hi), at most max of them, into parts[]: how
 * many.  From the notifier, for a MEM_RESET made by madvise() (reset.c).
 */
unsigned int ntvm_shared_parts(struct ntvm_ctx *nc, u64 lo, u64 hi,
			       struct ntvm_span *parts, unsigned int max)
{
	struct ntvm_shared *sh = nc->shared;
	struct ntvm_shared_range *r = sh->ranges;
	unsigned int i, n = 0;

	if (!READ_ONCE(sh->count))
		return 0;
	spin_lock(&nc->shared_lock);
	for (i = 0; i < sh->count && r[i].base < hi && n < max; i++) {
		if (r[i].end <= lo)
			continue;
		parts[n].lo = max(r[i].base, lo);
		parts[n].hi = min(r[i].end, hi);
		n++;
	}
	spin_unlock(&nc->shared_lock);
	return n;
}

/*
 * What the notifier sees that may make a published range false: its
 * mappings removed or replaced behind ntvm's back (an operation withdraws
 * what it changes itself), or their protection changed (mprotect(),
 * MMU_NOTIFY_PROTECTION_VMA).  MMU_NOTIFY_PROTECTION_PAGE leaves the
 * mapping's protection as it is: fork() write-protects the pages it
 * shares copy-on-write, which the NT state does not see either.
 */
void ntvm_shared_invalidate(struct ntvm_ctx *nc,
			    const struct mmu_notifier_range *range)
{
	switch (range->event) {
	case MMU_NOTIFY_UNMAP:
		if (READ_ONCE(nc->op_task) == current)
			return;
		break;
	case MMU_NOTIFY_PROTECTION_VMA:
		break;
	default:
		return;
	}
	/*
	 * Moved even when nothing is published: a commit running in another
	 * thread may be about to publish what this change makes false.
	 */
	spin_lock(&nc->shared_lock);
	/* Whoever reads this value sees ntvm_ctx.changes moved before it. */
	smp_store_release(&nc->shared_gen, nc->shared_gen + 1);
	ntvm_shared_withdraw_locked(nc, range->start, range->end);
	spin_unlock(&nc->shared_lock);
}

/* Kernels from 6.3 change a VMA's flags only through vm_flags_*(). */
#ifdef NTVM_HAVE_VM_FLAGS_MOD
static void ntvm_vma_flags(struct vm_area_struct *vma, vm_flags_t set,
			   vm_flags_t clear)
{
	vm_flags_mod(vma, set, clear);
}
#else
static void ntvm_vma_flags(struct vm_area_struct *vma, vm_flags_t set,
			   vm_flags_t clear)
{
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
}
#endif

/*
 * mmap of /dev/ntvm: the shared NT state, read-only, one page at offset
 * NTVM_SHARED_OFFSET, in the address space that opened the file only.
 */
int ntvm_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct ntvm_file *nf = file->private_data;

	if (current->mm != nf->mm || vma->vm_mm != nf->mm)
		return -EPERM;
	if (vma->vm_pgoff != NTVM_SHARED_OFFSET >> PAGE_SHIFT ||
	    vma->vm_end - vma->vm_start != NTVM_SHARED_SIZE)
		return -EINVAL;
	if (vma->vm_flags & (VM_WRITE | VM_EXEC))
		return -EACCES;
	/* Never writable or executable; not inherited (VM_DONTCOPY). */
	ntvm_vma_flags(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP,
		       VM_MAYWRITE | VM_MAYEXEC);
	return remap_pfn_range(vma, vma->vm_start,
			       virt_to_phys(nf->nc->shared) >> PAGE_SHIFT,
			       NTVM_SHARED_SIZE, vma->vm_page_prot);
}
