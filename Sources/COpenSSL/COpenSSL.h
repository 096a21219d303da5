#ifndef COPENSSL_H
#define COPENSSL_H
// OpenSSL 3's libssl from Debian's libssl-dev, for mod_ssl. Several of its calls are
// function-like macros over SSL_CTX_ctrl and SSL_ctrl, which Swift cannot import; the
// inline functions below are those macros' expansions, one each, and nothing more.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/conf.h>

static inline long skep_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}
static inline long skep_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_max_proto_version(ctx, version);
}
static inline long skep_SSL_CTX_set_read_ahead(SSL_CTX *ctx, long yes) {
    return SSL_CTX_set_read_ahead(ctx, yes);
}
static inline long skep_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}
static inline long skep_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
static inline long skep_SSL_CTX_sess_set_cache_size(SSL_CTX *ctx, long size) {
    return SSL_CTX_sess_set_cache_size(ctx, size);
}
static inline long skep_SSL_CTX_set_tlsext_servername_callback(SSL_CTX *ctx, int (*cb)(SSL *, int *, void *)) {
    return SSL_CTX_set_tlsext_servername_callback(ctx, cb);
}
static inline long skep_SSL_CTX_set_tlsext_servername_arg(SSL_CTX *ctx, void *arg) {
    return SSL_CTX_set_tlsext_servername_arg(ctx, arg);
}
static inline long skep_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return SSL_CTX_set1_groups_list(ctx, list);
}
static inline int skep_SSL_session_reused(const SSL *ssl) {
    return (int)SSL_session_reused(ssl);
}
static inline long skep_SSL_get_secure_renegotiation_support(SSL *ssl) {
    return SSL_get_secure_renegotiation_support(ssl);
}
static inline long skep_SSL_CTX_add0_chain_cert(SSL_CTX *ctx, X509 *x509) {
    return SSL_CTX_add0_chain_cert(ctx, x509);
}
static inline long skep_SSL_CTX_select_current_cert(SSL_CTX *ctx, X509 *x509) {
    return SSL_CTX_select_current_cert(ctx, x509);
}

// Option and name-printing flags: OpenSSL 3 builds them with SSL_OP_BIT and casts.
static const uint64_t skep_SSL_OP_NO_COMPRESSION = SSL_OP_NO_COMPRESSION;
static const uint64_t skep_SSL_OP_NO_RENEGOTIATION = SSL_OP_NO_RENEGOTIATION;
static const uint64_t skep_SSL_OP_CIPHER_SERVER_PREFERENCE = SSL_OP_CIPHER_SERVER_PREFERENCE;
static const uint64_t skep_SSL_OP_NO_TICKET = SSL_OP_NO_TICKET;
static const unsigned long skep_XN_FLAG_RFC2253 = XN_FLAG_RFC2253;

#endif
