// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libntvm: can ntvm be used here, and if not, why not?
 *
 * The first open of /dev/ntvm (ntapi.c's dev_fd_locked(), with the library
 * lock held) comes here.  It opens the device, makes the NTVM_IOC_API
 * handshake and decides, once for the process, one of enum
 * ntvm_availability.  A negative answer is kept: every later call fails
 * without a system call, with STATUS_NOT_SUPPORTED (ntapi.c's
 * ioctl_locked()).  Only an open(2) that failed for a passing reason
 * (EMFILE, ENOMEM, EINTR, ...) is tried again at the next call.  After a
 * fork the child opens the device again (the descriptor belongs to the
 * parent's address space) but keeps the answer.
 *
 * With NTVM_DEBUG=1 in the environment the first negative answer prints
 * one line on stderr, in the spirit of libfuse's "try modprobe" message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "ntvm.h"
#include "internal.h"

#define NTVM_DEVICE		"/dev/ntvm"
#define NTVM_SYSFS_MODULE	"/sys/module/ntvm"
/* The oldest kernel the module builds for (the maple tree's gap search). */
#define NTVM_MIN_KERNEL_MAJOR	6
#define NTVM_MIN_KERNEL_MINOR	1
/* ABI numbers tried to learn a mismatching module's own. */
#define NTVM_API_PROBE_MAX	(NTVM_API + 16)

/* All of it under the library lock. */
static struct {
	int decided;			/* avail is final */
	enum ntvm_availability avail;
	int error;			/* errno behind avail */
	unsigned int module_api;
	__u64 features;			/* the module's, from the handshake */
	char module_version[64];
	char message[320];
	int hinted;
} probe = { .avail = NTVM_NO_DEVICE };

static const char *const avail_names[] = {
	[NTVM_AVAILABLE] = "available",
	[NTVM_NO_DEVICE] = "no device",
	[NTVM_NO_PERMISSION] = "no permission",
	[NTVM_ABI_MISMATCH] = "ABI mismatch",
	[NTVM_UNSUPPORTED_KERNEL] = "unsupported kernel",
	[NTVM_OPEN_FAILED] = "open failed",
};

NTVM_EXPORT const char *ntvm_availability_string(enum ntvm_availability a)
{
	if ((unsigned int)a >= sizeof(avail_names) / sizeof(avail_names[0]))
		return "unknown";
	return avail_names[a];
}

NTVM_EXPORT const char *ntvm_library_version(void)
{
	return NTVM_VERSION_STRING;
}

/* /sys/module/ntvm/version, or "" (not loaded, or built without a version). */
static void read_module_version(void)
{
	FILE *f = fopen(NTVM_SYSFS_MODULE "/version", "re");
	char *nl;

	probe.module_version[0] = '\0';
	if (!f)
		return;
	if (!fgets(probe.module_version, sizeof(probe.module_version), f))
		probe.module_version[0] = '\0';
	fclose(f);
	nl = strchr(probe.module_version, '\n');
	if (nl)
		*nl = '\0';
}

static int kernel_too_old(struct utsname *u)
{
	unsigned int major = 0, minor = 0;

	if (uname(u) || sscanf(u->release, "%u.%u", &major, &minor) != 2)
		return 0;
	return major < NTVM_MIN_KERNEL_MAJOR ||
	       (major == NTVM_MIN_KERNEL_MAJOR && minor < NTVM_MIN_KERNEL_MINOR);
}

/*
 * The handshake.  A module of another ABI refuses our NTVM_API with EINVAL,
 * or does not know our command number at all (ENOTTY): version 1's
 * handshake had another structure, so its command number differs, and
 * that command is tried to tell which ABI it speaks.
 */
#define NTVM_IOC_API_V1		_IOWR('N', 0xa0, __u64[10])

static enum ntvm_availability handshake(int fd)
{
	struct ntvm_api api = { .size = sizeof(api), .api = NTVM_API };
	__u64 v1[10] = { 1 };
	unsigned int n;

	if (!ioctl(fd, NTVM_IOC_API, &api)) {
		probe.module_api = NTVM_API;
		probe.features = api.features;
		return NTVM_AVAILABLE;
	}
	probe.error = errno;
	if (errno == ENOTTY) {
		if (!ioctl(fd, NTVM_IOC_API_V1, v1))
			probe.module_api = 1;
		return NTVM_ABI_MISMATCH;
	}
	if (errno != EINVAL)
		return NTVM_OPEN_FAILED;
	for (n = 1; n <= NTVM_API_PROBE_MAX && errno == EINVAL; n++) {
		if (n == NTVM_API)
			continue;
		memset(&api, 0, sizeof(api));
		api.size = sizeof(api);
		api.api = n;
		if (!ioctl(fd, NTVM_IOC_API, &api)) {
			probe.module_api = n;
			break;
		}
	}
	return NTVM_ABI_MISMATCH;
}

static void describe(const struct utsname *u)
{
	char *m = probe.message;
	size_t len = sizeof(probe.message);
	const char *mv = probe.module_version[0] ? probe.module_version : "unknown";

	switch (probe.avail) {
	case NTVM_AVAILABLE:
		snprintf(m, len, "libntvm %s: ntvm is available (module %s, ABI %u)",
			 NTVM_VERSION_STRING, mv, (unsigned int)NTVM_API);
		break;
	case NTVM_NO_DEVICE:
		if (!access(NTVM_SYSFS_MODULE, F_OK))
			snprintf(m, len,
				 "libntvm: " NTVM_DEVICE " is missing but the ntvm module is loaded: check udev (60-ntvm.rules)");
		else
			snprintf(m, len,
				 "libntvm: no " NTVM_DEVICE ": the ntvm module is not loaded (try 'modprobe ntvm'; if it is not found, install it for kernel %s: the ntvm-dkms package or 'make dkms-install')",
				 u->release[0] ? u->release : "?");
		break;
	case NTVM_NO_PERMISSION:
		snprintf(m, len,
			 "libntvm: cannot open " NTVM_DEVICE ": %s (it is meant to be mode 0666: check udev's 60-ntvm.rules)",
			 strerror(probe.error));
		break;
	case NTVM_ABI_MISMATCH:
		if (probe.module_api)
			snprintf(m, len,
				 "libntvm: the ntvm module (version %s) speaks ABI %u, this libntvm (version %s) ABI %u: install a matching library and module",
				 mv, probe.module_api, NTVM_VERSION_STRING,
				 (unsigned int)NTVM_API);
		else
			snprintf(m, len,
				 "libntvm: " NTVM_DEVICE " (module version %s) refuses the handshake of ABI %u of this libntvm (version %s): install a matching library and module",
				 mv, (unsigned int)NTVM_API, NTVM_VERSION_STRING);
		break;
	case NTVM_UNSUPPORTED_KERNEL:
		snprintf(m, len, "libntvm: ntvm needs Linux %d.%d or later; this kernel is %s",
			 NTVM_MIN_KERNEL_MAJOR, NTVM_MIN_KERNEL_MINOR, u->release);
		break;
	case NTVM_OPEN_FAILED:
	default:
		snprintf(m, len, "libntvm: cannot use " NTVM_DEVICE ": %s",
			 strerror(probe.error));
		break;
	}
}

static void hint(void)
{
	const char *env = secure_getenv("NTVM_DEBUG");

	if (probe.hinted || !env || !*env || !strcmp(env, "0"))
		return;
	probe.hinted = 1;
	fprintf(stderr, "%s\n", probe.message);
}

/* Called by ntapi.c with the library lock held: a descriptor, or -1. */
int ntvm_probe_open(void)
{
	struct utsname u = { .release = "" };
	int fd, err;

	if (probe.decided && probe.avail != NTVM_AVAILABLE)
		return -1;
	fd = open(NTVM_DEVICE, O_RDWR | O_CLOEXEC);
	if (probe.decided)
		return fd;	/* a forked child, or an fd closed by ntvm */
	err = errno;
	probe.error = 0;
	probe.module_api = 0;
	if (fd >= 0) {
		probe.avail = handshake(fd);
	} else {
		probe.error = err;
		switch (err) {
		case ENOENT:
		case ENXIO:
		case ENODEV:
			probe.avail = kernel_too_old(&u) ?
				      NTVM_UNSUPPORTED_KERNEL : NTVM_NO_DEVICE;
			break;
		case EACCES:
		case EPERM:
		case EROFS:
			probe.avail = NTVM_NO_PERMISSION;
			break;
		default:
			probe.avail = NTVM_OPEN_FAILED;
			break;
		}
	}
	if (probe.avail != NTVM_AVAILABLE && fd >= 0) {
		close(fd);
		fd = -1;
	}
	probe.decided = probe.avail != NTVM_OPEN_FAILED;
	read_module_version();
	if (!u.release[0])
		uname(&u);
	describe(&u);
	if (probe.avail != NTVM_AVAILABLE)
		hint();
	return fd;
}

/* What the module said it supports (library lock held); 0 before. */
__u64 ntvm_probe_features(void)
{
	return probe.avail == NTVM_AVAILABLE ? probe.features : 0;
}

NTVM_EXPORT enum ntvm_availability ntvm_availability(void)
{
	enum ntvm_availability a;

	ntvm_fd();	/* decides, at the first use */
	ntvm_lib_lock();
	a = probe.avail;
	ntvm_lib_unlock();
	return a;
}

NTVM_EXPORT const char *ntvm_diagnostic(void)
{
	ntvm_fd();
	/* Written once it is decided; an OPEN_FAILED one may be rewritten. */
	return probe.message;
}

NTVM_EXPORT const char *ntvm_module_version(void)
{
	ntvm_fd();
	return probe.module_version[0] ? probe.module_version : NULL;
}

NTVM_EXPORT unsigned int ntvm_module_api(void)
{
	unsigned int api;

	ntvm_fd();
	ntvm_lib_lock();
	api = probe.module_api;
	ntvm_lib_unlock();
	return api;
}
