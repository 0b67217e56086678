#ifndef CTOKENAUDIT_ZLIB_SHIM_H
#define CTOKENAUDIT_ZLIB_SHIM_H
#include <zlib.h>
/* inflateInit2 is a macro and does not import into Swift. */
static inline int ctokenaudit_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}
#endif
