#ifndef CAPRUTIL_H
#define CAPRUTIL_H
// APR-util from Debian's libaprutil1-dev, the library Apache's mod_authn_file checks
// passwords with: apr_password_validate knows every format htpasswd writes (bcrypt $2y$,
// APR1-MD5 $apr1$, {SHA}, crypt), and apr_base64_decode is how mod_auth_basic decodes
// the Authorization header. apr_dbm is how mod_rewrite reads `RewriteMap dbm:` files
// (SDBM built in; Berkeley DB, Debian's default, and GDBM loaded from apr-util's modules).
#include <apr_md5.h>
#include <apr_base64.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_dbm.h>

#endif
