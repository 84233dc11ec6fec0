/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * In the source tree, <ntvm.h> reaches the ABI header through this file;
 * "make install" installs uapi/linux/ntvm.h itself in its place, as
 * $(includedir)/ntvm/ntvm.h.  One header, no copy to keep in step.
 */
#include "../../uapi/linux/ntvm.h"
