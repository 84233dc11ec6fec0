// SPDX-License-Identifier: GPL-2.0
/*
 * The shared NT state (Documentation/ntvm.rst, "The shared NT state"):
 * the page's mapping rules, what the module publishes and withdraws, and
 * the calls libntvm finishes without entering the kernel, proven by a
 * thread whose ioctl()s a seccomp filter refuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <ntvm.h>

#include "kselftest_harness.h"
#include "ntvm_selftest.h"

#define PG 0x1000UL

#ifdef __x86_64__
#define THIS_AUDIT_ARCH AUDIT_ARCH_X86_64
#else
#define THIS_AUDIT_ARCH AUDIT_ARCH_I386
#endif

/*
 * The published range that holds addr: 1 and *out, 0 when none holds it.
 */
static int range_at(const struct ntvm_shared *sh, const void *addr,
		    struct ntvm_shared_range *out)
{
	struct ntvm_shared_range g[NTVM_SHARED_MAX_RANGES + 1];
	__u32 i, n = shared_snapshot(sh, g);

	for (i = 0; i < n && i < NTVM_SHARED_MAX_RANGES; i++) {
		if (g[i].base <= U(addr) && U(addr) < g[i].end) {
			*out = g[i];
			return 1;
		}
	}
	return 0;
}

static int ranges_well_formed(const struct ntvm_shared *sh)
{
	struct ntvm_shared_range g[NTVM_SHARED_MAX_RANGES + 1];

	return shared_well_formed(g, shared_snapshot(sh, g));
}

#define EXPECT_PUBLISHED(sh, addr, b, e, ab, prot) do {			\
	struct ntvm_shared_range __r = {};				\
	EXPECT_EQ(1, range_at((sh), (addr), &__r));			\
	EXPECT_EQ(U(b), (uintptr_t)__r.base);				\
	EXPECT_EQ(U(e), (uintptr_t)__r.end);				\
	EXPECT_EQ(U(ab), (uintptr_t)__r.allocation_base);		\
	EXPECT_EQ((__u32)(prot), __r.protect);				\
} while (0)

#define EXPECT_UNPUBLISHED(sh, addr) do {				\
	struct ntvm_shared_range __r;					\
	EXPECT_EQ(0, range_at((sh), (addr), &__r));			\
} while (0)

/* Commit twice: the second finds the pages committed, and may publish. */
static NTSTATUS commit2(PVOID at, SIZE_T size, ULONG prot)
{
	PVOID b = at;
	NTSTATUS st = nt_alloc(&b, size, MEM_COMMIT, prot);

	b = at;
	return st ? st : nt_alloc(&b, size, MEM_COMMIT, prot);
}

/*
 * A 64 KiB reservation whose first size bytes are committed read-write
 * twice (so published) and filled with fill; NULL on failure.
 */
static char *published_rw(SIZE_T size, char fill)
{
	PVOID base = NULL;

	if (nt_alloc(&base, 0x10000, MEM_RESERVE, PAGE_NOACCESS) ||
	    commit2(base, size, PAGE_READWRITE))
		return NULL;
	memset(base, fill, size);
	return base;
}

FIXTURE(shared) {
	const struct ntvm_shared *sh;
};

FIXTURE_SETUP(shared)
{
	if (ntvm_availability() != NTVM_AVAILABLE)
		SKIP(return, "%s", ntvm_diagnostic());
	self->sh = shared_map();
	ASSERT_NE(NULL, self->sh);
}

FIXTURE_TEARDOWN(shared)
{
	if (self->sh)
		munmap((void *)self->sh, NTVM_SHARED_SIZE);
}

/* The page is read-only, one page at offset 0, for this process only. */
TEST_F(shared, mapping_rules)
{
	int fd = ntvm_fd(), status;
	void *p;
	pid_t pid;

	EXPECT_EQ(NTVM_SHARED_MAX_RANGES, self->sh->max_count);
	EXPECT_EQ(sizeof(struct ntvm_shared_range), self->sh->range_size);
	EXPECT_EQ(0, self->sh->reserved[0]);
	EXPECT_EQ(0, self->sh->reserved[1]);
	EXPECT_TRUE(ranges_well_formed(self->sh));

	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, NTVM_SHARED_SIZE, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, 0));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, NTVM_SHARED_SIZE, PROT_READ | PROT_EXEC,
				   MAP_SHARED, fd, 0));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * NTVM_SHARED_SIZE, PROT_READ,
				   MAP_SHARED, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, NTVM_SHARED_SIZE, PROT_READ, MAP_SHARED,
				   fd, NTVM_SHARED_SIZE));
	EXPECT_EQ(EINVAL, errno);

	/* Never writable or executable later either. */
	errno = 0;
	EXPECT_EQ(-1, mprotect((void *)self->sh, NTVM_SHARED_SIZE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(-1, mprotect((void *)self->sh, NTVM_SHARED_SIZE, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	p = mmap(NULL, NTVM_SHARED_SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	errno = 0;
	EXPECT_EQ(-1, mprotect(p, NTVM_SHARED_SIZE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(p, NTVM_SHARED_SIZE);

	/*
	 * A child inherits no mapping, and may not map its parent's state
	 * (through a copy of the descriptor: libntvm closes its own).
	 */
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		unsigned char v;

		if (mincore((void *)self->sh, NTVM_SHARED_SIZE, &v) != -1 ||
		    errno != ENOMEM)
			_exit(1);
		if (mmap(NULL, NTVM_SHARED_SIZE, PROT_READ, MAP_SHARED, fd, 0) !=
		    MAP_FAILED || errno != EPERM)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(fd);
}

/* What commits publish, and what withdraws it. */
TEST_F(shared, publish_and_withdraw)
{
	const struct ntvm_shared *sh = self->sh;
	PVOID base = NULL, b;
	char *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x100000, MEM_RESERVE, PAGE_NOACCESS));
	p = base;
	EXPECT_UNPUBLISHED(sh, p);

	/*
	 * A commit of fresh pages publishes nothing; one that finds them
	 * committed with that protection does (commit2()).  Neighbours of one
	 * allocation and protection join.
	 */
	b = p;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b, 0x10000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_UNPUBLISHED(sh, p);
	b = p;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b, 0x10000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_PUBLISHED(sh, p, p, p + 0x10000, p, PAGE_READWRITE);
	ASSERT_EQ(STATUS_SUCCESS, commit2(p + 0x10000, 0x10000, PAGE_READWRITE));
	EXPECT_PUBLISHED(sh, p + 0x1000, p, p + 0x20000, p, PAGE_READWRITE);
	ASSERT_EQ(STATUS_SUCCESS, commit2(p + 0x20000, 0x10000, PAGE_READONLY));
	EXPECT_PUBLISHED(sh, p + 0x20000, p + 0x20000, p + 0x30000, p, PAGE_READONLY);
	EXPECT_TRUE(ranges_well_formed(sh));
	/* Partly fresh: not published. */
	ASSERT_EQ(STATUS_SUCCESS, commit2(p + 0x30000, 0x1000, PAGE_READWRITE));
	b = p + 0x30000;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b, 0x2000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_UNPUBLISHED(sh, p + 0x31000);

	/* A protection change withdraws its range, and only that. */
	b = p + 0x4000;
	ASSERT_EQ(STATUS_SUCCESS, NtProtectVirtualMemory(CUR, &b, &(SIZE_T){PG},
							 PAGE_READONLY, &(ULONG){0}));
	EXPECT_UNPUBLISHED(sh, p + 0x4000);
	EXPECT_PUBLISHED(sh, p, p, p + 0x4000, p, PAGE_READWRITE);
	EXPECT_PUBLISHED(sh, p + 0x5000, p + 0x5000, p + 0x20000, p, PAGE_READWRITE);
	/* A commit that keeps the protection publishes it again. */
	b = p + 0x4000;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b, PG, MEM_COMMIT, PAGE_READONLY));
	EXPECT_PUBLISHED(sh, p + 0x4000, p + 0x4000, p + 0x5000, p, PAGE_READONLY);
	/* One that changes it (an mprotect() left to libntvm) withdraws it. */
	b = p + 0x4000;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b, PG, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_UNPUBLISHED(sh, p + 0x4000);
	EXPECT_REGION(p, p, p, PAGE_NOACCESS, 0x20000, MEM_COMMIT,
		      PAGE_READWRITE, MEM_PRIVATE);

	/* Every base protection is published as a query reports it. */
	ASSERT_EQ(STATUS_SUCCESS, commit2(p + 0x40000, PG, PAGE_EXECUTE));
	EXPECT_PUBLISHED(sh, p + 0x40000, p + 0x40000, p + 0x41000, p, PAGE_EXECUTE);
	EXPECT_REGION(p + 0x40000, p + 0x40000, p, PAGE_NOACCESS, PG, MEM_COMMIT,
		      PAGE_EXECUTE, MEM_PRIVATE);
	ASSERT_EQ(STATUS_SUCCESS, commit2(p + 0x41000, PG, PAGE_NOACCESS));
	EXPECT_PUBLISHED(sh, p + 0x41000, p + 0x41000, p + 0x42000, p, PAGE_NOACCESS);
	/* Not a guard page, nor a cache attribute. */
	ASSERT_EQ(STATUS_SUCCESS, commit2(p + 0x50000, PG, PAGE_READWRITE | PAGE_GUARD));
	EXPECT_UNPUBLISHED(sh, p + 0x50000);

	/* Any other NT call that may change state withdraws everything. */
	ASSERT_EQ(STATUS_SUCCESS, nt_free(p + 0x60000, PG, MEM_DECOMMIT));
	EXPECT_EQ(0, sh->count);
	EXPECT_UNPUBLISHED(sh, p);

	/* A failed commit publishes nothing. */
	b = p + 0xff000;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_alloc(&b, 0x2000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(0, sh->count);

	ASSERT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
	EXPECT_EQ(0, sh->count);
}

/* Memory that is not plain private memory is never published. */
TEST_F(shared, not_published)
{
	const struct ntvm_shared *sh = self->sh;
	PVOID base = NULL;
	HANDLE sec;
	char *v;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x10000, MEM_RESERVE | MEM_WRITE_WATCH,
					  PAGE_READWRITE));
	ASSERT_EQ(STATUS_SUCCESS, commit2(base, 0x10000, PAGE_READWRITE));
	EXPECT_UNPUBLISHED(sh, base);
	ASSERT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));

	/* A cache attribute sticks to the allocation (nt.nocache_sticks). */
	base = NULL;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x2000, MEM_COMMIT,
					  PAGE_READWRITE | PAGE_NOCACHE));
	ASSERT_EQ(STATUS_SUCCESS, commit2(base, 0x2000, PAGE_READWRITE));
	EXPECT_UNPUBLISHED(sh, base);
	ASSERT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));

	sec = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_RESERVE,
				 0, 0x10000, NULL);
	ASSERT_NE(NULL, sec);
	v = MapViewOfFile(sec, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, v);
	EXPECT_EQ(v, VirtualAlloc(v, 0x10000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(v, VirtualAlloc(v, 0x10000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_UNPUBLISHED(sh, v);
	EXPECT_TRUE(UnmapViewOfFile(v));
	EXPECT_TRUE(CloseHandle(sec));
}

/* Changes behind ntvm's back withdraw what they may have made false. */
TEST_F(shared, changed_behind_back)
{
	const struct ntvm_shared *sh = self->sh;
	PVOID base = NULL, b;
	char *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x40000, MEM_RESERVE | MEM_COMMIT,
					  PAGE_READWRITE));
	p = base;
	b = p;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b, 0x40000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_PUBLISHED(sh, p, p, p + 0x40000, p, PAGE_READWRITE);

	/* munmap(): the hole only. */
	ASSERT_EQ(0, munmap(p + 0x30000, PG));
	EXPECT_UNPUBLISHED(sh, p + 0x30000);
	EXPECT_PUBLISHED(sh, p, p, p + 0x30000, p, PAGE_READWRITE);
	EXPECT_PUBLISHED(sh, p + 0x31000, p + 0x31000, p + 0x40000, p, PAGE_READWRITE);

	/* mprotect() of pages the process has touched (the kernel tells). */
	memset(p, 1, 0x2000);
	ASSERT_EQ(0, mprotect(p + 0x1000, PG, PROT_READ));
	EXPECT_UNPUBLISHED(sh, p + 0x1000);
	EXPECT_PUBLISHED(sh, p, p, p + 0x1000, p, PAGE_READWRITE);
	/* So a commit enters the kernel, which puts the protection back. */
	b = p + 0x1000;
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b, PG, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_FALSE(faults(p + 0x1000, 1));

	/* Discards leave pages committed: nothing is withdrawn. */
	ASSERT_EQ(0, madvise(p + 0x10000, 0x2000, MADV_DONTNEED));
	EXPECT_PUBLISHED(sh, p + 0x10000, p + 0x2000, p + 0x30000, p, PAGE_READWRITE);

	ASSERT_EQ(0, munmap(p, 0x40000));
	EXPECT_EQ(0, sh->count);
}

/*
 * An allocation the module forgets, found damaged behind ntvm's back (here
 * by a query of the hole), takes what was published of it along: a commit
 * there then answers as the module does, STATUS_CONFLICTING_ADDRESSES,
 * and a MEM_RESET discards nothing.  The published range outlived it, and
 * the library answered both with success.
 */
TEST_F(shared, forgotten_allocation_withdrawn)
{
	const struct ntvm_shared *sh = self->sh;
	MEMORY_BASIC_INFORMATION m;
	PVOID base = NULL, b;
	SIZE_T s;
	char *p;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x100000, MEM_RESERVE, PAGE_NOACCESS));
	p = base;
	ASSERT_EQ(STATUS_SUCCESS, commit2(p, 0x10000, PAGE_READWRITE));
	EXPECT_PUBLISHED(sh, p, p, p + 0x10000, p, PAGE_READWRITE);
	memset(p, 7, 0x10000);
	/* The notifier withdraws the hole only; the query forgets it all. */
	ASSERT_EQ(0, munmap(p + 0x80000, 0x10000));
	EXPECT_PUBLISHED(sh, p, p, p + 0x10000, p, PAGE_READWRITE);
	ASSERT_EQ(sizeof(m), VirtualQuery(p + 0x80000, &m, sizeof(m)));
	EXPECT_EQ(MEM_FREE, m.State);
	EXPECT_UNPUBLISHED(sh, p);
	EXPECT_EQ(0, sh->count);
	b = p;
	s = PG;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(P(p), b);
	EXPECT_EQ(PG, s);
	b = p;
	s = PG;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_RESET, PAGE_READWRITE));
	EXPECT_EQ(7, p[0x10]);
	munmap(p, 0x100000);
}

/* ---- Calls made with no kernel entry for the NT call ---- */

/* Refuse ioctl() in the calling thread only (ENOTTY). */
static int refuse_ioctls(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_AUDIT_ARCH, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOTTY),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

struct no_entry {
	char *p;		/* 64 KiB committed read-write */
	SIZE_T reset_at;	/* where the MEM_RESET goes */
	int filtered;
	NTSTATUS commit, commit_ro, commit_heap, commit_zb, commit_both;
	NTSTATUS reset, reset_reserved, reset_prot;
	PVOID commit_base, reset_base;
	SIZE_T commit_size, reset_size;
	PVOID heap_base;
};

static void *no_entry_thread(void *arg)
{
	struct no_entry *t = arg;
	PVOID b, *hb = malloc(sizeof(*hb));
	SIZE_T s, *hs = malloc(sizeof(*hs));

	t->filtered = !refuse_ioctls();
	if (!t->filtered || !hb || !hs)
		return NULL;
	/* Answered from the shared state: outputs page-rounded. */
	b = t->p + 0x1234;
	s = 0x100;
	t->commit = NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_COMMIT, PAGE_READWRITE);
	t->commit_base = b;
	t->commit_size = s;
	b = t->p + t->reset_at;
	s = 0x1000;
	t->reset = NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_RESET, PAGE_NOACCESS);
	t->reset_base = b;
	t->reset_size = s;
	/* Everything else needs the module: the refused ioctl says so. */
	b = t->p;
	s = PG;
	t->commit_ro = NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_COMMIT, PAGE_READONLY);
	*hb = t->p;
	*hs = PG;
	t->commit_heap = NtAllocateVirtualMemory(CUR, hb, 0, hs, MEM_COMMIT, PAGE_READWRITE);
	t->heap_base = *hb;
	b = t->p;
	s = PG;
	t->commit_zb = NtAllocateVirtualMemory(CUR, &b, 1, &s, MEM_COMMIT, PAGE_READWRITE);
	b = t->p;
	s = PG;
	t->commit_both = NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_COMMIT | MEM_RESERVE,
						 PAGE_READWRITE);
	b = t->p + 0x10000;
	s = PG;
	t->reset_reserved = NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_RESET, PAGE_READWRITE);
	b = t->p;
	s = PG;
	t->reset_prot = NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_RESET,
						PAGE_READWRITE | PAGE_NOCACHE);
	free(hb);
	free(hs);
	return NULL;
}

TEST_F(shared, no_kernel_entry)
{
	struct no_entry t = {};
	PVOID base = NULL, b;
	pthread_t th;
	int i;

	/* One CPU for both threads (the thread inherits it). */
	ASSERT_EQ(0, pin_to_this_cpu());
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, 0x20000, MEM_RESERVE, PAGE_NOACCESS));
	t.p = base;
	t.reset_at = 0x3800;
	ASSERT_EQ(STATUS_SUCCESS, commit2(base, 0x10000, PAGE_READWRITE));
	for (i = 0; i < 16; i++)
		memset(t.p + i * PG, 'a' + i, PG);

	ASSERT_EQ(0, pthread_create(&th, NULL, no_entry_thread, &t));
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_TRUE(t.filtered);

	EXPECT_EQ(STATUS_SUCCESS, t.commit);
	EXPECT_EQ(U(t.p + 0x1000), U(t.commit_base));
	EXPECT_EQ(PG, t.commit_size);
	EXPECT_EQ(STATUS_SUCCESS, t.reset);
	EXPECT_EQ(U(t.p + 0x3000), U(t.reset_base));
	EXPECT_EQ(0x2000, t.reset_size);
	/* errno_status(ENOTTY): the call went to the refused ioctl. */
	EXPECT_EQ(STATUS_INVALID_PARAMETER, t.commit_ro);
	EXPECT_EQ(STATUS_INVALID_PARAMETER, t.commit_heap);
	EXPECT_EQ(U(t.p), U(t.heap_base));
	EXPECT_EQ(STATUS_INVALID_PARAMETER, t.commit_zb);
	EXPECT_EQ(STATUS_INVALID_PARAMETER, t.commit_both);
	EXPECT_EQ(STATUS_INVALID_PARAMETER, t.reset_reserved);
	EXPECT_EQ(STATUS_INVALID_PARAMETER, t.reset_prot);

	/* Nothing changed, and the madvise()-only reset is watched. */
	EXPECT_REGION(t.p, t.p, t.p, PAGE_NOACCESS, 0x10000, MEM_COMMIT,
		      PAGE_READWRITE, MEM_PRIVATE);
	b = t.p + 0x3000;
	EXPECT_EQ(STATUS_SUCCESS, nt_alloc(&b, 0x2000, MEM_RESET_UNDO, PAGE_READWRITE));
	EXPECT_EQ('a' + 3, t.p[0x3000]);
	EXPECT_EQ('a' + 4, t.p[0x4000]);

	/* Again elsewhere, and the kernel drops a page: the undo must fail. */
	memset(&t.filtered, 0, sizeof(t) - offsetof(struct no_entry, filtered));
	t.reset_at = 0x8800;
	ASSERT_EQ(0, pthread_create(&th, NULL, no_entry_thread, &t));
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ(STATUS_SUCCESS, t.reset);
	ASSERT_EQ(U(t.p + 0x8000), U(t.reset_base));
	ASSERT_EQ(0, madvise(t.p + 0x9000, PG, MADV_PAGEOUT));
	b = t.p + 0x8000;
	EXPECT_EQ(STATUS_UNSUCCESSFUL, nt_alloc(&b, 0x2000, MEM_RESET_UNDO, PAGE_READWRITE));
	EXPECT_EQ(0, t.p[0x9000]);
	EXPECT_EQ('a' + 8, t.p[0x8000]);

	ASSERT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/*
 * A foreign madvise(MADV_FREE) of published memory is a MEM_RESET too;
 * MADV_DONTNEED is a discard, which fails a later undo.
 */
TEST_F(shared, madvise_is_reset)
{
	char *p = published_rw(0x10000, 'x');
	PVOID b;

	ASSERT_NE(NULL, p);

	ASSERT_EQ(0, madvise(p, 0x4000, MADV_FREE));
	b = p;
	EXPECT_EQ(STATUS_SUCCESS, nt_alloc(&b, 0x4000, MEM_RESET_UNDO, PAGE_READWRITE));
	EXPECT_EQ('x', p[0x3fff]);

	ASSERT_EQ(0, madvise(p, 0x4000, MADV_FREE));
	ASSERT_EQ(0, madvise(p + 0x2000, PG, MADV_DONTNEED));
	b = p;
	EXPECT_EQ(STATUS_UNSUCCESSFUL, nt_alloc(&b, 0x4000, MEM_RESET_UNDO, PAGE_READWRITE));
	EXPECT_EQ(0, p[0x2000]);

	ASSERT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
}

/*
 * A MEM_RESET of published memory the process locked (VirtualLock): the
 * kernel refuses the madvise(MADV_FREE), which then reaches no notifier,
 * so the call goes to the module, which watches the range anew, as for
 * memory not published.  The library answered it alone and left the
 * range's earlier discard standing: MEM_RESET_UNDO then said
 * STATUS_UNSUCCESSFUL with the data all there.
 */
TEST_F(shared, reset_of_locked_memory)
{
	char *p = published_rw(0x4000, 'x');
	SIZE_T s;
	PVOID b;

	ASSERT_NE(NULL, p);
	/* A reset whose page 1 the kernel then drops: lost. */
	ASSERT_EQ(0, madvise(p, 0x4000, MADV_FREE));
	ASSERT_EQ(0, madvise(p + PG, PG, MADV_DONTNEED));
	memset(p, 'y', 0x4000);

	b = p;
	s = 0x4000;
	ASSERT_EQ(STATUS_SUCCESS, NtLockVirtualMemory(CUR, &b, &s, MAP_PROCESS));
	ASSERT_EQ(STATUS_SUCCESS, commit2(p, 0x4000, PAGE_READWRITE));
	EXPECT_PUBLISHED(self->sh, p, p, p + 0x4000, p, PAGE_READWRITE);
	b = p;
	EXPECT_EQ(STATUS_SUCCESS, nt_alloc(&b, 0x4000, MEM_RESET, PAGE_READWRITE));
	b = p;
	EXPECT_EQ(STATUS_SUCCESS, nt_alloc(&b, 0x4000, MEM_RESET_UNDO, PAGE_READWRITE));
	EXPECT_EQ('y', p[PG]);
	EXPECT_EQ('y', p[0x3fff]);
	ASSERT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
}

/*
 * One madvise(MADV_FREE) over more published ranges than the notifier
 * reads at a time (four) still resets every one of them.
 */
#define MANY_RANGES 6

TEST_F(shared, madvise_over_many_ranges)
{
	PVOID base = NULL, b;
	char *p;
	int i;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, MANY_RANGES * 0x10000, MEM_RESERVE,
					  PAGE_NOACCESS));
	p = base;
	ASSERT_EQ(STATUS_SUCCESS, nt_free(p, 0, MEM_RELEASE));
	/* Side by side, one allocation each: ranges that never join. */
	for (i = 0; i < MANY_RANGES; i++) {
		b = p + i * 0x10000;
		ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&b, 0x10000, MEM_RESERVE | MEM_COMMIT,
						  PAGE_READWRITE));
		ASSERT_EQ(p + i * 0x10000, b);
		ASSERT_EQ(STATUS_SUCCESS, commit2(b, 0x10000, PAGE_READWRITE));
		EXPECT_PUBLISHED(self->sh, b, b, (char *)b + 0x10000, b, PAGE_READWRITE);
	}
	memset(p, 'x', MANY_RANGES * 0x10000);
	ASSERT_EQ(0, madvise(p, MANY_RANGES * 0x10000, MADV_FREE));
	/* A discard in the last one: its undo fails, the first's succeeds. */
	ASSERT_EQ(0, madvise(p + (MANY_RANGES - 1) * 0x10000, PG, MADV_DONTNEED));
	b = p + (MANY_RANGES - 1) * 0x10000;
	EXPECT_EQ(STATUS_UNSUCCESSFUL, nt_alloc(&b, 0x10000, MEM_RESET_UNDO, PAGE_READWRITE));
	EXPECT_EQ(0, p[(MANY_RANGES - 1) * 0x10000]);
	b = p;
	EXPECT_EQ(STATUS_SUCCESS, nt_alloc(&b, 0x10000, MEM_RESET_UNDO, PAGE_READWRITE));
	EXPECT_EQ('x', p[0x1234]);
	for (i = 0; i < MANY_RANGES; i++)
		ASSERT_EQ(STATUS_SUCCESS, nt_free(p + i * 0x10000, 0, MEM_RELEASE));
}

/*
 * Threads commit, decommit, protect, reset and write pages of one
 * allocation (through the fast paths where they apply); between rounds,
 * with every thread stopped, each published range must be exactly what a
 * query reports.
 */
#define RACE_THREADS 4
#define RACE_PAGES 64		/* per thread */

struct race {
	char *p;
	pthread_barrier_t stop, go;
	int rounds;
	int errors;
};

struct racer {
	struct race *r;
	int id;
};

static void *race_thread(void *arg)
{
	static const ULONG prots[] = { PAGE_READWRITE, PAGE_READONLY, PAGE_EXECUTE_READ };
	struct racer *me = arg;
	struct race *r = me->r;
	unsigned int seed = 12345 + me->id;
	char *mine = r->p + (SIZE_T)me->id * RACE_PAGES * PG;
	int round, i;

	for (round = 0; round < r->rounds; round++) {
		for (i = 0; i < 100; i++) {
			char *pg = mine + (rand_r(&seed) % RACE_PAGES) * PG;
			SIZE_T n = (1 + rand_r(&seed) % 3) * PG;
			PVOID b = pg;
			SIZE_T s = n;
			ULONG old;
			NTSTATUS st = STATUS_SUCCESS;

			if (pg + n > mine + RACE_PAGES * PG)
				continue;
			switch (rand_r(&seed) % 6) {
			case 0:
			case 1:
				st = NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_COMMIT,
							     prots[rand_r(&seed) % 3]);
				break;
			case 2:
				st = NtFreeVirtualMemory(CUR, &b, &s, MEM_DECOMMIT);
				break;
			case 3:
				st = NtProtectVirtualMemory(CUR, &b, &s,
							    prots[rand_r(&seed) % 3], &old);
				if (st == STATUS_CONFLICTING_ADDRESSES ||
				    st == STATUS_NOT_COMMITTED)
					st = STATUS_SUCCESS;
				break;
			case 4:
				st = NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_RESET,
							     PAGE_READWRITE);
				break;
			default:
				if (region_of(pg).Protect == PAGE_READWRITE)
					*(volatile char *)pg = (char)i;
				break;
			}
			if (st)
				__atomic_fetch_add(&r->errors, 1, __ATOMIC_RELAXED);
		}
		/* Commits last (twice: published), so that the check finds ranges. */
		for (i = 0; i < 4; i++) {
			if (commit2(mine + (rand_r(&seed) % (RACE_PAGES - 4)) * PG, 4 * PG,
				    prots[rand_r(&seed) % 3]))
				__atomic_fetch_add(&r->errors, 1, __ATOMIC_RELAXED);
		}
		pthread_barrier_wait(&r->stop);	/* the check runs */
		pthread_barrier_wait(&r->go);
	}
	return NULL;
}

TEST_F_TIMEOUT(shared, threads_race, 1800)
{
	struct racer racers[RACE_THREADS];
	pthread_t th[RACE_THREADS];
	struct race r = { .rounds = 20 * ntvm_test_scale() };
	const struct ntvm_shared *sh = self->sh;
	PVOID base = NULL;
	int round, i, checked = 0;
	__u32 k;

	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, RACE_THREADS * RACE_PAGES * PG,
					  MEM_RESERVE, PAGE_NOACCESS));
	r.p = base;
	pthread_barrier_init(&r.stop, NULL, RACE_THREADS + 1);
	pthread_barrier_init(&r.go, NULL, RACE_THREADS + 1);
	for (i = 0; i < RACE_THREADS; i++) {
		racers[i] = (struct racer){ .r = &r, .id = i };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, race_thread, &racers[i]));
	}
	for (round = 0; round < r.rounds; round++) {
		pthread_barrier_wait(&r.stop);
		EXPECT_EQ(0, sh->seq & 1);
		EXPECT_TRUE(ranges_well_formed(sh));
		/*
		 * The region the query reports from a range's base: committed
		 * private memory of that allocation with that protection, on
		 * to the range's end at least.
		 */
		for (k = 0; k < sh->count; k++) {
			const struct ntvm_shared_range *g = &sh->ranges[k];
			MEMORY_BASIC_INFORMATION m = region_of(P(g->base));

			EXPECT_EQ(MEM_COMMIT, m.State);
			EXPECT_EQ(g->protect, m.Protect);
			EXPECT_EQ(g->allocation_base, U(m.AllocationBase));
			EXPECT_EQ(MEM_PRIVATE, m.Type);
			EXPECT_LE(g->end, U(m.BaseAddress) + m.RegionSize);
			checked += (g->end - g->base) / PG;
		}
		pthread_barrier_wait(&r.go);
	}
	for (i = 0; i < RACE_THREADS; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(0, r.errors);
	EXPECT_LT(0, checked);
	TH_LOG("%d published pages checked", checked);
	ASSERT_EQ(STATUS_SUCCESS, nt_free(base, 0, MEM_RELEASE));
}

/*
 * A change behind ntvm's back that another thread makes while a commit
 * that publishes runs is never left published: either the commit sees the
 * change and publishes nothing it makes false, or the change withdraws
 * what the commit published.  The other thread starts its munmap() or
 * mprotect() at a sweep of delays around the commit, so that some rounds
 * land it between the commit's look at the range and its publishing.
 */
#define CHANGE_PAGES 16
#define CHANGE_DELAYS 64	/* delays in the sweep */
#define CHANGE_STEP 80		/* spins between two of them */

struct change_race {
	char *hole;
	int mode;		/* 0: munmap(), 1: mprotect() */
	int delay;		/* spins before the change */
	int go, done, quit;
	int errors;
};

static void spin(int n)
{
	volatile int i;

	for (i = 0; i < n; i++)
		;
}

/* Wait for *flag, as a busy loop that lets a single CPU go on too. */
static void await(int *flag)
{
	int n = 0;

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE))
		if (++n % 4096 == 0)
			sched_yield();
}

static void *change_thread(void *arg)
{
	struct change_race *c = arg;

	for (;;) {
		await(&c->go);
		__atomic_store_n(&c->go, 0, __ATOMIC_RELAXED);
		if (__atomic_load_n(&c->quit, __ATOMIC_ACQUIRE))
			return NULL;
		spin(c->delay);
		if (c->mode ? mprotect(c->hole, PG, PROT_READ) : munmap(c->hole, PG))
			c->errors++;
		__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	}
}

TEST_F_TIMEOUT(shared, change_during_commit, 1800)
{
	const struct ntvm_shared *sh = self->sh;
	int rounds = 4 * CHANGE_DELAYS * 8 / ntvm_test_scale();
	struct change_race c = {};
	int round, stale = 0, published = 0;
	pthread_t th;

	ASSERT_EQ(0, pthread_create(&th, NULL, change_thread, &c));
	for (round = 0; round < rounds; round++) {
		int d = (round / 2 % CHANGE_DELAYS - CHANGE_DELAYS / 8) * CHANGE_STEP;
		struct ntvm_shared_range g;
		PVOID base = NULL, b;
		SIZE_T s = CHANGE_PAGES * PG;
		char *p;

		ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, s, MEM_RESERVE | MEM_COMMIT,
						  PAGE_READWRITE));
		p = base;
		/* Mapped pages: an mprotect() of them reaches the notifier. */
		memset(p, 1, s);
		c.hole = p + CHANGE_PAGES / 2 * PG;
		c.mode = round & 1;
		c.delay = d > 0 ? d : 0;
		__atomic_store_n(&c.go, 1, __ATOMIC_RELEASE);
		spin(d < 0 ? -d : 0);
		/* Found committed as asked: published, unless the change came first. */
		b = p;
		if (!NtAllocateVirtualMemory(CUR, &b, 0, &s, MEM_COMMIT, PAGE_READWRITE))
			published += range_at(sh, p, &g);
		await(&c.done);
		c.done = 0;
		if (range_at(sh, c.hole, &g)) {
			stale++;
			TH_LOG("round %d (%s, delay %d): [%#llx, %#llx) published over %p",
			       round, c.mode ? "mprotect" : "munmap", d,
			       (unsigned long long)g.base, (unsigned long long)g.end,
			       c.hole);
		}
		EXPECT_TRUE(ranges_well_formed(sh));
		if (nt_free(p, 0, MEM_RELEASE))
			ASSERT_EQ(0, munmap(p, CHANGE_PAGES * PG));
		EXPECT_UNPUBLISHED(sh, p);
	}
	__atomic_store_n(&c.quit, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&c.go, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	EXPECT_EQ(0, c.errors);
	EXPECT_EQ(0, stale);
	/* The commits that came first did publish: the sweep spans both. */
	EXPECT_LT(0, published);
	TH_LOG("%d rounds, %d commits published first, %d stale", rounds,
	       published, stale);
}

TEST_HARNESS_MAIN
