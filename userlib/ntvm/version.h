/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Generated from the VERSION file by userlib/Makefile. */
#ifndef NTVM_VERSION_H
#define NTVM_VERSION_H
#define NTVM_VERSION_MAJOR 0
#define NTVM_VERSION_MINOR 3
#define NTVM_VERSION_PATCH 0
#define NTVM_VERSION_STRING "0.3.0"
#endif
