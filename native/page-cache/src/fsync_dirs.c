/*
 *   fsyncDirs(paths: string[], callback(err))
 *       open(O_DIRECTORY), fsync and close each directory in turn, in one trip through the
 *       libuv pool; stops at the first failure, whose Error (with `code`, `syscall` and the
 *       failing `path`) the callback gets, else null.
 *   syncFs(path: string, callback(err))
 *       the same for one directory with syncfs(2): every dirty file of the filesystem that
 *       holds it is written back and flushed.
 *
 * Why fsyncDirs: a storage node's small write without the small-write log ends with the fsync
 * of its hash directory and, for a new object, of the directories it created (suffix,
 * partition): up to three directories at once. Made as one pool job each, they cost a
 * main-thread open and close apiece and three worker wake-ups, which on a busy 2-core host (a
 * context switch and several futex calls per trip) cost more than the fsyncs of directories
 * themselves.
 *
 * Why syncFs: the small-write log (objectstore/node/small-write-log.ts) makes many small
 * objects durable with one shared fdatasync of the log, then places their files without fsyncs
 * of their own. Before a log segment is dropped, every file it covers must be on disk: one
 * syncfs of the device's filesystem writes them all back together, which costs far less than
 * an fsync per file and directory. Node's fs has no syncfs.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fsync_dirs.h"
#include "pool_job.h"
#include "string_arg.h"

typedef struct {
  PoolJob base;
  char **paths;
  size_t count;
  size_t failed; /* index of the failing path, when base.err */
  int (*sync)(int fd); /* fsync or syncfs */
  const char *sync_name;
} DirsJob;

static void free_job(PoolJob *base) {
  DirsJob *job = (DirsJob *)base;
  for (size_t i = 0; i < job->count; i++) free(job->paths[i]);
  free(job->paths);
  free(job);
}

static void execute(PoolJob *base) {
  DirsJob *job = (DirsJob *)base;
  for (size_t i = 0; i < job->count; i++) {
    int fd = open(job->paths[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      base->err = errno;
      base->syscall = "open";
      job->failed = i;
      return;
    }
    int rc = job->sync(fd);
    int saved = errno;
    close(fd);
    if (rc != 0) {
      base->err = saved;
      base->syscall = job->sync_name;
      job->failed = i;
      return;
    }
  }
}

/* The failing directory, as Node's fs errors name theirs. */
static void describe(napi_env env, PoolJob *base, napi_value error) {
  DirsJob *job = (DirsJob *)base;
  napi_value path;
  if (job->failed >= job->count) return;
  napi_create_string_utf8(env, job->paths[job->failed], NAPI_AUTO_LENGTH, &path);
  napi_set_named_property(env, error, "path", path);
}

/* A job over `n` paths syncing each with `sync`; NULL (an exception pending) on failure. */
static DirsJob *new_job(napi_env env, uint32_t n, int (*sync)(int), const char *sync_name) {
  DirsJob *job = calloc(1, sizeof *job);
  if (!job || !(job->paths = calloc(n ? n : 1, sizeof *job->paths))) {
    free(job);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  job->base.execute = execute;
  job->base.describe = describe;
  job->base.release = free_job;
  job->sync = sync;
  job->sync_name = sync_name;
  return job;
}

/* Copies string `v` into the job's next path; false (an exception pending) if it is not one. */
static bool add_path(napi_env env, DirsJob *job, napi_value v, const char *what) {
  char *path = string_arg(env, v, what);
  if (!path) return false;
  job->paths[job->count++] = path;
  return true;
}

static napi_value fsync_dirs(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_valuetype t1 = napi_undefined;
  bool is_array = false;
  uint32_t n = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 2) {
    napi_is_array(env, argv[0], &is_array);
    napi_typeof(env, argv[1], &t1);
  }
  if (!is_array || t1 != napi_function || napi_get_array_length(env, argv[0], &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "fsyncDirs: expected (paths: string[], callback: function)");
    return NULL;
  }
  DirsJob *job = new_job(env, n, fsync, "fsync");
  if (!job) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, argv[0], i, &v);
    if (!add_path(env, job, v, "fsyncDirs: every path must be a string")) {
      free_job(&job->base);
      return NULL;
    }
  }
  pool_job_queue(env, &job->base, argv[1], "fsyncDirs");
  return NULL;
}

static napi_value sync_fs(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_valuetype t1 = napi_undefined;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 2) napi_typeof(env, argv[1], &t1);
  if (argc < 2 || t1 != napi_function) {
    napi_throw_type_error(env, NULL, "syncFs: expected (path: string, callback: function)");
    return NULL;
  }
  DirsJob *job = new_job(env, 1, syncfs, "syncfs");
  if (!job) return NULL;
  if (!add_path(env, job, argv[0], "syncFs: expected (path: string, callback: function)")) {
    free_job(&job->base);
    return NULL;
  }
  pool_job_queue(env, &job->base, argv[1], "syncFs");
  return NULL;
}

void fsync_dirs_register(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "fsyncDirs", NAPI_AUTO_LENGTH, fsync_dirs, NULL, &f);
  napi_set_named_property(env, exports, "fsyncDirs", f);
  napi_create_function(env, "syncFs", NAPI_AUTO_LENGTH, sync_fs, NULL, &f);
  napi_set_named_property(env, exports, "syncFs", f);
}
