// SPDX-License-Identifier: GPL-2.0
/*
 * The NT state of one address space and the NT operations on it.
 * Plain C (see nt.h): no kernel interface is used here.
 *
 * Allocations live in an AVL tree keyed by base, with parent links, so
 * lookup and insertion are O(log n) and removal needs no search.  Each
 * allocation holds a sorted array of runs of pages with the same state;
 * memory is O(allocations + runs), never per page.  Up to NT_SPARE_ALLOCS
 * freed allocations are kept for reuse.
 *
 * Every operation follows the same order: validate everything and pick the
 * status; allocate the memory the bookkeeping will need; change the address
 * space through ops (undoing its own changes if a later step fails); and
 * only then update the bookkeeping, which cannot fail.  A failed call
 * therefore leaves the address space and the NT state as they were.
 *
 * The address space may be changed behind ntvm's back (munmap, mmap
 * MAP_FIXED of a file, mremap).  Before an operation uses an allocation it
 * checks, through ops->prot_at(), that private anonymous mappings still
 * cover the range it works on; an allocation found damaged is forgotten,
 * and the operation then sees reality: the memory is not allocated.  The
 * check is skipped for an allocation known whole and live while
 * ops->changes() says nothing was unmapped behind ntvm's back since.
 */
#include "nt.h"

#define GRAN NTVM_GRANULARITY
#define PAGE NTVM_PAGE_SIZE

static u64 max_u64(u64 a, u64 b)
{
	return a > b ? a : b;
}

static u64 min_u64(u64 a, u64 b)
{
	return a < b ? a : b;
}

/* ---- AVL tree of allocations ------------------------------------------ */

static int avl_height(struct nt_vad *n)
{
	return n ? n->height : 0;
}

static void avl_fix(struct nt_vad *n)
{
	int l = avl_height(n->left), r = avl_height(n->right);

	n->height = 1 + (l > r ? l : r);
}

/* The link that points to n. */
static struct nt_vad **avl_link(struct nt_space *s, struct nt_vad *n)
{
	struct nt_vad *p = n->parent;

	if (!p)
		return &s->root;
	return p->left == n ? &p->left : &p->right;
}

static void avl_set_parent(struct nt_vad *n, struct nt_vad *p)
{
	if (n)
		n->parent = p;
}

/* Rotations return the subtree's new root, which takes y's parent. */
static struct nt_vad *avl_rot_right(struct nt_vad *y)
{
	struct nt_vad *x = y->left;

	y->left = x->right;
	avl_set_parent(y->left, y);
	x->right = y;
	x->parent = y->parent;
	y->parent = x;
	avl_fix(y);
	avl_fix(x);
	return x;
}

static struct nt_vad *avl_rot_left(struct nt_vad *x)
{
	struct nt_vad *y = x->right;

	x->right = y->left;
	avl_set_parent(x->right, x);
	y->left = x;
	y->parent = x->parent;
	x->parent = y;
	avl_fix(x);
	avl_fix(y);
	return y;
}

/*
 * Rebalance from n up, after an insertion or removal below it, only until
 * a subtree's height comes out as it was: nothing above it changes then.
 */
static void avl_rebalance(struct nt_space *s, struct nt_vad *n)
{
	struct nt_vad **link;
	int h, l, r;

	for (; n; n = n->parent) {
		h = n->height;
		l = avl_height(n->left);
		r = avl_height(n->right);
		if (l - r > 1) {
			link = avl_link(s, n);
			if (avl_height(n->left->left) < avl_height(n->left->right))
				n->left = avl_rot_left(n->left);
			n = avl_rot_right(n);
			*link = n;
		} else if (r - l > 1) {
			link = avl_link(s, n);
			if (avl_height(n->right->right) < avl_height(n->right->left))
				n->right = avl_rot_right(n->right);
			n = avl_rot_left(n);
			*link = n;
		} else {
			n->height = 1 + (l > r ? l : r);
		}
		if (n->height == h)
			break;
	}
}

/*
 * Where an allocation at base goes in the tree (the link and its parent),
 * and its neighbours there: the allocations with the highest base below
 * and the lowest base above.  Valid until the tree next changes.
 */
struct avl_slot {
	struct nt_vad **link, *parent;
	struct nt_vad *prev, *next;
};

static void avl_find_slot(struct nt_space *s, u64 base, struct avl_slot *slot)
{
	struct nt_vad **link = &s->root, *parent = NULL;
	struct nt_vad *prev = NULL, *next = NULL;

	/* Bottom-up placement mostly adds above every allocation. */
	if (s->max && base >= s->max->base) {
		link = &s->max->right;
		parent = s->max;
		prev = s->max;
	}
	while (*link) {
		parent = *link;
		if (base < parent->base) {
			next = parent;
			link = &parent->left;
		} else {
			prev = parent;
			link = &parent->right;
		}
	}
	slot->link = link;
	slot->parent = parent;
	slot->prev = prev;
	slot->next = next;
}

static void avl_insert(struct nt_space *s, struct nt_vad *n,
		       const struct avl_slot *slot)
{
	n->left = NULL;
	n->right = NULL;
	n->parent = slot->parent;
	n->height = 1;
	*slot->link = n;
	if (!slot->next)
		s->max = n;
	avl_rebalance(s, slot->parent);
}

/* Unlink n, which is in the tree. */
static void avl_remove(struct nt_space *s, struct nt_vad *n)
{
	struct nt_vad **link = avl_link(s, n), *m, *fix;

	if (n == s->max) {
		/* n has no right subtree, so its left one is a leaf at most. */
		s->max = n->left ? n->left : n->parent;
	}
	if (!n->left || !n->right) {
		m = n->left ? n->left : n->right;
		avl_set_parent(m, n->parent);
		*link = m;
		avl_rebalance(s, n->parent);
		return;
	}
	/* Put the lowest node of n's right subtree, m, in n's place. */
	m = n->right;
	while (m->left)
		m = m->left;
	if (m == n->right) {
		fix = m;
	} else {
		fix = m->parent;
		fix->left = m->right;
		avl_set_parent(m->right, fix);
		m->right = n->right;
		m->right->parent = m;
	}
	m->left = n->left;
	m->left->parent = m;
	m->parent = n->parent;
	m->height = n->height;
	*link = m;
	avl_rebalance(s, fix);
}

/*
 * The lowest allocation that ends above addr, or NULL: the one containing
 * addr, or else the next one above it.
 */
static struct nt_vad *alloc_ending_above(struct nt_space *s, u64 addr)
{
	struct nt_vad *n = s->root, *best = NULL;

	while (n) {
		if (n->base + n->size > addr) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

/*
 * The allocation containing addr, or NULL.  The last one found or made is
 * tried first: calls tend to come back to it (commit after reserve, free
 * after use).
 */
static struct nt_vad *find_alloc(struct nt_space *s, u64 addr)
{
	struct nt_vad *a = s->last;

	if (a && a->base <= addr && addr - a->base < a->size)
		return a;
	a = alloc_ending_above(s, addr);
	if (!a || a->base > addr)
		return NULL;
	s->last = a;
	return a;
}

/* ---- Runs --------------------------------------------------------------- */

static u64 run_end(const struct nt_vad *a, u32 i)
{
	return i + 1 < a->nruns ? a->runs[i + 1].off : a->size;
}

/* Index of the run containing offset off. */
static u32 run_index(const struct nt_vad *a, u64 off)
{
	u32 lo = 0, hi = a->nruns - 1, mid;

	while (lo < hi) {
		mid = lo + (hi - lo + 1) / 2;
		if (a->runs[mid].off <= off)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Records held by a's run array: its slots, unless they are inline. */
static u64 runs_records(const struct nt_vad *a)
{
	return a->runs == a->inline_runs ? 0 : a->cap;
}

/* Runs of a section's commit map: 1 MiB of kernel memory at most. */
#define NT_SECTION_MAX_RUNS 65536

/*
 * Move a's runs to an array of cap slots (cap >= nruns), counting the
 * records in s; s is NULL for a section's commit map, which belongs to no
 * address space and is bounded by NT_SECTION_MAX_RUNS instead.
 */
static bool runs_move(struct nt_space *s, struct nt_vad *a, u32 cap)
{
	u64 old = runs_records(a);
	struct nt_run *r;

	if (cap <= NT_INLINE_RUNS) {
		if (!old)
			return true;
		r = a->inline_runs;
		cap = NT_INLINE_RUNS;
	} else {
		r = ntvm_core_zalloc((size_t)cap * sizeof(*r));
		if (!r)
			return false;
	}
	memcpy(r, a->runs, a->nruns * sizeof(*r));
	if (old)
		ntvm_core_free(a->runs);
	a->runs = r;
	a->cap = cap;
	if (s)
		s->records = s->records - old + runs_records(a);
	return true;
}

/*
 * Room for extra more runs in section sec's commit map (see runs_move()),
 * besides the slots held (struct nt_section.held): false past
 * NT_SECTION_MAX_RUNS or its budget (NT_SECTION_MAP_BUDGET), which the
 * new slots are charged to.  The caller holds the section's lock.
 */
static bool commit_map_reserve(struct nt_section *sec, u32 extra)
{
	struct nt_vad *c = &sec->commit;
	u64 need = (u64)c->nruns + sec->held + extra, cap;
	s64 more;

	if (need <= c->cap)
		return true;
	if (need > NT_SECTION_MAX_RUNS)
		return false;
	cap = min_u64(max_u64(2ULL * c->cap, need), NT_SECTION_MAX_RUNS);
	more = cap - runs_records(c);
	if (sec->budget &&
	    atomic64_add_return(more, sec->budget) > NT_SECTION_MAP_BUDGET) {
		atomic64_sub(more, sec->budget);
		return false;
	}
	if (runs_move(NULL, c, cap))
		return true;
	if (sec->budget)
		atomic64_sub(more, sec->budget);
	return false;
}

/*
 * Make room for extra more runs; false when out of memory or when the
 * space's records would pass its limit.  The array doubles, up to what
 * the limit leaves.
 */
static bool runs_reserve(struct nt_space *s, struct nt_vad *a, u32 extra)
{
	u64 need = (u64)a->nruns + extra, room;

	if (need <= a->cap)
		return true;
	room = s->max_records - s->records + runs_records(a);
	if (need > room)
		return false;
	return runs_move(s, a, min_u64(max_u64(2ULL * a->cap, need), room));
}

/*
 * Give back most of an array that merges left mostly empty: at a quarter
 * full it halves twice.  Failing to allocate the smaller one is harmless.
 * Not while nt_undo() may put the runs the call replaced back: it does so
 * in the room they had, without allocating (undo_runs()).
 */
static void runs_trim(struct nt_space *s, struct nt_vad *a)
{
	if (s->undo.base == a->base)
		return;
	if (runs_records(a) && a->cap >= 64 && a->nruns <= a->cap / 4)
		runs_move(s, a, 2 * a->nruns);
}

/* Ensure a run starts at off (0 < off < size); needs one spare slot. */
static u32 runs_split(struct nt_vad *a, u64 off)
{
	u32 i = run_index(a, off);

	if (a->runs[i].off == off)
		return i;
	memmove(&a->runs[i + 2], &a->runs[i + 1],
		(a->nruns - i - 1) * sizeof(a->runs[0]));
	a->runs[i + 1] = a->runs[i];
	a->runs[i + 1].off = off;
	a->nruns++;
	return i + 1;
}

static bool run_same(const struct nt_run *x, const struct nt_run *y)
{
	return x->flags == y->flags && x->gprot == y->gprot;
}

/*
 * Merge equal neighbours among runs [from, to], in one pass: the tail
 * after to moves once, so the work is O(runs) however many merge.
 */
static void runs_merge(struct nt_vad *a, u32 from, u32 to)
{
	u32 r, w = from;

	if (to >= a->nruns)
		to = a->nruns - 1;
	if (from >= to)
		return;
	for (r = from + 1; r <= to; r++) {
		if (!run_same(&a->runs[w], &a->runs[r]))
			a->runs[++w] = a->runs[r];
	}
	if (w == to)
		return;
	memmove(&a->runs[w + 1], &a->runs[to + 1],
		(a->nruns - to - 1) * sizeof(a->runs[0]));
	a->nruns -= to - w;
}

/*
 * Split the runs at lo and hi (offsets) and return the index range
 * [*first, *last) of the runs covering [lo, hi).  Needs two spare slots.
 */
static void runs_isolate(struct nt_vad *a, u64 lo, u64 hi, u32 *first, u32 *last)
{
	*first = lo ? runs_split(a, lo) : 0;
	*last = hi < a->size ? runs_split(a, hi) : a->nruns;
}

/* How many runs runs_isolate(a, lo, hi) adds: the splits it makes. */
static u32 runs_cuts(const struct nt_vad *a, u64 lo, u64 hi)
{
	u32 n = 0;

	if (lo && a->runs[run_index(a, lo)].off != lo)
		n++;
	if (hi < a->size && a->runs[run_index(a, hi)].off != hi)
		n++;
	return n;
}

static u64 runs_committed_walk(const struct nt_vad *a, u64 lo, u64 hi)
{
	u64 sum = 0, s, e;
	u32 i;

	for (i = run_index(a, lo); i < a->nruns && a->runs[i].off < hi; i++) {
		if (!(a->runs[i].flags & NT_RUN_COMMITTED))
			continue;
		s = max_u64(a->runs[i].off, lo);
		e = min_u64(run_end(a, i), hi);
		sum += e - s;
	}
	return sum;
}

/* Bytes committed in [lo, hi) (offsets). */
static inline u64 runs_committed(const struct nt_vad *a, u64 lo, u64 hi)
{
	if (a->nruns == 1)
		return a->runs[0].flags & NT_RUN_COMMITTED ? hi - lo : 0;
	return runs_committed_walk(a, lo, hi);
}

/* ---- Allocations -------------------------------------------------------- */

/*
 * A new allocation: one run, reserved, every other field zero.  A node
 * freed earlier is reused when there is one: a reserve + release pair then
 * costs no trip to the allocator.
 */
static inline struct nt_vad *alloc_new(struct nt_space *s)
{
	struct nt_vad *a = s->spare;

	if (s->records >= s->max_records)
		return NULL;
	if (a) {
		s->spare = a->left;
		s->nspare--;
		memset(a, 0, sizeof(*a));
	} else {
		a = ntvm_core_zalloc(sizeof(*a));
		if (!a)
			return NULL;
	}
	s->records++;
	a->runs = a->inline_runs;
	a->cap = NT_INLINE_RUNS;
	a->nruns = 1;
	return a;
}

static void alloc_destroy(struct nt_vad *a)
{
	if (a->runs != a->inline_runs)
		ntvm_core_free(a->runs);
	ntvm_core_free(a);
}

static inline void alloc_free(struct nt_space *s, struct nt_vad *a)
{
	s->records -= 1 + runs_records(a);
	if (s->nspare == NT_SPARE_ALLOCS) {
		alloc_destroy(a);
		return;
	}
	if (a->runs != a->inline_runs)
		ntvm_core_free(a->runs);
	a->left = s->spare;
	s->spare = a;
	s->nspare++;
}

/* Insert a at slot, found for a->base since the tree last changed. */
static void space_insert(struct nt_space *s, struct nt_vad *a,
			 const struct avl_slot *slot)
{
	avl_insert(s, a, slot);
	s->last = a;
	s->nallocs++;
	s->reserved_bytes += a->size;
	s->committed_bytes += runs_committed(a, 0, a->size);
}

static void view_unlink(struct nt_space *s, struct nt_vad *a);

static void space_remove(struct nt_space *s, struct nt_vad *a)
{
	if (a->sec) {
		view_unlink(s, a);
		s->ops->section_put(a->sec);
		a->sec = NULL;
	}
	avl_remove(s, a);
	if (s->last == a)
		s->last = NULL;
	s->nallocs--;
	s->removals++;
	s->reserved_bytes -= a->size;
	s->committed_bytes -= runs_committed(a, 0, a->size);
	alloc_free(s, a);
}

void nt_space_init(struct nt_space *s, const struct nt_vm_ops *ops,
		   void *ctx, u64 min_addr, u64 max_addr)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->ctx = ctx;
	s->min_addr = min_addr;
	s->max_addr = max_addr;
	s->max_records = NT_MAX_RECORDS;
	nt_place_init(s);
}

static void destroy_tree(struct nt_space *s, struct nt_vad *n)
{
	struct nt_vad *r;

	while (n) {
		destroy_tree(s, n->left);
		r = n->right;
		if (n->sec)
			s->ops->section_put(n->sec);
		alloc_destroy(n);
		n = r;
	}
}

void nt_space_destroy(struct nt_space *s)
{
	struct nt_vad *a;

	destroy_tree(s, s->root);
	s->root = NULL;
	s->reserve_views = NULL;
	s->last = NULL;
	s->max = NULL;
	while ((a = s->spare)) {
		s->spare = a->left;
		ntvm_core_free(a);
	}
	s->nspare = 0;
	ntvm_core_free(s->layout);
	s->layout = NULL;
	s->nlayout = 0;
	s->layout_cap = 0;
	ntvm_core_free(s->undo.runs);
	memset(&s->undo, 0, sizeof(s->undo));
	s->nallocs = 0;
	s->reserved_bytes = 0;
	s->committed_bytes = 0;
	s->records = 0;
}

/* ---- Reading the address space ------------------------------------------ */

/* Does a view hold the page of addr? */
static bool in_view(struct nt_space *s, u64 addr)
{
	struct nt_vad *a;

	if (addr > s->max_addr)
		return false;
	a = find_alloc(s, nt_page_down(addr));
	return a && a->sec;
}

/* PAGE_WRITECOPY or PAGE_EXECUTE_WRITECOPY, alone or with PAGE_GUARD. */
static bool is_writecopy(u32 prot)
{
	prot &= ~NTVM_PAGE_GUARD;
	return prot == NTVM_PAGE_WRITECOPY || prot == NTVM_PAGE_EXECUTE_WRITECOPY;
}

/* NT rights of a protection (spec 2.4.2): read 1, write 2, execute 4. */
static u32 prot_rights(u32 prot)
{
	switch (prot & 0xff) {
	case NTVM_PAGE_READONLY:
	case NTVM_PAGE_WRITECOPY:
		return NT_LPROT_R;
	case NTVM_PAGE_READWRITE:
		return NT_LPROT_R | NT_LPROT_W;
	case NTVM_PAGE_EXECUTE:
	case NTVM_PAGE_EXECUTE_READ:
	case NTVM_PAGE_EXECUTE_WRITECOPY:
		return NT_LPROT_R | NT_LPROT_X;
	case NTVM_PAGE_EXECUTE_READWRITE:
		return NT_LPROT_R | NT_LPROT_W | NT_LPROT_X;
	default:
		return 0;
	}
}

/*
 * Linux protection of protection prot in a view: write-copy writes only
 * where the pages are mapped private (cow); a shared mapping reads.
 */
static u32 view_lprot(bool cow, u32 prot)
{
	switch (prot & 0xff) {
	case NTVM_PAGE_WRITECOPY:
		return cow ? NT_LPROT_R | NT_LPROT_W : NT_LPROT_R;
	case NTVM_PAGE_EXECUTE_WRITECOPY:
		return NT_LPROT_R | NT_LPROT_X | (cow ? NT_LPROT_W : 0);
	default:
		return nt_to_lprot(prot);
	}
}

/* Are the view's pages of run r mapped private (copy-on-write)? */
static bool run_cow(const struct nt_vad *a, const struct nt_run *r)
{
	return (a->attrs & NT_ATTR_COW) || (r->flags & NT_RUN_COW);
}

/* Is a writable page of run r write-copy (until written)? */
static bool run_wc(const struct nt_vad *a, const struct nt_run *r)
{
	return (a->attrs & NT_ATTR_COW) || (r->flags & NT_RUN_WC);
}

/* Is the section page at off committed? *end: where that stops. */
static bool section_committed(struct nt_space *s, struct nt_section *sec,
			      u64 off, u64 *end)
{
	struct nt_vad *c = &sec->commit;
	bool yes;
	u32 i;

	if (!(sec->attrs & NTVM_SEC_RESERVE)) {
		*end = c->size;
		return true;
	}
	s->ops->section_lock(sec);
	i = run_index(c, off);
	yes = c->runs[i].flags & NT_RUN_COMMITTED;
	*end = run_end(c, i);
	s->ops->section_unlock(sec);
	return yes;
}

/*
 * page_state() of a view: the commit state is the section's.  A page
 * committed in the section that the view has not learnt yet (another view
 * committed it) is PROT_NONE here until it does (view_learn()), and
 * reports the view's own protection, as Windows does (spec 4.1.2).
 */
static bool view_page_state(struct nt_space *s, struct nt_vad *a, u64 addr,
			    u64 hi, int lp, u64 vend, u32 *state, u32 *prot,
			    u64 *end, bool cow)
{
	u64 off = a->sec_off + (addr - a->base), cend;
	u32 i = run_index(a, addr - a->base), p;
	const struct nt_run *r = &a->runs[i];

	*end = min_u64(hi, a->base + run_end(a, i));
	if (!section_committed(s, a->sec, off, &cend)) {
		*state = NTVM_MEM_RESERVE;
		*prot = 0;
	} else if (!(r->flags & NT_RUN_COMMITTED)) {
		*state = NTVM_MEM_COMMIT;
		p = a->alloc_protect;
		*prot = p == NTVM_PAGE_NOACCESS ? p :
			p | (a->attrs & (NT_ATTR_NOCACHE | NT_ATTR_WRITECOMBINE));
	} else {
		*state = NTVM_MEM_COMMIT;
		lp &= NT_LPROT_MASK;
		p = nt_from_lprot(lp);
		/*
		 * A copy-on-write page is write-copy until written, then
		 * read-write (spec 4.3.4, 4.3.5, 4.3.7).
		 */
		if (run_wc(a, r) && (lp & NT_LPROT_W) &&
		    (!cow || !s->ops->cow_written(s->ctx, addr,
						  min_u64(vend, *end), &vend)))
			p = (lp & NT_LPROT_X) ? NTVM_PAGE_EXECUTE_WRITECOPY :
						NTVM_PAGE_WRITECOPY;
		if (!lp && (r->flags & NT_RUN_GUARD))
			*prot = r->gprot | NTVM_PAGE_GUARD;
		else if (p == NTVM_PAGE_NOACCESS)
			*prot = p;
		else
			*prot = p | (a->attrs & (NT_ATTR_NOCACHE |
						 NT_ATTR_WRITECOMBINE));
	}
	*end = min_u64(min_u64(a->base + (cend - a->sec_off), vend), *end);
	return true;
}

/*
 * NT state of the pages from addr inside allocation a: *state and *prot of
 * the page at addr, and in *end where that state stops (at most hi).
 * Returns false when the allocation is damaged there (no private anonymous
 * mapping).  Called with the address space read-locked.  *vma_lp: what
 * prot_at() said of the mapping at addr.
 */
static bool page_state_lp(struct nt_space *s, struct nt_vad *a, u64 addr,
			  u64 hi, u32 *state, u32 *prot, u64 *end, int *vma_lp,
			  bool cow)
{
	const struct nt_run *r;
	u64 vstart, vend;
	u32 i = run_index(a, addr - a->base);
	int lp;

	r = &a->runs[i];
	lp = s->ops->prot_at(s->ctx, addr, &vstart, &vend);
	*vma_lp = lp;
	if (lp == NT_VMA_NONE || !(lp & NT_VMA_FOREIGN) != !a->sec)
		return false;
	if (a->sec)
		return view_page_state(s, a, addr, hi, lp, vend, state, prot, end,
				       cow);
	*end = min_u64(min_u64(a->base + run_end(a, i), vend), hi);
	if (!(r->flags & NT_RUN_COMMITTED)) {
		/* Something accessible was mapped over the reservation. */
		if (lp)
			return false;
		*state = NTVM_MEM_RESERVE;
		*prot = 0;
		return true;
	}
	*state = NTVM_MEM_COMMIT;
	lp &= NT_LPROT_MASK;
	if (!lp && (r->flags & NT_RUN_GUARD))
		*prot = r->gprot | NTVM_PAGE_GUARD;
	else
		*prot = nt_from_lprot(lp);
	if (!(*prot & NTVM_PAGE_GUARD) && *prot != NTVM_PAGE_NOACCESS)
		*prot |= a->attrs & (NT_ATTR_NOCACHE | NT_ATTR_WRITECOMBINE);
	return true;
}

/* page_state_lp() without the mapping's protection. */
static bool page_state(struct nt_space *s, struct nt_vad *a, u64 addr,
		       u64 hi, u32 *state, u32 *prot, u64 *end)
{
	int lp;

	return page_state_lp(s, a, addr, hi, state, prot, end, &lp, true);
}

/* Mappings alloc_sync() reads to check a whole allocation at once. */
#define SYNC_WHOLE_MAPPINGS 16

/*
 * Check that [lo, hi) of allocation a is still backed by private anonymous
 * memory; forget the allocation if it is not.  Returns false if forgotten.
 * An allocation of few mappings is checked whole, so that the answer holds
 * until ops->changes() moves: alloc_sync() asks that first.
 */
static bool alloc_sync_walk(struct nt_space *s, struct nt_vad *a, u64 lo,
			    u64 hi, u64 changes)
{
	u64 start, end, at = a->base, to = a->base + a->size;
	bool ok = true, whole = true;
	int lp, n = 0;

	s->ops->lock_read(s->ctx);
	while (at < to) {
		if (whole && ++n > SYNC_WHOLE_MAPPINGS) {
			/* Too many mappings: check only [lo, hi). */
			whole = false;
			at = max_u64(at, lo);
			to = hi;
			continue;
		}
		lp = s->ops->prot_at(s->ctx, at, &start, &end);
		/*
		 * A view is a file mapping, anything else anonymous memory,
		 * and a placeholder's PROT_NONE: memory mapped there in its
		 * place is not the placeholder.
		 */
		if (lp == NT_VMA_NONE || !(lp & NT_VMA_FOREIGN) != !a->sec ||
		    ((a->attrs & NT_ATTR_PLACEHOLDER) && (lp & NT_LPROT_MASK))) {
			if (at < hi && end > lo) {
				ok = false;
				break;
			}
			/* Damaged elsewhere: [lo, hi) decides. */
			whole = false;
			to = hi;
			end = max_u64(end, lo);
		}
		at = end;
	}
	s->ops->unlock_read(s->ctx);
	if (!ok)
		space_remove(s, a);
	else if (whole)
		a->checked = changes;
	return ok;
}

static inline bool alloc_sync(struct nt_space *s, struct nt_vad *a, u64 lo,
			      u64 hi)
{
	u64 changes = s->ops->changes(s->ctx);

	return a->checked == changes || alloc_sync_walk(s, a, lo, hi, changes);
}

/* The live allocation containing addr, after checking [addr, hi). */
static struct nt_vad *find_live(struct nt_space *s, u64 addr, u64 hi)
{
	struct nt_vad *a = find_alloc(s, addr);

	if (!a)
		return NULL;
	hi = min_u64(hi, a->base + a->size);
	return alloc_sync(s, a, addr, hi) ? a : NULL;
}

/*
 * Is [lo, hi) overlapped by a live allocation?  Those whose mappings are
 * gone are forgotten on the way.  When it is not, *slot is where an
 * allocation at lo goes.
 */
static bool overlap_live(struct nt_space *s, u64 lo, u64 hi,
			 struct avl_slot *slot)
{
	struct nt_vad *a;

	for (;;) {
		avl_find_slot(s, lo, slot);
		a = slot->prev;
		if (!a || a->base + a->size <= lo)
			a = slot->next;
		if (!a || a->base >= hi)
			return false;
		if (alloc_sync(s, a, a->base, a->base + a->size))
			return true;
	}
}

/* ---- NtAllocateVirtualMemory ------------------------------------------- */

#define ALLOC_TYPES (NTVM_MEM_COMMIT | NTVM_MEM_RESERVE | NTVM_MEM_RESET | \
		     NTVM_MEM_RESET_UNDO | NTVM_MEM_TOP_DOWN | \
		     NTVM_MEM_WRITE_WATCH | NTVM_MEM_PHYSICAL | \
		     NTVM_MEM_LARGE_PAGES)

#define PLACEHOLDER_TYPES (NTVM_MEM_RESERVE_PLACEHOLDER | \
			   NTVM_MEM_REPLACE_PLACEHOLDER)

/*
 * The placeholder types (spec 6.1, 6.5): only NtAllocateVirtualMemoryEx
 * takes them; MEM_RESERVE_PLACEHOLDER goes with MEM_RESERVE (and
 * MEM_TOP_DOWN) only, MEM_REPLACE_PLACEHOLDER with MEM_RESERVE and
 * optionally MEM_COMMIT and MEM_WRITE_WATCH.
 */
static u32 check_placeholder_type(u32 type, bool ex)
{
	u32 rest = type & ~PLACEHOLDER_TYPES;

	if (!ex || !(type & NTVM_MEM_RESERVE))
		return NTVM_STATUS_INVALID_PARAMETER;
	if ((type & PLACEHOLDER_TYPES) == PLACEHOLDER_TYPES)
		return NTVM_STATUS_INVALID_PARAMETER;
	if (type & NTVM_MEM_RESERVE_PLACEHOLDER)
		return rest & ~(NTVM_MEM_RESERVE | NTVM_MEM_TOP_DOWN) ?
		       NTVM_STATUS_INVALID_PARAMETER : NTVM_STATUS_SUCCESS;
	return rest & ~(NTVM_MEM_RESERVE | NTVM_MEM_COMMIT |
			NTVM_MEM_WRITE_WATCH | NTVM_MEM_TOP_DOWN) ?
	       NTVM_STATUS_INVALID_PARAMETER : NTVM_STATUS_SUCCESS;
}

/* Allocation-type rules, in ReactOS's (Windows-like) order, spec 1.4. */
static u32 check_alloc_type(u32 type, bool ex)
{
	if (type & PLACEHOLDER_TYPES)
		return check_placeholder_type(type, ex);
	if (type & ~ALLOC_TYPES)
		return NTVM_STATUS_INVALID_PARAMETER_5;
	if (!(type & (NTVM_MEM_COMMIT | NTVM_MEM_RESERVE | NTVM_MEM_RESET |
		      NTVM_MEM_RESET_UNDO)))
		return NTVM_STATUS_INVALID_PARAMETER_5;
	if ((type & NTVM_MEM_RESET) && type != NTVM_MEM_RESET)
		return NTVM_STATUS_INVALID_PARAMETER_5;
	if ((type & NTVM_MEM_RESET_UNDO) && type != NTVM_MEM_RESET_UNDO)
		return NTVM_STATUS_INVALID_PARAMETER_5;
	if ((type & NTVM_MEM_LARGE_PAGES) &&
	    (!(type & NTVM_MEM_COMMIT) ||
	     (type & (NTVM_MEM_PHYSICAL | NTVM_MEM_WRITE_WATCH))))
		return NTVM_STATUS_INVALID_PARAMETER_5;
	if ((type & (NTVM_MEM_WRITE_WATCH | NTVM_MEM_PHYSICAL)) &&
	    !(type & NTVM_MEM_RESERVE))
		return NTVM_STATUS_INVALID_PARAMETER_5;
	return NTVM_STATUS_SUCCESS;
}

/*
 * MEM_ADDRESS_REQUIREMENTS rules, spec 1.9.  All-zero requirements are no
 * requirement at all, also with an explicit base (issue 11: Windows then
 * succeeds, or gives STATUS_CONFLICTING_ADDRESSES).  A LowestStartingAddress
 * above the highest user address is invalid, not merely unsatisfiable.
 */
static u32 check_requirements(struct nt_space *s, const struct nt_alloc_req *a)
{
	if (!a->lowest && !a->highest && !a->alignment)
		return NTVM_STATUS_SUCCESS;
	if (a->base)
		return NTVM_STATUS_INVALID_PARAMETER;
	if (a->lowest > s->max_addr)
		return NTVM_STATUS_INVALID_PARAMETER;
	if (a->highest && (((a->highest + 1) & (PAGE - 1)) ||
			   a->highest > s->max_addr))
		return NTVM_STATUS_INVALID_PARAMETER;
	if (a->lowest & (GRAN - 1))
		return NTVM_STATUS_INVALID_PARAMETER;
	if (a->highest && a->lowest > a->highest)
		return NTVM_STATUS_INVALID_PARAMETER;
	if (a->alignment && ((a->alignment & (a->alignment - 1)) ||
			     a->alignment < GRAN))
		return NTVM_STATUS_INVALID_PARAMETER;
	return NTVM_STATUS_SUCCESS;
}

/*
 * Status of a failed map: nospace is the status for "no room for the
 * mapping", which NT reports as STATUS_NO_MEMORY for a new allocation and
 * STATUS_INSUFFICIENT_RESOURCES inside an existing one.
 */
static u32 map_error(int err, u32 nospace)
{
	switch (err) {
	case -EEXIST:
	case -EPERM:
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	case -ENOMEM:
		return NTVM_STATUS_COMMITMENT_LIMIT;
	case -ENOSPC:
		return nospace;
	default:
		return NTVM_STATUS_NO_MEMORY;
	}
}

/* Does any mapping in [lo, hi) have a protection other than lprot? */
static bool needs_mprotect(struct nt_space *s, u64 lo, u64 hi, u32 lprot)
{
	u64 start, end;
	bool differ = false;
	int lp;

	s->ops->lock_read(s->ctx);
	for (; lo < hi && !differ; lo = end) {
		lp = s->ops->prot_at(s->ctx, lo, &start, &end);
		differ = lp == NT_VMA_NONE || (u32)(lp & NT_LPROT_MASK) != lprot;
	}
	s->ops->unlock_read(s->ctx);
	return differ;
}

/* Has a committed page of [lo, hi) (offsets in a) a protection other than lprot? */
static bool committed_differ(struct nt_space *s, struct nt_vad *a, u64 lo,
			     u64 hi, u32 lprot)
{
	u64 at, to, start, end;
	bool differ = false;
	u32 i;
	int lp;

	s->ops->lock_read(s->ctx);
	for (i = run_index(a, lo); i < a->nruns && a->runs[i].off < hi && !differ; i++) {
		if (!(a->runs[i].flags & NT_RUN_COMMITTED))
			continue;
		to = a->base + min_u64(run_end(a, i), hi);
		for (at = a->base + max_u64(a->runs[i].off, lo); at < to && !differ;
		     at = end) {
			lp = s->ops->prot_at(s->ctx, at, &start, &end);
			differ = lp == NT_VMA_NONE || (u32)(lp & NT_LPROT_MASK) != lprot;
		}
	}
	s->ops->unlock_read(s->ctx);
	return differ;
}

/* ---- Failure paths: memory and NT state as they were ------------------- */

/* Pieces of layout and undo runs kept for the next call; more are freed. */
#define NT_FAILURE_KEEP		64

/* map() until it works or says the range is not free; 0 or the error. */
static int map_retry(struct nt_space *s, u64 addr, u64 len,
		     enum nt_map_how how, u32 lprot)
{
	int err = -ENOMEM, tries;

	for (tries = 0; tries < NT_RESTORE_TRIES; tries++) {
		err = s->ops->map(s->ctx, addr, len, how, lprot);
		if (!err || err == -EEXIST)
			break;
	}
	return err;
}

/*
 * Put the reservation back over [addr, addr + len), which this call
 * committed.  A commit that split a mapping may have left the process one
 * mapping over vm.max_map_count, and then no mmap() works: unmap the piece
 * and reserve the hole instead.  Returns 0, or an error when the piece is
 * still committed.  (If the hole cannot be reserved, the allocation is
 * damaged and forgotten: a hole is not committed.)
 */
static int unmap_fresh(struct nt_space *s, u64 addr, u64 len)
{
	int err = map_retry(s, addr, len, NT_MAP_DECOMMIT, 0);

	if (!err || s->ops->unmap(s->ctx, addr, len))
		return err;
	map_retry(s, addr, len, NT_MAP_RESERVE, 0);
	return 0;
}

/*
 * Record the mappings of [lo, hi) in s->layout, before a MAP_FIXED that
 * may fail after it removed them (6.1's mmap_region() unmaps first).
 * false: no memory for the record (nothing changed).  The array is sized
 * by the mappings in the range, which vm.max_map_count bounds, and never
 * more than NT_MAX_RECORDS pieces.
 */
static bool layout_save(struct nt_space *s, u64 lo, u64 hi)
{
	struct nt_piece *p;
	u64 at, start, end;
	bool again = false;
	u32 n;
	int lp;

	for (;;) {
		/* The caller's lock keeps ntvm out; another thread may add a piece. */
		s->ops->lock_read(s->ctx);
		for (at = lo, n = 0; at < hi && n <= NT_MAX_RECORDS; at = end, n++) {
			lp = s->ops->prot_at(s->ctx, at, &start, &end);
			end = min_u64(end, hi);
			if (n < s->layout_cap)
				s->layout[n] = (struct nt_piece){ at, end, lp };
		}
		s->ops->unlock_read(s->ctx);
		/* A second round short of room: another thread's mappings. */
		if (n <= s->layout_cap || again) {
			n = min_u64(n, s->layout_cap);
			break;
		}
		/* More mappings than room: a bigger array, and again. */
		again = true;
		s->nlayout = 0;
		if (n > NT_MAX_RECORDS)
			return false;
		p = ntvm_core_zalloc((size_t)n * sizeof(*p));
		if (!p)
			return false;
		ntvm_core_free(s->layout);
		s->layout = p;
		s->layout_cap = n;
	}
	s->nlayout = n;
	return true;
}

/* Done with s->layout: a big array goes back (unless nt_undo() needs it). */
static void layout_put(struct nt_space *s)
{
	if (s->undo.base)
		return;
	s->nlayout = 0;
	if (s->layout_cap > NT_FAILURE_KEEP) {
		ntvm_core_free(s->layout);
		s->layout = NULL;
		s->layout_cap = 0;
	}
}

/*
 * A MAP_FIXED over [s->layout] (a decommit) failed: put back every private
 * mapping of the layout that is gone, with its protection, committed
 * (charged) where a's runs say committed, else as a reservation.  Where a
 * mapping is still there, map() finds the range taken (-EEXIST) and it
 * stays as it was.  What is put back is new memory: it reads as zero.
 * Returns 0 when every mapping is there again.
 */
static int layout_restore(struct nt_space *s, struct nt_vad *a)
{
	const struct nt_piece *p;
	enum nt_map_how how;
	int err, ret = 0;
	u32 i;

	for (i = 0; i < s->nlayout; i++) {
		p = &s->layout[i];
		if (p->lprot == NT_VMA_NONE || (p->lprot & NT_VMA_FOREIGN) ||
		    p->start < a->base || p->end > a->base + a->size)
			continue;
		how = a->runs[run_index(a, p->start - a->base)].flags &
		      NT_RUN_COMMITTED ? NT_MAP_RESERVE_COMMIT : NT_MAP_RESERVE;
		err = map_retry(s, p->start, p->end - p->start, how,
				p->lprot & NT_LPROT_MASK);
		if (err && err != -EEXIST)
			ret = err;
	}
	return ret;
}

/*
 * Guard bits of committed runs [first, last) after a protection change to
 * prot (spec 4.7): a guard protection arms them; PAGE_NOACCESS clears
 * them; any other protection leaves them, since they only count while the
 * mapping is PROT_NONE and the change makes it something else.
 */
static void runs_protect(struct nt_vad *a, u32 first, u32 last, u32 prot)
{
	struct nt_run *r;
	u32 i;

	for (i = first; i < last; i++) {
		r = &a->runs[i];
		r->flags |= NT_RUN_COMMITTED;
		if (prot & NTVM_PAGE_GUARD) {
			r->flags |= NT_RUN_GUARD;
			r->gprot = prot & 0xff;
		} else if (!nt_to_lprot(prot)) {
			r->flags &= ~NT_RUN_GUARD;
			r->gprot = 0;
		}
	}
	runs_merge(a, first ? first - 1 : 0, last);
}

/*
 * A commit of [lo, hi) (offsets) with protection prot failed at offset
 * stop (ops->map() put that piece's reservation back): put the
 * reservation back over the pieces committed before stop.  A piece whose
 * reservation cannot be put back stays committed, and its runs say so, so
 * that the NT state says what memory holds.  Room for two more runs was
 * reserved.
 */
static void commit_rollback(struct nt_space *s, struct nt_vad *a, u64 lo,
			    u64 hi, u64 stop, u32 prot)
{
	u64 rs, re, kept = 0;
	u32 i, first, last;

	runs_isolate(a, lo, hi, &first, &last);
	for (i = first; i < last && a->runs[i].off < stop; i++) {
		if (a->runs[i].flags & NT_RUN_COMMITTED)
			continue;
		rs = a->runs[i].off;
		re = run_end(a, i);
		if (!unmap_fresh(s, a->base + rs, re - rs))
			continue;
		kept += re - rs;
		a->runs[i].flags = NT_RUN_COMMITTED;
		if (prot & NTVM_PAGE_GUARD) {
			a->runs[i].flags |= NT_RUN_GUARD;
			a->runs[i].gprot = prot & 0xff;
		}
	}
	runs_merge(a, first ? first - 1 : 0, last);
	s->committed_bytes += kept;
}

/*
 * Save what a commit or protection change of [lo, hi) in a (addresses)
 * that leaves an mprotect() to user space is about to change, for
 * nt_undo(): the mappings and, unless the allocation is a view, the runs.
 * saved: how many pieces of the mappings the caller's own walk put in
 * s->layout since nt_undo_forget() (0: walk them here).  false: no memory,
 * and nothing changed.
 */
static bool undo_save(struct nt_space *s, struct nt_vad *a, u64 lo, u64 hi,
		      u32 saved)
{
	struct nt_undo *u = &s->undo;
	u32 first, last, n;
	struct nt_run *r;

	if (saved) {
		/* The caller's walk since nt_undo_forget() filled s->layout. */
		s->nlayout = saved;
	} else {
		nt_undo_forget(s);
		if (!layout_save(s, lo, hi))
			return false;
	}
	first = run_index(a, lo - a->base);
	last = run_index(a, hi - 1 - a->base) + 1;
	n = last - first;
	if (n > u->cap) {
		r = ntvm_core_zalloc((size_t)n * sizeof(*r));
		if (!r) {
			layout_put(s);
			return false;
		}
		ntvm_core_free(u->runs);
		u->runs = r;
		u->cap = n;
	}
	memcpy(u->runs, &a->runs[first], n * sizeof(*r));
	u->runs[0].off = lo - a->base;
	u->nruns = n;
	u->view = !!a->sec;
	u->runs_done = false;
	u->base = a->base;
	u->lo = lo;
	u->hi = hi;
	u->at = lo;
	u->committed = s->committed_bytes;
	return true;
}

void nt_undo_forget(struct nt_space *s)
{
	struct nt_undo *u = &s->undo;

	u->base = 0;
	u->nruns = 0;
	if (u->cap > NT_FAILURE_KEEP) {
		ntvm_core_free(u->runs);
		u->runs = NULL;
		u->cap = 0;
	}
	layout_put(s);
}

/*
 * The saved runs (nt_undo.runs) over [u->lo, u->hi) of a again, from
 * *first; false when the array cannot hold them.  This needs no memory:
 * the call made [lo, hi) one run, or no more runs than it had, and kept
 * its array (runs_trim()), so the array holds the cuts at lo and hi and
 * the saved runs as it held them before the call.
 */
static bool undo_put_runs(struct nt_space *s, struct nt_vad *a, u32 *first)
{
	struct nt_undo *u = &s->undo;
	u64 lo = u->lo - a->base, hi = u->hi - a->base;
	u32 last, n = u->nruns;

	if (!runs_reserve(s, a, runs_cuts(a, lo, hi)))
		return false;
	runs_isolate(a, lo, hi, first, &last);
	if (n > last - *first && !runs_reserve(s, a, n - (last - *first))) {
		runs_merge(a, *first ? *first - 1 : 0, last);
		return false;
	}
	memmove(&a->runs[*first + n], &a->runs[last],
		(a->nruns - last) * sizeof(*a->runs));
	memcpy(&a->runs[*first], u->runs, n * sizeof(*a->runs));
	a->nruns += n - (last - *first);
	return true;
}

/*
 * Put the saved runs back over [u->lo, u->hi) and the reservation back
 * over the pages the call committed.  A page whose reservation cannot be
 * put back stays committed (the runs say so); false then.
 */
static bool undo_runs(struct nt_space *s, struct nt_vad *a)
{
	struct nt_undo *u = &s->undo;
	u64 rs, re, kept = 0;
	u32 first, i, n = u->nruns;
	struct nt_run *r;
	bool ok = true;

	if (!undo_put_runs(s, a, &first))
		return false;
	s->committed_bytes = u->committed;
	/* Pages that were reserved go back to a reservation. */
	for (i = first; i < first + n; i++) {
		r = &a->runs[i];
		if (r->flags & NT_RUN_COMMITTED)
			continue;
		rs = r->off;
		re = run_end(a, i);
		if (!unmap_fresh(s, a->base + rs, re - rs))
			continue;
		/* Still committed in memory: say so. */
		r->flags = NT_RUN_COMMITTED;
		kept += re - rs;
		ok = false;
	}
	runs_merge(a, first ? first - 1 : 0, first + n);
	runs_trim(s, a);
	s->committed_bytes += kept;
	return ok;
}

/* In nt_undo.runs of a view: a run the call re-mapped (undo_view_runs()). */
#define UNDO_KEPT	0x80000000u

/*
 * A view's undo (see undo_runs()): the runs over [lo, hi) as the call
 * found them, but for the runs view_set_prot() re-mapped between shared
 * and private: nothing maps those back, and their mappings have the new
 * protection already, so they keep what the call made of them, and are
 * marked UNDO_KEPT in the record for nt_undo() to leave their mappings
 * alone.  The committed bytes follow the runs (a commit through the view
 * moves other views' too, which stays: the section's commit does).  No
 * page is unmapped: a view's pages are the section's.
 */
static bool undo_view_runs(struct nt_space *s, struct nt_vad *a)
{
	struct nt_undo *u = &s->undo;
	u64 lo = u->lo - a->base, hi = u->hi - a->base, before;
	u32 first, i, n = u->nruns;
	const struct nt_run *cur;

	before = runs_committed(a, lo, hi);
	for (i = 0; i < n; i++) {
		cur = &a->runs[run_index(a, u->runs[i].off)];
		if ((cur->flags ^ u->runs[i].flags) & NT_RUN_COW) {
			u->runs[i].flags = cur->flags | UNDO_KEPT;
			u->runs[i].gprot = cur->gprot;
		}
	}
	if (!undo_put_runs(s, a, &first))
		return false;
	for (i = first; i < first + n; i++)
		a->runs[i].flags &= ~UNDO_KEPT;
	runs_merge(a, first ? first - 1 : 0, first + n);
	runs_trim(s, a);
	s->committed_bytes += runs_committed(a, lo, hi) - before;
	return true;
}

/*
 * In a view's undo, where the saved run holding at ends (at most u->hi),
 * and whether undo_view_runs() kept it.
 */
static u64 undo_run_end(const struct nt_vad *a, const struct nt_undo *u,
			u64 at, bool *kept)
{
	u64 off = at - a->base;
	u32 l = 0, h = u->nruns, m;

	while (h - l > 1) {
		m = l + (h - l) / 2;
		if (u->runs[m].off <= off)
			l = m;
		else
			h = m;
	}
	*kept = u->runs[l].flags & UNDO_KEPT;
	if (l + 1 < u->nruns)
		return min_u64(a->base + u->runs[l + 1].off, u->hi);
	return u->hi;
}

u32 nt_undo(struct nt_space *s, u64 base, u64 size, struct nt_piece *out,
	    u32 max, u32 *count, bool *more)
{
	struct nt_undo *u = &s->undo;
	u64 at, start, end, hi;
	struct nt_vad *a;
	u32 n = 0, i, st = NTVM_STATUS_SUCCESS, prot;
	bool kept = false;
	int lp;

	*count = 0;
	*more = false;
	if (!u->base || base != u->lo || size != u->hi - u->lo)
		return NTVM_STATUS_INVALID_PARAMETER;
	a = find_alloc(s, u->base);
	if (!a || a->base != u->base || u->hi > a->base + a->size ||
	    u->view != !!a->sec) {
		nt_undo_forget(s);
		return NTVM_STATUS_INVALID_PARAMETER;
	}
	if (!u->runs_done) {
		u->runs_done = true;
		if (!(u->view ? undo_view_runs(s, a) : undo_runs(s, a)))
			st = NTVM_STATUS_INSUFFICIENT_RESOURCES;
	}
	/*
	 * The protections user space must put back: the pieces of the saved
	 * layout whose mapping has another protection now.  A view's are
	 * mappings of its backing, but for runs it kept.
	 */
	s->ops->lock_read(s->ctx);
	for (i = 0; i < s->nlayout && n < max; i++) {
		const struct nt_piece *p = &s->layout[i];

		if (p->end <= u->at || p->lprot == NT_VMA_NONE ||
		    !(p->lprot & NT_VMA_FOREIGN) != !u->view)
			continue;
		prot = p->lprot & NT_LPROT_MASK;
		for (at = max_u64(p->start, u->at); at < p->end && n < max; at = end) {
			lp = s->ops->prot_at(s->ctx, at, &start, &end);
			hi = min_u64(end, p->end);
			if (u->view)
				hi = min_u64(hi, undo_run_end(a, u, at, &kept));
			if (lp != NT_VMA_NONE && !(lp & NT_VMA_FOREIGN) == !u->view &&
			    !kept && lp != p->lprot) {
				/* Neighbours with one protection: one mprotect(). */
				if (n && out[n - 1].end == at &&
				    out[n - 1].lprot == prot)
					out[n - 1].end = hi;
				else
					out[n++] = (struct nt_piece){ at, hi, prot };
			}
			end = hi;
			u->at = hi;
		}
	}
	s->ops->unlock_read(s->ctx);
	*count = n;
	if (n == max && u->at < u->hi)
		*more = true;
	else
		nt_undo_forget(s);
	return st;
}

/*
 * Would a commit of [lo, hi) (offsets) with prot change a's runs?  Not
 * when every page is committed already and keeps its guard state: that
 * commit needs no room, even at the records limit.
 */
static bool commit_changes_runs(const struct nt_vad *a, u64 lo, u64 hi,
				u32 prot)
{
	const struct nt_run *r;
	u32 i;

	for (i = run_index(a, lo); i < a->nruns && a->runs[i].off < hi; i++) {
		r = &a->runs[i];
		if (!(r->flags & NT_RUN_COMMITTED))
			return true;
		if (prot & NTVM_PAGE_GUARD) {
			if (!(r->flags & NT_RUN_GUARD) || r->gprot != (prot & 0xff))
				return true;
		} else if (!nt_to_lprot(prot) && (r->flags & NT_RUN_GUARD)) {
			return true;
		}
	}
	return false;
}

/* Commit [lo, hi) (offsets) of a with protection prot. */
static u32 commit_range(struct nt_space *s, struct nt_vad *a, u64 lo,
			u64 hi, u32 prot, struct nt_alloc_req *out)
{
	u32 lprot = nt_to_lprot(prot), i, first, last;
	bool change = commit_changes_runs(a, lo, hi, prot);
	u64 rs, re, fresh = 0;
	bool differ;
	int err;

	/*
	 * Committed pages whose protection changes are left to user space;
	 * if its mprotect() fails, nt_undo() takes the call back.
	 */
	differ = runs_committed(a, lo, hi) &&
		 committed_differ(s, a, lo, hi, lprot);
	/* The splits at lo and hi, of a commit, its rollback or its undo. */
	if ((change || differ) && !runs_reserve(s, a, runs_cuts(a, lo, hi)))
		return NTVM_STATUS_INSUFFICIENT_RESOURCES;
	if (differ) {
		if (!undo_save(s, a, a->base + lo, a->base + hi, 0))
			return NTVM_STATUS_INSUFFICIENT_RESOURCES;
		out->apply = NTVM_APPLY_MPROTECT;
		out->apply_prot = lprot;
	}
	for (i = run_index(a, lo); i < a->nruns && a->runs[i].off < hi; i++) {
		if (a->runs[i].flags & NT_RUN_COMMITTED)
			continue;
		rs = max_u64(a->runs[i].off, lo);
		re = min_u64(run_end(a, i), hi);
		err = s->ops->map(s->ctx, a->base + rs, re - rs,
				  NT_MAP_COMMIT, lprot);
		if (err) {
			commit_rollback(s, a, lo, hi, rs, prot);
			nt_undo_forget(s);
			out->apply = 0;
			out->apply_prot = 0;
			return map_error(err, NTVM_STATUS_INSUFFICIENT_RESOURCES);
		}
		fresh += re - rs;
	}
	if (change) {
		runs_isolate(a, lo, hi, &first, &last);
		runs_protect(a, first, last, prot);
	}
	runs_trim(s, a);
	s->committed_bytes += fresh;
	/* Every page was committed already: a candidate to publish. */
	if (!fresh)
		out->publish = a->base;
	return NTVM_STATUS_SUCCESS;
}

/* What find_and_reserve() maps for a view. */
struct nt_view_map {
	struct nt_section *sec;
	u64 off;
	bool cow;
};

static int map_new(struct nt_space *s, u64 base, u64 size, u32 lprot,
		   bool commit, const struct nt_view_map *vm)
{
	if (vm)
		return s->ops->map_view(s->ctx, base, size, lprot, vm->sec,
					vm->off, vm->cow, false);
	return s->ops->map(s->ctx, base, size, commit ?
			   NT_MAP_RESERVE_COMMIT : NT_MAP_RESERVE, lprot);
}

static u32 find_and_reserve(struct nt_space *s, struct nt_alloc_req *in,
			    u64 limit, u64 size, u32 lprot, bool commit,
			    u64 *base, struct avl_slot *slot,
			    const struct nt_view_map *vm)
{
	struct nt_gap_req req;
	u64 hi = min_u64(limit, s->max_addr);
	int tries, err = 0;

	if (in->requirements) {
		if (in->highest)
			hi = min_u64(hi, in->highest);
		req.align = in->alignment ? in->alignment : GRAN;
		req.lo = max_u64(in->lowest, s->min_addr);
	} else {
		req.align = GRAN;
		req.lo = s->min_addr;
	}
	if ((in->type & NTVM_MEM_LARGE_PAGES) && req.align < NT_LARGE_PAGE)
		req.align = NT_LARGE_PAGE;
	req.hi = hi + 1;
	req.size = size;
	req.top_down = in->type & NTVM_MEM_TOP_DOWN;
	if (req.hi <= req.lo || req.hi - req.lo < size)
		return NTVM_STATUS_NO_MEMORY;

	/* Another thread's mmap() may win the gap: look again. */
	for (tries = 0; tries < 32; tries++) {
		req.attempt = tries;
		if (nt_find_gap(s, &req, base))
			return NTVM_STATUS_NO_MEMORY;
		/*
		 * The tracker can only hold stale allocations in a hole, and
		 * overlap_live() forgets them; a live one means the hole is
		 * already taken again: look again.
		 */
		if (overlap_live(s, *base, *base + size, slot)) {
			err = -EEXIST;
			continue;
		}
		err = map_new(s, *base, size, lprot, commit, vm);
		if (err != -EEXIST)
			break;
	}
	if (err)
		return map_error(err, NTVM_STATUS_NO_MEMORY);
	return NTVM_STATUS_SUCCESS;
}

/* MEM_RESERVE, or MEM_COMMIT at NULL: a new allocation. */
static u32 nt_reserve(struct nt_space *s, struct nt_alloc_req *in, u64 limit)
{
	bool commit = in->type & NTVM_MEM_COMMIT;
	bool large = in->type & NTVM_MEM_LARGE_PAGES;
	u32 lprot = commit ? nt_to_lprot(in->protect) : 0, st;
	struct avl_slot slot;
	struct nt_vad *a;
	u64 base, size;
	int err;

	if (in->base) {
		base = in->base & ~(GRAN - 1);
		size = nt_round_up(in->base + in->size, PAGE) - base;
		if (base < s->min_addr)
			return NTVM_STATUS_CONFLICTING_ADDRESSES;
		if (overlap_live(s, base, base + size, &slot))
			return NTVM_STATUS_CONFLICTING_ADDRESSES;
	} else {
		size = nt_round_up(in->size, PAGE);
	}

	/* Large pages are populated writable, then get their protection. */
	if (large)
		lprot |= NT_LPROT_R | NT_LPROT_W;
	a = alloc_new(s);
	if (!a)
		return NTVM_STATUS_INSUFFICIENT_RESOURCES;
	/* Read before the mapping is made: a later munmap() moves it. */
	a->checked = s->ops->changes(s->ctx);

	if (in->base) {
		err = s->ops->map(s->ctx, base, size, commit ?
				  NT_MAP_RESERVE_COMMIT : NT_MAP_RESERVE, lprot);
		st = err ? map_error(err, NTVM_STATUS_NO_MEMORY) : 0;
	} else {
		st = find_and_reserve(s, in, limit, size, lprot, commit, &base,
				      &slot, NULL);
	}
	if (st) {
		alloc_free(s, a);
		return st;
	}

	a->base = base;
	a->size = size;
	a->alloc_protect = in->protect;
	a->attrs = in->protect & (NT_ATTR_NOCACHE | NT_ATTR_WRITECOMBINE);
	if (in->type & NTVM_MEM_WRITE_WATCH)
		a->attrs |= NT_ATTR_WRITE_WATCH;
	if (large) {
		a->attrs |= NT_ATTR_LARGE_PAGES;
		in->apply = NTVM_APPLY_LARGE_PAGES;
		in->apply_prot = nt_to_lprot(in->protect);
	}
	if (in->type & NTVM_MEM_RESERVE_PLACEHOLDER)
		a->attrs |= NT_ATTR_PLACEHOLDER;
	if (commit) {
		a->runs[0].flags = NT_RUN_COMMITTED;
		if (in->protect & NTVM_PAGE_GUARD) {
			a->runs[0].flags |= NT_RUN_GUARD;
			a->runs[0].gprot = in->protect & 0xff;
		}
	}
	/* Nothing changed the tree since overlap_live() found the slot. */
	space_insert(s, a, &slot);
	in->base = base;
	in->size = size;
	return NTVM_STATUS_SUCCESS;
}

/*
 * The pages [*lo, *hi) that in touches, and the live allocation that holds
 * all of them, or NULL.
 */
static struct nt_vad *range_alloc(struct nt_space *s,
				  const struct nt_alloc_req *in, u64 *lo, u64 *hi)
{
	struct nt_vad *a;

	*lo = nt_page_down(in->base);
	*hi = nt_round_up(in->base + in->size, PAGE);
	a = find_live(s, *lo, *hi);
	/* A placeholder can only be replaced (spec 6.5.3). */
	if (a && (a->attrs & NT_ATTR_PLACEHOLDER))
		return NULL;
	return a && *hi <= a->base + a->size ? a : NULL;
}

/*
 * MEM_RESERVE | MEM_REPLACE_PLACEHOLDER (spec 6.5): base and size must be
 * exactly a free placeholder, which becomes a private allocation in place;
 * the range is never free in between.  Statuses as Wine's map_view().
 */
static u32 nt_replace(struct nt_space *s, struct nt_alloc_req *in)
{
	bool commit = in->type & NTVM_MEM_COMMIT;
	u64 lo = nt_page_down(in->base);
	u64 hi = nt_round_up(in->base + in->size, PAGE);
	struct nt_vad *a;
	int err;

	a = lo ? find_alloc(s, lo) : NULL;
	if (!a)
		return NTVM_STATUS_INVALID_PARAMETER;
	if (a->base != lo || a->size != hi - lo)
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	if (!(a->attrs & NT_ATTR_PLACEHOLDER))
		return NTVM_STATUS_INVALID_PARAMETER;
	if (!alloc_sync(s, a, lo, hi))
		return NTVM_STATUS_INVALID_PARAMETER;
	if (commit) {
		/* MAP_FIXED over the placeholder's own reservation. */
		err = s->ops->map(s->ctx, lo, hi - lo, NT_MAP_COMMIT,
				  nt_to_lprot(in->protect));
		if (err)
			return map_error(err, NTVM_STATUS_INSUFFICIENT_RESOURCES);
		a->runs[0].flags = NT_RUN_COMMITTED;
		if (in->protect & NTVM_PAGE_GUARD) {
			a->runs[0].flags |= NT_RUN_GUARD;
			a->runs[0].gprot = in->protect & 0xff;
		}
		s->committed_bytes += hi - lo;
	}
	a->alloc_protect = in->protect;
	a->attrs = (in->protect & (NT_ATTR_NOCACHE | NT_ATTR_WRITECOMBINE)) |
		   NT_ATTR_FROM_PLACEHOLDER;
	if (in->type & NTVM_MEM_WRITE_WATCH)
		a->attrs |= NT_ATTR_WRITE_WATCH;
	in->base = lo;
	in->size = hi - lo;
	return NTVM_STATUS_SUCCESS;
}

/* Mark [off, end) of sec committed; room for two runs was reserved. */
static void section_commit(struct nt_section *sec, u64 off, u64 end)
{
	struct nt_vad *c = &sec->commit;
	u32 first, last, i;

	runs_isolate(c, off, end, &first, &last);
	for (i = first; i < last; i++)
		c->runs[i].flags = NT_RUN_COMMITTED;
	runs_merge(c, first ? first - 1 : 0, last);
}

/* ---- Views: what each view has learnt of its section -------------------- */

/*
 * Make [lo, hi) of view a (live) show the section pages committed there
 * that it has not learnt yet: map them with the view's own protection
 * (spec 4.1.2).  Bounded by the runs of the view and of the section.  On
 * failure what is done stays done, and the rest is learnt later.
 */
static u32 view_learn(struct nt_space *s, struct nt_vad *a, u64 lo, u64 hi)
{
	bool cow = a->attrs & NT_ATTR_COW;
	u32 lprot = view_lprot(cow, a->alloc_protect), i, first, last;
	u64 at, end, cend;
	int err;

	for (at = lo; at < hi; at = end) {
		i = run_index(a, at - a->base);
		end = min_u64(a->base + run_end(a, i), hi);
		if (a->runs[i].flags & NT_RUN_COMMITTED)
			continue;
		if (!section_committed(s, a->sec, a->sec_off + (at - a->base),
				       &cend)) {
			end = min_u64(end, a->base + (cend - a->sec_off));
			continue;
		}
		end = min_u64(end, a->base + (cend - a->sec_off));
		if (!runs_reserve(s, a, runs_cuts(a, at - a->base, end - a->base)))
			return NTVM_STATUS_INSUFFICIENT_RESOURCES;
		/* PROT_NONE already: a no-access view only takes note. */
		if (lprot) {
			err = s->ops->map_view(s->ctx, at, end - at,
					       lprot | NT_VIEW_REMAP, a->sec,
					       a->sec_off + (at - a->base), cow,
					       false);
			if (err)
				return map_error(err,
						 NTVM_STATUS_INSUFFICIENT_RESOURCES);
		}
		runs_isolate(a, at - a->base, end - a->base, &first, &last);
		for (i = first; i < last; i++)
			a->runs[i].flags |= NT_RUN_COMMITTED;
		runs_merge(a, first ? first - 1 : 0, last);
		runs_trim(s, a);
		s->committed_bytes += end - at;
	}
	return NTVM_STATUS_SUCCESS;
}

static void view_link(struct nt_space *s, struct nt_vad *a)
{
	a->vprev = NULL;
	a->vnext = s->reserve_views;
	if (a->vnext)
		a->vnext->vprev = a;
	s->reserve_views = a;
}

static void view_unlink(struct nt_space *s, struct nt_vad *a)
{
	if (!(a->sec->attrs & NTVM_SEC_RESERVE))
		return;
	if (a->vprev)
		a->vprev->vnext = a->vnext;
	else
		s->reserve_views = a->vnext;
	if (a->vnext)
		a->vnext->vprev = a->vprev;
	a->vnext = NULL;
	a->vprev = NULL;
}

/*
 * After view a committed [off, end) of its SEC_RESERVE section, the other
 * views of that section in this address space learn it at once.  Views in
 * other processes learn it on their next fault there (libntvm's handler,
 * NTVM_IOC_GUARD) or NT call on those pages: see Documentation/ntvm.rst.
 */
static void view_spread(struct nt_space *s, struct nt_vad *a, u64 off, u64 end)
{
	struct nt_vad *b, *next;
	u64 lo, hi;

	for (b = s->reserve_views; b; b = next) {
		next = b->vnext;
		if (b == a || b->sec != a->sec || b->sec_off >= end ||
		    b->sec_off + b->size <= off)
			continue;
		lo = b->base + (max_u64(off, b->sec_off) - b->sec_off);
		hi = b->base + (min_u64(end, b->sec_off + b->size) - b->sec_off);
		/* A view gone behind ntvm's back is forgotten, not mapped. */
		if (alloc_sync(s, b, lo, hi))
			view_learn(s, b, lo, hi);
	}
}

/* May a page of [lo, hi), mapped private, have a private copy? */
static bool view_run_written(struct nt_space *s, u64 lo, u64 hi)
{
	bool written;

	if (!s->ops->cow_any)
		return true;
	s->ops->lock_read(s->ctx);
	written = s->ops->cow_any(s->ctx, lo, hi);
	s->ops->unlock_read(s->ctx);
	return written;
}

/*
 * Does run r of view a change between shared and private when [its part
 * of] the view takes protection prot?  Write-copy in a shared view maps
 * it private (wc); another protection maps it shared again while none of
 * its pages has been written (a run with a written page stays private).
 */
static bool view_run_toggles(struct nt_space *s, struct nt_vad *a,
			     const struct nt_run *r, u64 at, u64 end, u32 prot,
			     bool wc)
{
	if (wc)
		return !(r->flags & NT_RUN_COW);
	return (r->flags & NT_RUN_COW) && !(a->attrs & NT_ATTR_COW) &&
	       !is_writecopy(prot) && !view_run_written(s, at, end);
}

/* Map [at, end) of view a again, shared or private (cow), with lprot. */
static int view_remap(struct nt_space *s, struct nt_vad *a, u64 at, u64 end,
		      u32 lprot, bool cow)
{
	return s->ops->map_view(s->ctx, at, end - at, lprot | NT_VIEW_REMAP,
				a->sec, a->sec_off + (at - a->base), cow, false);
}

/*
 * A re-mapping of run r, [at, end), failed: where the kernel removed the
 * mapping, map_view() put PROT_NONE of the backing back, which is an
 * unlearnt page of the view.  Where every piece s->layout recorded is
 * still there, the run stays as it was.
 */
static void view_run_failed(struct nt_space *s, struct nt_run *r, u64 at,
			    u64 end)
{
	const struct nt_piece *p;
	u64 start, pend;
	bool intact = true;
	u32 i;
	int lp;

	s->ops->lock_read(s->ctx);
	for (i = 0; i < s->nlayout && intact; i++) {
		p = &s->layout[i];
		if (p->end <= at || p->start >= end)
			continue;
		lp = s->ops->prot_at(s->ctx, max_u64(p->start, at), &start, &pend);
		intact = lp == p->lprot && start <= max_u64(p->start, at) &&
			 pend >= min_u64(p->end, end);
	}
	s->ops->unlock_read(s->ctx);
	if (intact)
		return;
	if (r->flags & NT_RUN_COMMITTED)
		s->committed_bytes -= end - at;
	r->flags &= ~(NT_RUN_COMMITTED | NT_RUN_GUARD | NT_RUN_COW | NT_RUN_WC);
	r->gprot = 0;
}

/*
 * Put [at, end) of view a back as s->layout recorded it, private when cow:
 * the re-mapping of a run that a later run's failure takes back.  Only
 * a run that changed from shared to private, or from private to shared
 * with no page written, is taken back, so no written page is lost.
 * False when a piece cannot be mapped again.
 */
static bool view_remap_back(struct nt_space *s, struct nt_vad *a, u64 at,
			    u64 end, bool cow)
{
	const struct nt_piece *p;
	bool ok = true;
	u32 i;

	for (i = 0; i < s->nlayout; i++) {
		p = &s->layout[i];
		if (p->end <= at || p->start >= end || p->lprot == NT_VMA_NONE)
			continue;
		if (view_remap(s, a, max_u64(p->start, at), min_u64(p->end, end),
			       p->lprot & NT_LPROT_MASK, cow))
			ok = false;
	}
	return ok;
}

/*
 * Give [lo, hi) of view a the protection prot, checked against the view's
 * (spec 4.1.4, 4.3): every page is then committed in the view.  PAGE_GUARD
 * arms guard pages as in private memory (spec 4.7 of the VM spec);
 * write-copy in a shared view maps the pages private, so that a write
 * makes a private copy (spec 4.3.4, 4.3.5), and another protection maps
 * them shared again while none of them has been written (a run with a
 * written page stays private).  *apply: the mprotect(2) the library makes.
 *
 * The re-mappings come first, then the runs' state: a re-mapping that
 * fails takes back the ones before it (from s->layout, recorded before
 * the first), so that the failed call changes nothing but, where the
 * kernel removed them, the failing run's pages (view_run_failed()).
 */
static u32 view_set_prot(struct nt_space *s, struct nt_vad *a, u64 lo, u64 hi,
			 u32 prot, u32 *apply, u32 *apply_prot)
{
	bool wc = is_writecopy(prot) && !(a->attrs & NT_ATTR_COW);
	u32 lprot = (prot & NTVM_PAGE_GUARD) ? 0 : view_lprot(true, prot);
	u32 i, j, first, last, st = NTVM_STATUS_SUCCESS;
	bool saved = false, cow;
	struct nt_run *r;
	u64 at, end;
	int err;

	if (!runs_reserve(s, a, runs_cuts(a, lo - a->base, hi - a->base)))
		return NTVM_STATUS_INSUFFICIENT_RESOURCES;
	runs_isolate(a, lo - a->base, hi - a->base, &first, &last);
	for (i = first; i < last; i++) {
		r = &a->runs[i];
		at = a->base + r->off;
		end = a->base + run_end(a, i);
		if (!view_run_toggles(s, a, r, at, end, prot, wc))
			continue;
		/* What to put back, recorded before the first re-mapping. */
		if (!saved && s->undo.base != a->base) {
			if (!layout_save(s, lo, hi)) {
				st = NTVM_STATUS_INSUFFICIENT_RESOURCES;
				break;
			}
			saved = true;
		}
		cow = !(r->flags & NT_RUN_COW);
		err = view_remap(s, a, at, end, lprot, cow);
		if (err) {
			st = map_error(err, NTVM_STATUS_INSUFFICIENT_RESOURCES);
			view_run_failed(s, r, at, end);
			for (j = first; j < i; j++) {
				r = &a->runs[j];
				if (!(r->flags & NT_RUN_REMAPPED))
					continue;
				r->flags &= ~NT_RUN_REMAPPED;
				if (!view_remap_back(s, a, a->base + r->off,
						     a->base + run_end(a, j),
						     !!(r->flags & NT_RUN_COW)))
					view_run_failed(s, r, a->base + r->off,
							a->base + run_end(a, j));
			}
			break;
		}
		r->flags |= NT_RUN_REMAPPED;
	}
	if (saved)
		layout_put(s);
	if (st) {
		runs_merge(a, first ? first - 1 : 0, last);
		runs_trim(s, a);
		return st;
	}
	for (i = first; i < last; i++) {
		r = &a->runs[i];
		if (r->flags & NT_RUN_REMAPPED)
			r->flags ^= NT_RUN_REMAPPED | NT_RUN_COW;
		if (!(r->flags & NT_RUN_COMMITTED)) {
			r->flags |= NT_RUN_COMMITTED;
			s->committed_bytes += run_end(a, i) - r->off;
		}
		if (is_writecopy(prot))
			r->flags |= NT_RUN_WC;
		else
			r->flags &= ~NT_RUN_WC;
	}
	runs_protect(a, first, last, prot);
	runs_trim(s, a);
	if (needs_mprotect(s, lo, hi, lprot)) {
		*apply = NTVM_APPLY_MPROTECT;
		*apply_prot = lprot;
	}
	return NTVM_STATUS_SUCCESS;
}

/*
 * MEM_COMMIT inside a view (spec 4.1): commits the section's pages (a
 * SEC_RESERVE section's commit state is shared by every view), and acts
 * as a protection change, which may only narrow the view's protection.
 */
static u32 view_commit(struct nt_space *s, struct nt_vad *a, u64 lo, u64 hi,
		       struct nt_alloc_req *in)
{
	struct nt_section *sec = a->sec;
	u64 off = a->sec_off + (lo - a->base), end = off + (hi - lo);
	u32 st;

	if (sec->attrs & NTVM_SEC_FILE)
		return NTVM_STATUS_ALREADY_COMMITTED;
	if (in->protect & ~(0xffu | NTVM_PAGE_GUARD))
		return NTVM_STATUS_INVALID_PAGE_PROTECTION;
	if (prot_rights(in->protect) & ~prot_rights(a->alloc_protect))
		return NTVM_STATUS_SECTION_PROTECTION;
	if (!runs_reserve(s, a, runs_cuts(a, lo - a->base, hi - a->base)))
		return NTVM_STATUS_INSUFFICIENT_RESOURCES;
	/*
	 * What the view's runs and mappings were, for NTVM_IOC_UNDO should
	 * user space's mprotect() fail (the section's commit stays).
	 */
	if (!undo_save(s, a, lo, hi, 0))
		return NTVM_STATUS_INSUFFICIENT_RESOURCES;
	if (sec->attrs & NTVM_SEC_RESERVE) {
		s->ops->section_lock(sec);
		/* Bounded: the commit map is kernel memory (spec 1.3.7). */
		if (!commit_map_reserve(sec, 2)) {
			s->ops->section_unlock(sec);
			nt_undo_forget(s);
			return NTVM_STATUS_INSUFFICIENT_RESOURCES;
		}
		section_commit(sec, off, end);
		s->ops->section_unlock(sec);
		view_spread(s, a, off, end);
	}
	st = view_set_prot(s, a, lo, hi, in->protect, &in->apply,
			   &in->apply_prot);
	if (st || !in->apply)
		nt_undo_forget(s);
	return st;
}

/*
 * May the range a commit just made be published in the shared NT state
 * (struct ntvm_shared_range)?  Only where every page was committed
 * already (commit_range() says so: the commits worth answering without
 * the module are the repeated ones, and the first commit of fresh pages
 * then pays nothing for publishing), the module finished the call itself
 * (no mprotect() left to user space), in plain private memory, with a
 * protection that a query reports as given (a base protection: no guard
 * page, no cache modifier): what a later commit of those pages with that
 * protection leaves as it is, and a MEM_RESET only advises.
 */
static bool commit_publishable(const struct nt_vad *a,
			       const struct nt_alloc_req *in)
{
	return !in->apply && !a->sec &&
	       nt_from_lprot(nt_to_lprot(in->protect)) == in->protect &&
	       !(a->attrs & (NT_ATTR_WRITE_WATCH | NT_ATTR_LARGE_PAGES |
			     NT_ATTR_NOCACHE | NT_ATTR_WRITECOMBINE |
			     NT_ATTR_PLACEHOLDER | NT_ATTR_VIEW));
}

/* MEM_COMMIT inside an existing allocation. */
static u32 nt_commit(struct nt_space *s, struct nt_alloc_req *in)
{
	u64 lo, hi;
	struct nt_vad *a = range_alloc(s, in, &lo, &hi);
	u32 st;

	/*
	 * Write-copy is a protection of views only (spec 1.5.2): anywhere
	 * else it is refused as the protection check refuses it, before the
	 * range is looked at.
	 */
	if (is_writecopy(in->protect) && (!a || !a->sec))
		return NTVM_STATUS_INVALID_PAGE_PROTECTION;
	/* Spec 1.7.3: ReactOS's status, the best guess for Windows. */
	if (!a)
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	if (a->sec)
		st = view_commit(s, a, lo, hi, in);
	else
		st = commit_range(s, a, lo - a->base, hi - a->base, in->protect, in);
	if (!st) {
		in->base = lo;
		in->size = hi - lo;
		if (in->publish && !commit_publishable(a, in))
			in->publish = 0;
	}
	return st;
}

/* MEM_RESET: contents may go, state and protection stay (spec 6). */
static u32 nt_reset(struct nt_space *s, struct nt_alloc_req *in)
{
	u64 lo, hi;
	struct nt_vad *a = range_alloc(s, in, &lo, &hi);

	if (!a)
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	/*
	 * A view's pages are shared: discarding them would zero them for
	 * every view (spec 4.5.1, 9.5), so MEM_RESET is only the hint.
	 */
	if (!a->sec && runs_committed(a, lo - a->base, hi - a->base)) {
		if (s->ops->reset_arm(s->ctx, lo, hi - lo))
			return NTVM_STATUS_INSUFFICIENT_RESOURCES;
		in->apply = NTVM_APPLY_MADV_FREE;
	}
	in->base = lo;
	in->size = hi - lo;
	return NTVM_STATUS_SUCCESS;
}

/*
 * MEM_RESET_UNDO (spec 6.6): succeed only if no page of the range can have
 * been discarded.  Touch first, then ask: once touched a page stays, so a
 * discard that the answer misses cannot happen any more.  Only committed
 * pages are touched, a span of them at a time, and of those only the ones
 * a MEM_RESET left watched in writable memory (ops->touch()): a reset page
 * that is not writable cannot be kept without writing to it against its
 * protection, which would also make pages the kernel never charged for;
 * the answer is then "lost".
 */
static int reset_touch(struct nt_space *s, u64 rs, u64 re, bool *kept)
{
	int err = re > rs ? s->ops->touch(s->ctx, rs, re - rs) : 0;

	if (err > 0)
		*kept = false;
	return err < 0 ? err : 0;
}

static u32 nt_reset_undo(struct nt_space *s, struct nt_alloc_req *in)
{
	u64 lo, hi, rs = 0, re = 0, ps, pe;
	struct nt_vad *a = range_alloc(s, in, &lo, &hi);
	bool kept = true;
	u32 i;

	if (!a)
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	for (i = a->sec ? a->nruns : run_index(a, lo - a->base);
	     i < a->nruns && a->base + a->runs[i].off < hi; i++) {
		if (!(a->runs[i].flags & NT_RUN_COMMITTED))
			continue;
		ps = max_u64(a->base + a->runs[i].off, lo);
		pe = min_u64(a->base + run_end(a, i), hi);
		/* Neighbouring committed runs make one span. */
		if (re == ps && re > rs) {
			re = pe;
			continue;
		}
		if (reset_touch(s, rs, re, &kept))
			return NTVM_STATUS_INSUFFICIENT_RESOURCES;
		rs = ps;
		re = pe;
	}
	if (reset_touch(s, rs, re, &kept))
		return NTVM_STATUS_INSUFFICIENT_RESOURCES;
	if (s->ops->reset_lost(s->ctx, lo, hi - lo) || !kept)
		return NTVM_STATUS_UNSUCCESSFUL;
	in->base = lo;
	in->size = hi - lo;
	return NTVM_STATUS_SUCCESS;
}

/* The watch output: is addr in a MEM_WRITE_WATCH allocation? */
static bool watched_at(struct nt_space *s, u64 addr)
{
	struct nt_vad *a = find_alloc(s, addr);

	return a && (a->attrs & NT_ATTR_WRITE_WATCH);
}

void nt_allocate(struct nt_space *s, struct nt_alloc_req *a)
{
	u32 type = a->type, st;
	u64 limit;

	a->apply = 0;
	a->apply_prot = 0;
	a->publish = 0;
	nt_undo_forget(s);
	st = nt_zero_bits_limit(a->zero_bits, s->max_addr, &limit);
	if (!st)
		st = check_alloc_type(type, a->ex);
	if (!st)
		st = nt_check_protect(a->protect);
	/*
	 * Write-copy commits: only inside views (nt_commit()), decided with
	 * the protection, from the view at the base, before any other check.
	 */
	if (st && type == NTVM_MEM_COMMIT && a->base && is_writecopy(a->protect) &&
	    in_view(s, a->base))
		st = NTVM_STATUS_SUCCESS;
	/* Spec 6.1.2: a placeholder is PAGE_NOACCESS. */
	if (!st && (type & NTVM_MEM_RESERVE_PLACEHOLDER) &&
	    a->protect != NTVM_PAGE_NOACCESS)
		st = NTVM_STATUS_INVALID_PARAMETER;
	/* NT probes BaseAddress and RegionSize here (spec 1.4.2). */
	if (!st && (a->bad & NT_BAD_POINTER))
		st = NTVM_STATUS_ACCESS_VIOLATION;
	if (!st && (type & NTVM_MEM_LARGE_PAGES))
		st = nt_check_large(s, a);	/* core/memctl.c */
	if (!st && (type & NTVM_MEM_PHYSICAL))
		st = NTVM_STATUS_NOT_SUPPORTED;
	if (!st && a->requirements)
		st = check_requirements(s, a);
	if (!st && a->base > s->max_addr)
		st = NTVM_STATUS_INVALID_PARAMETER_2;
	if (!st && (!a->size || a->size > s->max_addr - a->base + 1))
		st = NTVM_STATUS_INVALID_PARAMETER_4;
	/* Then NT references the process by its handle. */
	if (!st && (a->bad & NT_BAD_HANDLE))
		st = NTVM_STATUS_INVALID_HANDLE;
	if (st)
		goto out;

	if (type & NTVM_MEM_RESET)
		st = nt_reset(s, a);
	else if (type & NTVM_MEM_RESET_UNDO)
		st = nt_reset_undo(s, a);
	else if (type & NTVM_MEM_REPLACE_PLACEHOLDER)
		st = nt_replace(s, a);
	else if ((type & NTVM_MEM_RESERVE) || !a->base)
		st = nt_reserve(s, a, limit);
	else
		st = nt_commit(s, a);
out:
	a->status = st;
	a->watch = !st && watched_at(s, a->base);
}

/* ---- NtFreeVirtualMemory ----------------------------------------------- */

/* Release [lo, hi) (offsets) of a; a may be split in two (spec 2.7). */
static u32 release_range(struct nt_space *s, struct nt_vad *a, u64 lo, u64 hi)
{
	struct nt_vad *tail = NULL;
	struct avl_slot slot;
	u64 committed;
	u32 i, n;
	int err;

	if (!lo && hi == a->size) {
		err = s->ops->unmap(s->ctx, a->base, a->size);
		if (err)
			return NTVM_STATUS_INSUFFICIENT_RESOURCES;
		space_remove(s, a);
		return NTVM_STATUS_SUCCESS;
	}
	if (lo && hi < a->size) {
		tail = alloc_new(s);
		if (!tail)
			return NTVM_STATUS_INSUFFICIENT_RESOURCES;
		i = run_index(a, hi);
		n = a->nruns - i;
		if (!runs_reserve(s, tail, n)) {
			alloc_free(s, tail);
			return NTVM_STATUS_INSUFFICIENT_RESOURCES;
		}
	}
	err = s->ops->unmap(s->ctx, a->base + lo, hi - lo);
	if (err) {
		if (tail)
			alloc_free(s, tail);
		return NTVM_STATUS_INSUFFICIENT_RESOURCES;
	}

	committed = runs_committed(a, lo, hi);
	s->committed_bytes -= committed;
	if (tail) {
		/* [hi, size) becomes an allocation of its own. */
		memcpy(tail->runs, &a->runs[i], n * sizeof(*tail->runs));
		tail->nruns = n;
		for (i = 0; i < n; i++)
			tail->runs[i].off = i ? tail->runs[i].off - hi : 0;
		tail->base = a->base + hi;
		tail->size = a->size - hi;
		tail->alloc_protect = a->alloc_protect;
		tail->attrs = a->attrs;
		tail->checked = a->checked;
		a->nruns = run_index(a, lo - 1) + 1;
		a->size = lo;
		/* space_insert() counts the tail's share again. */
		s->reserved_bytes -= tail->size;
		s->committed_bytes -= runs_committed(tail, 0, tail->size);
		avl_find_slot(s, tail->base, &slot);
		space_insert(s, tail, &slot);
	} else if (lo) {
		/* Release of the tail: the allocation shrinks. */
		a->nruns = run_index(a, lo - 1) + 1;
		a->size = lo;
	} else {
		/* Release of the head: the rest starts at a new base. */
		i = run_index(a, hi);
		n = a->nruns - i;
		memmove(a->runs, &a->runs[i], n * sizeof(*a->runs));
		a->nruns = n;
		for (i = 0; i < n; i++)
			a->runs[i].off = i ? a->runs[i].off - hi : 0;
		/* The tree order holds: nothing else lies in [base, base + hi). */
		a->base += hi;
		a->size -= hi;
	}
	runs_trim(s, a);
	s->reserved_bytes -= hi - lo;
	return NTVM_STATUS_SUCCESS;
}

/*
 * Memory that a call releases, decommits or returns to a placeholder loses
 * its contents, and with them what a MEM_RESET said of them: the watch
 * over [lo, hi) ends.  Memory committed there later was never reset, and
 * an undo of it finds nothing lost (spec 6.6).
 */
static void forget_resets(struct nt_space *s, u64 lo, u64 hi)
{
	s->ops->reset_lost(s->ctx, lo, hi - lo);
}

static u32 decommit_range(struct nt_space *s, struct nt_vad *a, u64 lo, u64 hi)
{
	u64 committed = runs_committed(a, lo, hi);
	u32 first, last;
	int err;

	if (!runs_reserve(s, a, runs_cuts(a, lo, hi)))
		return NTVM_STATUS_INSUFFICIENT_RESOURCES;
	/* Guard pages are committed too; PROT_NONE pages must drop as well. */
	if (committed) {
		if (s->ops->fixed_unmaps_first &&
		    !layout_save(s, a->base + lo, a->base + hi))
			return NTVM_STATUS_INSUFFICIENT_RESOURCES;
		err = s->ops->map(s->ctx, a->base + lo, hi - lo,
				  NT_MAP_DECOMMIT, 0);
		/*
		 * On failure the mappings are put back as they were, their
		 * contents zero where they had been removed (the contents
		 * were to be discarded), and the call fails.  If that fails
		 * too, the pages are gone: decommitted after all, which is
		 * what the call asked for.
		 */
		if (err && !layout_restore(s, a)) {
			layout_put(s);
			return NTVM_STATUS_INSUFFICIENT_RESOURCES;
		}
		layout_put(s);
		if (err && map_retry(s, a->base + lo, hi - lo, NT_MAP_DECOMMIT, 0))
			return NTVM_STATUS_INSUFFICIENT_RESOURCES;	/* a hole */
	}
	runs_isolate(a, lo, hi, &first, &last);
	a->runs[first].flags = 0;
	a->runs[first].gprot = 0;
	memmove(&a->runs[first + 1], &a->runs[last],
		(a->nruns - last) * sizeof(*a->runs));
	a->nruns -= last - first - 1;
	runs_merge(a, first ? first - 1 : 0, first + 1);
	runs_trim(s, a);
	s->committed_bytes -= committed;
	forget_resets(s, a->base + lo, a->base + hi);
	return NTVM_STATUS_SUCCESS;
}

/* ---- Placeholders: split, coalesce, back from a replacement ------------- */

/* A node with room for the runs of any piece of a. */
static struct nt_vad *piece_new(struct nt_space *s, const struct nt_vad *a)
{
	struct nt_vad *t = alloc_new(s);

	if (t && !runs_reserve(s, t, a->nruns)) {
		alloc_free(s, t);
		t = NULL;
	}
	return t;
}

/*
 * Split a at off (0 < off < size): [off, size) moves to t, a node from
 * piece_new(), which becomes an allocation of its own.  Cannot fail.
 */
static void alloc_split(struct nt_space *s, struct nt_vad *a, u64 off,
			struct nt_vad *t)
{
	u32 i = run_index(a, off), n = a->nruns - i, k;
	struct avl_slot slot;

	memcpy(t->runs, &a->runs[i], n * sizeof(*t->runs));
	t->nruns = n;
	for (k = 0; k < n; k++)
		t->runs[k].off = k ? t->runs[k].off - off : 0;
	t->base = a->base + off;
	t->size = a->size - off;
	t->alloc_protect = a->alloc_protect;
	t->attrs = a->attrs;
	t->checked = a->checked;
	t->sec = a->sec;
	t->sec_off = a->sec_off + off;
	if (t->sec)
		s->ops->section_get(t->sec);
	a->nruns = run_index(a, off - 1) + 1;
	/* space_insert() counts t's share again. */
	s->reserved_bytes -= t->size;
	s->committed_bytes -= runs_committed(t, 0, t->size);
	a->size = off;
	avl_find_slot(s, t->base, &slot);
	space_insert(s, t, &slot);
}

/* Does [lo, hi) meet one of the n ranges? */
static bool ranges_meet(const u64 (*r)[2], u32 n, u64 lo, u64 hi)
{
	u32 i;

	for (i = 0; i < n; i++)
		if (r[i][0] < hi && r[i][1] > lo)
			return true;
	return false;
}

/*
 * MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER (spec 6.3, 6.5.5, 6.5.6): split a
 * free placeholder at page granularity, or turn [lo, hi) of an allocation
 * that replaced a placeholder back into one.
 */
static u32 nt_preserve(struct nt_space *s, struct nt_vad *a, u64 lo, u64 hi,
		       const struct nt_free_req *f)
{
	struct nt_vad *mid = NULL, *tail = NULL;
	u64 off = lo - a->base, end = hi - a->base, committed;
	int err;

	if (a->attrs & NT_ATTR_PLACEHOLDER) {
		/* Nothing to split off (spec 6.3.3). */
		if (!off && end == a->size)
			return NTVM_STATUS_CONFLICTING_ADDRESSES;
	} else if (!(a->attrs & NT_ATTR_FROM_PLACEHOLDER)) {
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	} else if (ranges_meet(f->keep, f->nkeep, lo, hi)) {
		/* Its pages go, the results with them: free nothing. */
		return NTVM_STATUS_ACCESS_VIOLATION;
	}
	if (off) {
		mid = piece_new(s, a);
		if (!mid)
			return NTVM_STATUS_INSUFFICIENT_RESOURCES;
	}
	if (end < a->size) {
		tail = piece_new(s, a);
		if (!tail) {
			if (mid)
				alloc_free(s, mid);
			return NTVM_STATUS_INSUFFICIENT_RESOURCES;
		}
	}
	committed = runs_committed(a, off, end);
	/*
	 * Reserved pages are PROT_NONE, unless the program made them
	 * accessible behind ntvm's back (mprotect() moves no change count):
	 * a placeholder holds no pages, so those go too.
	 */
	if (committed || (!(a->attrs & NT_ATTR_PLACEHOLDER) &&
			  needs_mprotect(s, lo, hi, 0))) {
		if (s->ops->fixed_unmaps_first && !layout_save(s, lo, hi)) {
			err = -ENOMEM;
		} else {
			/* The contents go: a placeholder holds no pages. */
			err = s->ops->map(s->ctx, lo, hi - lo, NT_MAP_DECOMMIT, 0);
			/*
			 * As decommit_range(): the mappings back and the call
			 * fails, or, if they cannot be put back, the pages
			 * are gone and PROT_NONE in their place is what a
			 * placeholder holds: the call goes on.
			 */
			if (err && layout_restore(s, a) &&
			    !map_retry(s, lo, hi - lo, NT_MAP_DECOMMIT, 0))
				err = 0;
			layout_put(s);
		}
		if (err) {
			if (mid)
				alloc_free(s, mid);
			if (tail)
				alloc_free(s, tail);
			return NTVM_STATUS_INSUFFICIENT_RESOURCES;
		}
	}
	if (tail)
		alloc_split(s, a, end, tail);
	if (mid)
		alloc_split(s, a, off, mid);
	else
		mid = a;
	if (!(mid->attrs & NT_ATTR_PLACEHOLDER)) {
		s->committed_bytes -= committed;
		mid->nruns = 1;
		mid->runs[0].flags = 0;
		mid->runs[0].gprot = 0;
		mid->alloc_protect = NTVM_PAGE_NOACCESS;
		mid->attrs = NT_ATTR_PLACEHOLDER;
	}
	return NTVM_STATUS_SUCCESS;
}

/* The free placeholder starting at addr, or NULL. */
static struct nt_vad *placeholder_at(struct nt_space *s, u64 addr)
{
	struct nt_vad *a = alloc_ending_above(s, addr);

	if (!a || a->base != addr || !(a->attrs & NT_ATTR_PLACEHOLDER))
		return NULL;
	return a;
}

/* The next allocation above n in address order, or NULL. */
static struct nt_vad *avl_next(struct nt_vad *n)
{
	if (n->right) {
		n = n->right;
		while (n->left)
			n = n->left;
		return n;
	}
	while (n->parent && n == n->parent->right)
		n = n->parent;
	return n->parent;
}

/* The free placeholder that starts where p ends, or NULL. */
static struct nt_vad *next_placeholder(struct nt_vad *p)
{
	struct nt_vad *q = avl_next(p);

	if (!q || q->base != p->base + p->size || !(q->attrs & NT_ATTR_PLACEHOLDER))
		return NULL;
	return q;
}

/*
 * MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS (spec 6.4): [lo, hi) must be
 * exactly two or more adjacent free placeholders, from one reservation or
 * several (6.4.5).  The mappings are all PROT_NONE reservations already:
 * only the bookkeeping changes.
 */
static u32 nt_coalesce(struct nt_space *s, u64 lo, u64 hi)
{
	struct nt_vad *a, *p;
	u64 at, size, checked;
	u32 n = 0;

	/*
	 * Each piece is the one after the last in the tree (they do not
	 * overlap, so the next base at or above its end is the next node):
	 * no search from the root per piece.
	 */
	a = placeholder_at(s, lo);
	checked = a ? a->checked : 0;
	for (at = lo, p = a; p && at < hi; p = next_placeholder(p)) {
		if (p->checked != checked)
			checked = (u64)-1;
		at += p->size;
		n++;
	}
	if (!a || at != hi || n < 2)
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	/* Pieces unmapped behind ntvm's back are holes: nothing merges. */
	for (at = lo, p = a; at < hi; at += p->size, p = avl_next(p))
		if (!alloc_sync(s, p, p->base, p->base + p->size))
			return NTVM_STATUS_CONFLICTING_ADDRESSES;
	while (a->size < hi - lo) {
		p = avl_next(a);
		size = p->size;
		space_remove(s, p);
		s->reserved_bytes += size;
		a->size += size;
	}
	a->checked = checked;
	return NTVM_STATUS_SUCCESS;
}

/* The two placeholder free types; *f is checked for the range already. */
static u32 nt_free_placeholder(struct nt_space *s, struct nt_free_req *f)
{
	u64 lo = nt_page_down(f->base);
	u64 hi = nt_round_up(f->base + f->size, PAGE);
	struct nt_vad *a;
	u32 st;

	if (f->type & NTVM_MEM_COALESCE_PLACEHOLDERS) {
		st = nt_coalesce(s, lo, hi);
	} else {
		a = find_alloc(s, lo);
		if (!a)
			return NTVM_STATUS_MEMORY_NOT_ALLOCATED;
		if (hi > a->base + a->size)
			return NTVM_STATUS_UNABLE_TO_FREE_VM;
		if (!alloc_sync(s, a, lo, hi))
			return NTVM_STATUS_MEMORY_NOT_ALLOCATED;
		/* Spec 4.2.2, 6.6.6: only unmapping returns a view. */
		if (a->sec)
			return NTVM_STATUS_INVALID_PARAMETER;
		f->watch = a->attrs & NT_ATTR_WRITE_WATCH;
		st = nt_preserve(s, a, lo, hi, f);
		if (!st)
			forget_resets(s, lo, hi);
	}
	if (!st) {
		f->base = lo;
		f->size = hi - lo;
	}
	return st;
}

void nt_free(struct nt_space *s, struct nt_free_req *f)
{
	u64 lo, hi;
	struct nt_vad *a;
	u32 st;

	nt_undo_forget(s);
	if (f->type == (NTVM_MEM_RELEASE | NTVM_MEM_PRESERVE_PLACEHOLDER) ||
	    f->type == (NTVM_MEM_RELEASE | NTVM_MEM_COALESCE_PLACEHOLDERS)) {
		/* Spec 6.3.3, 6.4.2: size 0 is refused first. */
		if (f->bad & NT_BAD_POINTER)
			st = NTVM_STATUS_ACCESS_VIOLATION;
		else if (!f->size)
			st = NTVM_STATUS_INVALID_PARAMETER_3;
		else if (f->base > s->max_addr)
			st = NTVM_STATUS_INVALID_PARAMETER_2;
		else if (f->size > s->max_addr - f->base + 1)
			st = NTVM_STATUS_INVALID_PARAMETER_3;
		else if (f->bad & NT_BAD_HANDLE)
			st = NTVM_STATUS_INVALID_HANDLE;
		else
			st = nt_free_placeholder(s, f);
		goto out;
	}
	if (f->type != NTVM_MEM_RELEASE && f->type != NTVM_MEM_DECOMMIT) {
		st = NTVM_STATUS_INVALID_PARAMETER_4;
		goto out;
	}
	if (f->bad & NT_BAD_POINTER) {
		st = NTVM_STATUS_ACCESS_VIOLATION;
		goto out;
	}
	if (f->base > s->max_addr) {
		st = NTVM_STATUS_INVALID_PARAMETER_2;
		goto out;
	}
	if (f->size > s->max_addr - f->base + 1) {
		st = NTVM_STATUS_INVALID_PARAMETER_3;
		goto out;
	}
	if (f->bad & NT_BAD_HANDLE) {
		st = NTVM_STATUS_INVALID_HANDLE;
		goto out;
	}

	lo = nt_page_down(f->base);
	/* Checked against the mappings below, once the range is known. */
	a = find_alloc(s, lo);
	if (!a) {
		st = NTVM_STATUS_MEMORY_NOT_ALLOCATED;
		goto out;
	}
	if (!f->size) {
		if (lo != a->base) {
			st = NTVM_STATUS_FREE_VM_NOT_AT_BASE;
			goto out;
		}
		hi = a->base + a->size;
	} else {
		hi = nt_round_up(f->base + f->size, PAGE);
		if (hi > a->base + a->size) {
			st = NTVM_STATUS_UNABLE_TO_FREE_VM;
			goto out;
		}
	}
	if (!alloc_sync(s, a, lo, hi)) {
		st = NTVM_STATUS_MEMORY_NOT_ALLOCATED;
		goto out;
	}
	/* Spec 4.2.1: a view's pages go only with the section (R1's status). */
	if (a->sec) {
		st = NTVM_STATUS_UNABLE_TO_DELETE_SECTION;
		goto out;
	}
	/* The results could not be reported: free nothing. */
	if (ranges_meet(f->keep, f->nkeep, lo, hi)) {
		st = NTVM_STATUS_ACCESS_VIOLATION;
		goto out;
	}

	f->watch = a->attrs & NT_ATTR_WRITE_WATCH;
	if (f->type == NTVM_MEM_RELEASE)
		st = release_range(s, a, lo - a->base, hi - a->base);
	else
		st = decommit_range(s, a, lo - a->base, hi - a->base);
	if (!st) {
		/* decommit_range() ends the watch itself. */
		if (f->type == NTVM_MEM_RELEASE)
			forget_resets(s, lo, hi);
		/* Spec 2.5.1: a whole decommit by size 0 reports size 0. */
		f->size = !f->size && f->type == NTVM_MEM_DECOMMIT ? 0 : hi - lo;
		f->base = lo;
	}
out:
	f->status = st;
	if (st)
		f->watch = false;
}

/* ---- NtProtectVirtualMemory -------------------------------------------- */

/*
 * NtProtectVirtualMemory in a view (spec 4.3): the new protection may not
 * exceed the view's (STATUS_SECTION_PROTECTION, checked first, 4.3.3), and
 * the pages must be committed in the section.
 */
static u32 view_protect(struct nt_space *s, struct nt_vad *a, u64 lo,
			u64 hi, struct nt_protect_req *p)
{
	u32 state, prot, old = 0, st;
	u64 addr, end;
	bool damaged = false, reserved = false;
	int lp;

	if (p->protect & ~(0xffu | NTVM_PAGE_GUARD))
		return NTVM_STATUS_INVALID_PAGE_PROTECTION;
	if (prot_rights(p->protect) & ~prot_rights(a->alloc_protect))
		return NTVM_STATUS_SECTION_PROTECTION;
	/*
	 * The commit state of every page, and the old protection of the
	 * first: only that one needs a copy-on-write page told written or
	 * not, which reads the page tables (bounded by the runs and the
	 * mappings, not by the size of the range).
	 */
	s->ops->lock_read(s->ctx);
	for (addr = lo; addr < hi; addr = end) {
		if (!page_state_lp(s, a, addr, hi, &state, &prot, &end, &lp,
				   addr == lo)) {
			damaged = true;
			break;
		}
		if (state != NTVM_MEM_COMMIT)
			reserved = true;
		if (addr == lo)
			old = prot;
	}
	s->ops->unlock_read(s->ctx);
	if (damaged) {
		space_remove(s, a);
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	}
	if (reserved)
		return NTVM_STATUS_NOT_COMMITTED;
	/*
	 * What the mappings were, for NTVM_IOC_UNDO should the library's
	 * mprotect() fail (write-copy remaps are not taken back by it).
	 */
	if (!undo_save(s, a, lo, hi, 0))
		return NTVM_STATUS_INSUFFICIENT_RESOURCES;
	st = view_set_prot(s, a, lo, hi, p->protect, &p->apply, &p->apply_prot);
	if (st) {
		nt_undo_forget(s);
		return st;
	}
	if (!p->apply)
		nt_undo_forget(s);
	p->old_protect = old;
	p->old_protect_set = true;
	p->base = lo;
	p->size = hi - lo;
	return NTVM_STATUS_SUCCESS;
}

void nt_protect(struct nt_space *s, struct nt_protect_req *p)
{
	u32 st, state, prot, old = 0, first, last, lprot, n;
	u64 lo, hi, addr, end;
	struct nt_vad *a;
	bool damaged = false;
	int lp;

	p->apply = 0;
	p->apply_prot = 0;
	p->old_protect_set = false;
	p->watch = false;
	nt_undo_forget(s);
	st = nt_check_protect(p->protect);
	/*
	 * Write-copy: only for views, which check it themselves; decided with
	 * the protection, from the view at the base (spec 1.5.2, 4.3).
	 */
	if (st && (!is_writecopy(p->protect) || !in_view(s, p->base)))
		goto out;
	st = NTVM_STATUS_SUCCESS;
	if (p->bad & NT_BAD_POINTER) {
		st = NTVM_STATUS_ACCESS_VIOLATION;
		goto out;
	}
	if (p->base > s->max_addr) {
		st = NTVM_STATUS_INVALID_PARAMETER_2;
		goto out;
	}
	if (!p->size || p->size > s->max_addr - p->base + 1) {
		st = NTVM_STATUS_INVALID_PARAMETER_3;
		goto out;
	}
	if (p->bad & NT_BAD_HANDLE) {
		st = NTVM_STATUS_INVALID_HANDLE;
		goto out;
	}
	lo = nt_page_down(p->base);
	hi = nt_round_up(p->base + p->size, PAGE);
	/* The walk below checks the mappings as it reads them. */
	a = find_alloc(s, lo);
	/* Spec 4.8: outside one allocation, ReactOS's status. */
	if (!a || hi > a->base + a->size) {
		st = NTVM_STATUS_CONFLICTING_ADDRESSES;
		goto noaccess;
	}
	if (a->sec) {
		st = view_protect(s, a, lo, hi, p);
		if (st == NTVM_STATUS_NOT_COMMITTED)
			goto noaccess;
		/*
		 * Spec 4.3.3: x64 Windows writes 0 to OldProtect when the
		 * protection exceeds the view's (seen for PAGE_READWRITE on
		 * a PAGE_NOACCESS view; taken for every such failure).
		 */
		if (st == NTVM_STATUS_SECTION_PROTECTION) {
			p->old_protect = 0;
			p->old_protect_set = true;
		}
		goto out;
	}
	if (runs_committed(a, lo - a->base, hi - a->base) != hi - lo) {
		st = NTVM_STATUS_NOT_COMMITTED;
		goto noaccess;
	}
	if (!runs_reserve(s, a, runs_cuts(a, lo - a->base, hi - a->base))) {
		st = NTVM_STATUS_INSUFFICIENT_RESOURCES;
		goto out;
	}

	lprot = nt_to_lprot(p->protect);
	s->ops->lock_read(s->ctx);
	for (addr = lo, n = 0; addr < hi; addr = end, n++) {
		if (!page_state_lp(s, a, addr, hi, &state, &prot, &end, &lp,
				   true)) {
			damaged = true;
			break;
		}
		if (addr == lo)
			old = prot;
		if (nt_to_lprot(prot) != lprot)
			p->apply = NTVM_APPLY_MPROTECT;
		/* The mappings, for nt_undo(), in the same walk if they fit. */
		if (n < s->layout_cap)
			s->layout[n] = (struct nt_piece){ addr, end, lp };
	}
	s->ops->unlock_read(s->ctx);
	if (damaged) {
		space_remove(s, a);
		st = NTVM_STATUS_CONFLICTING_ADDRESSES;
		goto out;
	}

	/* If user space's mprotect() fails, nt_undo() takes the call back. */
	if (p->apply && !undo_save(s, a, lo, hi, n <= s->layout_cap ? n : 0)) {
		st = NTVM_STATUS_INSUFFICIENT_RESOURCES;
		goto out;
	}
	runs_isolate(a, lo - a->base, hi - a->base, &first, &last);
	runs_protect(a, first, last, p->protect);
	runs_trim(s, a);
	if (p->apply)
		p->apply_prot = lprot;
	p->old_protect = old;
	p->old_protect_set = true;
	p->base = lo;
	p->size = hi - lo;
	p->watch = a->attrs & NT_ATTR_WRITE_WATCH;
out:
	p->status = st;
	if (st)
		p->apply = 0;
	return;
noaccess:
	/* Windows writes PAGE_NOACCESS to OldProtect on these failures. */
	p->old_protect = NTVM_PAGE_NOACCESS;
	p->old_protect_set = true;
	p->status = st;
}

/* ---- NtQueryVirtualMemory ---------------------------------------------- */

#define REGION_MAX_STEPS 65536

/*
 * Describe the region starting at the page of addr.  Returns false if an
 * allocation there turned out damaged (the caller forgets it and retries).
 */
static bool region_at(struct nt_space *s, u64 addr, struct nt_region *r,
		      struct nt_vad **damaged)
{
	struct nt_vad *a = alloc_ending_above(s, addr), *next = a;
	u32 state, prot, st2, prot2, steps = 0;
	u64 start, end, end2, limit;
	int lp;

	memset(r, 0, sizeof(*r));
	r->base = nt_page_down(addr);
	if (a && a->base <= addr) {
		if (!page_state(s, a, r->base, a->base + a->size, &state, &prot, &end))
			goto bad;
		/*
		 * A copy-on-write view is read in pieces of pages (see
		 * ops->cow_written): past REGION_MAX_STEPS pieces a region
		 * ends early, so that one query stays bounded.
		 */
		while (end < a->base + a->size && ++steps < REGION_MAX_STEPS) {
			if (!page_state(s, a, end, a->base + a->size, &st2,
					&prot2, &end2))
				goto bad;
			if (st2 != state || prot2 != prot)
				break;
			end = end2;
		}
		r->allocation_base = a->base;
		r->allocation_protect = a->alloc_protect;
		r->size = end - r->base;
		r->state = state;
		r->protect = prot;
		r->type = nt_vad_type(a);
		if (a->attrs & NT_ATTR_WRITE_WATCH)
			r->flags = NTVM_REGION_WRITE_WATCH;
		return true;
	}

	/* No allocation holds addr: next is the one above, if any. */
	limit = next ? next->base : s->max_addr + 1;
	lp = s->ops->prot_at(s->ctx, r->base, &start, &end);
	if (lp == NT_VMA_NONE) {
		/* Free (spec 3.4) up to the next mapping or allocation. */
		r->size = min_u64(end, limit) - r->base;
		r->state = NTVM_MEM_FREE;
		r->protect = NTVM_PAGE_NOACCESS;
		return true;
	}
	/* Memory ntvm did not allocate: one region per mapping. */
	r->allocation_base = start;
	r->size = min_u64(end, limit) - r->base;
	r->state = NTVM_MEM_COMMIT;
	r->protect = nt_from_lprot(lp & NT_LPROT_MASK);
	r->allocation_protect = r->protect;
	r->type = (lp & NT_VMA_FOREIGN) ? NTVM_MEM_MAPPED : NTVM_MEM_PRIVATE;
	return true;
bad:
	*damaged = a;
	return false;
}

void nt_query(struct nt_space *s, struct nt_query_req *q,
	      struct nt_region *regions, u32 *count)
{
	u64 addr = q->address, end = q->end ? q->end : q->address + 1;
	struct nt_vad *damaged;
	u32 n = 0;

	if (addr > s->max_addr || (q->bad & NT_BAD_HANDLE)) {
		q->status = addr > s->max_addr ? NTVM_STATUS_INVALID_PARAMETER :
						 NTVM_STATUS_INVALID_HANDLE;
		*count = 0;
		return;
	}
	s->ops->lock_read(s->ctx);
	while (n < *count && addr < end && addr <= s->max_addr) {
		damaged = NULL;
		if (!region_at(s, addr, &regions[n], &damaged)) {
			/* Forgetting needs no mapping change: keep the lock. */
			space_remove(s, damaged);
			continue;
		}
		addr = regions[n].base + regions[n].size;
		n++;
	}
	s->ops->unlock_read(s->ctx);
	*count = n;
	q->status = NTVM_STATUS_SUCCESS;
}

/*
 * The address space the allocations take beyond their sizes.  Placement
 * puts a new allocation only in 64K blocks that no allocation touches, so
 * each block an allocation touches is taken whole: the pieces of a split
 * placeholder share theirs, and a page-granular hole between two of them
 * is taken too.  One walk in address order, as nt_largest_free() walks
 * the gaps.
 */
u64 nt_granularity_waste(struct nt_space *s)
{
	u64 taken = 0, end = 0, lo, hi, n = 0;
	struct nt_vad *a;

	for (a = alloc_ending_above(s, 0); a; a = avl_next(a)) {
		lo = max_u64(a->base & ~(GRAN - 1), end);
		hi = nt_round_up(a->base + a->size, GRAN);
		if (hi > lo)
			taken += hi - lo;
		end = max_u64(end, hi);
		/* Not stopped by a fatal signal: the answer is not the caller's. */
		if (!(++n % 1024))
			ntvm_core_resched();
	}
	return taken - s->reserved_bytes;
}

void nt_get_stats(struct nt_space *s, struct nt_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->reserved_bytes = s->reserved_bytes;
	st->committed_bytes = s->committed_bytes;
	st->allocations = s->nallocs;
	st->granularity_waste = nt_granularity_waste(s);
	st->largest_free = nt_largest_free(s, s->min_addr, s->max_addr + 1);
}

/* ---- Guard pages --------------------------------------------------------- */

/* Does protection prot allow an access of type NTVM_ACCESS_*? */
static bool access_allowed(u32 prot, u32 access)
{
	u32 lp = nt_to_lprot(prot);

	switch (access) {
	case NTVM_ACCESS_WRITE:
		return lp & NT_LPROT_W;
	case NTVM_ACCESS_EXECUTE:
		return lp & NT_LPROT_X;
	default:
		return lp & NT_LPROT_R;
	}
}

/*
 * The Linux protection a page of protection prot has once it is no guard
 * page: in a view, write-copy writes where the pages are private.
 */
static u32 unguarded_lprot(const struct nt_vad *a, u64 page, u32 prot)
{
	prot &= ~NTVM_PAGE_GUARD;
	if (!a->sec)
		return nt_to_lprot(prot);
	return view_lprot(run_cow(a, &a->runs[run_index(a, page - a->base)]),
			  prot);
}

/*
 * A fault at g->address: disarm the guard page there, once (spec 4.7); or,
 * in a view, learn a commit another view made (view_learn()).
 */
void nt_guard_hit(struct nt_space *s, struct nt_guard_req *g)
{
	u64 page = nt_page_down(g->address), end, lo, hi;
	struct nt_vad *a = find_alloc(s, page);
	u32 state, prot, first, last, lp, i;
	bool ok;

	nt_undo_forget(s);
	g->apply = 0;
	g->apply_prot = 0;
	g->status = NTVM_STATUS_ACCESS_VIOLATION;
	if (!a)
		return;
	s->ops->lock_read(s->ctx);
	ok = page_state(s, a, page, page + PAGE, &state, &prot, &end);
	s->ops->unlock_read(s->ctx);
	if (!ok) {
		space_remove(s, a);
		return;
	}
	if (state != NTVM_MEM_COMMIT)
		return;
	if (!(prot & NTVM_PAGE_GUARD)) {
		lp = unguarded_lprot(a, page, prot);
		i = run_index(a, page - a->base);
		if (a->sec && !(a->runs[i].flags & NT_RUN_COMMITTED)) {
			/* Committed by another view: the unlearnt run. */
			lo = a->base + a->runs[i].off;
			hi = a->base + run_end(a, i);
			if (!alloc_sync(s, a, lo, hi) || view_learn(s, a, lo, hi))
				return;
		}
		/* Disarmed by another thread since the fault: retry, if the
		 * protection now allows the access.
		 */
		if (access_allowed(nt_from_lprot(lp), g->access))
			g->status = NTVM_STATUS_SUCCESS;
		return;
	}
	if (!runs_reserve(s, a, runs_cuts(a, page - a->base,
					  page - a->base + PAGE))) {
		g->status = NTVM_STATUS_INSUFFICIENT_RESOURCES;
		return;
	}
	lp = unguarded_lprot(a, page, prot);
	runs_isolate(a, page - a->base, page - a->base + PAGE, &first, &last);
	a->runs[first].flags &= ~NT_RUN_GUARD;
	a->runs[first].gprot = 0;
	runs_merge(a, first ? first - 1 : 0, last);
	runs_trim(s, a);
	g->base = page;
	g->apply = NTVM_APPLY_MPROTECT;
	g->apply_prot = lp;
	g->status = NTVM_STATUS_GUARD_PAGE_VIOLATION;
}

/* ---- Write watch ---------------------------------------------------------- */

/* Spec 5.13: the range must lie inside one MEM_WRITE_WATCH allocation. */
void nt_watch_check(struct nt_space *s, struct nt_watch_req *w)
{
	struct nt_vad *a;

	w->status = NTVM_STATUS_INVALID_PARAMETER;
	if (!w->base || !w->length || w->base > s->max_addr ||
	    w->length > s->max_addr - w->base + 1)
		return;
	a = find_live(s, w->base, w->base + w->length);
	if (!a || !(a->attrs & NT_ATTR_WRITE_WATCH) ||
	    w->base + w->length > a->base + a->size)
		return;
	w->alloc_base = a->base;
	w->alloc_size = a->size;
	w->status = NTVM_STATUS_SUCCESS;
}

/* ---- For core/memctl.c (issue 11) ---------------------------------------- */

struct nt_vad *nt_find_live(struct nt_space *s, u64 addr, u64 hi)
{
	return find_live(s, addr, hi);
}

struct nt_vad *nt_vad_above(struct nt_space *s, u64 addr)
{
	return alloc_ending_above(s, addr);
}

/*
 * Let the views in [lo, hi) learn the section pages committed there that
 * they have not learnt yet (another view committed them), as a fault
 * there would (view_learn()): until then those pages are PROT_NONE, and a
 * lock must find every committed page accessible.  What fails to map is
 * learnt later.  Bounded by the allocations and runs of the range.
 */
void nt_views_learn(struct nt_space *s, u64 lo, u64 hi)
{
	struct nt_vad *a;
	u64 addr = lo, from, to;

	while (addr < hi && (a = alloc_ending_above(s, addr)) && a->base < hi) {
		from = max_u64(addr, a->base);
		to = min_u64(hi, a->base + a->size);
		if (a->sec && (a->sec->attrs & NTVM_SEC_RESERVE) &&
		    alloc_sync(s, a, from, to))
			view_learn(s, a, from, to);
		addr = to;
	}
}

bool nt_page_state(struct nt_space *s, struct nt_vad *a, u64 addr, u64 hi,
		   u32 *state, u32 *prot, u64 *end, bool cow)
{
	int lp;

	return page_state_lp(s, a, addr, hi, state, prot, end, &lp, cow);
}

/*
 * The committed bytes of an allocation; of a view, what the section has
 * committed in it, which other views may have committed (the view's own
 * runs learn of that only when touched).
 */
u64 nt_vad_committed(struct nt_space *s, struct nt_vad *a)
{
	u64 off, end, stop, n = 0;

	if (!a->sec)
		return runs_committed(a, 0, a->size);
	stop = a->sec_off + a->size;
	for (off = a->sec_off; off < stop; off = end) {
		bool yes = section_committed(s, a->sec, off, &end);

		/* A file section's last page reaches past its size. */
		end = end <= off ? stop : min_u64(end, stop);
		if (yes)
			n += end - off;
	}
	return n;
}

/* MEM_MAPPED for a view, MEM_PRIVATE for anything else ntvm allocated. */
u32 nt_vad_type(const struct nt_vad *a)
{
	return a->sec ? NTVM_MEM_MAPPED : NTVM_MEM_PRIVATE;
}

void nt_forget(struct nt_space *s, struct nt_vad *a)
{
	space_remove(s, a);
}

/* ---- Sections and views ------------------------------------------------- */

#define SEC_KNOWN (NTVM_SEC_FILE | NTVM_SEC_IMAGE | NTVM_SEC_RESERVE | \
		   NTVM_SEC_COMMIT | NTVM_SEC_NOCACHE | NTVM_SEC_WRITECOMBINE | \
		   NTVM_SEC_LARGE_PAGES)
/* Larger sections: STATUS_SECTION_TOO_BIG (spec 1.3.6, 128 TB). */
#define SEC_MAX_SIZE 0x800000000000ULL

/*
 * NtCreateSection's rules (spec 1.2 - 1.4), in ReactOS's order: the
 * attributes (STATUS_INVALID_PARAMETER_6) and the protection's modifier
 * and no-access bits (STATUS_INVALID_PAGE_PROTECTION), before NT probes
 * its pointers, which nt_section_check_early() alone lets the caller do;
 * then the rest of the protection, what the file allows, and the size.
 * *size is the section's size: page-rounded for memory, exact for a file
 * (which the caller grows when it is larger).
 */
u32 nt_section_check_early(u32 attrs, u32 protect)
{
	u32 kind = attrs & (NTVM_SEC_IMAGE | NTVM_SEC_RESERVE | NTVM_SEC_COMMIT);

	if (attrs & ~SEC_KNOWN)
		return NTVM_STATUS_INVALID_PARAMETER_6;
	if (!kind || (kind & (kind - 1)))
		return NTVM_STATUS_INVALID_PARAMETER_6;
	if (attrs & (NTVM_SEC_FILE | NTVM_SEC_LARGE_PAGES))
		return NTVM_STATUS_INVALID_PARAMETER_6;
	/*
	 * Spec 1.2.1: Windows takes SEC_NOCACHE with an image (ReactOS does
	 * not, 1.2.3), never SEC_WRITECOMBINE.
	 */
	if (kind == NTVM_SEC_IMAGE && (attrs & NTVM_SEC_WRITECOMBINE))
		return NTVM_STATUS_INVALID_PARAMETER_6;
	if (protect & (NTVM_PAGE_NOCACHE | NTVM_PAGE_WRITECOMBINE |
		       NTVM_PAGE_GUARD | NTVM_PAGE_NOACCESS))
		return NTVM_STATUS_INVALID_PAGE_PROTECTION;
	return NTVM_STATUS_SUCCESS;
}

/*
 * image_mz: the file starts with an image's "MZ" signature, for
 * SEC_IMAGE only.
 */
u32 nt_section_check(u32 attrs, u32 protect, bool file, u64 file_size,
		     bool image_mz, u32 file_rights, u64 max_size, u64 *size)
{
	u32 rights = prot_rights(protect);
	u32 st = nt_section_check_early(attrs, protect);

	if (st)
		return st;
	if (attrs & NTVM_SEC_IMAGE) {
		/*
		 * Spec 1.1.1: images are out of scope.  What is no image is
		 * refused as Windows refuses it (1.2.1, 1.3.4): no file or
		 * an empty one, and one without the signature.
		 */
		if (!file || !file_size)
			return NTVM_STATUS_INVALID_FILE_FOR_SECTION;
		return image_mz ? NTVM_STATUS_NOT_SUPPORTED :
				  NTVM_STATUS_INVALID_IMAGE_NOT_MZ;
	}
	/* Spec 1.4.1, 1.4.2: the six mappable protections, nothing more. */
	if ((protect & ~0xffu) || !rights || protect == NTVM_PAGE_EXECUTE)
		return NTVM_STATUS_INVALID_PAGE_PROTECTION;
	if (!file) {
		/* Spec 1.3.5: ReactOS's status. */
		if (!max_size)
			return NTVM_STATUS_INVALID_PARAMETER_4;
		if (max_size >= SEC_MAX_SIZE)
			return NTVM_STATUS_SECTION_TOO_BIG;
		*size = nt_round_up(max_size, PAGE);
		return NTVM_STATUS_SUCCESS;
	}
	/*
	 * Spec 1.4.3: the file must allow what the section may do: write,
	 * and execute (NT's FILE_EXECUTE; a Linux file allows it unless its
	 * mount is noexec).
	 */
	if (rights & ~file_rights & (NT_LPROT_W | NT_LPROT_X))
		return NTVM_STATUS_ACCESS_DENIED;
	if (!max_size) {
		if (!file_size)
			return NTVM_STATUS_MAPPED_FILE_SIZE_ZERO;
		*size = file_size;
		return NTVM_STATUS_SUCCESS;
	}
	/* Spec 1.3.3: only a writable section grows its file. */
	if (max_size > file_size &&
	    (!(rights & NT_LPROT_W) || max_size >= SEC_MAX_SIZE))
		return NTVM_STATUS_SECTION_TOO_BIG;
	*size = max_size;
	return NTVM_STATUS_SUCCESS;
}

/* Write-copy protections write private copies, never the backing. */
bool nt_section_writes(u32 protect)
{
	return prot_rights(protect) & NT_LPROT_W;
}

bool nt_section_init(struct nt_section *sec, u32 attrs, u32 protect, u64 size)
{
	struct nt_vad *c = &sec->commit;

	/* Spec 1.2.1: a file section reports SEC_FILE and the cache bits. */
	if (attrs & NTVM_SEC_FILE)
		attrs &= NTVM_SEC_FILE | NTVM_SEC_NOCACHE | NTVM_SEC_WRITECOMBINE;
	sec->attrs = attrs;
	sec->protect = protect;
	sec->size = size;
	sec->budget = NULL;
	sec->held = 0;
	c->runs = c->inline_runs;
	c->cap = NT_INLINE_RUNS;
	c->nruns = 1;
	c->size = nt_round_up(size, PAGE);
	return true;
}

void nt_section_fini(struct nt_section *sec)
{
	if (sec->budget)
		atomic64_sub(runs_records(&sec->commit), sec->budget);
	if (sec->commit.runs != sec->commit.inline_runs)
		ntvm_core_free(sec->commit.runs);
	sec->commit.runs = NULL;
}

/* The handle rights a view protection needs (spec 2.4.1). */
static u32 view_access(u32 prot)
{
	switch (prot & 0xff) {
	case NTVM_PAGE_READWRITE:
		return NTVM_SECTION_MAP_WRITE;
	case NTVM_PAGE_EXECUTE:
	case NTVM_PAGE_EXECUTE_READ:
	case NTVM_PAGE_EXECUTE_WRITECOPY:
		return NTVM_SECTION_MAP_READ | NTVM_SECTION_MAP_EXECUTE;
	case NTVM_PAGE_EXECUTE_READWRITE:
		return NTVM_SECTION_MAP_WRITE | NTVM_SECTION_MAP_EXECUTE;
	default:
		return NTVM_SECTION_MAP_READ;
	}
}

#define VIEW_TYPES (NTVM_MEM_TOP_DOWN | NTVM_MEM_RESERVE | \
		    NTVM_MEM_REPLACE_PLACEHOLDER)

/*
 * NtMapViewOfSection(Ex)'s argument checks, spec 2.1 - 2.3, in NT's order
 * (ReactOS's NtMapViewOfSection): the arguments passed by value, then the
 * variables (probed), the addresses (range, zero bits, then alignment:
 * spec 2.1.4), and only then the process and the section by their
 * handles, what the section allows, and the view's size.
 */
static u32 view_check(struct nt_space *s, struct nt_view_req *v, u64 *limit)
{
	struct nt_section *sec = v->sec;
	u64 gran = (v->type & NTVM_MEM_REPLACE_PLACEHOLDER) ? PAGE : GRAN;
	u32 st;

	if (v->inherit != 1 && v->inherit != 2)
		return NTVM_STATUS_INVALID_PARAMETER_8;
	/* Spec 2.1.2, 2.2.4: MEM_COMMIT, AT_ROUND_TO_PAGE on 64-bit. */
	if (v->type & ~VIEW_TYPES)
		return v->ex ? NTVM_STATUS_INVALID_PARAMETER :
			       NTVM_STATUS_INVALID_PARAMETER_9;
	/*
	 * Spec 2.5.3: a reserved view commits nothing, so MEM_RESERVE with a
	 * CommitSize is refused, as Server 2003 refuses it.  Without one it
	 * is accepted and changes nothing, as in Wine.
	 */
	if ((v->type & NTVM_MEM_RESERVE) && v->commit_size)
		return NTVM_STATUS_INVALID_PARAMETER_9;
	/* Spec 2.1.6. */
	switch (v->protect) {
	case NTVM_PAGE_NOACCESS:
	case NTVM_PAGE_READONLY:
	case NTVM_PAGE_READWRITE:
	case NTVM_PAGE_WRITECOPY:
	case NTVM_PAGE_EXECUTE:
	case NTVM_PAGE_EXECUTE_READ:
	case NTVM_PAGE_EXECUTE_READWRITE:
	case NTVM_PAGE_EXECUTE_WRITECOPY:
		break;
	default:
		return NTVM_STATUS_INVALID_PAGE_PROTECTION;
	}
	/* NT probes BaseAddress, ViewSize and SectionOffset here. */
	if (v->bad & NT_BAD_POINTER)
		return NTVM_STATUS_ACCESS_VIOLATION;
	/* Spec 2.1.3: the zero-bits statuses name parameter 4. */
	st = nt_zero_bits_limit(v->zero_bits, s->max_addr, limit);
	if (st)
		return NTVM_STATUS_INVALID_PARAMETER_4;
	if (v->base > s->max_addr)
		return NTVM_STATUS_INVALID_PARAMETER_3;
	if (v->size > s->max_addr + 1)
		return NTVM_STATUS_INVALID_PARAMETER_3;
	/*
	 * Spec 6.10.2, 8.2: never with a base, never an alignment.  All-zero
	 * requirements are none, also with a base (as for allocations,
	 * check_requirements(); spec 6.6.3 asks exactly that of a replace).
	 */
	if (v->requirements && (v->lowest || v->highest || v->alignment)) {
		if (v->base || v->alignment)
			return NTVM_STATUS_INVALID_PARAMETER;
		if (v->highest && (((v->highest + 1) & (PAGE - 1)) ||
				   v->highest > s->max_addr))
			return NTVM_STATUS_INVALID_PARAMETER;
		if ((v->lowest & (GRAN - 1)) ||
		    (v->highest && v->lowest > v->highest))
			return NTVM_STATUS_INVALID_PARAMETER;
	}
	/* Spec 2.1.4: zero bits before alignment. */
	if (v->base && v->base + (v->size ? v->size - 1 : 0) > *limit)
		return NTVM_STATUS_INVALID_PARAMETER_4;
	if ((v->base & (gran - 1)) || ((u32)v->offset & (gran - 1)))
		return NTVM_STATUS_MAPPED_ALIGNMENT;
	/* Then NT references the process and the section by their handles. */
	if (v->bad & NT_BAD_HANDLE)
		return NTVM_STATUS_INVALID_HANDLE;
	if (!sec)
		return v->sec_status;
	/* Spec 2.4.1, then 2.4.2 (a no-access view counts as reading). */
	if (view_access(v->protect) & ~v->access)
		return NTVM_STATUS_ACCESS_DENIED;
	if ((prot_rights(v->protect) | NT_LPROT_R) & ~prot_rights(sec->protect))
		return NTVM_STATUS_SECTION_PROTECTION;
	if (v->offset >= sec->size)
		return NTVM_STATUS_INVALID_VIEW_SIZE;
	if (!v->size)
		v->size = sec->size - v->offset;
	else if (v->size > sec->size - v->offset)
		return NTVM_STATUS_INVALID_VIEW_SIZE;
	if (v->commit_size > v->size)
		return NTVM_STATUS_INVALID_PARAMETER_5;
	if (v->base && nt_round_up(v->size, PAGE) > s->max_addr - v->base + 1)
		return NTVM_STATUS_INVALID_PARAMETER_3;
	return NTVM_STATUS_SUCCESS;
}

/* Turn the placeholder a into view v (spec 6.6): mapped over it in place. */
static u32 view_replace(struct nt_space *s, struct nt_view_req *v,
			const struct nt_view_map *vm, u32 lprot, u64 size,
			struct nt_vad **out)
{
	struct nt_vad *a = v->base ? find_alloc(s, v->base) : NULL;
	int err;

	/* Wine's statuses (spec 6.6.3). */
	if (!a)
		return NTVM_STATUS_INVALID_PARAMETER;
	if (a->base != v->base || a->size != size)
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	if (!(a->attrs & NT_ATTR_PLACEHOLDER))
		return NTVM_STATUS_INVALID_PARAMETER;
	if (!alloc_sync(s, a, a->base, a->base + a->size))
		return NTVM_STATUS_INVALID_PARAMETER;
	err = s->ops->map_view(s->ctx, a->base, size, lprot, vm->sec, vm->off,
			       vm->cow, true);
	if (err)
		return map_error(err, NTVM_STATUS_INSUFFICIENT_RESOURCES);
	/* One run, reserved: a->runs[0] is a placeholder's. */
	*out = a;
	return NTVM_STATUS_SUCCESS;
}

void nt_map_view(struct nt_space *s, struct nt_view_req *v)
{
	struct nt_view_map vm = { .sec = v->sec, .off = v->offset };
	struct nt_alloc_req in = { 0 };
	bool replace = v->type & NTVM_MEM_REPLACE_PLACEHOLDER;
	struct nt_vad *a = NULL;
	struct avl_slot slot;
	u64 limit, size, base = v->base;
	u32 st, lprot, attrs;
	bool reserve, held = false;
	int err;

	nt_undo_forget(s);
	st = view_check(s, v, &limit);
	if (st)
		goto out;
	size = nt_round_up(v->size, PAGE);
	/*
	 * Spec 2.7.1: CommitSize commits from the view's start.  The room
	 * for it is held from here to the commit: the section's lock is
	 * dropped while the view is mapped, and another address space's
	 * commit must not take the room meanwhile.
	 */
	if (v->commit_size && (v->sec->attrs & NTVM_SEC_RESERVE)) {
		s->ops->section_lock(v->sec);
		held = commit_map_reserve(v->sec, 2);
		if (held)
			v->sec->held += 2;
		s->ops->section_unlock(v->sec);
		if (!held) {
			st = NTVM_STATUS_INSUFFICIENT_RESOURCES;
			goto out;
		}
	}
	vm.cow = v->protect == NTVM_PAGE_WRITECOPY ||
		 v->protect == NTVM_PAGE_EXECUTE_WRITECOPY;
	attrs = NT_ATTR_VIEW | (vm.cow ? NT_ATTR_COW : 0);
	if (v->sec->attrs & NTVM_SEC_NOCACHE)
		attrs |= NT_ATTR_NOCACHE;
	if (v->sec->attrs & NTVM_SEC_WRITECOMBINE)
		attrs |= NT_ATTR_WRITECOMBINE;
	/* A SEC_RESERVE view's pages are PROT_NONE until committed. */
	reserve = v->sec->attrs & NTVM_SEC_RESERVE;
	lprot = reserve ? 0 : view_lprot(vm.cow, v->protect);

	if (replace) {
		st = view_replace(s, v, &vm, lprot, size, &a);
		if (st)
			goto out;
		a->attrs = attrs | NT_ATTR_FROM_PLACEHOLDER;
	} else {
		if (base) {
			if (overlap_live(s, base & ~(GRAN - 1), base + size, &slot)) {
				st = NTVM_STATUS_CONFLICTING_ADDRESSES;
				goto out;
			}
		}
		a = alloc_new(s);
		if (!a) {
			st = NTVM_STATUS_INSUFFICIENT_RESOURCES;
			goto out;
		}
		a->checked = s->ops->changes(s->ctx);
		if (base) {
			err = map_new(s, base, size, lprot, false, &vm);
			st = err ? map_error(err, NTVM_STATUS_NO_MEMORY) : 0;
		} else {
			in.type = v->type & NTVM_MEM_TOP_DOWN;
			if (v->requirements) {
				in.requirements = true;
				in.lowest = v->lowest;
				in.highest = v->highest;
			}
			st = find_and_reserve(s, &in, limit, size, lprot, false,
					      &base, &slot, &vm);
		}
		if (st) {
			alloc_free(s, a);
			a = NULL;
			goto out;
		}
		a->base = base;
		a->size = size;
		a->attrs = attrs;
		space_insert(s, a, &slot);
	}
	s->ops->section_get(v->sec);
	a->sec = v->sec;
	a->sec_off = v->offset;
	/* Spec 4.3.8: SEC_NOCACHE shows in the view's AllocationProtect too. */
	a->alloc_protect = v->protect |
			   (attrs & (NT_ATTR_NOCACHE | NT_ATTR_WRITECOMBINE));
	if (!reserve) {
		a->runs[0].flags = NT_RUN_COMMITTED;
		s->committed_bytes += size;
	} else {
		view_link(s, a);
		if (held) {
			s->ops->section_lock(v->sec);
			v->sec->held -= 2;
			held = false;
			section_commit(v->sec, v->offset, v->offset +
				       nt_round_up(v->commit_size, PAGE));
			s->ops->section_unlock(v->sec);
			view_spread(s, a, v->offset, v->offset +
				    nt_round_up(v->commit_size, PAGE));
		}
		/*
		 * The pages committed so far; what fails to map here is
		 * learnt on a later fault or call (view_learn()).
		 */
		view_learn(s, a, base, base + size);
	}
	v->base = base;
	v->size = size;
out:
	if (held) {
		s->ops->section_lock(v->sec);
		v->sec->held -= 2;
		s->ops->section_unlock(v->sec);
	}
	v->status = st;
}

/*
 * NtUnmapViewOfSectionEx (spec 3, 6.7): any address inside the view; with
 * MEM_PRESERVE_PLACEHOLDER a view that replaced a placeholder turns back
 * into one, mapped over in place.
 */
u32 nt_unmap_view(struct nt_space *s, u64 addr, u32 flags, bool other_process)
{
	struct nt_vad *a;
	int err;

	nt_undo_forget(s);
	if (flags & ~(NTVM_MEM_UNMAP_WITH_TRANSIENT_BOOST |
		      NTVM_MEM_PRESERVE_PLACEHOLDER))
		return NTVM_STATUS_INVALID_PARAMETER;
	/*
	 * Then, as the WRK's NtUnmapViewOfSection: an address above the
	 * user range, before the process handle.
	 */
	if (addr > s->max_addr)
		return NTVM_STATUS_NOT_MAPPED_VIEW;
	if (other_process)
		return NTVM_STATUS_INVALID_HANDLE;
	a = find_alloc(s, addr);
	if (!a || !a->sec || !alloc_sync(s, a, a->base, a->base + a->size))
		return NTVM_STATUS_NOT_MAPPED_VIEW;
	if (flags & NTVM_MEM_PRESERVE_PLACEHOLDER) {
		/* Spec 6.7.3: Wine's status. */
		if (!(a->attrs & NT_ATTR_FROM_PLACEHOLDER))
			return NTVM_STATUS_CONFLICTING_ADDRESSES;
		err = s->ops->map(s->ctx, a->base, a->size, NT_MAP_UNVIEW, 0);
		/*
		 * A failed MAP_FIXED may have removed the view (6.1): then
		 * the placeholder's reservation goes there, which is what
		 * the call asked for.  Otherwise the view is still there (a
		 * reservation over it is refused) and nothing changed.
		 */
		if (err && map_retry(s, a->base, a->size, NT_MAP_RESERVE, 0))
			return NTVM_STATUS_INSUFFICIENT_RESOURCES;
		s->committed_bytes -= runs_committed(a, 0, a->size);
		view_unlink(s, a);
		s->ops->section_put(a->sec);
		a->sec = NULL;
		a->sec_off = 0;
		a->nruns = 1;
		a->runs[0].flags = 0;
		a->runs[0].gprot = 0;
		a->alloc_protect = NTVM_PAGE_NOACCESS;
		a->attrs = NT_ATTR_PLACEHOLDER;
		return NTVM_STATUS_SUCCESS;
	}
	err = s->ops->unmap(s->ctx, a->base, a->size);
	if (err)
		return NTVM_STATUS_INSUFFICIENT_RESOURCES;
	space_remove(s, a);
	return NTVM_STATUS_SUCCESS;
}
