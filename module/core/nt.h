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
 * The caller serialises all calls on one nt_space, except the floor's
 * (nt_floor_*(), below).
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
	NT_MAP_UNVIEW,		/* the same, over a view */
};

struct nt_section;

/* Where a new allocation may go (core/place.c, nt_find_gap()). */
struct nt_gap_req {
	u64 lo;			/* lowest start */
	u64 hi;			/* highest end (exclusive) */
	u64 size;
	u64 align;		/* power of two, >= NTVM_GRANULARITY */
	bool top_down;
	u32 attempt;		/* 0 first, then the retries after a lost race */
};

/* A free range that nt_vm_ops.next_gap() found. */
struct nt_gap {
	u64 start, end;		/* free, inside the probe's [lo, hi) */
	u64 next;		/* where the mapping above starts (none: task_size) */
	bool stack;		/* that mapping grows down: keep its guard gap */
};

/* What placement keeps clear of (nt_vm_ops.layout()). */
struct nt_layout {
	u64 start_brk, brk;	/* the heap */
	u64 task_size;		/* the end of the address space */
};

struct nt_vm_ops {
	/*
	 * A failed map() over mappings (NT_MAP_COMMIT, NT_MAP_DECOMMIT) may
	 * have removed them (Linux's mmap_region() may fail after it tore
	 * the old mappings down): the core then records a decommit's
	 * mappings first, to put them back.
	 */
	bool fixed_unmaps_first;
	/*
	 * Returns 0 or a negative errno, and nothing changed on error:
	 * -EEXIST, the range is not free (NT_MAP_RESERVE*); -ENOMEM, the
	 * commit charge was refused; -ENOSPC, no room for the mapping
	 * (address space, RLIMIT_AS, vm.max_map_count).
	 */
	int (*map)(void *ctx, u64 addr, u64 len, enum nt_map_how how, u32 lprot);
	int (*unmap)(void *ctx, u64 addr, u64 len);
	/*
	 * prot_at() and next_gap() must be called between lock_read() and
	 * unlock_read(), and map/unmap never are.  prot_at() returns the
	 * NT_LPROT_* bits of the mapping at addr, ORed with NT_VMA_FOREIGN
	 * for mappings that are not private anonymous memory, or
	 * NT_VMA_NONE.  [*start, *end) is set to that mapping, or to the
	 * hole around addr.
	 */
	void (*lock_read)(void *ctx);
	void (*unlock_read)(void *ctx);
	int (*prot_at)(void *ctx, u64 addr, u64 *start, u64 *end);
	/*
	 * Placement's view of the address space (the policy is the core's,
	 * core/place.c).  next_gap(): the lowest (top_down: highest) free
	 * range of at least size bytes inside [lo, hi), 0 or -ENOMEM (none).
	 * Bottom-up, gap->start is the lowest address of [lo, hi) that
	 * starts one, and gap->end is min(hi, gap->next); top-down,
	 * gap->end is the highest address of [lo, hi] that ends one, and
	 * gap->start may be as high as gap->end - size.  gap->next and
	 * gap->stack describe the mapping above the free range.
	 */
	int (*next_gap)(void *ctx, u64 lo, u64 hi, u64 size, bool top_down,
			struct nt_gap *gap);
	/* The heap and task_size; with or without lock_read(). */
	void (*layout)(void *ctx, struct nt_layout *l);
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
	 * and stops watching.  The core also calls reset_lost(), and ignores
	 * the answer, for memory it releases or decommits: the watch ends
	 * with the contents.
	 */
	int (*reset_arm)(void *ctx, u64 addr, u64 len);
	int (*touch)(void *ctx, u64 addr, u64 len);
	bool (*reset_lost)(void *ctx, u64 addr, u64 len);
	/*
	 * MEM_LARGE_PAGES (issue 11), optional (NULL: never allowed): 0 when
	 * the caller may have large pages, -EPERM without the privilege,
	 * -EOPNOTSUPP when the system has none.
	 */
	int (*large_pages)(void *ctx);
	/*
	 * Views (spec 2): map [addr, addr + len) to the section's backing
	 * from byte offset off, shared, or private (copy-on-write) when
	 * cow; over whatever is there when fixed (a placeholder), else only
	 * if the range is free.  With NT_VIEW_REMAP in lprot, over a part of
	 * an existing view of the same section (a new protection, or private
	 * pages): a failure leaves that part PROT_NONE of the backing, as
	 * an uncommitted page of the view.  Errors as map().
	 */
	int (*map_view)(void *ctx, u64 addr, u64 len, u32 lprot,
			struct nt_section *sec, u64 off, bool cow, bool fixed);
	/* References to a section, held by each view of it. */
	void (*section_get)(struct nt_section *sec);
	void (*section_put)(struct nt_section *sec);
	/*
	 * The section's commit map is shared by every address space: these
	 * lock it.  Innermost: taken with or without the read lock above.
	 */
	void (*section_lock)(struct nt_section *sec);
	void (*section_unlock)(struct nt_section *sec);
	/*
	 * Under lock_read(): has the copy-on-write page at addr been
	 * written (it has a private copy)?  *end: where the answer may
	 * change, at most vend.
	 */
	bool (*cow_written)(void *ctx, u64 addr, u64 vend, u64 *end);
	/*
	 * Under lock_read(), optional (NULL: always true): may a page of
	 * [lo, hi) have a private copy?  True when unsure (swapped out).
	 */
	bool (*cow_any)(void *ctx, u64 lo, u64 hi);
};

/* One run of pages with the same NT state, inside an allocation. */
struct nt_run {
	u64 off;		/* offset in the allocation; runs are sorted */
	u32 flags;		/* NT_RUN_* */
	u32 gprot;		/* with NT_RUN_GUARD: protection after the guard fires */
};

#define NT_RUN_COMMITTED	0x1
#define NT_RUN_GUARD		0x2
/*
 * In a view, NT_RUN_COMMITTED says the view's mapping carries the pages'
 * NT protection; in a SEC_RESERVE view it is set once the view has
 * learnt the section's commit (until then the pages are PROT_NONE).
 * NT_RUN_COW: pages of a shared view mapped private by PAGE_WRITECOPY;
 * NT_RUN_WC: their protection is write-copy now (until written).
 */
#define NT_RUN_COW		0x4
#define NT_RUN_WC		0x8
/* Within view_set_prot() only: the run was mapped again (shared <-> private). */
#define NT_RUN_REMAPPED		0x10

/* map_view()'s lprot flag: over the view's own mapping (see above). */
#define NT_VIEW_REMAP		0x10

#define NT_INLINE_RUNS		3

/* One NT allocation (a VAD), a node of the AVL tree keyed by base. */
struct nt_vad {
	struct nt_vad *left, *right, *parent;
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
	/* A view (NT_ATTR_VIEW): its section, and its offset there. */
	struct nt_section *sec;
	u64 sec_off;
	/* Views of SEC_RESERVE sections: nt_space.reserve_views. */
	struct nt_vad *vnext, *vprev;
};

/*
 * A section (spec 1): its size and attributes, and, for SEC_RESERVE, which
 * pages are committed: the runs of commit, an allocation of the section's
 * page-rounded size that is in no tree.  The glue embeds it in its own
 * object, which holds the backing file and the reference count.
 */
struct nt_section {
	struct nt_vad commit;
	/*
	 * The run slots of the commit maps of every section one address
	 * space created, its own included: at most NT_SECTION_MAP_BUDGET.
	 * Set by the glue after nt_section_init() and kept alive while the
	 * section is; NULL: no limit but NT_SECTION_MAX_RUNS.
	 */
	atomic64_t *budget;
	/*
	 * Run slots the views being mapped with a CommitSize hold for it,
	 * from their checks to their commit, which the section's lock does
	 * not cover whole (nt_map_view()): no other commit may use them.
	 */
	u32 held;
	u64 size;		/* as NtQuerySection reports it */
	u32 attrs;		/* NTVM_SEC_* */
	u32 protect;		/* the section's page protection */
};

/*
 * A section lives while a handle or a view holds it, so the commit maps
 * (SEC_RESERVE) of many sections would escape NT_MAX_RECORDS: they are
 * limited per creating address space instead, to as many run slots (16
 * bytes each: 4 MiB), charged as a map grows and given back when its
 * section is freed.  A commit that would pass the limit fails with
 * STATUS_INSUFFICIENT_RESOURCES and changes nothing.
 */
#define NT_SECTION_MAP_BUDGET	NT_MAX_RECORDS

/* Allocation attributes. */
#define NT_ATTR_NOCACHE		NTVM_PAGE_NOCACHE	/* sticky cache bits */
#define NT_ATTR_WRITECOMBINE	NTVM_PAGE_WRITECOMBINE
#define NT_ATTR_WRITE_WATCH	0x10000
#define NT_ATTR_LARGE_PAGES	0x200000	/* MEM_LARGE_PAGES (issue 11) */

/* The large-page size of MEM_LARGE_PAGES: the x86-64 PMD size. */
#define NT_LARGE_PAGE		0x200000ULL
/* A placeholder not replaced: reserved, PAGE_NOACCESS, splits and merges. */
#define NT_ATTR_PLACEHOLDER	0x20000
/* Made by replacing a placeholder: can go back to one (spec 6.5.5). */
#define NT_ATTR_FROM_PLACEHOLDER 0x40000
/* A view of a section (MEM_MAPPED). */
#define NT_ATTR_VIEW		0x80000
/* A copy-on-write view (PAGE_WRITECOPY, PAGE_EXECUTE_WRITECOPY). */
#define NT_ATTR_COW		0x100000

/*
 * Tries of a mapping change that puts back what a failed one took away
 * (the core's map_retry(), the glue's restoring vm_mmap()): under kernel
 * allocation failure (fault injection, or memory short for an instant)
 * the next try usually works.
 */
#define NT_RESTORE_TRIES	8

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

/* One mapping of a range as ops->prot_at() saw it (an NT_LPROT_* value or NT_VMA_NONE). */
struct nt_piece {
	u64 start, end;
	int lprot;
};

/*
 * What a commit or protection change that left an mprotect() to user space
 * (NTVM_APPLY_MPROTECT) changed, so that nt_undo() can take it back when
 * that mprotect() fails: the allocation, the range, the runs over it and
 * the committed bytes before the call.  The mappings before the call are
 * in nt_space.layout.  Any other operation forgets it.
 */
struct nt_undo {
	u64 base;		/* the allocation's base; 0: nothing to undo */
	u64 lo, hi;		/* the range (addresses) */
	u64 committed;		/* s->committed_bytes before */
	u64 at;			/* nt_undo(): mappings are compared from here */
	u32 nruns, cap;
	bool view;		/* a view's (undo_view_runs()) */
	bool runs_done;		/* nt_undo() put them back */
	struct nt_run *runs;	/* offsets in the allocation, the first at lo */
};

struct nt_space {
	struct nt_vad *root;
	/* In the tree, or NULL: the allocation find_alloc() tries first. */
	struct nt_vad *last;
	/* The allocation with the highest base, or NULL. */
	struct nt_vad *max;
	/* Up to NT_SPARE_ALLOCS freed nodes, linked through ->left. */
	struct nt_vad *spare;
	u32 nspare;
	u64 min_addr;		/* lowest usable address */
	u64 max_addr;		/* highest usable address, inclusive */
	u64 nallocs;
	/*
	 * Allocations taken out of the tree, ever (released, or forgotten as
	 * damaged): the glue withdraws what it published of them.
	 */
	u64 removals;
	u64 reserved_bytes;
	u64 committed_bytes;
	/* Records in use (see NT_MAX_RECORDS), and the limit. */
	u64 records;
	u64 max_records;
	/*
	 * The views of SEC_RESERVE sections, linked through vnext/vprev:
	 * a commit through one view is made visible to the others at once.
	 */
	struct nt_vad *reserve_views;
	const struct nt_vm_ops *ops;
	void *ctx;
	/*
	 * The placement floor and its room (core/place.c): the one field
	 * the caller does not serialise; only nt_floor_*() and placement
	 * change it, by compare-and-exchange.
	 */
	atomic64_t place;
	/* Mappings of a range before a change (failure paths, nt_undo()). */
	struct nt_piece *layout;
	u32 nlayout, layout_cap;
	struct nt_undo undo;
};

/*
 * The core's requests: the NT call's arguments once the frame has read
 * them, and its results.  The frame (module/ioctl.c) translates the ABI's
 * structures to and from these, so an ABI change stays out of the core.
 */

/* What the frame found wrong that NT checks at a point of its own order. */
#define NT_BAD_POINTER	0x1	/* an argument variable can't be read or written */
#define NT_BAD_HANDLE	0x2	/* a process handle other than the current one */

struct nt_alloc_req {
	u64 base, size;			/* in/out */
	u64 zero_bits;
	u64 lowest, highest, alignment;	/* with requirements */
	u32 type, protect;
	u32 bad;			/* NT_BAD_* */
	bool requirements;
	bool ex;			/* NtAllocateVirtualMemoryEx: placeholders */
	u32 status;			/* out */
	u32 apply, apply_prot;		/* out: NTVM_APPLY_*, NT_LPROT_* */
	bool watch;			/* out: in a MEM_WRITE_WATCH allocation */
	/*
	 * out: the allocation's base when the call, a commit of pages that
	 * were all committed, left [base, base + size) as struct
	 * ntvm_shared_range describes it (committed plain private memory, no
	 * guard page, protection protect), else 0.
	 */
	u64 publish;
};

struct nt_free_req {
	u64 base, size;			/* in/out */
	u32 type;
	u32 bad;			/* NT_BAD_* */
	/* Ranges that must stay mapped: the results are written there. */
	u64 keep[3][2];
	u32 nkeep;
	u32 status;			/* out */
	bool watch;			/* out: in a MEM_WRITE_WATCH allocation */
};

struct nt_protect_req {
	u64 base, size;			/* in/out */
	u32 protect;
	u32 bad;			/* NT_BAD_* */
	u32 status;			/* out */
	u32 old_protect;		/* out */
	bool old_protect_set;		/* out: write OldProtect (even on failure) */
	u32 apply, apply_prot;		/* out */
	bool watch;			/* out: in a MEM_WRITE_WATCH allocation */
};

/* One region as NtQueryVirtualMemory describes it. */
struct nt_region {
	u64 base, allocation_base, size;
	u32 allocation_protect, state, protect, type;
	u32 flags;			/* NTVM_REGION_* */
};

struct nt_query_req {
	u64 address;
	u64 end;			/* 0: one region */
	u32 bad;			/* NT_BAD_* */
	u32 status;			/* out */
};

struct nt_stats {
	u64 reserved_bytes, committed_bytes, allocations;
	u64 granularity_waste, largest_free;
};

struct nt_guard_req {
	u64 address;
	u32 access;			/* NTVM_ACCESS_* */
	u64 base;			/* out */
	u32 status, apply, apply_prot;	/* out */
};

struct nt_watch_req {
	u64 base, length;
	u64 alloc_base, alloc_size;	/* out */
	u32 status;			/* out */
};

void nt_space_init(struct nt_space *s, const struct nt_vm_ops *ops,
		   void *ctx, u64 min_addr, u64 max_addr);
/* Forget every allocation (the address space is gone or going). */
void nt_space_destroy(struct nt_space *s);

void nt_allocate(struct nt_space *s, struct nt_alloc_req *a);
void nt_free(struct nt_space *s, struct nt_free_req *f);
void nt_protect(struct nt_space *s, struct nt_protect_req *p);
/* Fills regions[0..*count) starting at q->address; sets q->status. */
void nt_query(struct nt_space *s, struct nt_query_req *q,
	      struct nt_region *regions, u32 *count);
void nt_get_stats(struct nt_space *s, struct nt_stats *st);
/* Stats' granularity_waste: one walk of the allocations (under the lock). */
u64 nt_granularity_waste(struct nt_space *s);
/*
 * Take back the last commit or protection change whose mprotect() (apply)
 * failed, [base, base + size) as that call returned it.  Fills up to max
 * pieces [start, end) with the protection (NT_LPROT_*) user space must put
 * back with mprotect(); *more when it must call again.  Returns an NT
 * status: success, STATUS_INVALID_PARAMETER when there is no such change
 * to take back, STATUS_INSUFFICIENT_RESOURCES when the kernel could not put
 * memory back as it was (the NT state then says what memory holds).
 */
u32 nt_undo(struct nt_space *s, u64 base, u64 size, struct nt_piece *out,
	    u32 max, u32 *count, bool *more);
/* Forget the change nt_undo() could take back (every other operation). */
void nt_undo_forget(struct nt_space *s);
void nt_guard_hit(struct nt_space *s, struct nt_guard_req *g);
void nt_watch_check(struct nt_space *s, struct nt_watch_req *w);

/*
 * Issue 11: NtQueryVirtualMemory(MemoryRegionInformation,
 * MemoryWorkingSetExInformation) and NtLockVirtualMemory/
 * NtUnlockVirtualMemory, in core/memctl.c.  The core's own request type.
 */
enum nt_memctl_op {
	NT_MEMCTL_REGION = 1,	/* the allocation holding base */
	NT_MEMCTL_LOCK,		/* NT checks of NtLockVirtualMemory */
	NT_MEMCTL_UNLOCK,	/* NT checks of NtUnlockVirtualMemory */
	NT_MEMCTL_PAGE,		/* state and protection of the run at base */
	NT_MEMCTL_FLUSH,	/* NT checks of NtFlushVirtualMemory */
	NT_MEMCTL_SAME_FILES,	/* NtAreMappedFilesTheSame(base, other) */
};

/* NtLockVirtualMemory's MapType values. */
#define NT_MAP_PROCESS	1
#define NT_MAP_SYSTEM	2

struct nt_memctl {
	u32 op;			/* enum nt_memctl_op */
	u32 map_type;		/* LOCK, UNLOCK: MAP_PROCESS/MAP_SYSTEM */
	bool privileged;	/* NT_MAP_SYSTEM: may lock for the system */
	u32 bad;		/* LOCK, UNLOCK, FLUSH: NT_BAD_* */
	u64 base;
	u64 length;
	u64 other;		/* SAME_FILES: the second address */
	/* outputs */
	u32 status;
	u64 lo, hi;		/* the range (LOCK, UNLOCK) or run (PAGE) */
	u64 alloc_base, alloc_size, commit_size;
	u32 alloc_protect;
	u32 type;		/* MEM_PRIVATE, MEM_MAPPED, 0 (free) */
	u32 state;		/* PAGE: MEM_COMMIT, MEM_RESERVE, MEM_FREE */
	u32 protect;		/* PAGE: NT protection */
	u32 apply, apply_prot;	/* LOCK hit a guard page: NTVM_APPLY_MPROTECT */
	/*
	 * REGION, PAGE: a MEM_LARGE_PAGES allocation; UNLOCK: the range
	 * meets one, from alloc_base (core/memctl.c).
	 */
	bool large;
	bool page_file;		/* REGION: a view of a section backed by memory */
	bool placeholder;	/* REGION: a free placeholder */
	bool write_watch;	/* REGION: a MEM_WRITE_WATCH allocation */
};

void nt_memctl(struct nt_space *s, struct nt_memctl *m);
/* MEM_LARGE_PAGES checks of NtAllocateVirtualMemory (core/memctl.c). */
u32 nt_check_large(struct nt_space *s, const struct nt_alloc_req *a);

/* space.c's helpers for memctl.c. */
struct nt_vad *nt_find_live(struct nt_space *s, u64 addr, u64 hi);
struct nt_vad *nt_vad_above(struct nt_space *s, u64 addr);
/*
 * cow: tell a written write-copy page from an unwritten one, which reads
 * the page tables a piece at a time; else a writable page of a
 * copy-on-write view is write-copy, in runs as long as its mapping.
 */
bool nt_page_state(struct nt_space *s, struct nt_vad *a, u64 addr, u64 hi,
		   u32 *state, u32 *prot, u64 *end, bool cow);
u64 nt_vad_committed(struct nt_space *s, struct nt_vad *a);
void nt_views_learn(struct nt_space *s, u64 lo, u64 hi);
u32 nt_vad_type(const struct nt_vad *a);
void nt_forget(struct nt_space *s, struct nt_vad *a);

/* Sections and views (space.c, "Views"). */
struct nt_view_req {
	struct nt_section *sec;	/* NULL: the handle named none (sec_status) */
	u64 base;		/* in/out */
	u64 size;		/* in/out: ViewSize */
	u64 offset;		/* in/out: SectionOffset */
	u64 zero_bits;
	u64 commit_size;
	u64 lowest, highest, alignment;	/* with requirements */
	u32 type;		/* AllocationType */
	u32 protect;
	u32 inherit;		/* ViewShare 1, ViewUnmap 2 */
	u32 access;		/* the section handle's SECTION_* rights */
	u32 bad;		/* NT_BAD_* */
	u32 sec_status;		/* sec NULL: why the handle gave none */
	bool requirements;
	bool ex;
	u32 status;		/* out */
};

/*
 * Section creation rules (no state): status, and the size it will have.
 * file_rights: what the file allows (NT_LPROT_W, NT_LPROT_X).
 */
u32 nt_section_check_early(u32 attrs, u32 protect);
u32 nt_section_check(u32 attrs, u32 protect, bool file, u64 file_size,
		     bool image_mz, u32 file_rights, u64 max_size, u64 *size);
/* Can a section of this protection write its backing (spec 1.4)? */
bool nt_section_writes(u32 protect);
/* Set up sec (zeroed by the caller) for a checked size; false: no memory. */
bool nt_section_init(struct nt_section *sec, u32 attrs, u32 protect, u64 size);
void nt_section_fini(struct nt_section *sec);
void nt_map_view(struct nt_space *s, struct nt_view_req *v);
u32 nt_unmap_view(struct nt_space *s, u64 addr, u32 flags, bool other_process);

/*
 * Placement (place.c).  nt_find_gap() and nt_largest_free() are called
 * outside lock_read().  The glue tells the floor about changes to the
 * address space, from any context and under any lock (nt_space.place):
 * nt_floor_lower() when [addr, end) was unmapped (end 0: something at
 * addr may have been), nt_floor_mapped() when ntvm reserved [addr, end)
 * where nothing was, nt_floor_set(s, addr, addr, addr) when such a
 * reservation found the range taken.
 */
int nt_find_gap(struct nt_space *s, const struct nt_gap_req *req, u64 *addr);
u64 nt_largest_free(struct nt_space *s, u64 lo, u64 hi);
void nt_place_init(struct nt_space *s);
void nt_place_get(struct nt_space *s, u64 *floor, u64 *room);
void nt_floor_lower(struct nt_space *s, u64 addr, u64 end);
void nt_floor_set(struct nt_space *s, u64 f, u64 to, u64 room);
void nt_floor_mapped(struct nt_space *s, u64 addr, u64 end);

/* NT rules that are pure functions of the arguments (rules.c). */
u32 nt_check_protect(u32 prot);
u32 nt_zero_bits_limit(u64 zero_bits, u64 max_addr, u64 *limit);
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
