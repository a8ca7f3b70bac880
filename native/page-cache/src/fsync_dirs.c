/*
 *   fsyncDirs(paths: string[], callback(err))
 *       open(O_DIRECTORY), fsync and close each directory in turn, in one trip through the
 *       libuv pool; stops at the first failure, whose Error (with `code`, `syscall` and the
 *       failing `path`) the callback gets, else null.
 *
 * Why: a storage node's small write ends with the fsync of its hash directory and, for a new
 * object, of the directories it created (suffix, partition): up to three directories at
 * once. Made as one pool job each, they cost a main-thread open and close apiece and three
 * worker wake-ups, which on a busy 2-core host (a context switch and several futex calls per
 * trip) cost more than the fsyncs of directories themselves.
 */
#include <node_api.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fsync_dirs.h"
#include "pool_job.h"

typedef struct {
  PoolJob base;
  char **paths;
  size_t count;
  size_t failed; /* index of the failing path, when base.err */
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
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    if (rc != 0) {
      base->err = saved;
      base->syscall = "fsync";
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
  DirsJob *job = calloc(1, sizeof *job);
  if (!job || !(job->paths = calloc(n ? n : 1, sizeof *job->paths))) {
    free(job);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  job->base.execute = execute;
  job->base.describe = describe;
  job->base.release = free_job;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_valuetype t = napi_undefined;
    size_t len = 0;
    napi_get_element(env, argv[0], i, &v);
    napi_typeof(env, v, &t);
    if (t != napi_string || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
      free_job(&job->base);
      napi_throw_type_error(env, NULL, "fsyncDirs: every path must be a string");
      return NULL;
    }
    job->paths[i] = malloc(len + 1);
    if (!job->paths[i]) {
      free_job(&job->base);
      napi_throw_error(env, NULL, "out of memory");
      return NULL;
    }
    job->count = i + 1;
    napi_get_value_string_utf8(env, v, job->paths[i], len + 1, &len);
  }
  pool_job_queue(env, &job->base, argv[1], "fsyncDirs");
  return NULL;
}

void fsync_dirs_register(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "fsyncDirs", NAPI_AUTO_LENGTH, fsync_dirs, NULL, &f);
  napi_set_named_property(env, exports, "fsyncDirs", f);
}
