#ifndef CLIBCRYPTO_H
#define CLIBCRYPTO_H
// OpenSSL's libcrypto from Debian's libssl-dev: the digests of ap_expr's md5() and sha1().
#include <openssl/evp.h>

#endif
