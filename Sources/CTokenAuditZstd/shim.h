#ifndef CTOKENAUDIT_ZSTD_SHIM_H
#define CTOKENAUDIT_ZSTD_SHIM_H
#include <zstd.h>
#endif
