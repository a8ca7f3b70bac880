/* The handle and callback plumbing of the addon's event-loop jobs (native_job.h). */
#include <stdlib.h>
#include "errno_error.h"
#include "native_job.h"
#include <errno.h>

static void free_token(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  free(data);
}

JobToken *job_token_new(napi_env env, napi_value *handle) {
  JobToken *token = malloc(sizeof *token);
  if (!token) {
    napi_throw(env, errno_error(env, ENOMEM, "malloc"));
    return NULL;
  }
  token->job = NULL;
  if (napi_create_external(env, token, free_token, NULL, handle) != napi_ok) {
    free(token);
    napi_throw(env, errno_error(env, ENOMEM, "napi_create_external"));
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

void job_callback_init(JobCallback *c, napi_env env, napi_value handle, napi_value fn, const char *name) {
  napi_value n;
  c->env = env;
  napi_create_reference(env, handle, 1, &c->token_ref);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &n);
  napi_create_reference(env, fn, 1, &c->callback);
  napi_async_init(env, NULL, n, &c->context);
}

void job_callback_call(JobCallback *c, size_t (*args)(napi_env env, void *data, napi_value *argv), void *data) {
  napi_env env = c->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, argv[4];
  napi_get_reference_value(env, c->callback, &cb);
  napi_get_global(env, &recv); /* make_callback wants an object as `this` */
  size_t argc = args(env, data, argv);
  /* make_callback, not call_function: promises resolved by the callback settle right after it. */
  napi_make_callback(env, c->context, recv, cb, argc, argv, NULL);
  napi_close_handle_scope(env, scope);
  napi_delete_reference(env, c->callback);
  napi_delete_reference(env, c->token_ref);
  napi_async_destroy(env, c->context);
}
