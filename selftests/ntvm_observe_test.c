// SPDX-License-Identifier: GPL-2.0
/*
 * Seeing inside (issue 13): debugfs ntvm/maps/<tgid>, the ntvm:ntvm_op
 * trace event and the ntvm-maps tool, whose code is included here (the
 * guest has no shared libraries and runs only what vm-run copies).
 * The root-only parts skip, saying why, for other users.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "ntvm_selftest.h"

#define NTVM_MAPS_NO_MAIN
#include "../userlib/tools/ntvm-maps.c"

#define MAPS_DIR "/sys/kernel/debug/ntvm/maps"

/* The whole of a file, NUL-terminated, or NULL. */
static char *slurp(const char *path)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	ssize_t got;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	/* Small reads: the file is made a seq_file buffer at a time. */
	while ((got = read(fd, buf + len, 1000 < cap - len - 1 ? 1000 : cap - len - 1)) > 0) {
		len += got;
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				break;
		}
	}
	close(fd);
	if (!buf || got < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = 0;
	return buf;
}

static char *own_maps(void)
{
	char path[64];

	snprintf(path, sizeof(path), MAPS_DIR "/%d", getpid());
	return slurp(path);
}

/* The line the maps file must have for the region VirtualQuery sees at p. */
static void expect_line(char *buf, size_t len, const void *p, const char *flags)
{
	MEMORY_BASIC_INFORMATION mbi;
	const char *state, *type;

	memset(&mbi, 0, sizeof(mbi));
	if (VirtualQuery(p, &mbi, sizeof(mbi)) != sizeof(mbi)) {
		snprintf(buf, len, "VirtualQuery failed");
		return;
	}
	state = mbi.State == MEM_COMMIT ? "commit" : mbi.State == MEM_RESERVE ? "reserve" : "free";
	type = mbi.Type == MEM_PRIVATE ? "private" : mbi.Type == MEM_MAPPED ? "mapped" : "-";
	snprintf(buf, len, "\n%016llx %016llx %s %s 0x%x %016llx 0x%x %s\n",
		 (unsigned long long)(uintptr_t)mbi.BaseAddress,
		 (unsigned long long)mbi.RegionSize, state, type, (unsigned int)mbi.Protect,
		 (unsigned long long)(uintptr_t)mbi.AllocationBase,
		 (unsigned int)mbi.AllocationProtect, flags);
}

#define NEED_ROOT() do { \
	if (geteuid() != 0) \
		SKIP(return, "root only: debugfs and tracefs are root's"); \
	if (access(MAPS_DIR, F_OK)) \
		SKIP(return, MAPS_DIR " is missing (debugfs not mounted?)"); \
} while (0)

#define EXPECT_LINE(maps, p, flags) do { \
	char want_[256]; \
	expect_line(want_, sizeof(want_), (p), (flags)); \
	EXPECT_NE(NULL, strstr((maps), want_)) \
		TH_LOG("missing line:%sin:\n%s", want_, (maps)); \
} while (0)

/* Each kind of region gets its exact line, and the statistics follow. */
TEST(maps_lines)
{
	char *r, *w, *ph, *v, *maps, want[256], *last;
	DWORD old;
	HANDLE h;
	unsigned long long resv, comm, allocs, waste, lfree;
	struct ntvm_stats st;

	NEED_ROOT();
	r = VirtualAlloc(NULL, KB(256), MEM_RESERVE, PAGE_NOACCESS);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(r, VirtualAlloc(r, KB(64), MEM_COMMIT, PAGE_READWRITE));
	ASSERT_EQ(r + KB(64), VirtualAlloc(r + KB(64), KB(4), MEM_COMMIT,
					   PAGE_READWRITE | PAGE_GUARD));
	ASSERT_TRUE(VirtualProtect(r, KB(4), PAGE_READONLY, &old));
	w = VirtualAlloc(NULL, KB(64), MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
			 PAGE_READWRITE);
	ASSERT_NE(NULL, w);
	ph = VirtualAlloc2(NULL, NULL, KB(128), MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
			   PAGE_NOACCESS, NULL, 0);
	ASSERT_NE(NULL, ph);
	h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, KB(64), NULL);
	ASSERT_NE(NULL, h);
	v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
	ASSERT_NE(NULL, v);

	maps = own_maps();
	ASSERT_NE(NULL, maps);
	ASSERT_EQ(0, strncmp(maps, "# base size state type protect allocation_base "
			     "allocation_protect flags\n", 70));

	/* Exact, written out for the first allocation ... */
	snprintf(want, sizeof(want), "\n%016llx 0000000000001000 commit private 0x2 %016llx 0x1 -\n",
		 (unsigned long long)(uintptr_t)r, (unsigned long long)(uintptr_t)r);
	EXPECT_NE(NULL, strstr(maps, want)) TH_LOG("missing%sin\n%s", want, maps);
	snprintf(want, sizeof(want), "\n%016llx 000000000000f000 commit private 0x4 %016llx 0x1 -\n",
		 (unsigned long long)(uintptr_t)(r + KB(4)), (unsigned long long)(uintptr_t)r);
	EXPECT_NE(NULL, strstr(maps, want)) TH_LOG("missing%sin\n%s", want, maps);
	snprintf(want, sizeof(want), "\n%016llx 0000000000001000 commit private 0x104 %016llx 0x1 guard\n",
		 (unsigned long long)(uintptr_t)(r + KB(64)), (unsigned long long)(uintptr_t)r);
	EXPECT_NE(NULL, strstr(maps, want)) TH_LOG("missing%sin\n%s", want, maps);
	snprintf(want, sizeof(want), "\n%016llx 000000000002f000 reserve private 0x0 %016llx 0x1 -\n",
		 (unsigned long long)(uintptr_t)(r + KB(68)), (unsigned long long)(uintptr_t)r);
	EXPECT_NE(NULL, strstr(maps, want)) TH_LOG("missing%sin\n%s", want, maps);
	/* ... and as NtQueryVirtualMemory describes the others. */
	EXPECT_LINE(maps, w, "write-watch");
	EXPECT_LINE(maps, ph, "placeholder");
	EXPECT_LINE(maps, v, "view");

	/* The statistics close the file, as NTVM_IOC_STATS gives them. */
	last = strstr(maps, "\nstats ");
	ASSERT_NE(NULL, last);
	ASSERT_EQ(5, sscanf(last, "\nstats reserved_bytes=%llu committed_bytes=%llu "
			    "allocations=%llu granularity_waste=%llu largest_free=%llu",
			    &resv, &comm, &allocs, &waste, &lfree));
	ASSERT_EQ(STATUS_SUCCESS, ntvm_get_stats(&st));
	EXPECT_EQ(st.allocations, allocs);
	EXPECT_LE(4, allocs);
	EXPECT_EQ(st.reserved_bytes, resv);
	EXPECT_EQ(st.committed_bytes, comm);
	EXPECT_EQ(st.granularity_waste, waste);
	EXPECT_LT(0, lfree);
	/* The last line. */
	EXPECT_EQ(last + strlen(last) - 1, strchr(last + 1, '\n'));
	free(maps);

	/* After a release the region is free again. */
	ASSERT_TRUE(VirtualFree(r, 0, MEM_RELEASE));
	maps = own_maps();
	ASSERT_NE(NULL, maps);
	snprintf(want, sizeof(want), "\n%016llx ", (unsigned long long)(uintptr_t)r);
	last = strstr(maps, want);
	if (last)
		EXPECT_EQ(0, strncmp(last + 35, "free - 0x1 0000000000000000 0x0 -\n", 34))
			TH_LOG("%.80s", last + 1);
	free(maps);
	ASSERT_TRUE(UnmapViewOfFile(v));
	ASSERT_TRUE(CloseHandle(h));
	ASSERT_TRUE(VirtualFree(w, 0, MEM_RELEASE));
	ASSERT_TRUE(VirtualFree(ph, 0, MEM_RELEASE));
}

/* Small reads and a seek back give the same file. */
TEST(maps_reads)
{
	char path[64], *small, big[1 << 16];
	void *p[64];
	ssize_t got;
	size_t len = 0;
	int fd, i;

	NEED_ROOT();
	for (i = 0; i < 64; i++) {
		p[i] = VirtualAlloc(NULL, KB(64), MEM_RESERVE | MEM_COMMIT,
				    i & 1 ? PAGE_READONLY : PAGE_READWRITE);
		ASSERT_NE(NULL, p[i]);
	}
	snprintf(path, sizeof(path), MAPS_DIR "/%d", getpid());
	small = slurp(path);
	ASSERT_NE(NULL, small);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, big, 100));
	ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
	while ((got = read(fd, big + len, sizeof(big) - 1 - len)) > 0)
		len += got;
	ASSERT_EQ(0, got);
	big[len] = 0;
	close(fd);
	EXPECT_STREQ(small, big);
	for (i = 0; i < 64; i++) {
		char want[64];

		snprintf(want, sizeof(want), "\n%016llx 0000000000010000 commit ",
			 (unsigned long long)(uintptr_t)p[i]);
		EXPECT_NE(NULL, strstr(big, want));
		VirtualFree(p[i], 0, MEM_RELEASE);
	}
	free(small);
}

/* A child's file goes away with it: no debugfs leak. */
TEST(maps_gone_after_exit)
{
	char path[64], name[16];
	struct dirent *e;
	int status, err;
	DIR *d;
	pid_t pid;

	NEED_ROOT();
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char own[64];

		if (!VirtualAlloc(NULL, KB(64), MEM_RESERVE, PAGE_NOACCESS))
			_exit(2);
		snprintf(own, sizeof(own), MAPS_DIR "/%d", getpid());
		_exit(access(own, R_OK) ? 3 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	snprintf(path, sizeof(path), MAPS_DIR "/%d", pid);
	err = access(path, F_OK) ? errno : 0;
	EXPECT_EQ(ENOENT, err);
	d = opendir(MAPS_DIR);
	ASSERT_NE(NULL, d);
	snprintf(name, sizeof(name), "%d", pid);
	while ((e = readdir(d)))
		EXPECT_STRNE(name, e->d_name);
	closedir(d);
}

/*
 * An execve() that keeps a descriptor of /dev/ntvm keeps the old address
 * space's NT state, and its maps file, under the same tgid.  The new
 * image's opens then make no file of that name, and no kernel log line
 * for each open (debugfs's "already present"), which any user could
 * otherwise repeat without bound.  The re-executed test binary runs
 * exec_kept_fd_child() before its main().
 */
#define EXEC_KEPT_ENV "NTVM_OBSERVE_EXEC_KEPT"
#define EXEC_KEPT_OPENS 200

static void __attribute__((constructor)) exec_kept_fd_child(void)
{
	int i, fd;

	if (!getenv(EXEC_KEPT_ENV))
		return;
	for (i = 0; i < EXEC_KEPT_OPENS; i++) {
		fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			_exit(2);
		close(fd);
	}
	_exit(0);
}

/* Kernel log records from fd on that contain what: how many, or -1. */
static int kmsg_count(int fd, const char *what)
{
	char rec[8192];
	int n = 0;
	ssize_t got;

	for (;;) {
		got = read(fd, rec, sizeof(rec) - 1);
		if (got < 0 && errno == EPIPE)	/* overwritten: go on */
			continue;
		if (got < 0)
			return errno == EAGAIN ? n : -1;
		rec[got] = 0;
		n += !!strstr(rec, what);
	}
}

TEST(maps_exec_kept_fd)
{
	char own[64], *argv[] = { "ntvm_observe_test", NULL };
	int kmsg, status;
	pid_t pid;

	NEED_ROOT();
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg < 0)
		SKIP(return, "/dev/kmsg: %s", strerror(errno));
	ASSERT_EQ(0, lseek(kmsg, 0, SEEK_END));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* Kept across the execve(): no O_CLOEXEC. */
		int fd = open("/dev/ntvm", O_RDWR);

		snprintf(own, sizeof(own), MAPS_DIR "/%d", getpid());
		if (fd < 0 || access(own, R_OK))
			_exit(3);
		setenv(EXEC_KEPT_ENV, "1", 1);
		execv("/proc/self/exe", argv);
		_exit(4);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, kmsg_count(kmsg, "already present"));
	/* Both address spaces are gone: so is the file. */
	snprintf(own, sizeof(own), MAPS_DIR "/%d", pid);
	EXPECT_NE(0, access(own, F_OK));
	close(kmsg);
}

/*
 * Reads racing the owner's exit: each read is whole or fails, an open
 * file outlives the owner's state and then fails with EIO (debugfs),
 * and the file is gone once the owner is reaped.
 */
TEST(maps_read_while_exiting)
{
	char path[64], buf[4096];
	int status, fd, held = -1, reads = 0, pfd[2];
	pid_t pid;
	ssize_t got;

	NEED_ROOT();
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int i;

		close(pfd[0]);
		for (i = 0; i < 2000; i++) {
			void *p = VirtualAlloc(NULL, KB(64), MEM_RESERVE | MEM_COMMIT,
					       PAGE_READWRITE);

			if (!p)
				_exit(2);
			if (!i && write(pfd[1], "x", 1) != 1)
				_exit(3);
			if (i % 3)
				VirtualFree(p, 0, MEM_RELEASE);
		}
		_exit(0);
	}
	close(pfd[1]);
	ASSERT_EQ(1, read(pfd[0], buf, 1));
	close(pfd[0]);
	snprintf(path, sizeof(path), MAPS_DIR "/%d", pid);
	held = open(path, O_RDONLY);
	for (;;) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			break;
		while ((got = read(fd, buf, sizeof(buf))) > 0)
			;
		EXPECT_TRUE(got == 0 || errno == EIO || errno == EINTR);
		close(fd);
		reads++;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			pid = 0;
			break;
		}
	}
	if (pid)
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_NE(0, access(path, F_OK));
	if (held >= 0) {
		/* The owner's state is gone: the old file says so. */
		got = read(held, buf, sizeof(buf));
		EXPECT_TRUE(got == -1 && errno == EIO) TH_LOG("read %zd", got);
		close(held);
	}
	TH_LOG("%d whole reads while the owner ran", reads);
}

/* tracefs, mounted where the guest has none. */
static const char *tracefs(void)
{
	if (!access("/sys/kernel/tracing/events", F_OK))
		return "/sys/kernel/tracing";
	if (!mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL))
		return "/sys/kernel/tracing";
	if (!access("/sys/kernel/debug/tracing/events", F_OK))
		return "/sys/kernel/debug/tracing";
	return NULL;
}

static int write_file(const char *dir, const char *name, const char *val)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

/* The ntvm:ntvm_op event: one per operation, with status and range. */
TEST(trace_events)
{
	char path[256], filter[64], want[160], *trace;
	const char *tr;
	SIZE_T size = KB(64);
	PVOID base = NULL;
	NTSTATUS st;
	DWORD old;
	char *p;

	NEED_ROOT();
	tr = tracefs();
	if (!tr)
		SKIP(return, "no tracefs (kernel without CONFIG_TRACING?)");
	snprintf(path, sizeof(path), "%s/events/ntvm/ntvm_op/enable", tr);
	ASSERT_EQ(0, access(path, F_OK)) TH_LOG("no ntvm:ntvm_op event in %s", tr);
	snprintf(filter, sizeof(filter), "common_pid == %d", getpid());
	ASSERT_EQ(0, write_file(tr, "events/ntvm/ntvm_op/filter", filter));
	ASSERT_EQ(0, write_file(tr, "trace", ""));
	ASSERT_EQ(0, write_file(tr, "events/ntvm/ntvm_op/enable", "1"));

	p = VirtualAlloc(NULL, KB(64), MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	ASSERT_TRUE(VirtualProtect(p, KB(4), PAGE_NOACCESS, &old));
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	/* A failure: the range is free now. */
	base = p;
	st = NtProtectVirtualMemory(NtCurrentProcess(), &base, &size, PAGE_READONLY, &old);
	EXPECT_NE(STATUS_SUCCESS, st);

	ASSERT_EQ(0, write_file(tr, "events/ntvm/ntvm_op/enable", "0"));
	snprintf(path, sizeof(path), "%s/trace", tr);
	trace = slurp(path);
	ASSERT_EQ(0, write_file(tr, "events/ntvm/ntvm_op/filter", "0"));
	ASSERT_NE(NULL, trace);

	snprintf(want, sizeof(want), "ntvm_op: op=allocate status=0x0 base=0x%llx size=0x10000 ns=",
		 (unsigned long long)(uintptr_t)p);
	EXPECT_NE(NULL, strstr(trace, want)) TH_LOG("missing %s in\n%s", want, trace);
	snprintf(want, sizeof(want), "ntvm_op: op=protect status=0x0 base=0x%llx size=0x1000 ns=",
		 (unsigned long long)(uintptr_t)p);
	EXPECT_NE(NULL, strstr(trace, want)) TH_LOG("missing %s in\n%s", want, trace);
	snprintf(want, sizeof(want), "ntvm_op: op=protect status=0x%x base=0x%llx",
		 (unsigned int)st, (unsigned long long)(uintptr_t)p);
	EXPECT_NE(NULL, strstr(trace, want)) TH_LOG("missing %s in\n%s", want, trace);
	snprintf(want, sizeof(want), "ntvm_op: op=free status=0x0 base=0x%llx size=0x10000 ns=",
		 (unsigned long long)(uintptr_t)p);
	EXPECT_NE(NULL, strstr(trace, want)) TH_LOG("missing %s in\n%s", want, trace);
	free(trace);
}

/* Run the tool on pid; its stdout and stderr in out and err. */
static int run_tool(const char *arg1, const char *arg2, long pid, char *out, size_t outlen,
		    char *err, size_t errlen)
{
	char spid[32], *argv[5];
	int argc = 0, status, fo, fe;
	pid_t c;
	ssize_t n;

	snprintf(spid, sizeof(spid), "%ld", pid);
	argv[argc++] = "ntvm-maps";
	if (arg1)
		argv[argc++] = (char *)arg1;
	if (arg2)
		argv[argc++] = (char *)arg2;
	argv[argc++] = spid;
	argv[argc] = NULL;
	fo = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	fe = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	if (fo < 0 || fe < 0)
		return -1;
	fflush(NULL);
	c = fork();
	if (c < 0)
		return -1;
	if (!c) {
		dup2(fo, 1);
		dup2(fe, 2);
		_exit(ntvm_maps_main(argc, argv));
	}
	waitpid(c, &status, 0);
	n = pread(fo, out, outlen - 1, 0);
	out[n > 0 ? n : 0] = 0;
	n = pread(fe, err, errlen - 1, 0);
	err[n > 0 ? n : 0] = 0;
	close(fo);
	close(fe);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ntvm-maps PID on this process: the table, the totals, the picture. */
TEST(tool)
{
	static char out[1 << 16], err[4096];
	char want[128], *svg;
	char *p;

	p = VirtualAlloc(NULL, KB(128), MEM_RESERVE, PAGE_NOACCESS);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(p, VirtualAlloc(p, KB(8), MEM_COMMIT, PAGE_READWRITE));
	if (geteuid() != 0) {
		/* Not root: a clear refusal, exit status 1. */
		ASSERT_EQ(1, run_tool(NULL, NULL, getpid(), out, sizeof(out), err, sizeof(err)));
		EXPECT_NE(NULL, strstr(err, "only root")) TH_LOG("%s", err);
		SKIP(return, "the table needs root (debugfs)");
	}
	NEED_ROOT();
	ASSERT_EQ(0, run_tool("--svg", "/tmp/ntvm-maps.svg", getpid(), out, sizeof(out),
			      err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_STREQ("", err);
	snprintf(want, sizeof(want), "%016llx         8K commit  private READWRITE ",
		 (unsigned long long)(uintptr_t)p);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("missing %s in\n%s", want, out);
	snprintf(want, sizeof(want), "%016llx       120K reserve private -   ",
		 (unsigned long long)(uintptr_t)(p + KB(8)));
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("missing %s in\n%s", want, out);
	EXPECT_NE(NULL, strstr(out, "\ntotal: 2 regions, committed 8K, reserved 120K\n"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\nntvm: 1 allocations, reserved 128K, committed 8K,"))
		TH_LOG("%s", out);
	svg = slurp("/tmp/ntvm-maps.svg");
	ASSERT_NE(NULL, svg);
	EXPECT_EQ(0, strncmp(svg, "<?xml", 5));
	EXPECT_NE(NULL, strstr(svg, "</svg>\n"));
	EXPECT_NE(NULL, strstr(svg, "fill=\"#f4d03f\"")); /* the reserved part */
	free(svg);
	unlink("/tmp/ntvm-maps.svg");

	/* -a: everything, free regions and libc's mappings too. */
	ASSERT_EQ(0, run_tool("-a", NULL, getpid(), out, sizeof(out), err, sizeof(err)));
	EXPECT_NE(NULL, strstr(out, " free "));
	EXPECT_NE(NULL, strstr(out, "foreign"));

	/* A process without NT state (init), and none at all. */
	ASSERT_EQ(1, run_tool(NULL, NULL, 1, out, sizeof(out), err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "process 1 has no NT address space")) TH_LOG("%s", err);
	ASSERT_EQ(2, run_tool(NULL, NULL, 0, out, sizeof(out), err, sizeof(err)));
	VirtualFree(p, 0, MEM_RELEASE);
}

TEST_HARNESS_MAIN
