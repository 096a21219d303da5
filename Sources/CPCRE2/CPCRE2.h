#ifndef CPCRE2_H
#define CPCRE2_H
// PCRE2 from Debian's libpcre2-dev, 8-bit code units: Apache matches bytes, and so do we.
// pcre2.h names its API with function-like macros (pcre2_compile expands to
// pcre2_compile_8 for the width chosen here), which Swift cannot import; with the width
// fixed, Swift sees the real functions and types (pcre2_compile_8, pcre2_code_8...).
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#endif
