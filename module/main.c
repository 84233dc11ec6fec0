// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: Windows NT virtual-memory semantics for Linux processes.
 *
 * /dev/ntvm is a misc device.  Its ioctls act only on the address space of
 * the caller, and only when that address space is the one that opened the
 * file: a forked child or a process that received the fd over SCM_RIGHTS
 * gets -EPERM and changes nothing.
 *
 * Lifetimes
 * ---------
 * One struct ntvm_mm exists per address space (mm) that has opened
 * /dev/ntvm.  It is the mmu_notifier returned by mmu_notifier_get(), so it is
 * reference counted by the mmu-notifier core: every open file holds one
 * reference (mmu_notifier_get() in open, mmu_notifier_put() in release), and
 * the structure is freed by ->free_notifier() after the last put and an SRCU
 * grace period.  All opens in one process therefore share one NT state.
 * The mm itself stays allocated (mm_count) while the notifier is
 * registered, so the mm pointer kept in each file is stable.  ->release()
 * of the notifier runs when the address space is torn down (exit or exec);
 * it only marks the state dead, because nothing can use it any more.
 *
 * Module unload waits for pending ->free_notifier() calls with
 * mmu_notifier_synchronize().
 *
 * Division of work
 * ----------------
 * The NT rules and the NT state live in core/ (plain C, also built and
 * tested in user space).  This file is the glue: ioctl copy-in and
 * copy-out, locking, and struct nt_vm_ops, which changes the caller's
 * address space with vm_mmap()/vm_munmap() and reads it under mmap_lock.
 * softdirty.c walks page tables for write watch (NTVM_IOC_WW_SCAN).
 *
 * The kernel exports no way for a module to change the protection of
 * populated pages, or to free them lazily (no mprotect, no madvise).  So
 * the VMAs are the truth for read/write/execute: the core reads them back
 * and never stores a copy.  An operation that needs such a change (a
 * protection change of committed pages, a lazy MEM_RESET) validates and
 * records its NT part here and returns NTVM_APPLY_* to user space, which
 * makes the mprotect(2) or madvise(2) call.  Until it does, the NT view is
 * the old one: a guard bit only counts on a PROT_NONE mapping, and the
 * protection is read from the VMA.  libntvm serialises each ioctl with its
 * syscall under one process-wide lock, so no other NT call of the process
 * can run in between.
 *
 * Mappings changed behind ntvm's back
 * -----------------------------------
 * The core checks that the mappings of an allocation are still there
 * before it uses it (core/space.c).  ->invalidate_range_start() counts, in
 * ntvm_mm.changes, every MMU_NOTIFY_UNMAP that no ntvm operation made: the
 * munmap(), mremap() and mmap(MAP_FIXED) paths all unmap through it.  An
 * operation marks itself in ntvm_mm.op_task, so its own vm_mmap() and
 * vm_munmap() don't count, and a failed MAP_FIXED counts because it may
 * leave a hole.  While the count stays the same, an allocation the core
 * has found whole is not checked again.  Every unmap, the operations' own
 * vm_munmap() included, also lowers the placement floor (see "Placement
 * floor"); both are atomics, taken under no lock.
 *
 * Locking
 * -------
 * Lock order: ntvm_mm.lock, then mmap_lock, then ntvm_mm.reset_lock.
 *  - ntvm_mm.lock (a mutex) serialises every operation on one address
 *    space and protects ntvm_mm.space.  It is held across vm_mmap() and
 *    vm_munmap(), which take mmap_lock for writing themselves, so the
 *    module never holds mmap_lock when it calls them.
 *  - mmap_lock is taken for reading, under ntvm_mm.lock, to read VMAs
 *    (ntvm_vm_lock_read() and the gap search), and for writing by
 *    NTVM_IOC_WW_SCAN (softdirty.c), which then takes page-table locks.
 *  - mmu-notifier callbacks run under mmap_lock or from reclaim, so none of
 *    them takes ntvm_mm.lock, except ->release(), which runs in
 *    exit_mmap() before mmap_lock is taken and when no thread of the
 *    address space is left to hold ntvm_mm.lock.
 *  - ntvm_mm.reset_lock (a spinlock) protects the MEM_RESET ranges, which
 *    ->invalidate_range_start() marks when the kernel discards their pages;
 *    it is the innermost lock and nothing sleeps under it.
 *
 * MEM_RESET_UNDO
 * --------------
 * A MEM_RESET range is armed before libntvm's madvise(MADV_FREE), so no
 * discard can slip in between; the arming task's own invalidations (the
 * madvise) are ignored until NTVM_IOC_RESET_DONE closes that window, or
 * conservatively the next operation does.  From then on any invalidation
 * of the range that may drop pages (not a protection or soft-dirty change)
 * marks it lost.  MEM_RESET_UNDO first dirties every page with GUP, after
 * which the kernel keeps them, and only then reads the mark.  A lost mark
 * can be a false alarm (migration, compaction, swap), never a miss.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/maple_tree.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

#include <linux/ntvm.h>
#include "core/nt.h"
#include "softdirty.h"

#define NTVM_VERSION "0.2"

/* The kernel's defaults; neither variable is exported to modules. */
#define NTVM_STACK_GUARD_GAP	(256UL << PAGE_SHIFT)
/* Bottom-up placement leaves the heap this much room to grow. */
#define NTVM_BRK_SLACK		(64UL << 20)
/* Exact-fit gap probes before falling back to a padded search. */
#define NTVM_GAP_PROBES		16

/* Ranges watched for MEM_RESET_UNDO; more are merged, conservatively. */
#define NTVM_MAX_RESETS		64

struct ntvm_reset {
	u64 lo, hi;
	/* Until NTVM_IOC_RESET_DONE, this task's invalidations don't count. */
	struct task_struct *arming;
	bool lost;
};

/* Per address space NT state; see "Lifetimes" above. */
struct ntvm_mm {
	struct mmu_notifier mn;
	/* Serialises every operation on this address space. */
	struct mutex lock;
	struct nt_space space;		/* under lock */
	/* The task running an operation under lock, or NULL. */
	struct task_struct *op_task;
	/* Moves on unmaps not made by an operation: see nt_vm_ops.changes. */
	atomic64_t changes;
	/* The operation's task is unmapping (vm_munmap()). */
	bool op_unmaps;
	/* The placement floor and its room: see "Placement floor" below. */
	atomic64_t place;
	/* Protects the MEM_RESET ranges below; innermost lock. */
	spinlock_t reset_lock;
	unsigned int nresets;		/* under reset_lock, read without */
	bool reset_window;		/* an arming window is open */
	struct ntvm_reset resets[NTVM_MAX_RESETS];	/* sorted by lo */
};

/* Per open file. */
struct ntvm_file {
	struct mm_struct *mm;
	struct ntvm_mm *nm;
};

/* Counters for leak checks, in debugfs ntvm/counters. */
static atomic_long_t ntvm_live_mms = ATOMIC_LONG_INIT(0);
static atomic_long_t ntvm_live_allocs = ATOMIC_LONG_INIT(0);
static struct dentry *ntvm_debugfs;

/* ---- Core environment ---------------------------------------------------- */

void *ntvm_core_zalloc(size_t size)
{
	return kzalloc(size, GFP_KERNEL_ACCOUNT);
}

void *ntvm_core_realloc(void *p, size_t size)
{
	return krealloc(p, size, GFP_KERNEL_ACCOUNT);
}

void ntvm_core_free(void *p)
{
	kfree(p);
}

/* ---- struct nt_vm_ops on current->mm ------------------------------------- */

static struct ntvm_mm *ntvm_mm_of(void *ctx)
{
	return ctx;
}

static void ntvm_assert_locked(void *ctx)
{
	lockdep_assert_held(&ntvm_mm_of(ctx)->lock);
}

#define NTVM_MAP_ANON (MAP_PRIVATE | MAP_ANONYMOUS)

/* ---- Placement floor ------------------------------------------------------ */

/*
 * The floor: no 64K-aligned address below it starts a free page that
 * default placement could use.  It only comes down when something is
 * unmapped (the notifier lowers it to the unmapped range, ntvm's own
 * vm_munmap() included), and only goes up when a reservation is made
 * exactly at it, or when a mapping or the heap's room (which shrinks only
 * by an unmap) is found to cover it.  So a default bottom-up placement
 * that fits at the floor is the lowest one, and needs no search; one that
 * does not fit there searches from the floor.
 *
 * The room: [floor, room) was found free, clear of the heap's room and of
 * any stack guard gap, when the floor was last examined.  A reservation at
 * the floor keeps the rest of the room; one elsewhere in it cuts it short;
 * an unmap below the floor empties it.  Mappings made by others are not
 * seen, so the room is a hint: a default placement that fits in it is made
 * at the floor without reading the VMAs (ntvm_floor_fast()), and
 * MAP_FIXED_NOREPLACE checks it; if that fails, the room is emptied and
 * the search examines the floor again.
 *
 * Both are kept in ntvm_mm.place, in 64K units, as floor << 32 | room, so
 * that a floor is never paired with a room found for another floor.  They
 * change under no lock (the notifier runs under mmap_lock, operations
 * under ntvm_mm.lock), by compare-and-exchange.
 */
#define NTVM_GRAN_SHIFT		16
#define NTVM_PLACE_MAX		((u64)U32_MAX << NTVM_GRAN_SHIFT)

static s64 ntvm_place(u64 floor, u64 room)
{
	BUILD_BUG_ON(NTVM_GRANULARITY != 1UL << NTVM_GRAN_SHIFT);
	floor = min(floor, NTVM_PLACE_MAX) >> NTVM_GRAN_SHIFT;
	room = min(room, NTVM_PLACE_MAX) >> NTVM_GRAN_SHIFT;
	return (s64)(floor << 32 | max(room, floor));
}

static u64 ntvm_place_floor(s64 place)
{
	return (u64)place >> 32 << NTVM_GRAN_SHIFT;
}

static u64 ntvm_place_room(s64 place)
{
	return (u64)(u32)place << NTVM_GRAN_SHIFT;
}

/*
 * [addr, end) was unmapped (end 0: something at addr may have been): the
 * floor comes down to it.  What ntvm itself unmapped held one of its
 * reservations, so it is room, joined to the old room when it reaches the
 * old floor.  (The heap's room is checked again at placement; a stack
 * guard gap that an explicit reservation had taken becomes room, as the
 * reservation had made it.)
 */
static void ntvm_floor_lower(struct ntvm_mm *nm, u64 addr, u64 end)
{
	s64 old = atomic64_read(&nm->place);
	u64 f = round_down(addr, NTVM_GRANULARITY), room;

	if (f != addr)
		end = 0;
	while (f < ntvm_place_floor(old)) {
		room = end < ntvm_place_floor(old) ? round_down(end, NTVM_GRANULARITY) :
		       ntvm_place_room(old);
		if (atomic64_try_cmpxchg(&nm->place, &old, ntvm_place(f, room)))
			break;
	}
}

/* A floor at f moves to @to, with room up to @room (@room == @to: none). */
static void ntvm_floor_set(struct ntvm_mm *nm, u64 f, u64 to, u64 room)
{
	s64 old = atomic64_read(&nm->place);

	while (ntvm_place_floor(old) == f &&
	       !atomic64_try_cmpxchg(&nm->place, &old, ntvm_place(to, room)))
		;
}

/*
 * A reservation took [addr, end): at the floor, the floor moves past it
 * and the rest of the room stays; elsewhere in the room, the room ends
 * before it.
 */
static void ntvm_floor_mapped(struct ntvm_mm *nm, u64 addr, u64 end)
{
	s64 old = atomic64_read(&nm->place), new;
	u64 f, room;

	do {
		f = ntvm_place_floor(old);
		room = ntvm_place_room(old);
		if (addr == f)
			new = ntvm_place(round_up(end, NTVM_GRANULARITY), room);
		else if (addr < room && end > f)
			new = ntvm_place(f, max(f, round_down(addr, NTVM_GRANULARITY)));
		else
			return;
	} while (!atomic64_try_cmpxchg(&nm->place, &old, new));
}

/* vm_munmap() from an operation: the notifier lowers the floor for it. */
static int ntvm_munmap(struct ntvm_mm *nm, u64 addr, u64 len)
{
	int ret;

	WRITE_ONCE(nm->op_unmaps, true);
	ret = vm_munmap(addr, len);
	WRITE_ONCE(nm->op_unmaps, false);
	return ret;
}

/*
 * On 6.1 a MAP_FIXED mapping that fails its commit charge has already
 * unmapped the old range, leaving a hole.  Put the reservation back; this
 * fails harmlessly with -EEXIST where the range is intact.
 */
static void ntvm_restore_reservation(u64 addr, u64 len)
{
	unsigned long ret;

	ret = vm_mmap(NULL, addr, len, PROT_NONE,
		      NTVM_MAP_ANON | MAP_NORESERVE | MAP_FIXED_NOREPLACE, 0);
	if (!IS_ERR_VALUE(ret))
		pr_debug("restored reservation %#llx+%#llx\n", addr, len);
}

/*
 * vm_mmap() fails with -ENOMEM both when the commit charge is refused and
 * when the address space or vm.max_map_count is exhausted; NT reports
 * these differently.  Try the same mapping without a charge: if that
 * works, the charge was the reason (-ENOMEM), else there is no room for
 * the mapping (-ENOSPC).  For a commit the uncharged mapping is exactly the
 * reservation that was there, so it also mends a 6.1 hole.
 */
static int ntvm_why_enomem(void *ctx, u64 addr, u64 len, enum nt_map_how how,
			   unsigned long prot)
{
	unsigned long flags = NTVM_MAP_ANON | MAP_NORESERVE, ret;

	if (!(prot & PROT_WRITE)) {
		if (how == NT_MAP_COMMIT)
			ntvm_restore_reservation(addr, len);
		return -ENOSPC;
	}
	flags |= how == NT_MAP_COMMIT ? MAP_FIXED : MAP_FIXED_NOREPLACE;
	ret = vm_mmap(NULL, addr, len, PROT_NONE, flags, 0);
	if (IS_ERR_VALUE(ret)) {
		if (how == NT_MAP_COMMIT)
			ntvm_restore_reservation(addr, len);
		return -ENOSPC;
	}
	if (how == NT_MAP_RESERVE_COMMIT)
		ntvm_munmap(ctx, addr, len);
	return -ENOMEM;
}

static int ntvm_vm_map(void *ctx, u64 addr, u64 len, enum nt_map_how how,
		       u32 lprot)
{
	unsigned long flags = NTVM_MAP_ANON, prot = lprot, ret;

	ntvm_assert_locked(ctx);
	switch (how) {
	case NT_MAP_RESERVE:
		prot = PROT_NONE;
		flags |= MAP_NORESERVE | MAP_FIXED_NOREPLACE;
		break;
	case NT_MAP_RESERVE_COMMIT:
		flags |= MAP_FIXED_NOREPLACE;
		break;
	case NT_MAP_COMMIT:
		flags |= MAP_FIXED;
		break;
	case NT_MAP_DECOMMIT:
		prot = PROT_NONE;
		flags |= MAP_NORESERVE | MAP_FIXED;
		break;
	}
	ret = vm_mmap(NULL, addr, len, prot, flags, 0);
	if (!IS_ERR_VALUE(ret)) {
		if (flags & MAP_FIXED_NOREPLACE)
			ntvm_floor_mapped(ntvm_mm_of(ctx), addr, addr + len);
		return 0;
	}
	/* Taken behind ntvm's back: a floor at addr has no room now. */
	if (ret == -EEXIST)
		ntvm_floor_set(ntvm_mm_of(ctx), addr, addr, addr);
	/* A failed MAP_FIXED may have unmapped the old range. */
	if (flags & MAP_FIXED) {
		atomic64_inc(&ntvm_mm_of(ctx)->changes);
		ntvm_floor_lower(ntvm_mm_of(ctx), addr, 0);
	}
	if (ret == -ENOMEM &&
	    (how == NT_MAP_COMMIT || how == NT_MAP_RESERVE_COMMIT))
		return ntvm_why_enomem(ctx, addr, len, how, prot);
	if (flags & MAP_FIXED)
		ntvm_restore_reservation(addr, len);
	/* PROT_NONE without a charge: -ENOMEM means no room. */
	return ret == -ENOMEM ? -ENOSPC : (int)ret;
}

static int ntvm_vm_unmap(void *ctx, u64 addr, u64 len)
{
	int ret;

	ntvm_assert_locked(ctx);
	ret = ntvm_munmap(ntvm_mm_of(ctx), addr, len);
	if (ret)
		atomic64_inc(&ntvm_mm_of(ctx)->changes);
	return ret;
}

static u64 ntvm_vm_changes(void *ctx)
{
	return atomic64_read(&ntvm_mm_of(ctx)->changes);
}

static void ntvm_vm_lock_read(void *ctx)
{
	ntvm_assert_locked(ctx);
	mmap_read_lock(current->mm);
}

static void ntvm_vm_unlock_read(void *ctx)
{
	mmap_read_unlock(current->mm);
}

static int ntvm_vm_prot_at(void *ctx, u64 addr, u64 *start, u64 *end)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	int lp = 0;

	mmap_assert_locked(mm);
	vma = find_vma(mm, addr);
	if (!vma || vma->vm_start > addr) {
		*start = addr;
		*end = vma ? vma->vm_start : mm->task_size;
		return NT_VMA_NONE;
	}
	*start = vma->vm_start;
	*end = vma->vm_end;
	if (vma->vm_flags & VM_READ)
		lp |= NT_LPROT_R;
	if (vma->vm_flags & VM_WRITE)
		lp |= NT_LPROT_W;
	if (vma->vm_flags & VM_EXEC)
		lp |= NT_LPROT_X;
	if (!vma_is_anonymous(vma) || (vma->vm_flags & VM_SHARED))
		lp |= NT_VMA_FOREIGN;
	return lp;
}

/*
 * Where placement's free space below vma ends: vma is the first mapping
 * above a free address (NULL: none), and its stack guard gap is not free.
 */
static u64 ntvm_free_end(struct mm_struct *mm, struct vm_area_struct *vma)
{
	if (!vma)
		return mm->task_size;
	if (!(vma->vm_flags & VM_GROWSDOWN))
		return vma->vm_start;
	return vma->vm_start > NTVM_STACK_GUARD_GAP ?
	       vma->vm_start - NTVM_STACK_GUARD_GAP : 0;
}

/* Is [addr, addr + size) free, stack guard gap included? */
static bool ntvm_range_free(struct mm_struct *mm, u64 addr, u64 size)
{
	return addr + size <= ntvm_free_end(mm, find_vma(mm, addr));
}

/*
 * Does [addr, addr + size) touch the room kept for the heap?  Also asked
 * without mmap_lock, racing with brk(), as any placement does.
 */
static bool ntvm_in_brk_slack(struct mm_struct *mm, u64 addr, u64 size)
{
	return addr < READ_ONCE(mm->brk) + NTVM_BRK_SLACK &&
	       addr + size > READ_ONCE(mm->start_brk);
}

/* Does a default placement start at the floor?  See "Placement floor". */
static bool ntvm_floor_wanted(const struct nt_gap_req *req, u64 f)
{
	return !req->top_down && req->align == NTVM_GRANULARITY && req->lo <= f;
}

/*
 * A first try of a default placement that fits in the room is made at the
 * floor, without reading the VMAs; the heap may have grown since the room
 * was found, so its room is checked again.
 */
static bool ntvm_floor_fast(struct ntvm_mm *nm, struct mm_struct *mm,
			    const struct nt_gap_req *req, u64 hi, u64 *addr)
{
	s64 place = atomic64_read(&nm->place);
	u64 f = ntvm_place_floor(place);

	if (req->attempt || !ntvm_floor_wanted(req, f) ||
	    f + req->size > min(hi, ntvm_place_room(place)) ||
	    ntvm_in_brk_slack(mm, f, req->size))
		return false;
	*addr = f;
	return true;
}

/*
 * Examine the floor, with mmap_lock held: step it over the heap's room and
 * over mappings, and find its room.  Sets *addr to the floor if the
 * request fits there; returns where a search should start.
 */
static u64 ntvm_floor_try(struct ntvm_mm *nm, struct mm_struct *mm,
			  const struct nt_gap_req *req, u64 hi, u64 *addr)
{
	u64 f = ntvm_place_floor(atomic64_read(&nm->place)), room, to;
	struct vm_area_struct *vma;
	int step;

	if (!ntvm_floor_wanted(req, f))
		return req->lo;
	for (step = 0; step < 4; step++) {
		if (f + req->size > hi)
			break;
		if (ntvm_in_brk_slack(mm, f, PAGE_SIZE)) {
			/* The heap's room, which only brk() gives back. */
			to = round_up(mm->brk + NTVM_BRK_SLACK, NTVM_GRANULARITY);
			ntvm_floor_set(nm, f, to, to);
			f = to;
			continue;
		}
		vma = find_vma(mm, f);
		if (vma && vma->vm_start <= f) {
			/* A mapping covers the floor: it can start above it. */
			to = round_up(vma->vm_end, NTVM_GRANULARITY);
			ntvm_floor_set(nm, f, to, to);
			f = to;
			continue;
		}
		/* The floor is free: its room ends at the next mapping. */
		room = ntvm_free_end(mm, vma);
		if (f < mm->start_brk)
			room = min(room, mm->start_brk);
		room = max(round_down(room, NTVM_GRANULARITY), f);
		ntvm_floor_set(nm, f, f, room);
		if (f + req->size <= room)
			*addr = f;
		break;
	}
	return f;
}

/*
 * Lowest (or highest) free, aligned range of req->size in [req->lo,
 * req->hi), from the maple tree's gap index: O(log n) a probe, after the
 * floor (above) for the default placement.  A probe asks for exactly
 * size, so that exact-size aligned holes are reused as Windows reuses
 * them; a gap that is large enough but holds no aligned candidate is
 * stepped over.  After NTVM_GAP_PROBES such steps the search asks for
 * size + align - PAGE_SIZE, where any gap found fits.
 */
static noinline int ntvm_find_gap_slow(void *ctx, const struct nt_gap_req *req,
				       u64 *addr)
{
	struct mm_struct *mm = current->mm;
	u64 hi = min_t(u64, req->hi, mm->task_size), lo, lo0;
	u64 size = req->size, align = req->align, want = size, cand;
	struct vm_area_struct *vma;
	int probes = 0, ret = -ENOMEM;

	MA_STATE(mas, &mm->mm_mt, 0, 0);

	mmap_read_lock(mm);
	*addr = 0;
	lo = ntvm_floor_try(ntvm_mm_of(ctx), mm, req, hi, addr);
	if (*addr) {
		mmap_read_unlock(mm);
		return 0;
	}
	lo0 = lo;
	while (lo < hi && hi - lo >= want) {
		if (++probes > NTVM_GAP_PROBES && want == size) {
			/* Padded search: every gap found holds a candidate. */
			want = size + align - PAGE_SIZE;
			lo = lo0;
			hi = min_t(u64, req->hi, mm->task_size);
			continue;
		}
		mas_reset(&mas);
		if (!req->top_down) {
			if (mas_empty_area(&mas, lo, hi - 1, want))
				break;
			cand = round_up(mas.index, align);
			if (ntvm_in_brk_slack(mm, cand, size)) {
				lo = max_t(u64, lo, mm->brk + NTVM_BRK_SLACK);
				continue;
			}
			if (cand + size <= hi && ntvm_range_free(mm, cand, size)) {
				*addr = cand;
				ret = 0;
				break;
			}
			vma = find_vma(mm, mas.index);
			if (!vma)
				break;
			lo = vma->vm_end;
		} else {
			if (mas_empty_area_rev(&mas, lo, hi - 1, want))
				break;
			cand = round_down(mas.last + 1 - size, align);
			if (cand >= lo && ntvm_range_free(mm, cand, size)) {
				*addr = cand;
				ret = 0;
				break;
			}
			/* No candidate ends above cand + size - 1. */
			hi = cand + size - 1;
		}
	}
	mmap_read_unlock(mm);
	return ret;
}

/* The floor's room first, without the search's frame and mmap_lock. */
static int ntvm_vm_find_gap(void *ctx, const struct nt_gap_req *req, u64 *addr)
{
	struct mm_struct *mm = current->mm;

	ntvm_assert_locked(ctx);
	if (ntvm_floor_fast(ntvm_mm_of(ctx), mm, req,
			    min_t(u64, req->hi, mm->task_size), addr))
		return 0;
	return ntvm_find_gap_slow(ctx, req, addr);
}

/* Largest 64K-aligned block in [a, b), or 0. */
static u64 ntvm_aligned_span(u64 a, u64 b)
{
	a = round_up(a, NTVM_GRANULARITY);
	b = round_down(b, NTVM_GRANULARITY);
	return b > a ? b - a : 0;
}

/*
 * Largest free block placement could use: what ntvm_vm_find_gap() leaves
 * out (the stack guard gap, the heap's room) is not counted.
 */
static u64 ntvm_vm_largest_free(void *ctx, u64 lo, u64 hi)
{
	struct mm_struct *mm = current->mm;
	u64 best = 0, b, heap_lo, heap_hi;
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	heap_lo = mm->start_brk;
	heap_hi = mm->brk + NTVM_BRK_SLACK;
	while (lo < hi) {
		vma = find_vma(mm, lo);
		b = clamp_t(u64, ntvm_free_end(mm, vma), lo, hi);
		if (lo < heap_hi && b > heap_lo) {
			best = max(best, ntvm_aligned_span(lo, min(b, heap_lo)));
			best = max(best, ntvm_aligned_span(max(lo, heap_hi), b));
		} else {
			best = max(best, ntvm_aligned_span(lo, b));
		}
		if (!vma)
			break;
		lo = vma->vm_end;
		cond_resched();
	}
	mmap_read_unlock(mm);
	return best;
}

/*
 * The MEM_RESET ranges are a small array sorted by address, under
 * reset_lock.  Ranges are split so that a discard marks only the part it
 * hit, and a new reset or an undo replaces only the part it covers; when
 * the array is full, marks fall back to whole ranges and the two closest
 * ranges merge: always towards "lost", never towards "intact".
 */

/* Split range i at a (lo < a < hi); false when there is no room. */
static bool ntvm_reset_split(struct ntvm_mm *nm, unsigned int i, u64 a)
{
	struct ntvm_reset *r = nm->resets;
	unsigned int n = nm->nresets;

	lockdep_assert_held(&nm->reset_lock);
	if (n == NTVM_MAX_RESETS)
		return false;
	memmove(&r[i + 2], &r[i + 1], (n - i - 1) * sizeof(*r));
	r[i + 1] = r[i];
	r[i + 1].lo = a;
	r[i].hi = a;
	WRITE_ONCE(nm->nresets, n + 1);
	return true;
}

static void ntvm_reset_remove(struct ntvm_mm *nm, unsigned int i)
{
	struct ntvm_reset *r = nm->resets;
	unsigned int n = nm->nresets;

	lockdep_assert_held(&nm->reset_lock);
	memmove(&r[i], &r[i + 1], (n - i - 1) * sizeof(*r));
	WRITE_ONCE(nm->nresets, n - 1);
}

/*
 * Take [lo, hi) out of the ranges, where room allows; returns whether
 * any of what was taken out, or of a range it could not split, was lost.
 */
static bool ntvm_resets_cut(struct ntvm_mm *nm, u64 lo, u64 hi)
{
	struct ntvm_reset *r = nm->resets;
	unsigned int i = 0;
	bool lost = false;

	lockdep_assert_held(&nm->reset_lock);
	while (i < nm->nresets && r[i].lo < hi) {
		if (r[i].hi <= lo) {
			i++;
			continue;
		}
		lost |= r[i].lost;
		if (r[i].lo < lo && ntvm_reset_split(nm, i, lo))
			i++;
		if (r[i].hi > hi && !ntvm_reset_split(nm, i, hi)) {
			i++;
			continue;
		}
		if (r[i].lo >= lo)
			ntvm_reset_remove(nm, i);
		else
			i++;
	}
	return lost;
}

/* Merge the two closest ranges: the union stays watched. */
static void ntvm_resets_merge(struct ntvm_mm *nm)
{
	struct ntvm_reset *r = nm->resets;
	unsigned int i, best = 0, n = nm->nresets;
	u64 gap = U64_MAX, g;

	lockdep_assert_held(&nm->reset_lock);
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
	ntvm_reset_remove(nm, best + 1);
}

static int ntvm_vm_reset_arm(void *ctx, u64 addr, u64 len)
{
	struct ntvm_mm *nm = ntvm_mm_of(ctx);
	struct ntvm_reset *r = nm->resets;
	unsigned int i, n;

	ntvm_assert_locked(ctx);
	spin_lock(&nm->reset_lock);
	/* The new reset replaces what older ones said of these pages. */
	ntvm_resets_cut(nm, addr, addr + len);
	if (nm->nresets == NTVM_MAX_RESETS)
		ntvm_resets_merge(nm);
	n = nm->nresets;
	for (i = 0; i < n && r[i].lo < addr; i++)
		;
	memmove(&r[i + 1], &r[i], (n - i) * sizeof(*r));
	r[i] = (struct ntvm_reset){ .lo = addr, .hi = addr + len,
				    .arming = current };
	WRITE_ONCE(nm->reset_window, true);
	WRITE_ONCE(nm->nresets, n + 1);
	spin_unlock(&nm->reset_lock);
	return 0;
}

static void ntvm_reset_close_windows(struct ntvm_mm *nm)
{
	unsigned int i;

	spin_lock(&nm->reset_lock);
	for (i = 0; i < nm->nresets; i++)
		nm->resets[i].arming = NULL;
	WRITE_ONCE(nm->reset_window, false);
	spin_unlock(&nm->reset_lock);
}

/* Dirty every page of [addr, addr + len): the kernel then keeps them. */
static int ntvm_vm_touch(void *ctx, u64 addr, u64 len)
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

static bool ntvm_vm_reset_lost(void *ctx, u64 addr, u64 len)
{
	struct ntvm_mm *nm = ntvm_mm_of(ctx);
	bool lost;

	ntvm_assert_locked(ctx);
	spin_lock(&nm->reset_lock);
	lost = ntvm_resets_cut(nm, addr, addr + len);
	spin_unlock(&nm->reset_lock);
	return lost;
}

static const struct nt_vm_ops ntvm_vm_ops = {
	.map = ntvm_vm_map,
	.unmap = ntvm_vm_unmap,
	.find_gap = ntvm_vm_find_gap,
	.lock_read = ntvm_vm_lock_read,
	.unlock_read = ntvm_vm_unlock_read,
	.prot_at = ntvm_vm_prot_at,
	.largest_free = ntvm_vm_largest_free,
	.changes = ntvm_vm_changes,
	.reset_arm = ntvm_vm_reset_arm,
	.touch = ntvm_vm_touch,
	.reset_lost = ntvm_vm_reset_lost,
};

/* Highest usable address: the 47-bit window less one granule, as NT. */
static u64 ntvm_max_address(struct mm_struct *mm)
{
	return round_down(min_t(u64, mm->task_size, DEFAULT_MAP_WINDOW),
			  NTVM_GRANULARITY) - 1;
}

/* ---- Per address space state --------------------------------------------- */

static struct mmu_notifier *ntvm_alloc_notifier(struct mm_struct *mm)
{
	struct ntvm_mm *nm;

	nm = kzalloc(sizeof(*nm), GFP_KERNEL_ACCOUNT);
	if (!nm)
		return ERR_PTR(-ENOMEM);
	mutex_init(&nm->lock);
	spin_lock_init(&nm->reset_lock);
	/* Never 0, which no allocation may take as checked. */
	atomic64_set(&nm->changes, 1);
	atomic64_set(&nm->place, ntvm_place(NTVM_GRANULARITY, 0));
	ntvm_space_init(&nm->space, &ntvm_vm_ops, nm, NTVM_GRANULARITY,
			ntvm_max_address(mm));
	atomic_long_inc(&ntvm_live_mms);
	return &nm->mn;
}

/* Forget the NT state; the address space is gone or going. */
static void ntvm_mm_forget(struct ntvm_mm *nm)
{
	mutex_lock(&nm->lock);
	atomic_long_sub(nm->space.nallocs, &ntvm_live_allocs);
	ntvm_space_destroy(&nm->space);
	mutex_unlock(&nm->lock);
}

/*
 * Runs from an SRCU callback, where sleeping is not allowed, after the last
 * reference is gone: nobody else can see nm, so no lock is needed.
 */
static void ntvm_free_notifier(struct mmu_notifier *mn)
{
	struct ntvm_mm *nm = container_of(mn, struct ntvm_mm, mn);

	atomic_long_sub(nm->space.nallocs, &ntvm_live_allocs);
	ntvm_space_destroy(&nm->space);
	mutex_destroy(&nm->lock);
	kfree(nm);
	atomic_long_dec(&ntvm_live_mms);
}

static void ntvm_mm_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	ntvm_mm_forget(container_of(mn, struct ntvm_mm, mn));
}

/* Pages of watched MEM_RESET ranges may be dropped: mark them lost. */
static int ntvm_mn_invalidate_range_start(struct mmu_notifier *mn,
					  const struct mmu_notifier_range *range)
{
	struct ntvm_mm *nm = container_of(mn, struct ntvm_mm, mn);
	struct ntvm_reset *r = nm->resets;
	unsigned int i;

	/*
	 * A mapping may be gone: allocations must be checked again, and the
	 * range may be free.  An operation's own MAP_FIXED replaces a mapping
	 * and frees nothing; its vm_munmap() does.
	 */
	if (range->event == MMU_NOTIFY_UNMAP) {
		if (READ_ONCE(nm->op_task) != current) {
			atomic64_inc(&nm->changes);
			ntvm_floor_lower(nm, range->start, 0);
		} else if (READ_ONCE(nm->op_unmaps)) {
			ntvm_floor_lower(nm, range->start, range->end);
		}
	}
	if (!READ_ONCE(nm->nresets))
		return 0;
	switch (range->event) {
	case MMU_NOTIFY_PROTECTION_VMA:
	case MMU_NOTIFY_PROTECTION_PAGE:
	case MMU_NOTIFY_SOFT_DIRTY:
		return 0;	/* the pages stay */
	default:
		break;
	}
	spin_lock(&nm->reset_lock);
	for (i = 0; i < nm->nresets && r[i].lo < range->end; i++) {
		if (r[i].hi <= range->start || r[i].arming == current)
			continue;
		/* Mark only the part hit, where there is room to split. */
		if (r[i].lo < range->start &&
		    ntvm_reset_split(nm, i, range->start))
			i++;
		if (r[i].hi > range->end)
			ntvm_reset_split(nm, i, range->end);
		r[i].lost = true;
	}
	spin_unlock(&nm->reset_lock);
	return 0;
}

static const struct mmu_notifier_ops ntvm_mn_ops = {
	.release = ntvm_mm_release,
	.invalidate_range_start = ntvm_mn_invalidate_range_start,
	.alloc_notifier = ntvm_alloc_notifier,
	.free_notifier = ntvm_free_notifier,
};

static int ntvm_open(struct inode *inode, struct file *file)
{
	struct mmu_notifier *mn;
	struct ntvm_file *nf;

	if (!current->mm)
		return -EINVAL;

	nf = kzalloc(sizeof(*nf), GFP_KERNEL_ACCOUNT);
	if (!nf)
		return -ENOMEM;

	mn = mmu_notifier_get(&ntvm_mn_ops, current->mm);
	if (IS_ERR(mn)) {
		kfree(nf);
		return PTR_ERR(mn);
	}
	nf->mm = current->mm;
	nf->nm = container_of(mn, struct ntvm_mm, mn);
	file->private_data = nf;
	return nonseekable_open(inode, file);
}

static int ntvm_release(struct inode *inode, struct file *file)
{
	struct ntvm_file *nf = file->private_data;

	mmu_notifier_put(&nf->nm->mn);
	kfree(nf);
	return 0;
}

/* ---- ioctls ------------------------------------------------------------- */

#define NTVM_IOCTLS (NTVM_IOC_BIT(NTVM_IOC_API) | NTVM_IOC_BIT(NTVM_IOC_ALLOCATE) | \
		     NTVM_IOC_BIT(NTVM_IOC_FREE) | NTVM_IOC_BIT(NTVM_IOC_PROTECT) | \
		     NTVM_IOC_BIT(NTVM_IOC_QUERY) | NTVM_IOC_BIT(NTVM_IOC_STATS) | \
		     NTVM_IOC_BIT(NTVM_IOC_GUARD) | NTVM_IOC_BIT(NTVM_IOC_WATCH) | \
		     NTVM_IOC_BIT(NTVM_IOC_RESET_DONE) | \
		     (NTVM_HAVE_WW_SCAN ? NTVM_IOC_BIT(NTVM_IOC_WW_SCAN) : 0))
#define NTVM_FEATURES (NTVM_FEATURES_ALL & \
		       ~(NTVM_HAVE_WW_SCAN ? 0 : NTVM_FEATURE_WW_SCAN))

/* The rare ioctls stay out of line, so that ntvm_ioctl() needs no frame. */
static noinline int ntvm_ioc_api(void __user *argp)
{
	struct ntvm_api api;

	if (copy_from_user(&api, argp, sizeof(api)))
		return -EFAULT;
	if (api.api != NTVM_API || api.ioctls || api.page_size ||
	    api.granularity || api.min_address || api.max_address ||
	    memchr_inv(api.reserved, 0, sizeof(api.reserved)))
		return -EINVAL;
	if (api.features & ~NTVM_FEATURES)
		return -EINVAL;

	api.features = NTVM_FEATURES;
	api.ioctls = NTVM_IOCTLS;
	api.page_size = NTVM_PAGE_SIZE;
	api.granularity = NTVM_GRANULARITY;
	api.min_address = NTVM_GRANULARITY;
	api.max_address = ntvm_max_address(current->mm);
	if (copy_to_user(argp, &api, sizeof(api)))
		return -EFAULT;
	return 0;
}

/*
 * Copy an argument block in, a word at a time (a constant number of loads
 * is cheaper than a string copy for blocks this small), and prove that the
 * results can be copied back before anything changes: an operation must
 * not change what it then cannot report.  A block spans at most two
 * pages, so writing its first and last words back unchanged proves every
 * page of it writable.  Always inlined, so that size is a constant.
 */
static __always_inline int ntvm_copy_args(void *args, void __user *argp,
					  size_t size)
{
	u64 __user *uw = argp;
	u64 *w = args;
	size_t i;

	BUILD_BUG_ON(size % sizeof(u64) || size > PAGE_SIZE);
	if (!user_access_begin(argp, size))
		return -EFAULT;
	/* Four words a step: the loop costs less than the loads otherwise. */
	for (i = 0; i + 4 <= size / sizeof(u64); i += 4) {
		unsafe_get_user(w[i], &uw[i], efault);
		unsafe_get_user(w[i + 1], &uw[i + 1], efault);
		unsafe_get_user(w[i + 2], &uw[i + 2], efault);
		unsafe_get_user(w[i + 3], &uw[i + 3], efault);
	}
	for (; i < size / sizeof(u64); i++)
		unsafe_get_user(w[i], &uw[i], efault);
	unsafe_put_user(w[0], &uw[0], efault);
	unsafe_put_user(w[i - 1], &uw[i - 1], efault);
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

/*
 * Every operation runs between ntvm_begin() and ntvm_end(), which also
 * count the allocations it made or forgot, for the leak counters.
 */
static __always_inline int ntvm_begin(struct ntvm_mm *nm, u64 *nallocs)
{
	if (mutex_lock_killable(&nm->lock))
		return -EINTR;
	/* A MEM_RESET whose caller never said it was done: close it now. */
	if (READ_ONCE(nm->reset_window))
		ntvm_reset_close_windows(nm);
	/* The operation's own unmaps don't count as changes. */
	WRITE_ONCE(nm->op_task, current);
	*nallocs = nm->space.nallocs;
	return 0;
}

static __always_inline void ntvm_end(struct ntvm_mm *nm, u64 nallocs)
{
	lockdep_assert_held(&nm->lock);
	WRITE_ONCE(nm->op_task, NULL);
	atomic_long_add(nm->space.nallocs - nallocs, &ntvm_live_allocs);
	mutex_unlock(&nm->lock);
}

/* The arguments of the ioctls that run one NT operation. */
union ntvm_op_args {
	struct ntvm_alloc alloc;
	struct ntvm_free free;
	struct ntvm_protect protect;
	struct ntvm_guard guard;
	struct ntvm_watch watch;
	struct ntvm_ww_scan scan;
};

/* Each structure has two reserved words, which must be zero. */
#define NTVM_TWO_RESERVED(type)						\
	BUILD_BUG_ON(sizeof_field(type, reserved) != 2 * sizeof(u64))

static bool ntvm_reserved_zero(const u64 *reserved)
{
	return !(reserved[0] | reserved[1]);
}

/*
 * Copy the arguments in, with a constant size for each command, prove them
 * writable, and check them: reserved fields zero, flags known, outputs not
 * set on input.
 */
static int ntvm_op_args_in(unsigned int cmd, union ntvm_op_args *a,
			   void __user *argp)
{
	int ret;

	NTVM_TWO_RESERVED(struct ntvm_alloc);
	NTVM_TWO_RESERVED(struct ntvm_free);
	NTVM_TWO_RESERVED(struct ntvm_protect);
	NTVM_TWO_RESERVED(struct ntvm_guard);
	NTVM_TWO_RESERVED(struct ntvm_watch);
	NTVM_TWO_RESERVED(struct ntvm_ww_scan);

	switch (cmd) {
	case NTVM_IOC_ALLOCATE:
		ret = ntvm_copy_args(&a->alloc, argp, sizeof(a->alloc));
		if (ret)
			return ret;
		if (!(a->alloc.flags & NTVM_ALLOC_REQUIREMENTS) &&
		    (a->alloc.lowest | a->alloc.highest | a->alloc.alignment))
			return -EINVAL;
		if ((a->alloc.flags & ~NTVM_ALLOC_FLAGS) || a->alloc.status ||
		    a->alloc.apply || a->alloc.apply_prot ||
		    (a->alloc.base_ptr && a->alloc.base) ||
		    (a->alloc.size_ptr && a->alloc.size) ||
		    !ntvm_reserved_zero(a->alloc.reserved))
			return -EINVAL;
		return 0;
	case NTVM_IOC_FREE:
		ret = ntvm_copy_args(&a->free, argp, sizeof(a->free));
		if (ret)
			return ret;
		if (a->free.status || (a->free.base_ptr && a->free.base) ||
		    (a->free.size_ptr && a->free.size) ||
		    !ntvm_reserved_zero(a->free.reserved))
			return -EINVAL;
		return 0;
	case NTVM_IOC_PROTECT:
		ret = ntvm_copy_args(&a->protect, argp, sizeof(a->protect));
		if (ret)
			return ret;
		if (a->protect.old_protect || a->protect.status ||
		    a->protect.apply || a->protect.apply_prot ||
		    a->protect.pad || (a->protect.base_ptr && a->protect.base) ||
		    (a->protect.size_ptr && a->protect.size) ||
		    !ntvm_reserved_zero(a->protect.reserved))
			return -EINVAL;
		return 0;
	case NTVM_IOC_GUARD:
		ret = ntvm_copy_args(&a->guard, argp, sizeof(a->guard));
		if (ret)
			return ret;
		if (a->guard.base || a->guard.status || a->guard.apply ||
		    a->guard.apply_prot || a->guard.pad ||
		    !ntvm_reserved_zero(a->guard.reserved))
			return -EINVAL;
		return 0;
	case NTVM_IOC_WATCH:
		ret = ntvm_copy_args(&a->watch, argp, sizeof(a->watch));
		if (ret)
			return ret;
		if (a->watch.alloc_base || a->watch.alloc_size ||
		    a->watch.status || a->watch.pad ||
		    !ntvm_reserved_zero(a->watch.reserved))
			return -EINVAL;
		return 0;
	case NTVM_IOC_WW_SCAN:
		ret = ntvm_copy_args(&a->scan, argp, sizeof(a->scan));
		if (ret)
			return ret;
		return ntvm_ww_scan_valid(&a->scan) ? 0 : -EINVAL;
	default:
		return -ENOTTY;
	}
}

/*
 * Read an NT argument the caller passed as a pointer to its variable, and
 * prove the variable writable by writing back what was read.
 */
static __always_inline bool ntvm_get_var(u64 uptr, u64 *val)
{
	u64 __user *p = u64_to_user_ptr(uptr);

	if (!uptr)
		return true;
	if (!user_access_begin(p, sizeof(*p)))
		return false;
	unsafe_get_user(*val, p, efault);
	unsafe_put_user(*val, p, efault);
	user_access_end();
	return true;
efault:
	user_access_end();
	return false;
}

static bool ntvm_probe_var32(u64 uptr)
{
	u32 __user *p = u64_to_user_ptr(uptr);
	u32 val;

	if (!uptr)
		return true;
	if (!user_access_begin(p, sizeof(*p)))
		return false;
	unsafe_get_user(val, p, efault);
	unsafe_put_user(val, p, efault);
	user_access_end();
	return true;
efault:
	user_access_end();
	return false;
}

/*
 * BaseAddress, RegionSize and OldProtect passed as pointers (see the uapi
 * header): false, with status STATUS_ACCESS_VIOLATION, if one fails.
 */
static bool ntvm_op_vars_in(unsigned int cmd, union ntvm_op_args *a)
{
	bool ok;

	switch (cmd) {
	case NTVM_IOC_ALLOCATE:
		ok = ntvm_get_var(a->alloc.base_ptr, &a->alloc.base) &&
		     ntvm_get_var(a->alloc.size_ptr, &a->alloc.size);
		if (!ok)
			a->alloc.status = NTVM_STATUS_ACCESS_VIOLATION;
		return ok;
	case NTVM_IOC_FREE:
		ok = ntvm_get_var(a->free.base_ptr, &a->free.base) &&
		     ntvm_get_var(a->free.size_ptr, &a->free.size);
		if (!ok)
			a->free.status = NTVM_STATUS_ACCESS_VIOLATION;
		return ok;
	case NTVM_IOC_PROTECT:
		ok = ntvm_get_var(a->protect.base_ptr, &a->protect.base) &&
		     ntvm_get_var(a->protect.size_ptr, &a->protect.size) &&
		     ntvm_probe_var32(a->protect.old_protect_ptr);
		if (!ok)
			a->protect.status = NTVM_STATUS_ACCESS_VIOLATION;
		return ok;
	default:
		return true;
	}
}

/* Copy the outputs out; on failure they still hold the inputs. */
static __always_inline int ntvm_op_args_out(unsigned int cmd,
					    const union ntvm_op_args *a,
					    void __user *argp)
{
	struct ntvm_alloc __user *ua = argp;
	struct ntvm_free __user *uf = argp;
	struct ntvm_protect __user *up = argp;
	struct ntvm_guard __user *ug = argp;
	struct ntvm_watch __user *uw = argp;
	struct ntvm_ww_scan __user *us = argp;

	if (!user_write_access_begin(argp, _IOC_SIZE(cmd)))
		return -EFAULT;
	switch (cmd) {
	case NTVM_IOC_ALLOCATE:
		unsafe_put_user(a->alloc.base, &ua->base, efault);
		unsafe_put_user(a->alloc.size, &ua->size, efault);
		unsafe_put_user(a->alloc.status, &ua->status, efault);
		unsafe_put_user(a->alloc.apply, &ua->apply, efault);
		unsafe_put_user(a->alloc.apply_prot, &ua->apply_prot, efault);
		break;
	case NTVM_IOC_FREE:
		unsafe_put_user(a->free.base, &uf->base, efault);
		unsafe_put_user(a->free.size, &uf->size, efault);
		unsafe_put_user(a->free.status, &uf->status, efault);
		break;
	case NTVM_IOC_PROTECT:
		unsafe_put_user(a->protect.base, &up->base, efault);
		unsafe_put_user(a->protect.size, &up->size, efault);
		unsafe_put_user(a->protect.old_protect, &up->old_protect, efault);
		unsafe_put_user(a->protect.status, &up->status, efault);
		unsafe_put_user(a->protect.apply, &up->apply, efault);
		unsafe_put_user(a->protect.apply_prot, &up->apply_prot, efault);
		break;
	case NTVM_IOC_GUARD:
		unsafe_put_user(a->guard.base, &ug->base, efault);
		unsafe_put_user(a->guard.status, &ug->status, efault);
		unsafe_put_user(a->guard.apply, &ug->apply, efault);
		unsafe_put_user(a->guard.apply_prot, &ug->apply_prot, efault);
		break;
	case NTVM_IOC_WW_SCAN:
		unsafe_put_user(a->scan.count, &us->count, efault);
		unsafe_put_user(a->scan.scanned, &us->scanned, efault);
		unsafe_put_user(a->scan.status, &us->status, efault);
		break;
	default:
		unsafe_put_user(a->watch.alloc_base, &uw->alloc_base, efault);
		unsafe_put_user(a->watch.alloc_size, &uw->alloc_size, efault);
		unsafe_put_user(a->watch.status, &uw->status, efault);
		break;
	}
	user_write_access_end();
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}

/*
 * The frame of every NT operation: copy the arguments in and check them,
 * prove the results can be copied back, read the arguments passed by
 * pointer, run the operation under the lock, copy the results out.
 */
static int ntvm_ioc_op(struct ntvm_mm *nm, unsigned int cmd, void __user *argp)
{
	union ntvm_op_args a __uninitialized;
	u64 n;
	int ret = ntvm_op_args_in(cmd, &a, argp);

	if (ret)
		return ret;
	/* A bad pointer: only the status (STATUS_ACCESS_VIOLATION) changes. */
	if (!ntvm_op_vars_in(cmd, &a))
		goto out;
	ret = ntvm_begin(nm, &n);
	if (ret)
		return ret;
	switch (cmd) {
	case NTVM_IOC_ALLOCATE:
		ntvm_allocate(&nm->space, &a.alloc);
		break;
	case NTVM_IOC_FREE:
		ntvm_free(&nm->space, &a.free);
		break;
	case NTVM_IOC_PROTECT:
		ntvm_protect(&nm->space, &a.protect);
		break;
	case NTVM_IOC_GUARD:
		ntvm_guard_hit(&nm->space, &a.guard);
		break;
	case NTVM_IOC_WATCH:
		ntvm_watch_check(&nm->space, &a.watch);
		break;
	case NTVM_IOC_WW_SCAN:
		ret = ntvm_ww_scan(&nm->space, &a.scan);
		break;
	}
	ntvm_end(nm, n);
	if (ret)
		return ret;
out:
	return ntvm_op_args_out(cmd, &a, argp);
}

#define NTVM_QUERY_CHUNK 8

static int ntvm_query_locked(struct ntvm_mm *nm, struct ntvm_query *q)
{
	struct ntvm_region buf[NTVM_QUERY_CHUNK];
	struct ntvm_region __user *out = u64_to_user_ptr(q->regions);
	struct ntvm_query step = *q;
	u32 done = 0, n;

	lockdep_assert_held(&nm->lock);
	do {
		n = min_t(u32, q->count - done, NTVM_QUERY_CHUNK);
		ntvm_query(&nm->space, &step, buf, &n);
		if (step.status)
			break;
		if (copy_to_user(out + done, buf, n * sizeof(buf[0])))
			return -EFAULT;
		done += n;
		if (n < NTVM_QUERY_CHUNK)
			break;
		step.address = buf[n - 1].base + buf[n - 1].size;
	} while (done < q->count && step.address < q->end &&
		 step.address <= nm->space.max_addr);
	q->status = step.status;
	q->count = done;
	return 0;
}

static noinline int ntvm_ioc_query(struct ntvm_mm *nm, void __user *argp)
{
	struct ntvm_query q;
	u64 n;
	int ret = ntvm_copy_args(&q, argp, sizeof(q));

	if (ret)
		return ret;
	if (q.status || !q.count || q.reserved[0] || q.reserved[1])
		return -EINVAL;
	/* end 0 is one region; the core applies that default. */
	if (q.end && q.end <= q.address)
		return -EINVAL;
	if (!access_ok(u64_to_user_ptr(q.regions),
		       (u64)q.count * sizeof(struct ntvm_region)))
		return -EFAULT;
	ret = ntvm_begin(nm, &n);
	if (ret)
		return ret;
	/* A query forgets allocations it finds unmapped. */
	ret = ntvm_query_locked(nm, &q);
	ntvm_end(nm, n);
	if (ret)
		return ret;
	if (copy_to_user(&((struct ntvm_query __user *)argp)->count, &q.count,
			 sizeof(q.count)) ||
	    copy_to_user(&((struct ntvm_query __user *)argp)->status, &q.status,
			 sizeof(q.status)))
		return -EFAULT;
	return 0;
}

static noinline int ntvm_ioc_stats(struct ntvm_mm *nm, void __user *argp)
{
	struct ntvm_stats st;
	int ret = ntvm_copy_args(&st, argp, sizeof(st));

	if (ret)
		return ret;
	if (memchr_inv(&st, 0, sizeof(st)))
		return -EINVAL;
	if (mutex_lock_killable(&nm->lock))
		return -EINTR;
	ntvm_stats(&nm->space, &st);
	mutex_unlock(&nm->lock);
	return copy_to_user(argp, &st, sizeof(st)) ? -EFAULT : 0;
}

static long ntvm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct ntvm_file *nf = file->private_data;
	void __user *argp = (void __user *)arg;

	if (current->mm != nf->mm)
		return -EPERM;

	switch (cmd) {
	case NTVM_IOC_API:
		return ntvm_ioc_api(argp);
	case NTVM_IOC_ALLOCATE:
	case NTVM_IOC_FREE:
	case NTVM_IOC_PROTECT:
	case NTVM_IOC_GUARD:
	case NTVM_IOC_WATCH:
		return ntvm_ioc_op(nf->nm, cmd, argp);
	case NTVM_IOC_WW_SCAN:
		if (!NTVM_HAVE_WW_SCAN)
			return -ENOTTY;
		return ntvm_ioc_op(nf->nm, cmd, argp);
	case NTVM_IOC_QUERY:
		return ntvm_ioc_query(nf->nm, argp);
	case NTVM_IOC_STATS:
		return ntvm_ioc_stats(nf->nm, argp);
	case NTVM_IOC_RESET_DONE:
		if (arg)
			return -EINVAL;
		ntvm_reset_close_windows(nf->nm);
		return 0;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations ntvm_fops = {
	.owner = THIS_MODULE,
	.open = ntvm_open,
	.release = ntvm_release,
	.unlocked_ioctl = ntvm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice ntvm_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "ntvm",
	.fops = &ntvm_fops,
	.mode = 0666,
};

static int ntvm_counters_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "address_spaces %ld\nallocations %ld\n",
		   atomic_long_read(&ntvm_live_mms),
		   atomic_long_read(&ntvm_live_allocs));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ntvm_counters);

static int __init ntvm_init(void)
{
	int ret = misc_register(&ntvm_misc);

	if (ret)
		return ret;
	ntvm_debugfs = debugfs_create_dir("ntvm", NULL);
	debugfs_create_file("counters", 0444, ntvm_debugfs, NULL,
			    &ntvm_counters_fops);
	return 0;
}

static void __exit ntvm_exit(void)
{
	debugfs_remove_recursive(ntvm_debugfs);
	misc_deregister(&ntvm_misc);
	/* Wait for ->free_notifier() of every address space. */
	mmu_notifier_synchronize();
	WARN_ON(atomic_long_read(&ntvm_live_mms));
	WARN_ON(atomic_long_read(&ntvm_live_allocs));
}

module_init(ntvm_init);
module_exit(ntvm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Windows NT virtual-memory semantics for Linux processes");
MODULE_AUTHOR("The ntvm developers");
MODULE_VERSION(NTVM_VERSION);
