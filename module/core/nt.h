/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The NT rules of ntvm, in plain C.
 *
 * This part of the module uses no kernel interface: it is compiled into
 * ntvm.ko and, unchanged, into a user-space test binary.  It owns the NT
 * state of one address space (struct nt_space: allocations, runs of pages
 * that share a state, statistics), validates every request with NT's rules
 * and picks NT's status codes.  Everything that touches the real address
 * space goes through struct nt_vm_ops, which the kernel glue implements
 * with vm_mmap()/vm_munmap() and the maple tree, and the test with a fake.
 *
 * Division of truth (see the comment at the top of module/main.c):
 *  - the VMAs hold the Linux protection (read, write, execute) of committed
 *    pages; the core reads it back through ops->prot_at() and never keeps a
 *    copy that could drift;
 *  - the core holds what VMAs cannot express: allocations (base, size,
 *    AllocationProtect), reserved versus committed, and the guard bit with
 *    the protection a guard page returns to.  A guard bit counts only while
 *    the page's VMA is PROT_NONE, so a protection change that user space
 *    failed to apply leaves the NT view exactly as it was.
 *
 * The caller serialises all calls on one nt_space.
 */
#ifndef NTVM_CORE_NT_H
#define NTVM_CORE_NT_H

#include "env.h"
#include <linux/ntvm.h>

/* Linux protection bits, as in PROT_READ/PROT_WRITE/PROT_EXEC. */
#define NT_LPROT_R	0x1
#define NT_LPROT_W	0x2
#define NT_LPROT_X	0x4
#define NT_LPROT_MASK	0x7

/* ops->prot_at() results besides the protection bits. */
#define NT_VMA_NONE	(-1)	/* no mapping at that address */
#define NT_VMA_FOREIGN	0x100	/* mapped, but not private anonymous memory */

enum nt_map_how {
	NT_MAP_RESERVE,		/* PROT_NONE, MAP_NORESERVE, MAP_FIXED_NOREPLACE */
	NT_MAP_RESERVE_COMMIT,	/* lprot, MAP_FIXED_NOREPLACE */
	NT_MAP_COMMIT,		/* lprot, MAP_FIXED over a reservation */
	NT_MAP_DECOMMIT,	/* PROT_NONE, MAP_NORESERVE, MAP_FIXED */
};

struct nt_gap_req {
	u64 lo;			/* lowest start */
	u64 hi;			/* highest end (exclusive) */
	u64 size;
	u64 align;		/* power of two, >= NTVM_GRANULARITY */
	bool top_down;
	u32 attempt;		/* 0 first, then the retries after a lost race */
};

struct nt_vm_ops {
	/*
	 * Returns 0 or a negative errno, and nothing changed on error:
	 * -EEXIST, the range is not free (NT_MAP_RESERVE*); -ENOMEM, the
	 * commit charge was refused; -ENOSPC, no room for the mapping
	 * (address space, RLIMIT_AS, vm.max_map_count).
	 */
	int (*map)(void *ctx, u64 addr, u64 len, enum nt_map_how how, u32 lprot);
	int (*unmap)(void *ctx, u64 addr, u64 len);
	/* Lowest (or highest) free aligned range; 0 or -ENOMEM. */
	int (*find_gap)(void *ctx, const struct nt_gap_req *req, u64 *addr);
	/*
	 * prot_at() must be called between lock_read() and unlock_read(),
	 * and map/unmap/find_gap never are.  It returns the NT_LPROT_* bits
	 * of the mapping at addr, ORed with NT_VMA_FOREIGN for mappings that
	 * are not private anonymous memory, or NT_VMA_NONE.  [*start, *end)
	 * is set to that mapping, or to the hole around addr.
	 */
	void (*lock_read)(void *ctx);
	void (*unlock_read)(void *ctx);
	int (*prot_at)(void *ctx, u64 addr, u64 *start, u64 *end);
	/* Largest free NTVM_GRANULARITY-aligned block in [lo, hi). */
	u64 (*largest_free)(void *ctx, u64 lo, u64 hi);
	/*
	 * A count that moves whenever mappings may have been removed or
	 * replaced other than by map() and unmap(): munmap(), mremap() or
	 * mmap(MAP_FIXED) behind ntvm's back, or a failed map() that may
	 * have left a hole.  While it stays the same, an allocation found
	 * whole and live stays so.
	 */
	u64 (*changes)(void *ctx);
	/*
	 * MEM_RESET and MEM_RESET_UNDO.  reset_arm() starts watching
	 * [addr, addr + len) for pages the kernel discards (0 or -ENOMEM);
	 * touch() makes the watched pages there stay (dirties them, faulting
	 * in those already gone) where the memory is writable, and touches
	 * nothing else: it returns 0, 1 when some watched page could not be
	 * kept (not writable), or a negative errno; reset_lost() then says
	 * whether any of them may have been discarded since it was armed,
	 * and stops watching.
	 */
	int (*reset_arm)(void *ctx, u64 addr, u64 len);
	int (*touch)(void *ctx, u64 addr, u64 len);
	bool (*reset_lost)(void *ctx, u64 addr, u64 len);
};

/* One run of pages with the same NT state, inside an allocation. */
struct nt_run {
	u64 off;		/* offset in the allocation; runs are sorted */
	u32 flags;		/* NT_RUN_* */
	u32 gprot;		/* with NT_RUN_GUARD: protection after the guard fires */
};

#define NT_RUN_COMMITTED	0x1
#define NT_RUN_GUARD		0x2

#define NT_INLINE_RUNS		3

/* One NT allocation (a VAD), a node of the AVL tree keyed by base. */
struct nt_alloc {
	struct nt_alloc *left, *right, *parent;
	int height;
	u64 base;
	u64 size;
	u32 alloc_protect;	/* as given when the allocation was made */
	u32 attrs;		/* NT_ATTR_* */
	u32 nruns;
	u32 cap;
	/* ops->changes() when the mappings were last known to cover it all */
	u64 checked;
	struct nt_run *runs;	/* cover [0, size) exactly, merged */
	/* Most allocations have few runs: no second allocation for them. */
	struct nt_run inline_runs[NT_INLINE_RUNS];
};

/* Allocation attributes. */
#define NT_ATTR_NOCACHE		NTVM_PAGE_NOCACHE	/* sticky cache bits */
#define NT_ATTR_WRITECOMBINE	NTVM_PAGE_WRITECOMBINE
#define NT_ATTR_WRITE_WATCH	0x10000

/* Freed allocations kept for reuse, per address space. */
#define NT_SPARE_ALLOCS		8

/*
 * The limit on the NT state of one address space, in records: one per
 * allocation, one per run slot of an allocation's run array when it has
 * outgrown the inline ones.  It bounds the kernel memory of a process's
 * NT state (32 MiB at most, all charged to its memory cgroup) and
 * the work of one operation on an allocation's runs (a 4 MiB array).
 * 262,144 is four times the default vm.max_map_count: a program whose
 * allocations and protection changes each make a mapping of their own
 * meets that limit long before this one.  Only runs that mappings cannot
 * tell apart (guard bits on PROT_NONE pages) or allocations whose
 * mappings merge can reach it.  An operation that would need more fails
 * with STATUS_INSUFFICIENT_RESOURCES and changes nothing
 * (Documentation/security.rst).
 */
#define NT_MAX_RECORDS		262144

struct nt_space {
	struct nt_alloc *root;
	/* In the tree, or NULL: the allocation find_alloc() tries first. */
	struct nt_alloc *last;
	/* The allocation with the highest base, or NULL. */
	struct nt_alloc *max;
	/* Up to NT_SPARE_ALLOCS freed nodes, linked through ->left. */
	struct nt_alloc *spare;
	u32 nspare;
	u64 min_addr;		/* lowest usable address */
	u64 max_addr;		/* highest usable address, inclusive */
	u64 nallocs;
	u64 reserved_bytes;
	u64 committed_bytes;
	u64 waste;
	/* Records in use (see NT_MAX_RECORDS), and the limit. */
	u64 records;
	u64 max_records;
	const struct nt_vm_ops *ops;
	void *ctx;
};

void ntvm_space_init(struct nt_space *s, const struct nt_vm_ops *ops,
		     void *ctx, u64 min_addr, u64 max_addr);
/* Forget every allocation (the address space is gone or going). */
void ntvm_space_destroy(struct nt_space *s);

void ntvm_allocate(struct nt_space *s, struct ntvm_alloc *a);
void ntvm_free(struct nt_space *s, struct ntvm_free *f);
void ntvm_protect(struct nt_space *s, struct ntvm_protect *p);
/* Fills regions[0..*count) starting at q->address; sets q->status. */
void ntvm_query(struct nt_space *s, struct ntvm_query *q,
		struct ntvm_region *regions, u32 *count);
void ntvm_stats(struct nt_space *s, struct ntvm_stats *st);
void ntvm_guard_hit(struct nt_space *s, struct ntvm_guard *g);
void ntvm_watch_check(struct nt_space *s, struct ntvm_watch *w);

/* NT rules that are pure functions of the arguments (rules.c). */
u32 nt_check_protect(u32 prot);
u32 nt_zero_bits_limit(u64 zero_bits, u64 *limit);
u32 nt_to_lprot(u32 prot);
u32 nt_from_lprot(u32 lprot);

static inline u64 nt_page_down(u64 a)
{
	return a & ~(NTVM_PAGE_SIZE - 1);
}

static inline u64 nt_round_up(u64 a, u64 align)
{
	return (a + align - 1) & ~(align - 1);
}

#endif /* NTVM_CORE_NT_H */
