/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ntvm: the kernel side's shared definitions.
 *
 * The module's files, one subsystem each:
 *   main.c      the misc device: open, release, module init and exit
 *   ioctl.c     the ioctl frame: one function per command
 *   frame.h     what every handler is made of: copy-in, the caller's
 *               variables, ntvm_begin()/ntvm_end()
 *   notifier.c  one struct ntvm_ctx per address space: lifetime, and the
 *               mmu notifier that sees changes made behind ntvm's back
 *   vm.c        struct nt_vm_ops: the core's view of current->mm
 *   place.c     what NT placement reads of the mm: the maple tree's gaps,
 *               the heap (the policy is the core's, core/place.c)
 *   reset.c     MEM_RESET / MEM_RESET_UNDO tracking
 *   shared.c    the shared NT state: the read-only page libntvm maps
 *   softdirty.c NTVM_IOC_WW_SCAN (kernels before 6.3)
 *   memctl.c    NTVM_IOC_MEMCTL: region and working-set queries, lock checks
 *   section.c   sections and views: NtCreateSection, NtMapViewOfSection
 *   maps.c      debugfs ntvm/maps/<tgid>: the regions seen from outside
 *   trace.h     the trace events (main.c makes them)
 *   core/       the NT rules and state, plain C, also built in user space
 * Documentation/ntvm.rst is the reference for the ABI and the semantics.
 *
 * Locking
 * -------
 * Lock order: ntvm_ctx.lock, then mmap_lock, then ntvm_ctx.reset_lock or
 * ntvm_ctx.shared_lock (never both).
 *  - ntvm_ctx.lock (a mutex) serialises every operation on one address
 *    space and protects ntvm_ctx.space.  It is held across vm_mmap() and
 *    vm_munmap(), which take mmap_lock for writing themselves, so the
 *    module never holds mmap_lock when it calls them.  The NT calls'
 *    results are copied out after it is dropped, so a slow destination
 *    cannot stall the process's other NT calls; two writes under it touch
 *    the caller's own memory by design: NTVM_IOC_WW_SCAN's bitmap, cleared
 *    to prove it writable before anything changes (softdirty.c), and the
 *    pages a MEM_RESET_UNDO faults in to keep them (reset.c).
 *  - mmap_lock is taken for reading, under ntvm_ctx.lock, to read VMAs
 *    (vm.c, and place.c for the core's placement through
 *    nt_vm_ops.lock_read()), and for writing by NTVM_IOC_WW_SCAN
 *    (softdirty.c), which then takes page-table locks.
 *  - mmu-notifier callbacks run under mmap_lock or from reclaim, so none of
 *    them takes ntvm_ctx.lock, except ->release(), which runs in
 *    exit_mmap() before mmap_lock is taken and when no thread of the
 *    address space is left to hold ntvm_ctx.lock.
 *  - ntvm_section.lock (a mutex, section.c) protects a section's commit
 *    map, which every address space mapping the section shares; it is
 *    taken under ntvm_ctx.lock, with or without mmap_lock, and no lock of
 *    ntvm's is taken under it (a commit map that grows allocates under
 *    it, GFP_KERNEL, and reclaim never takes it).
 *  - ntvm_ctx.maps_lock (a mutex, maps.c) orders making and removing the
 *    debugfs file; only ntvm_maps_names (a module-wide mutex that makes
 *    looking a name up and creating it one step) and debugfs's own locks
 *    are taken under it, and it is never taken with ntvm_ctx.lock held.
 *    A read of that file takes ntvm_ctx.lock, then the owner's mmap_lock,
 *    as an operation does.
 *  - ntvm_ctx.reset_lock (a spinlock) protects the MEM_RESET ranges, which
 *    ->invalidate_range_start() marks when the kernel discards their pages;
 *    it is the innermost lock and nothing sleeps under it.
 *  - ntvm_ctx.shared_lock (a spinlock, shared.c) orders the writers of
 *    the shared NT state page and of ntvm_ctx.shared_gen: operations
 *    under ntvm_ctx.lock and the notifier; it is innermost too, and never
 *    held with reset_lock.
 * The placement word (nt_space.place, core/place.c) and the change count
 * (ntvm_ctx.changes) are atomics, changed under no lock.
 */
#ifndef NTVM_CONTEXT_H
#define NTVM_CONTEXT_H

#include <linux/atomic.h>
#include <linux/mm_types.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include <linux/ntvm.h>
#include "core/nt.h"

/* Ranges watched for MEM_RESET_UNDO; more are merged, conservatively. */
#define NTVM_MAX_RESETS		64

struct ntvm_reset {
	u64 lo, hi;
	/*
	 * Armed in the open window: until NTVM_IOC_RESET_DONE, invalidations
	 * by the arming task (ntvm_ctx.arm_pid) don't count.
	 */
	bool arming;
	bool lost;
};

struct ntvm_section_budget;

/* Per address space NT state; see notifier.c for its lifetime. */
struct ntvm_ctx {
	struct mmu_notifier mn;
	/* The address space; allocated (mm_count) while mn is registered. */
	struct mm_struct *mm;
	/* Bit 0: the address space's own reference is taken (notifier.c). */
	unsigned long pinned;
	/* The debugfs file (maps.c) and the files of /dev/ntvm on nc. */
	struct mutex maps_lock;
	unsigned int nfiles;		/* under maps_lock */
	struct dentry *maps;		/* under maps_lock */
	/* Serialises every operation on this address space. */
	struct mutex lock;
	struct nt_space space;		/* under lock */
	/* The task running an operation under lock, or NULL. */
	struct task_struct *op_task;
	/* space.removals when that operation began (frame.h), under lock. */
	u64 removals;
	/* Moves on unmaps not made by an operation: see nt_vm_ops.changes. */
	atomic64_t changes;
	/* Its value when the core last read it, under lock (vm.c). */
	u64 seen_changes;
	/* The operation's task is unmapping (vm_munmap()). */
	bool op_unmaps;
	/* The operation's task is keeping reset pages (ntvm_vm_touch()). */
	bool op_touches;
	/* Protects the MEM_RESET ranges below; innermost lock. */
	spinlock_t reset_lock;
	unsigned int nresets;		/* under reset_lock, read without */
	bool reset_window;		/* an arming window is open */
	/*
	 * The task that opened it, under reset_lock: its pid and start time,
	 * which no other task shares while the window is open (a task_struct
	 * pointer could be a new task's once the arming one exited); 0: none.
	 */
	pid_t arm_pid;
	u64 arm_start;
	struct ntvm_reset resets[NTVM_MAX_RESETS];	/* sorted by lo */
	/* The shared NT state page (shared.c), written under shared_lock. */
	spinlock_t shared_lock;
	struct ntvm_shared *shared;
	/*
	 * Moves, under shared_lock, on every change behind ntvm's back that
	 * may make a published fact false (ntvm_shared_invalidate()).
	 */
	unsigned long shared_gen;
	/* The commit maps of the sections it created (section.c). */
	struct ntvm_section_budget *sec_budget;
};

/* Per open file. */
struct ntvm_file {
	struct mm_struct *mm;
	struct ntvm_ctx *nc;
	/* What the first NTVM_IOC_API on this file accepted. */
	struct mutex api_lock;
	bool api_done;			/* under api_lock */
	u64 features;			/* under api_lock */
};

/* The module's version: module/Kbuild passes it, from the VERSION file. */
#ifndef NTVM_VERSION_MAJOR
#error "NTVM_VERSION_MAJOR is not defined: build through module/Kbuild"
#endif

static inline struct ntvm_ctx *ntvm_ctx_of(void *ctx)
{
	return ctx;
}

static inline void ntvm_assert_locked(void *ctx)
{
	lockdep_assert_held(&ntvm_ctx_of(ctx)->lock);
}

#define NTVM_MAP_ANON (MAP_PRIVATE | MAP_ANONYMOUS)

/* Leak counters, in debugfs ntvm/counters (main.c). */
extern atomic_long_t ntvm_live_ctxs;
extern atomic_long_t ntvm_live_allocs;

/* notifier.c */
struct ntvm_ctx *ntvm_ctx_get(struct mm_struct *mm);
void ntvm_ctx_put(struct ntvm_ctx *nc);
/* Highest usable address: the 47-bit window less one granule, as NT. */
u64 ntvm_max_address(struct mm_struct *mm);

/* vm.c */
extern const struct nt_vm_ops ntvm_vm_ops;
int ntvm_munmap(struct ntvm_ctx *nc, u64 addr, u64 len);
int ntvm_map_fixed_check(struct ntvm_ctx *nc, u64 addr, u64 len,
			 enum nt_map_how how);
int ntvm_probe_for_write(u64 uptr, u64 len);
int ntvm_probe_outputs(u64 buf, u64 len, u64 align, u64 var_ptr,
		       unsigned int width, u32 *status);

/* place.c */
int ntvm_vm_next_gap(void *ctx, u64 lo, u64 hi, u64 size, bool top_down,
		     struct nt_gap *gap);
void ntvm_vm_layout(void *ctx, struct nt_layout *l);

/*
 * The placement floor (core/place.c): what the glue tells it, from any
 * context, under no lock of ntvm's (nt_space.place is an atomic).
 */
static inline void ntvm_floor_lower(struct ntvm_ctx *nc, u64 addr, u64 end)
{
	nt_floor_lower(&nc->space, addr, end);
}

static inline void ntvm_floor_set(struct ntvm_ctx *nc, u64 f, u64 to, u64 room)
{
	nt_floor_set(&nc->space, f, to, room);
}

static inline void ntvm_floor_mapped(struct ntvm_ctx *nc, u64 addr, u64 end)
{
	nt_floor_mapped(&nc->space, addr, end);
}

/* reset.c */
int ntvm_vm_reset_arm(void *ctx, u64 addr, u64 len);
int ntvm_vm_touch(void *ctx, u64 addr, u64 len);
bool ntvm_vm_reset_lost(void *ctx, u64 addr, u64 len);
void ntvm_reset_close_windows(struct ntvm_ctx *nc);
void ntvm_reset_notify(struct ntvm_ctx *nc,
		       const struct mmu_notifier_range *range);

/* shared.c */
int ntvm_shared_init(struct ntvm_ctx *nc);
void ntvm_shared_fini(struct ntvm_ctx *nc);
void ntvm_shared_withdraw(struct ntvm_ctx *nc, u64 lo, u64 hi);
unsigned long ntvm_shared_gen(struct ntvm_ctx *nc);
void ntvm_shared_publish(struct ntvm_ctx *nc, u64 base, u64 end, u64 alloc,
			 u32 protect, unsigned long gen);
/* A range of addresses, [lo, hi). */
struct ntvm_span {
	u64 lo, hi;
};

unsigned int ntvm_shared_parts(struct ntvm_ctx *nc, u64 lo, u64 hi,
			       struct ntvm_span *parts, unsigned int max);
void ntvm_shared_invalidate(struct ntvm_ctx *nc,
			    const struct mmu_notifier_range *range);
int ntvm_mmap(struct file *file, struct vm_area_struct *vma);

/* maps.c */
extern struct dentry *ntvm_maps_dir;
void ntvm_maps_open(struct ntvm_ctx *nc);
void ntvm_maps_close(struct ntvm_ctx *nc);

/* section.c */
extern atomic_long_t ntvm_live_sections;
int ntvm_section_budget_init(struct ntvm_ctx *nc);
void ntvm_section_budget_put(struct ntvm_section_budget *b);
int ntvm_vm_map_view(void *ctx, u64 addr, u64 len, u32 lprot,
		     struct nt_section *cs, u64 off, bool cow, bool fixed);
bool ntvm_vm_cow_written(void *ctx, u64 addr, u64 vend, u64 *end);
bool ntvm_vm_cow_any(void *ctx, u64 lo, u64 hi);
void ntvm_section_get(struct nt_section *cs);
void ntvm_section_put(struct nt_section *cs);
void ntvm_section_lock(struct nt_section *cs);
void ntvm_section_unlock(struct nt_section *cs);
long ntvm_ioc_section_create(struct ntvm_file *nf, void __user *argp);
long ntvm_ioc_section_query(struct ntvm_file *nf, void __user *argp);
long ntvm_ioc_section_open(struct ntvm_file *nf, void __user *argp);
long ntvm_ioc_map_view(struct ntvm_file *nf, void __user *argp);
long ntvm_ioc_unmap_view(struct ntvm_file *nf, void __user *argp);

/* ioctl.c */
long ntvm_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
long ntvm_compat_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* memctl.c: NTVM_IOC_MEMCTL (issue 11) */
long ntvm_ioc_memctl(struct ntvm_file *nf, void __user *argp);

#endif /* NTVM_CONTEXT_H */
