// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl ABI of /dev/ntvm, exercised directly, without libntvm: every
 * command's size rules, reserved fields, flags and outputs, the handshake,
 * the NT variables passed by pointer (at the caller's width: this program
 * is also built for i386), the order in which NT checks its parameters,
 * and unknown commands.  Documentation/ntvm.rst is the reference.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/ntvm.h>

#include "kselftest_harness.h"

#define U(p)	((__u64)(uintptr_t)(p))
#define PG	0x1000UL
#define GRAN	0x10000UL

/* PVOID and SIZE_T as this program sees them: 4 bytes on i386. */
typedef uintptr_t word_t;

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static struct ntvm_stats stats(int fd)
{
	struct ntvm_stats st;

	if (ioctl(fd, NTVM_IOC_STATS, &st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

/* A raw NtAllocateVirtualMemory; returns the status, or -errno. */
static long alloc_raw(int fd, word_t *base, word_t *size, __u32 type,
		      __u32 protect, __u32 flags)
{
	struct ntvm_alloc_args a = {
		.size = sizeof(a), .flags = flags, .base_ptr = U(base),
		.size_ptr = U(size), .type = type, .protect = protect,
	};
	int ret = xioctl(fd, NTVM_IOC_ALLOCATE, &a);

	return ret ? ret : (long)a.status;
}

static long free_raw(int fd, word_t *base, word_t *size, __u32 type,
		     __u32 flags)
{
	struct ntvm_free_args f = {
		.size = sizeof(f), .flags = flags, .base_ptr = U(base),
		.size_ptr = U(size), .type = type,
	};
	int ret = xioctl(fd, NTVM_IOC_FREE, &f);

	return ret ? ret : (long)f.status;
}

static long protect_raw(int fd, word_t *base, word_t *size, __u32 prot,
			__u32 *old, __u32 flags)
{
	struct ntvm_protect_args p = {
		.size = sizeof(p), .flags = flags, .base_ptr = U(base),
		.size_ptr = U(size), .old_protect_ptr = U(old), .protect = prot,
	};
	int ret = xioctl(fd, NTVM_IOC_PROTECT, &p);

	return ret ? ret : (long)p.status;
}

static struct ntvm_region query_one(int fd, word_t addr)
{
	struct ntvm_region r;
	struct ntvm_query_args q = {
		.size = sizeof(q), .address = addr, .regions = U(&r),
		.region_size = sizeof(r), .count = 1,
	};

	memset(&r, 0xee, sizeof(r));
	if (ioctl(fd, NTVM_IOC_QUERY, &q) || q.status || q.count != 1)
		memset(&r, 0xff, sizeof(r));
	return r;
}

FIXTURE(abi) {
	int fd;
	word_t base;		/* a 64K reservation, first page committed */
};

FIXTURE_SETUP(abi)
{
	word_t size = GRAN, c, csize = PG;

	self->fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	if (self->fd < 0)
		SKIP(return, "/dev/ntvm: %s", strerror(errno));
	self->base = 0;
	ASSERT_EQ(0, alloc_raw(self->fd, &self->base, &size, NTVM_MEM_RESERVE,
			       NTVM_PAGE_NOACCESS, 0));
	c = self->base;
	ASSERT_EQ(0, alloc_raw(self->fd, &c, &csize, NTVM_MEM_COMMIT,
			       NTVM_PAGE_READWRITE, 0));
}

FIXTURE_TEARDOWN(abi)
{
	word_t size = 0;

	if (self->fd < 0)
		return;
	free_raw(self->fd, &self->base, &size, NTVM_MEM_RELEASE, 0);
	close(self->fd);
}

/* ---- NTVM_IOC_API ---- */

TEST_F(abi, api_handshake)
{
	struct ntvm_api api = { .size = sizeof(api), .api = NTVM_API };
	int fd = self->fd, fd2;

	ASSERT_EQ(0, xioctl(fd, NTVM_IOC_API, &api));
	EXPECT_EQ(NTVM_API, api.api);
	EXPECT_EQ(NTVM_FEATURES_ALL, api.features);
	EXPECT_TRUE(api.ioctls & NTVM_IOC_BIT(NTVM_IOC_API));
	EXPECT_TRUE(api.ioctls & NTVM_IOC_BIT(NTVM_IOC_ALLOCATE));
	EXPECT_TRUE(api.ioctls & NTVM_IOC_BIT(NTVM_IOC_QUERY));
	EXPECT_TRUE(api.ioctls & NTVM_IOC_BIT(NTVM_IOC_STATS));
	EXPECT_TRUE(api.ioctls & NTVM_IOC_BIT(NTVM_IOC_RESET_DONE));
	EXPECT_NE(0, api.version);
	EXPECT_EQ(0x1000, api.page_size);
	EXPECT_EQ(0x10000, api.granularity);
	EXPECT_EQ(0x10000, api.min_address);
	EXPECT_EQ(sizeof(void *) == 8 ? 0x7ffffffeffffULL : 0xfffeffffULL,
		  api.max_address);

	/* The same handshake again is fine; the flags and outputs are not. */
	memset(&api, 0, sizeof(api));
	api.size = sizeof(api);
	api.api = NTVM_API;
	EXPECT_EQ(0, xioctl(fd, NTVM_IOC_API, &api));
#define EXPECT_API_ERR(err, field, value) do {				\
	memset(&api, 0, sizeof(api));					\
	api.size = sizeof(api);						\
	api.api = NTVM_API;						\
	api.field = value;						\
	EXPECT_EQ(err, xioctl(fd, NTVM_IOC_API, &api));			\
} while (0)
	EXPECT_API_ERR(-EINVAL, api, NTVM_API + 1);
	EXPECT_API_ERR(-EINVAL, api, 1);
	EXPECT_API_ERR(-EINVAL, flags, 1);
	EXPECT_API_ERR(-EINVAL, ioctls, 1);
	EXPECT_API_ERR(-EINVAL, version, 1);
	EXPECT_API_ERR(-EINVAL, max_address, 1);
	EXPECT_API_ERR(-EINVAL, features, 1ULL << 63);
	EXPECT_API_ERR(-EINVAL, size, NTVM_API_SIZE_VER0 - 8);
	EXPECT_API_ERR(-EINVAL, size, 0);
	EXPECT_API_ERR(-E2BIG, size, 4097);
	EXPECT_EQ(-EFAULT, xioctl(fd, NTVM_IOC_API, (void *)8));
	EXPECT_EQ(-EFAULT, xioctl(fd, NTVM_IOC_API, NULL));

	/* This file accepted no features: asking for one now is refused. */
	EXPECT_API_ERR(-EINVAL, features, NTVM_FEATURE_QUERY_BULK);

	/* A new file records its own. */
	fd2 = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	memset(&api, 0, sizeof(api));
	api.size = sizeof(api);
	api.api = NTVM_API;
	api.features = NTVM_FEATURE_QUERY_BULK | NTVM_FEATURE_COMPAT32;
	EXPECT_EQ(0, xioctl(fd2, NTVM_IOC_API, &api));
	api.features = 0;
	api.ioctls = api.version = api.page_size = api.granularity = 0;
	api.min_address = api.max_address = 0;
	EXPECT_EQ(-EINVAL, xioctl(fd2, NTVM_IOC_API, &api));
	close(fd2);
}

/* A larger structure from a newer caller: a zero tail is fine. */
TEST_F(abi, extensible_sizes)
{
	struct {
		struct ntvm_api api;
		__u64 tail[2];
	} big;
	struct {
		struct ntvm_free_args f;
		__u64 tail;
	} bf;
	word_t base = self->base, size = PG;

	memset(&big, 0, sizeof(big));
	big.api.size = sizeof(big);
	big.api.api = NTVM_API;
	EXPECT_EQ(0, xioctl(self->fd, NTVM_IOC_API, &big));
	EXPECT_EQ(0x10000, big.api.granularity);
	EXPECT_EQ(0, big.tail[0]);
	EXPECT_EQ(0, big.tail[1]);
	memset(&big, 0, sizeof(big));
	big.api.size = sizeof(big);
	big.api.api = NTVM_API;
	big.tail[1] = 1;
	EXPECT_EQ(-E2BIG, xioctl(self->fd, NTVM_IOC_API, &big));

	/* A non-zero tail: refused before anything changes. */
	memset(&bf, 0, sizeof(bf));
	bf.f.size = sizeof(bf);
	bf.f.base_ptr = U(&base);
	bf.f.size_ptr = U(&size);
	bf.f.type = NTVM_MEM_DECOMMIT;
	bf.tail = 7;
	EXPECT_EQ(-E2BIG, xioctl(self->fd, NTVM_IOC_FREE, &bf));
	EXPECT_EQ(NTVM_MEM_COMMIT, query_one(self->fd, self->base).state);
	bf.tail = 0;
	EXPECT_EQ(0, xioctl(self->fd, NTVM_IOC_FREE, &bf));
	EXPECT_EQ(0, bf.f.status);
	EXPECT_EQ(self->base, bf.f.base);
	EXPECT_EQ(PG, bf.f.region_size);
	EXPECT_EQ(NTVM_MEM_RESERVE, query_one(self->fd, self->base).state);
	/* An older, smaller structure than the first version: refused. */
	bf.f.size = NTVM_FREE_SIZE_VER0 - 8;
	bf.f.status = 0;
	bf.f.base = bf.f.region_size = 0;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_FREE, &bf));
}

/*
 * The NT state belongs to the address space, not to a descriptor: it
 * outlives a close of every descriptor, until exit or exec.  (Re-made per
 * open, it cost a registration of the mmu notifier per open() and
 * close(), under machine-wide locks.)
 */
TEST(state_outlives_close)
{
	int status, fd;
	pid_t pid;

	fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		SKIP(return, "/dev/ntvm is not present");
	close(fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		word_t base = 0, size = GRAN;
		struct ntvm_region r;
		int i;

		/* Only this child's descriptors: none is open at first. */
		for (i = 0; i < 3; i++) {
			fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
			if (fd < 0)
				_exit(10);
			if (!i && alloc_raw(fd, &base, &size, NTVM_MEM_RESERVE,
					    NTVM_PAGE_READWRITE, 0))
				_exit(11);
			r = query_one(fd, base);
			if (r.state != NTVM_MEM_RESERVE || r.allocation_base != base ||
			    r.type != NTVM_MEM_PRIVATE || r.size != GRAN)
				_exit(20 + i);
			close(fd);
		}
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * A first-version block that ends where its mapping ends: only its own
 * bytes are read and written, never the module's larger version's.
 */
TEST_F(abi, older_block_at_mapping_end)
{
	word_t base = self->base, size = PG;
	struct ntvm_free_args *f;
	char *m;

	m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, munmap(m + PG, PG));
	f = (struct ntvm_free_args *)(m + PG - NTVM_FREE_SIZE_VER0);
	memset(f, 0, NTVM_FREE_SIZE_VER0);
	f->size = NTVM_FREE_SIZE_VER0;
	f->base_ptr = U(&base);
	f->size_ptr = U(&size);
	f->type = NTVM_MEM_DECOMMIT;
	EXPECT_EQ(0, xioctl(self->fd, NTVM_IOC_FREE, f));
	EXPECT_EQ(0, f->status);
	EXPECT_EQ(self->base, f->base);
	EXPECT_EQ(PG, f->region_size);
	EXPECT_EQ(self->base, base);
	EXPECT_EQ(PG, size);
	EXPECT_EQ(NTVM_MEM_RESERVE, query_one(self->fd, self->base).state);
	munmap(m, PG);
}

TEST_F(abi, unknown_ioctl)
{
	long arg[16] = { 0 };

	EXPECT_EQ(-ENOTTY, xioctl(self->fd, _IOWR('N', 0xbf, struct ntvm_free_args), arg));
	EXPECT_EQ(-ENOTTY, xioctl(self->fd, _IO('N', 0xa1), NULL));
	/* Version 1's command numbers (another size) are not version 2's. */
	EXPECT_EQ(-ENOTTY, xioctl(self->fd, _IOWR('N', 0xa1, char[112]), arg));
	EXPECT_EQ(-ENOTTY, xioctl(self->fd, _IOWR('N', 0xa5, struct ntvm_stats), arg));
	EXPECT_EQ(-ENOTTY, xioctl(self->fd, _IOWR('M', 0xa1, char[96]), arg));
	/* RESET_DONE takes no argument. */
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_RESET_DONE, (void *)1));
	EXPECT_EQ(0, xioctl(self->fd, NTVM_IOC_RESET_DONE, NULL));
}

/* ---- Reserved fields, flags and outputs of every command ---- */

TEST_F(abi, alloc_fields)
{
	struct ntvm_stats before = stats(self->fd), after;
	word_t base = 0, size = GRAN;
	struct ntvm_alloc_args good = {
		.size = sizeof(good), .base_ptr = U(&base), .size_ptr = U(&size),
		.type = NTVM_MEM_RESERVE, .protect = NTVM_PAGE_NOACCESS,
	}, a;

#define EXPECT_ALLOC_ERR(err, field, value) do {			\
	a = good;							\
	a.field = value;						\
	EXPECT_EQ(err, xioctl(self->fd, NTVM_IOC_ALLOCATE, &a));	\
	EXPECT_EQ(0, base);						\
} while (0)
	EXPECT_ALLOC_ERR(-EINVAL, flags, 4);
	EXPECT_ALLOC_ERR(-EINVAL, flags, 0x40000000);
	EXPECT_ALLOC_ERR(-EINVAL, alignment, GRAN);	/* requirements without the flag */
	EXPECT_ALLOC_ERR(-EINVAL, lowest, GRAN);
	EXPECT_ALLOC_ERR(-EINVAL, status, 1);
	EXPECT_ALLOC_ERR(-EINVAL, apply, 1);
	EXPECT_ALLOC_ERR(-EINVAL, base, 1);
	EXPECT_ALLOC_ERR(-EINVAL, region_size, 1);
	EXPECT_ALLOC_ERR(-EINVAL, apply_prot, 1);
	EXPECT_ALLOC_ERR(-EINVAL, out_flags, 1);
	EXPECT_ALLOC_ERR(-EINVAL, size, NTVM_ALLOC_SIZE_VER0 - 4);
	EXPECT_EQ(-EFAULT, xioctl(self->fd, NTVM_IOC_ALLOCATE, (void *)8));

	/* A read-only argument block: refused before anything happens. */
	void *ro = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	memcpy(ro, &good, sizeof(good));
	ASSERT_EQ(0, mprotect(ro, PG, PROT_READ));
	EXPECT_EQ(-EFAULT, xioctl(self->fd, NTVM_IOC_ALLOCATE, ro));
	EXPECT_EQ(0, base);
	/* One whose last word lies on a read-only page: the same. */
	ASSERT_EQ(0, munmap(ro, PG));
	ro = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	memcpy((char *)ro + PG - 16, &good, sizeof(good));
	ASSERT_EQ(0, mprotect((char *)ro + PG, PG, PROT_READ));
	EXPECT_EQ(-EFAULT, xioctl(self->fd, NTVM_IOC_ALLOCATE, (char *)ro + PG - 16));
	EXPECT_EQ(0, base);
	munmap(ro, 2 * PG);

	after = stats(self->fd);
	EXPECT_EQ(before.allocations, after.allocations);
	EXPECT_EQ(before.reserved_bytes, after.reserved_bytes);

	/* The good block works: the variables are the caller's width. */
	struct {
		word_t base;
		__u32 canary[2];
	} v = { 0, { 0xdeadbeef, 0xdeadbeef } };
	a = good;
	a.base_ptr = U(&v.base);
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_ALLOCATE, &a));
	EXPECT_EQ(0, a.status);
	EXPECT_NE(0, v.base);
	EXPECT_EQ(0, v.base % GRAN);
	EXPECT_EQ(a.base, v.base);
	EXPECT_EQ(GRAN, a.region_size);
	EXPECT_EQ(GRAN, size);
	EXPECT_EQ(0xdeadbeef, v.canary[0]);
	EXPECT_EQ(0xdeadbeef, v.canary[1]);
	size = 0;
	EXPECT_EQ(0, free_raw(self->fd, &v.base, &size, NTVM_MEM_RELEASE, 0));
}

TEST_F(abi, free_protect_fields)
{
	word_t base = self->base, size = PG;
	__u32 old = 0;
	struct ntvm_free_args fgood = {
		.size = sizeof(fgood), .base_ptr = U(&base), .size_ptr = U(&size),
		.type = NTVM_MEM_DECOMMIT,
	}, f;
	struct ntvm_protect_args pgood = {
		.size = sizeof(pgood), .base_ptr = U(&base), .size_ptr = U(&size),
		.old_protect_ptr = U(&old), .protect = NTVM_PAGE_READONLY,
	}, p;

#define EXPECT_FREE_ERR(err, field, value) do {				\
	f = fgood;							\
	f.field = value;						\
	EXPECT_EQ(err, xioctl(self->fd, NTVM_IOC_FREE, &f));		\
} while (0)
	EXPECT_FREE_ERR(-EINVAL, flags, 1);
	EXPECT_FREE_ERR(-EINVAL, status, 1);
	EXPECT_FREE_ERR(-EINVAL, base, 1);
	EXPECT_FREE_ERR(-EINVAL, region_size, 1);
	EXPECT_FREE_ERR(-EINVAL, out_flags, 1);
	EXPECT_FREE_ERR(-EINVAL, pad, 1);
	EXPECT_FREE_ERR(-EINVAL, size, 8);
#define EXPECT_PROTECT_ERR(err, field, value) do {			\
	p = pgood;							\
	p.field = value;						\
	EXPECT_EQ(err, xioctl(self->fd, NTVM_IOC_PROTECT, &p));		\
	EXPECT_EQ(0, old);						\
} while (0)
	EXPECT_PROTECT_ERR(-EINVAL, flags, 1);
	EXPECT_PROTECT_ERR(-EINVAL, status, 1);
	EXPECT_PROTECT_ERR(-EINVAL, apply, 1);
	EXPECT_PROTECT_ERR(-EINVAL, apply_prot, 1);
	EXPECT_PROTECT_ERR(-EINVAL, old_protect, 1);
	EXPECT_PROTECT_ERR(-EINVAL, out_flags, 1);
	EXPECT_PROTECT_ERR(-EINVAL, region_size, 1);
	EXPECT_EQ(-EFAULT, xioctl(self->fd, NTVM_IOC_FREE, (void *)8));
	EXPECT_EQ(-EFAULT, xioctl(self->fd, NTVM_IOC_PROTECT, (void *)8));

	/* Nothing changed: the page is still committed read-write. */
	struct ntvm_region r = query_one(self->fd, self->base);

	EXPECT_EQ(NTVM_MEM_COMMIT, r.state);
	EXPECT_EQ(NTVM_PAGE_READWRITE, r.protect);

	/*
	 * The good protect: mprotect asked for, so the results are left for
	 * user space to write once it has made it.
	 */
	p = pgood;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_PROTECT, &p));
	EXPECT_EQ(0, p.status);
	EXPECT_EQ(0, old);
	EXPECT_EQ(NTVM_PAGE_READWRITE, p.old_protect);
	EXPECT_EQ(NTVM_APPLY_MPROTECT, p.apply);
	EXPECT_EQ(PROT_READ, p.apply_prot);
	EXPECT_EQ(self->base, p.base);
	EXPECT_EQ(PG, p.region_size);
}

TEST_F(abi, query_fields)
{
	struct {
		struct ntvm_region r;
		__u64 extra[2];
	} rr[3];
	struct ntvm_query_args good = {
		.size = sizeof(good), .address = self->base,
		.end = self->base + GRAN, .regions = U(rr),
		.region_size = sizeof(rr[0]), .count = 3,
	}, q;

#define EXPECT_QUERY_ERR(err, field, value) do {			\
	q = good;							\
	q.field = value;						\
	EXPECT_EQ(err, xioctl(self->fd, NTVM_IOC_QUERY, &q));		\
} while (0)
	EXPECT_QUERY_ERR(-EINVAL, flags, 1);
	EXPECT_QUERY_ERR(-EINVAL, status, 1);
	EXPECT_QUERY_ERR(-EINVAL, pad, 1);
	EXPECT_QUERY_ERR(-EINVAL, count, 0);
	EXPECT_QUERY_ERR(-EINVAL, region_size, NTVM_REGION_SIZE_VER0 - 8);
	EXPECT_QUERY_ERR(-EINVAL, region_size, NTVM_REGION_SIZE_VER0 + 4);
	EXPECT_QUERY_ERR(-EINVAL, end, self->base);
	EXPECT_QUERY_ERR(-EFAULT, regions, 8);

	/* Larger records: the module's part, then zeroes. */
	memset(rr, 0xee, sizeof(rr));
	q = good;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(0, q.status);
	EXPECT_EQ(2, q.count);
	EXPECT_EQ(self->base, rr[0].r.base);
	EXPECT_EQ(PG, rr[0].r.size);
	EXPECT_EQ(NTVM_MEM_COMMIT, rr[0].r.state);
	EXPECT_EQ(NTVM_PAGE_READWRITE, rr[0].r.protect);
	EXPECT_EQ(NTVM_MEM_PRIVATE, rr[0].r.type);
	EXPECT_EQ(0, rr[0].r.flags);
	EXPECT_EQ(0, rr[0].r.pad);
	EXPECT_EQ(0, rr[0].extra[0]);
	EXPECT_EQ(0, rr[0].extra[1]);
	EXPECT_EQ(self->base + PG, rr[1].r.base);
	EXPECT_EQ(GRAN - PG, rr[1].r.size);
	EXPECT_EQ(NTVM_MEM_RESERVE, rr[1].r.state);
	EXPECT_EQ(0, rr[1].extra[1]);
	/* The third record was not written. */
	EXPECT_EQ(0xeeeeeeeeeeeeeeeeULL, rr[2].r.base);

	/* A query of another process's handle. */
	q = good;
	q.flags = NTVM_ARGS_OTHER_PROCESS;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(NTVM_STATUS_INVALID_HANDLE, q.status);
	EXPECT_EQ(0, q.count);
	/* An address above the user range is checked first. */
	q = good;
	q.flags = NTVM_ARGS_OTHER_PROCESS;
	q.address = 1ULL << 62;
	q.end = 0;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER, q.status);
}

TEST_F(abi, guard_watch_stats_fields)
{
	struct ntvm_guard_args g = {
		.size = sizeof(g), .address = self->base + PG,
	};
	struct ntvm_watch_args w = {
		.size = sizeof(w), .base = self->base, .length = PG,
	};
	struct ntvm_stats st;

	g.access = 2;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_GUARD, &g));
	g.access = NTVM_ACCESS_WRITE;
	g.flags = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_GUARD, &g));
	g.flags = 0;
	g.base = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_GUARD, &g));
	g.base = 0;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_GUARD, &g));
	/* A reserved page is no guard page. */
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION, g.status);
	EXPECT_EQ(0, g.apply);

	w.pad = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_WATCH, &w));
	w.pad = 0;
	w.alloc_base = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_WATCH, &w));
	w.alloc_base = 0;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_WATCH, &w));
	/* Not a MEM_WRITE_WATCH allocation. */
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER, w.status);
	EXPECT_EQ(0, w.alloc_base);
	/* The array to probe: only with NTVM_WATCH_PROBE, no other flag. */
	w.status = 0;
	w.array = U(&st);
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_WATCH, &w));
	w.array = 0;
	w.array_size = sizeof(st);
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_WATCH, &w));
	w.flags = NTVM_WATCH_PROBE << 1;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_WATCH, &w));
	/* Probed before the range: a bad array is the status. */
	w.flags = NTVM_WATCH_PROBE;
	w.array = 8;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_WATCH, &w));
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION, w.status);
	w.status = 0;
	w.array = U(&st);
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_WATCH, &w));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER, w.status);
	/* The first version still works, without the probe. */
	w.size = NTVM_WATCH_SIZE_VER0;
	w.flags = 0;
	w.status = 0;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_WATCH, &w));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER, w.status);

	/* Stats takes no input: whatever the buffer held is overwritten. */
	memset(&st, 0xff, sizeof(st));
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_STATS, &st));
	EXPECT_LE(1, st.allocations);
	EXPECT_LE(GRAN, st.reserved_bytes);
	EXPECT_LE(PG, st.committed_bytes);
	EXPECT_EQ(0, st.reserved[0]);
	EXPECT_EQ(0, st.reserved[2]);
	EXPECT_EQ(-EFAULT, xioctl(self->fd, NTVM_IOC_STATS, (void *)8));
}

/*
 * NTVM_MEMCTL_PROBE of a range and a SIZE_T variable (0: none): the
 * status, or ~0 if the ioctl itself failed.
 */
static __u32 probe_aligned(int fd, __u64 base, __u64 length, __u32 align,
			   __u64 var)
{
	struct ntvm_memctl_args m = {
		.size = sizeof(m), .op = NTVM_MEMCTL_PROBE, .map_type = align,
		.base = base, .length = length, .size_ptr = var,
	};

	return xioctl(fd, NTVM_IOC_MEMCTL, &m) ? ~0u : m.status;
}

static __u32 probe_status(int fd, __u64 base, __u64 length, __u64 var)
{
	return probe_aligned(fd, base, length, 0, var);
}

/* NTVM_MEMCTL_PROBE: a range and a variable; the status is the answer. */
TEST_F(abi, memctl_probe_fields)
{
	static unsigned char abuf[16] __attribute__((aligned(16)));
	struct ntvm_memctl_args m0 = {
		.size = sizeof(m0), .op = NTVM_MEMCTL_PROBE, .length = 8,
	}, m;
	__u64 var = 5;
	void *ro;

	m0.base = U(&var);
	m = m0;
	m.flags = NTVM_MEMCTL_VARS;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_MEMCTL, &m));
	m = m0;
	m.flags = NTVM_ARGS_OTHER_PROCESS;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_MEMCTL, &m));
	/* map_type is the buffer's alignment: 0 or a power of two up to 8. */
	m = m0;
	m.map_type = 3;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_MEMCTL, &m));
	m = m0;
	m.map_type = 16;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_MEMCTL, &m));
	m = m0;
	m.other = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_MEMCTL, &m));
	m = m0;
	m.base_ptr = U(&var);
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_MEMCTL, &m));
	m = m0;
	m.out_size = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, NTVM_IOC_MEMCTL, &m));

	m = m0;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_MEMCTL, &m));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, m.status);
	EXPECT_EQ(5, var);
	EXPECT_EQ(0, m.out_base);
	EXPECT_EQ(0, m.out_size);
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION, probe_status(self->fd, 8, 8, 0));
	/* Length 0 probes nothing, as in NT. */
	EXPECT_EQ(NTVM_STATUS_SUCCESS, probe_status(self->fd, 8, 0, 0));
	/* The alignment before the range, and only with a length. */
	EXPECT_EQ(NTVM_STATUS_SUCCESS, probe_aligned(self->fd, U(abuf), 8, 8, 0));
	EXPECT_EQ(NTVM_STATUS_DATATYPE_MISALIGNMENT,
		  probe_aligned(self->fd, U(abuf) + 4, 4, 8, 0));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, probe_aligned(self->fd, U(abuf) + 4, 4, 4, 0));
	EXPECT_EQ(NTVM_STATUS_DATATYPE_MISALIGNMENT, probe_aligned(self->fd, 9, 8, 2, 0));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, probe_aligned(self->fd, 9, 0, 2, 0));
	/* A range past the end of the address space. */
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION,
		  probe_status(self->fd, U(&var), ~0ULL, 0));

	/* A SIZE_T variable (ReturnLength) too: written back as it was. */
	ro = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(NTVM_STATUS_SUCCESS, probe_status(self->fd, U(&var), 8, U(&var)));
	EXPECT_EQ(5, var);
	EXPECT_EQ(NTVM_STATUS_SUCCESS, probe_status(self->fd, U(&var), 0, U(&var)));
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION,
		  probe_status(self->fd, U(&var), 8, U(ro)));
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION, probe_status(self->fd, U(&var), 0, 8));
	/* The range first: a bad one is the answer whatever the variable. */
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION,
		  probe_status(self->fd, U(ro), 8, U(&var)));
	munmap(ro, PG);
}

/*
 * NTVM_OUT_WRITE_WATCH: the module says when an allocate, free or protect
 * acted in a MEM_WRITE_WATCH allocation, so that user space keeps no list
 * of its own; only on success.  out_flags is NTVM_IOC_FREE's second
 * version: a first-version caller's structure ends before it and gets
 * nothing written there, and the word must be writable before anything
 * changes.
 */
TEST_F(abi, write_watch_out_flags)
{
	word_t base = 0, size = 4 * PG, b, s;
	__u32 old = 0;
	struct ntvm_alloc_args a = {
		.size = sizeof(a), .base_ptr = U(&base), .size_ptr = U(&size),
		.type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT | NTVM_MEM_WRITE_WATCH,
		.protect = NTVM_PAGE_READWRITE,
	};
	struct ntvm_protect_args p = {
		.size = sizeof(p), .base_ptr = U(&b), .size_ptr = U(&s),
		.old_protect_ptr = U(&old), .protect = NTVM_PAGE_READWRITE,
	};
	struct ntvm_free_args f = {
		.size = sizeof(f), .base_ptr = U(&b), .size_ptr = U(&s),
		.type = NTVM_MEM_DECOMMIT,
	};
	struct {
		struct ntvm_free_args f;
		__u32 canary;
	} v0;
	char *ro;

	ASSERT_EQ(56, sizeof(struct ntvm_free_args));
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_ALLOCATE, &a));
	ASSERT_EQ(0, a.status);
	EXPECT_EQ(NTVM_OUT_WRITE_WATCH, a.out_flags);
	/* A commit inside it, a protect, a decommit. */
	a.type = NTVM_MEM_COMMIT;
	a.status = a.apply = a.apply_prot = a.out_flags = 0;
	a.base = a.region_size = 0;
	size = PG;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_ALLOCATE, &a));
	EXPECT_EQ(0, a.status);
	EXPECT_EQ(NTVM_OUT_WRITE_WATCH, a.out_flags);
	b = base + PG;
	s = PG;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_PROTECT, &p));
	EXPECT_EQ(0, p.status);
	EXPECT_EQ(NTVM_OUT_WRITE_WATCH, p.out_flags);
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_FREE, &f));
	EXPECT_EQ(0, f.status);
	EXPECT_EQ(NTVM_OUT_WRITE_WATCH, f.out_flags);
	/* A failure: nothing said. */
	memset(&f.status, 0, sizeof(f) - offsetof(struct ntvm_free_args, status));
	b = base + 3 * PG;
	s = 2 * PG;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_FREE, &f));
	EXPECT_EQ(NTVM_STATUS_UNABLE_TO_FREE_VM, f.status);
	EXPECT_EQ(0, f.out_flags);
	/* Memory that is not watched: nothing said either. */
	memset(&p.status, 0, sizeof(p) - offsetof(struct ntvm_protect_args, status));
	b = self->base;
	s = PG;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_PROTECT, &p));
	EXPECT_EQ(0, p.status);
	EXPECT_EQ(0, p.out_flags);

	/* The first version of the free structure: nothing past it written. */
	memset(&v0, 0, sizeof(v0));
	v0.f.size = NTVM_FREE_SIZE_VER0;
	v0.f.base_ptr = U(&b);
	v0.f.size_ptr = U(&s);
	v0.f.type = NTVM_MEM_DECOMMIT;
	v0.f.out_flags = 0xdeadbeef;	/* beyond its size: not read */
	v0.canary = 0xdeadbeef;
	b = base;
	s = PG;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_FREE, &v0));
	EXPECT_EQ(0, v0.f.status);
	EXPECT_EQ(base, v0.f.base);
	EXPECT_EQ(0xdeadbeef, v0.f.out_flags);
	EXPECT_EQ(0xdeadbeef, v0.canary);

	/* out_flags on a read-only page: refused before anything changes. */
	ro = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.base_ptr = U(&b);
	f.size_ptr = U(&s);
	f.type = NTVM_MEM_RELEASE;
	memcpy(ro + PG - NTVM_FREE_SIZE_VER0, &f, sizeof(f));
	ASSERT_EQ(0, mprotect(ro + PG, PG, PROT_READ));
	b = base;
	s = 0;
	EXPECT_EQ(-EFAULT, xioctl(self->fd, NTVM_IOC_FREE, ro + PG - NTVM_FREE_SIZE_VER0));
	EXPECT_EQ(NTVM_MEM_COMMIT, query_one(self->fd, base + 2 * PG).state);
	munmap(ro, 2 * PG);

	/* The release says it too. */
	b = base;
	s = 0;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_FREE, &f));
	EXPECT_EQ(0, f.status);
	EXPECT_EQ(NTVM_OUT_WRITE_WATCH, f.out_flags);
	EXPECT_EQ(NTVM_MEM_FREE, query_one(self->fd, base).state);
}

/* ---- The NT variables and NT's order of checks ---- */

TEST_F(abi, bad_variables)
{
	struct ntvm_stats before = stats(self->fd), after;
	word_t base = 0, size = GRAN, *ro;
	__u32 old = 0;

	ro = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	/* NULL, unmapped and read-only variables: NT's access violation. */
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION,
		  alloc_raw(self->fd, NULL, &size, NTVM_MEM_RESERVE, NTVM_PAGE_NOACCESS, 0));
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION,
		  alloc_raw(self->fd, &base, (word_t *)8, NTVM_MEM_RESERVE, NTVM_PAGE_NOACCESS, 0));
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION,
		  alloc_raw(self->fd, ro, &size, NTVM_MEM_RESERVE, NTVM_PAGE_NOACCESS, 0));
	EXPECT_EQ(0, base);
	EXPECT_EQ(GRAN, size);
	after = stats(self->fd);
	EXPECT_EQ(before.allocations, after.allocations);

	base = self->base;
	size = PG;
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION,
		  protect_raw(self->fd, &base, &size, NTVM_PAGE_READONLY, (__u32 *)ro, 0));
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION,
		  free_raw(self->fd, &base, NULL, NTVM_MEM_DECOMMIT, 0));
	EXPECT_EQ(NTVM_MEM_COMMIT, query_one(self->fd, self->base).state);
	EXPECT_EQ(NTVM_PAGE_READWRITE, query_one(self->fd, self->base).protect);
	EXPECT_EQ(0, old);
	munmap(ro, PG);
}

/*
 * NT checks its parameters in an order of its own (spec 1.4.2): the free
 * type before the pointers, the pointers before the addresses, the
 * addresses before the process handle.
 */
TEST_F(abi, check_order)
{
	word_t base = self->base, size = PG;
	__u32 old = 0;

	/* NtFreeVirtualMemory(NULL, NULL, NULL, bad type). */
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER_4,
		  free_raw(self->fd, NULL, NULL, 0, NTVM_ARGS_OTHER_PROCESS));
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION,
		  free_raw(self->fd, NULL, NULL, NTVM_MEM_RELEASE, NTVM_ARGS_OTHER_PROCESS));
	base = (word_t)-1;
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER_2,
		  free_raw(self->fd, &base, &size, NTVM_MEM_RELEASE, NTVM_ARGS_OTHER_PROCESS));
	base = self->base;
	EXPECT_EQ(NTVM_STATUS_INVALID_HANDLE,
		  free_raw(self->fd, &base, &size, NTVM_MEM_DECOMMIT, NTVM_ARGS_OTHER_PROCESS));
	EXPECT_EQ(NTVM_MEM_COMMIT, query_one(self->fd, self->base).state);

	/* NtAllocateVirtualMemory: type, protection, pointers, range, handle. */
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER_5,
		  alloc_raw(self->fd, NULL, NULL, 0, NTVM_PAGE_READWRITE, NTVM_ARGS_OTHER_PROCESS));
	EXPECT_EQ(NTVM_STATUS_INVALID_PAGE_PROTECTION,
		  alloc_raw(self->fd, NULL, NULL, NTVM_MEM_RESERVE, 0, NTVM_ARGS_OTHER_PROCESS));
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION,
		  alloc_raw(self->fd, NULL, NULL, NTVM_MEM_RESERVE, NTVM_PAGE_READWRITE,
			    NTVM_ARGS_OTHER_PROCESS));
	base = 0;
	size = 0;
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER_4,
		  alloc_raw(self->fd, &base, &size, NTVM_MEM_RESERVE, NTVM_PAGE_READWRITE,
			    NTVM_ARGS_OTHER_PROCESS));
	size = GRAN;
	EXPECT_EQ(NTVM_STATUS_INVALID_HANDLE,
		  alloc_raw(self->fd, &base, &size, NTVM_MEM_RESERVE, NTVM_PAGE_READWRITE,
			    NTVM_ARGS_OTHER_PROCESS));
	EXPECT_EQ(0, base);

	/* NtProtectVirtualMemory: protection, pointers, range, handle. */
	EXPECT_EQ(NTVM_STATUS_INVALID_PAGE_PROTECTION,
		  protect_raw(self->fd, NULL, NULL, 0x3, NULL, NTVM_ARGS_OTHER_PROCESS));
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION,
		  protect_raw(self->fd, NULL, NULL, NTVM_PAGE_READONLY, NULL,
			      NTVM_ARGS_OTHER_PROCESS));
	base = self->base;
	size = 0;
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER_3,
		  protect_raw(self->fd, &base, &size, NTVM_PAGE_READONLY, &old,
			      NTVM_ARGS_OTHER_PROCESS));
	size = PG;
	EXPECT_EQ(NTVM_STATUS_INVALID_HANDLE,
		  protect_raw(self->fd, &base, &size, NTVM_PAGE_READONLY, &old,
			      NTVM_ARGS_OTHER_PROCESS));
	EXPECT_EQ(0, old);
	EXPECT_EQ(NTVM_PAGE_READWRITE, query_one(self->fd, self->base).protect);
}

/* Windows writes PAGE_NOACCESS to OldProtect on these two failures. */
TEST_F(abi, protect_failure_outputs)
{
	word_t base = self->base + PG, size = PG;
	__u32 old = 0x12345678;

	/* Reserved, uncommitted. */
	EXPECT_EQ(NTVM_STATUS_NOT_COMMITTED,
		  protect_raw(self->fd, &base, &size, NTVM_PAGE_READONLY, &old, 0));
	EXPECT_EQ(NTVM_PAGE_NOACCESS, old);
	EXPECT_EQ(self->base + PG, base);
	EXPECT_EQ(PG, size);
	/* Free. */
	old = 0x12345678;
	base = self->base + GRAN;
	while (query_one(self->fd, base).state != NTVM_MEM_FREE)
		base += GRAN;
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES,
		  protect_raw(self->fd, &base, &size, NTVM_PAGE_READONLY, &old, 0));
	EXPECT_EQ(NTVM_PAGE_NOACCESS, old);
	/* A bad protection is checked first: OldProtect untouched. */
	old = 0x12345678;
	EXPECT_EQ(NTVM_STATUS_INVALID_PAGE_PROTECTION,
		  protect_raw(self->fd, &base, &size, 0, &old, 0));
	EXPECT_EQ(0x12345678, old);
}

/*
 * Freeing the memory that holds the results (the argument block, or the
 * caller's variables) would make the operation unreportable: refused,
 * nothing freed.
 */
TEST_F(abi, free_own_arguments)
{
	struct ntvm_free_args *f;
	word_t *vars, size;
	char *p;

	p = (char *)self->base;
	f = (struct ntvm_free_args *)(p + 64);
	vars = (word_t *)(p + 512);
	vars[0] = self->base;
	vars[1] = PG;
	memset(f, 0, sizeof(*f));
	f->size = sizeof(*f);
	f->base_ptr = U(&vars[0]);
	f->size_ptr = U(&vars[1]);
	f->type = NTVM_MEM_DECOMMIT;
	p[2048] = 42;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_FREE, f));
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION, f->status);
	EXPECT_EQ(42, p[2048]);
	EXPECT_EQ(NTVM_MEM_COMMIT, query_one(self->fd, self->base).state);

	/* Only the variables inside: the same. */
	struct ntvm_free_args g = {
		.size = sizeof(g), .base_ptr = U(&vars[0]),
		.size_ptr = U(&vars[1]), .type = NTVM_MEM_RELEASE,
	};
	vars[1] = 0;
	ASSERT_EQ(0, xioctl(self->fd, NTVM_IOC_FREE, &g));
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION, g.status);
	EXPECT_EQ(42, p[2048]);
	EXPECT_EQ(self->base, query_one(self->fd, self->base).allocation_base);

	/* With the variables elsewhere, the same call works. */
	word_t base = self->base;

	size = PG;
	EXPECT_EQ(0, free_raw(self->fd, &base, &size, NTVM_MEM_DECOMMIT, 0));
	EXPECT_EQ(NTVM_MEM_RESERVE, query_one(self->fd, self->base).state);
}

TEST_HARNESS_MAIN
