// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: sections and views (NtCreateSection, NtQuerySection,
 * NtMapViewOfSection(Ex), NtUnmapViewOfSection(Ex)).
 *
 * A section is a struct ntvm_section: the core's struct nt_section (size,
 * attributes, the SEC_RESERVE commit map) and the file that backs it, a
 * shmem file of the page-rounded size for a section backed by memory (the
 * pagefile), or the caller's file.  A section handle is a file descriptor
 * of an anonymous inode whose file holds a reference to the section and
 * the handle's access rights; it can be passed to another process
 * (SCM_RIGHTS, fork), which maps views with its own /dev/ntvm.  Each view
 * holds a reference too, so closing every handle leaves the views working
 * (spec 5.2); the section goes with its last view or handle.
 *
 * Views are vm_mmap() mappings of the backing file: MAP_SHARED, or
 * MAP_PRIVATE for the copy-on-write protections.  The core places them
 * like private allocations and keeps them in the same tracker.  Parts of
 * a view change by a MAP_FIXED vm_mmap() of the same file over them
 * (NT_VIEW_REMAP): the pages a SEC_RESERVE view learns are committed,
 * and the pages of a shared view made PAGE_WRITECOPY, mapped private.
 *
 * Locking: the commit map of a section is shared by every address space
 * that maps it, and protected by ntvm_section.lock, the innermost lock
 * (taken under ntvm_ctx.lock, with or without mmap_lock held for reading;
 * no lock of ntvm's is taken under it, only a growing map's allocation).
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mount.h>
#include <linux/refcount.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "context.h"
#include "frame.h"

struct ntvm_section {
	struct nt_section core;
	struct kref ref;
	struct mutex lock;		/* core.commit */
	struct file *backing;
	struct ntvm_section_budget *budget;	/* its creator's */
};

/*
 * The run slots of the commit maps of the sections one address space
 * created (NT_SECTION_MAP_BUDGET, core/nt.h).  A section may outlive the
 * address space, so the context and each of those sections hold a
 * reference; the last put may come from ->free_notifier(), which cannot
 * sleep.
 */
struct ntvm_section_budget {
	atomic64_t slots;
	refcount_t ref;
};

int ntvm_section_budget_init(struct ntvm_ctx *nc)
{
	nc->sec_budget = kzalloc(sizeof(*nc->sec_budget), GFP_KERNEL_ACCOUNT);
	if (!nc->sec_budget)
		return -ENOMEM;
	refcount_set(&nc->sec_budget->ref, 1);
	return 0;
}

void ntvm_section_budget_put(struct ntvm_section_budget *b)
{
	if (refcount_dec_and_test(&b->ref))
		kfree(b);
}

/* The private data of a section handle's file. */
struct ntvm_section_handle {
	struct ntvm_section *sec;
	u32 access;
};

atomic_long_t ntvm_live_sections = ATOMIC_LONG_INIT(0);

static struct ntvm_section *ntvm_sec(struct nt_section *cs)
{
	return container_of(cs, struct ntvm_section, core);
}

static void ntvm_section_free(struct kref *ref)
{
	struct ntvm_section *sec = container_of(ref, struct ntvm_section, ref);

	fput(sec->backing);
	/* Gives the map's slots back to the budget, then the budget goes. */
	nt_section_fini(&sec->core);
	ntvm_section_budget_put(sec->budget);
	mutex_destroy(&sec->lock);
	kfree(sec);
	atomic_long_dec(&ntvm_live_sections);
}

void ntvm_section_get(struct nt_section *cs)
{
	kref_get(&ntvm_sec(cs)->ref);
}

void ntvm_section_put(struct nt_section *cs)
{
	kref_put(&ntvm_sec(cs)->ref, ntvm_section_free);
}

void ntvm_section_lock(struct nt_section *cs)
{
	mutex_lock(&ntvm_sec(cs)->lock);
}

void ntvm_section_unlock(struct nt_section *cs)
{
	mutex_unlock(&ntvm_sec(cs)->lock);
}

/* Map a view; see nt_vm_ops.map_view. */
int ntvm_vm_map_view(void *ctx, u64 addr, u64 len, u32 lprot,
		     struct nt_section *cs, u64 off, bool cow, bool fixed)
{
	struct ntvm_ctx *nc = ntvm_ctx_of(ctx);
	unsigned long flags = cow ? MAP_PRIVATE : MAP_SHARED, ret, mend;
	bool remap = lprot & NT_VIEW_REMAP;
	struct file *backing = ntvm_sec(cs)->backing;

	ntvm_assert_locked(ctx);
	lprot &= NT_LPROT_MASK;
	flags |= fixed || remap ? MAP_FIXED : MAP_FIXED_NOREPLACE;
	/*
	 * Over a placeholder (anonymous PROT_NONE, as a commit's target) or
	 * over the view itself (its file, as a view that returns to a
	 * placeholder): not over a mapping made there meanwhile.
	 */
	if (fixed || remap) {
		int err = ntvm_map_fixed_check(nc, addr, len, remap ?
					       NT_MAP_UNVIEW : NT_MAP_COMMIT);

		if (err)
			return err;
	}
	ret = vm_mmap(backing, addr, len, lprot, flags, off);
	if (!IS_ERR_VALUE(ret)) {
		if (!fixed && !remap)
			ntvm_floor_mapped(nc, addr, addr + len);
		return 0;
	}
	if (ret == -EEXIST)
		ntvm_floor_set(nc, addr, addr, addr);
	if (fixed || remap) {
		/*
		 * A failed MAP_FIXED may have left a hole: mend it, with the
		 * placeholder's reservation, or the view's backing PROT_NONE.
		 */
		atomic64_inc(&nc->changes);
		ntvm_floor_lower(nc, addr, 0);
		if (remap)
			mend = vm_mmap(backing, addr, len, PROT_NONE,
				       MAP_SHARED | MAP_FIXED_NOREPLACE, off);
		else
			mend = vm_mmap(NULL, addr, len, PROT_NONE,
				       NTVM_MAP_ANON | MAP_NORESERVE |
				       MAP_FIXED_NOREPLACE, 0);
		if (!IS_ERR_VALUE(mend))
			pr_debug("ntvm: restored %#llx+%#llx\n", addr, len);
	}
	/* Only a private writable mapping is charged. */
	if (ret == -ENOMEM)
		return cow && (lprot & PROT_WRITE) ? -ENOMEM : -ENOSPC;
	if (ret == -EACCES || ret == -EPERM)
		return -EACCES;
	return (int)ret;
}

/* Pages cow_written() looks at per call; the caller asks again. */
#define NTVM_COW_SCAN 512

/*
 * nt_vm_ops.cow_written: a private copy exists where the page mapped at
 * addr is anonymous.  A mapping with no anon_vma has none in it.
 * get_user_pages_fast_only() faults nothing in; a copy swapped out reads
 * as not written (reported PAGE_WRITECOPY), a documented gap.
 */
bool ntvm_vm_cow_written(void *ctx, u64 addr, u64 vend, u64 *end)
{
	struct mm_struct *mm = ntvm_ctx_of(ctx)->mm;
	struct vm_area_struct *vma;
	struct page *page;
	bool first = false, anon;
	u64 at;

	mmap_assert_locked(mm);
	vma = find_vma(mm, addr);
	/* A reader of debugfs ntvm/maps (maps.c) reads no page of another. */
	if (!vma || vma->vm_start > addr || mm != current->mm) {
		*end = vend;
		return false;
	}
	if (!vma->anon_vma) {
		*end = min_t(u64, vend, vma->vm_end);
		return false;
	}
	for (at = addr; at < vend && at < addr + NTVM_COW_SCAN * PAGE_SIZE;
	     at += PAGE_SIZE) {
		anon = false;
		if (get_user_pages_fast_only(at, 1, 0, &page) == 1) {
			anon = PageAnon(page);
			put_page(page);
		}
		if (at == addr)
			first = anon;
		else if (anon != first)
			break;
	}
	*end = at;
	cond_resched();
	return first;
}

/*
 * nt_vm_ops.cow_any: a private copy can only exist in a mapping that has
 * an anon_vma (also when swapped out).  The VMAs of [lo, hi) are few: the
 * core asks about one run of a view.
 */
bool ntvm_vm_cow_any(void *ctx, u64 lo, u64 hi)
{
	struct mm_struct *mm = ntvm_ctx_of(ctx)->mm;
	struct vm_area_struct *vma;

	mmap_assert_locked(mm);
	for (vma = find_vma(mm, lo); vma && vma->vm_start < hi;
	     vma = find_vma(mm, vma->vm_end)) {
		if (vma->anon_vma)
			return true;
		cond_resched();
	}
	return false;
}

static int ntvm_section_release(struct inode *inode, struct file *file)
{
	struct ntvm_section_handle *h = file->private_data;

	ntvm_section_put(&h->sec->core);
	kfree(h);
	return 0;
}

static const struct file_operations ntvm_section_fops = {
	.owner = THIS_MODULE,
	.release = ntvm_section_release,
};

/*
 * The section behind a handle's file f (from fget()), or NULL and *status
 * (STATUS_INVALID_HANDLE, STATUS_OBJECT_TYPE_MISMATCH).  The section lives
 * while the caller holds f.
 */
static struct ntvm_section *ntvm_section_of(struct file *f, u32 *access,
					    u32 *status)
{
	struct ntvm_section_handle *h;

	if (!f) {
		*status = NTVM_STATUS_INVALID_HANDLE;
		return NULL;
	}
	if (f->f_op != &ntvm_section_fops) {
		*status = NTVM_STATUS_OBJECT_TYPE_MISMATCH;
		return NULL;
	}
	h = f->private_data;
	*access = h->access;
	return h->sec;
}

/* The section behind a handle, with a reference, or NULL and *status. */
static struct ntvm_section *ntvm_section_from_fd(int fd, u32 *access,
						 u32 *status)
{
	struct ntvm_section *sec;
	struct file *f = fget(fd);

	sec = ntvm_section_of(f, access, status);
	if (sec)
		kref_get(&sec->ref);
	if (f)
		fput(f);
	return sec;
}

/*
 * Copy a frame-v2 argument structure in (ntvm_copy_args(), which also
 * proves it writable before anything changes).  Returns the caller's
 * size, or a negative errno.
 */
static __always_inline long ntvm_args_in(void *args, size_t ksize,
					 void __user *argp, size_t ver0)
{
	int ret = ntvm_copy_args(args, ksize, argp, ver0);

	/* Both as long: a negative errno must not become an unsigned size. */
	return ret ? (long)ret : (long)*(u32 *)args;
}

/* Write back the outputs, inside the caller's size only. */
static int ntvm_args_out(void __user *argp, const void *args, size_t ksize,
			 size_t usize)
{
	return copy_to_user(argp, args, min(ksize, usize)) ? -EFAULT : 0;
}

/*
 * The file of a new handle to sec, not installed yet: the caller installs
 * it once nothing can fail any more (an installed descriptor cannot be
 * taken back), or fput()s it, which drops the reference it took over.
 * On failure the caller keeps its reference.
 */
static struct file *ntvm_section_file(struct ntvm_section *sec, u32 access)
{
	struct ntvm_section_handle *h;
	struct file *file;

	h = kzalloc(sizeof(*h), GFP_KERNEL_ACCOUNT);
	if (!h)
		return ERR_PTR(-ENOMEM);
	h->sec = sec;
	h->access = access;
	file = anon_inode_getfile("[ntvm-section]", &ntvm_section_fops, h,
				  O_RDWR);
	if (IS_ERR(file))
		kfree(h);
	return file;
}

/*
 * The backing file of a new section; *status on failure.
 *
 * A section whose protection cannot write is backed by a read-only file of
 * its own, even when the caller's file (or the module's memory file) is
 * open for writing: its shared views then never have VM_MAYWRITE, so no
 * mprotect() can make them writable, in this process or in one the handle
 * is passed to.  The handle must not carry the right to write the file
 * that the section's protection withholds.  Write-copy views are private
 * mappings, which a read-only file allows.
 */
static struct file *ntvm_section_backing(struct ntvm_section_create_args *a,
					 u64 size, struct file *user,
					 u32 *status)
{
	struct file *f, *ro;

	if (user) {
		f = get_file(user);
	} else {
		/* Spec 1.3.7: SEC_COMMIT is charged whole now, SEC_RESERVE never. */
		f = shmem_file_setup("ntvm-section", size,
				     (a->attrs & NTVM_SEC_RESERVE) ? VM_NORESERVE : 0);
		if (IS_ERR(f)) {
			*status = PTR_ERR(f) == -ENOMEM ?
				  NTVM_STATUS_COMMITMENT_LIMIT :
				  NTVM_STATUS_INSUFFICIENT_RESOURCES;
			return NULL;
		}
	}
	if (nt_section_writes(a->protect) || !(f->f_mode & FMODE_WRITE))
		return f;
	ro = dentry_open(&f->f_path, O_RDONLY | O_LARGEFILE, f->f_cred);
	fput(f);
	if (IS_ERR(ro)) {
		*status = PTR_ERR(ro) == -EACCES || PTR_ERR(ro) == -EPERM ?
			  NTVM_STATUS_ACCESS_DENIED :
			  NTVM_STATUS_INSUFFICIENT_RESOURCES;
		return NULL;
	}
	return ro;
}

/*
 * May this file back a section?  A regular file that can be mapped: what
 * NT's file handle of a disk file is.  From 6.15 on, anonymous inodes
 * (eventfd, io_uring, dma-buf...) are S_IFREG too, marked S_ANON_INODE.
 */
static bool ntvm_section_file_ok(struct file *f)
{
	struct inode *inode = file_inode(f);

	if (!S_ISREG(inode->i_mode) || !f->f_op->mmap)
		return false;
#ifdef S_ANON_INODE
	if (inode->i_flags & S_ANON_INODE)
		return false;
#endif
	return true;
}

/*
 * What a file allows a section (spec 1.4.3): writing if it is open for
 * writing; executing unless its mount is noexec, as mmap(PROT_EXEC) would
 * refuse (NT's FILE_EXECUTE; a Linux descriptor has no execute right).
 */
static u32 ntvm_section_file_rights(struct file *f)
{
	const struct vfsmount *mnt = f->f_path.mnt;
	u32 rights = NT_LPROT_R;

	if (f->f_mode & FMODE_WRITE)
		rights |= NT_LPROT_W;
	if (!(mnt->mnt_flags & MNT_NOEXEC) &&
	    !(mnt->mnt_sb->s_iflags & SB_I_NOEXEC))
		rights |= NT_LPROT_X;
	return rights;
}

/*
 * Does the file start with an image's "MZ" signature?  SEC_IMAGE is out
 * of scope, but Windows' refusal of a file that is no image is not (spec
 * 1.2.1): the two bytes are read as NT's image check reads them.
 */
static bool ntvm_section_image_mz(struct file *f)
{
	char mz[2];
	loff_t pos = 0;

	return kernel_read(f, mz, sizeof(mz), &pos) == sizeof(mz) &&
	       mz[0] == 'M' && mz[1] == 'Z';
}

/*
 * Spec 1.3.3: a writable section grows its file; the last step of all.
 * fallocate() of the section's last byte grows the file and never
 * shrinks it, in one step under the inode's lock: a writer that extends
 * the file meanwhile keeps its data, which a size check followed by a
 * truncate would cut off.  It allocates that one block only.  Where the
 * filesystem has no fallocate() (vfat, NFSv3, some FUSE filesystems),
 * the file is truncated to the size after the check, and that race
 * remains there.
 */
static u32 ntvm_section_grow(struct file *user, u64 size)
{
	int err;

	if (!user || size <= i_size_read(file_inode(user)))
		return 0;
	err = vfs_fallocate(user, 0, size - 1, 1);
	if (err == -EOPNOTSUPP)
		err = vfs_truncate(&user->f_path, size);
	if (!err)
		return 0;
	return err == -EACCES || err == -EPERM ? NTVM_STATUS_ACCESS_DENIED :
						 NTVM_STATUS_SECTION_TOO_BIG;
}

/*
 * A descriptor for a new section handle, never 0: NTVM_FD_TO_HANDLE(0) is
 * NULL, which no call takes as a handle, and a program that closed its
 * standard input would get 0 next.  Reserved, not installed: the caller
 * installs it or puts it back.
 */
static int ntvm_handle_fd(void)
{
	int fd = get_unused_fd_flags(O_CLOEXEC), next;

	if (fd)
		return fd;
	next = get_unused_fd_flags(O_CLOEXEC);
	put_unused_fd(fd);
	return next;
}

/*
 * NTVM_SECTION_CREATE_VARS: NT's SectionHandle and MaximumSize, probed
 * where NtCreateSection probes them, after the attributes: the handle's
 * variable proven writable (ntvm_var_get() writes back what it read), the
 * size only read (a LARGE_INTEGER, 8 bytes for every caller; it may be
 * const).  False for a bad one.
 */
static bool ntvm_section_create_vars_get(const struct ntvm_section_create_args *a,
					 unsigned int width, u64 *handle,
					 u64 *max_size)
{
	if (ntvm_var_get(a->handle_ptr, width, handle))
		return false;
	return !a->max_size_ptr ||
	       !get_user(*max_size, (u64 __user *)u64_to_user_ptr(a->max_size_ptr));
}

long ntvm_ioc_section_create(struct ntvm_file *nf, void __user *argp)
{
	struct ntvm_section_create_args a __uninitialized;
	struct ntvm_section *sec = NULL;
	struct file *user = NULL, *file;
	unsigned int width = ntvm_word_width();
	u32 file_rights = 0;
	bool vars, image_mz = false;
	u64 size = 0, fsize = 0, t0, max_size, want, handle = 0;
	long usize, ret = 0;
	u32 st;
	int fd;

	BUILD_BUG_ON(sizeof(a) != NTVM_SECTION_CREATE_SIZE_VER1);
	usize = ntvm_args_in(&a, sizeof(a), argp, NTVM_SECTION_CREATE_SIZE_VER0);
	if (usize < 0)
		return usize;
	if ((a.flags & ~NTVM_SECTION_CREATE_VARS) || a.reserved || a.status ||
	    a.section_fd)
		return -EINVAL;
	vars = a.flags & NTVM_SECTION_CREATE_VARS;
	/* The values come from the variables or from here, never both. */
	if (vars ? a.max_size : (a.handle_ptr | a.max_size_ptr))
		return -EINVAL;
	t0 = ntvm_trace_start();
	a.section_fd = -1;
	max_size = a.max_size;
	want = a.max_size;
	/* NT's order: the attributes, the variables, then the rest. */
	st = nt_section_check_early(a.attrs, a.protect);
	if (st)
		goto out;
	if (vars && !ntvm_section_create_vars_get(&a, width, &handle, &want)) {
		st = NTVM_STATUS_ACCESS_VIOLATION;
		goto out;
	}
	if (a.file_fd != -1) {
		user = fget(a.file_fd);
		if (!user) {
			st = NTVM_STATUS_INVALID_HANDLE;
			goto out;
		}
		if (!ntvm_section_file_ok(user)) {
			st = NTVM_STATUS_INVALID_FILE_FOR_SECTION;
			goto out;
		}
		if (!(user->f_mode & FMODE_READ)) {
			st = NTVM_STATUS_ACCESS_DENIED;
			goto out;
		}
		file_rights = ntvm_section_file_rights(user);
		fsize = i_size_read(file_inode(user));
		if (a.attrs & NTVM_SEC_IMAGE)
			image_mz = ntvm_section_image_mz(user);
	}
	st = nt_section_check(a.attrs, a.protect, user, fsize, image_mz,
			      file_rights, want, &size);
	if (st)
		goto out;

	/* Every resource first: growing the file must be the last step. */
	fd = ntvm_handle_fd();
	if (fd < 0) {
		if (user)
			fput(user);
		return fd;
	}
	sec = kzalloc(sizeof(*sec), GFP_KERNEL_ACCOUNT);
	if (!sec) {
		put_unused_fd(fd);
		st = NTVM_STATUS_NO_MEMORY;
		goto out;
	}
	kref_init(&sec->ref);
	mutex_init(&sec->lock);
	nt_section_init(&sec->core, a.attrs | (user ? NTVM_SEC_FILE : 0),
			a.protect, size);
	sec->backing = ntvm_section_backing(&a, size, user, &st);
	if (!sec->backing) {
		put_unused_fd(fd);
		nt_section_fini(&sec->core);
		kfree(sec);
		sec = NULL;
		goto out;
	}
	/* The map is inline (charged nothing) until the section is made. */
	refcount_inc(&nf->nc->sec_budget->ref);
	sec->budget = nf->nc->sec_budget;
	sec->core.budget = &sec->budget->slots;
	atomic_long_inc(&ntvm_live_sections);
	file = ntvm_section_file(sec, a.access);
	if (IS_ERR(file)) {
		/* Out of memory for the handle: the file stays as it is. */
		put_unused_fd(fd);
		ntvm_section_put(&sec->core);
		st = NTVM_STATUS_INSUFFICIENT_RESOURCES;
		goto out;
	}
	/*
	 * The handle's file owns the reference now.  The results go out
	 * before the file grows and the descriptor is installed, the two
	 * steps no failure can take back.  The handle's variable was proven
	 * writable; if another thread took it away since, nothing is made.
	 */
	if (vars && ntvm_var_put(a.handle_ptr, width, fd)) {
		st = NTVM_STATUS_ACCESS_VIOLATION;
		goto drop;
	}
	a.section_fd = fd;
	a.max_size = size;
	a.status = NTVM_STATUS_SUCCESS;
	if (ntvm_args_out(argp, &a, sizeof(a), usize)) {
		ret = -EFAULT;
	} else {
		st = ntvm_section_grow(user, size);
		if (!st) {
			fd_install(fd, file);
			if (user)
				fput(user);
			ntvm_trace(NTVM_OP_SECTION_CREATE, 0, 0, size, t0);
			return 0;
		}
		a.section_fd = -1;
		a.max_size = max_size;
	}
	/*
	 * No handle after all (the block went away, or the file cannot
	 * grow): the variable as it was, as far as it can be.
	 */
	if (vars)
		ntvm_var_put(a.handle_ptr, width, handle);
drop:
	fput(file);
	put_unused_fd(fd);
	if (ret) {
		if (user)
			fput(user);
		return ret;
	}
out:
	if (user)
		fput(user);
	a.status = st;
	ntvm_trace(NTVM_OP_SECTION_CREATE, st, 0, st ? 0 : size, t0);
	return ntvm_args_out(argp, &a, sizeof(a), usize);
}

/*
 * NT's structures, for the caller's word width: SECTION_BASIC_INFORMATION
 * (BaseAddress, Attributes, Size) and SECTION_IMAGE_INFORMATION, which
 * only image sections have.
 */
static u64 ntvm_section_info_size(u32 info_class, unsigned int width)
{
	if (info_class == NTVM_SECTION_BASIC_INFORMATION)
		return width == sizeof(u32) ? 16 : 24;
	return width == sizeof(u32) ? 48 : 64;
}

/*
 * NTVM_SECTION_QUERY_INFO: what NtQuerySection checks before it looks at
 * the handle, in its order.  The buffer is probed as ProbeForWrite()
 * does, aligned to a ULONG (as NT asks) and then every page of the length
 * the caller gave (an absurd length fails on the first page missing, spec
 * 1.6.2), then ReturnLength, proven writable by writing back what it
 * holds.
 */
static int ntvm_section_query_check(struct ntvm_section_query_args *a,
				    unsigned int width)
{
	int ret = ntvm_probe_outputs(a->info_ptr, a->info_length, sizeof(u32),
				     a->ret_len_ptr, width, &a->status);

	if (ret || a->status)
		return ret;
	if (a->info_class != NTVM_SECTION_BASIC_INFORMATION &&
	    a->info_class != NTVM_SECTION_IMAGE_INFORMATION)
		a->status = NTVM_STATUS_INVALID_INFO_CLASS;
	else if (a->info_length < ntvm_section_info_size(a->info_class, width))
		a->status = NTVM_STATUS_INFO_LENGTH_MISMATCH;
	return 0;
}

/* SECTION_BASIC_INFORMATION and ReturnLength; false if they fault now. */
static bool ntvm_section_info_put(const struct ntvm_section_query_args *a,
				  unsigned int width)
{
	u8 __user *p = u64_to_user_ptr(a->info_ptr);
	u64 len = ntvm_section_info_size(a->info_class, width);

	if (!user_write_access_begin(p, len))
		return false;
	/* BaseAddress is NULL: no based sections here (spec 1.6.1). */
	if (width == sizeof(u32)) {
		unsafe_put_user(0U, (u32 __user *)p, efault);
		unsafe_put_user(a->attrs, (u32 __user *)(p + 4), efault);
		unsafe_put_user(a->max_size, (u64 __user *)(p + 8), efault);
	} else {
		unsafe_put_user(0ULL, (u64 __user *)p, efault);
		/* Attributes, then the padding before Size: zero. */
		unsafe_put_user((u64)a->attrs, (u64 __user *)(p + 8), efault);
		unsafe_put_user(a->max_size, (u64 __user *)(p + 16), efault);
	}
	user_write_access_end();
	return !a->ret_len_ptr || !ntvm_var_put(a->ret_len_ptr, width, len);
efault:
	user_write_access_end();
	return false;
}

long ntvm_ioc_section_query(struct ntvm_file *nf, void __user *argp)
{
	struct ntvm_section_query_args a __uninitialized;
	unsigned int width = ntvm_word_width();
	struct ntvm_section *sec;
	bool info;
	long usize;
	u32 access;
	u64 t0;
	int ret;

	BUILD_BUG_ON(sizeof(a) != NTVM_SECTION_QUERY_SIZE_VER1);
	usize = ntvm_args_in(&a, sizeof(a), argp, NTVM_SECTION_QUERY_SIZE_VER0);
	if (usize < 0)
		return usize;
	if ((a.flags & ~NTVM_SECTION_QUERY_INFO) || a.status || a.max_size ||
	    a.attrs || a.access || a.pad)
		return -EINVAL;
	info = a.flags & NTVM_SECTION_QUERY_INFO;
	if (!info && (a.info_class | a.info_ptr | a.info_length | a.ret_len_ptr))
		return -EINVAL;
	t0 = ntvm_trace_start();
	if (info) {
		ret = ntvm_section_query_check(&a, width);
		if (ret)
			return ret;
		if (a.status)
			goto out;
	}
	sec = ntvm_section_from_fd(a.section_fd, &access, &a.status);
	if (!sec)
		goto out;
	/* Spec 1.5.5: NtQuerySection needs SECTION_QUERY. */
	if (!(access & NTVM_SECTION_QUERY)) {
		a.status = NTVM_STATUS_ACCESS_DENIED;
	} else if (info && a.info_class == NTVM_SECTION_IMAGE_INFORMATION) {
		/* Spec 1.6.2: no images here. */
		a.status = NTVM_STATUS_SECTION_NOT_IMAGE;
	} else {
		a.max_size = sec->core.size;
		a.attrs = sec->core.attrs;
		a.access = access;
	}
	ntvm_section_put(&sec->core);
	if (!a.status && info && !ntvm_section_info_put(&a, width))
		a.status = NTVM_STATUS_ACCESS_VIOLATION;
out:
	ntvm_trace(NTVM_OP_SECTION_QUERY, a.status, 0, a.max_size, t0);
	return ntvm_args_out(argp, &a, sizeof(a), usize);
}

/*
 * NTVM_IOC_SECTION_OPEN: a new handle to the section behind section_fd,
 * with the rights in access (OpenFileMapping of a name, DuplicateHandle).
 * ntvm keeps no security descriptor: whoever holds a handle may open one
 * with any rights, as the creator may on Windows.
 */
long ntvm_ioc_section_open(struct ntvm_file *nf, void __user *argp)
{
	struct ntvm_section_query_args a __uninitialized;
	struct ntvm_section *sec;
	struct file *file;
	long usize;
	u32 access;
	u64 t0;
	int fd;

	usize = ntvm_args_in(&a, sizeof(a), argp, NTVM_SECTION_QUERY_SIZE_VER0);
	if (usize < 0)
		return usize;
	if (a.flags || a.status || a.max_size || a.attrs || a.info_class ||
	    a.pad || a.info_ptr || a.info_length || a.ret_len_ptr)
		return -EINVAL;
	t0 = ntvm_trace_start();
	sec = ntvm_section_from_fd(a.section_fd, &access, &a.status);
	if (sec) {
		/*
		 * Read before the handle exists: once installed, another
		 * thread may close it, and the other handles, at once.
		 */
		a.max_size = sec->core.size;
		a.attrs = sec->core.attrs;
		fd = ntvm_handle_fd();
		file = fd < 0 ? ERR_PTR(fd) : ntvm_section_file(sec, a.access);
		if (IS_ERR(file)) {
			if (fd >= 0)
				put_unused_fd(fd);
			ntvm_section_put(&sec->core);
			ntvm_trace(NTVM_OP_SECTION_OPEN,
				   NTVM_STATUS_INSUFFICIENT_RESOURCES, 0, 0, t0);
			return PTR_ERR(file);
		}
		/* The new handle owns the reference; installed once reported. */
		a.section_fd = fd;
		if (ntvm_args_out(argp, &a, sizeof(a), usize)) {
			fput(file);
			put_unused_fd(fd);
			return -EFAULT;
		}
		fd_install(fd, file);
		ntvm_trace(NTVM_OP_SECTION_OPEN, 0, 0, a.max_size, t0);
		return 0;
	}
	ntvm_trace(NTVM_OP_SECTION_OPEN, a.status, 0, a.max_size, t0);
	return ntvm_args_out(argp, &a, sizeof(a), usize);
}

/*
 * The outputs of NTVM_IOC_MAP_VIEW, field by field: a copy of the whole
 * structure costs a byte-sized copy and the hardened-usercopy check of a
 * variable size, and gives the caller nothing more (the inputs are
 * written back as they were read).  ntvm_copy_args() proved the first
 * version's layout writable, and every output lies in it.
 */
static int ntvm_map_view_out(struct ntvm_map_view_args __user *u,
			     const struct ntvm_map_view_args *a)
{
	if (!user_write_access_begin(u, NTVM_MAP_VIEW_SIZE_VER0))
		return -EFAULT;
	unsafe_put_user(a->status, &u->status, efault);
	if (!a->status) {
		unsafe_put_user(a->base, &u->base, efault);
		unsafe_put_user(a->view_size, &u->view_size, efault);
		unsafe_put_user(a->offset, &u->offset, efault);
	}
	user_write_access_end();
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}

/*
 * NTVM_MAP_VARS: read NT's variables (ntvm_var_get() proves them writable);
 * false for a bad one.  SectionOffset is a LARGE_INTEGER, 8 bytes wide
 * for every caller, and may be absent.
 */
static bool ntvm_map_view_vars_get(struct ntvm_map_view_args *a,
				   unsigned int width)
{
	return !ntvm_var_get(a->base_ptr, width, &a->base) &&
	       !ntvm_var_get(a->size_ptr, width, &a->view_size) &&
	       (!a->offset_ptr ||
		!ntvm_var_get(a->offset_ptr, sizeof(u64), &a->offset));
}

static bool ntvm_map_view_vars_put(const struct ntvm_map_view_args *a,
				   unsigned int width)
{
	return !ntvm_var_put(a->base_ptr, width, a->base) &&
	       !ntvm_var_put(a->size_ptr, width, a->view_size) &&
	       (!a->offset_ptr ||
		!ntvm_var_put(a->offset_ptr, sizeof(u64), a->offset));
}

long ntvm_ioc_map_view(struct ntvm_file *nf, void __user *argp)
{
	struct ntvm_ctx *nc = nf->nc;
	struct ntvm_map_view_args a __uninitialized;
	unsigned int width = ntvm_word_width();
	struct nt_view_req v = {};
	struct ntvm_section *sec;
	struct file *f;
	long usize, ret;
	u32 access = 0;
	u64 n, t0;

	BUILD_BUG_ON(sizeof(a) != NTVM_MAP_VIEW_SIZE_VER1);
	usize = ntvm_args_in(&a, sizeof(a), argp, NTVM_MAP_VIEW_SIZE_VER0);
	if (usize < 0)
		return usize;
	if ((a.flags & ~(NTVM_MAP_FLAGS | NTVM_ARGS_OTHER_PROCESS)) ||
	    a.pad || a.status)
		return -EINVAL;
	if (!(a.flags & NTVM_MAP_REQUIREMENTS) &&
	    (a.lowest | a.highest | a.alignment))
		return -EINVAL;
	/* The values come from the variables or from here, never both. */
	if ((a.flags & NTVM_MAP_VARS) ? (a.base | a.view_size | a.offset) :
	    (a.base_ptr | a.size_ptr | a.offset_ptr))
		return -EINVAL;
	if (a.flags & NTVM_ARGS_OTHER_PROCESS)
		v.bad |= NT_BAD_HANDLE;
	if ((a.flags & NTVM_MAP_VARS) && !ntvm_map_view_vars_get(&a, width))
		v.bad |= NT_BAD_POINTER;
	t0 = ntvm_trace_start();
	/*
	 * The handle's file holds the section until the view holds it too.
	 * A bad handle is the core's to report, in NT's order.
	 */
	f = fget(a.section_fd);
	sec = ntvm_section_of(f, &access, &v.sec_status);
	v.sec = sec ? &sec->core : NULL;
	v.base = a.base;
	v.size = a.view_size;
	v.offset = a.offset;
	v.zero_bits = a.zero_bits;
	v.commit_size = a.commit_size;
	v.lowest = a.lowest;
	v.highest = a.highest;
	v.alignment = a.alignment;
	v.type = a.type;
	v.protect = a.protect;
	v.inherit = a.inherit;
	v.access = access;
	v.requirements = a.flags & NTVM_MAP_REQUIREMENTS;
	v.ex = a.flags & NTVM_MAP_EX;
	ret = ntvm_begin(nc, &n);
	if (ret) {
		if (f)
			fput(f);
		return ret;
	}
	nt_map_view(&nc->space, &v);
	ntvm_end(nc, n);
	if (f)
		fput(f);
	ntvm_trace(NTVM_OP_MAP_VIEW, v.status, v.base, v.size, t0);
	a.status = v.status;
	if (!v.status) {
		a.base = v.base;
		a.view_size = v.size;
		a.offset = v.offset;
		/* As NTVM_IOC_ALLOCATE: the view stays, the status says why. */
		if ((a.flags & NTVM_MAP_VARS) &&
		    !ntvm_map_view_vars_put(&a, width))
			a.status = NTVM_STATUS_ACCESS_VIOLATION;
	}
	return ntvm_map_view_out(argp, &a);
}

long ntvm_ioc_unmap_view(struct ntvm_file *nf, void __user *argp)
{
	struct ntvm_ctx *nc = nf->nc;
	struct ntvm_unmap_view_args a __uninitialized;
	long usize, ret;
	u64 n, t0;

	BUILD_BUG_ON(sizeof(a) != NTVM_UNMAP_VIEW_SIZE_VER0);
	usize = ntvm_args_in(&a, sizeof(a), argp, NTVM_UNMAP_VIEW_SIZE_VER0);
	if (usize < 0)
		return usize;
	if ((a.flags & ~NTVM_ARGS_OTHER_PROCESS) || a.status)
		return -EINVAL;
	t0 = ntvm_trace_start();
	ret = ntvm_begin(nc, &n);
	if (ret)
		return ret;
	a.status = nt_unmap_view(&nc->space, a.base, a.unmap_flags,
				 a.flags & NTVM_ARGS_OTHER_PROCESS);
	ntvm_end(nc, n);
	ntvm_trace(NTVM_OP_UNMAP_VIEW, a.status, a.base, 0, t0);
	/* The only output (see ntvm_map_view_out()). */
	return put_user(a.status, &((struct ntvm_unmap_view_args __user *)argp)->status) ?
	       -EFAULT : 0;
}
