/* The one copy of a JavaScript string into C memory (fsync_dirs.c, place_file.c). */
#include <stdlib.h>
#include "string_arg.h"

char *string_arg(napi_env env, napi_value v, const char *what) {
  napi_valuetype t = napi_undefined;
  size_t len = 0;
  napi_typeof(env, v, &t);
  if (t != napi_string || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  char *s = malloc(len + 1);
  if (!s) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}
