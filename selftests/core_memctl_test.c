// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the NT core's issue 11 parts (module/core/memctl.c and the
 * MEM_LARGE_PAGES and address-requirement rules of space.c), in user
 * space, on the fake address space of fake_mm.c.  Built with ASan and
 * UBSan by "make -C selftests host-check".
 */
#include <stdlib.h>
#include "kselftest_harness.h"
#include "fake_mm.h"

#define GRAN NTVM_GRANULARITY
#define PAGE NTVM_PAGE_SIZE
#define MAXA 0x7ffffffeffffULL
#define LP NT_LARGE_PAGE

static int large_answer;

static int fake_large_pages(void *ctx)
{
	(void)ctx;
	return large_answer;
}

FIXTURE(mc) {
	struct fake_mm *mm;
	struct nt_vm_ops ops;
	struct nt_space s;
};

FIXTURE_SETUP(mc)
{
	self->mm = calloc(1, sizeof(*self->mm));
	ASSERT_NE(NULL, self->mm);
	self->mm->task_size = 0x800000000000ULL;
	self->ops = fake_ops;
	self->ops.large_pages = fake_large_pages;
	large_answer = 0;
	nt_space_init(&self->s, &self->ops, self->mm, GRAN, MAXA);
	self->mm->space = &self->s;
}

FIXTURE_TEARDOWN(mc)
{
	nt_space_destroy(&self->s);
	free(self->mm);
}

static u32 alloc(struct nt_space *s, struct nt_alloc_req *a)
{
	nt_allocate(s, a);
	return a->status;
}

static struct nt_memctl mc(struct nt_space *s, u32 op, u64 base, u64 len,
			   u32 map_type)
{
	struct nt_memctl m = { .op = op, .base = base, .length = len,
			       .map_type = map_type };

	nt_memctl(s, &m);
	return m;
}

/* The same with NT_BAD_* set: a bad variable, another process's handle. */
static u32 mc_bad(struct nt_space *s, u32 op, u64 base, u32 bad)
{
	struct nt_memctl m = { .op = op, .base = base, .bad = bad };

	nt_memctl(s, &m);
	return m.status;
}

TEST_F(mc, region_and_page)
{
	struct nt_alloc_req a = { .base = 0x20000000, .size = 0x10000,
				.type = NTVM_MEM_RESERVE,
				.protect = NTVM_PAGE_READWRITE };
	struct nt_memctl m;

	ASSERT_EQ(0, alloc(&self->s, &a));
	a = (struct nt_alloc_req){ .base = 0x20003000, .size = 0x2000,
				 .type = NTVM_MEM_COMMIT,
				 .protect = NTVM_PAGE_READONLY };
	ASSERT_EQ(0, alloc(&self->s, &a));

	m = mc(&self->s, NT_MEMCTL_REGION, 0x20005123, 0, 0);
	EXPECT_EQ(0, m.status);
	EXPECT_EQ(0x20000000, m.alloc_base);
	EXPECT_EQ(0x10000, m.alloc_size);
	EXPECT_EQ(0x2000, m.commit_size);
	EXPECT_EQ(NTVM_PAGE_READWRITE, m.alloc_protect);
	EXPECT_EQ(NTVM_MEM_PRIVATE, m.type);
	EXPECT_FALSE(m.large);
	EXPECT_EQ(NTVM_STATUS_INVALID_ADDRESS,
		  mc(&self->s, NT_MEMCTL_REGION, 0x30000000, 0, 0).status);
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  mc(&self->s, NT_MEMCTL_REGION, MAXA + 1, 0, 0).status);
	/* Another process's handle: after the address, before the lookup. */
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  mc_bad(&self->s, NT_MEMCTL_REGION, MAXA + 1, NT_BAD_HANDLE));
	EXPECT_EQ(NTVM_STATUS_INVALID_HANDLE,
		  mc_bad(&self->s, NT_MEMCTL_REGION, 0x30000000, NT_BAD_HANDLE));
	EXPECT_EQ(NTVM_STATUS_INVALID_HANDLE,
		  mc_bad(&self->s, NT_MEMCTL_REGION, 0x20005123, NT_BAD_HANDLE));
	/* A mapping ntvm did not make is one allocation. */
	fake_insert(self->mm, 0x40000000, 0x40003000, NT_LPROT_R, true);
	m = mc(&self->s, NT_MEMCTL_REGION, 0x40001000, 0, 0);
	EXPECT_EQ(0, m.status);
	EXPECT_EQ(0x40000000, m.alloc_base);
	EXPECT_EQ(0x3000, m.commit_size);
	EXPECT_EQ(NTVM_MEM_MAPPED, m.type);

	/* Runs of one state and protection. */
	m = mc(&self->s, NT_MEMCTL_PAGE, 0x20003800, 0, 0);
	EXPECT_EQ(0x20003000, m.lo);
	EXPECT_EQ(0x20005000, m.hi);
	EXPECT_EQ(NTVM_MEM_COMMIT, m.state);
	EXPECT_EQ(NTVM_PAGE_READONLY, m.protect);
	m = mc(&self->s, NT_MEMCTL_PAGE, 0x20000000, 0, 0);
	EXPECT_EQ(0x20003000, m.hi);
	EXPECT_EQ(NTVM_MEM_RESERVE, m.state);
	m = mc(&self->s, NT_MEMCTL_PAGE, 0x30000000, 0, 0);
	EXPECT_EQ(NTVM_MEM_FREE, m.state);
	EXPECT_EQ(0x40000000, m.hi);
	m = mc(&self->s, NT_MEMCTL_PAGE, MAXA + 1, 0, 0);
	EXPECT_EQ(NTVM_MEM_FREE, m.state);
	EXPECT_EQ(0, m.status);
}

TEST_F(mc, lock_checks)
{
	struct nt_alloc_req a = { .base = 0x20000000, .size = 0x10000,
				.type = NTVM_MEM_RESERVE,
				.protect = NTVM_PAGE_READWRITE };
	struct nt_region r;
	struct nt_query_req q = { .address = 0x20002000 };
	struct nt_memctl m;
	u32 n = 1;

	ASSERT_EQ(0, alloc(&self->s, &a));
	a = (struct nt_alloc_req){ .base = 0x20000000, .size = 0x3000,
				 .type = NTVM_MEM_COMMIT,
				 .protect = NTVM_PAGE_READWRITE };
	ASSERT_EQ(0, alloc(&self->s, &a));

	m = mc(&self->s, NT_MEMCTL_LOCK, 0x20000fff, 2, 1);
	EXPECT_EQ(0, m.status);
	EXPECT_EQ(0x20000000, m.lo);
	EXPECT_EQ(0x20002000, m.hi);
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  mc(&self->s, NT_MEMCTL_LOCK, 0x20000000, 0x1000, 0).status);
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  mc(&self->s, NT_MEMCTL_LOCK, 0x20000000, 0x1000, 4).status);
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  mc(&self->s, NT_MEMCTL_LOCK, 0x20000000, 0, 1).status);
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  mc(&self->s, NT_MEMCTL_UNLOCK, MAXA, 0x2000, 1).status);
	EXPECT_EQ(NTVM_STATUS_PRIVILEGE_NOT_HELD,
		  mc(&self->s, NT_MEMCTL_LOCK, 0x20000000, 0x1000, 2).status);
	EXPECT_EQ(NTVM_STATUS_NOT_COMMITTED,
		  mc(&self->s, NT_MEMCTL_LOCK, 0x20000000, 0x4000, 1).status);
	EXPECT_EQ(NTVM_STATUS_NOT_COMMITTED,
		  mc(&self->s, NT_MEMCTL_UNLOCK, 0x30000000, 0x1000, 1).status);

	/* An armed guard page: disarmed, STATUS_GUARD_PAGE_VIOLATION once. */
	a = (struct nt_alloc_req){ .base = 0x20002000, .size = 0x1000,
				 .type = NTVM_MEM_COMMIT,
				 .protect = NTVM_PAGE_READWRITE | NTVM_PAGE_GUARD };
	ASSERT_EQ(0, alloc(&self->s, &a));
	fake_protect(self->mm, 0x20002000, 0x20003000, 0);
	m = mc(&self->s, NT_MEMCTL_LOCK, 0x20000000, 0x3000, 1);
	EXPECT_EQ(NTVM_STATUS_GUARD_PAGE_VIOLATION, m.status);
	EXPECT_EQ(NTVM_APPLY_MPROTECT, m.apply);
	EXPECT_EQ(NT_LPROT_R | NT_LPROT_W, m.apply_prot);
	EXPECT_EQ(0x20002000, m.lo);
	fake_protect(self->mm, 0x20002000, 0x20003000, NT_LPROT_R | NT_LPROT_W);
	nt_query(&self->s, &q, &r, &n);
	EXPECT_EQ(NTVM_PAGE_READWRITE, r.protect);
	EXPECT_EQ(0, mc(&self->s, NT_MEMCTL_LOCK, 0x20000000, 0x3000, 1).status);
	/* An unlock needs no access; a lock of PAGE_NOACCESS does. */
	fake_protect(self->mm, 0x20001000, 0x20002000, 0);
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION,
		  mc(&self->s, NT_MEMCTL_LOCK, 0x20000000, 0x3000, 1).status);
	EXPECT_EQ(0, mc(&self->s, NT_MEMCTL_UNLOCK, 0x20000000, 0x3000, 1).status);
	/* Foreign memory is committed; a hole is not. */
	fake_insert(self->mm, 0x40000000, 0x40002000, NT_LPROT_R, false);
	EXPECT_EQ(0, mc(&self->s, NT_MEMCTL_LOCK, 0x40000000, 0x2000, 1).status);
	EXPECT_EQ(NTVM_STATUS_NOT_COMMITTED,
		  mc(&self->s, NT_MEMCTL_LOCK, 0x40000000, 0x3000, 1).status);
}

TEST_F(mc, large_pages)
{
	struct nt_alloc_req a = { .size = 2 * LP,
				.type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT |
					NTVM_MEM_LARGE_PAGES,
				.protect = NTVM_PAGE_READONLY };
	struct nt_stats st;
	struct nt_memctl m;
	u64 s0, e0;

	ASSERT_EQ(0, alloc(&self->s, &a));
	EXPECT_EQ(0, a.base % LP);
	EXPECT_EQ(2 * LP, a.size);
	EXPECT_EQ(NTVM_APPLY_LARGE_PAGES, a.apply);
	EXPECT_EQ(NT_LPROT_R, a.apply_prot);
	/* Mapped writable, for user space to populate. */
	EXPECT_EQ(NT_LPROT_R | NT_LPROT_W, fake_prot(self->mm, a.base, &s0, &e0));
	m = mc(&self->s, NT_MEMCTL_PAGE, a.base + LP, 0, 0);
	EXPECT_TRUE(m.large);
	m = mc(&self->s, NT_MEMCTL_REGION, a.base, 0, 0);
	EXPECT_TRUE(m.large);
	EXPECT_EQ(2 * LP, m.commit_size);

	a = (struct nt_alloc_req){ .size = LP + PAGE,
				 .type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT |
					 NTVM_MEM_LARGE_PAGES,
				 .protect = NTVM_PAGE_READWRITE };
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER, alloc(&self->s, &a));
	a.size = LP;
	a.base = 0x40010000;
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER, alloc(&self->s, &a));
	a.base = 0;
	a.type = NTVM_MEM_COMMIT | NTVM_MEM_LARGE_PAGES;
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER_5, alloc(&self->s, &a));
	a.type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT | NTVM_MEM_LARGE_PAGES;
	large_answer = -EPERM;
	EXPECT_EQ(NTVM_STATUS_PRIVILEGE_NOT_HELD, alloc(&self->s, &a));
	large_answer = -EOPNOTSUPP;
	EXPECT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES, alloc(&self->s, &a));
	nt_get_stats(&self->s, &st);
	EXPECT_EQ(1, st.allocations);
	/* Without the op: never allowed. */
	self->ops.large_pages = NULL;
	EXPECT_EQ(NTVM_STATUS_PRIVILEGE_NOT_HELD, alloc(&self->s, &a));
}

/*
 * Large pages are neither locked nor unlocked (the WRK): a lock that meets
 * them fails with STATUS_INCOMPATIBLE_FILE_MAP, after the pages before
 * them are checked; an unlock stops where they begin.
 */
TEST_F(mc, large_pages_lock)
{
	const u64 lp = 0x40000000, below = lp - GRAN, above = lp + LP;
	struct nt_alloc_req a = { .base = lp, .size = LP,
				.type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT |
					NTVM_MEM_LARGE_PAGES,
				.protect = NTVM_PAGE_READWRITE };
	struct nt_memctl m;

	ASSERT_EQ(0, alloc(&self->s, &a));
	a = (struct nt_alloc_req){ .base = below, .size = GRAN,
				 .type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT,
				 .protect = NTVM_PAGE_READWRITE };
	ASSERT_EQ(0, alloc(&self->s, &a));
	a.base = above;
	ASSERT_EQ(0, alloc(&self->s, &a));

	EXPECT_EQ(NTVM_STATUS_INCOMPATIBLE_FILE_MAP,
		  mc(&self->s, NT_MEMCTL_LOCK, lp, PAGE, 1).status);
	EXPECT_EQ(NTVM_STATUS_INCOMPATIBLE_FILE_MAP,
		  mc(&self->s, NT_MEMCTL_LOCK, lp - PAGE, 2 * PAGE, 1).status);
	EXPECT_EQ(NTVM_STATUS_INCOMPATIBLE_FILE_MAP,
		  mc(&self->s, NT_MEMCTL_LOCK, lp + LP - PAGE, 2 * PAGE, 1).status);
	/*
	 * A hole before them comes first; an inaccessible page does not (NT
	 * looks at the allocations before it touches the pages).
	 */
	EXPECT_EQ(NTVM_STATUS_NOT_COMMITTED,
		  mc(&self->s, NT_MEMCTL_LOCK, below - PAGE, GRAN + 2 * PAGE, 1).status);
	fake_protect(self->mm, below, below + PAGE, 0);
	EXPECT_EQ(NTVM_STATUS_INCOMPATIBLE_FILE_MAP,
		  mc(&self->s, NT_MEMCTL_LOCK, below, GRAN + PAGE, 1).status);
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION,
		  mc(&self->s, NT_MEMCTL_LOCK, below, GRAN, 1).status);
	fake_protect(self->mm, below, below + PAGE, NT_LPROT_R | NT_LPROT_W);
	m = mc(&self->s, NT_MEMCTL_LOCK, below, GRAN, 1);
	EXPECT_EQ(0, m.status);
	EXPECT_FALSE(m.large);

	/* An unlock: the pages before, and the whole range reported. */
	m = mc(&self->s, NT_MEMCTL_UNLOCK, lp + 0x123, PAGE, 1);
	EXPECT_EQ(0, m.status);
	EXPECT_TRUE(m.large);
	EXPECT_EQ(lp, m.alloc_base);
	EXPECT_EQ(lp, m.lo);
	EXPECT_EQ(lp + 2 * PAGE, m.hi);
	m = mc(&self->s, NT_MEMCTL_UNLOCK, below + PAGE, GRAN, 1);
	EXPECT_EQ(0, m.status);
	EXPECT_TRUE(m.large);
	EXPECT_EQ(lp, m.alloc_base);
	EXPECT_EQ(below + PAGE, m.lo);
	EXPECT_EQ(lp + PAGE, m.hi);
	/* Past them nothing is checked: the page above is not looked at. */
	m = mc(&self->s, NT_MEMCTL_UNLOCK, lp + LP - PAGE, 2 * PAGE, 1);
	EXPECT_EQ(0, m.status);
	EXPECT_TRUE(m.large);
	EXPECT_EQ(lp + LP - PAGE, m.alloc_base);
	EXPECT_EQ(NTVM_STATUS_NOT_COMMITTED,
		  mc(&self->s, NT_MEMCTL_UNLOCK, below - PAGE, 2 * PAGE, 1).status);
	m = mc(&self->s, NT_MEMCTL_UNLOCK, above, GRAN, 1);
	EXPECT_EQ(0, m.status);
	EXPECT_FALSE(m.large);
}

TEST_F(mc, address_requirements)
{
	struct nt_alloc_req a = { .base = 0x20000000, .size = 0x10000,
				.type = NTVM_MEM_RESERVE,
				.protect = NTVM_PAGE_READWRITE,
				.requirements = true };

	/* All zero: no requirement, an explicit base is fine. */
	EXPECT_EQ(0, alloc(&self->s, &a));
	EXPECT_EQ(0x20000000, a.base);
	a.base = 0x20000000;
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES, alloc(&self->s, &a));
	a.base = 0;
	a.lowest = MAXA + 1;
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER, alloc(&self->s, &a));
	a.lowest = (MAXA + 1) & ~(GRAN - 1);
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER, alloc(&self->s, &a));
	a.lowest = ((MAXA + 1) & ~(GRAN - 1)) - GRAN;
	EXPECT_EQ(0, alloc(&self->s, &a));
	EXPECT_EQ(a.lowest, a.base);
}

/* Map a view of sec at addr (64K), with protect and the handle's rights. */
static u32 view(struct nt_space *s, struct nt_section *sec, u64 addr,
		u32 protect, u32 access)
{
	struct nt_view_req r = { .sec = sec, .base = addr, .size = GRAN,
				 .protect = protect, .inherit = 1,
				 .access = access };

	nt_map_view(s, &r);
	return r.status;
}

#define RW_ACCESS (NTVM_SECTION_MAP_READ | NTVM_SECTION_MAP_WRITE)
#define WC_ACCESS (NTVM_SECTION_MAP_READ | NTVM_SECTION_MAP_EXECUTE)

/*
 * A view is MEM_MAPPED in the region and working-set queries too, as in
 * the basic query, and its commit size is the section's committed pages
 * in it, committed through another view as well.
 */
TEST_F(mc, view_region)
{
	static struct nt_section sec;
	struct nt_alloc_req a = { .base = 0x30002000, .size = 2 * PAGE,
				  .type = NTVM_MEM_COMMIT,
				  .protect = NTVM_PAGE_READWRITE };
	struct nt_memctl m;

	memset(&sec, 0, sizeof(sec));
	ASSERT_TRUE(nt_section_init(&sec, NTVM_SEC_RESERVE, NTVM_PAGE_READWRITE, GRAN));
	ASSERT_EQ(0, view(&self->s, &sec, 0x30000000, NTVM_PAGE_READWRITE, RW_ACCESS));
	ASSERT_EQ(0, view(&self->s, &sec, 0x40000000, NTVM_PAGE_READWRITE, RW_ACCESS));
	m = mc(&self->s, NT_MEMCTL_REGION, 0x40001000, 0, 0);
	EXPECT_EQ(0, m.status);
	EXPECT_EQ(NTVM_MEM_MAPPED, m.type);
	EXPECT_EQ(0x40000000, m.alloc_base);
	EXPECT_EQ(GRAN, m.alloc_size);
	EXPECT_EQ(0, m.commit_size);
	/* Committed through the first view: the second's commit size too. */
	ASSERT_EQ(0, alloc(&self->s, &a));
	m = mc(&self->s, NT_MEMCTL_REGION, 0x40001000, 0, 0);
	EXPECT_EQ(NTVM_MEM_MAPPED, m.type);
	EXPECT_EQ(2 * PAGE, m.commit_size);
	m = mc(&self->s, NT_MEMCTL_REGION, 0x30000000, 0, 0);
	EXPECT_EQ(2 * PAGE, m.commit_size);
	m = mc(&self->s, NT_MEMCTL_PAGE, 0x30002000, 0, 0);
	EXPECT_EQ(0, m.status);
	EXPECT_EQ(NTVM_MEM_MAPPED, m.type);
	EXPECT_EQ(NTVM_MEM_COMMIT, m.state);
	m = mc(&self->s, NT_MEMCTL_PAGE, 0x30000000, 0, 0);
	EXPECT_EQ(NTVM_MEM_MAPPED, m.type);
	EXPECT_EQ(NTVM_MEM_RESERVE, m.state);
	EXPECT_EQ(0, nt_unmap_view(&self->s, 0x30000000, 0, false));
	EXPECT_EQ(0, nt_unmap_view(&self->s, 0x40000000, 0, false));
	nt_section_fini(&sec);
}

/*
 * A replaced reservation turned back into a placeholder holds no pages,
 * also where the program made its reserved pages accessible behind
 * ntvm's back (an mprotect(), which no unmap notices): they are mapped
 * PROT_NONE again, not kept under a placeholder.
 */
TEST_F(mc, preserve_drops_pages_made_accessible)
{
	struct nt_alloc_req a = { .size = GRAN, .ex = true,
				  .type = NTVM_MEM_RESERVE | NTVM_MEM_RESERVE_PLACEHOLDER,
				  .protect = NTVM_PAGE_NOACCESS };
	struct nt_free_req f = { .size = PAGE,
				 .type = NTVM_MEM_RELEASE | NTVM_MEM_PRESERVE_PLACEHOLDER };
	u64 ph, s0, e0;

	ASSERT_EQ(0, alloc(&self->s, &a));
	ph = a.base;
	a = (struct nt_alloc_req){ .base = ph, .size = GRAN, .ex = true,
				   .type = NTVM_MEM_RESERVE | NTVM_MEM_REPLACE_PLACEHOLDER,
				   .protect = NTVM_PAGE_READWRITE };
	ASSERT_EQ(0, alloc(&self->s, &a));
	fake_protect(self->mm, ph + PAGE, ph + 2 * PAGE, NT_LPROT_R | NT_LPROT_W);
	f.base = ph + PAGE;
	nt_free(&self->s, &f);
	EXPECT_EQ(0, f.status);
	EXPECT_EQ(0, fake_prot(self->mm, ph + PAGE, &s0, &e0));
	EXPECT_EQ(NTVM_MEM_PRIVATE, mc(&self->s, NT_MEMCTL_REGION, ph + PAGE, 0, 0).type);
	EXPECT_EQ(NTVM_PAGE_NOACCESS,
		  mc(&self->s, NT_MEMCTL_REGION, ph + PAGE, 0, 0).alloc_protect);
	/* A split with nothing accessible maps nothing. */
	self->mm->fail_at = 1;
	self->mm->calls = 0;
	f = (struct nt_free_req){ .base = ph + 3 * PAGE, .size = PAGE,
				  .type = NTVM_MEM_RELEASE | NTVM_MEM_PRESERVE_PLACEHOLDER };
	nt_free(&self->s, &f);
	self->mm->fail_at = 0;
	EXPECT_EQ(0, f.status);
	EXPECT_EQ(0, self->mm->calls);
}

/*
 * A protection change of a view maps its runs again one by one (write-copy
 * maps them private).  When one fails, those before it are mapped back as
 * they were, and the failing one stays as it was where the kernel left
 * its mapping: the failed call changes nothing.
 */
TEST_F(mc, view_protect_failure_changes_nothing)
{
	static struct nt_section sec;
	struct nt_protect_req p = { .base = 0x30001000, .size = PAGE,
				    .protect = NTVM_PAGE_READWRITE | NTVM_PAGE_GUARD };
	const u64 v = 0x30000000;
	u64 s0, e0;

	memset(&sec, 0, sizeof(sec));
	ASSERT_TRUE(nt_section_init(&sec, NTVM_SEC_COMMIT, NTVM_PAGE_READWRITE, GRAN));
	ASSERT_EQ(0, view(&self->s, &sec, v, NTVM_PAGE_READWRITE, RW_ACCESS));
	nt_protect(&self->s, &p);
	ASSERT_EQ(0, p.status);
	if (p.apply)
		fake_protect(self->mm, p.base, p.base + p.size, p.apply_prot);
	/* Page 0 maps private (call 1), the guard page fails (call 2). */
	self->mm->fail_at = 2;
	self->mm->calls = 0;
	p = (struct nt_protect_req){ .base = v, .size = 3 * PAGE,
				     .protect = NTVM_PAGE_WRITECOPY };
	nt_protect(&self->s, &p);
	self->mm->fail_at = 0;
	EXPECT_EQ(NTVM_STATUS_COMMITMENT_LIMIT, p.status);
	EXPECT_EQ(3, self->mm->calls);
	EXPECT_EQ(NTVM_PAGE_READWRITE, mc(&self->s, NT_MEMCTL_PAGE, v, 0, 0).protect);
	EXPECT_EQ(NTVM_PAGE_READWRITE | NTVM_PAGE_GUARD,
		  mc(&self->s, NT_MEMCTL_PAGE, v + PAGE, 0, 0).protect);
	EXPECT_EQ(NTVM_MEM_COMMIT, mc(&self->s, NT_MEMCTL_PAGE, v + PAGE, 0, 0).state);
	EXPECT_EQ(NTVM_PAGE_READWRITE, mc(&self->s, NT_MEMCTL_PAGE, v + 2 * PAGE, 0, 0).protect);
	EXPECT_EQ(NT_VMA_FOREIGN | NT_LPROT_R | NT_LPROT_W, fake_prot(self->mm, v, &s0, &e0));
	EXPECT_EQ(NT_VMA_FOREIGN, fake_prot(self->mm, v + PAGE, &s0, &e0));
	EXPECT_EQ(GRAN, self->s.committed_bytes);
	/* Without the failure the same change is made. */
	p = (struct nt_protect_req){ .base = v, .size = 3 * PAGE,
				     .protect = NTVM_PAGE_WRITECOPY };
	nt_protect(&self->s, &p);
	EXPECT_EQ(0, p.status);
	EXPECT_EQ(NTVM_PAGE_WRITECOPY, mc(&self->s, NT_MEMCTL_PAGE, v + PAGE, 0, 0).protect);
	EXPECT_EQ(0, nt_unmap_view(&self->s, v, 0, false));
	nt_section_fini(&sec);
}

/*
 * The commit maps of the sections an address space created share one
 * budget (NT_SECTION_MAP_BUDGET run slots): a commit whose map would grow
 * past it is STATUS_INSUFFICIENT_RESOURCES and changes nothing, one that
 * fits is charged, and the freed section gives its slots back.
 */
TEST_F(mc, section_map_budget)
{
	static struct nt_section sec;
	const s64 room = 6;	/* the first array past the 3 inline runs */
	atomic64_t budget;
	struct nt_alloc_req a = { .base = 0x30001000, .size = PAGE,
				  .type = NTVM_MEM_COMMIT,
				  .protect = NTVM_PAGE_READWRITE };

	memset(&sec, 0, sizeof(sec));
	ASSERT_TRUE(nt_section_init(&sec, NTVM_SEC_RESERVE, NTVM_PAGE_READWRITE, GRAN));
	atomic64_set(&budget, NT_SECTION_MAP_BUDGET - room + 1);
	sec.budget = &budget;
	ASSERT_EQ(0, view(&self->s, &sec, 0x30000000, NTVM_PAGE_READWRITE, RW_ACCESS));
	/* Page 1: three runs, inline. */
	ASSERT_EQ(0, alloc(&self->s, &a));
	EXPECT_EQ(3, sec.commit.nruns);
	EXPECT_EQ(NT_SECTION_MAP_BUDGET - room + 1, atomic64_read(&budget));
	/* Page 3 needs five: six slots, one more than the budget has. */
	a.base = 0x30003000;
	EXPECT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES, alloc(&self->s, &a));
	EXPECT_EQ(NT_SECTION_MAP_BUDGET - room + 1, atomic64_read(&budget));
	EXPECT_EQ(3, sec.commit.nruns);
	EXPECT_EQ(NTVM_MEM_RESERVE, mc(&self->s, NT_MEMCTL_PAGE, 0x30003000, 0, 0).state);
	EXPECT_EQ(NTVM_MEM_COMMIT, mc(&self->s, NT_MEMCTL_PAGE, 0x30001000, 0, 0).state);
	/* With room for them it is charged. */
	atomic64_set(&budget, NT_SECTION_MAP_BUDGET - room);
	EXPECT_EQ(0, alloc(&self->s, &a));
	EXPECT_EQ(5, sec.commit.nruns);
	EXPECT_EQ(NT_SECTION_MAP_BUDGET, atomic64_read(&budget));
	EXPECT_EQ(NTVM_MEM_COMMIT, mc(&self->s, NT_MEMCTL_PAGE, 0x30003000, 0, 0).state);
	EXPECT_EQ(0, nt_unmap_view(&self->s, 0x30000000, 0, false));
	nt_section_fini(&sec);
	EXPECT_EQ(NT_SECTION_MAP_BUDGET - room, atomic64_read(&budget));
}

/*
 * A second address space (another process mapping the same section), on
 * a fake of its own; NULL when out of memory.  nt_space_destroy() and
 * free() it after.
 */
static struct fake_mm *second_space(struct nt_space *s2, const struct fake_mm *like)
{
	struct fake_mm *mm2 = calloc(1, sizeof(*mm2));

	if (!mm2)
		return NULL;
	mm2->task_size = like->task_size;
	nt_space_init(s2, &fake_ops, mm2, GRAN, MAXA);
	mm2->space = s2;
	return mm2;
}

/*
 * Another address space, mapping the same section, commits once while a
 * view is being mapped with a CommitSize (between its checks and its
 * commit, where the section's lock is not held).
 */
static struct nt_space *other_space;
static u64 other_commit_at;
static u32 other_status;

static int map_view_while_other_commits(void *ctx, u64 addr, u64 len,
					u32 lprot, struct nt_section *sec,
					u64 off, bool cow, bool fixed)
{
	struct nt_alloc_req a = { .base = other_commit_at, .size = PAGE,
				  .type = NTVM_MEM_COMMIT,
				  .protect = NTVM_PAGE_READWRITE };

	if (other_space) {	/* once */
		other_status = alloc(other_space, &a);
		other_space = NULL;
	}
	return fake_ops.map_view(ctx, addr, len, lprot, sec, off, cow, fixed);
}

/*
 * The room a CommitSize needs in the commit map is held from the view's
 * checks to its commit: a commit another address space makes meanwhile
 * cannot take it, so the view's pages are committed as the call says
 * (they used to be dropped without a word when the map could not grow).
 * A failed map gives the room back.
 */
TEST_F(mc, view_commit_size_room_held)
{
	static struct nt_section sec;
	struct nt_view_req v = { .sec = &sec, .base = 0x30000000, .size = GRAN,
				 .commit_size = PAGE,
				 .protect = NTVM_PAGE_READWRITE, .inherit = 1,
				 .access = RW_ACCESS };
	struct nt_space s2;
	struct fake_mm *mm2 = second_space(&s2, self->mm);
	atomic64_t budget;

	ASSERT_NE(NULL, mm2);
	memset(&sec, 0, sizeof(sec));
	ASSERT_TRUE(nt_section_init(&sec, NTVM_SEC_RESERVE, NTVM_PAGE_READWRITE, GRAN));
	/* The map cannot outgrow its three inline runs. */
	atomic64_set(&budget, NT_SECTION_MAP_BUDGET);
	sec.budget = &budget;
	ASSERT_EQ(0, view(&s2, &sec, 0x50000000, NTVM_PAGE_READWRITE, RW_ACCESS));

	/* A failed map holds nothing afterwards. */
	self->mm->fail_at = self->mm->calls + 1;
	nt_map_view(&self->s, &v);
	EXPECT_EQ(NTVM_STATUS_COMMITMENT_LIMIT, v.status);
	EXPECT_EQ(0, sec.held);
	EXPECT_EQ(1, sec.commit.nruns);

	/* The other space's commit of page 2 wants the held room: refused. */
	self->mm->fail_at = 0;
	self->ops.map_view = map_view_while_other_commits;
	other_space = &s2;
	other_commit_at = 0x50002000;
	v.base = 0x30000000;
	v.size = GRAN;
	nt_map_view(&self->s, &v);
	EXPECT_EQ(0, v.status);
	EXPECT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES, other_status);
	EXPECT_EQ(0, sec.held);
	EXPECT_EQ(2, sec.commit.nruns);
	EXPECT_EQ(NT_SECTION_MAP_BUDGET, atomic64_read(&budget));
	EXPECT_EQ(NTVM_MEM_COMMIT, mc(&self->s, NT_MEMCTL_PAGE, 0x30000000, 0, 0).state);
	EXPECT_EQ(NTVM_MEM_RESERVE, mc(&self->s, NT_MEMCTL_PAGE, 0x30001000, 0, 0).state);
	EXPECT_EQ(NTVM_MEM_COMMIT, mc(&s2, NT_MEMCTL_PAGE, 0x50000000, 0, 0).state);
	EXPECT_EQ(NTVM_MEM_RESERVE, mc(&s2, NT_MEMCTL_PAGE, 0x50002000, 0, 0).state);

	/* With room for the map to grow, the same commit is made. */
	self->ops.map_view = fake_ops.map_view;
	EXPECT_EQ(0, nt_unmap_view(&self->s, 0x30000000, 0, false));
	atomic64_set(&budget, NT_SECTION_MAP_BUDGET - 6);
	{
		struct nt_alloc_req a = { .base = 0x50002000, .size = PAGE,
					  .type = NTVM_MEM_COMMIT,
					  .protect = NTVM_PAGE_READWRITE };

		EXPECT_EQ(0, alloc(&s2, &a));
	}
	EXPECT_EQ(4, sec.commit.nruns);
	EXPECT_EQ(NT_SECTION_MAP_BUDGET, atomic64_read(&budget));
	EXPECT_EQ(0, nt_unmap_view(&s2, 0x50000000, 0, false));
	nt_space_destroy(&s2);
	free(mm2);
	nt_section_fini(&sec);
}

/*
 * NtFlushVirtualMemory's checks: inside one view (length 0: to its end),
 * page-rounded; private memory and holes STATUS_NOT_MAPPED_DATA, past the
 * view STATUS_INVALID_PARAMETER; the variables, then the handle, first.
 */
TEST_F(mc, flush_checks)
{
	static struct nt_section sec;
	struct nt_alloc_req a = { .base = 0x50000000, .size = GRAN,
				  .type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT,
				  .protect = NTVM_PAGE_READWRITE };
	struct nt_memctl m;

	memset(&sec, 0, sizeof(sec));
	ASSERT_TRUE(nt_section_init(&sec, NTVM_SEC_COMMIT, NTVM_PAGE_READWRITE, GRAN));
	ASSERT_EQ(0, view(&self->s, &sec, 0x40000000, NTVM_PAGE_READWRITE, RW_ACCESS));
	ASSERT_EQ(0, alloc(&self->s, &a));

	m = mc(&self->s, NT_MEMCTL_FLUSH, 0x40001234, 0x10, 0);
	EXPECT_EQ(0, m.status);
	EXPECT_EQ(0x40001000, m.lo);
	EXPECT_EQ(0x40002000, m.hi);
	m = mc(&self->s, NT_MEMCTL_FLUSH, 0x40003800, 0, 0);
	EXPECT_EQ(0, m.status);
	EXPECT_EQ(0x40003000, m.lo);
	EXPECT_EQ(0x40000000 + GRAN, m.hi);
	EXPECT_EQ(0, mc(&self->s, NT_MEMCTL_FLUSH, 0x40000000, GRAN, 0).status);
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  mc(&self->s, NT_MEMCTL_FLUSH, 0x40000001, GRAN, 0).status);
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  mc(&self->s, NT_MEMCTL_FLUSH, 0x40000000, ~0ULL, 0).status);
	EXPECT_EQ(NTVM_STATUS_NOT_MAPPED_DATA,
		  mc(&self->s, NT_MEMCTL_FLUSH, 0x50000000, 0x1000, 0).status);
	EXPECT_EQ(NTVM_STATUS_NOT_MAPPED_DATA,
		  mc(&self->s, NT_MEMCTL_FLUSH, 0x60000000, 0, 0).status);
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  mc(&self->s, NT_MEMCTL_FLUSH, MAXA + 1, 0, 0).status);

	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION,
		  mc_bad(&self->s, NT_MEMCTL_FLUSH, MAXA + 1,
			 NT_BAD_POINTER | NT_BAD_HANDLE));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER,
		  mc_bad(&self->s, NT_MEMCTL_FLUSH, MAXA + 1, NT_BAD_HANDLE));
	EXPECT_EQ(NTVM_STATUS_INVALID_HANDLE,
		  mc_bad(&self->s, NT_MEMCTL_FLUSH, 0x40000000, NT_BAD_HANDLE));

	EXPECT_EQ(0, nt_unmap_view(&self->s, 0x40000000, 0, false));
	nt_section_fini(&sec);
}

/*
 * Anonymous memory mapped over a placeholder behind ntvm's back is not the
 * placeholder (a placeholder is PROT_NONE): neither a view nor private
 * memory replaces it, and it stays as it was mapped.
 */
TEST_F(mc, placeholder_taken_behind_back)
{
	static struct nt_section sec;
	struct nt_alloc_req a = { .size = GRAN, .ex = true,
				  .type = NTVM_MEM_RESERVE | NTVM_MEM_RESERVE_PLACEHOLDER,
				  .protect = NTVM_PAGE_NOACCESS };
	struct nt_view_req r;
	u64 ph, s0, e0;

	memset(&sec, 0, sizeof(sec));
	ASSERT_TRUE(nt_section_init(&sec, NTVM_SEC_COMMIT, NTVM_PAGE_READWRITE, GRAN));
	ASSERT_EQ(0, alloc(&self->s, &a));
	ph = a.base;
	fake_insert(self->mm, ph + PAGE, ph + 2 * PAGE, NT_LPROT_R | NT_LPROT_W, false);
	r = (struct nt_view_req){ .sec = &sec, .base = ph, .size = GRAN, .inherit = 1,
				  .type = NTVM_MEM_REPLACE_PLACEHOLDER,
				  .protect = NTVM_PAGE_READWRITE, .access = RW_ACCESS };
	nt_map_view(&self->s, &r);
	EXPECT_NE(0, r.status);
	EXPECT_EQ(NT_LPROT_R | NT_LPROT_W, fake_prot(self->mm, ph + PAGE, &s0, &e0));
	EXPECT_EQ(ph + PAGE, s0);
	EXPECT_EQ(ph + 2 * PAGE, e0);

	ASSERT_EQ(0, alloc(&self->s, &(struct nt_alloc_req){
		.base = ph + GRAN, .size = GRAN, .ex = true,
		.type = NTVM_MEM_RESERVE | NTVM_MEM_RESERVE_PLACEHOLDER,
		.protect = NTVM_PAGE_NOACCESS }));
	fake_insert(self->mm, ph + GRAN, ph + GRAN + PAGE, NT_LPROT_R, false);
	a = (struct nt_alloc_req){ .base = ph + GRAN, .size = GRAN, .ex = true,
				   .type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT |
					   NTVM_MEM_REPLACE_PLACEHOLDER,
				   .protect = NTVM_PAGE_READWRITE };
	EXPECT_NE(0, alloc(&self->s, &a));
	EXPECT_EQ(NT_LPROT_R, fake_prot(self->mm, ph + GRAN, &s0, &e0));
	nt_section_fini(&sec);
}

/*
 * A view returned to a placeholder whose MAP_FIXED fails: where the view
 * stayed (6.12 puts the old mappings back), nothing changed; where the
 * failed map removed it first (6.1), the placeholder's reservation is made
 * there, which is the end the call asked for: it succeeds.
 */
TEST_F(mc, unmap_preserve_failure)
{
	static struct nt_section sec;
	struct nt_alloc_req a = { .size = GRAN, .ex = true,
				  .type = NTVM_MEM_RESERVE | NTVM_MEM_RESERVE_PLACEHOLDER,
				  .protect = NTVM_PAGE_NOACCESS };
	struct nt_free_req f = { .type = NTVM_MEM_RELEASE };
	struct nt_view_req r;
	struct nt_memctl m;
	u64 ph, s0, e0;

	self->ops.fixed_unmaps_first = true;
	memset(&sec, 0, sizeof(sec));
	ASSERT_TRUE(nt_section_init(&sec, NTVM_SEC_COMMIT, NTVM_PAGE_READWRITE, GRAN));
	ASSERT_EQ(0, alloc(&self->s, &a));
	ph = a.base;
	r = (struct nt_view_req){ .sec = &sec, .base = ph, .size = GRAN, .inherit = 1,
				  .type = NTVM_MEM_REPLACE_PLACEHOLDER,
				  .protect = NTVM_PAGE_READWRITE, .access = RW_ACCESS };
	nt_map_view(&self->s, &r);
	ASSERT_EQ(0, r.status);

	self->mm->fail_at = 1;
	self->mm->calls = 0;
	EXPECT_EQ(NTVM_STATUS_INSUFFICIENT_RESOURCES,
		  nt_unmap_view(&self->s, ph, NTVM_MEM_PRESERVE_PLACEHOLDER, false));
	m = mc(&self->s, NT_MEMCTL_REGION, ph, 0, 0);
	EXPECT_EQ(NTVM_MEM_MAPPED, m.type);
	EXPECT_EQ(NTVM_PAGE_READWRITE, m.alloc_protect);
	EXPECT_EQ(NT_VMA_FOREIGN | NT_LPROT_R | NT_LPROT_W,
		  fake_prot(self->mm, ph, &s0, &e0));

	self->mm->fail_cuts = true;
	self->mm->calls = 0;
	EXPECT_EQ(0, nt_unmap_view(&self->s, ph, NTVM_MEM_PRESERVE_PLACEHOLDER, false));
	self->mm->fail_at = 0;
	m = mc(&self->s, NT_MEMCTL_REGION, ph, 0, 0);
	EXPECT_EQ(NTVM_MEM_PRIVATE, m.type);
	EXPECT_EQ(NTVM_PAGE_NOACCESS, m.alloc_protect);
	EXPECT_EQ(GRAN, m.alloc_size);
	EXPECT_EQ(0, fake_prot(self->mm, ph, &s0, &e0));
	EXPECT_EQ(ph, s0);
	EXPECT_EQ(ph + GRAN, e0);
	f.base = ph;
	nt_free(&self->s, &f);
	EXPECT_EQ(0, f.status);
	nt_section_fini(&sec);
}

/* NtLockVirtualMemory's order: MapType, the variables, the range, the handle. */
TEST_F(mc, lock_check_order)
{
	struct nt_memctl m = { .op = NT_MEMCTL_LOCK, .base = 0x20000000,
			       .length = 0, .map_type = 0,
			       .bad = NT_BAD_POINTER | NT_BAD_HANDLE };

	nt_memctl(&self->s, &m);
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER, m.status);
	m.map_type = NT_MAP_PROCESS;
	nt_memctl(&self->s, &m);
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION, m.status);
	m.bad = NT_BAD_HANDLE;
	nt_memctl(&self->s, &m);
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER, m.status);
	m.length = 0x1000;
	nt_memctl(&self->s, &m);
	EXPECT_EQ(NTVM_STATUS_INVALID_HANDLE, m.status);
	m.op = NT_MEMCTL_UNLOCK;
	nt_memctl(&self->s, &m);
	EXPECT_EQ(NTVM_STATUS_INVALID_HANDLE, m.status);
	m.bad = 0;
	nt_memctl(&self->s, &m);
	EXPECT_EQ(NTVM_STATUS_NOT_COMMITTED, m.status);
}

/*
 * NtMapViewOfSection's order: the values, the variables, the addresses,
 * then the process and the section handles, then what the section allows.
 */
TEST_F(mc, map_view_check_order)
{
	static struct nt_section sec;
	struct nt_view_req r;

	memset(&sec, 0, sizeof(sec));
	ASSERT_TRUE(nt_section_init(&sec, NTVM_SEC_COMMIT, NTVM_PAGE_READONLY, GRAN));
	r = (struct nt_view_req){ .base = MAXA + 1, .size = GRAN, .inherit = 1,
				  .protect = NTVM_PAGE_READWRITE, .bad = NT_BAD_POINTER,
				  .sec_status = NTVM_STATUS_INVALID_HANDLE };
	r.protect = 0x1234;
	nt_map_view(&self->s, &r);
	EXPECT_EQ(NTVM_STATUS_INVALID_PAGE_PROTECTION, r.status);
	r.protect = NTVM_PAGE_READWRITE;
	nt_map_view(&self->s, &r);
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION, r.status);
	r.bad = NT_BAD_HANDLE;
	nt_map_view(&self->s, &r);
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER_3, r.status);
	r.base = 0x40000000;
	nt_map_view(&self->s, &r);
	EXPECT_EQ(NTVM_STATUS_INVALID_HANDLE, r.status);
	r.bad = 0;
	r.sec_status = NTVM_STATUS_OBJECT_TYPE_MISMATCH;
	nt_map_view(&self->s, &r);
	EXPECT_EQ(NTVM_STATUS_OBJECT_TYPE_MISMATCH, r.status);
	/* A read-only section: its protection is checked after the handle. */
	r.sec = &sec;
	r.access = RW_ACCESS;
	nt_map_view(&self->s, &r);
	EXPECT_EQ(NTVM_STATUS_SECTION_PROTECTION, r.status);
	r.protect = NTVM_PAGE_READONLY;
	nt_map_view(&self->s, &r);
	EXPECT_EQ(0, r.status);
	EXPECT_EQ(0x40000000, r.base);
	EXPECT_EQ(0, nt_unmap_view(&self->s, 0x40000000, 0, false));
	nt_section_fini(&sec);
}

/* A write-copy page is readable: a lock keeps it (it is no NOACCESS page). */
TEST_F(mc, lock_writecopy_view)
{
	static const u32 prots[] = { NTVM_PAGE_WRITECOPY, NTVM_PAGE_EXECUTE_WRITECOPY,
				     NTVM_PAGE_READONLY };
	static struct nt_section sec;
	struct nt_memctl m;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		memset(&sec, 0, sizeof(sec));
		ASSERT_TRUE(nt_section_init(&sec, NTVM_SEC_COMMIT,
					    NTVM_PAGE_EXECUTE_READWRITE, GRAN));
		ASSERT_EQ(0, view(&self->s, &sec, 0x30000000, prots[i], WC_ACCESS));
		m = mc(&self->s, NT_MEMCTL_PAGE, 0x30000000, 0, 0);
		EXPECT_EQ(prots[i], m.protect);
		m = mc(&self->s, NT_MEMCTL_LOCK, 0x30000000, 2 * PAGE, NT_MAP_PROCESS);
		EXPECT_EQ(0, m.status) TH_LOG("view protection %#x", prots[i]);
		EXPECT_EQ(0x30000000, m.lo);
		EXPECT_EQ(0x30002000, m.hi);
		EXPECT_EQ(0, nt_unmap_view(&self->s, 0x30000000, 0, false));
		nt_section_fini(&sec);
	}
}

/* cow_written() as the glue's: at most 512 pages a call, none written. */
static unsigned long cow_calls;

static bool counting_cow_written(void *ctx, u64 addr, u64 vend, u64 *end)
{
	(void)ctx;
	cow_calls++;
	*end = addr + 512 * PAGE < vend ? addr + 512 * PAGE : vend;
	return false;
}

/*
 * A lock's checks do not read a copy-on-write view's page tables: a page
 * is readable written or not.  (A 1 TiB view took 524,288 reads of 512
 * pages each under ntvm's lock and mmap_lock, not interruptible.)
 */
/* A write-copy view of size at at, its cow_written() calls counted from 0. */
static u32 map_cow_view(FIXTURE_DATA(mc) *self, struct nt_section *sec,
			u64 at, u64 size)
{
	struct nt_view_req r = { .sec = sec, .base = at, .size = size,
				 .protect = NTVM_PAGE_WRITECOPY, .inherit = 1,
				 .access = NTVM_SECTION_MAP_READ };

	self->ops.cow_written = counting_cow_written;
	memset(sec, 0, sizeof(*sec));
	if (!nt_section_init(sec, NTVM_SEC_COMMIT, NTVM_PAGE_READWRITE, size))
		return NTVM_STATUS_NO_MEMORY;
	nt_map_view(&self->s, &r);
	cow_calls = 0;
	return r.status;
}

TEST_F(mc, lock_does_not_walk_cow_pages)
{
	static struct nt_section sec;
	u64 size = 1ULL << 40, at = 0x100000000000ULL;
	struct nt_memctl m;

	ASSERT_EQ(0, map_cow_view(self, &sec, at, size));
	m = mc(&self->s, NT_MEMCTL_LOCK, at, size, NT_MAP_PROCESS);
	EXPECT_EQ(0, m.status);
	EXPECT_EQ(at, m.lo);
	EXPECT_EQ(at + size, m.hi);
	EXPECT_EQ(0, cow_calls);
	/* The working-set query still tells write-copy pages apart. */
	m = mc(&self->s, NT_MEMCTL_PAGE, at, 0, 0);
	EXPECT_EQ(NTVM_PAGE_WRITECOPY, m.protect);
	EXPECT_LT(0, cow_calls);
	EXPECT_EQ(0, nt_unmap_view(&self->s, at, 0, false));
	nt_section_fini(&sec);
}

/*
 * Nor does a protection change of such a view, past its first page: it
 * needs the commit state of every page and the old protection of the
 * first only (the same 1 TiB view took 524,288 reads).
 */
TEST_F(mc, protect_does_not_walk_cow_pages)
{
	static struct nt_section sec;
	u64 size = 1ULL << 40, at = 0x100000000000ULL;
	struct nt_protect_req p = { .base = at, .size = size,
				    .protect = NTVM_PAGE_READONLY };

	ASSERT_EQ(0, map_cow_view(self, &sec, at, size));
	nt_protect(&self->s, &p);
	EXPECT_EQ(0, p.status);
	EXPECT_EQ(NTVM_PAGE_WRITECOPY, p.old_protect);
	EXPECT_EQ(at, p.base);
	EXPECT_EQ(size, p.size);
	EXPECT_EQ(1, cow_calls);
	/* The mprotect() is user space's. */
	EXPECT_EQ(NTVM_APPLY_MPROTECT, p.apply);
	EXPECT_EQ(NT_LPROT_R, p.apply_prot);
	EXPECT_EQ(0, nt_unmap_view(&self->s, at, 0, false));
	nt_section_fini(&sec);
}

/*
 * User space's mprotect() of a view fails (vm.max_map_count, a refused
 * charge): NTVM_IOC_UNDO takes the view's part of the call back.  Before,
 * a view's undo record held no runs (and a commit through a view made
 * none): a page the call had marked learnt stayed so while its mapping
 * was still PROT_NONE, which read as PAGE_NOACCESS, counted as committed
 * and faulted for good; and the mappings the mprotect() had changed were
 * never named for putting back.
 */
static u32 undo(struct nt_space *s, u64 base, u64 size, struct nt_piece *out,
		u32 *count)
{
	bool more;

	return nt_undo(s, base, size, out, 4, count, &more);
}

TEST_F(mc, view_commit_undo)
{
	static struct nt_section sec;
	struct nt_alloc_req a = { .base = 0x30001000, .size = PAGE,
				  .type = NTVM_MEM_COMMIT,
				  .protect = NTVM_PAGE_READONLY };
	struct nt_guard_req g = { .address = 0x30001000, .access = NTVM_ACCESS_READ };
	struct nt_piece out[4];
	struct nt_memctl m;
	u64 committed;
	u32 count;

	memset(&sec, 0, sizeof(sec));
	ASSERT_TRUE(nt_section_init(&sec, NTVM_SEC_RESERVE, NTVM_PAGE_READWRITE, GRAN));
	ASSERT_EQ(0, view(&self->s, &sec, 0x30000000, NTVM_PAGE_READWRITE, RW_ACCESS));
	committed = self->s.committed_bytes;
	ASSERT_EQ(0, alloc(&self->s, &a));
	ASSERT_EQ(NTVM_APPLY_MPROTECT, a.apply);
	EXPECT_EQ(NT_LPROT_R, a.apply_prot);
	/* The mprotect() failed: nothing to put back, the runs as they were. */
	EXPECT_EQ(0, undo(&self->s, a.base, a.size, out, &count));
	EXPECT_EQ(0, count);
	EXPECT_EQ(committed, self->s.committed_bytes);
	/* The section's commit stays: the view has not learnt it yet. */
	m = mc(&self->s, NT_MEMCTL_PAGE, 0x30001000, 0, 0);
	EXPECT_EQ(NTVM_MEM_COMMIT, m.state);
	EXPECT_EQ(NTVM_PAGE_READWRITE, m.protect);
	/* And learns it at the first access, with its own protection. */
	nt_guard_hit(&self->s, &g);
	EXPECT_EQ(0, g.status);
	EXPECT_EQ(PAGE, self->s.committed_bytes - committed);
	EXPECT_EQ(NTVM_PAGE_READWRITE, mc(&self->s, NT_MEMCTL_PAGE, 0x30001000, 0, 0).protect);
	EXPECT_EQ(0, nt_unmap_view(&self->s, 0x30000000, 0, false));
	nt_section_fini(&sec);
}

TEST_F(mc, view_protect_undo)
{
	static struct nt_section sec;
	struct nt_protect_req p = { .base = 0x30000000, .size = 2 * PAGE,
				    .protect = NTVM_PAGE_READONLY };
	struct nt_piece out[4];
	u64 committed;
	u32 count;

	memset(&sec, 0, sizeof(sec));
	ASSERT_TRUE(nt_section_init(&sec, NTVM_SEC_COMMIT, NTVM_PAGE_READWRITE, GRAN));
	ASSERT_EQ(0, view(&self->s, &sec, 0x30000000, NTVM_PAGE_READWRITE, RW_ACCESS));
	committed = self->s.committed_bytes;
	nt_protect(&self->s, &p);
	ASSERT_EQ(0, p.status);
	ASSERT_EQ(NTVM_APPLY_MPROTECT, p.apply);
	/* The mprotect() changed the first page, then failed. */
	fake_protect(self->mm, 0x30000000, 0x30001000, NT_LPROT_R);
	EXPECT_EQ(0, undo(&self->s, p.base, p.size, out, &count));
	ASSERT_EQ(1, count);
	EXPECT_EQ(0x30000000, out[0].start);
	EXPECT_EQ(0x30001000, out[0].end);
	EXPECT_EQ(NT_LPROT_R | NT_LPROT_W, out[0].lprot);
	EXPECT_EQ(committed, self->s.committed_bytes);
	fake_protect(self->mm, 0x30000000, 0x30001000, NT_LPROT_R | NT_LPROT_W);
	EXPECT_EQ(NTVM_PAGE_READWRITE, mc(&self->s, NT_MEMCTL_PAGE, 0x30000000, 0, 0).protect);
	EXPECT_EQ(NTVM_PAGE_READWRITE, mc(&self->s, NT_MEMCTL_PAGE, 0x30001000, 0, 0).protect);
	EXPECT_EQ(0, nt_unmap_view(&self->s, 0x30000000, 0, false));
	nt_section_fini(&sec);
}

/*
 * A SEC_RESERVE section mapped read-write at 0x30000000 here and at
 * 0x50000000 in s2, whose page 1 s2 committed: this view has not learnt
 * it yet.  unmap_both() undoes it, s2 included.
 */
static u32 map_both(FIXTURE_DATA(mc) *self, struct nt_section *sec,
		    struct nt_space *s2)
{
	struct nt_alloc_req c = { .base = 0x50001000, .size = PAGE,
				  .type = NTVM_MEM_COMMIT,
				  .protect = NTVM_PAGE_READWRITE };
	u32 st;

	memset(sec, 0, sizeof(*sec));
	if (!nt_section_init(sec, NTVM_SEC_RESERVE, NTVM_PAGE_READWRITE, GRAN))
		return NTVM_STATUS_NO_MEMORY;
	st = view(&self->s, sec, 0x30000000, NTVM_PAGE_READWRITE, RW_ACCESS);
	if (!st)
		st = view(s2, sec, 0x50000000, NTVM_PAGE_READWRITE, RW_ACCESS);
	return st ? st : alloc(s2, &c);
}

static void unmap_both(FIXTURE_DATA(mc) *self, struct nt_section *sec,
		       struct nt_space *s2, struct fake_mm *mm2)
{
	nt_unmap_view(&self->s, 0x30000000, 0, false);
	nt_unmap_view(s2, 0x50000000, 0, false);
	nt_space_destroy(s2);
	free(mm2);
	nt_section_fini(sec);
}

/*
 * A page another address space committed, not learnt here yet: the
 * protection change marks it learnt and leaves the mprotect() from
 * PROT_NONE to user space.  Its failure leaves it unlearnt, as it was.
 */
TEST_F(mc, view_protect_undo_unlearnt)
{
	static struct nt_section sec;
	struct nt_protect_req p = { .base = 0x30001000, .size = PAGE,
				    .protect = NTVM_PAGE_READONLY };
	struct nt_guard_req g = { .address = 0x30001000, .access = NTVM_ACCESS_READ };
	struct nt_piece out[4];
	struct nt_space s2;
	struct fake_mm *mm2 = second_space(&s2, self->mm);
	u64 committed;
	u32 count;

	ASSERT_NE(NULL, mm2);
	ASSERT_EQ(0, map_both(self, &sec, &s2));
	committed = self->s.committed_bytes;
	EXPECT_EQ(NTVM_PAGE_READWRITE, mc(&self->s, NT_MEMCTL_PAGE, 0x30001000, 0, 0).protect);

	nt_protect(&self->s, &p);
	ASSERT_EQ(0, p.status);
	EXPECT_EQ(NTVM_PAGE_READWRITE, p.old_protect);
	ASSERT_EQ(NTVM_APPLY_MPROTECT, p.apply);
	EXPECT_EQ(0, undo(&self->s, p.base, p.size, out, &count));
	EXPECT_EQ(0, count);
	EXPECT_EQ(committed, self->s.committed_bytes);
	EXPECT_EQ(NTVM_MEM_COMMIT, mc(&self->s, NT_MEMCTL_PAGE, 0x30001000, 0, 0).state);
	EXPECT_EQ(NTVM_PAGE_READWRITE, mc(&self->s, NT_MEMCTL_PAGE, 0x30001000, 0, 0).protect);
	nt_guard_hit(&self->s, &g);
	EXPECT_EQ(0, g.status);
	EXPECT_EQ(PAGE, self->s.committed_bytes - committed);
	unmap_both(self, &sec, &s2, mm2);
}

/*
 * Runs a protection change re-mapped between shared and private keep what
 * the call made of them when the mprotect() of the others fails: nothing
 * maps them back, and their mappings have the new protection.
 */
TEST_F(mc, view_protect_undo_keeps_remapped_runs)
{
	static struct nt_section sec;
	struct nt_protect_req p = { .base = 0x30000000, .size = PAGE,
				    .protect = NTVM_PAGE_WRITECOPY };
	struct nt_piece out[4];
	u32 count;

	memset(&sec, 0, sizeof(sec));
	ASSERT_TRUE(nt_section_init(&sec, NTVM_SEC_COMMIT, NTVM_PAGE_READWRITE, GRAN));
	ASSERT_EQ(0, view(&self->s, &sec, 0x30000000, NTVM_PAGE_READWRITE, RW_ACCESS));
	/* Page 0 private (the fake takes its pages as written), then read-only. */
	nt_protect(&self->s, &p);
	ASSERT_EQ(0, p.status);
	EXPECT_EQ(0, p.apply);
	p = (struct nt_protect_req){ .base = 0x30000000, .size = PAGE,
				     .protect = NTVM_PAGE_READONLY };
	nt_protect(&self->s, &p);
	ASSERT_EQ(0, p.status);
	ASSERT_EQ(NTVM_APPLY_MPROTECT, p.apply);
	fake_protect(self->mm, 0x30000000, 0x30001000, NT_LPROT_R);
	EXPECT_EQ(NTVM_PAGE_READONLY, mc(&self->s, NT_MEMCTL_PAGE, 0x30000000, 0, 0).protect);

	/* Both write-copy: page 1 is re-mapped private, page 0 needs mprotect(). */
	p = (struct nt_protect_req){ .base = 0x30000000, .size = 2 * PAGE,
				     .protect = NTVM_PAGE_WRITECOPY };
	nt_protect(&self->s, &p);
	ASSERT_EQ(0, p.status);
	ASSERT_EQ(NTVM_APPLY_MPROTECT, p.apply);
	EXPECT_EQ(NT_LPROT_R | NT_LPROT_W, p.apply_prot);
	EXPECT_EQ(NTVM_PAGE_WRITECOPY, mc(&self->s, NT_MEMCTL_PAGE, 0x30001000, 0, 0).protect);
	/* It failed: page 0 is read-only again, page 1 stays write-copy. */
	EXPECT_EQ(0, undo(&self->s, p.base, p.size, out, &count));
	EXPECT_EQ(0, count);
	EXPECT_EQ(NTVM_PAGE_READONLY, mc(&self->s, NT_MEMCTL_PAGE, 0x30000000, 0, 0).protect);
	EXPECT_EQ(NTVM_PAGE_WRITECOPY, mc(&self->s, NT_MEMCTL_PAGE, 0x30001000, 0, 0).protect);
	EXPECT_EQ(NTVM_PAGE_READWRITE, mc(&self->s, NT_MEMCTL_PAGE, 0x30002000, 0, 0).protect);
	EXPECT_EQ(0, nt_unmap_view(&self->s, 0x30000000, 0, false));
	nt_section_fini(&sec);
}

/*
 * A lock of a view's page that another address space committed, which
 * this view has not learnt yet (PROT_NONE until a fault): the lock learns
 * it, with the view's own protection, as the fault would, so mlock()
 * finds it accessible.  It succeeded leaving the page PROT_NONE, and the
 * library's mlock() then failed (ERROR_WORKING_SET_QUOTA).
 */
TEST_F(mc, lock_learns_view_pages)
{
	static struct nt_section sec;
	struct nt_space s2;
	struct fake_mm *mm2 = second_space(&s2, self->mm);
	struct nt_memctl m;
	u64 start, end;

	ASSERT_NE(NULL, mm2);
	ASSERT_EQ(0, map_both(self, &sec, &s2));
	EXPECT_EQ(0, fake_prot(self->mm, 0x30001000, &start, &end) & NT_LPROT_MASK);

	m = mc(&self->s, NT_MEMCTL_LOCK, 0x30001000, PAGE, NT_MAP_PROCESS);
	EXPECT_EQ(0, m.status);
	EXPECT_EQ(0, m.apply);
	EXPECT_EQ(0x30001000, m.lo);
	EXPECT_EQ(0x30002000, m.hi);
	EXPECT_EQ(NT_LPROT_R | NT_LPROT_W, fake_prot(self->mm, 0x30001000, &start, &end) &
					   NT_LPROT_MASK);
	EXPECT_EQ(0, fake_prot(self->mm, 0x30000000, &start, &end) & NT_LPROT_MASK);
	EXPECT_EQ(NTVM_PAGE_READWRITE, mc(&self->s, NT_MEMCTL_PAGE, 0x30001000, 0, 0).protect);
	unmap_both(self, &sec, &s2, mm2);
}

TEST_HARNESS_MAIN
