// LMDB, the memory-mapped key-value store behind the daemon's registry and caches.
#include <lmdb.h>
