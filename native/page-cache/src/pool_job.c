/* The pool-job plumbing (pool_job.h). */
#include <errno.h>
#include "errno_error.h"
#include "pool_job.h"

static void execute(napi_env env, void *data) {
  (void)env;
  PoolJob *job = data;
  job->execute(job);
}

static void complete(napi_env env, napi_status status, void *data) {
  PoolJob *job = data;
  napi_value cb, global, arg, ignored;
  napi_get_reference_value(env, job->callback, &cb);
  napi_get_global(env, &global);
  if (status != napi_ok && !job->err) {
    /* The work never ran (cancelled): nothing was done. */
    job->err = EIO;
    job->syscall = "uv_queue_work";
  }
  if (job->err) {
    arg = errno_error(env, job->err, job->syscall);
    if (job->describe) job->describe(env, job, arg);
  } else {
    napi_get_null(env, &arg);
  }
  napi_delete_reference(env, job->callback);
  napi_delete_async_work(env, job->work);
  job->release(job);
  napi_call_function(env, global, cb, 1, &arg, &ignored);
}

void pool_job_queue(napi_env env, PoolJob *job, napi_value fn, const char *name) {
  napi_value n;
  napi_create_reference(env, fn, 1, &job->callback);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &n);
  napi_create_async_work(env, NULL, n, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
}
