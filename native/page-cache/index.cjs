// Loads the compiled addon; `null` when it was not built (no C toolchain): callers then keep
// the page cache as it is, which is correct, only slower on large objects.
'use strict';
let binding = null;
try {
  binding = require('./build/Release/page_cache.node');
} catch {
  binding = null;
}
module.exports = binding;
