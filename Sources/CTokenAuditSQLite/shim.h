#ifndef CTOKENAUDIT_SQLITE_SHIM_H
#define CTOKENAUDIT_SQLITE_SHIM_H
#include <sqlite3.h>
/* SQLITE_TRANSIENT is a macro cast and does not import into Swift. */
static inline sqlite3_destructor_type ctokenaudit_sqlite_transient(void) { return SQLITE_TRANSIENT; }
#endif
