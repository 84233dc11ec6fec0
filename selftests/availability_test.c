// SPDX-License-Identifier: GPL-2.0
/*
 * "Can ntvm be used here?": ntvm_availability() and what every call gives
 * when the answer is no.  Runs anywhere: in the test VM /dev/ntvm is there
 * and must be usable; on a host without the module the answer must be "no
 * device".  selftests/host-build-check also runs it in a private mount
 * namespace with a /dev/ntvm that may not be opened, or that is not ntvm,
 * and says what to expect in NTVM_TEST_EXPECT (available, no-device,
 * no-permission, abi-mismatch).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include <ntvm.h>

static enum ntvm_availability expected(void)
{
	const char *e = getenv("NTVM_TEST_EXPECT");

	if (!e || !*e)
		return access("/dev/ntvm", F_OK) ? NTVM_NO_DEVICE : NTVM_AVAILABLE;
	if (!strcmp(e, "no-device"))
		return NTVM_NO_DEVICE;
	if (!strcmp(e, "no-permission"))
		return NTVM_NO_PERMISSION;
	if (!strcmp(e, "abi-mismatch"))
		return NTVM_ABI_MISMATCH;
	return NTVM_AVAILABLE;
}

TEST(versions)
{
	/* One version for the header, the library and (below) the module. */
	EXPECT_STREQ(NTVM_VERSION_STRING, ntvm_library_version());
	EXPECT_TRUE(NTVM_CHECK_VERSION(NTVM_VERSION_MAJOR, NTVM_VERSION_MINOR,
				       NTVM_VERSION_PATCH));
	EXPECT_FALSE(NTVM_CHECK_VERSION(NTVM_VERSION_MAJOR + 1, 0, 0));
	EXPECT_TRUE(NTVM_CHECK_VERSION(0, 0, 0));
	EXPECT_STREQ("available", ntvm_availability_string(NTVM_AVAILABLE));
	EXPECT_STREQ("no device", ntvm_availability_string(NTVM_NO_DEVICE));
	EXPECT_STREQ("no permission", ntvm_availability_string(NTVM_NO_PERMISSION));
	EXPECT_STREQ("ABI mismatch", ntvm_availability_string(NTVM_ABI_MISMATCH));
	EXPECT_STREQ("unsupported kernel",
		     ntvm_availability_string(NTVM_UNSUPPORTED_KERNEL));
	EXPECT_STREQ("unknown", ntvm_availability_string((enum ntvm_availability)99));
}

TEST(available)
{
	const char *mv;

	if (expected() != NTVM_AVAILABLE)
		SKIP(return, "ntvm is not expected to be usable here");
	ASSERT_EQ(NTVM_AVAILABLE, ntvm_availability());
	EXPECT_LE(0, ntvm_fd());
	EXPECT_EQ(NTVM_API, ntvm_module_api());
	mv = ntvm_module_version();
	ASSERT_NE(NULL, mv);
	/* The module and this library are built from one VERSION file. */
	EXPECT_STREQ(NTVM_VERSION_STRING, mv);
	EXPECT_NE(NULL, strstr(ntvm_diagnostic(), "available"));
}

TEST(unavailable)
{
	enum ntvm_availability want = expected();
	MEMORY_BASIC_INFORMATION mbi;
	PVOID base = NULL;
	SIZE_T size = 0x10000, len = 0;
	ULONG old = 0, count = 1, gran = 0;
	ULONG_PTR n = 4;
	PVOID addrs[4];
	struct ntvm_stats stats;
	SYSTEM_INFO si;
	const char *d;

	if (want == NTVM_AVAILABLE)
		SKIP(return, "ntvm is usable here");
	ASSERT_EQ(want, ntvm_availability());
	/* Decided once: the same answer again, without a new open. */
	EXPECT_EQ(want, ntvm_availability());
	EXPECT_EQ(-1, ntvm_fd());
	EXPECT_EQ(0, ntvm_module_api());
	d = ntvm_diagnostic();
	ASSERT_NE(NULL, d);
	EXPECT_EQ(0, strncmp(d, "libntvm: ", 9));
	EXPECT_EQ(NULL, strchr(d, '\n'));
	if (want == NTVM_NO_DEVICE) {
		EXPECT_NE(NULL, strstr(d, "modprobe ntvm"));
		EXPECT_EQ(NULL, ntvm_module_version());
	}
	if (want == NTVM_NO_PERMISSION)
		EXPECT_NE(NULL, strstr(d, "0666"));
	if (want == NTVM_ABI_MISMATCH)
		EXPECT_NE(NULL, strstr(d, "matching library and module"));

	/* Every well-formed call: STATUS_NOT_SUPPORTED, nothing written. */
	EXPECT_EQ(STATUS_NOT_SUPPORTED,
		  NtAllocateVirtualMemory(NtCurrentProcess(), &base, 0, &size,
					  MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(NULL, base);
	EXPECT_EQ(0x10000, size);
	base = (PVOID)0x10000000;
	EXPECT_EQ(STATUS_NOT_SUPPORTED,
		  NtFreeVirtualMemory(NtCurrentProcess(), &base, &size, MEM_RELEASE));
	EXPECT_EQ(STATUS_NOT_SUPPORTED,
		  NtProtectVirtualMemory(NtCurrentProcess(), &base, &size,
					 PAGE_READONLY, &old));
	EXPECT_EQ(0, old);
	EXPECT_EQ(STATUS_NOT_SUPPORTED,
		  NtQueryVirtualMemory(NtCurrentProcess(), base, MemoryBasicInformation,
				       &mbi, sizeof(mbi), &len));
	EXPECT_EQ(0, len);
	EXPECT_EQ(STATUS_NOT_SUPPORTED, ntvm_get_stats(&stats));
	EXPECT_EQ(STATUS_NOT_SUPPORTED,
		  ntvm_query_regions(base, (char *)base + 0x10000, &mbi, &count));
	EXPECT_EQ(STATUS_NOT_SUPPORTED,
		  NtGetWriteWatch(NtCurrentProcess(), 0, base, 0x10000, addrs, &n, &gran));
	EXPECT_EQ(4, n);
	EXPECT_EQ(0, gran);
	EXPECT_EQ(STATUS_NOT_SUPPORTED, NtResetWriteWatch(NtCurrentProcess(), base, 0x10000));

	/* The module checks NT's arguments: without it, even bad ones. */
	base = NULL;
	EXPECT_EQ(STATUS_NOT_SUPPORTED,
		  NtAllocateVirtualMemory((HANDLE)(intptr_t)1, &base, 0, &size,
					  MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(NULL, base);
	EXPECT_EQ(STATUS_NOT_SUPPORTED,
		  NtFreeVirtualMemory(NtCurrentProcess(), &base, &size, 0x1234));
	base = (PVOID)0x10000000;

	/* Win32: failure and ERROR_NOT_SUPPORTED. */
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(ERROR_NOT_SUPPORTED, GetLastError());
	SetLastError(0);
	EXPECT_EQ(0, VirtualQuery(base, &mbi, sizeof(mbi)));
	EXPECT_EQ(ERROR_NOT_SUPPORTED, GetLastError());
	SetLastError(0);
	EXPECT_EQ(FALSE, VirtualProtect(base, 0x1000, PAGE_READONLY, &old));
	EXPECT_EQ(ERROR_NOT_SUPPORTED, GetLastError());
	SetLastError(0);
	EXPECT_EQ(FALSE, VirtualFree(base, 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_NOT_SUPPORTED, GetLastError());

	/* GetSystemInfo() never fails: Windows' fixed values. */
	GetSystemInfo(&si);
	EXPECT_EQ(0x1000, si.dwPageSize);
	EXPECT_EQ(0x10000, si.dwAllocationGranularity);
	EXPECT_EQ((LPVOID)0x10000, si.lpMinimumApplicationAddress);
}

/* After fork() the child asks nothing again and gets the same answer. */
TEST(fork_keeps_answer)
{
	enum ntvm_availability a = ntvm_availability();
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid)
		_exit(ntvm_availability() == a &&
		      (a != NTVM_AVAILABLE || ntvm_fd() >= 0) ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
