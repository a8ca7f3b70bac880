/* The handle and callback plumbing of the addon's event-loop jobs (native_job.h). */
#include <stdlib.h>
#include "errno_error.h"
#include "native_job.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static void free_token(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  free(data);
}

JobToken *job_token_new(napi_env env, napi_value *handle) {
  JobToken *token = malloc(sizeof *token);
  if (!token) {
    throw_errno(env, ENOMEM, "malloc");
    return NULL;
  }
  token->job = NULL;
  if (napi_create_external(env, token, free_token, NULL, handle) != napi_ok) {
    free(token);
    throw_errno(env, ENOMEM, "napi_create_external");
    return NULL;
  }
  return token;
}

JobToken *job_token_arg(napi_env env, napi_callback_info info, const char *message) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype t = napi_undefined;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  void *data = NULL;
  if (t != napi_external || napi_get_value_external(env, argv[0], &data) != napi_ok || !data) {
    napi_throw_type_error(env, NULL, message);
    return NULL;
  }
  return data;
}

void job_start(Job *j, napi_env env, JobToken *token, void *owner, napi_value handle, napi_value fn, const char *name) {
  napi_value n;
  j->token = token;
  token->job = owner;
  j->finished = 0;
  j->err = 0;
  j->syscall = NULL;
  j->env = env;
  napi_create_reference(env, handle, 1, &j->token_ref);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &n);
  napi_create_reference(env, fn, 1, &j->callback);
  napi_async_init(env, NULL, n, &j->context);
}

int job_end(Job *j, int err, const char *syscall) {
  if (j->finished) return 0;
  j->finished = 1;
  j->token->job = NULL;
  j->err = err;
  j->syscall = syscall;
  return 1;
}

void job_call(Job *j, size_t (*more)(napi_env env, void *data, napi_value *argv), void *data) {
  napi_env env = j->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, argv[4];
  napi_get_reference_value(env, j->callback, &cb);
  napi_get_global(env, &recv); /* make_callback wants an object as `this` */
  if (j->err) argv[0] = errno_error(env, j->err, j->syscall);
  else napi_get_null(env, &argv[0]);
  size_t argc = 1 + more(env, data, argv + 1);
  /* make_callback, not call_function: promises resolved by the callback settle right after it. */
  napi_make_callback(env, j->context, recv, cb, argc, argv, NULL);
  napi_close_handle_scope(env, scope);
  napi_delete_reference(env, j->callback);
  napi_delete_reference(env, j->token_ref);
  napi_async_destroy(env, j->context);
}

void job_export(napi_env env, napi_value exports, const char *start_name, napi_callback start,
                const char *cancel_name, napi_callback cancel) {
  napi_value f;
  napi_create_function(env, start_name, NAPI_AUTO_LENGTH, start, NULL, &f);
  napi_set_named_property(env, exports, start_name, f);
  napi_create_function(env, cancel_name, NAPI_AUTO_LENGTH, cancel, NULL, &f);
  napi_set_named_property(env, exports, cancel_name, f);
}

int job_fd_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, napi_valuetype *t,
                int32_t fds[2], int64_t *bytes, uv_loop_t **loop, const char *usage) {
  size_t argc = n;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  for (size_t i = 0; i < n; i++) {
    t[i] = napi_undefined;
    if (i < argc) napi_typeof(env, argv[i], &t[i]);
  }
  if (n < 3 || t[0] != napi_number || t[1] != napi_number || t[2] != napi_number
      || napi_get_value_int32(env, argv[0], &fds[0]) != napi_ok || napi_get_value_int32(env, argv[1], &fds[1]) != napi_ok
      || napi_get_value_int64(env, argv[2], bytes) != napi_ok || fds[0] < 0 || fds[1] < 0 || *bytes <= 0) {
    napi_throw_type_error(env, NULL, usage);
    return -1;
  }
  if (napi_get_uv_event_loop(env, loop) != napi_ok) {
    napi_throw_error(env, NULL, "no event loop");
    return -1;
  }
  return 0;
}

int job_dup_fds(const int32_t fds[2], int *first, int *second) {
  int *out[2] = { first, second };
  *first = *second = -1;
  for (int i = 0; i < 2; i++) {
    if ((*out[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0)) < 0) {
      int e = errno;
      if (i == 1) close(*first);
      *first = *second = -1;
      return e;
    }
  }
  return 0;
}
