// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: debugfs ntvm/maps/<tgid>, one address space's NT regions seen from
 * outside, for root (Documentation/ntvm.rst, "Seeing inside").
 *
 * Lifetime
 * --------
 * The file exists while some file of /dev/ntvm holds the struct ntvm_ctx:
 * ntvm_maps_open() makes it on the first ntvm_ctx_get() and
 * ntvm_maps_close() removes it on the last ntvm_ctx_put(), before the
 * mmu-notifier reference is dropped.  Removal cannot wait for
 * ->free_notifier(), which runs from an SRCU callback where
 * debugfs_remove() may not sleep, nor happen in ->alloc_notifier(), which
 * runs under the mm's mmap_lock (debugfs takes its directory's inode lock,
 * which readdir holds while it faults).  ntvm_ctx.maps_lock and
 * ntvm_ctx.nfiles order the two; nothing else is taken under maps_lock
 * but debugfs's own locks.
 *
 * A reader holds no reference of its own: the file is made with
 * debugfs_create_file(), whose proxy fops make debugfs_remove() wait for
 * every read in progress and fail later ones, so the ctx outlives every
 * read.  A read takes ntvm_ctx.lock (killable) and then the owner's
 * mmap_lock for reading, as an operation of the owner does, for at most
 * one seq_file buffer of records; it holds a reference on the owner's mm
 * (mmget_not_zero()) meanwhile, dropped after ntvm_ctx.lock (the last
 * reference tears the mm down, and ->release() takes that lock), and after
 * the owner's exit lists no regions.  Queries from outside read no page of the owner, so
 * copy-on-write views show the view's protection throughout (vm.c).
 */
#include <linux/debugfs.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "context.h"

struct dentry *ntvm_maps_dir;

/* The reader's place: records are a header, the regions, the statistics. */
struct ntvm_maps_iter {
	struct ntvm_ctx *nc;
	u64 nallocs;		/* the space's, at start(), for the counters */
	bool mm_held;
	loff_t pos;		/* the record in r; 0: the header */
	u64 addr;		/* where the region of record pos starts */
	bool at_stats;
	struct nt_region r;	/* the record shown */
};

/* The region at it->addr, or false past the last. */
static bool ntvm_maps_region(struct ntvm_maps_iter *it)
{
	struct nt_space *s = &it->nc->space;
	struct nt_query_req q = { .address = it->addr };
	u32 count = 1;

	if (!it->mm_held || it->addr > s->max_addr)
		return false;
	nt_query(s, &q, &it->r, &count);
	return !q.status && count == 1;
}

/* Move to record pos + 1, or NULL past the last. */
static void *ntvm_maps_step(struct ntvm_maps_iter *it)
{
	if (it->at_stats)
		return NULL;
	it->addr = it->pos ? it->r.base + it->r.size : it->nc->space.min_addr;
	it->pos++;
	if (!ntvm_maps_region(it))
		it->at_stats = true;
	return it;
}

/*
 * Record *pos: the one the last read stopped at, read again (memory may
 * have changed since), or reached from there, or from the start after a
 * seek backwards.
 */
static void *ntvm_maps_start(struct seq_file *m, loff_t *pos)
{
	struct ntvm_maps_iter *it = m->private;
	struct ntvm_ctx *nc = it->nc;

	if (mutex_lock_killable(&nc->lock))
		return ERR_PTR(-EINTR);
	it->nallocs = nc->space.nallocs;
	it->mm_held = mmget_not_zero(nc->mm);
	if (*pos < it->pos) {
		it->pos = 0;
		it->at_stats = false;
	} else if (it->pos && !it->at_stats && !ntvm_maps_region(it)) {
		it->at_stats = true;
	}
	while (it->pos < *pos) {
		if (!ntvm_maps_step(it))
			return NULL;
		cond_resched();
	}
	return it;
}

static void *ntvm_maps_next(struct seq_file *m, void *v, loff_t *pos)
{
	++*pos;
	cond_resched();
	return ntvm_maps_step(v);
}

static void ntvm_maps_stop(struct seq_file *m, void *v)
{
	struct ntvm_maps_iter *it = m->private;
	struct ntvm_ctx *nc = it->nc;

	if (IS_ERR(v))
		return;
	/* A query forgets allocations it finds unmapped: count them. */
	atomic_long_add(nc->space.nallocs - it->nallocs, &ntvm_live_allocs);
	mutex_unlock(&nc->lock);
	/*
	 * After the unlock: the owner may have exited meanwhile, and then
	 * this is the last reference, whose exit_mmap() calls ->release(),
	 * which takes ntvm_ctx.lock.
	 */
	if (it->mm_held)
		mmput(nc->mm);
	it->mm_held = false;
}

static const char *ntvm_maps_state(u32 state)
{
	switch (state) {
	case NTVM_MEM_COMMIT:
		return "commit";
	case NTVM_MEM_RESERVE:
		return "reserve";
	default:
		return "free";
	}
}

static const char *ntvm_maps_type(u32 type)
{
	switch (type) {
	case NTVM_MEM_PRIVATE:
		return "private";
	case NTVM_MEM_MAPPED:
		return "mapped";
	default:
		return "-";
	}
}

static void ntvm_maps_flags(struct seq_file *m, struct ntvm_ctx *nc,
			    const struct nt_region *r)
{
	struct nt_vad *a = NULL;
	const char *sep = "";

	if (r->state != NTVM_MEM_FREE) {
		a = nt_vad_above(&nc->space, r->base);
		if (a && (a->base > r->base || a->base != r->allocation_base))
			a = NULL;
	}
#define NTVM_MAPS_FLAG(cond, name) \
	do { \
		if (cond) { \
			seq_printf(m, "%s" name, sep); \
			sep = ","; \
		} \
	} while (0)
	NTVM_MAPS_FLAG(r->protect & NTVM_PAGE_GUARD, "guard");
	NTVM_MAPS_FLAG(r->protect & NTVM_PAGE_NOCACHE, "nocache");
	NTVM_MAPS_FLAG(r->protect & NTVM_PAGE_WRITECOMBINE, "writecombine");
	NTVM_MAPS_FLAG(r->flags & NTVM_REGION_WRITE_WATCH, "write-watch");
	NTVM_MAPS_FLAG(a && (a->attrs & NT_ATTR_PLACEHOLDER), "placeholder");
	NTVM_MAPS_FLAG(a && (a->attrs & NT_ATTR_VIEW), "view");
	NTVM_MAPS_FLAG(r->state != NTVM_MEM_FREE && !a, "foreign");
#undef NTVM_MAPS_FLAG
	seq_puts(m, *sep ? "\n" : "-\n");
}

static int ntvm_maps_show(struct seq_file *m, void *v)
{
	struct ntvm_maps_iter *it = v;
	struct ntvm_ctx *nc = it->nc;
	const struct nt_region *r = &it->r;
	struct nt_stats st = {};

	if (!it->pos) {
		seq_puts(m, "# base size state type protect allocation_base allocation_protect flags\n");
		return 0;
	}
	if (!it->at_stats) {
		seq_printf(m, "%016llx %016llx %s %s 0x%x %016llx 0x%x ",
			   r->base, r->size, ntvm_maps_state(r->state),
			   ntvm_maps_type(r->type), r->protect,
			   r->allocation_base, r->allocation_protect);
		ntvm_maps_flags(m, nc, r);
		return 0;
	}
	/* What NTVM_IOC_STATS says; largest_free needs the owner's mm. */
	if (it->mm_held) {
		nt_get_stats(&nc->space, &st);
	} else {
		st.reserved_bytes = nc->space.reserved_bytes;
		st.committed_bytes = nc->space.committed_bytes;
		st.allocations = nc->space.nallocs;
		st.granularity_waste = nt_granularity_waste(&nc->space);
	}
	seq_printf(m, "stats reserved_bytes=%llu committed_bytes=%llu allocations=%llu granularity_waste=%llu largest_free=%llu\n",
		   st.reserved_bytes, st.committed_bytes, st.allocations,
		   st.granularity_waste, st.largest_free);
	return 0;
}

static const struct seq_operations ntvm_maps_sops = {
	.start = ntvm_maps_start,
	.next = ntvm_maps_next,
	.stop = ntvm_maps_stop,
	.show = ntvm_maps_show,
};

static int ntvm_maps_fopen(struct inode *inode, struct file *file)
{
	struct ntvm_maps_iter *it;

	it = __seq_open_private(file, &ntvm_maps_sops, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->nc = inode->i_private;
	return 0;
}

static const struct file_operations ntvm_maps_fops = {
	.owner = THIS_MODULE,
	.open = ntvm_maps_fopen,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = seq_release_private,
};

/*
 * A file of /dev/ntvm takes a reference on nc.
 *
 * Another address space of the tgid (before an exec, with a file of
 * /dev/ntvm kept open) may hold the name; then this one has no file.
 * Asking first keeps debugfs_create_file() from logging an error for
 * every open() of such a process; ntvm_maps_names makes the question and
 * the creation one step across address spaces.
 */
static DEFINE_MUTEX(ntvm_maps_names);

void ntvm_maps_open(struct ntvm_ctx *nc)
{
	struct dentry *d;
	char name[16];

	mutex_lock(&nc->maps_lock);
	if (!nc->nfiles++ && ntvm_maps_dir) {
		snprintf(name, sizeof(name), "%d", task_tgid_nr(current));
		mutex_lock(&ntvm_maps_names);
		d = debugfs_lookup(name, ntvm_maps_dir);
		if (d)
			dput(d);
		else
			nc->maps = debugfs_create_file(name, 0400, ntvm_maps_dir,
						       nc, &ntvm_maps_fops);
		mutex_unlock(&ntvm_maps_names);
	}
	mutex_unlock(&nc->maps_lock);
}

/* ... and drops it: the last one removes the file, waiting for readers. */
void ntvm_maps_close(struct ntvm_ctx *nc)
{
	mutex_lock(&nc->maps_lock);
	if (!--nc->nfiles) {
		debugfs_remove(nc->maps);
		nc->maps = NULL;
	}
	mutex_unlock(&nc->maps_lock);
}
