// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: struct nt_vm_ops, the NT core's view of the caller's address space
 * (current->mm).  Mappings are made and removed with vm_mmap() and
 * vm_munmap(), and read under mmap_lock.
 *
 * The kernel exports no way for a module to change the protection of
 * populated pages, or to free them lazily (no mprotect, no madvise).  So
 * the VMAs are the truth for read/write/execute: the core reads them back
 * and never stores a copy.  An operation that needs such a change returns
 * NTVM_APPLY_* to user space, which makes the mprotect(2) or madvise(2)
 * call (Documentation/ntvm.rst, "Division of work").
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/slab.h>

#include "context.h"

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

int ntvm_munmap(struct ntvm_ctx *nc, u64 addr, u64 len)
{
	int ret;

	WRITE_ONCE(nc->op_unmaps, true);
	ret = vm_munmap(addr, len);
	WRITE_ONCE(nc->op_unmaps, false);
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
			ntvm_floor_mapped(ntvm_ctx_of(ctx), addr, addr + len);
		return 0;
	}
	/* Taken behind ntvm's back: a floor at addr has no room now. */
	if (ret == -EEXIST)
		ntvm_floor_set(ntvm_ctx_of(ctx), addr, addr, addr);
	/* A failed MAP_FIXED may have unmapped the old range. */
	if (flags & MAP_FIXED) {
		atomic64_inc(&ntvm_ctx_of(ctx)->changes);
		ntvm_floor_lower(ntvm_ctx_of(ctx), addr, 0);
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
	ret = ntvm_munmap(ntvm_ctx_of(ctx), addr, len);
	if (ret)
		atomic64_inc(&ntvm_ctx_of(ctx)->changes);
	return ret;
}

static u64 ntvm_vm_changes(void *ctx)
{
	return atomic64_read(&ntvm_ctx_of(ctx)->changes);
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

const struct nt_vm_ops ntvm_vm_ops = {
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
	.map_view = ntvm_vm_map_view,
	.section_get = ntvm_section_get,
	.section_put = ntvm_section_put,
	.section_lock = ntvm_section_lock,
	.section_unlock = ntvm_section_unlock,
	.cow_written = ntvm_vm_cow_written,
};

