// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: NTVM_IOC_WW_SCAN, write watch from soft-dirty bits.
 *
 * Before Linux 6.7 user space has no atomic way to read and clear the
 * written state of a range of pages: /proc/PID/clear_refs clears the
 * soft-dirty bits of the whole process, separately from reading them in
 * /proc/PID/pagemap, and a write in between is lost.  This ioctl tests and
 * clears the bit of each page of one range atomically, under the
 * page-table lock, as clear_refs does it for each page:
 *
 *  - present page: written when soft-dirty; reset by
 *    ptep_modify_prot_start()/ptep_modify_prot_commit() with the page
 *    write-protected and its soft-dirty bit clear.  The start clears the
 *    entry, so a dirty or accessed bit that the hardware sets concurrently
 *    is not lost, and the hardware dirty bit stays (reclaim needs it).
 *    The next write faults, and the fault (wp_page_reuse(), the COW path)
 *    makes the entry dirty, which on x86 sets the soft-dirty bit again.
 *  - swapped page or migration entry: its swap soft-dirty bit; a writable
 *    migration entry is made read-only as mprotect() does, so the page
 *    comes back write-protected.
 *  - none, or the shared zero page a read maps: not written.
 *
 * Why this is linearizable.  mmap_lock is held for writing across the
 * walk, which on these kernels excludes page faults, khugepaged and
 * MADV_COLLAPSE, every mprotect() and madvise(), so the page tables of the
 * range change only under their own locks (reclaim, migration, THP split)
 * and by the hardware.  For each page, the test and the reset are one step
 * under its page-table lock.  A write that faults after that step marks
 * the page again and the next call reports it.  What remains is a write
 * through a TLB entry that another CPU still holds from before the page
 * was write-protected: it neither faults nor sets the soft-dirty bit.  So
 * before the call returns every TLB of every online CPU is flushed (a full
 * flush, which also drops entries tagged with the PCID of an address space
 * a CPU switched away from; modules cannot flush one mm's range).  Such a
 * write happened while the call ran, to a page that this call reports: the
 * entry was writable only because the page was soft-dirty.  That holds
 * because writable implies soft-dirty, on every mapping this ioctl has
 * seen: a new mapping (mmap, and so every commit and decommit) is flagged
 * VM_SOFTDIRTY, under which mprotect() may make a clean page writable
 * without a fault (can_change_pte_writable()).  Every call clears the flag
 * on the mappings of its range, and libntvm calls it after each commit or
 * decommit in a watched allocation.  For the same reason a writable entry
 * that is not soft-dirty is counted as written (a conservative answer for
 * mappings that changed behind libntvm's back), and so is a page pinned
 * for DMA (as clear_refs does, it is left writable and not reset).
 *
 * Each call examines at most NTVM_WW_SCAN_MAX_PAGES pages, stops after the
 * max_count-th written page, and resets only the pages it reports.
 *
 * Limits.  Secondary MMUs (KVM, devices sharing the page tables) are not
 * told: mmu_notifier_invalidate_range_start() is not exported to modules.
 * A transparent huge page (watched memory is MADV_NOHUGEPAGE, so only a
 * write racing with the commit can make one) is reported page by page and
 * reset only when the call reports all of it; splitting it is not exported
 * either, so otherwise its pages stay written.
 *
 * Locking: the caller holds ntvm_ctx.lock; mmap_lock is taken for writing
 * here, then the page-table locks.  The bitmap is collected in a kernel
 * buffer, which the ioctl copies to user space once it has dropped
 * ntvm_ctx.lock (a fault on it would need mmap_lock, and a slow one must
 * not stall the process's other NT calls).  Its words are cleared in user
 * space first, which proves them writable before anything changes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "core/nt.h"
#include "softdirty.h"

bool ntvm_ww_scan_valid(const struct ntvm_ww_scan_args *s)
{
	return !(s->flags & ~NTVM_WW_RESET) && !s->count && !s->scanned &&
	       !s->status && !s->pad &&
	       !(s->base % NTVM_PAGE_SIZE) && !(s->length % NTVM_PAGE_SIZE);
}

#if NTVM_HAVE_WW_SCAN

#include <linux/huge_mm.h>
#include <linux/mm_inline.h>
#include <linux/mmap_lock.h>
#include <linux/pgtable.h>
#include <linux/sched/coredump.h>
#include <linux/smp.h>
#include <linux/swapops.h>
#include <asm/tlbflush.h>

struct ntvm_sd_walk {
	struct vm_area_struct *vma;
	u64 *bitmap;		/* bit i: the page at base + i pages */
	unsigned long base;
	u64 max_count;
	u64 count;
	bool reset;
	bool flush;		/* a writable entry was write-protected */
};

static bool ntvm_sd_full(const struct ntvm_sd_walk *w)
{
	return w->count == w->max_count;
}

static void ntvm_sd_report(struct ntvm_sd_walk *w, unsigned long addr)
{
	unsigned long i = (addr - w->base) >> PAGE_SHIFT;

	w->bitmap[i / 64] |= 1ULL << (i % 64);
	w->count++;
}

/* May DMA write this page at any time (as clear_refs' pte_is_pinned())? */
static bool ntvm_sd_pinned(struct mm_struct *mm, pte_t pte)
{
	return test_bit(MMF_HAS_PINNED, &mm->flags) && pte_write(pte) &&
	       !pte_special(pte) && page_maybe_dma_pinned(pte_page(pte));
}

/* Written since the last reset?  *keep: written, but must not be reset. */
static bool ntvm_sd_pte_written(struct mm_struct *mm, pte_t pte, bool *keep)
{
	*keep = false;
	if (pte_none(pte))
		return false;
	if (pte_present(pte)) {
		if (ntvm_sd_pinned(mm, pte)) {
			*keep = true;
			return true;
		}
		return pte_soft_dirty(pte) || pte_write(pte);
	}
	return pte_swp_soft_dirty(pte) ||
	       is_writable_migration_entry(pte_to_swp_entry(pte));
}

/* Clean and write-protected; under the page-table lock. */
static void ntvm_sd_reset_pte(struct ntvm_sd_walk *w, unsigned long addr,
			      pte_t *ptep)
{
	struct vm_area_struct *vma = w->vma;
	pte_t old = ptep_get(ptep), new;
	swp_entry_t entry;

	if (pte_present(old)) {
		old = ptep_modify_prot_start(vma, addr, ptep);
		if (pte_write(old))
			w->flush = true;
		new = pte_wrprotect(pte_clear_soft_dirty(old));
		ptep_modify_prot_commit(vma, addr, ptep, old, new);
		return;
	}
	entry = pte_to_swp_entry(old);
	if (is_writable_migration_entry(entry)) {
		/* A writable anonymous page is exclusive. */
		entry = make_readable_exclusive_migration_entry(swp_offset(entry));
		new = swp_entry_to_pte(entry);
		if (pte_swp_uffd_wp(old))
			new = pte_swp_mkuffd_wp(new);
	} else {
		new = pte_swp_clear_soft_dirty(old);
	}
	set_pte_at(vma->vm_mm, addr, ptep, new);
}

static unsigned long ntvm_sd_ptes(struct ntvm_sd_walk *w, pmd_t *pmdp,
				  unsigned long addr, unsigned long end)
{
	struct mm_struct *mm = w->vma->vm_mm;
	pte_t *start, *ptep;
	spinlock_t *ptl;	/* the page table's */
	bool keep;

	start = pte_offset_map_lock(mm, pmdp, addr, &ptl);
	for (ptep = start; addr < end; ptep++, addr += PAGE_SIZE) {
		if (!ntvm_sd_pte_written(mm, ptep_get(ptep), &keep))
			continue;
		ntvm_sd_report(w, addr);
		if (w->reset && !keep)
			ntvm_sd_reset_pte(w, addr, ptep);
		if (ntvm_sd_full(w)) {
			addr += PAGE_SIZE;
			break;
		}
	}
	pte_unmap_unlock(start, ptl);
	return addr;
}

#ifdef CONFIG_TRANSPARENT_HUGEPAGE
/*
 * A huge page, [addr, end) of it in the range; under the pmd lock.  It is
 * reset only when all of it was reported now: resetting more than what
 * was reported would lose writes.
 */
static unsigned long ntvm_sd_huge(struct ntvm_sd_walk *w, pmd_t *pmdp,
				  pmd_t pmd, unsigned long addr,
				  unsigned long end)
{
	struct vm_area_struct *vma = w->vma;
	unsigned long haddr = addr & PMD_MASK, a;
	pmd_t old;

	if (pmd_present(pmd) ? !pmd_soft_dirty(pmd) && !pmd_write(pmd) :
			       !pmd_swp_soft_dirty(pmd))
		return end;
	for (a = addr; a < end; a += PAGE_SIZE) {
		ntvm_sd_report(w, a);
		if (ntvm_sd_full(w) && a + PAGE_SIZE < end)
			return a + PAGE_SIZE;
	}
	if (!w->reset || !pmd_present(pmd) || addr != haddr ||
	    end != haddr + PMD_SIZE)
		return end;
	if (test_bit(MMF_HAS_PINNED, &vma->vm_mm->flags) &&
	    page_maybe_dma_pinned(pmd_page(pmd)))
		return end;
	/* Invalid while it changes: the hardware cannot update it then. */
	old = pmdp_establish(vma, haddr, pmdp, pmd_mkinvalid(pmd));
	if (pmd_write(old))
		w->flush = true;
	set_pmd_at(vma->vm_mm, haddr, pmdp,
		   pmd_wrprotect(pmd_clear_soft_dirty(old)));
	return end;
}

static bool ntvm_sd_is_huge(pmd_t pmd)
{
	return pmd_trans_huge(pmd) || is_swap_pmd(pmd);
}
#else
static unsigned long ntvm_sd_huge(struct ntvm_sd_walk *w, pmd_t *pmdp,
				  pmd_t pmd, unsigned long addr,
				  unsigned long end)
{
	return end;
}

static bool ntvm_sd_is_huge(pmd_t pmd)
{
	return false;
}
#endif

static unsigned long ntvm_sd_pmds(struct ntvm_sd_walk *w, pud_t *pudp,
				  unsigned long addr, unsigned long end)
{
	struct mm_struct *mm = w->vma->vm_mm;
	pmd_t *pmdp = pmd_offset(pudp, addr);
	unsigned long next, stop;
	spinlock_t *ptl;	/* a huge page's */
	pmd_t pmd;

	for (; addr < end; pmdp++, addr = next) {
		next = pmd_addr_end(addr, end);
		pmd = READ_ONCE(*pmdp);
		if (pmd_none(pmd))
			continue;
		/*
		 * A page table stays one under mmap_lock held for writing; a
		 * huge page can still be split or migrated: look again under
		 * its lock.
		 */
		if (ntvm_sd_is_huge(pmd)) {
			ptl = pmd_lock(mm, pmdp);
			pmd = *pmdp;
			if (ntvm_sd_is_huge(pmd)) {
				stop = ntvm_sd_huge(w, pmdp, pmd, addr, next);
				spin_unlock(ptl);
				if (ntvm_sd_full(w))
					return stop;
				continue;
			}
			spin_unlock(ptl);
			if (pmd_none(pmd))
				continue;
		}
		if (pmd_bad(pmd))
			continue;
		stop = ntvm_sd_ptes(w, pmdp, addr, next);
		if (ntvm_sd_full(w))
			return stop;
		cond_resched();
	}
	return end;
}

static unsigned long ntvm_sd_puds(struct ntvm_sd_walk *w, p4d_t *p4dp,
				  unsigned long addr, unsigned long end)
{
	pud_t *pudp = pud_offset(p4dp, addr);
	unsigned long next, stop;
	pud_t pud;

	for (; addr < end; pudp++, addr = next) {
		next = pud_addr_end(addr, end);
		pud = READ_ONCE(*pudp);
		/* No huge puds in anonymous memory; pud_bad() covers them. */
		if (pud_none(pud) || pud_bad(pud))
			continue;
		stop = ntvm_sd_pmds(w, pudp, addr, next);
		if (ntvm_sd_full(w))
			return stop;
	}
	return end;
}

static unsigned long ntvm_sd_p4ds(struct ntvm_sd_walk *w, pgd_t *pgdp,
				  unsigned long addr, unsigned long end)
{
	p4d_t *p4dp = p4d_offset(pgdp, addr);
	unsigned long next, stop;

	for (; addr < end; p4dp++, addr = next) {
		next = p4d_addr_end(addr, end);
		if (p4d_none(*p4dp) || p4d_bad(*p4dp))
			continue;
		stop = ntvm_sd_puds(w, p4dp, addr, next);
		if (ntvm_sd_full(w))
			return stop;
	}
	return end;
}

/* Walks [addr, end) of w->vma; returns where it stopped. */
static unsigned long ntvm_sd_vma(struct ntvm_sd_walk *w, unsigned long addr,
				 unsigned long end)
{
	pgd_t *pgdp = pgd_offset(w->vma->vm_mm, addr);
	unsigned long next, stop;

	for (; addr < end; pgdp++, addr = next) {
		next = pgd_addr_end(addr, end);
		if (pgd_none(*pgdp) || pgd_bad(*pgdp))
			continue;
		stop = ntvm_sd_p4ds(w, pgdp, addr, next);
		if (ntvm_sd_full(w))
			return stop;
	}
	return end;
}

/* Every mapping of [start, end) private anonymous memory? */
static bool ntvm_sd_vmas_ok(struct mm_struct *mm, unsigned long start,
			    unsigned long end)
{
	struct vm_area_struct *vma;

	VMA_ITERATOR(vmi, mm, start);

	mmap_assert_locked(mm);
	for_each_vma_range(vmi, vma, end)
		if (!vma_is_anonymous(vma) || (vma->vm_flags & VM_SHARED))
			return false;
	return true;
}

/*
 * Track writes on the mappings of [start, end) again: with VM_SOFTDIRTY
 * set, mprotect() may make a clean page writable without a fault.  The
 * flag only says "report every page soft-dirty" to pagemap readers, which
 * ntvm's write watch is not.
 */
static void ntvm_sd_track_vmas(struct mm_struct *mm, unsigned long start,
			       unsigned long end)
{
	struct vm_area_struct *vma;

	VMA_ITERATOR(vmi, mm, start);

	mmap_assert_write_locked(mm);
	for_each_vma_range(vmi, vma, end)
		vma->vm_flags &= ~VM_SOFTDIRTY;
}

/* Walks [start, end); returns where it stopped. */
static unsigned long ntvm_sd_walk(struct ntvm_sd_walk *w, struct mm_struct *mm,
				  unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma;
	unsigned long stop;

	VMA_ITERATOR(vmi, mm, start);

	mmap_assert_write_locked(mm);
	if (start == end)
		return end;
	for_each_vma_range(vmi, vma, end) {
		w->vma = vma;
		stop = ntvm_sd_vma(w, max(start, vma->vm_start),
				   min(end, vma->vm_end));
		if (ntvm_sd_full(w))
			return stop;
	}
	return end;
}

static void ntvm_sd_flush_cpu(void *unused)
{
	__flush_tlb_all();
}

int ntvm_ww_scan(struct nt_space *space, struct ntvm_ww_scan_args *s,
		 u64 **bitmap)
{
	struct nt_watch_req watch = { .base = s->base, .length = s->length };
	struct ntvm_sd_walk w = {
		.base = s->base,
		.max_count = s->max_count,
		.reset = s->flags & NTVM_WW_RESET,
	};
	u64 __user *ubitmap = u64_to_user_ptr(s->bitmap);
	struct mm_struct *mm = current->mm;
	unsigned long pages, words, stop;
	int ret = 0;

	nt_watch_check(space, &watch);
	if (watch.status) {
		s->status = watch.status;
		return 0;
	}
	pages = s->max_count ? min_t(u64, s->length >> PAGE_SHIFT,
				     NTVM_WW_SCAN_MAX_PAGES) : 0;
	words = DIV_ROUND_UP(pages, 64);
	/* A failed call changes nothing: prove the bitmap writable first. */
	if (clear_user(ubitmap, words * sizeof(u64)))
		return -EFAULT;
	w.bitmap = kcalloc(max(words, 1UL), sizeof(u64), GFP_KERNEL_ACCOUNT);
	if (!w.bitmap)
		return -ENOMEM;
	if (mmap_write_lock_killable(mm)) {
		ret = -EINTR;
		goto out;
	}
	/* The program may have mapped something else there meanwhile. */
	if (!ntvm_sd_vmas_ok(mm, s->base, s->base + s->length)) {
		mmap_write_unlock(mm);
		s->status = NTVM_STATUS_INVALID_PARAMETER;
		goto out;
	}
	inc_tlb_flush_pending(mm);
	ntvm_sd_track_vmas(mm, s->base, s->base + s->length);
	stop = ntvm_sd_walk(&w, mm, s->base, s->base + pages * PAGE_SIZE);
	mmap_write_unlock(mm);
	/* No stale writable TLB entry may outlive the call (see the top). */
	if (w.flush)
		on_each_cpu(ntvm_sd_flush_cpu, NULL, 1);
	dec_tlb_flush_pending(mm);

	s->count = w.count;
	s->scanned = stop - s->base;
	s->status = NTVM_STATUS_SUCCESS;
	/* The caller copies it out once it has dropped the NT lock. */
	*bitmap = w.bitmap;
	return 0;
out:
	kfree(w.bitmap);
	return ret;
}

#else /* !NTVM_HAVE_WW_SCAN */

int ntvm_ww_scan(struct nt_space *space, struct ntvm_ww_scan_args *s,
		 u64 **bitmap)
{
	return -ENOTTY;
}

#endif
