/* A JavaScript string argument copied into C memory, for the addon's bindings that take paths. */
#ifndef RINGSTACK_STRING_ARG_H
#define RINGSTACK_STRING_ARG_H
#include <node_api.h>
/* A malloc'ed, NUL-terminated copy of string `v` (free it); NULL, with a TypeError naming
 * `what` pending when `v` is not a string, or an Error when out of memory. */
char *string_arg(napi_env env, napi_value v, const char *what);
#endif
