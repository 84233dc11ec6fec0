// SPDX-License-Identifier: GPL-2.0
/*
 * NT placement, in plain C.  Default placement is bottom-up, at the lowest
 * free 64K-aligned range, as NT's; MEM_TOP_DOWN searches from the top.
 * The heap keeps NT_BRK_SLACK of room above its break and a stack its
 * guard gap.
 *
 * The policy is here, in the core, so that the host tests run it; the
 * glue only answers two questions (struct nt_vm_ops): where the next free
 * gap of a size lies (next_gap(), the maple tree in the kernel), and where
 * the heap and the end of the address space are (layout()).
 */
#include "nt.h"

/* The kernel's default stack_guard_gap (256 pages), not exported to modules. */
#define NT_STACK_GUARD_GAP	(256 * NTVM_PAGE_SIZE)
/* Bottom-up placement leaves the heap this much room to grow. */
#define NT_BRK_SLACK		(64ULL << 20)
/* Gap probes between two looks for a fatal signal and a reschedule. */
#define NT_GAP_PROBES		64

#define GRAN			NTVM_GRANULARITY
#define PAGE			NTVM_PAGE_SIZE

static u64 min_u64(u64 a, u64 b)
{
	return a < b ? a : b;
}

static u64 max_u64(u64 a, u64 b)
{
	return a > b ? a : b;
}

static u64 down(u64 a, u64 align)
{
	return a & ~(align - 1);
}

/*
 * The floor: no 64K-aligned address below it starts a free page that
 * default placement could use.  It only comes down when something is
 * unmapped (the glue lowers it to the unmapped range, ntvm's own unmaps
 * included), and only goes up when a reservation is made exactly at it,
 * or when a mapping or the heap's room (which shrinks only by an unmap) is
 * found to cover it.  So a default bottom-up placement that fits at the
 * floor is the lowest one, and needs no search; one that does not fit
 * there searches from the floor.
 *
 * The room: [floor, room) was found free, clear of the heap's room and of
 * any stack guard gap, when the floor was last examined.  A reservation at
 * the floor keeps the rest of the room; one elsewhere in it cuts it short;
 * an unmap below the floor empties it.  Mappings made by others are not
 * seen, so the room is a hint: a default placement that fits in it is made
 * at the floor without reading the address space (floor_fast()), and the
 * glue's map (MAP_FIXED_NOREPLACE) checks it; if that fails, the room is
 * emptied and the search examines the floor again.
 *
 * Both are kept in nt_space.place, in 64K units, as floor << 32 | room, so
 * that a floor is never paired with a room found for another floor.  They
 * change under no lock (the kernel's mmu notifier runs under mmap_lock,
 * operations under the context's lock), by compare-and-exchange.
 */
#define NT_GRAN_SHIFT		16
#define NT_PLACE_MAX		(0xffffffffULL << NT_GRAN_SHIFT)

#if NTVM_GRANULARITY != 1ULL << NT_GRAN_SHIFT
#error "the placement word counts 64K units"
#endif

static s64 place_word(u64 floor, u64 room)
{
	floor = min_u64(floor, NT_PLACE_MAX) >> NT_GRAN_SHIFT;
	room = min_u64(room, NT_PLACE_MAX) >> NT_GRAN_SHIFT;
	return (s64)(floor << 32 | max_u64(room, floor));
}

static u64 place_floor(s64 place)
{
	return (u64)place >> 32 << NT_GRAN_SHIFT;
}

static u64 place_room(s64 place)
{
	return (u64)(u32)place << NT_GRAN_SHIFT;
}

void nt_place_init(struct nt_space *s)
{
	atomic64_set(&s->place, place_word(GRAN, 0));
}

void nt_place_get(struct nt_space *s, u64 *floor, u64 *room)
{
	s64 place = atomic64_read(&s->place);

	*floor = place_floor(place);
	*room = place_room(place);
}

/*
 * [addr, end) was unmapped (end 0: something at addr may have been): the
 * floor comes down to it.  What ntvm itself unmapped held one of its
 * reservations, so it is room, joined to the old room when it reaches the
 * old floor.  (The heap's room is checked again at placement; a stack
 * guard gap that an explicit reservation had taken becomes room, as the
 * reservation had made it.)
 */
void nt_floor_lower(struct nt_space *s, u64 addr, u64 end)
{
	s64 old = atomic64_read(&s->place);
	u64 f = down(addr, GRAN), room;

	if (f != addr)
		end = 0;
	while (f < place_floor(old)) {
		room = end < place_floor(old) ? down(end, GRAN) :
		       place_room(old);
		if (atomic64_try_cmpxchg(&s->place, &old, place_word(f, room)))
			break;
	}
}

/* A floor at f moves to @to, with room up to @room (@room == @to: none). */
void nt_floor_set(struct nt_space *s, u64 f, u64 to, u64 room)
{
	s64 old = atomic64_read(&s->place);

	while (place_floor(old) == f &&
	       !atomic64_try_cmpxchg(&s->place, &old, place_word(to, room)))
		;
}

/*
 * A reservation took [addr, end): at the floor, the floor moves past it
 * and the rest of the room stays; elsewhere in the room, the room ends
 * before it.
 */
void nt_floor_mapped(struct nt_space *s, u64 addr, u64 end)
{
	s64 old = atomic64_read(&s->place), new;
	u64 f, room;

	do {
		f = place_floor(old);
		room = place_room(old);
		if (addr == f)
			new = place_word(nt_round_up(end, GRAN), room);
		else if (addr < room && end > f)
			new = place_word(f, max_u64(f, down(addr, GRAN)));
		else
			return;
	} while (!atomic64_try_cmpxchg(&s->place, &old, new));
}

/*
 * Where placement's free space in gap g ends: at the mapping above it,
 * less that mapping's guard gap if it is a stack.
 */
static u64 gap_free_end(const struct nt_gap *g)
{
	if (!g->stack)
		return g->next;
	return g->next > NT_STACK_GUARD_GAP ? g->next - NT_STACK_GUARD_GAP : 0;
}

/*
 * Does [addr, addr + size) touch the room kept for the heap?  Also asked
 * without lock_read(), racing with brk(), as any placement does.
 */
static bool in_brk_slack(const struct nt_layout *l, u64 addr, u64 size)
{
	return addr < l->brk + NT_BRK_SLACK && addr + size > l->start_brk;
}

/*
 * One probe of the glue's gap index.  An answer that breaks next_gap()'s
 * contract (the two views of the address space disagree) ends the search,
 * which then can't loop.
 */
static bool next_gap(struct nt_space *s, u64 lo, u64 hi, u64 size,
		     bool top_down, struct nt_gap *g)
{
	if (lo >= hi || hi - lo < size)
		return false;
	if (s->ops->next_gap(s->ctx, lo, hi, size, top_down, g))
		return false;
	return g->start >= lo && g->end <= hi && g->start < g->end &&
	       g->end - g->start >= size && g->next >= g->end;
}

/* Does a default placement start at the floor? */
static bool floor_wanted(const struct nt_gap_req *req, u64 f)
{
	return !req->top_down && req->align == GRAN && req->lo <= f;
}

/*
 * A first try of a default placement that fits in the room is made at the
 * floor, without reading the address space; the heap may have grown since
 * the room was found, so its room is checked again.
 */
static bool floor_fast(struct nt_space *s, const struct nt_gap_req *req,
		       const struct nt_layout *l, u64 hi, u64 *addr)
{
	s64 place = atomic64_read(&s->place);
	u64 f = place_floor(place);

	if (req->attempt || !floor_wanted(req, f) ||
	    f + req->size > min_u64(hi, place_room(place)) ||
	    in_brk_slack(l, f, req->size))
		return false;
	*addr = f;
	return true;
}

/*
 * Examine the floor, under lock_read(): step it over the heap's room and
 * over mappings, and find its room.  Sets *addr to the floor if the
 * request fits there; returns where a search should start.
 */
static u64 floor_try(struct nt_space *s, const struct nt_gap_req *req,
		     const struct nt_layout *l, u64 hi, u64 *addr)
{
	u64 f = place_floor(atomic64_read(&s->place)), room, to;
	struct nt_gap g;
	int step;

	if (!floor_wanted(req, f))
		return req->lo;
	for (step = 0; step < 4; step++) {
		if (f + req->size > hi)
			break;
		if (in_brk_slack(l, f, PAGE)) {
			/* The heap's room, which only brk() gives back. */
			to = nt_round_up(l->brk + NT_BRK_SLACK, GRAN);
			nt_floor_set(s, f, to, to);
			f = to;
			continue;
		}
		if (!next_gap(s, f, hi, PAGE, false, &g))
			break;
		if (g.start > f) {
			/* Mappings cover [f, g.start): the floor can start above. */
			to = nt_round_up(g.start, GRAN);
			nt_floor_set(s, f, to, to);
			f = to;
			continue;
		}
		/* The floor is free: its room ends at the next mapping. */
		room = gap_free_end(&g);
		if (f < l->start_brk)
			room = min_u64(room, l->start_brk);
		room = max_u64(down(room, GRAN), f);
		nt_floor_set(s, f, f, room);
		if (f + req->size <= room)
			*addr = f;
		break;
	}
	return f;
}

/*
 * Lowest free aligned range of size in [lo, hi), clear of the heap's room
 * and of stack guard gaps.  A probe asks for exactly size, so that
 * exact-size aligned holes are reused as Windows reuses them; a gap that
 * is large enough but holds no aligned candidate is stepped over, and the
 * search goes on above it: the lowest fit is found however short the gaps
 * before it.  (A search that asked for size + align - PAGE after a few
 * steps, to find a sure fit sooner, passed over short gaps that did fit:
 * the reference model of the selftests found it.)
 */
static int search_up(struct nt_space *s, const struct nt_gap_req *req,
		     const struct nt_layout *l, u64 lo, u64 hi, u64 *addr)
{
	u64 size = req->size, cand;
	unsigned int probes = 0;
	struct nt_gap g;

	while (lo < hi && hi - lo >= size) {
		/*
		 * Each probe passes one gap, so there are at most as many as
		 * the address space has mappings (vm.max_map_count): the
		 * caller waits for its own search, and lets others run.
		 */
		if (!(++probes % NT_GAP_PROBES) && ntvm_core_resched())
			break;
		if (!next_gap(s, lo, hi, size, false, &g))
			break;
		cand = nt_round_up(g.start, req->align);
		if (in_brk_slack(l, cand, size)) {
			lo = max_u64(lo, l->brk + NT_BRK_SLACK);
			continue;
		}
		if (cand + size <= min_u64(g.end, gap_free_end(&g))) {
			*addr = cand;
			return 0;
		}
		/* No aligned candidate in this gap: go on above its mapping. */
		lo = g.next;
	}
	return -ENOMEM;
}

/*
 * Highest free aligned range of size in [lo, hi), clear of stack guard
 * gaps.  next_gap() says only that [g.start, g.end) is free: a candidate
 * below g.start may be free too, and the next probe, which ends at it,
 * finds out.  Every gap below this one ends by g.start.
 *
 * The next probe ends at the candidate's end, not at g.start: no aligned
 * start above the candidate fits below end, and a free range between the
 * two is of no use.  Ending at g.start took a probe per size bytes of
 * free space above the candidate: 2^30 probes, hours under mmap_lock, for
 * a 64K reservation top-down with a 2^46 alignment (ntvm_fuzz found it).
 * Now each probe that finds no fit passes a mapping, or, inside a stack's
 * guard gap (which no fit may end in), size bytes of it.
 */
static int search_down(struct nt_space *s, const struct nt_gap_req *req,
		       u64 lo, u64 hi, u64 *addr)
{
	u64 size = req->size, cand, end, below;
	unsigned int probes = 0;
	struct nt_gap g;

	while (lo < hi && hi - lo >= size) {
		if (!(++probes % NT_GAP_PROBES) && ntvm_core_resched())
			break;
		if (!next_gap(s, lo, hi, size, true, &g))
			break;
		below = g.start;
		end = min_u64(g.end, gap_free_end(&g));
		if (end >= lo + size) {
			cand = down(end - size, req->align);
			/*
			 * cand is the highest aligned start that ends by end:
			 * below lo, no aligned start is left in [lo, hi).
			 * (Stepping down a gap at a time instead took one
			 * probe per size bytes of a large free range.)
			 */
			if (cand < lo)
				break;
			if (cand >= g.start) {
				*addr = cand;
				return 0;
			}
			/* No candidate above cand fits: probe it next. */
			below = cand + size;
		}
		hi = below;
	}
	return -ENOMEM;
}

/*
 * Where a new allocation goes: the lowest (or highest) free, aligned range
 * of req->size in [req->lo, req->hi).  The floor's room first, without
 * lock_read(); then, under it, the floor and a search of the glue's gap
 * index (O(log n) a probe in the kernel's maple tree).
 */
int nt_find_gap(struct nt_space *s, const struct nt_gap_req *req, u64 *addr)
{
	struct nt_layout l;
	u64 hi, lo;
	int ret;

	s->ops->layout(s->ctx, &l);
	hi = min_u64(req->hi, l.task_size);
	if (floor_fast(s, req, &l, hi, addr))
		return 0;

	s->ops->lock_read(s->ctx);
	/* The heap again: brk() may have moved it, and can't while locked. */
	s->ops->layout(s->ctx, &l);
	*addr = 0;
	lo = floor_try(s, req, &l, hi, addr);
	if (*addr)
		ret = 0;
	else if (req->top_down)
		ret = search_down(s, req, lo, hi, addr);
	else
		ret = search_up(s, req, &l, lo, hi, addr);
	s->ops->unlock_read(s->ctx);
	return ret;
}

/* Largest 64K-aligned block in [a, b), or 0. */
static u64 aligned_span(u64 a, u64 b)
{
	a = nt_round_up(a, GRAN);
	b = down(b, GRAN);
	return b > a ? b - a : 0;
}

/*
 * Largest free block placement could use: what nt_find_gap() leaves out
 * (the stack guard gap, the heap's room) is not counted.
 */
u64 nt_largest_free(struct nt_space *s, u64 lo, u64 hi)
{
	u64 best = 0, a, b, heap_lo, heap_hi;
	struct nt_layout l;
	struct nt_gap g;

	s->ops->lock_read(s->ctx);
	s->ops->layout(s->ctx, &l);
	hi = min_u64(hi, l.task_size);
	heap_lo = l.start_brk;
	heap_hi = l.brk + NT_BRK_SLACK;
	/* A gap shorter than 64K holds no 64K-aligned block. */
	while (next_gap(s, lo, hi, GRAN, false, &g)) {
		a = g.start;
		b = min_u64(gap_free_end(&g), hi);
		if (a < heap_hi && b > heap_lo) {
			best = max_u64(best, aligned_span(a, min_u64(b, heap_lo)));
			best = max_u64(best, aligned_span(max_u64(a, heap_hi), b));
		} else {
			best = max_u64(best, aligned_span(a, b));
		}
		lo = g.next;
		/* Not stopped by a fatal signal: the answer is not the caller's. */
		ntvm_core_resched();
	}
	s->ops->unlock_read(s->ctx);
	return best;
}
