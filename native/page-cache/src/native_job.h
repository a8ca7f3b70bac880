/*
 * What the addon's event-loop jobs (splice_relay.c, receive_file.c) share: the JavaScript
 * handle a cancel function names, and the one callback each job ends with.
 */
#ifndef RINGSTACK_NATIVE_JOB_H
#define RINGSTACK_NATIVE_JOB_H
#include <node_api.h>
#include <stdint.h>
#include <uv.h>

/* The object behind a job's JavaScript handle: outlives the job (freed with the handle) and
 * forgets it when it ends, so a late cancel finds nothing. */
typedef struct {
  void *job;
} JobToken;

/* How a job ends: its state, its callback and what keeps the callback and handle alive. */
typedef struct {
  JobToken *token;
  int finished;
  int err;             /* 0, or the errno it ended with */
  const char *syscall; /* the call that failed */
  napi_env env;
  napi_ref callback;
  napi_ref token_ref;
  napi_async_context context;
} Job;

/* A new token and its handle; NULL (an exception pending) when out of memory. */
JobToken *job_token_new(napi_env env, napi_value *handle);
/* The token of the handle in the first argument of a cancel call; NULL (a TypeError thrown
 * with `message`) when it is not one. */
JobToken *job_token_arg(napi_env env, napi_callback_info info, const char *message);
/* Binds `owner` to the token of `handle` and holds `fn` and `handle` until job_call; `name`
 * names the async resource. */
void job_start(Job *j, napi_env env, JobToken *token, void *owner, napi_value handle, napi_value fn, const char *name);
/* Marks the job ended with `err` (0: done); the token forgets it. Returns 0 when it had
 * already ended. */
int job_end(Job *j, int err, const char *syscall);
/* Calls the callback with null or the job's Error first, then what `more` puts after it in
 * argv (returning their count, at most 3), inside a handle scope; then lets go of everything
 * job_start held. */
void job_call(Job *j, size_t (*more)(napi_env env, void *data, napi_value *argv), void *data);
/* Exports a job's start function and its cancel function under their names. */
void job_export(napi_env env, napi_value exports, const char *start_name, napi_callback start,
                const char *cancel_name, napi_callback cancel);
/* The arguments of a two-descriptor job (spliceRelay, receiveToFile): up to n of them into argv
 * and their types into t (napi_undefined where missing); then its common head, checked: argv[0]
 * and argv[1] non-negative 32-bit descriptors, argv[2] a positive byte count. Gives the
 * descriptors, the count and the event loop; returns -1 (a TypeError with `usage`, or an
 * Error, thrown) when the head is wrong. The caller checks the arguments after it. */
int job_fd_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, napi_valuetype *t,
                int32_t fds[2], int64_t *bytes, uv_loop_t **loop, const char *usage);
/* Duplicates both descriptors (close-on-exec) into *first and *second, the job's own fields:
 * Node may close its own meanwhile and the numbers be reused. Returns 0, or the errno (both
 * left at -1). */
int job_dup_fds(const int32_t fds[2], int *first, int *second);
#endif
