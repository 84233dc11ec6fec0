// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: NT placement.  Default placement is bottom-up, at the lowest free
 * 64K-aligned range, as NT's; MEM_TOP_DOWN searches from the top.  The
 * heap keeps NTVM_BRK_SLACK of room above its break and a stack its
 * guard gap.
 */
#include <linux/maple_tree.h>
#include <linux/mm.h>
#include <linux/sched.h>

#include "context.h"

/* The kernel's defaults; neither variable is exported to modules. */
#define NTVM_STACK_GUARD_GAP	(256UL << PAGE_SHIFT)
/* Bottom-up placement leaves the heap this much room to grow. */
#define NTVM_BRK_SLACK		(64UL << 20)
/* Gap probes between two looks for a fatal signal and a reschedule. */
#define NTVM_GAP_PROBES		64

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
 * Both are kept in ntvm_ctx.place, in 64K units, as floor << 32 | room, so
 * that a floor is never paired with a room found for another floor.  They
 * change under no lock (the notifier runs under mmap_lock, operations
 * under ntvm_ctx.lock), by compare-and-exchange.
 */
#define NTVM_GRAN_SHIFT		16
#define NTVM_PLACE_MAX		((u64)U32_MAX << NTVM_GRAN_SHIFT)

s64 ntvm_place(u64 floor, u64 room)
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
void ntvm_floor_lower(struct ntvm_ctx *nc, u64 addr, u64 end)
{
	s64 old = atomic64_read(&nc->place);
	u64 f = round_down(addr, NTVM_GRANULARITY), room;

	if (f != addr)
		end = 0;
	while (f < ntvm_place_floor(old)) {
		room = end < ntvm_place_floor(old) ? round_down(end, NTVM_GRANULARITY) :
		       ntvm_place_room(old);
		if (atomic64_try_cmpxchg(&nc->place, &old, ntvm_place(f, room)))
			break;
	}
}

/* A floor at f moves to @to, with room up to @room (@room == @to: none). */
void ntvm_floor_set(struct ntvm_ctx *nc, u64 f, u64 to, u64 room)
{
	s64 old = atomic64_read(&nc->place);

	while (ntvm_place_floor(old) == f &&
	       !atomic64_try_cmpxchg(&nc->place, &old, ntvm_place(to, room)))
		;
}

/*
 * A reservation took [addr, end): at the floor, the floor moves past it
 * and the rest of the room stays; elsewhere in the room, the room ends
 * before it.
 */
void ntvm_floor_mapped(struct ntvm_ctx *nc, u64 addr, u64 end)
{
	s64 old = atomic64_read(&nc->place), new;
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
	} while (!atomic64_try_cmpxchg(&nc->place, &old, new));
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
static bool ntvm_floor_fast(struct ntvm_ctx *nc, struct mm_struct *mm,
			    const struct nt_gap_req *req, u64 hi, u64 *addr)
{
	s64 place = atomic64_read(&nc->place);
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
static u64 ntvm_floor_try(struct ntvm_ctx *nc, struct mm_struct *mm,
			  const struct nt_gap_req *req, u64 hi, u64 *addr)
{
	u64 f = ntvm_place_floor(atomic64_read(&nc->place)), room, to;
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
			ntvm_floor_set(nc, f, to, to);
			f = to;
			continue;
		}
		vma = find_vma(mm, f);
		if (vma && vma->vm_start <= f) {
			/* A mapping covers the floor: it can start above it. */
			to = round_up(vma->vm_end, NTVM_GRANULARITY);
			ntvm_floor_set(nc, f, to, to);
			f = to;
			continue;
		}
		/* The floor is free: its room ends at the next mapping. */
		room = ntvm_free_end(mm, vma);
		if (f < mm->start_brk)
			room = min(room, mm->start_brk);
		room = max(round_down(room, NTVM_GRANULARITY), f);
		ntvm_floor_set(nc, f, f, room);
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
 * stepped over, and the search goes on to the next gap: the lowest (or
 * highest) fit is found however short the gaps before it.  (A search
 * that asked for size + align - PAGE_SIZE after a few steps, to find a
 * sure fit sooner, passed over short gaps that did fit: the reference
 * model of the selftests found it.)
 */
static noinline int ntvm_find_gap_slow(void *ctx, const struct nt_gap_req *req,
				       u64 *addr)
{
	struct mm_struct *mm = current->mm;
	u64 hi = min_t(u64, req->hi, mm->task_size), lo;
	u64 size = req->size, align = req->align, cand;
	struct vm_area_struct *vma;
	unsigned int probes = 0;
	int ret = -ENOMEM;

	MA_STATE(mas, &mm->mm_mt, 0, 0);

	mmap_read_lock(mm);
	*addr = 0;
	lo = ntvm_floor_try(ntvm_ctx_of(ctx), mm, req, hi, addr);
	if (*addr) {
		mmap_read_unlock(mm);
		return 0;
	}
	while (lo < hi && hi - lo >= size) {
		/*
		 * Each probe passes one gap, so there are at most as many as
		 * the address space has mappings (vm.max_map_count): the
		 * caller waits for its own search, and lets others run.
		 */
		if (!(++probes % NTVM_GAP_PROBES)) {
			if (fatal_signal_pending(current))
				break;
			cond_resched();
		}
		mas_reset(&mas);
		if (!req->top_down) {
			if (mas_empty_area(&mas, lo, hi - 1, size))
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
			if (mas_empty_area_rev(&mas, lo, hi - 1, size))
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
int ntvm_vm_find_gap(void *ctx, const struct nt_gap_req *req, u64 *addr)
{
	struct mm_struct *mm = current->mm;

	ntvm_assert_locked(ctx);
	if (ntvm_floor_fast(ntvm_ctx_of(ctx), mm, req,
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
u64 ntvm_vm_largest_free(void *ctx, u64 lo, u64 hi)
{
	struct mm_struct *mm = ntvm_ctx_of(ctx)->mm;	/* maps.c: not current's */
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
