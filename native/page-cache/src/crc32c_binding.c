/*
 * The JavaScript face of crc32c.c:
 *
 *   crc32c(bytes: Uint8Array, previous = 0): number          hardware when available
 *   crc32cSoftware(bytes: Uint8Array, previous = 0): number  always the table loop (tests)
 *   crc32cHardware: boolean                                   the CPU instruction is used
 *
 * Synchronous: at several GB/s a 1 MiB chunk takes well under a millisecond, less than a trip
 * through the libuv pool would cost.
 */
#include <node_api.h>
#include "crc32c.h"
#include "crc32c_binding.h"

typedef uint32_t (*Update)(uint32_t, const uint8_t *, size_t);

static napi_value call(napi_env env, napi_callback_info info, Update update) {
  size_t argc = 2;
  napi_value argv[2], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool is_typed = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (argc >= 1) napi_is_typedarray(env, argv[0], &is_typed);
  if (is_typed) napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL);
  if (!is_typed || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "crc32c: expected (bytes: Uint8Array, previous?: number)");
    return NULL;
  }
  uint32_t crc = 0;
  if (argc >= 2) {
    napi_valuetype t;
    napi_typeof(env, argv[1], &t);
    if (t != napi_undefined && (t != napi_number || napi_get_value_uint32(env, argv[1], &crc) != napi_ok)) {
      napi_throw_type_error(env, NULL, "crc32c: previous must be a number");
      return NULL;
    }
  }
  napi_create_uint32(env, update(crc, data, length), &out);
  return out;
}

static napi_value crc32c(napi_env env, napi_callback_info info) { return call(env, info, crc32c_update); }
static napi_value crc32c_software(napi_env env, napi_callback_info info) { return call(env, info, crc32c_update_software); }

void crc32c_register(napi_env env, napi_value exports) {
  napi_value f, flag;
  crc32c_init();
  napi_create_function(env, "crc32c", NAPI_AUTO_LENGTH, crc32c, NULL, &f);
  napi_set_named_property(env, exports, "crc32c", f);
  napi_create_function(env, "crc32cSoftware", NAPI_AUTO_LENGTH, crc32c_software, NULL, &f);
  napi_set_named_property(env, exports, "crc32cSoftware", f);
  napi_get_boolean(env, crc32c_hardware(), &flag);
  napi_set_named_property(env, exports, "crc32cHardware", flag);
}
