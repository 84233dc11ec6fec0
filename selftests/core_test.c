// SPDX-License-Identifier: GPL-2.0
/*
 * Unit and fuzz tests of the NT core (module/core), in user space, on a
 * fake address space (fake_mm.c).  Built with ASan and UBSan by
 * "make -C selftests host-check".
 */
#include <stdlib.h>
#include "kselftest_harness.h"
#include "fake_mm.h"

#define GRAN NTVM_GRANULARITY
#define PAGE NTVM_PAGE_SIZE
#define MAXA 0x7ffffffeffffULL
/* The fuzz window: all allocations of the fuzz test live here. */
#define WIN 0x10000000ULL
#define WIN_GRANS 8
#define WIN_PAGES (WIN_GRANS * GRAN / PAGE)

static const u32 base_prots[] = { 0x01, 0x02, 0x04, 0x10, 0x20, 0x40 };

FIXTURE(core) {
	struct fake_mm *mm;
	struct nt_space s;
};

FIXTURE_SETUP(core)
{
	self->mm = calloc(1, sizeof(*self->mm));
	ASSERT_NE(NULL, self->mm);
	self->mm->task_size = 0x800000000000ULL;
	nt_space_init(&self->s, &fake_ops, self->mm, GRAN, MAXA);
	self->mm->space = &self->s;
}

FIXTURE_TEARDOWN(core)
{
	nt_space_destroy(&self->s);
	free(self->mm);
}

static u32 alloc(struct nt_space *s, u64 *base, u64 *size, u32 type, u32 prot)
{
	struct nt_alloc_req a = { .base = *base, .size = *size, .type = type,
				.protect = prot };

	nt_allocate(s, &a);
	if (!a.status) {
		*base = a.base;
		*size = a.size;
	}
	return a.status;
}

static u32 nfree(struct nt_space *s, u64 *base, u64 *size, u32 type)
{
	struct nt_free_req f = { .base = *base, .size = *size, .type = type };

	nt_free(s, &f);
	if (!f.status) {
		*base = f.base;
		*size = f.size;
	}
	return f.status;
}

static struct nt_region query(struct nt_space *s, u64 addr)
{
	struct nt_query_req q = { .address = addr };
	struct nt_region r;
	u32 n = 1;

	memset(&r, 0xcc, sizeof(r));
	nt_query(s, &q, &r, &n);
	if (q.status || n != 1)
		memset(&r, 0xee, sizeof(r));
	return r;
}

/*
 * A commit over committed pages of another protection leaves their
 * mprotect() to user space; when it fails, nt_undo() takes the call back,
 * and must not need memory to do so (the kernel's allocation may fail
 * there too, under failslab).  Many runs made one by the commit: the
 * array that held them is what the undo puts them back in.
 */
TEST_F(core, undo_needs_no_memory)
{
	struct nt_space *s = &self->s;
	struct nt_alloc_req c;
	struct nt_stats before, after;
	struct nt_region r;
	struct nt_piece out[4];
	u64 base = 0, size = 256 * PAGE, b, sz;
	u32 count, i, runs;
	bool more;

	for (runs = 3; runs <= 256; runs = runs * 2 + 1) {
		base = 0;
		size = runs * PAGE;
		ASSERT_EQ(0, alloc(s, &base, &size, NTVM_MEM_RESERVE, NTVM_PAGE_READWRITE));
		for (i = 1; i < runs; i += 2) {
			b = base + i * PAGE;
			sz = PAGE;
			ASSERT_EQ(0, alloc(s, &b, &sz, NTVM_MEM_COMMIT, NTVM_PAGE_READONLY));
		}
		nt_get_stats(s, &before);
		c = (struct nt_alloc_req){ .base = base, .size = size,
					   .type = NTVM_MEM_COMMIT,
					   .protect = NTVM_PAGE_READWRITE };
		nt_allocate(s, &c);
		ASSERT_EQ(0, c.status);
		ASSERT_EQ(NTVM_APPLY_MPROTECT, c.apply);

		/* User space's mprotect() failed: nothing was applied. */
		fake_zalloc_fails = true;
		EXPECT_EQ(0, nt_undo(s, base, size, out, 4, &count, &more));
		fake_zalloc_fails = false;
		EXPECT_EQ(0, count);
		EXPECT_FALSE(more);
		for (i = 0; i < runs; i++) {
			r = query(s, base + i * PAGE);
			EXPECT_EQ(PAGE, r.size) TH_LOG("%u runs, page %u", runs, i);
			EXPECT_EQ(i & 1 ? NTVM_MEM_COMMIT : NTVM_MEM_RESERVE, r.state);
			EXPECT_EQ(i & 1 ? NTVM_PAGE_READONLY : 0, r.protect);
			EXPECT_EQ(i & 1 ? NT_LPROT_R : 0,
				  fake_prot(self->mm, base + i * PAGE, &b, &sz));
		}
		nt_get_stats(s, &after);
		EXPECT_EQ(before.committed_bytes, after.committed_bytes);
		EXPECT_EQ(before.reserved_bytes, after.reserved_bytes);
		size = 0;
		ASSERT_EQ(0, nfree(s, &base, &size, NTVM_MEM_RELEASE));
	}
}

/* ---- Pure rules ---- */

TEST(protect_values)
{
	u32 p, base, mods;
	bool valid;
	int i;

	for (p = 0; p < 0x1000; p++) {
		base = p & 0xff;
		mods = p & ~0xffu;
		valid = false;
		for (i = 0; i < 6; i++)
			valid |= base == base_prots[i];
		valid &= mods == 0 || mods == 0x100 || mods == 0x200 || mods == 0x400;
		valid &= !(mods && base == NTVM_PAGE_NOACCESS);
		EXPECT_EQ(valid ? 0 : NTVM_STATUS_INVALID_PAGE_PROTECTION,
			  nt_check_protect(p)) TH_LOG("prot %#x", p);
	}
}

/* The highest user addresses of a 64-bit and of a 32-bit process. */
#define MAX64 0x7ffffffeffffULL
#define MAX32 0xfffeffffULL

TEST(zero_bits)
{
	u64 lim;

	EXPECT_EQ(0, nt_zero_bits_limit(0, MAX64, &lim));
	EXPECT_EQ(~0ULL, lim);
	EXPECT_EQ(0, nt_zero_bits_limit(1, MAX64, &lim));
	EXPECT_EQ(0x7fffffffULL, lim);
	EXPECT_EQ(0, nt_zero_bits_limit(12, MAX64, &lim));
	EXPECT_EQ(0xfffffULL, lim);
	EXPECT_EQ(0, nt_zero_bits_limit(21, MAX64, &lim));
	EXPECT_EQ(0x7ffULL, lim);
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER_3, nt_zero_bits_limit(22, MAX64, &lim));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER_3, nt_zero_bits_limit(32, MAX64, &lim));
	EXPECT_EQ(0, nt_zero_bits_limit(0x1aaaaaaa, MAX64, &lim));
	EXPECT_EQ(0x1fffffffULL, lim);
	EXPECT_EQ(0, nt_zero_bits_limit(0xffffffffULL, MAX64, &lim));
	EXPECT_EQ(0xffffffffULL, lim);
	EXPECT_EQ(0, nt_zero_bits_limit(~0ULL, MAX64, &lim));
	EXPECT_EQ(~0ULL, lim);
	/* A 32-bit process: the counts, never a mask. */
	EXPECT_EQ(0, nt_zero_bits_limit(21, MAX32, &lim));
	EXPECT_EQ(0x7ffULL, lim);
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER_3, nt_zero_bits_limit(22, MAX32, &lim));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER_3, nt_zero_bits_limit(0x1aaaaaaa, MAX32, &lim));
}

TEST(lprot_mapping)
{
	int i;

	for (i = 0; i < 6; i++) {
		EXPECT_EQ(base_prots[i], nt_from_lprot(nt_to_lprot(base_prots[i])));
		EXPECT_EQ(0, nt_to_lprot(base_prots[i] | NTVM_PAGE_GUARD));
	}
	EXPECT_EQ(NTVM_PAGE_READWRITE, nt_from_lprot(NT_LPROT_W));
}

/* ---- Operations, exact outputs ---- */

TEST_F(core, partial_release_splits)
{
	u64 base = 0x20000000, size = 0x10000, b, sz;
	struct nt_region r;
	struct nt_stats st;

	ASSERT_EQ(0, alloc(&self->s, &base, &size, NTVM_MEM_RESERVE | NTVM_MEM_COMMIT,
			   NTVM_PAGE_READWRITE));
	b = base + 0x4001;
	sz = 0x1fff;
	ASSERT_EQ(0, nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
	EXPECT_EQ(base + 0x4000, b);
	EXPECT_EQ(0x2000, sz);
	nt_get_stats(&self->s, &st);
	EXPECT_EQ(2, st.allocations);
	EXPECT_EQ(0xe000, st.reserved_bytes);
	EXPECT_EQ(0xe000, st.committed_bytes);
	/* Both pieces are in one 64K block: the hole between them is taken. */
	EXPECT_EQ(0x2000, st.granularity_waste);
	r = query(&self->s, base + 0x7000);
	EXPECT_EQ(base + 0x6000, r.allocation_base);
	EXPECT_EQ(base + 0x7000, r.base);
	EXPECT_EQ(0x9000, r.size);
	r = query(&self->s, base + 0x4000);
	EXPECT_EQ(NTVM_MEM_FREE, r.state);
	EXPECT_EQ(0x2000, r.size);
	/* The head keeps its base; releasing its head moves it. */
	b = base;
	sz = 0x1000;
	ASSERT_EQ(0, nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
	r = query(&self->s, base + 0x1000);
	EXPECT_EQ(base + 0x1000, r.allocation_base);
	EXPECT_EQ(0x3000, r.size);
	b = base + 0x1000;
	sz = 0;
	EXPECT_EQ(0, nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
	EXPECT_EQ(0x3000, sz);
	b = base + 0x6000;
	sz = 0;
	EXPECT_EQ(0, nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
	nt_get_stats(&self->s, &st);
	EXPECT_EQ(0, st.allocations);
	EXPECT_EQ(0, st.reserved_bytes);
	EXPECT_EQ(0, st.committed_bytes);
	EXPECT_EQ(0, st.granularity_waste);
	EXPECT_EQ(0, self->mm->n);
}

TEST_F(core, failed_map_changes_nothing)
{
	u64 base = 0x20000000, size = 0x10000, b, sz, st0, en;
	struct nt_stats st;

	ASSERT_EQ(0, alloc(&self->s, &base, &size, NTVM_MEM_RESERVE, NTVM_PAGE_NOACCESS));
	b = base + 0x1000;
	sz = 0x1000;
	ASSERT_EQ(0, alloc(&self->s, &b, &sz, NTVM_MEM_COMMIT, NTVM_PAGE_READWRITE));
	/* Commit over two uncommitted runs; the second map fails. */
	self->mm->fail_at = 2;
	self->mm->calls = 0;
	b = base;
	sz = 0x4000;
	EXPECT_EQ(NTVM_STATUS_COMMITMENT_LIMIT,
		  alloc(&self->s, &b, &sz, NTVM_MEM_COMMIT, NTVM_PAGE_READWRITE));
	EXPECT_EQ(base, b);
	EXPECT_EQ(0x4000, sz);
	nt_get_stats(&self->s, &st);
	EXPECT_EQ(0x1000, st.committed_bytes);
	EXPECT_EQ(NTVM_MEM_RESERVE, query(&self->s, base).state);
	EXPECT_EQ(NTVM_MEM_COMMIT, query(&self->s, base + 0x1000).state);
	EXPECT_EQ(0x1000, query(&self->s, base + 0x1000).size);
	EXPECT_EQ(0xe000, query(&self->s, base + 0x2000).size);
	EXPECT_EQ(0, fake_prot(self->mm, base, &st0, &en));
	EXPECT_EQ(NT_LPROT_R | NT_LPROT_W, fake_prot(self->mm, base + 0x1000, &st0, &en));
	EXPECT_EQ(0, fake_prot(self->mm, base + 0x2000, &st0, &en));
	/* A failed release keeps the allocation whole. */
	self->mm->fail_at = 1;
	self->mm->calls = 0;
	b = base + 0x2000;
	sz = 0x1000;
	EXPECT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES,
		  nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
	nt_get_stats(&self->s, &st);
	EXPECT_EQ(1, st.allocations);
	EXPECT_EQ(0x10000, st.reserved_bytes);
	self->mm->fail_at = 0;
}

/*
 * An allocation checked whole is not checked again until something is
 * unmapped behind ntvm's back; then the next call sees reality.
 */
TEST_F(core, unmapped_behind_back)
{
	u64 b = 0, sz = 4 * GRAN, b2, sz2;
	int reads;

	ASSERT_EQ(0, alloc(&self->s, &b, &sz, NTVM_MEM_RESERVE, NTVM_PAGE_NOACCESS));
	b2 = b;
	sz2 = GRAN;
	ASSERT_EQ(0, alloc(&self->s, &b2, &sz2, NTVM_MEM_COMMIT, NTVM_PAGE_READWRITE));
	reads = self->mm->reads;
	b2 = b;
	sz2 = GRAN;
	ASSERT_EQ(0, nfree(&self->s, &b2, &sz2, NTVM_MEM_DECOMMIT));
	ASSERT_EQ(reads, self->mm->reads);

	/* munmap() of one page behind ntvm's back. */
	fake_munmap(self->mm, b + GRAN, b + GRAN + PAGE);
	reads = self->mm->reads;
	b2 = b;
	sz2 = 0;
	ASSERT_EQ(NTVM_STATUS_MEMORY_NOT_ALLOCATED,
		  nfree(&self->s, &b2, &sz2, NTVM_MEM_RELEASE));
	ASSERT_LT(reads, self->mm->reads);
	ASSERT_EQ(0u, self->s.nallocs);

	/* An unmap elsewhere: one check of the whole, then none. */
	b = 0;
	sz = 4 * GRAN;
	ASSERT_EQ(0, alloc(&self->s, &b, &sz, NTVM_MEM_RESERVE, NTVM_PAGE_NOACCESS));
	fake_munmap(self->mm, 0x7f0000000000ULL, 0x7f0000001000ULL);
	reads = self->mm->reads;
	b2 = b + GRAN;
	sz2 = PAGE;
	ASSERT_EQ(0, alloc(&self->s, &b2, &sz2, NTVM_MEM_COMMIT, NTVM_PAGE_READWRITE));
	ASSERT_LT(reads, self->mm->reads);
	reads = self->mm->reads;
	ASSERT_EQ(0, nfree(&self->s, &b2, &sz2, NTVM_MEM_DECOMMIT));
	ASSERT_EQ(reads, self->mm->reads);

	/* Damage outside the range used: it still works, and is rechecked. */
	fake_munmap(self->mm, b + 3 * GRAN, b + 3 * GRAN + PAGE);
	b2 = b;
	sz2 = PAGE;
	ASSERT_EQ(0, alloc(&self->s, &b2, &sz2, NTVM_MEM_COMMIT, NTVM_PAGE_READWRITE));
	reads = self->mm->reads;
	ASSERT_EQ(0, nfree(&self->s, &b2, &sz2, NTVM_MEM_DECOMMIT));
	ASSERT_LT(reads, self->mm->reads);
	b2 = b + 3 * GRAN;
	sz2 = PAGE;
	ASSERT_EQ(NTVM_STATUS_MEMORY_NOT_ALLOCATED,
		  nfree(&self->s, &b2, &sz2, NTVM_MEM_DECOMMIT));
	ASSERT_EQ(0u, self->s.nallocs);
}

TEST_F(core, placement)
{
	u64 a = 0, b = 0, c = 0, size = 0x1000;
	struct nt_alloc_req r = { .size = 0x1000, .type = NTVM_MEM_RESERVE,
				.protect = NTVM_PAGE_NOACCESS,
				.requirements = true,
				.lowest = 0x30000, .highest = 0x5ffff, .alignment = 0x20000 };

	ASSERT_EQ(0, alloc(&self->s, &a, &size, NTVM_MEM_RESERVE, NTVM_PAGE_NOACCESS));
	EXPECT_EQ(GRAN, a);
	ASSERT_EQ(0, alloc(&self->s, &b, &size, NTVM_MEM_RESERVE, NTVM_PAGE_NOACCESS));
	EXPECT_EQ(2 * GRAN, b);
	ASSERT_EQ(0, alloc(&self->s, &c, &size, NTVM_MEM_RESERVE | NTVM_MEM_TOP_DOWN,
			   NTVM_PAGE_NOACCESS));
	EXPECT_EQ(MAXA + 1 - GRAN, c);
	nt_allocate(&self->s, &r);
	EXPECT_EQ(0, r.status);
	EXPECT_EQ(0x40000, r.base);
	/* Nothing else fits below 0x60000 with that alignment. */
	r.base = 0;
	r.size = 0x1000;
	nt_allocate(&self->s, &r);
	EXPECT_EQ(NTVM_STATUS_NO_MEMORY, r.status);
	EXPECT_EQ(0, r.base);
}

TEST_F(core, reset_undo)
{
	u64 base = 0x20000000, size = 0x10000, b, sz;

	ASSERT_EQ(0, alloc(&self->s, &base, &size, NTVM_MEM_RESERVE, NTVM_PAGE_NOACCESS));
	/* Reserved pages only: nothing to watch, nothing to lose. */
	b = base;
	sz = 0x2000;
	EXPECT_EQ(0, alloc(&self->s, &b, &sz, NTVM_MEM_RESET, NTVM_PAGE_NOACCESS));
	EXPECT_EQ(0, self->mm->resets);
	b = base;
	sz = 0x4000;
	ASSERT_EQ(0, alloc(&self->s, &b, &sz, NTVM_MEM_COMMIT, NTVM_PAGE_READWRITE));
	EXPECT_EQ(0, alloc(&self->s, &b, &sz, NTVM_MEM_RESET, NTVM_PAGE_NOACCESS));
	EXPECT_EQ(1, self->mm->resets);
	EXPECT_EQ(0, alloc(&self->s, &b, &sz, NTVM_MEM_RESET_UNDO, NTVM_PAGE_NOACCESS));
	self->mm->reset_lost = true;
	EXPECT_EQ(NTVM_STATUS_UNSUCCESSFUL,
		  alloc(&self->s, &b, &sz, NTVM_MEM_RESET_UNDO, NTVM_PAGE_NOACCESS));
	b = base + 0xf000;
	sz = 0x2000;
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES,
		  alloc(&self->s, &b, &sz, NTVM_MEM_RESET_UNDO, NTVM_PAGE_NOACCESS));
	self->mm->reset_lost = false;
}

/* ---- Fuzz: random operations against invariants ---- */

struct page_view {
	struct nt_region r;
	int lprot;
};

static void snapshot(struct nt_space *s, struct fake_mm *mm, struct page_view *v)
{
	u64 a, st, en;
	int i;

	for (i = 0; i < WIN_PAGES; i++) {
		a = WIN + (u64)i * PAGE;
		v[i].r = query(s, a);
		v[i].r.base = 0;	/* depends on where the query starts */
		v[i].r.size = 0;
		v[i].lprot = fake_prot(mm, a, &st, &en);
	}
}

/* NT view and the fake page tables agree; statistics add up. */
/*
 * The AVL tree: ordered without overlap, heights right, balanced.  Returns
 * the height, or -1 with why set; *count counts the nodes, *last is the
 * end of the last allocation seen in order.
 */
static u64 tree_records;

static int check_tree(struct nt_vad *n, u64 *count, u64 *last, char *why)
{
	int l, r;

	if (!n)
		return 0;
	tree_records += 1 + (n->runs == n->inline_runs ? 0 : n->cap);
	if (n->nruns > n->cap || !n->nruns)
		return sprintf(why, "allocation %#llx: %u runs, %u slots",
			       (unsigned long long)n->base, n->nruns, n->cap), -1;
	if ((n->left && n->left->parent != n) ||
	    (n->right && n->right->parent != n))
		return sprintf(why, "allocation %#llx: a child's parent link is wrong",
			       (unsigned long long)n->base), -1;
	l = check_tree(n->left, count, last, why);
	if (l < 0)
		return -1;
	if (n->base < *last)
		return sprintf(why, "allocation %#llx out of order",
			       (unsigned long long)n->base), -1;
	*last = n->base + n->size;
	++*count;
	r = check_tree(n->right, count, last, why);
	if (r < 0)
		return -1;
	if (n->height != 1 + (l > r ? l : r) || l - r > 1 || r - l > 1)
		return sprintf(why, "allocation %#llx: height %d, subtrees %d and %d",
			       (unsigned long long)n->base, n->height, l, r), -1;
	return n->height;
}

static int check_invariants(struct nt_space *s, struct fake_mm *mm, char *why)
{
	u64 a, st, en, committed = 0, reserved = 0, count = 0, last = 0;
	struct nt_stats stats;
	struct nt_vad *spare;
	struct nt_region r;
	int i, lp;

	if (s->root && s->root->parent)
		return sprintf(why, "the root has a parent");
	tree_records = 0;
	if (check_tree(s->root, &count, &last, why) < 0)
		return 1;
	if (tree_records != s->records || s->records > s->max_records)
		return sprintf(why, "%llu records held, %llu counted, limit %llu",
			       (unsigned long long)tree_records,
			       (unsigned long long)s->records,
			       (unsigned long long)s->max_records);
	if (count != s->nallocs)
		return sprintf(why, "%llu allocations in the tree, %llu counted",
			       (unsigned long long)count,
			       (unsigned long long)s->nallocs);
	for (spare = s->root; spare && spare->right;)
		spare = spare->right;
	if (spare != s->max)
		return sprintf(why, "the highest allocation is not the one kept");
	for (spare = s->root; s->last && spare && spare != s->last;)
		spare = s->last->base < spare->base ? spare->left : spare->right;
	if (s->last && spare != s->last)
		return sprintf(why, "the last allocation found is not in the tree");
	for (spare = s->spare, i = 0; spare; spare = spare->left)
		i++;
	if (i != (int)s->nspare || s->nspare > NT_SPARE_ALLOCS)
		return sprintf(why, "%d spare nodes listed, %u counted", i,
			       s->nspare);

	for (i = 0; i < WIN_PAGES; i++) {
		a = WIN + (u64)i * PAGE;
		r = query(s, a);
		lp = fake_prot(mm, a, &st, &en);
		if (r.state == NTVM_MEM_FREE && lp != NT_VMA_NONE)
			return sprintf(why, "free page %#llx is mapped", (unsigned long long)a);
		if (r.state == NTVM_MEM_RESERVE && lp != 0)
			return sprintf(why, "reserved page %#llx has prot %d",
				       (unsigned long long)a, lp);
		if (r.state == NTVM_MEM_COMMIT &&
		    lp != (int)nt_to_lprot(r.protect))
			return sprintf(why, "page %#llx: NT %#x, mapping %d",
				       (unsigned long long)a, r.protect, lp);
		if (r.state != NTVM_MEM_FREE &&
		    (r.allocation_base > a || r.allocation_base < WIN))
			return sprintf(why, "page %#llx: allocation base %#llx",
				       (unsigned long long)a,
				       (unsigned long long)r.allocation_base);
		if (r.state == NTVM_MEM_COMMIT)
			committed += PAGE;
		if (r.state != NTVM_MEM_FREE)
			reserved += PAGE;
	}
	nt_get_stats(s, &stats);
	if (stats.committed_bytes != committed || stats.reserved_bytes != reserved)
		return sprintf(why, "stats %#llx/%#llx, pages %#llx/%#llx",
			       (unsigned long long)stats.committed_bytes,
			       (unsigned long long)stats.reserved_bytes,
			       (unsigned long long)committed,
			       (unsigned long long)reserved);
	return 0;
}

static u32 random_prot(unsigned int *seed)
{
	u32 p = base_prots[rand_r(seed) % 6];

	if (p != NTVM_PAGE_NOACCESS && rand_r(seed) % 4 == 0)
		p |= NTVM_PAGE_GUARD;
	if (rand_r(seed) % 50 == 0)
		p = rand_r(seed) & 0xfff;	/* mostly invalid */
	return p;
}

/* What libntvm does with NTVM_APPLY_MPROTECT, on the fake. */
static void apply_mprotect(struct fake_mm *mm, u64 base, u64 size, u32 prot)
{
	fake_protect(mm, base, base + size, prot);
}

/* ---- Bounded NT state (Documentation/security.rst) ---- */

static u32 protect(struct nt_space *s, u64 base, u64 size, u32 prot)
{
	struct nt_protect_req p = { .base = base, .size = size, .protect = prot };

	nt_protect(s, &p);
	return p.status;
}

static u64 count_records(struct nt_space *s)
{
	u64 count = 0, last = 0;
	char why[256];

	tree_records = 0;
	if (check_tree(s->root, &count, &last, why) < 0)
		return ~0ULL;
	return tree_records;
}

/*
 * Alternating guard protections in one PROT_NONE mapping make a run per
 * page: they stop at the limit with STATUS_INSUFFICIENT_RESOURCES, and the
 * refused call changes nothing.
 */
TEST_F(core, records_limit)
{
	u64 base = 0, size = 4096 * PAGE, b, sz, other, i, fail = 0;
	u32 st = 0;
	struct nt_region r;

	EXPECT_EQ(NT_MAX_RECORDS, self->s.max_records);
	self->s.max_records = 200;
	ASSERT_EQ(0, alloc(&self->s, &base, &size,
			   NTVM_MEM_RESERVE | NTVM_MEM_COMMIT,
			   NTVM_PAGE_READWRITE | NTVM_PAGE_GUARD));
	for (i = 1; i < 4096; i += 2) {
		st = protect(&self->s, base + i * PAGE, PAGE,
			     NTVM_PAGE_READONLY | NTVM_PAGE_GUARD);
		if (st) {
			fail = i;
			break;
		}
		ASSERT_EQ(count_records(&self->s), self->s.records);
	}
	ASSERT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES, st);
	/* One record for the allocation, 199 slots: 99 pages changed. */
	EXPECT_EQ(199, fail);
	EXPECT_EQ(200, self->s.records);
	EXPECT_EQ(count_records(&self->s), self->s.records);
	r = query(&self->s, base + fail * PAGE);
	EXPECT_EQ(base + fail * PAGE, r.base);
	EXPECT_EQ(NTVM_PAGE_READWRITE | NTVM_PAGE_GUARD, r.protect);
	EXPECT_EQ((4096 - fail) * PAGE, r.size);
	/*
	 * A commit that changes no run needs no room: pages committed with
	 * their protection, as libntvm's shared-state fast path answers.
	 */
	b = base + (fail + 2) * PAGE + 5;
	sz = 2 * PAGE;
	EXPECT_EQ(0, alloc(&self->s, &b, &sz, NTVM_MEM_COMMIT,
			   NTVM_PAGE_READWRITE | NTVM_PAGE_GUARD));
	EXPECT_EQ(base + (fail + 2) * PAGE, b);
	EXPECT_EQ(3 * PAGE, sz);
	EXPECT_EQ(200, self->s.records);
	/*
	 * One that changes a guard state needs the splits: refused.  So does
	 * one that changes the protection: its undo, if user space's
	 * mprotect() fails, needs them.
	 */
	b = base + (fail + 2) * PAGE;
	sz = PAGE;
	EXPECT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES,
		  alloc(&self->s, &b, &sz, NTVM_MEM_COMMIT, NTVM_PAGE_READONLY));
	EXPECT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES,
		  alloc(&self->s, &b, &sz, NTVM_MEM_COMMIT, NTVM_PAGE_READONLY | NTVM_PAGE_GUARD));
	EXPECT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES,
		  alloc(&self->s, &b, &sz, NTVM_MEM_COMMIT, NTVM_PAGE_NOACCESS));
	r = query(&self->s, base + fail * PAGE);
	EXPECT_EQ(base + fail * PAGE, r.base);
	EXPECT_EQ(NTVM_PAGE_READWRITE | NTVM_PAGE_GUARD, r.protect);
	EXPECT_EQ((4096 - fail) * PAGE, r.size);
	EXPECT_EQ(200, self->s.records);
	/* A change that splits nothing still works; so does a merge. */
	EXPECT_EQ(0, protect(&self->s, base + (fail - 2) * PAGE, PAGE,
			     NTVM_PAGE_READONLY | NTVM_PAGE_GUARD));
	EXPECT_EQ(0, protect(&self->s, base + (fail - 2) * PAGE, PAGE,
			     NTVM_PAGE_READWRITE | NTVM_PAGE_GUARD));
	/* Guard hits need a split: refused at the limit, then fine. */
	/* New allocations need a record. */
	other = 0;
	sz = GRAN;
	EXPECT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES,
		  alloc(&self->s, &other, &sz, NTVM_MEM_RESERVE, NTVM_PAGE_NOACCESS));
	/* Merging it all back gives the array back. */
	EXPECT_EQ(0, protect(&self->s, base, size, NTVM_PAGE_READWRITE | NTVM_PAGE_GUARD));
	EXPECT_EQ(1, self->s.records);
	EXPECT_EQ(count_records(&self->s), self->s.records);
	other = 0;
	sz = GRAN;
	EXPECT_EQ(0, alloc(&self->s, &other, &sz, NTVM_MEM_RESERVE, NTVM_PAGE_NOACCESS));
	EXPECT_EQ(2, self->s.records);
	/* A release in the middle needs a record for the second half. */
	self->s.max_records = 2;
	b = base + 16 * PAGE;
	sz = PAGE;
	EXPECT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES,
		  nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
	EXPECT_EQ(2, self->s.nallocs);
	self->s.max_records = NT_MAX_RECORDS;
	EXPECT_EQ(0, nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
	EXPECT_EQ(3, self->s.records);
	b = base;
	sz = 0;
	EXPECT_EQ(0, nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
	b = base + 17 * PAGE;
	sz = 0;
	EXPECT_EQ(0, nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
	b = other;
	sz = 0;
	EXPECT_EQ(0, nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
	EXPECT_EQ(0, self->s.records);
	EXPECT_EQ(0, self->s.nallocs);
}

/* The default limit: many runs in one allocation, then all merged. */
TEST_F(core, records_default_limit)
{
	u64 base = 0, size = 2 * NT_MAX_RECORDS * PAGE + 64 * PAGE, i;
	u32 st = 0;

	ASSERT_EQ(0, alloc(&self->s, &base, &size,
			   NTVM_MEM_RESERVE | NTVM_MEM_COMMIT,
			   NTVM_PAGE_READWRITE | NTVM_PAGE_GUARD));
	for (i = 1; i < size / PAGE; i += 2) {
		st = protect(&self->s, base + i * PAGE, PAGE,
			     NTVM_PAGE_READONLY | NTVM_PAGE_GUARD);
		if (st)
			break;
	}
	EXPECT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES, st);
	EXPECT_EQ(NT_MAX_RECORDS, self->s.records);
	EXPECT_LE(NT_MAX_RECORDS - 2, 2 * i);
	EXPECT_EQ(count_records(&self->s), self->s.records);
	EXPECT_EQ(0, protect(&self->s, base, size, NTVM_PAGE_READWRITE | NTVM_PAGE_GUARD));
	EXPECT_EQ(1, self->s.records);
}

/* MEM_RESET_UNDO touches committed spans only, and believes touch(). */
TEST_F(core, reset_undo_touch)
{
	u64 base = 0, size = 8 * PAGE, b, sz;

	ASSERT_EQ(0, alloc(&self->s, &base, &size, NTVM_MEM_RESERVE,
			   NTVM_PAGE_NOACCESS));
	/* Committed [0, 2) RW, [2, 3) RO, reserved [3, 5), committed [5, 6). */
	b = base;
	sz = 3 * PAGE;
	ASSERT_EQ(0, alloc(&self->s, &b, &sz, NTVM_MEM_COMMIT, NTVM_PAGE_READWRITE));
	ASSERT_EQ(0, protect(&self->s, base + 2 * PAGE, PAGE, NTVM_PAGE_READONLY));
	fake_protect(self->mm, base + 2 * PAGE, base + 3 * PAGE, NT_LPROT_R);
	b = base + 5 * PAGE;
	sz = PAGE;
	ASSERT_EQ(0, alloc(&self->s, &b, &sz, NTVM_MEM_COMMIT, NTVM_PAGE_READWRITE));
	b = base;
	sz = size;
	self->mm->touches = 0;
	self->mm->touched = 0;
	EXPECT_EQ(0, alloc(&self->s, &b, &sz, NTVM_MEM_RESET_UNDO, NTVM_PAGE_NOACCESS));
	EXPECT_EQ(2, self->mm->touches);
	EXPECT_EQ(4 * PAGE, self->mm->touched);
	/* A watched page that could not be kept: lost. */
	self->mm->touch_answer = 1;
	EXPECT_EQ(NTVM_STATUS_UNSUCCESSFUL,
		  alloc(&self->s, &b, &sz, NTVM_MEM_RESET_UNDO, NTVM_PAGE_NOACCESS));
	self->mm->touch_answer = -ENOMEM;
	EXPECT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES,
		  alloc(&self->s, &b, &sz, NTVM_MEM_RESET_UNDO, NTVM_PAGE_NOACCESS));
	self->mm->touch_answer = 0;
	/* Reserved only: nothing touched. */
	b = base + 3 * PAGE;
	sz = 2 * PAGE;
	self->mm->touches = 0;
	EXPECT_EQ(0, alloc(&self->s, &b, &sz, NTVM_MEM_RESET_UNDO, NTVM_PAGE_NOACCESS));
	EXPECT_EQ(0, self->mm->touches);
}

/*
 * A guard page disarmed by another thread: a retry only for an access its
 * protection now allows (a write to a read-only page would fault for ever).
 */
TEST_F(core, guard_retry_by_access)
{
	u64 base = 0, size = 4 * PAGE;
	struct nt_guard_req g = { 0 };

	ASSERT_EQ(0, alloc(&self->s, &base, &size, NTVM_MEM_RESERVE | NTVM_MEM_COMMIT,
			   NTVM_PAGE_READONLY | NTVM_PAGE_GUARD));
	g.address = base + 5;
	nt_guard_hit(&self->s, &g);
	EXPECT_EQ(NTVM_STATUS_GUARD_PAGE_VIOLATION, g.status);
	EXPECT_EQ(NTVM_APPLY_MPROTECT, g.apply);
	EXPECT_EQ(NT_LPROT_R, g.apply_prot);
	fake_protect(self->mm, base, base + PAGE, NT_LPROT_R);
	memset(&g, 0, sizeof(g));
	g.address = base + 9;
	g.access = NTVM_ACCESS_READ;
	nt_guard_hit(&self->s, &g);
	EXPECT_EQ(NTVM_STATUS_SUCCESS, g.status);
	EXPECT_EQ(0, g.apply);
	memset(&g, 0, sizeof(g));
	g.address = base + 9;
	g.access = NTVM_ACCESS_WRITE;
	nt_guard_hit(&self->s, &g);
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION, g.status);
	EXPECT_EQ(0, g.apply);
	memset(&g, 0, sizeof(g));
	g.address = base + 9;
	g.access = NTVM_ACCESS_EXECUTE;
	nt_guard_hit(&self->s, &g);
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION, g.status);
	/* At the limit the split is refused, and the page stays armed. */
	self->s.max_records = self->s.records;
	memset(&g, 0, sizeof(g));
	g.address = base + 2 * PAGE;
	nt_guard_hit(&self->s, &g);
	EXPECT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES, g.status);
	EXPECT_EQ(0, g.apply);
	EXPECT_EQ(NTVM_PAGE_READONLY | NTVM_PAGE_GUARD,
		  query(&self->s, base + 2 * PAGE).protect);
	self->s.max_records = NT_MAX_RECORDS;
}

/*
 * A commit that changes no run still gives back a run array that a call
 * left large: that call could not shrink it while its undo was pending.
 */
TEST_F(core, commit_without_change_trims_runs)
{
	struct nt_protect_req p;
	u64 base = 0, size = 512 * PAGE, b, sz, i;

	ASSERT_EQ(0, alloc(&self->s, &base, &size, NTVM_MEM_RESERVE | NTVM_MEM_COMMIT,
			   NTVM_PAGE_READWRITE));
	for (i = 1; i < 400; i += 2) {
		p = (struct nt_protect_req){ .base = base + i * PAGE, .size = PAGE,
			.protect = NTVM_PAGE_READONLY | NTVM_PAGE_GUARD };
		nt_protect(&self->s, &p);
		ASSERT_EQ(0, p.status);
		apply_mprotect(self->mm, p.base, p.size, p.apply_prot);
	}
	EXPECT_LT(400, self->s.records);
	/* One run again, but the array stays while the undo may need it. */
	p = (struct nt_protect_req){ .base = base, .size = size,
		.protect = NTVM_PAGE_NOACCESS };
	nt_protect(&self->s, &p);
	ASSERT_EQ(0, p.status);
	ASSERT_NE(0, p.apply);
	apply_mprotect(self->mm, p.base, p.size, p.apply_prot);
	EXPECT_LT(400, self->s.records);
	b = base + 5 * PAGE;
	sz = PAGE;
	EXPECT_EQ(0, alloc(&self->s, &b, &sz, NTVM_MEM_COMMIT, NTVM_PAGE_NOACCESS));
	EXPECT_EQ(1, self->s.records);
	EXPECT_EQ(count_records(&self->s), self->s.records);
	b = base;
	sz = 0;
	EXPECT_EQ(0, nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
}

/* The tree stays ordered and balanced through many inserts and removals. */
TEST_F(core, tree)
{
	static u64 bases[3000];
	unsigned int seed = 7, i, j, n = 3000;
	u64 b, sz, count, last, t;
	char why[200];

	for (i = 0; i < n; i++)
		bases[i] = 0x100000000ULL + (u64)i * 2 * GRAN;
	for (i = n - 1; i > 0; i--) {
		j = rand_r(&seed) % (i + 1);
		t = bases[i];
		bases[i] = bases[j];
		bases[j] = t;
	}
	for (i = 0; i < n; i++) {
		b = bases[i];
		sz = GRAN;
		ASSERT_EQ(0, alloc(&self->s, &b, &sz, NTVM_MEM_RESERVE,
				   NTVM_PAGE_NOACCESS));
		if (i % 97 == 0) {
			count = 0;
			last = 0;
			ASSERT_LT(0, check_tree(self->s.root, &count, &last, why))
				TH_LOG("%s", why);
			ASSERT_EQ(i + 1, count);
		}
	}
	for (i = 0; i < n; i++) {
		b = bases[(i * 7) % n];
		sz = 0;
		ASSERT_EQ(0, nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
		count = 0;
		last = 0;
		ASSERT_LE(0, check_tree(self->s.root, &count, &last, why))
			TH_LOG("%s", why);
		ASSERT_EQ(n - i - 1, count);
	}
	ASSERT_EQ(NULL, self->s.root);
}

/* NtAllocateVirtualMemoryEx: the placeholder types are taken. */
static u32 allocx(struct nt_space *s, u64 *base, u64 *size, u32 type, u32 prot)
{
	struct nt_alloc_req a = { .base = *base, .size = *size, .type = type,
				.protect = prot, .ex = true };

	nt_allocate(s, &a);
	if (!a.status) {
		*base = a.base;
		*size = a.size;
	}
	return a.status;
}

#define PH (NTVM_MEM_RESERVE | NTVM_MEM_RESERVE_PLACEHOLDER)
#define PRESERVE (NTVM_MEM_RELEASE | NTVM_MEM_PRESERVE_PLACEHOLDER)
#define COALESCE (NTVM_MEM_RELEASE | NTVM_MEM_COALESCE_PLACEHOLDERS)

static void expect_placeholder(struct __test_metadata *_metadata,
			       struct nt_space *s, u64 at, u64 size)
{
	struct nt_region r = query(s, at);

	EXPECT_EQ(at, r.base);
	EXPECT_EQ(at, r.allocation_base);
	EXPECT_EQ(size, r.size);
	EXPECT_EQ(NTVM_MEM_RESERVE, r.state);
	EXPECT_EQ(0, r.protect);
	EXPECT_EQ(NTVM_PAGE_NOACCESS, r.allocation_protect);
	EXPECT_EQ(NTVM_MEM_PRIVATE, r.type);
}

/* A placeholder free whose range holds the caller's variables (keep). */
static u32 nfree_keep(struct nt_space *s, u64 base, u64 size, u32 type,
		      u64 keep)
{
	struct nt_free_req f = { .base = base, .size = size, .type = type,
				 .keep = { { keep, keep + 8 } }, .nkeep = 1 };

	nt_free(s, &f);
	return f.status;
}

/*
 * Spec 6.3.3, 6.4.2: RELEASE | PRESERVE or COALESCE over memory that is
 * not a placeholder's is CONFLICTING_ADDRESSES, even where the caller's
 * variables lie in it (a thread's stack); only returning a replacement to
 * a placeholder, which drops its pages, refuses to drop them.
 */
TEST_F(core, placeholder_free_checks_before_keep)
{
	u64 p = 0x20000000, q = 0x30000000, size = 0x10000, b, sz;

	ASSERT_EQ(0, alloc(&self->s, &p, &size, NTVM_MEM_RESERVE | NTVM_MEM_COMMIT,
			   NTVM_PAGE_READWRITE));
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES,
		  nfree_keep(&self->s, p, 0x1000, PRESERVE, p + 0x100));
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES,
		  nfree_keep(&self->s, p, 0x10000, COALESCE, p + 0x100));
	/* A replacement: its pages would go. */
	ASSERT_EQ(0, allocx(&self->s, &q, &size, PH, NTVM_PAGE_NOACCESS));
	b = q;
	sz = 0x10000;
	ASSERT_EQ(0, allocx(&self->s, &b, &sz, NTVM_MEM_RESERVE | NTVM_MEM_COMMIT |
			    NTVM_MEM_REPLACE_PLACEHOLDER, NTVM_PAGE_READWRITE));
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION,
		  nfree_keep(&self->s, q, 0x1000, PRESERVE, q + 0x100));
	EXPECT_EQ(NTVM_MEM_COMMIT, query(&self->s, q).state);
	EXPECT_EQ(0x10000, query(&self->s, q).size);
	EXPECT_EQ(0, nfree_keep(&self->s, q + 0x1000, 0x1000, PRESERVE, q + 0x100));
	expect_placeholder(_metadata, &self->s, q + 0x1000, 0x1000);
}

/*
 * On a kernel whose failed MAP_FIXED may first remove the old mappings
 * (6.1), a replacement returned to a placeholder (RELEASE | PRESERVE), or
 * decommitted, whose decommitting map fails: the mappings are put back,
 * the call fails and nothing changes; if they cannot be put back either,
 * the pages are gone, PROT_NONE goes in their place, and that is what the
 * call asked for: it succeeds.  Never a hole the state calls committed.
 */
TEST_F(core, decommit_failure_with_fixed_unmaps_first)
{
	u64 q = 0x30000000, size = 0x10000, b, sz, s0, e0;
	struct nt_stats st;

	nt_space_destroy(&self->s);
	nt_space_init(&self->s, &fake_ops_unmaps_first, self->mm, GRAN, MAXA);
	ASSERT_EQ(0, allocx(&self->s, &q, &size, PH, NTVM_PAGE_NOACCESS));
	b = q;
	sz = 0x10000;
	ASSERT_EQ(0, allocx(&self->s, &b, &sz, NTVM_MEM_RESERVE | NTVM_MEM_COMMIT |
			    NTVM_MEM_REPLACE_PLACEHOLDER, NTVM_PAGE_READWRITE));

	/* The decommit fails and removes the range; it is put back. */
	self->mm->fail_cuts = true;
	self->mm->fail_at = 1;
	self->mm->fail_n = 1;
	self->mm->calls = 0;
	EXPECT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES,
		  nfree_keep(&self->s, q, 0x2000, PRESERVE, 0));
	EXPECT_EQ(NTVM_MEM_COMMIT, query(&self->s, q).state);
	EXPECT_EQ(0x10000, query(&self->s, q).size);
	EXPECT_EQ(NT_LPROT_R | NT_LPROT_W, fake_prot(self->mm, q, &s0, &e0));
	EXPECT_EQ(q, s0);
	EXPECT_EQ(q + 0x2000, e0);	/* the piece put back */
	EXPECT_EQ(NT_LPROT_R | NT_LPROT_W, fake_prot(self->mm, e0, &s0, &e0));
	self->mm->calls = 0;
	b = q + 0x4000;
	sz = 0x2000;
	EXPECT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES,
		  nfree(&self->s, &b, &sz, NTVM_MEM_DECOMMIT));
	EXPECT_EQ(NTVM_MEM_COMMIT, query(&self->s, q + 0x4000).state);
	EXPECT_EQ(NT_LPROT_R | NT_LPROT_W, fake_prot(self->mm, q + 0x4000, &s0, &e0));

	/* Nor can they be put back: PROT_NONE there, as asked. */
	self->mm->fail_n = 1 + NT_RESTORE_TRIES;
	self->mm->calls = 0;
	EXPECT_EQ(0, nfree_keep(&self->s, q, 0x2000, PRESERVE, 0));
	expect_placeholder(_metadata, &self->s, q, 0x2000);
	EXPECT_EQ(0, fake_prot(self->mm, q, &s0, &e0));
	EXPECT_EQ(q, s0);
	EXPECT_EQ(q + 0x2000, e0);
	self->mm->calls = 0;
	b = q + 0x4000;
	sz = 0x2000;
	EXPECT_EQ(0, nfree(&self->s, &b, &sz, NTVM_MEM_DECOMMIT));
	self->mm->fail_at = 0;
	EXPECT_EQ(NTVM_MEM_RESERVE, query(&self->s, q + 0x4000).state);
	EXPECT_EQ(q + 0x2000, query(&self->s, q + 0x4000).allocation_base);
	EXPECT_EQ(0, fake_prot(self->mm, q + 0x4000, &s0, &e0));
	EXPECT_EQ(NTVM_MEM_COMMIT, query(&self->s, q + 0x2000).state);
	nt_get_stats(&self->s, &st);
	EXPECT_EQ(0xc000, st.committed_bytes);

	/* And it all still turns into one placeholder. */
	EXPECT_EQ(0, nfree_keep(&self->s, q + 0x2000, 0xe000, PRESERVE, 0));
	b = q;
	sz = 0x10000;
	EXPECT_EQ(0, nfree(&self->s, &b, &sz, COALESCE));
	expect_placeholder(_metadata, &self->s, q, 0x10000);
	nt_get_stats(&self->s, &st);
	EXPECT_EQ(0, st.committed_bytes);
}

/* Spec 8.16: split, coalesce, replace, release. */
TEST_F(core, placeholder_split_coalesce)
{
	u64 p = 0x20000000, size = 0x10000, b, sz;
	struct nt_region rg;
	struct nt_stats st;

	/* Only the Ex call, only PAGE_NOACCESS, only with MEM_RESERVE. */
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  alloc(&self->s, &p, &size, PH, NTVM_PAGE_NOACCESS));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  allocx(&self->s, &p, &size, PH, NTVM_PAGE_READWRITE));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  allocx(&self->s, &p, &size, NTVM_MEM_RESERVE_PLACEHOLDER,
			 NTVM_PAGE_NOACCESS));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  allocx(&self->s, &p, &size, PH | NTVM_MEM_COMMIT, NTVM_PAGE_NOACCESS));
	EXPECT_EQ(0, self->mm->n);
	ASSERT_EQ(0, allocx(&self->s, &p, &size, PH, NTVM_PAGE_NOACCESS));
	expect_placeholder(_metadata, &self->s, p, 0x10000);
	/* Over a placeholder: CONFLICTING_ADDRESSES. */
	b = p;
	sz = 0x10000;
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES,
		  allocx(&self->s, &b, &sz, PH, NTVM_PAGE_NOACCESS));
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES,
		  alloc(&self->s, &b, &sz, NTVM_MEM_RESERVE, NTVM_PAGE_NOACCESS));
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES,
		  alloc(&self->s, &b, &sz, NTVM_MEM_COMMIT, NTVM_PAGE_READWRITE));
	/* The whole placeholder: nothing to split off. */
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES, nfree(&self->s, &b, &sz, PRESERVE));
	sz = 0;
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER_3, nfree(&self->s, &b, &sz, PRESERVE));
	b = p + 0xf000;
	sz = 0x2000;
	EXPECT_EQ(NTVM_STATUS_UNABLE_TO_FREE_VM, nfree(&self->s, &b, &sz, PRESERVE));
	expect_placeholder(_metadata, &self->s, p, 0x10000);
	/* A middle piece: three placeholders. */
	b = p + 0x8000;
	sz = 0x4000;
	ASSERT_EQ(0, nfree(&self->s, &b, &sz, PRESERVE));
	EXPECT_EQ(p + 0x8000, b);
	EXPECT_EQ(0x4000, sz);
	expect_placeholder(_metadata, &self->s, p, 0x8000);
	expect_placeholder(_metadata, &self->s, p + 0x8000, 0x4000);
	expect_placeholder(_metadata, &self->s, p + 0xc000, 0x4000);
	nt_get_stats(&self->s, &st);
	EXPECT_EQ(3, st.allocations);
	EXPECT_EQ(0x10000, st.reserved_bytes);
	EXPECT_EQ(0, st.committed_bytes);
	/* The pieces share the placeholder's 64K block: nothing is wasted. */
	EXPECT_EQ(0, st.granularity_waste);
	/* Coalesce: exact sums only. */
	b = p + 0x8000;
	sz = 0;
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER_3, nfree(&self->s, &b, &sz, COALESCE));
	sz = 0x4000;
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER_4,
		  nfree(&self->s, &b, &sz, NTVM_MEM_COALESCE_PLACEHOLDERS));
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES, nfree(&self->s, &b, &sz, COALESCE));
	b = p;
	sz = 0x11000;
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES, nfree(&self->s, &b, &sz, COALESCE));
	sz = 0xf000;
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES, nfree(&self->s, &b, &sz, COALESCE));
	b = p + 0x1000;
	sz = 0xc000;
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES, nfree(&self->s, &b, &sz, COALESCE));
	b = p;
	sz = 0x10000;
	EXPECT_EQ(NTVM_STATUS_UNABLE_TO_FREE_VM, nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
	expect_placeholder(_metadata, &self->s, p + 0x8000, 0x4000);
	ASSERT_EQ(0, nfree(&self->s, &b, &sz, COALESCE));
	EXPECT_EQ(p, b);
	EXPECT_EQ(0x10000, sz);
	expect_placeholder(_metadata, &self->s, p, 0x10000);
	nt_get_stats(&self->s, &st);
	EXPECT_EQ(1, st.allocations);
	EXPECT_EQ(0, st.granularity_waste);

	/* Split at 16K; replace the 48K tail with private memory. */
	b = p;
	sz = 0x4000;
	ASSERT_EQ(0, nfree(&self->s, &b, &sz, PRESERVE));
	b = p + 0x4000;
	sz = 0xc000;
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  allocx(&self->s, &b, &sz, NTVM_MEM_REPLACE_PLACEHOLDER, NTVM_PAGE_READWRITE));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  allocx(&self->s, &b, &sz, NTVM_MEM_COMMIT | NTVM_MEM_REPLACE_PLACEHOLDER,
			 NTVM_PAGE_READWRITE));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  alloc(&self->s, &b, &sz, NTVM_MEM_RESERVE | NTVM_MEM_REPLACE_PLACEHOLDER,
			NTVM_PAGE_READWRITE));
	sz = 0x1000;
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES,
		  allocx(&self->s, &b, &sz, NTVM_MEM_RESERVE | NTVM_MEM_REPLACE_PLACEHOLDER,
			 NTVM_PAGE_READWRITE));
	sz = 0xc000;
	ASSERT_EQ(0, allocx(&self->s, &b, &sz, NTVM_MEM_RESERVE | NTVM_MEM_COMMIT |
			    NTVM_MEM_REPLACE_PLACEHOLDER, NTVM_PAGE_READWRITE));
	EXPECT_EQ(p + 0x4000, b);
	rg = query(&self->s, p + 0x4000);
	EXPECT_EQ(p + 0x4000, rg.allocation_base);
	EXPECT_EQ(0xc000, rg.size);
	EXPECT_EQ(NTVM_MEM_COMMIT, rg.state);
	EXPECT_EQ(NTVM_PAGE_READWRITE, rg.protect);
	EXPECT_EQ(NTVM_PAGE_READWRITE, rg.allocation_protect);
	EXPECT_EQ(NTVM_MEM_PRIVATE, rg.type);
	/* Replacing again: not a free placeholder. */
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  allocx(&self->s, &b, &sz, NTVM_MEM_RESERVE | NTVM_MEM_REPLACE_PLACEHOLDER,
			 NTVM_PAGE_READWRITE));
	b = p;
	sz = 0x10000;
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES, nfree(&self->s, &b, &sz, COALESCE));
	nt_get_stats(&self->s, &st);
	EXPECT_EQ(2, st.allocations);
	EXPECT_EQ(0xc000, st.committed_bytes);
	/* Part of the replacement back to a placeholder (Wine's rule). */
	b = p + 0x8000;
	sz = 0x4000;
	ASSERT_EQ(0, nfree(&self->s, &b, &sz, PRESERVE));
	expect_placeholder(_metadata, &self->s, p + 0x8000, 0x4000);
	EXPECT_EQ(p + 0x4000, query(&self->s, p + 0x4000).allocation_base);
	EXPECT_EQ(0x4000, query(&self->s, p + 0x4000).size);
	EXPECT_EQ(p + 0xc000, query(&self->s, p + 0xc000).allocation_base);
	EXPECT_EQ(NTVM_MEM_COMMIT, query(&self->s, p + 0xc000).state);
	nt_get_stats(&self->s, &st);
	EXPECT_EQ(4, st.allocations);
	EXPECT_EQ(0x8000, st.committed_bytes);
	/* Release every piece. */
	for (b = p; b < p + 0x10000; b += sz) {
		u64 at = b;

		sz = 0;
		ASSERT_EQ(0, nfree(&self->s, &at, &sz, NTVM_MEM_RELEASE));
		EXPECT_EQ(0x4000, sz);
	}
	b = p + 0x8000;
	sz = 0;
	EXPECT_EQ(NTVM_STATUS_MEMORY_NOT_ALLOCATED, nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
	nt_get_stats(&self->s, &st);
	EXPECT_EQ(0, st.allocations);
	EXPECT_EQ(0, st.reserved_bytes);
	EXPECT_EQ(0, st.committed_bytes);
	EXPECT_EQ(0, st.granularity_waste);
	EXPECT_EQ(0, self->mm->n);
}

/* Spec 6.5.5, 8.17: back to a placeholder; failures change nothing. */
TEST_F(core, placeholder_replace_back)
{
	u64 p = 0x20000000, size = 0x10000, b, sz, s0, e0, o, osz;
	struct nt_stats st;

	ASSERT_EQ(0, allocx(&self->s, &p, &size, PH, NTVM_PAGE_NOACCESS));
	b = p;
	sz = size;
	ASSERT_EQ(0, allocx(&self->s, &b, &sz, NTVM_MEM_RESERVE | NTVM_MEM_COMMIT |
			    NTVM_MEM_REPLACE_PLACEHOLDER, NTVM_PAGE_READWRITE));
	EXPECT_EQ(NT_LPROT_R | NT_LPROT_W, fake_prot(self->mm, p, &s0, &e0));
	/* An ordinary reservation is no placeholder. */
	o = 0x30000000;
	osz = 0x10000;
	ASSERT_EQ(0, alloc(&self->s, &o, &osz, NTVM_MEM_RESERVE, NTVM_PAGE_NOACCESS));
	osz = 0x1000;
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES, nfree(&self->s, &o, &osz, PRESERVE));
	o = 0x30000000;
	osz = 0x10000;
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  allocx(&self->s, &o, &osz, NTVM_MEM_RESERVE |
			 NTVM_MEM_REPLACE_PLACEHOLDER, NTVM_PAGE_READWRITE));
	osz = 0;
	ASSERT_EQ(0, nfree(&self->s, &o, &osz, NTVM_MEM_RELEASE));
	/* A failed remap changes nothing. */
	self->mm->fail_at = 1;
	self->mm->calls = 0;
	b = p;
	sz = size;
	EXPECT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES, nfree(&self->s, &b, &sz, PRESERVE));
	self->mm->fail_at = 0;
	EXPECT_EQ(NTVM_MEM_COMMIT, query(&self->s, p).state);
	EXPECT_EQ(NTVM_PAGE_READWRITE, query(&self->s, p).allocation_protect);
	nt_get_stats(&self->s, &st);
	EXPECT_EQ(0x10000, st.committed_bytes);
	ASSERT_EQ(0, nfree(&self->s, &b, &sz, PRESERVE));
	expect_placeholder(_metadata, &self->s, p, 0x10000);
	EXPECT_EQ(0, fake_prot(self->mm, p, &s0, &e0));
	nt_get_stats(&self->s, &st);
	EXPECT_EQ(0, st.committed_bytes);
	/* Reserve-only replacement, committed later; its AP stays. */
	b = p;
	sz = size;
	self->mm->fail_at = 1;
	self->mm->calls = 0;
	EXPECT_EQ(NTVM_STATUS_COMMITMENT_LIMIT,
		  allocx(&self->s, &b, &sz, NTVM_MEM_RESERVE | NTVM_MEM_COMMIT |
			 NTVM_MEM_REPLACE_PLACEHOLDER, NTVM_PAGE_READWRITE));
	self->mm->fail_at = 0;
	expect_placeholder(_metadata, &self->s, p, 0x10000);
	ASSERT_EQ(0, allocx(&self->s, &b, &sz, NTVM_MEM_RESERVE |
			    NTVM_MEM_REPLACE_PLACEHOLDER, NTVM_PAGE_READONLY));
	b = p + 0x1000;
	sz = 0x1000;
	ASSERT_EQ(0, alloc(&self->s, &b, &sz, NTVM_MEM_COMMIT, NTVM_PAGE_READWRITE));
	EXPECT_EQ(NTVM_PAGE_READONLY, query(&self->s, p + 0x1000).allocation_protect);
	EXPECT_EQ(NTVM_PAGE_READWRITE, query(&self->s, p + 0x1000).protect);
	/* Plain release frees it completely. */
	b = p;
	sz = 0;
	ASSERT_EQ(0, nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
	EXPECT_EQ(NTVM_MEM_FREE, query(&self->s, p).state);
	EXPECT_EQ(0, self->mm->n);
}

/* Adjacent placeholders of separate reservations merge (spec 6.4.5). */
TEST_F(core, placeholder_coalesce_separate)
{
	u64 p = 0x20000000, q = 0x20010000, size = 0x10000, b, sz;

	ASSERT_EQ(0, allocx(&self->s, &p, &size, PH, NTVM_PAGE_NOACCESS));
	ASSERT_EQ(0, allocx(&self->s, &q, &size, PH, NTVM_PAGE_NOACCESS));
	b = p;
	sz = 0x20000;
	ASSERT_EQ(0, nfree(&self->s, &b, &sz, COALESCE));
	expect_placeholder(_metadata, &self->s, p, 0x20000);
	/* A piece unmapped behind ntvm's back is a hole. */
	b = p + 0x10000;
	sz = 0x1000;
	ASSERT_EQ(0, nfree(&self->s, &b, &sz, PRESERVE));
	fake_munmap(self->mm, p + 0x10000, p + 0x11000);
	b = p;
	sz = 0x20000;
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES, nfree(&self->s, &b, &sz, COALESCE));
	EXPECT_EQ(NTVM_MEM_FREE, query(&self->s, p + 0x10000).state);
	b = p;
	sz = 0x11000;
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES, nfree(&self->s, &b, &sz, COALESCE));
	sz = 0;
	ASSERT_EQ(0, nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
	b = p + 0x11000;
	sz = 0;
	ASSERT_EQ(0, nfree(&self->s, &b, &sz, NTVM_MEM_RELEASE));
	EXPECT_EQ(0xf000, sz);
	EXPECT_EQ(0, self->mm->n);
}

/*
 * The watch output (NTVM_OUT_WRITE_WATCH): set by every allocate, free
 * and protect that succeeds in a MEM_WRITE_WATCH allocation, after a
 * partial release in each piece, and never on failure or elsewhere.
 */
/* What a call lets the glue publish in the shared NT state. */
static u64 commit_publish(struct nt_space *s, u64 base, u64 size, u32 prot)
{
	struct nt_alloc_req a = { .base = base, .size = size,
				  .type = NTVM_MEM_COMMIT, .protect = prot,
				  .publish = 0xdead };

	nt_allocate(s, &a);
	return a.status ? ~0ULL : a.publish;
}

TEST_F(core, publish_output)
{
	u64 base = 0x20000000, size = 16 * PAGE, wb = 0x30000000;
	struct nt_alloc_req a = { .base = 0x20000000, .size = 8 * PAGE,
		.type = NTVM_MEM_COMMIT, .protect = NTVM_PAGE_READWRITE,
		.publish = 0xdead };

	ASSERT_EQ(0, alloc(&self->s, &base, &size, NTVM_MEM_RESERVE, NTVM_PAGE_NOACCESS));
	/* A commit of fresh pages, even partly, publishes nothing. */
	EXPECT_EQ(0, commit_publish(&self->s, base, 2 * PAGE, NTVM_PAGE_READWRITE));
	EXPECT_EQ(0, commit_publish(&self->s, base, 3 * PAGE, NTVM_PAGE_READWRITE));
	EXPECT_EQ(0, commit_publish(&self->s, base + 3 * PAGE, PAGE, NTVM_PAGE_NOACCESS));
	/*
	 * Plain commits of committed pages publish their allocation's base,
	 * with any base protection that leaves them as they are.
	 */
	EXPECT_EQ(base, commit_publish(&self->s, base, 3 * PAGE, NTVM_PAGE_READWRITE));
	EXPECT_EQ(base, commit_publish(&self->s, base + 3 * PAGE, PAGE, NTVM_PAGE_NOACCESS));
	/* A protection change left to user space, a guard page, modifiers: no. */
	EXPECT_EQ(0, commit_publish(&self->s, base, PAGE, NTVM_PAGE_READONLY));
	EXPECT_EQ(0, commit_publish(&self->s, base + 4 * PAGE, PAGE,
				    NTVM_PAGE_READWRITE | NTVM_PAGE_GUARD));
	EXPECT_EQ(0, commit_publish(&self->s, base + 4 * PAGE, PAGE,
				    NTVM_PAGE_READWRITE | NTVM_PAGE_GUARD));
	/* Failures publish nothing, nor do other types. */
	EXPECT_EQ(~0ULL, commit_publish(&self->s, base + 15 * PAGE, 2 * PAGE,
					NTVM_PAGE_READWRITE));
	a.type = NTVM_MEM_RESET;
	nt_allocate(&self->s, &a);
	EXPECT_EQ(0, a.status);
	EXPECT_EQ(0, a.publish);
	/* Write-watched memory: never. */
	size = GRAN;
	ASSERT_EQ(0, alloc(&self->s, &wb, &size, NTVM_MEM_RESERVE | NTVM_MEM_WRITE_WATCH,
			   NTVM_PAGE_READWRITE));
	EXPECT_EQ(0, commit_publish(&self->s, wb, PAGE, NTVM_PAGE_READWRITE));
	EXPECT_EQ(0, commit_publish(&self->s, wb, PAGE, NTVM_PAGE_READWRITE));
}

TEST_F(core, write_watch_output)
{
	struct nt_alloc_req a = { .base = 0x20000000, .size = 16 * PAGE,
		.type = NTVM_MEM_RESERVE | NTVM_MEM_WRITE_WATCH,
		.protect = NTVM_PAGE_READWRITE };
	struct nt_free_req f = { .type = NTVM_MEM_RELEASE };
	struct nt_protect_req p = { .protect = NTVM_PAGE_READONLY };
	u64 base = 0x30000000, size = GRAN;

	nt_allocate(&self->s, &a);
	ASSERT_EQ(0, a.status);
	EXPECT_TRUE(a.watch);
	a = (struct nt_alloc_req){ .base = 0x20000000 + PAGE, .size = 8 * PAGE,
		.type = NTVM_MEM_COMMIT, .protect = NTVM_PAGE_READWRITE };
	nt_allocate(&self->s, &a);
	ASSERT_EQ(0, a.status);
	EXPECT_TRUE(a.watch);
	/* A commit that fails says nothing. */
	a = (struct nt_alloc_req){ .base = 0x20000000, .size = 17 * PAGE,
		.type = NTVM_MEM_COMMIT, .protect = NTVM_PAGE_READWRITE, .watch = true };
	nt_allocate(&self->s, &a);
	EXPECT_NE(0, a.status);
	EXPECT_FALSE(a.watch);
	p.base = 0x20000000 + 2 * PAGE;
	p.size = PAGE;
	nt_protect(&self->s, &p);
	ASSERT_EQ(0, p.status);
	EXPECT_TRUE(p.watch);
	apply_mprotect(self->mm, p.base, p.size, p.apply_prot);
	p = (struct nt_protect_req){ .base = 0x20000000, .size = PAGE,
		.protect = NTVM_PAGE_READONLY, .watch = true };
	nt_protect(&self->s, &p);		/* reserved: not committed */
	EXPECT_NE(0, p.status);
	EXPECT_FALSE(p.watch);
	/* A release in the middle: both pieces stay watched. */
	f.base = 0x20000000 + 4 * PAGE;
	f.size = 2 * PAGE;
	nt_free(&self->s, &f);
	ASSERT_EQ(0, f.status);
	EXPECT_TRUE(f.watch);
	/* A whole decommit of the tail piece (size 0). */
	f = (struct nt_free_req){ .base = 0x20000000 + 6 * PAGE, .size = 0,
		.type = NTVM_MEM_DECOMMIT };
	nt_free(&self->s, &f);
	ASSERT_EQ(0, f.status);
	EXPECT_TRUE(f.watch);
	EXPECT_EQ(0, f.size);
	f = (struct nt_free_req){ .base = 0x20000000 + 4 * PAGE, .size = PAGE,
		.type = NTVM_MEM_RELEASE, .watch = true };
	nt_free(&self->s, &f);			/* released already */
	EXPECT_EQ(NTVM_STATUS_MEMORY_NOT_ALLOCATED, f.status);
	EXPECT_FALSE(f.watch);
	/* An allocation without MEM_WRITE_WATCH: nothing said. */
	ASSERT_EQ(0, alloc(&self->s, &base, &size, NTVM_MEM_RESERVE | NTVM_MEM_COMMIT,
			   NTVM_PAGE_READWRITE));
	p = (struct nt_protect_req){ .base = base, .size = PAGE,
		.protect = NTVM_PAGE_READONLY };
	nt_protect(&self->s, &p);
	ASSERT_EQ(0, p.status);
	EXPECT_FALSE(p.watch);
	f = (struct nt_free_req){ .base = base, .type = NTVM_MEM_RELEASE };
	nt_free(&self->s, &f);
	ASSERT_EQ(0, f.status);
	EXPECT_FALSE(f.watch);
	f = (struct nt_free_req){ .base = 0x20000000, .type = NTVM_MEM_RELEASE };
	nt_free(&self->s, &f);
	ASSERT_EQ(0, f.status);
	EXPECT_TRUE(f.watch);
	f = (struct nt_free_req){ .base = 0x20000000 + 6 * PAGE, .type = NTVM_MEM_RELEASE };
	nt_free(&self->s, &f);
	ASSERT_EQ(0, f.status);
	EXPECT_TRUE(f.watch);
	EXPECT_EQ(0, self->mm->n);
}

/*
 * Random NT calls in a window, with injected mapping failures, against
 * the invariants (check_invariants()).  NTVM_CORE_FUZZ_SEED and
 * NTVM_CORE_FUZZ_ITERS replace the fixed seed and the 20000 iterations.
 */
TEST_F(core, fuzz)
{
	static struct page_view before[WIN_PAGES], after[WIN_PAGES];
	const char *env_seed = getenv("NTVM_CORE_FUZZ_SEED");
	const char *env_iters = getenv("NTVM_CORE_FUZZ_ITERS");
	unsigned int seed = env_seed ? strtoul(env_seed, NULL, 0) : 20261122;
	int iters = env_iters ? atoi(env_iters) : 20000;
	struct nt_piece out[4];
	char why[200];
	u64 base, size;
	int iter, op, failing, ok[10] = { 0 };
	u32 st = 0, count, i;
	bool more;

	for (iter = 0; iter < iters; iter++) {
		op = rand_r(&seed) % 10;
		base = WIN + (u64)(rand_r(&seed) % WIN_PAGES) * PAGE;
		if (rand_r(&seed) % 4 == 0)
			base += rand_r(&seed) % PAGE;
		size = (u64)(1 + rand_r(&seed) % 24) * PAGE - rand_r(&seed) % 2;
		failing = rand_r(&seed) % 4 == 0;
		self->mm->fail_at = failing ? 1 + rand_r(&seed) % 3 : 0;
		self->mm->calls = 0;
		snapshot(&self->s, self->mm, before);

		if (op == 0 || op == 1) {
			struct nt_alloc_req a = { .base = base, .size = size,
						.type = NTVM_MEM_RESERVE,
						.protect = random_prot(&seed) };

			/* Keep every allocation inside the window. */
			if (a.base + a.size > WIN + WIN_GRANS * GRAN)
				a.size = WIN + WIN_GRANS * GRAN - a.base;
			if (op == 1) {
				a.base = 0;
				a.requirements = true;
				a.lowest = WIN;
				a.highest = WIN + WIN_GRANS * GRAN - 1;
			}
			if (rand_r(&seed) % 2)
				a.type |= NTVM_MEM_COMMIT;
			nt_allocate(&self->s, &a);
			st = a.status;
			if (!st && a.apply)
				apply_mprotect(self->mm, a.base, a.size, a.apply_prot);
		} else if (op == 2) {
			struct nt_alloc_req a = { .base = base, .size = size,
						.type = rand_r(&seed) % 8 ? NTVM_MEM_COMMIT :
									    NTVM_MEM_RESET,
						.protect = random_prot(&seed) };

			nt_allocate(&self->s, &a);
			st = a.status;
			if (!st && (a.apply & NTVM_APPLY_MPROTECT))
				apply_mprotect(self->mm, a.base, a.size, a.apply_prot);
		} else if (op == 3 || op == 4) {
			struct nt_free_req f = { .base = base,
					       .size = rand_r(&seed) % 3 ? size : 0,
					       .type = op == 3 ? NTVM_MEM_DECOMMIT :
								 NTVM_MEM_RELEASE };

			nt_free(&self->s, &f);
			st = f.status;
		} else if (op == 5) {
			struct nt_protect_req p = { .base = base, .size = size,
						  .protect = random_prot(&seed) };
			bool skip = rand_r(&seed) % 8 == 0;

			nt_protect(&self->s, &p);
			st = p.status;
			/*
			 * User space's mprotect() failed: nt_undo() puts the
			 * NT view back as it was (and what it hands back to
			 * mprotect() is applied, as libntvm does).
			 */
			if (!st && p.apply && skip) {
				self->mm->fail_at = 0;
				do {
					more = false;
					ASSERT_EQ(0, nt_undo(&self->s, p.base, p.size, out, 4,
							     &count, &more));
					for (i = 0; i < count; i++)
						apply_mprotect(self->mm, out[i].start,
							       out[i].end - out[i].start,
							       out[i].lprot);
				} while (more);
				snapshot(&self->s, self->mm, after);
				ASSERT_EQ(0, memcmp(before, after, sizeof(before)))
					TH_LOG("iter %d: undone protect changed the view", iter);
				p.apply = 0;
			}
			if (!st && p.apply)
				apply_mprotect(self->mm, p.base, p.size, p.apply_prot);
		} else if (op >= 7) {
			/* Placeholders: create, split or return, coalesce, replace. */
			struct nt_region r = query(&self->s, base);
			u32 kind = rand_r(&seed) % 4;

			if (op == 7) {
				struct nt_alloc_req a = { .base = base, .size = size,
							.type = PH, .ex = true,
							.protect = rand_r(&seed) % 8 ?
								   NTVM_PAGE_NOACCESS :
								   random_prot(&seed) };

				if (a.base + a.size > WIN + WIN_GRANS * GRAN)
					a.size = WIN + WIN_GRANS * GRAN - a.base;
				if (kind) {
					a.base = 0;
					a.requirements = true;
					a.lowest = WIN;
					a.highest = WIN + WIN_GRANS * GRAN - 1;
				}
				nt_allocate(&self->s, &a);
				st = a.status;
			} else if (op == 8 || (op == 9 && kind < 2)) {
				struct nt_free_req f = { .base = base, .size = size,
						       .type = op == 8 ? PRESERVE : COALESCE };

				/* Often inside the placeholder there. */
				if (op == 8 && r.state == NTVM_MEM_RESERVE && kind) {
					u64 pages = r.size / PAGE;
					u64 at = rand_r(&seed) % pages;

					f.base = r.base + at * PAGE;
					f.size = (1 + rand_r(&seed) % (pages - at)) * PAGE;
				}
				/* Often the exact run of pieces from an allocation base. */
				if (op == 9 && r.state != NTVM_MEM_FREE && kind) {
					f.base = r.allocation_base;
					f.size = 0;
					while (f.size < 6 * GRAN &&
					       query(&self->s, f.base + f.size).state ==
					       NTVM_MEM_RESERVE)
						f.size += query(&self->s, f.base + f.size).size;
				}
				nt_free(&self->s, &f);
				st = f.status;
			} else {
				struct nt_alloc_req a = { .base = r.allocation_base,
							.size = r.size,
							.type = NTVM_MEM_RESERVE |
								NTVM_MEM_REPLACE_PLACEHOLDER |
								(kind == 3 ? NTVM_MEM_COMMIT : 0),
							.ex = true,
							.protect = random_prot(&seed) };

				if (r.state == NTVM_MEM_FREE)
					a.base = base;
				nt_allocate(&self->s, &a);
				st = a.status;
				if (!st && a.apply)
					apply_mprotect(self->mm, a.base, a.size, a.apply_prot);
			}
		} else {
			/*
			 * munmap() behind ntvm's back of the allocation at
			 * base: the next calls must see it gone.
			 */
			struct nt_region r = query(&self->s, base);
			u64 end = r.base;

			if (r.state != NTVM_MEM_FREE && rand_r(&seed) % 4 == 0) {
				while (end < WIN + WIN_GRANS * GRAN &&
				       query(&self->s, end).allocation_base ==
				       r.allocation_base &&
				       query(&self->s, end).state != NTVM_MEM_FREE)
					end += PAGE;
				self->mm->fail_at = 0;
				fake_insert(self->mm, r.allocation_base, end, 0, false);
				{
					struct nt_free_req f = { .base = r.allocation_base,
							       .type = NTVM_MEM_RELEASE };

					nt_free(&self->s, &f);
					ASSERT_EQ(0, f.status);
				}
				fake_insert(self->mm, r.allocation_base, end, 0, true);
				{
					/* Now a foreign mapping: ntvm's view of it. */
					struct nt_alloc_req c = { .base = r.allocation_base,
								.size = PAGE,
								.type = NTVM_MEM_RESERVE,
								.protect = NTVM_PAGE_NOACCESS };

					nt_allocate(&self->s, &c);
					ASSERT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES, c.status);
					ASSERT_EQ(NTVM_MEM_MAPPED,
						  query(&self->s, r.allocation_base).type);
				}
				{
					int i;

					/* munmap() it: the window is ntvm's again. */
					self->mm->changes++;
					for (i = 0; i < self->mm->n; i++)
						if (self->mm->seg[i].foreign) {
							memmove(&self->mm->seg[i],
								&self->mm->seg[i + 1],
								(self->mm->n - i - 1) *
								sizeof(self->mm->seg[0]));
							self->mm->n--;
							i--;
						}
				}
			}
			st = 0;
		}
		if (st) {
			snapshot(&self->s, self->mm, after);
			ASSERT_EQ(0, memcmp(before, after, sizeof(before)))
				TH_LOG("iter %d op %d: failed (%#x) but changed state",
				       iter, op, st);
		}
		why[0] = 0;
		ASSERT_EQ(0, check_invariants(&self->s, self->mm, why))
			TH_LOG("iter %d op %d status %#x: %s", iter, op, st, why);
		if (!st)
			ok[op]++;
	}
	/* The placeholder calls must also have succeeded, often enough. */
	for (op = 7; op < 10; op++) {
		if (ok[op] <= 20)
			fprintf(stderr, "op %d succeeded %d times\n", op, ok[op]);
		EXPECT_LT(20, ok[op]);
	}
}

/* ---- Placement (core/place.c), on a fake map with a heap and a stack ---- */

/* The policy's constants (core/place.c), which these tests must match. */
#define GUARD (256 * PAGE)
#define SLACK (64ULL << 20)
/* A 4 GiB address space, small enough for the reference's walks. */
#define PTASK 0x100000000ULL
#define PMAX 0xfffeffffULL

FIXTURE(place) {
	struct fake_mm *mm;
	struct nt_space s;
};

FIXTURE_SETUP(place)
{
	self->mm = calloc(1, sizeof(*self->mm));
	ASSERT_NE(NULL, self->mm);
	self->mm->task_size = PTASK;
	nt_space_init(&self->s, &fake_ops, self->mm, GRAN, PMAX);
	self->mm->space = &self->s;
	fake_resched_calls = 0;
	fake_fatal_at = 0;
}

FIXTURE_TEARDOWN(place)
{
	nt_space_destroy(&self->s);
	free(self->mm);
}

static u64 umin(u64 a, u64 b)
{
	return a < b ? a : b;
}

static u64 umax(u64 a, u64 b)
{
	return a > b ? a : b;
}

/* The reference's view of gap i (below mapping i): [*a, *e) is usable. */
static void ref_gap(struct fake_mm *mm, int i, u64 *a, u64 *e)
{
	u64 b = i < mm->n ? mm->seg[i].start : mm->task_size;

	*a = i ? mm->seg[i - 1].end : 0;
	*e = b;
	if (i < mm->n && mm->seg[i].grows_down)
		*e = b > GUARD ? b - GUARD : 0;
}

static bool ref_in_slack(struct fake_mm *mm, u64 c, u64 size)
{
	if (!mm->start_brk && !mm->brk)
		return false;
	return c < mm->brk + SLACK && c + size > mm->start_brk;
}

/*
 * Where placement must put size bytes in [lo, hi), by brute force: every
 * aligned candidate of every gap, lowest (highest) first; 0: nowhere.
 */
static u64 ref_place(struct fake_mm *mm, u64 lo, u64 hi, u64 size, u64 align,
		     bool top_down)
{
	u64 a, e, c, top;
	int k, i;

	hi = umin(hi, mm->task_size);
	for (k = 0; k <= mm->n; k++) {
		i = top_down ? mm->n - k : k;
		ref_gap(mm, i, &a, &e);
		a = umax(a, lo);
		top = umin(e, hi);
		if (top <= a || top - a < size)
			continue;
		if (top_down) {
			/* Top-down placement does not avoid the heap's room. */
			c = (top - size) & ~(align - 1);
			if (c >= a)
				return c;
			continue;
		}
		for (c = nt_round_up(a, align); c + size <= top; c += align)
			if (!ref_in_slack(mm, c, size))
				return c;
	}
	return 0;
}

static u64 ref_span(u64 a, u64 b)
{
	a = nt_round_up(a, GRAN);
	b &= ~(GRAN - 1);
	return b > a ? b - a : 0;
}

/* The largest 64K-aligned block placement could use in [lo, hi). */
static u64 ref_largest(struct fake_mm *mm, u64 lo, u64 hi)
{
	u64 a, e, best = 0, hl = mm->start_brk, hh = mm->brk + SLACK;
	int i;

	if (!mm->start_brk && !mm->brk)
		hl = hh = mm->task_size;
	for (i = 0; i <= mm->n; i++) {
		ref_gap(mm, i, &a, &e);
		a = umax(a, lo);
		e = umin(e, hi);
		if (e <= a)
			continue;
		if (a < hh && e > hl) {
			best = umax(best, ref_span(a, umin(e, hl)));
			best = umax(best, ref_span(umax(a, hh), e));
		} else {
			best = umax(best, ref_span(a, e));
		}
	}
	return best;
}

static u32 place_alloc(struct nt_space *s, u64 size, u32 type, u64 *base)
{
	struct nt_alloc_req a = { .size = size, .type = NTVM_MEM_RESERVE | type,
				.protect = NTVM_PAGE_NOACCESS };

	nt_allocate(s, &a);
	*base = a.status ? 0 : a.base;
	return a.status;
}

static u32 place_release(struct nt_space *s, u64 base)
{
	struct nt_free_req f = { .base = base, .type = NTVM_MEM_RELEASE };

	nt_free(s, &f);
	return f.status;
}

static u64 place_floor(struct nt_space *s)
{
	u64 f, room;

	nt_place_get(s, &f, &room);
	return f;
}

/* An exact-size hole is reused exactly; a larger request skips it. */
TEST_F(place, lowest_fit_reused)
{
	u64 b[6], x, probes;
	int i;

	for (i = 0; i < 6; i++) {
		ASSERT_EQ(0, place_alloc(&self->s, GRAN, 0, &b[i]));
		EXPECT_EQ((u64)(i + 1) * GRAN, b[i]);
	}
	ASSERT_EQ(0, place_release(&self->s, b[2]));
	/* The unmap lowered the floor to the hole, with the hole as room. */
	EXPECT_EQ(b[2], place_floor(&self->s));
	ASSERT_EQ(0, place_alloc(&self->s, 2 * GRAN, 0, &x));
	EXPECT_EQ(7 * GRAN, x);
	probes = self->mm->gap_probes;
	ASSERT_EQ(0, place_alloc(&self->s, GRAN - PAGE, 0, &x));
	EXPECT_EQ(b[2], x);
	/* ... from the floor's room, without reading the map. */
	EXPECT_EQ(probes, self->mm->gap_probes);
	/* A reservation at the floor moves it past itself. */
	EXPECT_EQ(b[3], place_floor(&self->s));
}

/* Gaps big enough but with no aligned candidate are stepped over. */
TEST_F(place, unaligned_gaps_stepped_over)
{
	u64 x, at = 0x100000;
	int i;

	/* Below at: mapped.  Then 68K gaps starting 4K past a granule. */
	fake_insert(self->mm, GRAN, at + PAGE, NT_LPROT_R, true);
	for (i = 0; i < 100; i++) {
		at += 0x20000;
		fake_insert(self->mm, at - 0x20000 + PAGE + 0x11000, at + PAGE,
			    NT_LPROT_R, true);
	}
	ASSERT_EQ(0, place_alloc(&self->s, GRAN, 0, &x));
	EXPECT_EQ(at + GRAN, x);
	/* A page fits in the first of them, at its granule. */
	ASSERT_EQ(0, place_alloc(&self->s, PAGE, 0, &x));
	EXPECT_EQ(0x110000ULL, x);
	/* More than 64 probes: a fatal signal stops the search. */
	fake_fatal_at = 1;
	{
		struct nt_alloc_req r = { .size = GRAN, .type = NTVM_MEM_RESERVE,
					.protect = NTVM_PAGE_NOACCESS,
					.requirements = true, .lowest = 0x120000,
					.alignment = GRAN };

		nt_allocate(&self->s, &r);
		EXPECT_EQ(NTVM_STATUS_NO_MEMORY, r.status);
		EXPECT_LE(1, fake_resched_calls);
		fake_fatal_at = 0;
		r.base = 0;
		nt_allocate(&self->s, &r);
		EXPECT_EQ(0, r.status);
		EXPECT_EQ(at + 2 * GRAN, r.base);
	}
}

/* MEM_TOP_DOWN, ZeroBits and requirement limits, alignment. */
TEST_F(place, top_down_and_limits)
{
	struct nt_alloc_req r = { .size = GRAN, .type = NTVM_MEM_RESERVE |
				NTVM_MEM_TOP_DOWN, .protect = NTVM_PAGE_NOACCESS };
	u64 x;

	nt_allocate(&self->s, &r);
	ASSERT_EQ(0, r.status);
	EXPECT_EQ(PMAX + 1 - GRAN, r.base);
	/* ZeroBits 4: below 0x10000000. */
	r.base = 0;
	r.zero_bits = 4;
	nt_allocate(&self->s, &r);
	ASSERT_EQ(0, r.status);
	EXPECT_EQ(0x10000000 - GRAN, r.base);
	/* A mapping at the top, ending 4K short of a granule: stepped over. */
	fake_insert(self->mm, 0x0ff00000 + PAGE, 0x10000000 - GRAN, NT_LPROT_R, true);
	r.base = 0;
	r.size = 2 * GRAN;
	nt_allocate(&self->s, &r);
	ASSERT_EQ(0, r.status);
	EXPECT_EQ(0x0ff00000 - 2 * GRAN, r.base);
	/* Bottom-up under ZeroBits 31 bits' worth: low. */
	r.type = NTVM_MEM_RESERVE;
	r.base = 0;
	r.zero_bits = 4;
	nt_allocate(&self->s, &r);
	ASSERT_EQ(0, r.status);
	EXPECT_EQ(GRAN, r.base);
	/* Requirements: highest bounds a top-down search, alignment 1 MiB. */
	r = (struct nt_alloc_req){ .size = GRAN, .type = NTVM_MEM_RESERVE |
				   NTVM_MEM_TOP_DOWN, .protect = NTVM_PAGE_NOACCESS,
				   .requirements = true, .lowest = 0x200000,
				   .highest = 0x7fffffff, .alignment = 0x100000 };
	nt_allocate(&self->s, &r);
	ASSERT_EQ(0, r.status);
	EXPECT_EQ(0x7ff00000ULL, r.base);
	/* Nothing fits under a limit that is full. */
	fake_insert(self->mm, 0x200000, 0x300000, NT_LPROT_R, true);
	r.base = 0;
	r.highest = 0x2fffff;
	nt_allocate(&self->s, &r);
	EXPECT_EQ(NTVM_STATUS_NO_MEMORY, r.status);
	ASSERT_EQ(0, place_alloc(&self->s, GRAN, 0, &x));
	EXPECT_EQ(3 * GRAN, x);
}

/* Bottom-up placement leaves the heap 64 MiB of room. */
/*
 * Top-down with an alignment that leaves no candidate above lowest: one
 * probe says so (the fuzzer once found a search that stepped down a
 * large free range one allocation size at a time).
 */
TEST_F(place, top_down_no_aligned_candidate)
{
	struct nt_alloc_req r = { .size = GRAN, .type = NTVM_MEM_RESERVE |
				  NTVM_MEM_TOP_DOWN, .protect = NTVM_PAGE_NOACCESS,
				  .requirements = true, .lowest = 0x40010000,
				  .highest = 0x7fffffff, .alignment = 0x40000000 };

	self->mm->gap_probes = 0;
	nt_allocate(&self->s, &r);
	EXPECT_EQ(NTVM_STATUS_NO_MEMORY, r.status);
	EXPECT_EQ(0, r.base);
	EXPECT_GE(4, self->mm->gap_probes);
	/* The same range bottom-up: no aligned start either. */
	r.type = NTVM_MEM_RESERVE;
	self->mm->gap_probes = 0;
	nt_allocate(&self->s, &r);
	EXPECT_EQ(NTVM_STATUS_NO_MEMORY, r.status);
	EXPECT_GE(4, self->mm->gap_probes);
	/* With lowest at the aligned address, both find it. */
	r.lowest = 0x40000000;
	nt_allocate(&self->s, &r);
	ASSERT_EQ(0, r.status);
	EXPECT_EQ(0x40000000ULL, r.base);
}

/*
 * Top-down with an alignment far above the size: the next probe ends at
 * the aligned candidate, not size bytes lower each time (the fuzzer found
 * a search that stepped down the free space above the candidate one size
 * at a time: 16,383 probes here, 2^30 for a 2^46 alignment).
 */
TEST_F(place, top_down_large_alignment)
{
	struct nt_alloc_req r = { .size = GRAN, .type = NTVM_MEM_RESERVE |
				  NTVM_MEM_TOP_DOWN, .protect = NTVM_PAGE_NOACCESS,
				  .requirements = true, .highest = 0xbfffffff,
				  .alignment = 0x20000000 };

	/* The probe at the top, then the one ending at the candidate. */
	self->mm->gap_probes = 0;
	nt_allocate(&self->s, &r);
	ASSERT_EQ(0, r.status);
	EXPECT_EQ(0xa0000000ULL, r.base);
	EXPECT_EQ(GRAN, r.size);
	EXPECT_EQ(2, self->mm->gap_probes);
	/* That candidate taken: the next one down, one probe more. */
	r.base = 0;
	self->mm->gap_probes = 0;
	nt_allocate(&self->s, &r);
	ASSERT_EQ(0, r.status);
	EXPECT_EQ(0x80000000ULL, r.base);
	EXPECT_EQ(3, self->mm->gap_probes);
	/* A mapping over the next candidate: passed, not walked down. */
	fake_insert(self->mm, 0x60008000, 0x7fff0000, NT_LPROT_R, true);
	r.base = 0;
	self->mm->gap_probes = 0;
	nt_allocate(&self->s, &r);
	ASSERT_EQ(0, r.status);
	EXPECT_EQ(0x40000000ULL, r.base);
	EXPECT_EQ(5, self->mm->gap_probes);
}

TEST_F(place, heap_slack)
{
	u64 heap = 0x4000000, x, fl;
	struct nt_alloc_req r;
	struct nt_stats st;

	fake_brk(self->mm, heap, heap + 0x21000);
	/* Everything below the heap taken but 64K right under it. */
	fake_insert(self->mm, GRAN, heap - GRAN, NT_LPROT_R, true);
	ASSERT_EQ(0, place_alloc(&self->s, 2 * GRAN, 0, &x));
	EXPECT_EQ(nt_round_up(heap + 0x21000 + SLACK, GRAN), x);
	ASSERT_EQ(0, place_alloc(&self->s, GRAN, 0, &x));
	EXPECT_EQ(heap - GRAN, x);
	/* The floor moved up to the heap: it steps over its room when next examined. */
	fl = place_floor(&self->s);
	EXPECT_EQ(heap, fl);
	/* Top-down under a limit inside the room may use it. */
	r = (struct nt_alloc_req){ .size = GRAN, .type = NTVM_MEM_RESERVE |
				   NTVM_MEM_TOP_DOWN, .protect = NTVM_PAGE_NOACCESS,
				   .requirements = true, .highest = heap + 0x200000 - 1 };
	nt_allocate(&self->s, &r);
	ASSERT_EQ(0, r.status);
	EXPECT_EQ(heap + 0x200000 - GRAN, r.base);
	/* The heap grows: a placement that fit before moves above it. */
	fake_brk(self->mm, heap, heap + 0x400000);
	ASSERT_EQ(0, place_alloc(&self->s, GRAN, 0, &x));
	EXPECT_EQ(nt_round_up(heap + 0x400000 + SLACK, GRAN), x);
	EXPECT_EQ(x + GRAN, place_floor(&self->s));
	nt_get_stats(&self->s, &st);
	EXPECT_EQ(ref_largest(self->mm, GRAN, PMAX + 1), st.largest_free);
	/* brk() gives memory back: an unmap, the floor comes down. */
	fake_brk(self->mm, heap, heap);
	EXPECT_GE(heap, place_floor(&self->s));
}

/* A stack keeps its guard gap, bottom-up and top-down. */
TEST_F(place, stack_guard_gap)
{
	u64 stack = 0x300000, x;
	struct nt_alloc_req r;
	struct nt_stats st;

	fake_insert(self->mm, GRAN, 0x100000, NT_LPROT_R, true);
	fake_stack(self->mm, stack, stack + 0x20000);
	ASSERT_EQ(0, place_alloc(&self->s, 0x100000 + GRAN, 0, &x));
	EXPECT_EQ(stack + 0x20000, x);
	ASSERT_EQ(0, place_alloc(&self->s, 0x100000, 0, &x));
	EXPECT_EQ(0x100000ULL, x);
	ASSERT_EQ(0, place_release(&self->s, 0x100000));
	r = (struct nt_alloc_req){ .size = GRAN, .type = NTVM_MEM_RESERVE |
				   NTVM_MEM_TOP_DOWN, .protect = NTVM_PAGE_NOACCESS,
				   .requirements = true, .highest = stack - 1 };
	nt_allocate(&self->s, &r);
	ASSERT_EQ(0, r.status);
	EXPECT_EQ(stack - GUARD - GRAN, r.base);
	nt_get_stats(&self->s, &st);
	EXPECT_EQ(ref_largest(self->mm, GRAN, PMAX + 1), st.largest_free);
	/* An explicit base may take the guard gap. */
	x = stack - GRAN;
	{
		u64 size = GRAN;

		EXPECT_EQ(0, alloc(&self->s, &x, &size, NTVM_MEM_RESERVE,
				   NTVM_PAGE_NOACCESS));
	}
}

/* Unmaps lower the floor; a mapping behind ntvm's back costs a retry. */
TEST_F(place, floor_follows_unmaps)
{
	u64 b[4], x, probes;
	int i;

	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, place_alloc(&self->s, GRAN, 0, &b[i]));
	EXPECT_EQ(5 * GRAN, place_floor(&self->s));
	/* munmap() behind ntvm's back, inside an allocation. */
	fake_munmap(self->mm, b[1] + PAGE, b[1] + 2 * PAGE);
	EXPECT_EQ(b[1], place_floor(&self->s));
	ASSERT_EQ(0, place_alloc(&self->s, GRAN, 0, &x));
	EXPECT_EQ(5 * GRAN, x);
	/* The floor went back up past what is still mapped. */
	EXPECT_EQ(6 * GRAN, place_floor(&self->s));
	/* A mapping made behind ntvm's back in the room is found by map(). */
	fake_insert(self->mm, 6 * GRAN, 6 * GRAN + PAGE, NT_LPROT_R, true);
	probes = self->mm->gap_probes;
	ASSERT_EQ(0, place_alloc(&self->s, GRAN, 0, &x));
	EXPECT_EQ(7 * GRAN, x);
	EXPECT_LT(probes, self->mm->gap_probes);
}

/*
 * Random maps, heap and stack moves, unmaps and placements: every
 * placement is where the brute-force reference puts it, from the floor's
 * fast path or from the search; the floor's promise holds throughout.
 */
TEST_F(place, fast_path_equals_reference)
{
	static u64 live[4096];
	unsigned int seed = 20261130;
	int iter, n = 0, fast = 0, slow = 0, found = 0, i;
	u64 brk = 0x3000000 + 5 * PAGE;

	/* Mappings, most of them in whole granules, as ntvm's own. */
	for (i = 0; i < 80; i++) {
		u64 lo = GRAN + (u64)(rand_r(&seed) % 12000) * PAGE;
		u64 len = (u64)(1 + rand_r(&seed) % 40) * PAGE;
		u64 st0, en;

		if (rand_r(&seed) % 4) {
			lo &= ~(GRAN - 1);
			len = nt_round_up(len, GRAN);
		}

		if (fake_prot(self->mm, lo, &st0, &en) == NT_VMA_NONE &&
		    en >= lo + len)
			fake_insert(self->mm, lo, lo + len, NT_LPROT_R, true);
	}
	fake_brk(self->mm, 0x3000000, brk);
	fake_stack(self->mm, 0x9000000, 0x9020000);
	for (iter = 0; iter < 4000; iter++) {
		int op = rand_r(&seed) % 13;
		u64 want, x, probes = self->mm->gap_probes, fl;

		if (op <= 6) {
			/* Default, top-down, or with requirements or ZeroBits. */
			struct nt_alloc_req r = { .type = NTVM_MEM_RESERVE,
						.protect = NTVM_PAGE_NOACCESS };
			u64 lo = GRAN, hi = PMAX + 1, align = GRAN;

			r.size = rand_r(&seed) % 2 ?
				 (u64)(1 + rand_r(&seed) % 24) * PAGE :
				 (u64)(1 + rand_r(&seed) % 6) * GRAN;
			if (op == 4)
				r.type |= NTVM_MEM_TOP_DOWN;
			if (op == 5) {
				r.zero_bits = 4 + rand_r(&seed) % 4;
				hi = (1ULL << (32 - r.zero_bits));
				if (rand_r(&seed) % 2)
					r.type |= NTVM_MEM_TOP_DOWN;
			}
			if (op == 6) {
				r.requirements = true;
				r.lowest = (u64)(rand_r(&seed) % 2048) * GRAN;
				r.highest = r.lowest + (u64)(1 + rand_r(&seed) % 4096) * GRAN - 1;
				r.alignment = GRAN << (rand_r(&seed) % 4);
				if (rand_r(&seed) % 2)
					r.type |= NTVM_MEM_TOP_DOWN;
				lo = umax(r.lowest, GRAN);
				hi = r.highest + 1;
				align = r.alignment;
			}
			want = ref_place(self->mm, lo, hi, nt_round_up(r.size, PAGE),
					 align, r.type & NTVM_MEM_TOP_DOWN);
			nt_allocate(&self->s, &r);
			if (want) {
				ASSERT_EQ(0, r.status) TH_LOG("iter %d op %d", iter, op);
				ASSERT_EQ(want, r.base)
					TH_LOG("iter %d op %d size %#llx", iter, op,
					       (unsigned long long)r.size);
				if (n < 4096)
					live[n++] = r.base;
				else
					ASSERT_EQ(0, place_release(&self->s, r.base));
				found++;
				if (op <= 3 && probes == self->mm->gap_probes)
					fast++;
				else if (op <= 3)
					slow++;
			} else {
				ASSERT_EQ(NTVM_STATUS_NO_MEMORY, r.status)
					TH_LOG("iter %d op %d", iter, op);
			}
		} else if (op == 7 && n) {
			/* NtFreeVirtualMemory(MEM_RELEASE). */
			u32 st;

			i = rand_r(&seed) % n;
			st = place_release(&self->s, live[i]);
			/* Unless (partly) unmapped behind ntvm's back. */
			if (st != NTVM_STATUS_MEMORY_NOT_ALLOCATED &&
			    st != NTVM_STATUS_FREE_VM_NOT_AT_BASE)
				ASSERT_EQ(0, st) TH_LOG("iter %d", iter);
			live[i] = live[--n];
		} else if (op == 8) {
			/* munmap() behind ntvm's back, of anything below 64M. */
			u64 lo = GRAN + (u64)(rand_r(&seed) % 16000) * PAGE, st0, en;
			u64 len = (u64)(1 + rand_r(&seed) % 8) * PAGE;

			if (rand_r(&seed) % 4) {
				lo &= ~(GRAN - 1);
				len = nt_round_up(len, GRAN);
			}
			if (fake_prot(self->mm, lo, &st0, &en) != NT_VMA_NONE &&
			    !(lo + len > 0x3000000 && lo < 0x3000000 + SLACK))
				fake_munmap(self->mm, lo, lo + len);
		} else if (op == 9) {
			/* mmap() behind ntvm's back, in free space. */
			u64 lo = GRAN + (u64)(rand_r(&seed) % 16000) * PAGE;
			u64 len = (u64)(1 + rand_r(&seed) % 16) * PAGE, st0, en;

			if (rand_r(&seed) % 4 == 0)
				lo = place_floor(&self->s);
			if (fake_prot(self->mm, lo, &st0, &en) == NT_VMA_NONE &&
			    en >= lo + len)
				fake_insert(self->mm, lo, lo + len, NT_LPROT_R, true);
		} else if (op == 10) {
			/* brk(): up into free space, or down. */
			u64 nb = brk + ((rand_r(&seed) % 2) ? 1 : -1) *
				 (u64)(rand_r(&seed) % 64) * PAGE, st0, en;

			if (nb < 0x3000000)
				nb = 0x3000000;
			if (nb <= brk || (fake_prot(self->mm, nt_round_up(brk, PAGE),
						    &st0, &en) == NT_VMA_NONE &&
					  en >= nt_round_up(nb, PAGE))) {
				brk = nb;
				fake_brk(self->mm, 0x3000000, brk);
			}
		} else if (op >= 11 && iter % 8 == 0) {
			struct nt_stats st;

			nt_get_stats(&self->s, &st);
			ASSERT_EQ(ref_largest(self->mm, GRAN, PMAX + 1),
				  st.largest_free) TH_LOG("iter %d", iter);
		}
		/* No usable page starts below the floor. */
		fl = place_floor(&self->s);
		if (fl > GRAN) {
			x = ref_place(self->mm, GRAN, fl + PAGE - 1, PAGE, GRAN, false);
			ASSERT_EQ(0, x) TH_LOG("iter %d: %#llx free below the floor %#llx",
					       iter, (unsigned long long)x,
					       (unsigned long long)fl);
		}
	}
	TH_LOG("%d placements, %d default ones from the room, %d searched",
	       found, fast, slow);
	EXPECT_LT(50, fast);
	EXPECT_LT(200, slow);
}

/* Keep the output of a test that crashes the machine. */
static void __attribute__((constructor)) line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

TEST_HARNESS_MAIN
