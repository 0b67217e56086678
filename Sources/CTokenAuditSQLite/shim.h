#ifndef CTOKENAUDIT_SQLITE_SHIM_H
#define CTOKENAUDIT_SQLITE_SHIM_H
#include <sqlite3.h>
/* SQLITE_TRANSIENT is a macro cast and does not import into Swift. */
static inline sqlite3_destructor_type ctokenaudit_sqlite_transient(void) { return SQLITE_TRANSIENT; }
/* sqlite3_config is variadic (not callable from Swift). Turns off SQLite's global memory statistics, which
   take a process-wide mutex around every sqlite3_malloc/free; must run before the first connection opens
   (SQLITE_MISUSE afterwards, harmless). */
static inline int ctokenaudit_sqlite_disable_memstatus(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }
#endif
