// SPDX-License-Identifier: GPL-2.0-only
/*
 * HMM Lab calibration micro-benchmarks: the CPU cost of the kernel paths the simulator charges,
 * measured on this machine's kernel.
 *
 * Every measurement is the CPU time (CLOCK_THREAD_CPUTIME_ID of the thread that enters the
 * kernel; for exit, the child's rusage) of one operation over x units (pages, VMAs, 2 MiB blocks,
 * calls, CPUs), at several x, after a warm-up, repeated. The fitting (src/main/services/calibration)
 * regresses time on x: the slope is the per-unit cost, the intercept the fixed part.
 *
 * Usage: calibrate [--quick] [--only NAME[,NAME...]]    measurements
 *        calibrate --bench PAGES [--reps N]             the validation patterns at one size
 *
 * Output, one record per line on stdout (stderr carries progress: "progress DONE TOTAL NAME"):
 *   info KEY VALUE...
 *   m NAME X REP NS          one measurement: benchmark NAME at size X, repetition REP, CPU ns
 *   b PATTERN PAGES REP NS   bench mode: one phase of a validation pattern
 *   skip NAME REASON...      a benchmark that cannot run here (and why)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define HPAGE (2UL << 20)
#define PTRS_PER_PTE 512UL

static int quick;
static int reps = 5;
static const char *only;

static void die(const char *what)
{
	fprintf(stderr, "calibrate: %s: %s\n", what, strerror(errno));
	exit(3);
}

static uint64_t cpu_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* CPU time of the calling thread: what one operation it performs costs */
static uint64_t tcpu(void)
{
	return cpu_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* An anonymous private mapping of `len` bytes starting `offset` bytes past a 2 MiB boundary. */
static char *map_aligned(size_t len, size_t offset, int huge)
{
	size_t span = len + offset + HPAGE;
	char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *p;

	if (raw == MAP_FAILED)
		die("mmap");
	p = (char *)(((uintptr_t)raw + HPAGE - 1) & ~(HPAGE - 1)) + offset;
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (raw + span > p + len)
		munmap(p + len, (size_t)(raw + span - (p + len)));
	if (madvise(p, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0 && huge)
		die("madvise(MADV_HUGEPAGE)");
	return p;
}

static void touch_write(char *p, size_t pages, size_t stride)
{
	for (size_t i = 0; i < pages; i++)
		((volatile char *)p)[i * stride] = 1;
}

static unsigned long touch_read(char *p, size_t pages, size_t stride)
{
	unsigned long s = 0;

	for (size_t i = 0; i < pages; i++)
		s += ((volatile char *)p)[i * stride];
	return s;
}

/* `units` blocks of `unit` bytes (a page or a 2 MiB block each), one byte of each written. */
static char *map_written(size_t units, size_t unit)
{
	char *p = map_aligned(units * unit, 0, 0);

	touch_write(p, units, unit);
	return p;
}

/* ---- the measurements: each returns the CPU ns of one operation over x units ---- */

static uint64_t m_syscall(size_t n)
{
	uint64_t t0 = tcpu();

	for (size_t i = 0; i < n; i++)
		syscall(SYS_getppid);
	return tcpu() - t0;
}

/* The first write of one byte in each of `units` blocks of `unit` bytes: one fault each. */
static uint64_t first_writes(size_t units, size_t unit)
{
	char *p = map_aligned(units * unit, 0, 0);
	uint64_t t0 = tcpu(), t;

	touch_write(p, units, unit);
	t = tcpu() - t0;
	munmap(p, units * unit);
	return t;
}

static uint64_t m_fault_anon(size_t pages)
{
	return first_writes(pages, PAGE);
}

static uint64_t m_fault_zero(size_t pages)
{
	char *p = map_aligned(pages * PAGE, 0, 0);
	uint64_t t0 = tcpu(), t;
	volatile unsigned long sink = touch_read(p, pages, PAGE);

	(void)sink;
	t = tcpu() - t0;
	munmap(p, pages * PAGE);
	return t;
}

/* One page in each of `blocks` 2 MiB blocks: every fault allocates a PTE table. */
static uint64_t m_fault_sparse(size_t blocks)
{
	return first_writes(blocks, HPAGE);
}

static long anon_huge_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static long thp_obtained = -1, thp_wanted;

static uint64_t m_fault_thp(size_t blocks)
{
	char *p = map_aligned(blocks * HPAGE, 0, 1);
	long before = anon_huge_kb();
	uint64_t t0 = tcpu(), t;

	touch_write(p, blocks, HPAGE);
	t = tcpu() - t0;
	if (before >= 0) {
		thp_obtained = (anon_huge_kb() - before) / 2048;
		thp_wanted = (long)blocks;
	}
	munmap(p, blocks * HPAGE);
	return t;
}

/* The parent writes every page while a child still maps them: one COW copy per page. */
static uint64_t m_cow(size_t pages)
{
	char *p = map_written(pages, PAGE);
	int fds[2];
	pid_t pid;
	uint64_t t0, t;
	char c = 0;

	if (pipe(fds) != 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(fds[1]);
		while (read(fds[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(fds[0]);
	t0 = tcpu();
	for (size_t i = 0; i < pages; i++)
		p[i * PAGE] = 2;
	t = tcpu() - t0;
	if (write(fds[1], &c, 1) != 1)
		die("write");
	close(fds[1]);
	waitpid(pid, NULL, 0);
	munmap(p, pages * PAGE);
	return t;
}

static uint64_t timed_fork(void)
{
	uint64_t t0 = tcpu(), t;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0)
		_exit(0);
	t = tcpu() - t0;
	waitpid(pid, NULL, 0);
	return t;
}

static uint64_t m_fork_pte(size_t pages)
{
	char *p = map_written(pages, PAGE);
	uint64_t t = timed_fork();

	munmap(p, pages * PAGE);
	return t;
}

/* `n` adjacent one-page VMAs (alternating protection so they cannot merge), each written once. */
static uint64_t m_fork_vma(size_t n)
{
	char *p = map_written(n, PAGE);
	uint64_t t;

	for (size_t i = 1; i < n; i += 2)
		if (mprotect(p + i * PAGE, PAGE, PROT_READ) != 0)
			die("mprotect");
	t = timed_fork();
	munmap(p, n * PAGE);
	return t;
}

/* munmap of `units` written blocks of `unit` bytes */
static uint64_t timed_munmap(size_t units, size_t unit)
{
	char *p = map_written(units, unit);
	uint64_t t0 = tcpu();

	munmap(p, units * unit);
	return tcpu() - t0;
}

static uint64_t m_munmap(size_t pages)
{
	return timed_munmap(pages, PAGE);
}

static uint64_t m_munmap_sparse(size_t blocks)
{
	return timed_munmap(blocks, HPAGE);
}

static uint64_t m_dontneed(size_t pages)
{
	char *p = map_written(pages, PAGE);
	uint64_t t0, t;

	t0 = tcpu();
	madvise(p, pages * PAGE, MADV_DONTNEED);
	t = tcpu() - t0;
	munmap(p, pages * PAGE);
	return t;
}

/* A child writes `pages` pages and exits: the CPU time of its exit (rusage total minus its own). */
static uint64_t m_exit(size_t pages)
{
	uint64_t *shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct rusage ru;
	uint64_t total, t;
	pid_t pid;
	int st;

	if (shared == MAP_FAILED)
		die("mmap");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		map_written(pages, PAGE);
		shared[0] = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
		_exit(0);
	}
	if (wait4(pid, &st, 0, &ru) != pid)
		die("wait4");
	total = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL +
		(uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
	t = total > shared[0] ? total - shared[0] : 0;
	munmap(shared, PAGE);
	return t;
}

static uint64_t m_mprotect(size_t pages)
{
	char *p = map_written(pages, PAGE);
	uint64_t t0, t;

	t0 = tcpu();
	if (mprotect(p, pages * PAGE, PROT_READ) != 0)
		die("mprotect");
	t = tcpu() - t0;
	munmap(p, pages * PAGE);
	return t;
}

/*
 * mremap to a destination one page off a 2 MiB boundary from the source: move_page_tables()
 * cannot move whole PMD tables, so every PTE is moved (move_ptes).
 */
static uint64_t m_mremap(size_t pages)
{
	char *p = map_aligned(pages * PAGE, PAGE, 0);
	char *dst = map_aligned(pages * PAGE, 2 * PAGE, 0);
	uint64_t t0, t;
	void *r;

	touch_write(p, pages, PAGE);
	t0 = tcpu();
	r = mremap(p, pages * PAGE, pages * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	t = tcpu() - t0;
	if (r == MAP_FAILED)
		die("mremap");
	munmap(dst, pages * PAGE);
	return t;
}

/* ---- TLB shootdown: mprotect of one page while the mm runs on `ncpu` CPUs ---- */

static atomic_int spin_stop;

static void *spinner(void *arg)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET((int)(intptr_t)arg, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
		;
	return NULL;
}

static int cpu_list[CPU_SETSIZE], n_cpu_list;

static uint64_t m_shootdown(size_t ncpu)
{
	pthread_t th[CPU_SETSIZE];
	cpu_set_t set;
	char *p = map_written(3, PAGE);
	const int iters = quick ? 200 : 1000;
	uint64_t t0, t;

	mprotect(p, PAGE, PROT_NONE);
	mprotect(p + 2 * PAGE, PAGE, PROT_NONE);
	CPU_ZERO(&set);
	CPU_SET(cpu_list[0], &set);
	sched_setaffinity(0, sizeof(set), &set);
	atomic_store(&spin_stop, 0);
	for (size_t i = 1; i < ncpu; i++)
		if (pthread_create(&th[i], NULL, spinner, (void *)(intptr_t)cpu_list[i]) != 0)
			die("pthread_create");
	usleep(2000);
	t = 0;
	for (int i = 0; i < iters; i++) {
		t0 = tcpu();
		mprotect(p + PAGE, PAGE, PROT_READ);
		t += tcpu() - t0;
		mprotect(p + PAGE, PAGE, PROT_READ | PROT_WRITE);
		((volatile char *)p)[PAGE] = 1;
	}
	atomic_store(&spin_stop, 1);
	for (size_t i = 1; i < ncpu; i++)
		pthread_join(th[i], NULL);
	munmap(p, 3 * PAGE);
	/* per mprotect(PROT_READ) of one written page: change_protection of one PTE and its flush */
	return t / (uint64_t)iters;
}

/* ---- driver ---- */

struct bench {
	const char *name;
	uint64_t (*fn)(size_t);
	size_t sizes[6];
	size_t quick_sizes[6];
	const char *unit;
};

static struct bench benches[] = {
	{ "syscall", m_syscall, { 2000, 4000, 8000, 16000 }, { 2000, 4000, 8000 }, "calls" },
	{ "fault_anon", m_fault_anon, { 1024, 2048, 4096, 8192 }, { 512, 1024, 2048 }, "pages" },
	{ "fault_zero", m_fault_zero, { 1024, 2048, 4096, 8192 }, { 512, 1024, 2048 }, "pages" },
	{ "fault_sparse", m_fault_sparse, { 32, 64, 128, 256 }, { 32, 64, 128 }, "pmds" },
	{ "fault_thp", m_fault_thp, { 8, 16, 32, 64 }, { 8, 16, 32 }, "pmds" },
	{ "cow", m_cow, { 512, 1024, 2048, 4096 }, { 256, 512, 1024 }, "pages" },
	{ "fork_pte", m_fork_pte, { 1024, 2048, 4096, 8192 }, { 512, 1024, 2048 }, "pages" },
	{ "fork_vma", m_fork_vma, { 64, 128, 256, 512 }, { 64, 128, 256 }, "vmas" },
	{ "munmap", m_munmap, { 1024, 2048, 4096, 8192 }, { 512, 1024, 2048 }, "pages" },
	{ "munmap_sparse", m_munmap_sparse, { 32, 64, 128, 256 }, { 32, 64, 128 }, "pmds" },
	{ "dontneed", m_dontneed, { 1024, 2048, 4096, 8192 }, { 512, 1024, 2048 }, "pages" },
	{ "exit", m_exit, { 1024, 2048, 4096, 8192 }, { 512, 1024, 2048 }, "pages" },
	{ "mprotect", m_mprotect, { 1024, 2048, 4096, 8192 }, { 512, 1024, 2048 }, "pages" },
	{ "mremap", m_mremap, { 1024, 2048, 4096, 8192 }, { 512, 1024, 2048 }, "pages" },
	{ "shootdown", m_shootdown, { 0 }, { 0 }, "cpus" },
};

#define NBENCH (sizeof(benches) / sizeof(benches[0]))

static int wanted(const char *name)
{
	const char *s = only;
	size_t n = strlen(name);

	if (!s)
		return 1;
	while (*s) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);

		if (len == n && strncmp(s, name, n) == 0)
			return 1;
		s += len + (e ? 1 : 0);
	}
	return 0;
}

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (f) {
		if (!fgets(buf, (int)len, f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
}

static void print_info(void)
{
	struct utsname u;
	char line[512], model[256] = "";
	FILE *f;
	cpu_set_t set;

	uname(&u);
	printf("info kernel %s\n", u.release);
	printf("info machine %s\n", u.machine);
	printf("info hostname %s\n", u.nodename);
	read_line("/sys/kernel/mm/transparent_hugepage/enabled", line, sizeof(line));
	printf("info thp_enabled %s\n", line[0] ? line : "unavailable");
	read_line("/sys/kernel/mm/transparent_hugepage/defrag", line, sizeof(line));
	printf("info thp_defrag %s\n", line[0] ? line : "unavailable");
	f = fopen("/proc/cpuinfo", "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *c = strchr(line, ':');

			if (c && strncmp(line, "model name", 10) == 0) {
				snprintf(model, sizeof(model), "%s", c + 2);
				model[strcspn(model, "\n")] = 0;
				break;
			}
		}
		fclose(f);
	}
	printf("info cpu_model %s\n", model[0] ? model : "unknown");
	printf("info cpus_online %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
	sched_getaffinity(0, sizeof(set), &set);
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			cpu_list[n_cpu_list++] = i;
	printf("info cpus_allowed %d\n", n_cpu_list);
	printf("info page_size %ld\n", sysconf(_SC_PAGESIZE));
	f = fopen("/proc/self/maps", "r");
	if (f) {
		int n = 0;

		while (fgets(line, sizeof(line), f))
			n += strchr(line, '\n') != NULL;
		fclose(f);
		printf("info process_vmas %d\n", n);
	}
	printf("info reps %d\n", reps);
	printf("info quick %d\n", quick);
	fflush(stdout);
}

static int run_calibration(void)
{
	size_t total = 0, done = 0;

	benches[NBENCH - 1].sizes[0] = 0;
	for (size_t b = 0; b < NBENCH; b++) {
		struct bench *B = &benches[b];

		if (B->fn == m_shootdown) {
			int n = n_cpu_list < 5 ? n_cpu_list : 5;

			for (int i = 0; i < n; i++)
				B->sizes[i] = B->quick_sizes[i] = (size_t)(i + 1);
		}
		if (!wanted(B->name))
			continue;
		for (int i = 0; i < 6 && (quick ? B->quick_sizes : B->sizes)[i]; i++)
			total += (size_t)reps;
	}
	for (size_t b = 0; b < NBENCH; b++) {
		struct bench *B = &benches[b];
		size_t *sizes = quick ? B->quick_sizes : B->sizes;

		if (!wanted(B->name))
			continue;
		if (B->fn == m_shootdown && n_cpu_list < 2)
			printf("skip shootdown only one CPU is allowed to this process: no remote CPU to flush\n");
		if (B->fn == m_fault_thp) {
			char mode[256];

			read_line("/sys/kernel/mm/transparent_hugepage/enabled", mode, sizeof(mode));
			if (!mode[0] || strstr(mode, "[never]")) {
				printf("skip fault_thp transparent huge pages are %s\n", mode[0] ? "disabled ([never])" : "not available");
				for (int i = 0; i < 6 && sizes[i]; i++)
					done += (size_t)reps;
				continue;
			}
		}
		/* warm-up at the largest size: page allocator, page-table caches, code, and every
		 * page the repetitions will get has been used once since the host last had it. On a
		 * guest with free page reporting (virtio_balloon; mm/page_reporting.c) the host takes
		 * back free blocks of page_reporting_order and up, and the first touch of one costs a
		 * fault on the host: 1-5 ms per 2 MiB on the lab VM against 0.13 ms warm. Blocks freed
		 * since go to the head of the free lists (reported ones are put back at the tail,
		 * __putback_isolated_page with FPI_TO_TAIL), so the repetitions reuse warm memory. */
		{
			int last = 0;

			while (last + 1 < 6 && sizes[last + 1])
				last++;
			B->fn(sizes[last]);
		}
		for (int rep = 0; rep < reps; rep++) {
			/* sizes in a different order each repetition: a drift of the machine does not
			 * become a slope */
			int n = 0;

			while (n < 6 && sizes[n])
				n++;
			for (int k = 0; k < n; k++) {
				int i = (rep % 2) ? n - 1 - k : k;
				uint64_t ns = B->fn(sizes[i]);

				printf("m %s %zu %d %llu\n", B->name, sizes[i], rep, (unsigned long long)ns);
				fprintf(stderr, "progress %zu %zu %s\n", ++done, total, B->name);
			}
			fflush(stdout);
		}
		if (B->fn == m_fault_thp && thp_obtained >= 0)
			printf("info thp_obtained %ld/%ld\n", thp_obtained, thp_wanted);
	}
	return 0;
}

/* ---- validation patterns: one process runs the phases the bench scenario simulates ---- */

static void bench_phase(const char *name, size_t pages, int rep, uint64_t ns)
{
	printf("b %s %zu %d %llu\n", name, pages, rep, (unsigned long long)ns);
}

static int run_bench(size_t pages)
{
	char mode[256];
	long got = 0, wanted_thp = 0;

	read_line("/sys/kernel/mm/transparent_hugepage/enabled", mode, sizeof(mode));
	for (int rep = 0; rep < reps; rep++) {
		size_t len = pages * PAGE;
		char *p;
		uint64_t t0;
		volatile unsigned long sink;

		/* THP first: after the other phases free memory in 4 KiB pieces, a 2 MiB page may need
		 * compaction or not be found at all (the fault then falls back to 4 KiB pages). One
		 * untimed pass first, as the calibration's warm-up: the timed faults then get 2 MiB
		 * blocks this guest used a moment ago, not ones the host took back (see run_calibration) */
		if (mode[0] && !strstr(mode, "[never]") && pages >= PTRS_PER_PTE) {
			m_fault_thp(pages / PTRS_PER_PTE);
			bench_phase("thp", pages, rep, m_fault_thp(pages / PTRS_PER_PTE));
			if (thp_obtained >= 0) {
				got += thp_obtained;
				wanted_thp += thp_wanted;
			}
		}
		p = map_aligned(len, 0, 0);
		t0 = tcpu();
		touch_write(p, pages, PAGE);
		bench_phase("touch", pages, rep, tcpu() - t0);
		bench_phase("fork", pages, rep, timed_fork());
		bench_phase("cow", pages, rep, m_cow(pages));
		/* mprotect and DONTNEED of freshly written pages, the state the calibration measures */
		bench_phase("mprotect", pages, rep, m_mprotect(pages));
		bench_phase("dontneed", pages, rep, m_dontneed(pages));
		/* the same on p, whose PTEs the fork above write-protected (copy_present_ptes →
		 * wrprotect_ptes) and whose child has exited: the kernel walks the same PTEs and frees
		 * the same folios, yet on the lab's PVM guest this has measured up to half as much
		 * (docs/calibration.md); the simulator charges both alike. Printed, not counted */
		t0 = tcpu();
		mprotect(p, len, PROT_READ);
		bench_phase("mprotect_forked", pages, rep, tcpu() - t0);
		mprotect(p, len, PROT_READ | PROT_WRITE);
		t0 = tcpu();
		madvise(p, len, MADV_DONTNEED);
		bench_phase("dontneed_forked", pages, rep, tcpu() - t0);
		t0 = tcpu();
		sink = touch_read(p, pages, PAGE);
		(void)sink;
		bench_phase("read_zero", pages, rep, tcpu() - t0);
		munmap(p, len);
		bench_phase("mremap", pages, rep, m_mremap(pages));
		bench_phase("munmap", pages, rep, m_munmap(pages));
		bench_phase("exit", pages, rep, m_exit(pages));
		fprintf(stderr, "progress %d %d bench\n", rep + 1, reps);
		fflush(stdout);
	}
	if (wanted_thp > 0)
		printf("info thp_obtained %ld/%ld\n", got, wanted_thp);
	return 0;
}

int main(int argc, char **argv)
{
	size_t bench_pages = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			quick = 1;
		} else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
			only = argv[++i];
		} else if (strcmp(argv[i], "--bench") == 0 && i + 1 < argc) {
			bench_pages = strtoul(argv[++i], NULL, 10);
			if (bench_pages == 0 || bench_pages > (1UL << 22)) {
				fprintf(stderr, "calibrate: --bench expects 1..4194304 pages\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
			reps = atoi(argv[++i]);
			if (reps < 1 || reps > 100) {
				fprintf(stderr, "calibrate: --reps expects 1..100\n");
				return 2;
			}
		} else {
			fprintf(stderr, "usage: calibrate [--quick] [--only NAME,...] [--reps N] | --bench PAGES [--reps N]\n");
			return 2;
		}
	}
	if (quick && reps == 5)
		reps = 3;
	signal(SIGPIPE, SIG_DFL);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	print_info();
	return bench_pages ? run_bench(bench_pages) : run_calibration();
}
