/*
 * What the addon's event-loop jobs (splice_relay.c, receive_file.c) share: the JavaScript
 * handle a cancel function names, and the one callback each job ends with.
 */
#ifndef RINGSTACK_NATIVE_JOB_H
#define RINGSTACK_NATIVE_JOB_H
#include <node_api.h>

/* The object behind a job's JavaScript handle: outlives the job (freed with the handle) and
 * forgets it when it ends, so a late cancel finds nothing. */
typedef struct {
  void *job;
} JobToken;

/* The job's callback and what keeps it and the handle alive until it runs. */
typedef struct {
  napi_env env;
  napi_ref callback;
  napi_ref token_ref;
  napi_async_context context;
} JobCallback;

/* A new token and its handle; NULL (an exception pending) when out of memory. */
JobToken *job_token_new(napi_env env, napi_value *handle);
/* The token of the handle in the first argument of a cancel call; NULL (a TypeError thrown
 * with `message`) when it is not one. */
JobToken *job_token_arg(napi_env env, napi_callback_info info, const char *message);
/* Holds `fn` and `handle` until job_callback_call; `name` names the async resource. */
void job_callback_init(JobCallback *c, napi_env env, napi_value handle, napi_value fn, const char *name);
/* Calls the callback with what `args` puts in argv (returning their count, at most 4), inside
 * a handle scope, then lets go of everything job_callback_init held. */
void job_callback_call(JobCallback *c, size_t (*args)(napi_env env, void *data, napi_value *argv), void *data);
#endif
