/*
 * What making a small object durable costs the kernel, by way of committing it, outside
 * Node: 16 threads each write 4 KiB objects into Swift's layout (a new suffix dir and hash dir
 * under one of 1,024 partition dirs, the file written in tmp/ and renamed in), made durable
 * one of four ways; CPU (user + system) per object and objects per second, medians of rounds.
 *
 *   fsyncs        what a storage node does: fsync the file, rename, fsync the hash, suffix and
 *                 partition dirs (diskfile.ts finish)
 *   syncfs-after  rename, then one syncfs(2) shared by every object renamed before it began
 *                 (group commit). NOT crash-safe: a crash before the syncfs can leave a renamed
 *                 file whose data never reached the disk
 *   syncfs-twice  the crash-safe group commit: a shared syncfs for the files, rename, a
 *                 shared syncfs for the dirs
 *   fsync-syncfs  fsync the file, rename, a shared syncfs for the dirs
 *
 * Written in C to see the kernel's part alone. It is an experiment record for README.md
 * "Session 23", not part of the product or the CI run:
 *
 *   cc -O2 -pthread -o /tmp/commit-paths bench/objectstore/commit-paths.c
 *   /tmp/commit-paths /var/tmp/commit-paths [rounds=5] [objects per thread=300]
 *
 * The root must be on the filesystem under test and is left behind (remove it afterwards):
 * ext4 without a journal skips inodes freed in the last minutes when it allocates new ones,
 * so deleting between rounds would slow the rounds after it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define THREADS 16
#define PARTITIONS 1024
#define OBJECT_BYTES 4096
#define MODES 4

enum mode { FSYNCS, SYNCFS_AFTER, SYNCFS_TWICE, FSYNC_SYNCFS };
static const char *MODE_NAMES[MODES] = {"fsyncs", "syncfs-after", "syncfs-twice", "fsync-syncfs"};

static enum mode mode;
static int per_thread;
static char run_root[512];

/* Group commit: a caller waits until a syncfs that began after its call has ended. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long requested, covered;
static int syncing;
static long syncs;

static void group_syncfs(int fd) {
  pthread_mutex_lock(&mu);
  long ticket = ++requested;
  while (covered < ticket) {
    if (syncing) {
      pthread_cond_wait(&cv, &mu);
      continue;
    }
    syncing = 1;
    long upto = requested;
    pthread_mutex_unlock(&mu);
    if (syncfs(fd) != 0) perror("syncfs");
    pthread_mutex_lock(&mu);
    syncs++;
    syncing = 0;
    if (upto > covered) covered = upto;
    pthread_cond_broadcast(&cv);
  }
  pthread_mutex_unlock(&mu);
}

static void fsync_path(const char *dir) {
  int d = open(dir, O_RDONLY | O_DIRECTORY);
  if (d < 0 || fsync(d) != 0) perror(dir);
  if (d >= 0) close(d);
}

static void *writer(void *arg) {
  long id = (long)arg;
  char body[OBJECT_BYTES];
  memset(body, 7, sizeof body);
  unsigned seed = (unsigned)id;
  for (int i = 0; i < per_thread; i++) {
    char tmp[600], part[600], suffix[640], hash[660], final[700];
    snprintf(part, sizeof part, "%s/objects/%d", run_root, rand_r(&seed) % PARTITIONS);
    snprintf(suffix, sizeof suffix, "%s/%02ld%04d", part, id, i);
    snprintf(hash, sizeof hash, "%s/h", suffix);
    snprintf(final, sizeof final, "%s/1.data", hash);
    snprintf(tmp, sizeof tmp, "%s/tmp/%ld.%d", run_root, id, i);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0 || write(fd, body, sizeof body) != (ssize_t)sizeof body) {
      perror(tmp);
      exit(1);
    }
    if (mode == FSYNCS || mode == FSYNC_SYNCFS) fsync(fd);
    if (mode == SYNCFS_TWICE) group_syncfs(fd);
    mkdir(part, 0777);
    mkdir(suffix, 0777);
    mkdir(hash, 0777);
    if (rename(tmp, final) != 0) {
      perror(final);
      exit(1);
    }
    if (mode == FSYNCS) {
      fsync_path(hash);
      fsync_path(suffix);
      fsync_path(part);
    } else {
      group_syncfs(fd);
    }
    close(fd);
  }
  return NULL;
}

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *xs, int n) {
  qsort(xs, n, sizeof *xs, by_value);
  return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <root dir> [rounds] [objects per thread]\n", argv[0]);
    return 2;
  }
  int rounds = argc > 2 ? atoi(argv[2]) : 5;
  per_thread = argc > 3 ? atoi(argv[3]) : 300;
  if (rounds < 1 || rounds > 50 || per_thread < 1) {
    fprintf(stderr, "rounds must be 1-50 and objects per thread at least 1\n");
    return 2;
  }
  mkdir(argv[1], 0777);
  double rate[MODES][50], cpu_ms[MODES][50];
  for (int r = 0; r < rounds; r++) {
    for (int m = 0; m < MODES; m++) {
      char dir[600];
      mode = (enum mode)m;
      requested = covered = syncs = 0;
      snprintf(run_root, sizeof run_root, "%s/r%d-%s", argv[1], r, MODE_NAMES[m]);
      mkdir(run_root, 0777);
      snprintf(dir, sizeof dir, "%s/tmp", run_root);
      mkdir(dir, 0777);
      snprintf(dir, sizeof dir, "%s/objects", run_root);
      mkdir(dir, 0777);
      sync();
      pthread_t t[THREADS];
      double t0 = seconds(), c0 = cpu_seconds();
      for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, writer, (void *)i);
      for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
      double n = (double)THREADS * per_thread;
      rate[m][r] = n / (seconds() - t0);
      cpu_ms[m][r] = (cpu_seconds() - c0) * 1000 / n;
      printf("round %d %-13s %7.0f objects/s %6.3f ms CPU/object%s", r + 1, MODE_NAMES[m], rate[m][r], cpu_ms[m][r],
        syncs ? "" : "\n");
      if (syncs) printf(" %5.1f objects/syncfs\n", n / syncs);
      fflush(stdout);
    }
  }
  printf("\nmedians of %d rounds, %d threads x %d objects of %d bytes:\n", rounds, THREADS, per_thread, OBJECT_BYTES);
  double base = median(cpu_ms[FSYNCS], rounds);
  for (int m = 0; m < MODES; m++) {
    double c = median(cpu_ms[m], rounds);
    printf("%-13s %7.0f objects/s %6.3f ms CPU/object (%.2fx fsyncs)\n", MODE_NAMES[m], median(rate[m], rounds), c, c / base);
  }
  return 0;
}
