#ifndef VOLUMED_CSQLITE_SHIM_H
#define VOLUMED_CSQLITE_SHIM_H
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast macro that Swift cannot import.
static inline sqlite3_destructor_type csqlite_transient(void) { return SQLITE_TRANSIENT; }

// sqlite3_config is variadic, which Swift cannot call. Memory statistics put a global mutex
// around every allocation SQLite makes; nothing here reads them.
static inline int csqlite_disable_memory_statistics(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

// An open file of the byte-source VFS: SQLite allocates `szOsFile` bytes per file and hands
// them to xOpen; the token finds the Swift source the file reads from.
typedef struct csqlite_source_file {
    sqlite3_file base;
    unsigned long long token;
} csqlite_source_file;
#endif
