#ifndef LUFFY_CMARIADB_SHIM_H
#define LUFFY_CMARIADB_SHIM_H
#include <stddef.h>
#include <mysql.h>

// mysql_library_init/end are alias macros Swift cannot import.
static inline int luffy_mysql_library_init(void) { return mysql_server_init(0, NULL, NULL); }
static inline void luffy_mysql_library_end(void) { mysql_server_end(); }
#endif
