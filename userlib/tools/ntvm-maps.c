// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ntvm-maps PID: a process's NT regions, as Sysinternals' VMMap or pmap
 * show memory, from debugfs ntvm/maps/PID (Documentation/ntvm.rst,
 * "Seeing inside"; ntvm-maps(1)).
 *
 * Built on its own by the top Makefile (make tools).  The selftests
 * include this file with NTVM_MAPS_NO_MAIN and call ntvm_maps_main().
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define NTVM_MAPS_DEBUGFS	"/sys/kernel/debug"
#define NTVM_MAPS_DEBUGFS_MAGIC	0x64626720

struct ntvm_maps_region {
	uint64_t base, size, alloc_base;
	unsigned int protect, alloc_protect;
	char state[16], type[16], flags[96];
};

struct ntvm_maps {
	struct ntvm_maps_region *r;
	size_t n, cap;
	int have_stats;
	uint64_t reserved, committed, allocations, waste, largest_free;
};

static const char *ntvm_maps_prog = "ntvm-maps";

static void ntvm_maps_free(struct ntvm_maps *m)
{
	free(m->r);
	memset(m, 0, sizeof(*m));
}

/* Why the maps file of pid cannot be read: one clear sentence. */
static void ntvm_maps_why(long pid, int err)
{
	char path[96];
	struct statfs sf;

	if (statfs(NTVM_MAPS_DEBUGFS, &sf) || sf.f_type != NTVM_MAPS_DEBUGFS_MAGIC) {
		fprintf(stderr, "%s: debugfs is not mounted on %s (mount -t debugfs none %s)\n",
			ntvm_maps_prog, NTVM_MAPS_DEBUGFS, NTVM_MAPS_DEBUGFS);
		return;
	}
	if (geteuid() != 0 || err == EACCES || err == EPERM) {
		fprintf(stderr, "%s: permission denied: only root can read %s/ntvm/maps\n",
			ntvm_maps_prog, NTVM_MAPS_DEBUGFS);
		return;
	}
	if (access(NTVM_MAPS_DEBUGFS "/ntvm/maps", F_OK)) {
		fprintf(stderr, "%s: the ntvm module is not loaded (modprobe ntvm), or too old for %s/ntvm/maps\n",
			ntvm_maps_prog, NTVM_MAPS_DEBUGFS);
		return;
	}
	snprintf(path, sizeof(path), "/proc/%ld", pid);
	if (access(path, F_OK))
		fprintf(stderr, "%s: no process %ld\n", ntvm_maps_prog, pid);
	else
		fprintf(stderr, "%s: process %ld has no NT address space (it has not opened /dev/ntvm)\n",
			ntvm_maps_prog, pid);
}

/* Read and parse debugfs ntvm/maps/PID; 0, or -1 after a message. */
static int ntvm_maps_read(long pid, struct ntvm_maps *m)
{
	char path[96], line[512];
	struct ntvm_maps_region r;
	FILE *f;
	void *p;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), NTVM_MAPS_DEBUGFS "/ntvm/maps/%ld", pid);
	f = fopen(path, "r");
	if (!f) {
		ntvm_maps_why(pid, errno);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		if (!strncmp(line, "stats ", 6)) {
			if (sscanf(line, "stats reserved_bytes=%" SCNu64 " committed_bytes=%" SCNu64
				   " allocations=%" SCNu64 " granularity_waste=%" SCNu64
				   " largest_free=%" SCNu64, &m->reserved, &m->committed,
				   &m->allocations, &m->waste, &m->largest_free) == 5)
				m->have_stats = 1;
			continue;
		}
		memset(&r, 0, sizeof(r));
		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %15s %15s %x %" SCNx64 " %x %95s",
			   &r.base, &r.size, r.state, r.type, &r.protect, &r.alloc_base,
			   &r.alloc_protect, r.flags) != 8) {
			fprintf(stderr, "%s: %s: unexpected line: %s", ntvm_maps_prog, path, line);
			continue;
		}
		if (m->n == m->cap) {
			m->cap = m->cap ? 2 * m->cap : 64;
			p = realloc(m->r, m->cap * sizeof(*m->r));
			if (!p) {
				fclose(f);
				ntvm_maps_free(m);
				fprintf(stderr, "%s: out of memory\n", ntvm_maps_prog);
				return -1;
			}
			m->r = p;
		}
		m->r[m->n++] = r;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: %s: %s\n", ntvm_maps_prog, path, strerror(errno));
		fclose(f);
		ntvm_maps_free(m);
		return -1;
	}
	fclose(f);
	return 0;
}

/* PAGE_* as Windows names it, with the modifiers after a '+'. */
static const char *ntvm_maps_prot(unsigned int prot, char *buf, size_t len)
{
	static const char *const names[] = {
		"NOACCESS", "READONLY", "READWRITE", "WRITECOPY", "EXECUTE",
		"EXECUTE_READ", "EXECUTE_READWRITE", "EXECUTE_WRITECOPY",
	};
	unsigned int base = prot & 0xff, i;
	const char *name = NULL;

	if (!prot)
		return "-";
	for (i = 0; i < 8; i++)
		if (base == 1u << i)
			name = names[i];
	snprintf(buf, len, "%s%s%s%s", name ? name : "?",
		 prot & 0x100 ? "+GUARD" : "", prot & 0x200 ? "+NOCACHE" : "",
		 prot & 0x400 ? "+WRITECOMBINE" : "");
	return buf;
}

/* A size as pmap shows it: K. */
static void ntvm_maps_kb(char *buf, size_t len, uint64_t bytes)
{
	snprintf(buf, len, "%" PRIu64 "K", bytes >> 10);
}

static int ntvm_maps_is_nt(const struct ntvm_maps_region *r)
{
	return strcmp(r->state, "free") && !strstr(r->flags, "foreign");
}

static void ntvm_maps_table(FILE *out, long pid, const struct ntvm_maps *m, int all)
{
	uint64_t tot[3] = { 0 };	/* commit, reserve, free */
	char sz[32], p1[48], p2[48];
	size_t i, shown = 0;

	fprintf(out, "%ld:\n", pid);
	fprintf(out, "%-16s %10s %-7s %-7s %-24s %-16s %-24s %s\n", "Address", "Size",
		"State", "Type", "Protect", "AllocBase", "AllocProtect", "Flags");
	for (i = 0; i < m->n; i++) {
		const struct ntvm_maps_region *r = &m->r[i];

		if (!all && !ntvm_maps_is_nt(r))
			continue;
		shown++;
		if (!strcmp(r->state, "commit"))
			tot[0] += r->size;
		else if (!strcmp(r->state, "reserve"))
			tot[1] += r->size;
		else
			tot[2] += r->size;
		ntvm_maps_kb(sz, sizeof(sz), r->size);
		fprintf(out, "%016" PRIx64 " %10s %-7s %-7s %-24s %016" PRIx64 " %-24s %s\n",
			r->base, sz, r->state, r->type,
			ntvm_maps_prot(r->protect, p1, sizeof(p1)), r->alloc_base,
			ntvm_maps_prot(r->alloc_protect, p2, sizeof(p2)), r->flags);
	}
	fprintf(out, "total: %zu regions, committed %" PRIu64 "K, reserved %" PRIu64 "K",
		shown, tot[0] >> 10, tot[1] >> 10);
	if (all)
		fprintf(out, ", free %" PRIu64 "K", tot[2] >> 10);
	fputc('\n', out);
	if (m->have_stats)
		fprintf(out, "ntvm: %" PRIu64 " allocations, reserved %" PRIu64 "K, committed %" PRIu64
			"K, granularity waste %" PRIu64 "K, largest free block %" PRIu64 "K\n",
			m->allocations, m->reserved >> 10, m->committed >> 10, m->waste >> 10,
			m->largest_free >> 10);
}

/* The colour of a region: by state and type, guard pages apart. */
static const char *ntvm_maps_colour(const struct ntvm_maps_region *r)
{
	if (!strcmp(r->state, "free"))
		return "#eeeeee";
	if (strstr(r->flags, "foreign"))
		return "#b0b0b0";
	if (strstr(r->flags, "guard"))
		return "#e74c3c";
	if (!strcmp(r->state, "reserve"))
		return strstr(r->flags, "placeholder") ? "#f8c471" : "#f4d03f";
	if (!strcmp(r->type, "mapped"))
		return "#58d68d";
	return (r->protect & 0xff) == 0x01 ? "#85929e" : "#5dade2";
}

/*
 * The address space as rows of boxes, one box per region, in address
 * order; a box is as wide as the logarithm of its size, so that a page
 * and a terabyte are both visible.
 */
static int ntvm_maps_svg(const char *file, long pid, const struct ntvm_maps *m, int all)
{
	const double row_w = 1000, row_h = 28, gap = 8, left = 10, top = 40;
	double x = left, y = top, w;
	char sz[32], p1[48];
	size_t i;
	FILE *out;

	out = fopen(file, "w");
	if (!out) {
		fprintf(stderr, "%s: %s: %s\n", ntvm_maps_prog, file, strerror(errno));
		return -1;
	}
	/* A first pass for the height. */
	for (i = 0; i < m->n; i++) {
		if (!all && !ntvm_maps_is_nt(&m->r[i]))
			continue;
		w = 6 + 14 * log2((double)(m->r[i].size >> 12) + 1);
		for (x += w; x > left + row_w; x -= row_w)
			y += row_h + gap;
	}
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		"font-family=\"monospace\" font-size=\"11\">\n"
		"<title>ntvm-maps %ld</title>\n"
		"<text x=\"%.0f\" y=\"16\">NT address space of process %ld (box width: log2 of the size in pages)</text>\n",
		row_w + 2 * left, y + row_h + 3 * gap + 30, pid, left, pid);
	x = left;
	y = top;
	for (i = 0; i < m->n; i++) {
		const struct ntvm_maps_region *r = &m->r[i];
		double rest;

		if (!all && !ntvm_maps_is_nt(r))
			continue;
		w = 6 + 14 * log2((double)(r->size >> 12) + 1);
		ntvm_maps_kb(sz, sizeof(sz), r->size);
		/* A box that does not fit goes on over the next rows. */
		for (rest = w; rest > 0;) {
			double piece = rest < left + row_w - x ? rest : left + row_w - x;

			fprintf(out, "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%.0f\" "
				"fill=\"%s\" stroke=\"#333333\" stroke-width=\"0.5\">"
				"<title>%016" PRIx64 " %s %s %s %s %s</title></rect>\n",
				x, y, piece, row_h, ntvm_maps_colour(r), r->base, sz, r->state,
				r->type, ntvm_maps_prot(r->protect, p1, sizeof(p1)), r->flags);
			rest -= piece;
			x += piece;
			if (x >= left + row_w - 0.01) {
				x = left;
				y += row_h + gap;
			}
		}
	}
	/* The legend. */
	{
		static const char *const legend[][2] = {
			{ "#5dade2", "committed" }, { "#85929e", "committed, no access" },
			{ "#f4d03f", "reserved" }, { "#f8c471", "placeholder" },
			{ "#58d68d", "view (mapped)" }, { "#e74c3c", "guard" },
			{ "#b0b0b0", "not ntvm's" }, { "#eeeeee", "free" },
		};
		double ly = y + row_h + 2 * gap, lx = left;

		for (i = 0; i < sizeof(legend) / sizeof(legend[0]); i++) {
			fprintf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" fill=\"%s\" "
				"stroke=\"#333333\" stroke-width=\"0.5\"/>"
				"<text x=\"%.0f\" y=\"%.0f\">%s</text>\n",
				lx, ly, legend[i][0], lx + 16, ly + 10, legend[i][1]);
			lx += 20 + 7 * strlen(legend[i][1]) + 10;
		}
	}
	fputs("</svg>\n", out);
	if (fclose(out)) {
		fprintf(stderr, "%s: %s: %s\n", ntvm_maps_prog, file, strerror(errno));
		return -1;
	}
	return 0;
}

static void ntvm_maps_usage(FILE *out)
{
	fprintf(out, "usage: %s [-a] [--svg FILE] PID\n"
		"  -a, --all       also free regions and memory ntvm did not allocate\n"
		"  -s, --svg FILE  also draw the address space into FILE (SVG)\n"
		"  -h, --help      this text\n", ntvm_maps_prog);
}

int ntvm_maps_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "svg", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *svg = NULL;
	struct ntvm_maps m;
	int all = 0, c, rc;
	char *end;
	long pid;

	optind = 1;
	while ((c = getopt_long(argc, argv, "as:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = 1;
			break;
		case 's':
			svg = optarg;
			break;
		case 'h':
			ntvm_maps_usage(stdout);
			return 0;
		default:
			ntvm_maps_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		ntvm_maps_usage(stderr);
		return 2;
	}
	errno = 0;
	pid = strtol(argv[optind], &end, 10);
	if (errno || *end || end == argv[optind] || pid <= 0) {
		fprintf(stderr, "%s: '%s' is not a process id\n", ntvm_maps_prog, argv[optind]);
		return 2;
	}
	if (ntvm_maps_read(pid, &m))
		return 1;
	ntvm_maps_table(stdout, pid, &m, all);
	rc = svg && ntvm_maps_svg(svg, pid, &m, all) ? 1 : 0;
	ntvm_maps_free(&m);
	if (fflush(stdout)) {
		fprintf(stderr, "%s: writing the table: %s\n", ntvm_maps_prog, strerror(errno));
		rc = 1;
	}
	return rc;
}

#ifndef NTVM_MAPS_NO_MAIN
int main(int argc, char **argv)
{
	return ntvm_maps_main(argc, argv);
}
#endif
