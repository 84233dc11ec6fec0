// SPDX-License-Identifier: GPL-2.0
/*
 * The NT checks of NtQueryVirtualMemory's MemoryRegionInformation and
 * MemoryWorkingSetExInformation classes and of NtLockVirtualMemory /
 * NtUnlockVirtualMemory (issue 11).  Plain C (see nt.h): the lock state of
 * the pages (VM_LOCKED) is the kernel glue's to add, and user space makes
 * the mlock(2)/munlock(2) itself, as it makes mprotect(2).
 */
#include "nt.h"

#define PAGE NTVM_PAGE_SIZE

static u64 nt_min(u64 a, u64 b)
{
	return a < b ? a : b;
}

/*
 * MemoryRegionInformation: the allocation that holds base (the whole of
 * it, not the run of like pages MemoryBasicInformation describes), or a
 * mapping ntvm did not make, taken as one allocation.  A free address is
 * STATUS_INVALID_ADDRESS.
 */
static void memctl_region(struct nt_space *s, struct nt_memctl *m)
{
	u64 page = nt_page_down(m->base), start, end;
	struct nt_vad *a;
	int lp;

	if (m->base > s->max_addr) {
		m->status = NTVM_STATUS_INVALID_PARAMETER;
		return;
	}
	/* As MemoryBasicInformation: the address, then the handle. */
	if (m->bad & NT_BAD_HANDLE) {
		m->status = NTVM_STATUS_INVALID_HANDLE;
		return;
	}
	a = nt_find_live(s, page, page + PAGE);
	if (a) {
		m->alloc_base = a->base;
		m->alloc_size = a->size;
		m->alloc_protect = a->alloc_protect;
		m->commit_size = nt_vad_committed(s, a);
		m->type = nt_vad_type(a);
		m->large = a->attrs & NT_ATTR_LARGE_PAGES;
		m->page_file = a->sec && !(a->sec->attrs & NTVM_SEC_FILE);
		m->placeholder = a->attrs & NT_ATTR_PLACEHOLDER;
		m->write_watch = a->attrs & NT_ATTR_WRITE_WATCH;
		m->status = NTVM_STATUS_SUCCESS;
		return;
	}
	s->ops->lock_read(s->ctx);
	lp = s->ops->prot_at(s->ctx, page, &start, &end);
	s->ops->unlock_read(s->ctx);
	if (lp == NT_VMA_NONE) {
		m->status = NTVM_STATUS_INVALID_ADDRESS;
		return;
	}
	m->alloc_base = start;
	m->alloc_size = end - start;
	m->commit_size = end - start;
	m->alloc_protect = nt_from_lprot(lp & NT_LPROT_MASK);
	m->type = (lp & NT_VMA_FOREIGN) ? NTVM_MEM_MAPPED : NTVM_MEM_PRIVATE;
	m->status = NTVM_STATUS_SUCCESS;
}

/*
 * The run of pages from base's page with one state and protection, for
 * the working-set query: [lo, hi), never past the allocation or mapping.
 */
static void memctl_page(struct nt_space *s, struct nt_memctl *m)
{
	u64 page = nt_page_down(m->base), start, end, limit;
	struct nt_vad *a, *next;
	bool ok;
	int lp;

	m->status = NTVM_STATUS_SUCCESS;
	m->lo = page;
	m->hi = page + PAGE;
	m->state = NTVM_MEM_FREE;
	if (m->base > s->max_addr)
		return;
	a = nt_find_live(s, page, page + PAGE);
	if (a) {
		s->ops->lock_read(s->ctx);
		ok = nt_page_state(s, a, page, a->base + a->size, &m->state,
				   &m->protect, &m->hi, true);
		s->ops->unlock_read(s->ctx);
		if (ok) {
			m->type = nt_vad_type(a);
			m->large = a->attrs & NT_ATTR_LARGE_PAGES;
			return;
		}
		/* Damaged there: reality is what the mappings say. */
		nt_forget(s, a);
	}
	next = nt_vad_above(s, page);
	limit = next ? next->base : s->max_addr + 1;
	s->ops->lock_read(s->ctx);
	lp = s->ops->prot_at(s->ctx, page, &start, &end);
	s->ops->unlock_read(s->ctx);
	m->hi = nt_min(end, limit);
	if (m->hi <= page)
		m->hi = page + PAGE;
	if (lp == NT_VMA_NONE) {
		m->state = NTVM_MEM_FREE;
		return;
	}
	m->state = NTVM_MEM_COMMIT;
	m->protect = nt_from_lprot(lp & NT_LPROT_MASK);
	m->type = (lp & NT_VMA_FOREIGN) ? NTVM_MEM_MAPPED : NTVM_MEM_PRIVATE;
}

/*
 * Memory ntvm did not allocate (the stack, malloc()'s heap, files) counts
 * as committed, as NtQueryVirtualMemory reports it: [addr, *end) is one
 * mapping, or false for a hole.  *noaccess is set for an inaccessible one.
 */
static bool foreign_committed(struct nt_space *s, u64 addr, u64 hi, u64 *end,
			      u64 *noaccess)
{
	struct nt_vad *next = nt_vad_above(s, addr);
	u64 start;
	int lp;

	s->ops->lock_read(s->ctx);
	lp = s->ops->prot_at(s->ctx, addr, &start, end);
	s->ops->unlock_read(s->ctx);
	if (lp == NT_VMA_NONE)
		return false;
	*end = nt_min(nt_min(*end, hi), next ? next->base : hi);
	if (*end <= addr)
		return false;
	if (!(lp & NT_LPROT_MASK) && !*noaccess)
		*noaccess = addr;
	return true;
}

/*
 * Is every page of [lo, *large) committed memory?  The walk stops at the
 * first MEM_LARGE_PAGES allocation, where *large is set (hi if none): NT
 * neither locks nor unlocks large pages, which are never paged out (the
 * WRK's NtLockVirtualMemory fails on them, its NtUnlockVirtualMemory stops
 * there).  Also finds the first page that a lock would fault on: an armed
 * guard page (*guard) or an inaccessible page (*noaccess), 0 if none.
 */
static bool range_committed(struct nt_space *s, u64 lo, u64 hi, u64 *guard,
			    u64 *noaccess, u64 *large)
{
	struct nt_vad *a;
	u64 addr = lo, end, to;
	u32 state, prot;
	bool ok = true;

	*guard = 0;
	*noaccess = 0;
	*large = hi;
	while (addr < hi && ok) {
		a = nt_find_live(s, addr, hi);
		if (!a) {
			if (!foreign_committed(s, addr, hi, &addr, noaccess))
				return false;
			continue;
		}
		if (a->attrs & NT_ATTR_LARGE_PAGES) {
			*large = addr;
			break;
		}
		to = nt_min(hi, a->base + a->size);
		s->ops->lock_read(s->ctx);
		/*
		 * Write-copy or written, a page is readable: runs as long as
		 * the mappings, not pieces of the page tables.
		 */
		for (; addr < to; addr = end) {
			if (!nt_page_state(s, a, addr, to, &state, &prot, &end,
					   false) ||
			    state != NTVM_MEM_COMMIT) {
				ok = false;
				break;
			}
			if (*guard || *noaccess)
				continue;
			/* A write-copy page is readable: a lock keeps it. */
			if (prot & NTVM_PAGE_GUARD)
				*guard = addr;
			else if ((prot & 0xff) == NTVM_PAGE_NOACCESS)
				*noaccess = addr;
		}
		s->ops->unlock_read(s->ctx);
	}
	return ok;
}

/*
 * NtLockVirtualMemory / NtUnlockVirtualMemory (issue 11; the statuses the
 * spec leaves open are chosen as written in README): MapType must be
 * MAP_PROCESS and/or MAP_SYSTEM, else STATUS_INVALID_PARAMETER; then NT
 * probes BaseAddress and RegionSize (STATUS_ACCESS_VIOLATION); size 0 or
 * a range beyond the user range STATUS_INVALID_PARAMETER; then the process
 * handle (STATUS_INVALID_HANDLE); MAP_SYSTEM needs
 * the privilege (STATUS_PRIVILEGE_NOT_HELD); every page must be committed
 * (STATUS_NOT_COMMITTED).  A lock then touches the pages in order, as
 * Windows does: the first armed guard page is disarmed and the call fails
 * with STATUS_GUARD_PAGE_VIOLATION (spec 4.7, NTVM_APPLY_MPROTECT restores
 * the page), a PAGE_NOACCESS page fails it with STATUS_ACCESS_VIOLATION.
 * A view's pages another view committed are learnt (mapped) first.
 *
 * Large pages, as the WRK treats them: the pages before the first
 * MEM_LARGE_PAGES allocation of the range are checked; then a lock fails
 * with STATUS_INCOMPATIBLE_FILE_MAP, and an unlock succeeds, for the pages
 * before it only (m->large, from m->alloc_base; the variables still get
 * the whole range).
 */
static void memctl_lock(struct nt_space *s, struct nt_memctl *m)
{
	struct nt_guard_req g = { .access = NTVM_ACCESS_READ };
	u64 guard, noaccess, large;

	if ((m->map_type & ~(NT_MAP_PROCESS | NT_MAP_SYSTEM)) ||
	    !(m->map_type & (NT_MAP_PROCESS | NT_MAP_SYSTEM))) {
		m->status = NTVM_STATUS_INVALID_PARAMETER;
		return;
	}
	if (m->bad & NT_BAD_POINTER) {
		m->status = NTVM_STATUS_ACCESS_VIOLATION;
		return;
	}
	if (!m->length || m->base > s->max_addr ||
	    m->length > s->max_addr - m->base + 1) {
		m->status = NTVM_STATUS_INVALID_PARAMETER;
		return;
	}
	if (m->bad & NT_BAD_HANDLE) {
		m->status = NTVM_STATUS_INVALID_HANDLE;
		return;
	}
	if ((m->map_type & NT_MAP_SYSTEM) && !m->privileged) {
		m->status = NTVM_STATUS_PRIVILEGE_NOT_HELD;
		return;
	}
	m->lo = nt_page_down(m->base);
	m->hi = nt_round_up(m->base + m->length, PAGE);
	if (!range_committed(s, m->lo, m->hi, &guard, &noaccess, &large)) {
		m->status = NTVM_STATUS_NOT_COMMITTED;
		return;
	}
	if (large < m->hi && m->op == NT_MEMCTL_LOCK) {
		m->status = NTVM_STATUS_INCOMPATIBLE_FILE_MAP;
		return;
	}
	m->status = NTVM_STATUS_SUCCESS;
	if (m->op == NT_MEMCTL_UNLOCK) {
		m->large = large < m->hi;
		m->alloc_base = large;
		return;
	}
	if (guard && (!noaccess || guard < noaccess)) {
		g.address = guard;
		nt_guard_hit(s, &g);
		if (g.status == NTVM_STATUS_GUARD_PAGE_VIOLATION) {
			m->apply = g.apply;
			m->apply_prot = g.apply_prot;
			m->lo = g.base;
			m->hi = g.base + PAGE;
		}
		m->status = g.status == NTVM_STATUS_GUARD_PAGE_VIOLATION ?
			    g.status : NTVM_STATUS_ACCESS_VIOLATION;
		return;
	}
	if (noaccess) {
		m->status = NTVM_STATUS_ACCESS_VIOLATION;
		return;
	}
	/* Committed view pages not learnt yet are PROT_NONE: mlock() fails. */
	nt_views_learn(s, m->lo, m->hi);
}

/*
 * NtFlushVirtualMemory (spec 5.4; Wine's statuses): the variables, the
 * process handle, then [base, base + length) must lie in one view (length
 * 0: to the view's end) or in one mapping ntvm did not make of a file;
 * other memory is STATUS_NOT_MAPPED_DATA, a range past the view's end
 * STATUS_INVALID_PARAMETER.  [lo, hi) is the page-rounded range.
 */
static void memctl_flush(struct nt_space *s, struct nt_memctl *m)
{
	u64 page = nt_page_down(m->base), start, end;
	struct nt_vad *a;
	int lp;

	if (m->bad & NT_BAD_POINTER) {
		m->status = NTVM_STATUS_ACCESS_VIOLATION;
		return;
	}
	if (m->base > s->max_addr) {
		m->status = NTVM_STATUS_INVALID_PARAMETER;
		return;
	}
	if (m->bad & NT_BAD_HANDLE) {
		m->status = NTVM_STATUS_INVALID_HANDLE;
		return;
	}
	a = nt_find_live(s, page, page + PAGE);
	if (a) {
		if (nt_vad_type(a) != NTVM_MEM_MAPPED) {
			m->status = NTVM_STATUS_NOT_MAPPED_DATA;
			return;
		}
		end = a->base + a->size;
	} else {
		s->ops->lock_read(s->ctx);
		lp = s->ops->prot_at(s->ctx, page, &start, &end);
		s->ops->unlock_read(s->ctx);
		if (lp == NT_VMA_NONE || !(lp & NT_VMA_FOREIGN)) {
			m->status = NTVM_STATUS_NOT_MAPPED_DATA;
			return;
		}
	}
	if (m->length > end - m->base) {
		m->status = NTVM_STATUS_INVALID_PARAMETER;
		return;
	}
	m->lo = page;
	m->hi = m->length ? nt_round_up(m->base + m->length, PAGE) : end;
	m->status = NTVM_STATUS_SUCCESS;
}

/*
 * MEM_LARGE_PAGES (issue 11, spec 1.4.4; the statuses Windows leaves open
 * as README says): reserved and committed in one call (MEM_RESERVE is
 * required: STATUS_INVALID_PARAMETER_5), a size and an explicit base that
 * are multiples of the large-page size (STATUS_INVALID_PARAMETER), the
 * privilege (STATUS_PRIVILEGE_NOT_HELD), and large pages in the system
 * (STATUS_INSUFFICIENT_RESOURCES, Windows' answer when it finds none).
 * The type rules of check_alloc_type() come first.
 */
u32 nt_check_large(struct nt_space *s, const struct nt_alloc_req *a)
{
	int err;

	if (!(a->type & NTVM_MEM_RESERVE))
		return NTVM_STATUS_INVALID_PARAMETER_5;
	if (!a->size || (a->size & (NT_LARGE_PAGE - 1)) ||
	    (a->base & (NT_LARGE_PAGE - 1)))
		return NTVM_STATUS_INVALID_PARAMETER;
	err = s->ops->large_pages ? s->ops->large_pages(s->ctx) : -EPERM;
	if (err == -EPERM)
		return NTVM_STATUS_PRIVILEGE_NOT_HELD;
	if (err)
		return NTVM_STATUS_INSUFFICIENT_RESOURCES;
	return NTVM_STATUS_SUCCESS;
}

/*
 * NtAreMappedFilesTheSame (spec 4.5.2): the view holding addr, or why
 * there is none: memory that is no view (private memory, a placeholder, a
 * mapping ntvm did not make such as the heap) is
 * STATUS_CONFLICTING_ADDRESSES, no mapping at all STATUS_INVALID_ADDRESS.
 */
static u32 view_at(struct nt_space *s, u64 addr, const struct nt_vad **view)
{
	u64 page = nt_page_down(addr), start, end;
	struct nt_vad *a;
	int lp;

	if (addr > s->max_addr)
		return NTVM_STATUS_INVALID_ADDRESS;
	a = nt_find_live(s, page, page + PAGE);
	if (a) {
		*view = a;
		return a->sec ? NTVM_STATUS_SUCCESS :
				NTVM_STATUS_CONFLICTING_ADDRESSES;
	}
	s->ops->lock_read(s->ctx);
	lp = s->ops->prot_at(s->ctx, page, &start, &end);
	s->ops->unlock_read(s->ctx);
	return lp == NT_VMA_NONE ? NTVM_STATUS_INVALID_ADDRESS :
				   NTVM_STATUS_CONFLICTING_ADDRESSES;
}

/*
 * Two addresses of one view are of the same file; of two views they are
 * not, even of one section (STATUS_NOT_SAME_DEVICE, spec 4.5.2 and Wine's
 * test_NtAreMappedFilesTheSame: only image views, out of scope, compare
 * their files).  The first address is checked first.
 */
static void memctl_same_files(struct nt_space *s, struct nt_memctl *m)
{
	const struct nt_vad *a = NULL, *b = NULL;

	m->status = view_at(s, m->base, &a);
	if (!m->status)
		m->status = view_at(s, m->other, &b);
	if (!m->status && a != b)
		m->status = NTVM_STATUS_NOT_SAME_DEVICE;
}

void nt_memctl(struct nt_space *s, struct nt_memctl *m)
{
	m->apply = 0;
	m->apply_prot = 0;
	switch (m->op) {
	case NT_MEMCTL_REGION:
		memctl_region(s, m);
		break;
	case NT_MEMCTL_PAGE:
		memctl_page(s, m);
		break;
	case NT_MEMCTL_LOCK:
	case NT_MEMCTL_UNLOCK:
		memctl_lock(s, m);
		break;
	case NT_MEMCTL_FLUSH:
		memctl_flush(s, m);
		break;
	case NT_MEMCTL_SAME_FILES:
		memctl_same_files(s, m);
		break;
	default:
		m->status = NTVM_STATUS_INVALID_PARAMETER;
		break;
	}
}
