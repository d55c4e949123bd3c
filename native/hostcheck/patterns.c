/*
 * hostcheck: memory patterns run natively on this machine's kernel, measured after each phase,
 * for test/fidelity/host-kernel.test.ts (which runs the same patterns as simulator scenarios and
 * compares the numbers). Compiled at test time with `cc`; not part of the app.
 *
 *   patterns --list          names of the patterns, one a line
 *   patterns NAME            runs one pattern, prints JSON lines (see "Output" below)
 *
 * Placement. Every region is mapped MAP_FIXED_NOREPLACE at a fixed address in its own 1 GiB slot
 * (BASE + k GiB), the same addresses the scenarios use, so the region has its own PMD table and
 * the process's other page tables never change what is counted. An "anchor" page written at
 * BASE + 500 GiB first makes the 512 GiB slot's PUD table exist, so VmPTE grows by exactly the
 * PMD table and PTE tables of the pattern (the simulator has no PUD level). BASE is 10 TiB: below
 * the simulator's 16 TiB limit (page numbers < 2^32), far from the heap, libraries and stack.
 *
 * Regions that are not the THP pattern get MADV_NOHUGEPAGE, so the result does not depend on the
 * THP mode (the scenarios' regions without `huge: true`).
 *
 * Noise control: everything the measuring code touches (static buffers, 256 KiB of stack) is
 * written before the baseline and again after fork (fork makes it copy-on-write), buffers are
 * static (no malloc), /proc files are read with read(2), output goes out with write(2). Minor
 * faults are counted with getrusage() around a phase's own action only; a phase whose action is
 * fork (the parent's stack is copy-on-write on return) reports "minflt": null.
 *
 * Output: one JSON object a line.
 *   {"t":"env",...}                  page size, root, pfn_visible, kpageflags
 *   {"t":"base","task":T,"when":"start"|"end","vm_pte_kb":N}
 *       VmPTE before the first region (parent) and after unmapping every region at the end (each
 *       task): page-table bytes of a checkpoint = (vm_pte_kb - end baseline) * 1024.
 *   {"t":"cp","task":T,"phase":P,"minflt":N|null,"vm_pte_kb":N,"rss_anon_kb":..,"rss_file_kb":..,
 *    "rss_shmem_kb":..,"regions":[{name,pages,present,swapped,exclusive,soft_dirty,zero,thp_pages,
 *    cow,rss_kb,anon_kb,anon_huge_kb,lazyfree_kb,vmas}]}
 *       zero / thp_pages need /proc/kpageflags (root), cow needs PFNs (root): null otherwise.
 *       cow = pages present at this and the task's previous checkpoint (for a child: the parent's
 *       last one before fork) whose PFN changed.
 *   {"t":"done"}                     the pattern ran to the end
 *   {"t":"error","msg":...}          a system call failed (exit status 1)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define PG 4096UL
#define GIB (1UL << 30)
#define BASE 0x0a0000000000UL
#define SLOT(k) (BASE + (unsigned long)(k) * GIB)
#define ANCHOR (BASE + 500UL * GIB)
#define N 1024UL
#define MAXPAGES 4096UL
#define MAXREG 2

#define PM_PFN_MASK ((1ULL << 55) - 1)
#define PM_SOFT_DIRTY (1ULL << 55)
#define PM_MMAP_EXCLUSIVE (1ULL << 56)
#define PM_SWAP (1ULL << 62)
#define PM_PRESENT (1ULL << 63)
#define KPF_THP 22
#define KPF_ZERO_PAGE 24

struct region {
	const char *name;
	unsigned long addr;
	unsigned long pages;
	int live;
	int have_prev;
	uint64_t prev_pfn[MAXPAGES];
};

static struct region regs[MAXREG];
static int nregs;
static const char *task = "self";
static uint64_t pm_buf[MAXPAGES];
static char smaps_buf[512 * 1024];
static char status_buf[8192];
static char out[16384];
static int pfn_visible;
static int debug;
static int kpf_fd = -1;
static int pm_fd = -1;
static long phase_minflt = -1;

static void emit(const char *s)
{
	size_t n = strlen(s), off = 0;
	while (off < n) {
		ssize_t w = write(1, s + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			_exit(3);
		}
		off += (size_t)w;
	}
}

static void die(const char *what)
{
	snprintf(out, sizeof(out), "{\"t\":\"error\",\"task\":\"%s\",\"msg\":\"%s: %s\"}\n", task, what, strerror(errno));
	emit(out);
	_exit(1);
}

/* Writes every buffer the measuring code uses and 256 KiB of stack (before the baseline, and
 * after fork, where they became copy-on-write). */
static void __attribute__((noinline)) warm_stack(void)
{
	volatile char s[256 * 1024];
	for (size_t i = 0; i < sizeof(s); i += 512)
		s[i] = 1;
}

static void warm(void)
{
	memset(pm_buf, 0, sizeof(pm_buf));
	memset(smaps_buf, 0, sizeof(smaps_buf));
	memset(status_buf, 0, sizeof(status_buf));
	memset(out, 0, sizeof(out));
	for (int i = 0; i < MAXREG; i++) {
		volatile uint64_t *p = regs[i].prev_pfn;
		for (size_t j = 0; j < MAXPAGES; j += 512)
			p[j] = p[j];
	}
	warm_stack();
}

static long minflt_now(void)
{
	struct rusage r;
	getrusage(RUSAGE_SELF, &r);
	return r.ru_minflt;
}

/* The window of a phase's action: the start value stays in a local (a static written after
 * getrusage returned could fault on a copy-on-write page inside the window). */
#define act_begin() long act_t0_ = minflt_now()
#define act_end() (phase_minflt = minflt_now() - act_t0_)

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n >= cap - 1)
			break;
	}
	close(fd);
	buf[n] = 0;
	return (ssize_t)n;
}

/* "Key:   123 kB" of /proc/self/status, or -1. */
static long status_kb(const char *key)
{
	size_t kl = strlen(key);
	for (char *p = status_buf; *p; ) {
		if (strncmp(p, key, kl) == 0 && p[kl] == ':')
			return strtol(p + kl + 1, NULL, 10);
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return -1;
}

static long vm_pte_kb(void)
{
	if (read_file("/proc/self/status", status_buf, sizeof(status_buf)) < 0)
		die("read /proc/self/status");
	return status_kb("VmPTE");
}

struct smaps_sum {
	long rss, anon, anon_huge, lazyfree;
	int vmas;
};

/* Sums smaps fields over the VMAs that overlap [lo, hi). */
static void smaps_region(unsigned long lo, unsigned long hi, struct smaps_sum *s)
{
	memset(s, 0, sizeof(*s));
	if (read_file("/proc/self/smaps", smaps_buf, sizeof(smaps_buf)) < 0)
		die("read /proc/self/smaps");
	int in = 0;
	for (char *p = smaps_buf; *p; ) {
		char *nl = strchr(p, '\n');
		unsigned long a, b;
		char c;
		if (sscanf(p, "%lx-%lx %c", &a, &b, &c) == 3 && strchr(p, '-') && (nl == NULL || strchr(p, '-') < nl)) {
			/* a VMA header: "start-end perms offset dev inode path" */
			in = a < hi && lo < b;
			if (in)
				s->vmas++;
		} else if (in) {
			long v;
			if (sscanf(p, "Rss: %ld kB", &v) == 1)
				s->rss += v;
			else if (sscanf(p, "Anonymous: %ld kB", &v) == 1)
				s->anon += v;
			else if (sscanf(p, "AnonHugePages: %ld kB", &v) == 1)
				s->anon_huge += v;
			else if (sscanf(p, "LazyFree: %ld kB", &v) == 1)
				s->lazyfree += v;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
}


static void read_pagemap(unsigned long addr, unsigned long pages)
{
	size_t len = pages * 8;
	off_t off = (off_t)(addr / PG) * 8;
	size_t got = 0;
	while (got < len) {
		ssize_t r = pread(pm_fd, (char *)pm_buf + got, len - got, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("pread /proc/self/pagemap");
		got += (size_t)r;
	}
}

static uint64_t kpageflags(uint64_t pfn)
{
	uint64_t f = 0;
	if (pread(kpf_fd, &f, 8, (off_t)(pfn * 8)) != 8)
		return 0;
	return f;
}

static void checkpoint(const char *phase)
{
	long pte = vm_pte_kb();
	long ranon = status_kb("RssAnon"), rfile = status_kb("RssFile"), rshm = status_kb("RssShmem");
	char *o = out;
	size_t cap = sizeof(out);
	int n;
	char mf[32];
	if (phase_minflt < 0)
		snprintf(mf, sizeof(mf), "null");
	else
		snprintf(mf, sizeof(mf), "%ld", phase_minflt);
	n = snprintf(o, cap, "{\"t\":\"cp\",\"task\":\"%s\",\"phase\":\"%s\",\"minflt\":%s,\"vm_pte_kb\":%ld,\"rss_anon_kb\":%ld,\"rss_file_kb\":%ld,\"rss_shmem_kb\":%ld,\"regions\":[",
		     task, phase, mf, pte, ranon, rfile, rshm);
	o += n;
	cap -= (size_t)n;
	int first = 1;
	for (int i = 0; i < nregs; i++) {
		struct region *r = &regs[i];
		if (!r->live)
			continue;
		read_pagemap(r->addr, r->pages);
		long present = 0, swapped = 0, excl = 0, sd = 0, zero = 0, thp = 0, cow = 0;
		for (unsigned long j = 0; j < r->pages; j++) {
			uint64_t e = pm_buf[j];
			uint64_t pfn = e & PM_PFN_MASK;
			if (e & PM_SWAP)
				swapped++;
			if (e & PM_SOFT_DIRTY)
				sd++;
			if (!(e & PM_PRESENT)) {
				r->prev_pfn[j] = 0;
				continue;
			}
			present++;
			if (e & PM_MMAP_EXCLUSIVE)
				excl++;
			if (kpf_fd >= 0 && pfn) {
				uint64_t k = kpageflags(pfn);
				if (k & (1ULL << KPF_ZERO_PAGE))
					zero++;
				if (k & (1ULL << KPF_THP))
					thp++;
			}
			if (r->have_prev && r->prev_pfn[j] && pfn && r->prev_pfn[j] != pfn)
				cow++;
			if (debug && (j % 512) < 2)
				fprintf(stderr, "%s %s %s page %lu: pm %016llx prev_pfn %llx kpf %llx byte %d\n", task, phase, r->name, j, (unsigned long long)e,
					(unsigned long long)r->prev_pfn[j], kpf_fd >= 0 && pfn ? (unsigned long long)kpageflags(pfn) : 0ULL, ((volatile char *)r->addr)[j * PG]);
			r->prev_pfn[j] = pfn;
		}
		r->have_prev = 1;
		struct smaps_sum s;
		smaps_region(r->addr, r->addr + r->pages * PG, &s);
		char zs[32], ts[32], cs[32];
		if (kpf_fd >= 0 && pfn_visible) {
			snprintf(zs, sizeof(zs), "%ld", zero);
			snprintf(ts, sizeof(ts), "%ld", thp);
		} else {
			snprintf(zs, sizeof(zs), "null");
			snprintf(ts, sizeof(ts), "null");
		}
		if (pfn_visible)
			snprintf(cs, sizeof(cs), "%ld", cow);
		else
			snprintf(cs, sizeof(cs), "null");
		n = snprintf(o, cap, "%s{\"name\":\"%s\",\"addr\":%lu,\"pages\":%lu,\"present\":%ld,\"swapped\":%ld,\"exclusive\":%ld,\"soft_dirty\":%ld,\"zero\":%s,\"thp_pages\":%s,\"cow\":%s,\"rss_kb\":%ld,\"anon_kb\":%ld,\"anon_huge_kb\":%ld,\"lazyfree_kb\":%ld,\"vmas\":%d}",
			     first ? "" : ",", r->name, r->addr, r->pages, present, swapped, excl, sd, zs, ts, cs, s.rss, s.anon, s.anon_huge, s.lazyfree, s.vmas);
		o += n;
		cap -= (size_t)n;
		first = 0;
	}
	snprintf(o, cap, "]}\n");
	emit(out);
	phase_minflt = -1;
}

static void base(const char *when)
{
	snprintf(out, sizeof(out), "{\"t\":\"base\",\"task\":\"%s\",\"when\":\"%s\",\"vm_pte_kb\":%ld}\n", task, when, vm_pte_kb());
	emit(out);
}

/* ---- region operations ------------------------------------------------------------------- */

static struct region *add_region(const char *name, unsigned long addr, unsigned long pages, int prot, int flags, int fd, int huge)
{
	if (nregs >= MAXREG || pages > MAXPAGES) {
		errno = EINVAL;
		die("add_region");
	}
	void *p = mmap((void *)addr, pages * PG, prot, flags | MAP_FIXED_NOREPLACE, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	if ((unsigned long)p != addr) {
		errno = EEXIST;
		die("mmap placed the region elsewhere (old kernel without MAP_FIXED_NOREPLACE?)");
	}
	if (madvise(p, pages * PG, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0)
		die(huge ? "madvise(MADV_HUGEPAGE)" : "madvise(MADV_NOHUGEPAGE)");
	struct region *r = &regs[nregs++];
	r->name = name;
	r->addr = addr;
	r->pages = pages;
	r->live = 1;
	r->have_prev = 0;
	return r;
}

static struct region *anon(const char *name, unsigned long addr, unsigned long pages, int shared, int huge)
{
	return add_region(name, addr, pages, PROT_READ | PROT_WRITE, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, huge);
}

static void touch(struct region *r, unsigned long first, unsigned long count, unsigned long stride, int write)
{
	volatile char *p = (volatile char *)r->addr;
	act_begin();
	for (unsigned long i = first; i < first + count * stride && i < r->pages; i += stride) {
		if (write)
			p[i * PG] = (char)(i + 1 + (task[0] == 'c' ? 64 : 0));
		else
			(void)p[i * PG];
	}
	act_end();
}

static void do_madvise(struct region *r, unsigned long first, unsigned long count, int advice)
{
	act_begin();
	if (madvise((void *)(r->addr + first * PG), count * PG, advice) != 0)
		die("madvise");
	act_end();
}

static void do_mprotect(struct region *r, int prot)
{
	act_begin();
	if (mprotect((void *)r->addr, r->pages * PG, prot) != 0)
		die("mprotect");
	act_end();
}

static void do_munmap(struct region *r, unsigned long first, unsigned long count)
{
	act_begin();
	if (munmap((void *)(r->addr + first * PG), count * PG) != 0)
		die("munmap");
	act_end();
}

static void do_mremap(struct region *r, unsigned long to)
{
	act_begin();
	void *p = mremap((void *)r->addr, r->pages * PG, r->pages * PG, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)to);
	act_end();
	if (p == MAP_FAILED)
		die("mremap");
	r->addr = to;
}

/* Unmaps every region and prints the task's end baseline. */
static void finish_task(void)
{
	for (int i = 0; i < nregs; i++)
		if (regs[i].live)
			munmap((void *)regs[i].addr, regs[i].pages * PG);
	base("end");
}

/* fork with a go-pipe: the child waits until the parent has taken its after-fork checkpoint. */
static int go_pipe[2];
static int back_pipe[2];

static pid_t fork_child(void)
{
	if (pipe(go_pipe) != 0 || pipe(back_pipe) != 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		task = "child";
		/* the inherited descriptor reads the parent's /proc/<pid>/pagemap */
		close(pm_fd);
		pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		if (pm_fd < 0)
			die("open /proc/self/pagemap");
		close(go_pipe[1]);
		close(back_pipe[0]);
		warm();
		char c;
		while (read(go_pipe[0], &c, 1) < 0 && errno == EINTR)
			;
		return 0;
	}
	close(go_pipe[0]);
	close(back_pipe[1]);
	warm();
	return pid;
}

static void release_child(void)
{
	char c = 1;
	if (write(go_pipe[1], &c, 1) != 1)
		die("write go pipe");
}

static void child_exit(void)
{
	finish_task();
	_exit(0);
}

static void wait_child(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		errno = ECHILD;
		die("child failed");
	}
}

/* ---- the patterns (test/fidelity/host-kernel.ts has the same ones as scenario steps) ----- */

static void p_dense(void)
{
	struct region *r = anon("buf", SLOT(1), N, 0, 0);
	touch(r, 0, N, 1, 1);
	checkpoint("write");
	touch(r, 0, N, 1, 0);
	checkpoint("read");
}

static void p_sparse(void)
{
	struct region *r = anon("buf", SLOT(1), 4096, 0, 0);
	touch(r, 0, 64, 64, 1);
	checkpoint("write_every_64th");
}

static void p_read_zero(void)
{
	struct region *r = anon("buf", SLOT(1), N, 0, 0);
	touch(r, 0, N, 1, 0);
	checkpoint("read");
	touch(r, 0, N, 1, 1);
	checkpoint("write");
}

static void p_fork_child_writes(void)
{
	struct region *r = anon("buf", SLOT(1), N, 0, 0);
	touch(r, 0, N, 1, 1);
	checkpoint("fill");
	pid_t pid = fork_child();
	if (pid == 0) {
		checkpoint("after_fork");
		touch(r, 0, N, 1, 1);
		checkpoint("write");
		child_exit();
	}
	checkpoint("fork");
	release_child();
	wait_child(pid);
	checkpoint("child_exit");
	touch(r, 0, N, 1, 1);
	checkpoint("write");
}

static void p_fork_parent_writes(void)
{
	struct region *r = anon("buf", SLOT(1), N, 0, 0);
	touch(r, 0, N, 1, 1);
	checkpoint("fill");
	pid_t pid = fork_child();
	if (pid == 0) {
		checkpoint("after_parent_write");
		child_exit();
	}
	checkpoint("fork");
	touch(r, 0, N, 1, 1);
	checkpoint("write");
	release_child();
	wait_child(pid);
	checkpoint("child_exit");
}

static void p_dontneed_half(void)
{
	struct region *r = anon("buf", SLOT(1), N, 0, 0);
	touch(r, 0, N, 1, 1);
	checkpoint("fill");
	do_madvise(r, N / 2, N / 2, MADV_DONTNEED);
	checkpoint("dontneed_second_half");
	do_madvise(r, 0, N / 2, MADV_DONTNEED);
	checkpoint("dontneed_first_half");
}

static void p_madv_free(void)
{
	struct region *r = anon("buf", SLOT(1), N, 0, 0);
	touch(r, 0, N, 1, 1);
	checkpoint("fill");
	do_madvise(r, 0, N, MADV_FREE);
	checkpoint("free");
	touch(r, 0, N, 1, 1);
	checkpoint("write");
}

/*
 * MADV_PAGEOUT on a machine without swap (the test skips the comparison where swap is on): the
 * anonymous pages stay (add_to_swap fails); after MADV_FREE the clean lazyfree pages are discarded
 * and the rewritten ones kept. Pinned to one CPU: the lazyfree and LRU-add batches are per CPU and
 * MADV_PAGEOUT's lru_add_drain drains only the local one.
 */
static void p_pageout(void)
{
	cpu_set_t one;
	int cpu = sched_getcpu();

	CPU_ZERO(&one);
	CPU_SET(cpu >= 0 ? cpu : 0, &one);
	if (sched_setaffinity(0, sizeof(one), &one) != 0)
		die("sched_setaffinity");
	struct region *r = anon("buf", SLOT(1), N, 0, 0);
	touch(r, 0, N, 1, 1);
	checkpoint("fill");
	do_madvise(r, 0, N, MADV_PAGEOUT);
	checkpoint("pageout");
	do_madvise(r, 0, N / 2, MADV_FREE);
	touch(r, N / 4, N / 4, 1, 1);
	checkpoint("free_rewrite");
	do_madvise(r, 0, N, MADV_PAGEOUT);
	checkpoint("pageout_lazyfree");
}

static void p_mprotect_ro_rw(void)
{
	struct region *r = anon("buf", SLOT(1), N, 0, 0);
	touch(r, 0, N, 1, 1);
	checkpoint("fill");
	do_mprotect(r, PROT_READ);
	checkpoint("ro");
	do_mprotect(r, PROT_READ | PROT_WRITE);
	checkpoint("rw");
	touch(r, 0, N, 1, 1);
	checkpoint("write");
}

static void p_mremap(void)
{
	struct region *r = anon("buf", SLOT(1), N, 0, 0);
	touch(r, 0, N, 1, 1);
	checkpoint("fill");
	do_mremap(r, SLOT(2));
	checkpoint("mremap");
	touch(r, 0, N, 1, 0);
	checkpoint("read");
}

static void p_munmap_half(void)
{
	struct region *r = anon("buf", SLOT(1), N, 0, 0);
	touch(r, 0, N, 1, 1);
	checkpoint("fill");
	do_munmap(r, N / 2, N / 2);
	checkpoint("munmap_second_half");
	do_munmap(r, 0, N / 2);
	checkpoint("munmap_first_half");
}

static void p_shared_fork(void)
{
	struct region *r = anon("buf", SLOT(1), N, 1, 0);
	touch(r, 0, N, 1, 1);
	checkpoint("fill");
	pid_t pid = fork_child();
	if (pid == 0) {
		checkpoint("after_fork");
		touch(r, 0, N, 1, 0);
		checkpoint("read");
		touch(r, 0, N, 1, 1);
		checkpoint("write");
		child_exit();
	}
	checkpoint("fork");
	release_child();
	wait_child(pid);
	checkpoint("child_exit");
}

static void p_thp(void)
{
	struct region *r = anon("thp", SLOT(1), N, 0, 1);
	touch(r, 0, 1, 1, 1);
	checkpoint("write_one_page_first_pmd");
	touch(r, 512, 512, 1, 1);
	checkpoint("write_second_pmd");
	pid_t pid = fork_child();
	if (pid == 0) {
		checkpoint("after_fork");
		touch(r, 512, 1, 1, 1);
		checkpoint("write_one_page_second_pmd");
		child_exit();
	}
	checkpoint("fork");
	release_child();
	wait_child(pid);
	checkpoint("child_exit");
	touch(r, 513, 1, 1, 1);
	checkpoint("write_one_page_second_pmd");
}

static void p_thp_zero(void)
{
	struct region *r = anon("thp", SLOT(1), N, 0, 1);
	touch(r, 0, 512, 1, 0);
	checkpoint("read_first_pmd");
	touch(r, 0, 1, 1, 1);
	checkpoint("write_one_page");
}

static void p_file_read(void)
{
	int fd = (int)syscall(SYS_memfd_create, "hostcheck", 0);
	if (fd < 0)
		die("memfd_create");
	if (ftruncate(fd, (off_t)(N * PG)) != 0)
		die("ftruncate");
	static char page[PG];
	for (unsigned long i = 0; i < N; i++) {
		memcpy(page, &i, sizeof(i));
		if (pwrite(fd, page, PG, (off_t)(i * PG)) != (ssize_t)PG)
			die("pwrite");
	}
	struct region *r = add_region("buf", SLOT(1), N, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	touch(r, 0, N, 1, 0);
	checkpoint("read");
}

struct pattern {
	const char *name;
	void (*run)(void);
};

static const struct pattern patterns[] = {
	{"dense", p_dense},
	{"sparse", p_sparse},
	{"read_zero", p_read_zero},
	{"fork_child_writes", p_fork_child_writes},
	{"fork_parent_writes", p_fork_parent_writes},
	{"dontneed_half", p_dontneed_half},
	{"madv_free", p_madv_free},
	{"pageout", p_pageout},
	{"mprotect_ro_rw", p_mprotect_ro_rw},
	{"mremap", p_mremap},
	{"munmap_half", p_munmap_half},
	{"shared_fork", p_shared_fork},
	{"thp", p_thp},
	{"thp_zero", p_thp_zero},
	{"file_read", p_file_read},
};

int main(int argc, char **argv)
{
	size_t np = sizeof(patterns) / sizeof(patterns[0]);
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < np; i++) {
			emit(patterns[i].name);
			emit("\n");
		}
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s --list | PATTERN\n", argv[0]);
		return 2;
	}
	const struct pattern *pat = NULL;
	for (size_t i = 0; i < np; i++)
		if (strcmp(argv[1], patterns[i].name) == 0)
			pat = &patterns[i];
	if (!pat) {
		fprintf(stderr, "%s: no pattern named '%s' (see --list)\n", argv[0], argv[1]);
		return 2;
	}
	debug = getenv("HOSTCHECK_DEBUG") != NULL;
	long ps = sysconf(_SC_PAGESIZE);
	if (ps != (long)PG) {
		snprintf(out, sizeof(out), "{\"t\":\"env\",\"page_size\":%ld,\"root\":%d,\"pfn_visible\":false,\"kpageflags\":false}\n{\"t\":\"done\"}\n", ps, geteuid() == 0);
		emit(out);
		return 0;
	}
	pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm_fd < 0)
		die("open /proc/self/pagemap");
	kpf_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	/* the anchor: PUD table of the 512 GiB slot; also tells whether PFNs are visible */
	volatile char *a = mmap((void *)ANCHOR, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (a == MAP_FAILED || (unsigned long)a != ANCHOR)
		die("mmap anchor");
	a[0] = 1;
	read_pagemap(ANCHOR, 1);
	pfn_visible = (pm_buf[0] & PM_PRESENT) && (pm_buf[0] & PM_PFN_MASK) != 0;
	/* does an anonymous read fault map the shared zero page (4 KiB) / the huge zero page? (smaps
	 * Rss of the probe stays 0); probes sit next to the anchor, in tables that exist already */
	struct smaps_sum zs;
	unsigned long zp = ANCHOR + 2 * PG, hzp = ANCHOR + 4 * 512 * PG;
	volatile char *z = mmap((void *)zp, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (z == MAP_FAILED)
		die("mmap zero-page probe");
	madvise((void *)z, PG, MADV_NOHUGEPAGE);
	(void)z[0];
	smaps_region(zp, zp + PG, &zs);
	int zero_read = zs.vmas == 1 && zs.rss == 0;
	munmap((void *)z, PG);
	const char *huge_zero = "null";
	z = mmap((void *)hzp, 512 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (z == MAP_FAILED)
		die("mmap huge-zero-page probe");
	if (madvise((void *)z, 512 * PG, MADV_HUGEPAGE) == 0) {
		(void)z[0];
		smaps_region(hzp, hzp + 512 * PG, &zs);
		/* a THP was allocated: not the huge zero page; 4 KiB page: THP not used at all */
		huge_zero = zs.rss == 0 ? "true" : zs.anon_huge > 0 ? "false" : "null";
	}
	munmap((void *)z, 512 * PG);
	snprintf(out, sizeof(out), "{\"t\":\"env\",\"page_size\":%ld,\"root\":%d,\"pfn_visible\":%s,\"kpageflags\":%s,\"zero_page_read\":%s,\"huge_zero_page_read\":%s}\n", ps,
		 geteuid() == 0, pfn_visible ? "true" : "false", kpf_fd >= 0 ? "true" : "false", zero_read ? "true" : "false", huge_zero);
	emit(out);
	warm();
	/* read the files once so that their first read does not allocate anything later */
	vm_pte_kb();
	struct smaps_sum s;
	smaps_region(0, 0, &s);
	base("start");
	pat->run();
	finish_task();
	emit("{\"t\":\"done\"}\n");
	return 0;
}
