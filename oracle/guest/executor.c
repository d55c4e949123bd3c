// SPDX-License-Identifier: MIT
/*
 * HMM Lab oracle: the guest-side scenario executor.
 *
 * Runs programs compiled by src/main/services/oracle/kernel/program.ts (one line per step) on a
 * real kernel with test_hmm. Each scenario task is a real process: a controller process reads the
 * program and hands every step, in the scenario's order, to the process of the task that performs
 * it, over pipes created before any task exists (so a forked child inherits its own). A task
 * performs the step, writes its observations to the program's record file and acknowledges.
 *
 * Before each step the performing process writes "hmmlab step N" into the ftrace trace_marker,
 * so every kprobe event that follows is tagged with the step that caused it.
 *
 * Data conventions (docs/fidelity.md "Conventions"): one token per 4 KiB page. A page written
 * with token v holds v in every one of its 1024 ints; a check reads every int of the page.
 *
 * Usage: executor run PROGRAMS OUTDIR   (controller; PROGRAMS is the text the host compiled)
 *        executor task ...              (internal: a spawned task after exec)
 *        executor calibrate OUTDIR DEV... (one MIGRATE per device, to learn its owner pointer)
 *        executor khugepaged park|state (stop khugepaged's background scan; print its counters)
 *
 * Record lines (OUTDIR/<program>/steps.txt), each starting with a kind and the step index:
 *   R idx ret cpages faults      return code (negative errno), counters ('-' when none)
 *   T idx task pid               a task's process id (spawn, fork)
 *   L idx task n                 the task lists its n live regions after the step (n may be 0)
 *   G idx task region addr pages seq   one of them (hex address; seq: placement order, the newest
 *                                one owns pages two regions cover, src/main/services/oracle/regions.ts)
 *   M idx task region pages present swapped exclusive soft_dirty zero   pagemap summary
 *   V idx task vmpte_kb rssanon_kb
 *   N idx hexbytes               SNAPSHOT bytes
 *   D idx ok first_bad what      a data check (first_bad '-' when ok)
 *   X idx text                   a note (something not done or not observable)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- lib/test_hmm_uapi.h ---- */
struct hmm_dmirror_cmd {
	uint64_t addr;
	uint64_t ptr;
	uint64_t npages;
	uint64_t cpages;
	uint64_t faults;
};
#define HMM_DMIRROR_READ _IOWR('H', 0x00, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_WRITE _IOWR('H', 0x01, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_DEV _IOWR('H', 0x02, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_SYS _IOWR('H', 0x03, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_SNAPSHOT _IOWR('H', 0x04, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_EXCLUSIVE _IOWR('H', 0x05, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_CHECK_EXCLUSIVE _IOWR('H', 0x06, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_RELEASE _IOWR('H', 0x07, struct hmm_dmirror_cmd)
/* newer kernels only (lib/test_hmm_uapi.h after 6.12): the host refuses the step on a kernel
 * whose tree does not define it (program.ts GuestFeatures); 6.12 would answer -EINVAL */
#define HMM_DMIRROR_FLAGS _IOWR('H', 0x08, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_FLAG_FAIL_ALLOC (1ULL << 0)

/* ---- mm/gup_test.h ---- */
struct gup_test {
	uint64_t get_delta_usec;
	uint64_t put_delta_usec;
	uint64_t addr;
	uint64_t size;
	uint32_t nr_pages_per_call;
	uint32_t gup_flags;
	uint32_t test_flags;
	uint32_t which_pages[8];
};
#define GUP_FAST_BENCHMARK _IOWR('g', 1, struct gup_test)
#define PIN_FAST_BENCHMARK _IOWR('g', 2, struct gup_test)
#define PIN_LONGTERM_BENCHMARK _IOWR('g', 3, struct gup_test)
#define GUP_BASIC_TEST _IOWR('g', 4, struct gup_test)
#define PIN_BASIC_TEST _IOWR('g', 5, struct gup_test)
#define FOLL_WRITE 0x01
#define FOLL_LONGTERM 0x100

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_process_mrelease
#define SYS_process_mrelease 448
#endif

#define PAGE 4096UL
#define INTS_PER_PAGE (PAGE / sizeof(int32_t))
#define MAXTASKS 64
#define MAXREGIONS 128
#define MAXFDS 64
#define NAMELEN 64
#define LINELEN 8192
/* Where the simulator's mmap places the first mapping: page 0x100000 (4 GiB); the executor uses
 * the same page numbers as addresses, so layouts (and VMA merges) match the model's. */
#define MMAP_BASE_PAGE 0x100000UL
/* Per-task scratch (ioctl mirror buffers, pread/pwrite): MAP_SHARED so fork does not COW it. */
#define SCRATCH_ADDR 0x600000000000UL
#define BUFDIR "/run/hmmlab/buf"

struct region {
	char name[NAMELEN];
	unsigned long addr, pages;
	int anon_private; /* private anonymous: a page never touched reads 0 */
	int used;
	unsigned long seq; /* placement order (a forked child continues its parent's count) */
};
struct fdent {
	char name[NAMELEN];
	int fd;
	int used;
};

/* ---- per-process state (a forked task inherits a copy, as its mm does) ---- */
static char g_task[NAMELEN] = "-";
static int g_cmd_rfd = -1; /* this task's command pipe */
static int g_ack_wfd = -1;
static int g_out_fd = -1;
static int g_marker_fd = -1;
static struct region g_regions[MAXREGIONS];
static struct fdent g_fds[MAXFDS];
static unsigned long g_mmap_base = MMAP_BASE_PAGE;
static unsigned long g_region_seq;
static char *g_scratch;
static unsigned long g_scratch_pages;
static int g_gup_fd = -1;

/* ---- output ---- */
static void rec(const char *fmt, ...)
{
	char buf[LINELEN * 2];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(g_out_fd, buf, n) < 0) {
		/* nothing better to do: the host sees the record missing */
	}
}

static void marker(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (g_marker_fd >= 0 && n > 0 && write(g_marker_fd, buf, n) < 0) {
		/* tracing not available: the host notes the missing markers */
	}
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "executor: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

/* ---- key=value arguments ---- */
#define MAXARGS 24
struct args {
	int n;
	char *k[MAXARGS];
	char *v[MAXARGS];
};

static void parse_args(char *s, struct args *a)
{
	a->n = 0;
	char *save = NULL;
	for (char *t = strtok_r(s, " \t\n", &save); t && a->n < MAXARGS; t = strtok_r(NULL, " \t\n", &save)) {
		char *eq = strchr(t, '=');
		if (!eq)
			continue;
		*eq = 0;
		a->k[a->n] = t;
		a->v[a->n] = eq + 1;
		a->n++;
	}
}

static const char *arg(const struct args *a, const char *k)
{
	for (int i = 0; i < a->n; i++)
		if (!strcmp(a->k[i], k))
			return a->v[i];
	return NULL;
}

static long argl(const struct args *a, const char *k, long dflt)
{
	const char *v = arg(a, k);
	return v ? strtol(v, NULL, 0) : dflt;
}

/* ---- patterns: zero | index | neg | plus:C | const:C (rounds resolved by the compiler) ---- */
struct pattern {
	int kind; /* 0 zero, 1 index, 2 neg, 3 plus, 4 const */
	long c;
};

static struct pattern parse_pattern(const char *s)
{
	struct pattern p = { 0, 0 };
	if (!s || !strcmp(s, "zero"))
		return p;
	if (!strcmp(s, "index"))
		p.kind = 1;
	else if (!strcmp(s, "neg"))
		p.kind = 2;
	else if (!strncmp(s, "plus:", 5)) {
		p.kind = 3;
		p.c = strtol(s + 5, NULL, 0);
	} else if (!strncmp(s, "const:", 6)) {
		p.kind = 4;
		p.c = strtol(s + 6, NULL, 0);
	}
	return p;
}

static int32_t pattern_value(struct pattern p, long page)
{
	switch (p.kind) {
	case 1:
		return (int32_t)page;
	case 2:
		return (int32_t)-page;
	case 3:
		return (int32_t)(page + p.c);
	case 4:
		return (int32_t)p.c;
	default:
		return 0;
	}
}

static void fill_page(void *dst, int32_t v)
{
	int32_t *p = dst;
	for (unsigned long i = 0; i < INTS_PER_PAGE; i++)
		p[i] = v;
}

/* 1 when every int of the page holds v */
static int page_holds(const void *src, int32_t v)
{
	const int32_t *p = src;
	for (unsigned long i = 0; i < INTS_PER_PAGE; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

/* ---- tables ---- */
static struct region *region_find(const char *name)
{
	for (int i = 0; i < MAXREGIONS; i++)
		if (g_regions[i].used && !strcmp(g_regions[i].name, name))
			return &g_regions[i];
	return NULL;
}

static struct region *region_set(const char *name, unsigned long addr, unsigned long pages, int anon_private)
{
	struct region *r = region_find(name);
	for (int i = 0; !r && i < MAXREGIONS; i++)
		if (!g_regions[i].used)
			r = &g_regions[i];
	if (!r)
		die("too many regions");
	snprintf(r->name, NAMELEN, "%s", name);
	r->addr = addr;
	r->pages = pages;
	r->anon_private = anon_private;
	r->used = 1;
	r->seq = ++g_region_seq;
	return r;
}

static struct fdent *fd_find(const char *name)
{
	for (int i = 0; i < MAXFDS; i++)
		if (g_fds[i].used && !strcmp(g_fds[i].name, name))
			return &g_fds[i];
	return NULL;
}

static int fd_add(const char *name, int fd)
{
	for (int i = 0; i < MAXFDS; i++)
		if (!g_fds[i].used) {
			snprintf(g_fds[i].name, NAMELEN, "%s", name);
			g_fds[i].fd = fd;
			g_fds[i].used = 1;
			return 0;
		}
	return -EMFILE;
}

/* Where the simulator's mmap puts a mapping of npages that names no address: at the cursor (after
 * the previous one and a 2 MiB gap), 2 MiB aligned when huge or at least 2 MiB. The caller moves
 * the cursor to at + npages + 512. */
static unsigned long place_at(unsigned long npages, int huge)
{
	unsigned long align = (huge || npages >= 512) ? 512 : 1;
	return (g_mmap_base + align - 1) / align * align;
}

/* Resolves region/off/len (pages; len -1 = to the end) to an address range, as rangeOf does. */
static int range_of(const struct args *a, unsigned long *start, unsigned long *npages, struct region **rp)
{
	const char *rn = arg(a, "region");
	struct region *r = rn ? region_find(rn) : NULL;
	if (!r)
		return -EINVAL;
	long off = argl(a, "off", 0);
	long len = argl(a, "len", -1);
	if (len < 0)
		len = (long)r->pages - off;
	if (off < 0 || len <= 0)
		return -EINVAL;
	*start = r->addr + off * PAGE;
	*npages = len;
	if (rp)
		*rp = r;
	return 0;
}

/* ---- faults with a SIGSEGV/SIGBUS guard ---- */
static sigjmp_buf g_jmp;
static volatile sig_atomic_t g_guard;
static volatile int g_sig_code, g_sig_no;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!g_guard) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	g_sig_no = sig;
	g_sig_code = si->si_code;
	siglongjmp(g_jmp, 1);
}

static int fault_ret(int write)
{
	if (g_sig_no == SIGSEGV && g_sig_code == SEGV_ACCERR && write)
		return -EPERM;
	return -EFAULT;
}

/* /proc/self/maps, whole, NUL-terminated, in a static buffer; NULL when it cannot be read. */
static char *read_maps(void)
{
	static char buf[1 << 16];
	int fd = open("/proc/self/maps", O_RDONLY);
	if (fd < 0)
		return NULL;
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	return buf;
}

/* The next mapping of a maps text from *cur on: its range, permissions and line (len bytes,
 * without the newline); 0 at the end. */
static int maps_next(char **cur, unsigned long *a, unsigned long *b, char perm[8], const char **line, size_t *len)
{
	while (*cur && **cur) {
		char *l = *cur, *nl = strchr(l, '\n');
		*cur = nl ? nl + 1 : NULL;
		if (sscanf(l, "%lx-%lx %7s", a, b, perm) != 3)
			continue;
		*line = l;
		*len = nl ? (size_t)(nl - l) : strlen(l);
		return 1;
	}
	return 0;
}

/* checkAccess of the model (and of a CPU access): every page of [start, start + npages) in a VMA
 * that is readable (-EFAULT otherwise) and, for a write, writable (-EPERM otherwise); read from
 * /proc/self/maps before touching anything, so a bad range faults nothing in. */
static int check_access(unsigned long start, unsigned long npages, int write)
{
	char *maps = read_maps();
	if (!maps)
		return 0;
	unsigned long at = start, end = start + npages * PAGE;
	while (at < end) {
		int found = 0;
		char *cur = maps, perm[8];
		const char *line;
		size_t len;
		unsigned long a, b;
		while (maps_next(&cur, &a, &b, perm, &line, &len)) {
			if (at < a || at >= b)
				continue;
			found = 1;
			if (perm[0] != 'r')
				return -EFAULT;
			if (write && perm[1] != 'w')
				return -EPERM;
			at = b;
			break;
		}
		if (!found)
			return -EFAULT;
	}
	return 0;
}

/* How a CPU access step treats each page (the model's faultIn). */
enum access {
	ACCESS_READ, /* touch: one byte read */
	ACCESS_WRITE, /* touch write: one atomic "or 0", a single write fault that leaves the data */
	ACCESS_FILL, /* write_data: the page's token in every int */
};

/* Accesses every page of [start, start + npages) as `how` says, after check_access; a fault that
 * still comes (SIGSEGV/SIGBUS under the guard) is -EFAULT, or -EPERM for a write to a read-only
 * page. first_page and pat: the pattern of ACCESS_FILL, page first_page + i for page i. */
static int cpu_access(unsigned long start, unsigned long npages, enum access how, long first_page, struct pattern pat)
{
	int write = how != ACCESS_READ;
	int chk = check_access(start, npages, write);
	if (chk)
		return chk;
	volatile unsigned long i = 0;
	g_guard = 1;
	if (sigsetjmp(g_jmp, 1)) {
		g_guard = 0;
		return fault_ret(write);
	}
	for (i = 0; i < npages; i++) {
		char *p = (char *)(start + i * PAGE);
		if (how == ACCESS_FILL)
			fill_page(p, pattern_value(pat, first_page + (long)i));
		else if (how == ACCESS_WRITE)
			__atomic_fetch_or(p, 0, __ATOMIC_SEQ_CST);
		else
			(void)*(volatile char *)p;
	}
	g_guard = 0;
	return 0;
}

/* ---- observations ---- */
#define PM_PRESENT (1ULL << 63)
#define PM_SWAP (1ULL << 62)
#define PM_MMAP_EXCLUSIVE (1ULL << 56)
#define PM_SOFT_DIRTY (1ULL << 55)
#define PM_PFN_MASK ((1ULL << 55) - 1)
#define KPF_ZERO_PAGE 24

static int read_pagemap(int fd, unsigned long addr, unsigned long n, uint64_t *out)
{
	ssize_t want = n * 8;
	ssize_t got = pread(fd, out, want, (addr / PAGE) * 8);
	return got == want ? 0 : -1;
}

static void pagemap_summary(long idx, const char *task)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	int kfd = open("/proc/kpageflags", O_RDONLY);
	static uint64_t ent[512];
	if (fd < 0) {
		rec("X %ld pagemap of %s: open: %s", idx, task, strerror(errno));
		return;
	}
	for (int i = 0; i < MAXREGIONS; i++) {
		struct region *r = &g_regions[i];
		if (!r->used)
			continue;
		unsigned long present = 0, swapped = 0, excl = 0, sd = 0, zero = 0;
		int zero_known = kfd >= 0, ok = 1;
		for (unsigned long p = 0; p < r->pages && ok; p += 512) {
			unsigned long n = r->pages - p < 512 ? r->pages - p : 512;
			if (read_pagemap(fd, r->addr + p * PAGE, n, ent)) {
				ok = 0;
				break;
			}
			for (unsigned long j = 0; j < n; j++) {
				uint64_t e = ent[j];
				if (e & PM_PRESENT)
					present++;
				if (e & PM_SWAP)
					swapped++;
				if (e & PM_MMAP_EXCLUSIVE)
					excl++;
				if (e & PM_SOFT_DIRTY)
					sd++;
				/* the zero page is never PM_MMAP_EXCLUSIVE (vm_normal_page is NULL for it) */
				if ((e & PM_PRESENT) && !(e & PM_MMAP_EXCLUSIVE) && zero_known) {
					uint64_t pfn = e & PM_PFN_MASK, fl = 0;
					if (pfn && pread(kfd, &fl, 8, pfn * 8) == 8) {
						if (fl & (1ULL << KPF_ZERO_PAGE))
							zero++;
					} else
						zero_known = 0;
				}
			}
		}
		if (!ok) {
			rec("X %ld pagemap of %s %s: read failed", idx, task, r->name);
			continue;
		}
		if (zero_known)
			rec("M %ld %s %s %lu %lu %lu %lu %lu %lu", idx, task, r->name, r->pages, present, swapped, excl, sd, zero);
		else
			rec("M %ld %s %s %lu %lu %lu %lu %lu -", idx, task, r->name, r->pages, present, swapped, excl, sd);
	}
	close(fd);
	if (kfd >= 0)
		close(kfd);
}

static void status_summary(long idx, const char *task)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	long pte = -1, rss = -1;
	char *p = strstr(buf, "VmPTE:");
	if (p)
		pte = strtol(p + 6, NULL, 10);
	p = strstr(buf, "RssAnon:");
	if (p)
		rss = strtol(p + 8, NULL, 10);
	rec("V %ld %s %ld %ld", idx, task, pte, rss);
}

static void after_step(long idx)
{
	int n = 0;
	for (int i = 0; i < MAXREGIONS; i++)
		n += g_regions[i].used;
	rec("L %ld %s %d", idx, g_task, n);
	for (int i = 0; i < MAXREGIONS; i++)
		if (g_regions[i].used)
			rec("G %ld %s %s %lx %lu %lu", idx, g_task, g_regions[i].name, g_regions[i].addr, g_regions[i].pages, g_regions[i].seq);
	pagemap_summary(idx, g_task);
	status_summary(idx, g_task);
}

/* ---- buffers (user_buffer, into:, pread into:) live in files so any task and the controller can use them ---- */
static void buffer_store(const char *name, long first, const char *data, unsigned long pages)
{
	char path[256];
	snprintf(path, sizeof(path), BUFDIR "/%s", name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return;
	char hdr[64];
	memset(hdr, 0, sizeof(hdr));
	snprintf(hdr, sizeof(hdr), "%ld %lu", first, pages);
	if (write(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) || (pages && write(fd, data, pages * PAGE) != (ssize_t)(pages * PAGE))) {
		/* a short write shows as a failed check */
	}
	close(fd);
}

/* Checks buffer pages [off, off + len) (len -1: to the end) against the pattern of page first + i. */
static void buffer_check(long idx, const char *name, long off, long len, struct pattern pat)
{
	char path[256], hdr[64];
	snprintf(path, sizeof(path), BUFDIR "/%s", name);
	int fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr)) {
		rec("D %ld 0 0 buffer %s", idx, name);
		rec("X %ld buffer %s: no successful device_read filled it", idx, name);
		if (fd >= 0)
			close(fd);
		return;
	}
	long first = 0;
	unsigned long pages = 0;
	sscanf(hdr, "%ld %lu", &first, &pages);
	if (len < 0)
		len = (long)pages - off;
	long bad = -1;
	if (off + len > (long)pages || len < 0)
		bad = (long)pages;
	static char page[PAGE];
	for (long i = off; bad < 0 && i < off + len; i++) {
		if (pread(fd, page, PAGE, sizeof(hdr) + i * PAGE) != (ssize_t)PAGE || !page_holds(page, pattern_value(pat, first + i)))
			bad = i;
	}
	close(fd);
	if (bad < 0)
		rec("D %ld 1 - buffer %s", idx, name);
	else
		rec("D %ld 0 %ld buffer %s", idx, bad, name);
}

/* The task's memory holds the pattern, read without faulting anything in (as the model's expect
 * does): present pages through /proc/self/mem; never-touched private anonymous pages are 0;
 * swap-type entries (device-private, device-exclusive, migration) cannot be read without a fault
 * that would change the state, so they are left out and said so. */
static void memory_check(long idx, const struct args *a)
{
	unsigned long start, npages;
	struct region *r;
	if (range_of(a, &start, &npages, &r)) {
		rec("D %ld 0 0 memory %s %s", idx, g_task, arg(a, "region") ? arg(a, "region") : "?");
		rec("X %ld memory of %s: region not mapped", idx, g_task);
		return;
	}
	struct pattern pat = parse_pattern(arg(a, "pat"));
	long off = (long)((start - r->addr) / PAGE);
	int pm = open("/proc/self/pagemap", O_RDONLY);
	int mem = open("/proc/self/mem", O_RDONLY);
	static uint64_t ent[512];
	static char page[PAGE];
	long bad = -1;
	unsigned long unreadable = 0, faulted = 0;
	for (unsigned long p = 0; p < npages && bad < 0; p += 512) {
		unsigned long n = npages - p < 512 ? npages - p : 512;
		if (pm < 0 || read_pagemap(pm, start + p * PAGE, n, ent)) {
			bad = (long)p;
			break;
		}
		for (unsigned long j = 0; j < n && bad < 0; j++) {
			unsigned long addr = start + (p + j) * PAGE;
			int32_t want = pattern_value(pat, off + (long)(p + j));
			uint64_t e = ent[j];
			if (e & PM_SWAP) {
				unreadable++;
				continue;
			}
			if (!(e & PM_PRESENT)) {
				if (r->anon_private) {
					if (want != 0)
						bad = (long)(p + j) + off;
					continue;
				}
				faulted++;
			}
			if (mem < 0 || pread(mem, page, PAGE, (off_t)addr) != (ssize_t)PAGE || !page_holds(page, want))
				bad = (long)(p + j) + off;
		}
	}
	if (pm >= 0)
		close(pm);
	if (mem >= 0)
		close(mem);
	if (bad < 0)
		rec("D %ld 1 - memory %s %s", idx, g_task, r->name);
	else
		rec("D %ld 0 %ld memory %s %s", idx, bad - off, g_task, r->name);
	if (unreadable)
		rec("X %ld memory of %s %s: %lu pages behind swap-type entries (device-private, exclusive, migration) not read: a CPU read would fault them back", idx, g_task, r->name, unreadable);
	if (faulted)
		rec("X %ld memory of %s %s: %lu file/shared pages without a PTE were read through /proc/self/mem (a read fault, no invalidation)", idx, g_task, r->name, faulted);
}

/* ---- steps a task performs ---- */
static int prot_bits(const char *p)
{
	if (!p || !strcmp(p, "rw"))
		return PROT_READ | PROT_WRITE;
	if (!strcmp(p, "none"))
		return PROT_NONE;
	if (!strcmp(p, "r"))
		return PROT_READ;
	if (!strcmp(p, "rx"))
		return PROT_READ | PROT_EXEC;
	return PROT_READ | PROT_WRITE | PROT_EXEC;
}

static long st_cpages = -1, st_faults = -1;
static char st_snapshot[LINELEN];

static int dmirror_ioctl(int fd, unsigned long req, unsigned long addr, unsigned long npages)
{
	struct hmm_dmirror_cmd cmd = { .addr = addr, .ptr = (uint64_t)(uintptr_t)g_scratch, .npages = npages };
	int r = ioctl(fd, req, &cmd);
	st_cpages = (long)cmd.cpages;
	st_faults = (long)cmd.faults;
	return r < 0 ? -errno : 0;
}

static int scratch_fits(unsigned long npages)
{
	return npages <= g_scratch_pages;
}

static int task_step(long idx, const char *op, struct args *a)
{
	unsigned long start = 0, npages = 0;
	struct region *r = NULL;
	st_cpages = st_faults = -1;
	st_snapshot[0] = 0;

	if (!strcmp(op, "open")) {
		if (fd_find(arg(a, "fd")))
			return -EINVAL;
		char path[128];
		snprintf(path, sizeof(path), "/dev/%s", arg(a, "path") ? arg(a, "path") : "?");
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		return fd_add(arg(a, "fd"), fd);
	}
	if (!strcmp(op, "close")) {
		struct fdent *f = fd_find(arg(a, "fd"));
		if (!f)
			return -EBADF;
		int rc = close(f->fd) < 0 ? -errno : 0;
		f->used = 0;
		return rc;
	}
	if (!strcmp(op, "open_tmpfile")) {
		if (fd_find(arg(a, "fd")))
			return -EINVAL;
		int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		if (ftruncate(fd, argl(a, "size", 0) * PAGE) < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
		return fd_add(arg(a, "fd"), fd);
	}
	if (!strcmp(op, "mmap")) {
		unsigned long pages = argl(a, "pages", 0);
		int hugetlb = argl(a, "hugetlb", 0), huge = argl(a, "huge", 0), shared = argl(a, "shared", 0);
		const char *fdn = arg(a, "fd");
		int fd = -1;
		if (fdn) {
			struct fdent *f = fd_find(fdn);
			if (!f)
				return -EBADF;
			fd = f->fd;
		}
		if (pages == 0)
			return -EINVAL;
		if (hugetlb)
			pages = (pages + 511) / 512 * 512;
		unsigned long at = arg(a, "at") ? (unsigned long)argl(a, "at", 0) / PAGE : place_at(pages, huge || hugetlb);
		int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED_NOREPLACE;
		if (fd < 0)
			flags |= MAP_ANONYMOUS;
		if (hugetlb)
			flags |= MAP_HUGETLB;
		void *p = mmap((void *)(at * PAGE), pages * PAGE, prot_bits(arg(a, "prot")), flags, fd, 0);
		if (p == MAP_FAILED)
			return -errno;
		if (!arg(a, "at"))
			g_mmap_base = at + pages + 512;
		if (huge && madvise(p, pages * PAGE, MADV_HUGEPAGE) < 0)
			rec("X %ld madvise(MADV_HUGEPAGE) for a huge mapping failed: %s", idx, strerror(errno));
		region_set(arg(a, "region"), (unsigned long)p, pages, fd < 0 && !shared);
		return 0;
	}
	if (!strcmp(op, "touch") || !strcmp(op, "write_data")) {
		int rc = range_of(a, &start, &npages, &r);
		if (rc)
			return rc;
		if (!strcmp(op, "touch"))
			return cpu_access(start, npages, argl(a, "write", 0) ? ACCESS_WRITE : ACCESS_READ, 0, parse_pattern(NULL));
		return cpu_access(start, npages, ACCESS_FILL, (long)((start - r->addr) / PAGE), parse_pattern(arg(a, "pat")));
	}
	if (!strcmp(op, "munmap") || !strcmp(op, "mprotect") || !strcmp(op, "madvise") || !strcmp(op, "mremap") || !strcmp(op, "clear_refs") || !strcmp(op, "thp_split") || !strcmp(op, "reclaim")) {
		int rc = range_of(a, &start, &npages, &r);
		if (rc)
			return rc;
		void *s = (void *)start;
		size_t len = npages * PAGE;
		/* a region unmapped whole leaves the table (a partial munmap keeps it, as regions.ts) */
		int whole = start == r->addr && npages >= r->pages;
		if (!strcmp(op, "munmap")) {
			if (munmap(s, len) < 0)
				return -errno;
			if (whole)
				r->used = 0;
			return 0;
		}
		if (!strcmp(op, "mprotect"))
			return mprotect(s, len, prot_bits(arg(a, "prot"))) < 0 ? -errno : 0;
		if (!strcmp(op, "reclaim"))
			return madvise(s, len, MADV_PAGEOUT) < 0 ? -errno : 0;
		if (!strcmp(op, "madvise")) {
			const char *adv = arg(a, "advice");
			int m = !strcmp(adv, "dontneed") ? MADV_DONTNEED
				: !strcmp(adv, "free") ? MADV_FREE
				: !strcmp(adv, "pageout") ? MADV_PAGEOUT
				: !strcmp(adv, "hugepage") ? MADV_HUGEPAGE
				: !strcmp(adv, "nohugepage") ? MADV_NOHUGEPAGE
				: MADV_COLLAPSE;
			return madvise(s, len, m) < 0 ? -errno : 0;
		}
		if (!strcmp(op, "clear_refs")) {
			/* /proc/PID/clear_refs "4": soft-dirty, over the whole mm (clear_refs_write) */
			int fd = open("/proc/self/clear_refs", O_WRONLY);
			if (fd < 0)
				return -errno;
			int e = write(fd, "4", 1) < 0 ? -errno : 0;
			close(fd);
			return e;
		}
		if (!strcmp(op, "thp_split")) {
			/* debugfs split_huge_pages: "<pid>,<vaddr_start>,<vaddr_end>" (split_huge_pages_pid) */
			int fd = open("/sys/kernel/debug/split_huge_pages", O_WRONLY);
			if (fd < 0)
				return -errno;
			char b[128];
			int n = snprintf(b, sizeof(b), "%d,0x%lx,0x%lx", getpid(), start, start + len);
			int e = write(fd, b, n) < 0 ? -errno : 0;
			close(fd);
			return e;
		}
		/* mremap MAYMOVE|FIXED to `at` or to where the model places it */
		unsigned long dst;
		int dontunmap = argl(a, "dontunmap", 0);
		if (arg(a, "at"))
			dst = argl(a, "at", 0);
		else {
			unsigned long pg = place_at(npages, 0);
			g_mmap_base = pg + npages + 512;
			dst = pg * PAGE;
		}
		void *p = mremap(s, len, len, MREMAP_MAYMOVE | MREMAP_FIXED | (dontunmap ? MREMAP_DONTUNMAP : 0), (void *)dst);
		if (p == MAP_FAILED)
			return -errno;
		const char *to = arg(a, "to") ? arg(a, "to") : r->name;
		int anon_private = r->anon_private;
		/* the old region goes when all of it moved to a new name (not with MREMAP_DONTUNMAP) */
		if (strcmp(to, r->name) && whole && !dontunmap)
			r->used = 0;
		region_set(to, (unsigned long)p, npages, anon_private);
		return 0;
	}
	if (!strcmp(op, "device_read") || !strcmp(op, "device_write") || !strcmp(op, "migrate_to_device") || !strcmp(op, "migrate_to_system") || !strcmp(op, "snapshot") || !strcmp(op, "exclusive") || !strcmp(op, "check_exclusive")) {
		struct fdent *f = fd_find(arg(a, "fd"));
		if (!f) {
			st_cpages = st_faults = 0;
			return -EBADF;
		}
		int rc = range_of(a, &start, &npages, &r);
		if (rc) {
			st_cpages = st_faults = 0;
			return rc;
		}
		long first = (long)((start - r->addr) / PAGE);
		if (!scratch_fits(!strcmp(op, "snapshot") ? (npages + PAGE - 1) / PAGE : npages))
			die("scratch too small for %lu pages", npages);
		unsigned long req = !strcmp(op, "device_read") ? HMM_DMIRROR_READ
			: !strcmp(op, "device_write") ? HMM_DMIRROR_WRITE
			: !strcmp(op, "migrate_to_device") ? HMM_DMIRROR_MIGRATE_TO_DEV
			: !strcmp(op, "migrate_to_system") ? HMM_DMIRROR_MIGRATE_TO_SYS
			: !strcmp(op, "snapshot") ? HMM_DMIRROR_SNAPSHOT
			: !strcmp(op, "exclusive") ? HMM_DMIRROR_EXCLUSIVE
			: HMM_DMIRROR_CHECK_EXCLUSIVE;
		if (req == HMM_DMIRROR_WRITE) {
			struct pattern pat = parse_pattern(arg(a, "pat"));
			for (unsigned long i = 0; i < npages; i++)
				fill_page(g_scratch + i * PAGE, pattern_value(pat, first + (long)i));
		}
		rc = dmirror_ioctl(f->fd, req, start, npages);
		if (rc) {
			st_cpages = st_faults = 0;
		}
		if (req == HMM_DMIRROR_SNAPSHOT && rc == 0) {
			unsigned long n = npages * 2 + 1 < sizeof(st_snapshot) ? npages : (sizeof(st_snapshot) - 1) / 2;
			for (unsigned long i = 0; i < n; i++)
				sprintf(st_snapshot + 2 * i, "%02x", (unsigned char)g_scratch[i]);
			if (n < npages)
				rec("X %ld SNAPSHOT of %lu pages: only the first %lu bytes recorded", idx, npages, n);
		}
		const char *into = arg(a, "into");
		if (into && rc == 0)
			buffer_store(into, first, g_scratch, npages);
		if (req == HMM_DMIRROR_CHECK_EXCLUSIVE) {
			st_cpages = st_faults = -1;
		}
		return rc;
	}
	if (!strcmp(op, "release_device_memory") || !strcmp(op, "dmirror_flags")) {
		struct fdent *f = fd_find(arg(a, "fd"));
		if (!f)
			return -EBADF;
		/* the 6.12 ioctl rejects npages = 0 (addr >= addr + 0): one page of scratch */
		if (!strcmp(op, "release_device_memory")) {
			int rc = dmirror_ioctl(f->fd, HMM_DMIRROR_RELEASE, (unsigned long)g_scratch, 1);
			st_cpages = st_faults = -1;
			return rc;
		}
		int rc = dmirror_ioctl(f->fd, HMM_DMIRROR_FLAGS, (unsigned long)g_scratch, argl(a, "fail_alloc", 0) ? HMM_DMIRROR_FLAG_FAIL_ALLOC : 0);
		st_cpages = st_faults = -1;
		return rc;
	}
	if (!strcmp(op, "mirror")) {
		/* test_hmm mirrors the opener's mm at open (mmu_interval_notifier_insert in dmirror_fops_open) */
		struct fdent *f = fd_find(arg(a, "fd"));
		return f ? 0 : -EBADF;
	}
	if (!strcmp(op, "pwrite") || !strcmp(op, "pread")) {
		struct fdent *f = fd_find(arg(a, "fd"));
		if (!f)
			return -EBADF;
		long off = argl(a, "off", 0), len = argl(a, "len", -1);
		if (len < 0) {
			struct stat stt;
			if (fstat(f->fd, &stt) < 0)
				return -errno;
			len = (long)(stt.st_size / PAGE) - off;
			if (len < 0)
				len = 0;
		}
		if (!scratch_fits(len))
			die("scratch too small for %ld pages", len);
		if (!strcmp(op, "pwrite")) {
			struct pattern pat = parse_pattern(arg(a, "pat"));
			for (long i = 0; i < len; i++)
				fill_page(g_scratch + i * PAGE, pattern_value(pat, off + i));
			ssize_t n = pwrite(f->fd, g_scratch, len * PAGE, off * PAGE);
			return n < 0 ? -errno : (int)n;
		}
		ssize_t n = pread(f->fd, g_scratch, len * PAGE, off * PAGE);
		if (n < 0)
			return -errno;
		buffer_store(arg(a, "into"), off, g_scratch, n / PAGE);
		return (int)n;
	}
	if (!strcmp(op, "gup")) {
		int rc = range_of(a, &start, &npages, &r);
		if (rc)
			return rc;
		if (g_gup_fd < 0)
			g_gup_fd = open("/sys/kernel/debug/gup_test", O_RDWR | O_CLOEXEC);
		if (g_gup_fd < 0)
			return -errno;
		int fast = argl(a, "fast", 0), pin = argl(a, "pin", 0), lt = argl(a, "longterm", 0), wr = argl(a, "write", 1);
		unsigned long cmdn = fast ? (pin ? PIN_FAST_BENCHMARK : GUP_FAST_BENCHMARK)
			: pin ? (lt ? PIN_LONGTERM_BENCHMARK : PIN_BASIC_TEST)
			: GUP_BASIC_TEST;
		struct gup_test g = { .addr = start, .size = npages * PAGE, .nr_pages_per_call = (uint32_t)npages };
		g.gup_flags = (wr ? FOLL_WRITE : 0) | (lt && cmdn != PIN_LONGTERM_BENCHMARK ? FOLL_LONGTERM : 0);
		return ioctl(g_gup_fd, cmdn, &g) < 0 ? -errno : 0;
	}
	if (!strcmp(op, "memory")) {
		memory_check(idx, a);
		return 0;
	}
	if (!strcmp(op, "pagemap")) {
		pagemap_summary(idx, g_task);
		status_summary(idx, g_task);
		return 0;
	}
	rec("X %ld unknown op %s", idx, op);
	return -ENOSYS;
}

/* ---- task process: read commands, perform, record, acknowledge ---- */
static ssize_t read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return n ? (ssize_t)n : -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return (ssize_t)n;
}

static void ack(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	buf[n++] = '\n';
	if (write(g_ack_wfd, buf, n) < 0)
		_exit(3);
}

static void setup_scratch(void)
{
	if (!g_scratch_pages)
		g_scratch_pages = 1;
	void *p = mmap((void *)SCRATCH_ADDR, g_scratch_pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		die("scratch mmap: %s", strerror(errno));
	g_scratch = p;
}

/* Writes once to every page of the executor's own writable private mappings (data, bss, heap,
 * stack) while the task's mm has no notifiers yet: later writes to them then break no COW of a
 * file page and raise no CLEAR outside the scenario's regions. */
static void prefault_self(void)
{
	char *cur = read_maps(), perm[8];
	const char *line;
	size_t len;
	unsigned long a, b;
	while (maps_next(&cur, &a, &b, perm, &line, &len)) {
		if (perm[0] != 'r' || perm[1] != 'w' || perm[3] != 'p')
			continue;
		if (a >= SCRATCH_ADDR && a < SCRATCH_ADDR + (1UL << 40))
			continue;
		if (memmem(line, len, "[stack]", 7))
			a = b - 64 * PAGE > a ? b - 64 * PAGE : a; /* the part of the stack in use */
		for (unsigned long p = a; p < b; p += PAGE)
			__atomic_fetch_or((char *)p, 0, __ATOMIC_SEQ_CST);
	}
}

static void install_fault_handler(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGCHLD, SIG_IGN); /* forked tasks are reaped by the kernel: no zombies */
}

static void task_loop(void)
{
	static char line[LINELEN];
	for (;;) {
		if (read_line(g_cmd_rfd, line, sizeof(line)) < 0)
			_exit(0); /* the controller went away */
		/* "S idx op k=v..." a step (marker first) or "P idx op k=v..." a part of an expect step */
		char kind = line[0];
		char *save = NULL;
		strtok_r(line, " ", &save);
		long idx = strtol(strtok_r(NULL, " ", &save), NULL, 10);
		char *op = strtok_r(NULL, " ", &save);
		char *rest = save ? save : "";
		struct args a;
		parse_args(rest, &a);
		if (kind == 'S')
			marker("hmmlab step %ld", idx);
		if (!strcmp(op, "exit")) {
			_exit(0);
		}
		if (!strcmp(op, "fork")) {
			/* fork child=NAME cmd=FD */
			const char *child = arg(&a, "child");
			int cfd = (int)argl(&a, "cmd", -1);
			pid_t pid = fork();
			if (pid == 0) {
				snprintf(g_task, NAMELEN, "%s", child);
				g_cmd_rfd = cfd;
				continue;
			}
			if (pid < 0) {
				rec("R %ld %d - -", idx, -errno);
				after_step(idx);
				ack("done %ld %d", idx, -errno);
				continue;
			}
			rec("T %ld %s %d", idx, child, pid);
			rec("R %ld 0 - -", idx);
			after_step(idx);
			ack("done %ld 0 %d", idx, pid);
			continue;
		}
		int rc = task_step(idx, op, &a);
		if (kind == 'S') {
			if (st_cpages >= 0)
				rec("R %ld %d %ld %ld", idx, rc, st_cpages, st_faults);
			else
				rec("R %ld %d - -", idx, rc);
			if (st_snapshot[0])
				rec("N %ld %s", idx, st_snapshot);
			after_step(idx);
		}
		ack("done %ld %d", idx, rc);
	}
}

/* ---- controller ---- */
struct ctask {
	char name[NAMELEN];
	int cmd[2];
	pid_t pid;
	int pidfd;
	int alive;
};
static struct ctask g_tasks[MAXTASKS];
static int g_ntasks;
static int g_ack[2];

static struct ctask *ctask_find(const char *name)
{
	for (int i = 0; i < g_ntasks; i++)
		if (!strcmp(g_tasks[i].name, name))
			return &g_tasks[i];
	return NULL;
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Waits for the task's acknowledgement; 1 when it came, 0 when the task died first. */
static int wait_ack(struct ctask *t, char *buf, size_t cap)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = g_ack[0], .events = POLLIN }, { .fd = t->pidfd, .events = POLLIN } };
		int n = poll(p, t->pidfd >= 0 ? 2 : 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (p[0].revents & POLLIN)
			return read_line(g_ack[0], buf, cap) >= 0;
		if (t->pidfd >= 0 && (p[1].revents & POLLIN))
			return 0;
	}
}

static void wait_exit(struct ctask *t, long idx)
{
	if (t->pidfd >= 0) {
		struct pollfd p = { .fd = t->pidfd, .events = POLLIN };
		if (poll(&p, 1, 60000) <= 0)
			rec("X %ld %s did not exit within 60 s", idx, t->name);
		close(t->pidfd);
		t->pidfd = -1;
	}
	t->alive = 0;
}

static void send_cmd(struct ctask *t, const char *line)
{
	size_t n = strlen(line);
	if (write(t->cmd[1], line, n) != (ssize_t)n || write(t->cmd[1], "\n", 1) != 1)
		die("command pipe to %s: %s", t->name, strerror(errno));
}

static unsigned long g_prog_scratch = 1;
static char g_self_exe[PATH_MAX];

static void spawn_task(struct ctask *t, long idx)
{
	marker("hmmlab step %ld", idx);
	pid_t pid = fork();
	if (pid < 0) {
		rec("R %ld %d - -", idx, -errno);
		return;
	}
	if (pid == 0) {
		char a[8][32];
		snprintf(a[0], 32, "%d", t->cmd[0]);
		snprintf(a[1], 32, "%d", g_ack[1]);
		snprintf(a[2], 32, "%d", g_out_fd);
		snprintf(a[3], 32, "%d", g_marker_fd);
		snprintf(a[4], 32, "%lu", g_prog_scratch);
		snprintf(a[5], 32, "%ld", idx);
		char *argv[] = { "executor", "task", t->name, a[0], a[1], a[2], a[3], a[4], a[5], NULL };
		execv(g_self_exe, argv);
		_exit(127);
	}
	t->pid = pid;
	t->pidfd = pidfd_open_(pid);
	t->alive = 1;
	char buf[256];
	if (!wait_ack(t, buf, sizeof(buf))) {
		rec("R %ld %d - -", idx, -ECHILD);
		rec("X %ld %s died while starting", idx, t->name);
		t->alive = 0;
		return;
	}
	/* the task recorded R, T and its observations itself */
}

static void task_main(int argc, char **argv)
{
	if (argc < 9)
		die("task: arguments");
	snprintf(g_task, NAMELEN, "%s", argv[2]);
	g_cmd_rfd = atoi(argv[3]);
	g_ack_wfd = atoi(argv[4]);
	g_out_fd = atoi(argv[5]);
	g_marker_fd = atoi(argv[6]);
	g_scratch_pages = strtoul(argv[7], NULL, 10);
	long idx = atol(argv[8]);
	install_fault_handler();
	setup_scratch();
	prefault_self();
	rec("T %ld %s %d", idx, g_task, getpid());
	rec("R %ld 0 - -", idx);
	after_step(idx);
	ack("done %ld 0", idx);
	task_loop();
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int e = n < 0 ? -errno : 0;
	close(fd);
	return e;
}

static int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (in < 0 || out < 0) {
		if (in >= 0)
			close(in);
		if (out >= 0)
			close(out);
		return -1;
	}
	static char buf[1 << 16];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			break;
	close(in);
	close(out);
	return 0;
}

static void save_trace(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/trace.txt", dir);
	copy_file("/sys/kernel/tracing/trace", path);
	/* lost events: per-CPU "overrun" counters */
	snprintf(path, sizeof(path), "%s/trace-stats.txt", dir);
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	for (int cpu = 0; cpu < 64 && out >= 0; cpu++) {
		char p[128], buf[2048];
		snprintf(p, sizeof(p), "/sys/kernel/tracing/per_cpu/cpu%d/stats", cpu);
		int fd = open(p, O_RDONLY);
		if (fd < 0)
			break;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			char hdr[32];
			int h = snprintf(hdr, sizeof(hdr), "cpu%d\n", cpu);
			if (write(out, hdr, h) < 0 || write(out, buf, n) < 0)
				break;
		}
	}
	if (out >= 0)
		close(out);
	/* opening "trace" for writing with O_TRUNC clears the ring buffer */
	int fd = open("/sys/kernel/tracing/trace", O_WRONLY | O_TRUNC);
	if (fd >= 0)
		close(fd);
}

static void sleep_ns(long ns)
{
	struct timespec ts = { ns / 1000000000L, ns % 1000000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * One program:
 *   program ID
 *   scratch PAGES
 *   task NAME               (every task, in order of first appearance)
 *   step IDX TASK OP k=v... (TASK "-": the controller performs it)
 *   part TASK OP k=v...     (a data check of the expect step above)
 *   endprogram
 */
static void run_program(char **lines, int nlines, const char *outroot)
{
	char id[NAMELEN] = "?";
	sscanf(lines[0], "program %63s", id);
	char dir[PATH_MAX / 2], path[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/%s", outroot, id);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/steps.txt", dir);
	g_out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (g_out_fd < 0)
		die("%s: %s", path, strerror(errno));
	g_ntasks = 0;
	g_prog_scratch = 1;
	for (int i = 1; i < nlines; i++) {
		char name[NAMELEN];
		unsigned long s;
		if (sscanf(lines[i], "task %63s", name) == 1 && g_ntasks < MAXTASKS) {
			struct ctask *t = &g_tasks[g_ntasks++];
			memset(t, 0, sizeof(*t));
			snprintf(t->name, NAMELEN, "%s", name);
			t->pidfd = -1;
			if (pipe(t->cmd) < 0)
				die("pipe: %s", strerror(errno));
		} else if (sscanf(lines[i], "scratch %lu", &s) == 1)
			g_prog_scratch = s;
	}
	if (pipe(g_ack) < 0)
		die("pipe: %s", strerror(errno));
	/* buffers of an earlier program must not leak into this one */
	{
		mkdir("/run/hmmlab", 0755);
		mkdir(BUFDIR, 0755);
		/* remove files one by one (no shell here) */
		for (int i = 1; i < nlines; i++) {
			char name[NAMELEN];
			if (sscanf(lines[i], "buffer %63s", name) == 1) {
				snprintf(path, sizeof(path), BUFDIR "/%s", name);
				unlink(path);
			}
		}
	}
	marker("hmmlab program %s", id);
	long last_ret = 0;
	int have_ret = 0;
	char buf[LINELEN + 64];
	for (int i = 1; i < nlines; i++) {
		char *l = lines[i];
		if (strncmp(l, "step ", 5))
			continue;
		long idx;
		char task[NAMELEN], op[NAMELEN];
		int consumed = 0;
		if (sscanf(l, "step %ld %63s %63s %n", &idx, task, op, &consumed) < 3)
			die("bad step line: %s", l);
		char *rest = l + consumed;
		if (!strcmp(op, "repeat") || !strcmp(op, "when")) {
			marker("hmmlab step %ld", idx);
			continue;
		}
		if (!strcmp(task, "-")) {
			/* controller steps */
			marker("hmmlab step %ld", idx);
			char restc[LINELEN];
			snprintf(restc, sizeof(restc), "%s", rest);
			struct args a;
			parse_args(restc, &a);
			if (!strcmp(op, "expect")) {
				const char *ifr = arg(&a, "if_ret");
				int skip = ifr && (!have_ret || strtol(ifr, NULL, 10) != last_ret);
				/* data checks, each in the task that holds the memory or here for buffers */
				for (int j = i + 1; j < nlines && !strncmp(lines[j], "part ", 5); j++) {
					if (skip)
						continue;
					char ptask[NAMELEN], pop[NAMELEN];
					int pc = 0;
					if (sscanf(lines[j], "part %63s %63s %n", ptask, pop, &pc) < 2)
						continue;
					if (!strcmp(pop, "buffer")) {
						char pr[LINELEN];
						snprintf(pr, sizeof(pr), "%s", lines[j] + pc);
						struct args b;
						parse_args(pr, &b);
						buffer_check(idx, arg(&b, "name") ? arg(&b, "name") : "?", argl(&b, "off", 0), argl(&b, "len", -1), parse_pattern(arg(&b, "pat")));
						continue;
					}
					struct ctask *t = ctask_find(ptask);
					if (!t || !t->alive) {
						rec("D %ld 0 0 memory %s ?", idx, ptask);
						rec("X %ld memory of %s: the task is not running", idx, ptask);
						continue;
					}
					snprintf(buf, sizeof(buf), "P %ld %s %s", idx, pop, lines[j] + pc);
					send_cmd(t, buf);
					char ab[256];
					if (!wait_ack(t, ab, sizeof(ab))) {
						rec("X %ld %s died during a data check", idx, t->name);
						t->alive = 0;
					}
				}
				if (skip)
					rec("X %ld if_ret: the previous step returned %ld: data checks skipped", idx, last_ret);
				continue;
			}
			int rc = 0;
			if (!strcmp(op, "sleep")) {
				long ns = argl(&a, "ns", 0);
				if (ns > 1000000000L) {
					rec("X %ld sleep capped at 1 s", idx);
					ns = 1000000000L;
				}
				sleep_ns(ns);
				rec("R %ld - - -", idx);
				continue;
			} else if (!strcmp(op, "nr_hugepages")) {
				rc = write_file("/proc/sys/vm/nr_hugepages", arg(&a, "n") ? arg(&a, "n") : "0");
			} else if (!strcmp(op, "user_buffer")) {
				long pages = argl(&a, "pages", 0);
				struct pattern pat = parse_pattern(arg(&a, "pat"));
				char *data = pages ? malloc(pages * PAGE) : NULL;
				for (long k = 0; k < pages; k++)
					fill_page(data + k * PAGE, pattern_value(pat, k));
				buffer_store(arg(&a, "name"), 0, data, pages);
				free(data);
			} else {
				rec("X %ld the controller cannot do %s", idx, op);
				rc = -ENOSYS;
			}
			rec("R %ld %d - -", idx, rc);
			last_ret = rc;
			have_ret = 1;
			continue;
		}
		struct ctask *t = ctask_find(task);
		if (!strcmp(op, "spawn")) {
			if (!t || t->alive || t->pid) {
				marker("hmmlab step %ld", idx);
				rec("R %ld %d - -", idx, -EINVAL);
				last_ret = -EINVAL;
			} else {
				spawn_task(t, idx);
				last_ret = 0;
			}
			have_ret = 1;
			continue;
		}
		if (!t || !t->alive) {
			marker("hmmlab step %ld", idx);
			rec("R %ld %d - -", idx, -ESRCH);
			last_ret = -ESRCH;
			have_ret = 1;
			continue;
		}
		if (!strcmp(op, "oom_kill")) {
			/* SIGKILL, then process_mrelease: the oom reaper's __oom_reap_task_mm on the victim's mm */
			marker("hmmlab step %ld", idx);
			int rc = 0;
			if (kill(t->pid, SIGKILL) < 0)
				rc = -errno;
			else if (syscall(SYS_process_mrelease, t->pidfd, 0) < 0 && errno != ESRCH)
				rec("X %ld process_mrelease: %s", idx, strerror(errno));
			wait_exit(t, idx);
			rec("R %ld %d - -", idx, rc);
			last_ret = rc;
			have_ret = 1;
			continue;
		}
		if (!strcmp(op, "fork")) {
			struct args a;
			char restc[LINELEN];
			snprintf(restc, sizeof(restc), "%s", rest);
			parse_args(restc, &a);
			struct ctask *c = arg(&a, "child") ? ctask_find(arg(&a, "child")) : NULL;
			if (!c || c->alive || c->pid) {
				marker("hmmlab step %ld", idx);
				rec("R %ld %d - -", idx, -EINVAL);
				last_ret = -EINVAL;
				have_ret = 1;
				continue;
			}
			snprintf(buf, sizeof(buf), "S %ld fork child=%s cmd=%d", idx, c->name, c->cmd[0]);
			send_cmd(t, buf);
			char ab[256];
			if (!wait_ack(t, ab, sizeof(ab))) {
				rec("X %ld %s died during fork", idx, t->name);
				t->alive = 0;
				continue;
			}
			long ai;
			int rc = 0, pid = 0;
			sscanf(ab, "done %ld %d %d", &ai, &rc, &pid);
			if (rc == 0 && pid > 0) {
				c->pid = pid;
				c->pidfd = pidfd_open_(pid);
				c->alive = 1;
			}
			last_ret = rc;
			have_ret = 1;
			continue;
		}
		snprintf(buf, sizeof(buf), "S %ld %s %s", idx, op, rest);
		send_cmd(t, buf);
		if (!strcmp(op, "exit")) {
			wait_exit(t, idx);
			rec("R %ld 0 - -", idx);
			last_ret = 0;
			have_ret = 1;
			continue;
		}
		char ab[256];
		if (!wait_ack(t, ab, sizeof(ab))) {
			rec("R %ld - - -", idx);
			rec("X %ld %s died during the step", idx, t->name);
			t->alive = 0;
			continue;
		}
		long ai;
		int rc = 0;
		sscanf(ab, "done %ld %d", &ai, &rc);
		last_ret = rc;
		have_ret = 1;
	}
	/* every task still running exits now, in order: what follows is "trailing" */
	marker("hmmlab trailing");
	for (int i = 0; i < g_ntasks; i++) {
		struct ctask *t = &g_tasks[i];
		if (!t->alive)
			continue;
		send_cmd(t, "E -1 exit");
		wait_exit(t, -1);
	}
	marker("hmmlab end %s", id);
	for (int i = 0; i < g_ntasks; i++) {
		close(g_tasks[i].cmd[0]);
		close(g_tasks[i].cmd[1]);
		if (g_tasks[i].pidfd >= 0)
			close(g_tasks[i].pidfd);
	}
	close(g_ack[0]);
	close(g_ack[1]);
	close(g_out_fd);
	g_out_fd = -1;
	save_trace(dir);
}

static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (n + 65536 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, 65536);
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	buf[n] = 0;
	/* the input disk is padded with zeros */
	*len = strlen(buf);
	return buf;
}

static void controller_main(const char *progfile, const char *outroot)
{
	size_t len;
	char *text = slurp(progfile, &len);
	if (readlink("/proc/self/exe", g_self_exe, sizeof(g_self_exe) - 1) < 0)
		die("readlink /proc/self/exe: %s", strerror(errno));
	g_marker_fd = open("/sys/kernel/tracing/trace_marker", O_WRONLY);
	if (g_marker_fd < 0)
		fprintf(stderr, "executor: trace_marker: %s (no step tags)\n", strerror(errno));
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* split into lines */
	size_t cap = 1024, n = 0;
	char **lines = malloc(cap * sizeof(char *));
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (n == cap) {
			cap *= 2;
			lines = realloc(lines, cap * sizeof(char *));
		}
		lines[n++] = l;
	}
	for (size_t i = 0; i < n; i++) {
		if (strncmp(lines[i], "program ", 8))
			continue;
		size_t j = i + 1;
		while (j < n && strcmp(lines[j], "endprogram"))
			j++;
		run_program(lines + i, (int)(j - i), outroot);
		i = j;
	}
}

/* One MIGRATE_TO_DEV of one page per device: the trace shows each device's owner pointer. */
static void calibrate_main(int argc, char **argv)
{
	g_marker_fd = open("/sys/kernel/tracing/trace_marker", O_WRONLY);
	for (int i = 3; i < argc; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			char path[128];
			snprintf(path, sizeof(path), "/dev/%s", argv[i]);
			int fd = open(path, O_RDWR);
			if (fd < 0)
				_exit(1);
			char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			char *m = malloc(PAGE);
			memset(p, 1, PAGE);
			marker("hmmlab calibrate %s", argv[i]);
			struct hmm_dmirror_cmd cmd = { .addr = (uint64_t)(uintptr_t)p, .ptr = (uint64_t)(uintptr_t)m, .npages = 1 };
			int r = ioctl(fd, HMM_DMIRROR_MIGRATE_TO_DEV, &cmd);
			marker("hmmlab calibrated %s %d", argv[i], r);
			_exit(r < 0);
		}
		int st;
		waitpid(pid, &st, 0);
	}
	(void)argv[2];
}

/* ---- khugepaged (mm/khugepaged.c, 6.12) ---- */
#define KHUGEPAGED "/sys/kernel/mm/transparent_hugepage/khugepaged/"

static long read_knob(const char *name)
{
	char path[256], buf[64];
	snprintf(path, sizeof(path), KHUGEPAGED "%s", name);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

static void print_khugepaged(const char *what)
{
	printf("%s scan_sleep_millisecs=%ld full_scans=%ld pages_collapsed=%ld\n", what, read_knob("scan_sleep_millisecs"),
	       read_knob("full_scans"), read_knob("pages_collapsed"));
}

/*
 * Stop khugepaged's background scan before any scenario runs: the simulator collapses only on
 * request (MADV_COLLAPSE), never in the background, and a collapse between two steps changes
 * what the next step meets (benchmark_thp_migration re-split THPs that khugepaged had rebuilt).
 *
 * 6.12 has no knob that stops the thread while THP stays available: start_stop_khugepaged()
 * stops it only when !hugepage_pmd_enabled() (transparent_hugepage/enabled "never", which would
 * take THP from every scenario), pages_to_scan_store() refuses 0, and khugepaged/defrag only
 * picks the allocation's GFP flags (alloc_hugepage_khugepaged_gfpmask). What it honours is
 * scan_sleep_millisecs_store(): any unsigned int. With UINT_MAX, khugepaged_wait_work() sleeps
 * msecs_to_jiffies(UINT_MAX) = MAX_JIFFY_OFFSET jiffies after each pass, and only a write of
 * scan_sleep_millisecs or alloc_sleep_millisecs, or kthread_stop(), ends that sleep early
 * (khugepaged_should_wakeup() looks at khugepaged_sleep_expire, which only those reset).
 *
 * That sleep is taken only while the thread has an mm to scan (khugepaged_has_work()). With none
 * it waits in wait_event_freezable(khugepaged_wait_event()), and __khugepaged_enter() wakes it
 * for an immediate pass when the first mm with a VM_HUGEPAGE VMA is registered: that would be
 * the first scenario's (at its first THP fault, do_huge_pmd_anonymous_page()), racing its
 * steps. So a keeper process registers first, with a MADV_HUGEPAGE mapping that has nothing to
 * collapse (the PMD the pass scans is none); we wait until that pass is over (full_scans grows:
 * khugepaged_scan_mm_slot() reached the end of the list), and the keeper stays alive, so the
 * list is never empty again and no later mm wakes the thread. pages_collapsed counts the
 * background's collapses only, one per PMD (khugepaged_scan_mm_slot(); madvise_collapse() does
 * not count): the host reads it again after the run to show that nothing was collapsed.
 */
static int khugepaged_park(void)
{
	long scans0 = read_knob("full_scans");
	if (scans0 < 0) {
		printf("not-parked no %s (a kernel without THP or sysfs)\n", KHUGEPAGED);
		return 1;
	}
	int fd = open(KHUGEPAGED "scan_sleep_millisecs", O_WRONLY);
	if (fd < 0 || write(fd, "4294967295", 10) != 10) {
		printf("not-parked scan_sleep_millisecs: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	int p[2];
	if (pipe(p) < 0)
		die("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		/* the keeper */
		close(p[0]);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		/*
		 * [a - 4 KiB, a + 2 MiB), a 2 MiB aligned. khugepaged_enter_vma() registers an
		 * anonymous VMA only once it has an anon_vma (__thp_vma_allowable_orders(): no
		 * anon_vma, no orders outside a fault), so the page below a is written before the
		 * MADV_HUGEPAGE (a 4 KiB fault), and madvise_update_vma() then registers the mm.
		 * The one PMD the pass scans, at a, stays none: nothing to collapse.
		 */
		size_t huge = 2UL << 20;
		char ok = 0;
		char *r = mmap(NULL, 3 * huge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (r != MAP_FAILED) {
			char *a = (char *)(((uintptr_t)r + PAGE + huge - 1) & ~(huge - 1));
			char *m = mmap(a - PAGE, huge + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			if (m == a - PAGE) {
				*(volatile char *)m = 1;
				ok = !madvise(m, huge + PAGE, MADV_HUGEPAGE);
			}
		}
		if (write(p[1], &ok, 1) != 1)
			_exit(1);
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	char ok = 0;
	if (read(p[0], &ok, 1) != 1 || !ok) {
		printf("not-parked the keeper could not map a MADV_HUGEPAGE region\n");
		return 1;
	}
	close(p[0]);
	/* the pass __khugepaged_enter() started; guest time, generous for a loaded TCG host */
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (read_knob("full_scans") > scans0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 60) {
			printf("not-parked no khugepaged pass within 60 s of the keeper's mapping\n");
			return 1;
		}
		usleep(10000);
	}
	char what[64];
	snprintf(what, sizeof(what), "parked keeper=%d", (int)pid);
	print_khugepaged(what);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "task")) {
		task_main(argc, argv);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "run")) {
		controller_main(argv[2], argv[3]);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "calibrate")) {
		calibrate_main(argc, argv);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "khugepaged") && !strcmp(argv[2], "park"))
		return khugepaged_park();
	if (argc >= 3 && !strcmp(argv[1], "khugepaged") && !strcmp(argv[2], "state")) {
		print_khugepaged("state");
		return 0;
	}
	fprintf(stderr, "usage: executor run PROGRAMS OUTDIR | calibrate OUTDIR DEV... | khugepaged park|state\n");
	return 2;
}
