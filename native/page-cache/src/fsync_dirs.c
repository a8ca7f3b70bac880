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
#include "errno_error.h"

typedef struct {
  napi_async_work work;
  napi_ref callback;
  char **paths;
  size_t count;
  size_t failed; /* index of the failing path, when err */
  int err;
  const char *syscall;
} DirsJob;

static void free_job(DirsJob *job) {
  for (size_t i = 0; i < job->count; i++) free(job->paths[i]);
  free(job->paths);
  free(job);
}

static void execute(napi_env env, void *data) {
  DirsJob *job = data;
  (void)env;
  for (size_t i = 0; i < job->count; i++) {
    int fd = open(job->paths[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      job->err = errno;
      job->syscall = "open";
      job->failed = i;
      return;
    }
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    if (rc != 0) {
      job->err = saved;
      job->syscall = "fsync";
      job->failed = i;
      return;
    }
  }
}

static void complete(napi_env env, napi_status status, void *data) {
  DirsJob *job = data;
  napi_value cb, global, arg, path, ignored;
  napi_get_reference_value(env, job->callback, &cb);
  napi_get_global(env, &global);
  if (status != napi_ok && !job->err) {
    job->err = EIO;
    job->syscall = "fsync";
  }
  if (job->err) {
    arg = errno_error(env, job->err, job->syscall);
    napi_create_string_utf8(env, job->paths[job->failed], NAPI_AUTO_LENGTH, &path);
    napi_set_named_property(env, arg, "path", path);
  } else {
    napi_get_null(env, &arg);
  }
  napi_delete_reference(env, job->callback);
  napi_delete_async_work(env, job->work);
  free_job(job);
  napi_call_function(env, global, cb, 1, &arg, &ignored);
}

static napi_value fsync_dirs(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], name;
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
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_valuetype t = napi_undefined;
    size_t len = 0;
    napi_get_element(env, argv[0], i, &v);
    napi_typeof(env, v, &t);
    if (t != napi_string || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
      free_job(job);
      napi_throw_type_error(env, NULL, "fsyncDirs: every path must be a string");
      return NULL;
    }
    job->paths[i] = malloc(len + 1);
    if (!job->paths[i]) {
      free_job(job);
      napi_throw_error(env, NULL, "out of memory");
      return NULL;
    }
    job->count = i + 1;
    napi_get_value_string_utf8(env, v, job->paths[i], len + 1, &len);
  }
  napi_create_reference(env, argv[1], 1, &job->callback);
  napi_create_string_utf8(env, "fsyncDirs", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return NULL;
}

void fsync_dirs_register(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "fsyncDirs", NAPI_AUTO_LENGTH, fsync_dirs, NULL, &f);
  napi_set_named_property(env, exports, "fsyncDirs", f);
}
