#ifndef CZLIB_H
#define CZLIB_H
// zlib from Debian's zlib1g-dev, for mod_deflate. `deflateInit2` is a function-like
// macro Swift cannot import; Swift calls `deflateInit2_` with ZLIB_VERSION and the
// size of z_stream, which is what the macro expands to.
#include <zlib.h>

#endif
