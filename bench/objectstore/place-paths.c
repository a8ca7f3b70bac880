/*
 * What placing a new small object's file costs the kernel, four ways, outside Node: 4 KiB
 * files into Swift's layout (a new suffix dir and hash dir under one of 1,024 partition dirs,
 * created as a storage node creates them: access, then mkdir of the hash dir, of the suffix
 * dir on ENOENT), the four ways taken in turn object by object so each sees the same state of
 * the filesystem; CPU time (user + system, this thread) per object of each way.
 *
 *   temp+readback   the small-logged-write path before session 31: a temp file in <root>/tmp,
 *                   written, read back (for the log), renamed into the hash dir
 *   unnamed         the path since session 31: open(hash dir, O_TMPFILE), write, linkat from
 *                   /proc/self/fd (native/page-cache/src/place_file.c)
 *   temp-in-dir     a temp name inside the hash dir, renamed within it
 *   temp            a temp file in <root>/tmp, written, renamed (place-file.ts's fallback)
 *
 * Written in C to see the kernel's part alone; no fsyncs (a logged write's durability is the
 * log's). An experiment record for README.md "Session 31", not part of the product or the CI
 * run:
 *
 *   cc -O2 -o /tmp/place-paths bench/objectstore/place-paths.c
 *   /tmp/place-paths /var/tmp/place-paths-1 [objects=40000]
 *
 * Use a new root each time and remove it afterwards (see commit-paths.c on why not between runs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WAYS 4
static const char *names[WAYS] = {"temp+readback", "unnamed", "temp-in-dir", "temp"};

static double thread_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* The hash dir, made as a storage node makes it when it does not exist yet. */
static void make_dirs(const char *suffix, const char *hash_dir) {
  if (access(hash_dir, F_OK) == 0) return;
  if (mkdir(hash_dir, 0755) == 0) return;
  if (errno != ENOENT) die("mkdir");
  if (mkdir(suffix, 0755) != 0 && errno != EEXIST) die("mkdir suffix");
  if (mkdir(hash_dir, 0755) != 0) die("mkdir hash");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s ROOT [objects]\n", argv[0]);
    return 2;
  }
  const char *root = argv[1];
  int n = argc > 2 ? atoi(argv[2]) : 40000;
  char body[4200], back[4200], path[512], tmp[512], suffix[400], dir[450];
  memset(body, 'x', sizeof body);
  snprintf(tmp, sizeof tmp, "%s/tmp", root);
  if (mkdir(root, 0755) != 0 || mkdir(tmp, 0755) != 0) die("mkdir root (use a new one)");
  snprintf(path, sizeof path, "%s/objects", root);
  mkdir(path, 0755);
  for (int i = 0; i < 1024; i++) {
    snprintf(path, sizeof path, "%s/objects/%d", root, i);
    mkdir(path, 0755);
  }
  double total[WAYS] = {0};
  srand(1);
  for (int i = 0; i < n; i++) {
    int way = i % WAYS;
    unsigned h = (unsigned)rand();
    snprintf(suffix, sizeof suffix, "%s/objects/%u/%03x", root, h % 1024, (h >> 10) & 0xfff);
    snprintf(dir, sizeof dir, "%s/%08x%08x", suffix, h, i);
    snprintf(path, sizeof path, "%s/1700000000.00000.data", dir);
    double t0 = thread_ms();
    int fd;
    if (way == 1) {
      make_dirs(suffix, dir);
      if ((fd = open(dir, O_TMPFILE | O_WRONLY, 0644)) < 0) die("open O_TMPFILE");
      if (write(fd, body, sizeof body) != sizeof body) die("write");
      char self[64];
      snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
      if (linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0) die("linkat");
      close(fd);
    } else if (way == 2) {
      make_dirs(suffix, dir);
      snprintf(tmp, sizeof tmp, "%s/.%d.tmp", dir, i);
      if ((fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY, 0644)) < 0) die("open");
      if (write(fd, body, sizeof body) != sizeof body) die("write");
      close(fd);
      if (rename(tmp, path) != 0) die("rename");
    } else {
      snprintf(tmp, sizeof tmp, "%s/tmp/%08x.%d.tmp", root, h, i);
      if ((fd = open(tmp, O_CREAT | O_EXCL | O_RDWR, 0644)) < 0) die("open");
      if (write(fd, body, sizeof body) != sizeof body) die("write");
      if (way == 0 && pread(fd, back, sizeof back, 0) != sizeof back) die("pread");
      make_dirs(suffix, dir);
      close(fd);
      if (rename(tmp, path) != 0) die("rename");
    }
    total[way] += thread_ms() - t0;
  }
  printf("ms of CPU per object:");
  for (int w = 0; w < WAYS; w++) printf("  %s %.4f", names[w], total[w] / (n / WAYS));
  printf("\n");
  return 0;
}
