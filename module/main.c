// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: Windows NT virtual-memory semantics for Linux processes.
 *
 * /dev/ntvm is a misc device.  Its ioctls act only on the address space of
 * the caller, and only when that address space is the one that opened the
 * file: a forked child or a process that received the fd over SCM_RIGHTS
 * gets -EPERM and changes nothing.  module/context.h maps the module's
 * files and gives the lock order; Documentation/ntvm.rst is the reference
 * for the ABI and the semantics.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "context.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

#define NTVM_VERSION __stringify(NTVM_VERSION_MAJOR) "." \
		     __stringify(NTVM_VERSION_MINOR) "." \
		     __stringify(NTVM_VERSION_PATCH)

/*
 * A fixed minor, from the range devices.txt keeps for local use (243-254),
 * so that /dev/ntvm can exist before the module is loaded (devname: alias,
 * kmod's static nodes) and opening it loads the module.
 */
#define NTVM_MINOR	249

/* Counters for leak checks, in debugfs ntvm/counters. */
atomic_long_t ntvm_live_ctxs = ATOMIC_LONG_INIT(0);
atomic_long_t ntvm_live_allocs = ATOMIC_LONG_INIT(0);
static struct dentry *ntvm_debugfs;

static int ntvm_open(struct inode *inode, struct file *file)
{
	struct ntvm_ctx *nc;
	struct ntvm_file *nf;

	if (!current->mm)
		return -EINVAL;

	nf = kzalloc(sizeof(*nf), GFP_KERNEL_ACCOUNT);
	if (!nf)
		return -ENOMEM;

	nc = ntvm_ctx_get(current->mm);
	if (IS_ERR(nc)) {
		kfree(nf);
		return PTR_ERR(nc);
	}
	nf->mm = current->mm;
	nf->nc = nc;
	mutex_init(&nf->api_lock);
	file->private_data = nf;
	return nonseekable_open(inode, file);
}

static int ntvm_release(struct inode *inode, struct file *file)
{
	struct ntvm_file *nf = file->private_data;

	ntvm_ctx_put(nf->nc);
	mutex_destroy(&nf->api_lock);
	kfree(nf);
	return 0;
}

static const struct file_operations ntvm_fops = {
	.owner = THIS_MODULE,
	.open = ntvm_open,
	.release = ntvm_release,
	.unlocked_ioctl = ntvm_ioctl,
	.mmap = ntvm_mmap,
#ifdef CONFIG_COMPAT
	.compat_ioctl = ntvm_compat_ioctl,
#endif
};

static struct miscdevice ntvm_misc = {
	.minor = NTVM_MINOR,
	.name = "ntvm",
	.fops = &ntvm_fops,
	.mode = 0666,
};

static int ntvm_counters_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "address_spaces %ld\nallocations %ld\nsections %ld\n",
		   atomic_long_read(&ntvm_live_ctxs),
		   atomic_long_read(&ntvm_live_allocs),
		   atomic_long_read(&ntvm_live_sections));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ntvm_counters);

static int __init ntvm_init(void)
{
	int ret;

	/* NT's page is 4 KiB, and so is every page the module deals in. */
	BUILD_BUG_ON(PAGE_SIZE != NTVM_PAGE_SIZE);
	ret = misc_register(&ntvm_misc);

	if (ret)
		return ret;
	ntvm_debugfs = debugfs_create_dir("ntvm", NULL);
	debugfs_create_file("counters", 0444, ntvm_debugfs, NULL,
			    &ntvm_counters_fops);
	/* ntvm/maps/<tgid> (maps.c); an error value makes no files. */
	ntvm_maps_dir = debugfs_create_dir("maps", ntvm_debugfs);
	if (IS_ERR(ntvm_maps_dir))
		ntvm_maps_dir = NULL;
	return 0;
}

static void __exit ntvm_exit(void)
{
	debugfs_remove_recursive(ntvm_debugfs);
	misc_deregister(&ntvm_misc);
	/* Wait for ->free_notifier() of every address space. */
	mmu_notifier_synchronize();
	WARN_ON(atomic_long_read(&ntvm_live_ctxs));
	WARN_ON(atomic_long_read(&ntvm_live_allocs));
	WARN_ON(atomic_long_read(&ntvm_live_sections));
}

module_init(ntvm_init);
module_exit(ntvm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Windows NT virtual-memory semantics for Linux processes");
MODULE_AUTHOR("The ntvm developers");
MODULE_VERSION(NTVM_VERSION);
MODULE_ALIAS_MISCDEV(NTVM_MINOR);
MODULE_ALIAS("devname:ntvm");

