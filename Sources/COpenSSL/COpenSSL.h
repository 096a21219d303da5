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
#include <openssl/ocsp.h>
#include <openssl/http.h>

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
static inline long skep_SSL_CTX_set_tlsext_servername_callback(SSL_CTX *ctx, int (*cb)(SSL *, int *, void *)) {
    return SSL_CTX_set_tlsext_servername_callback(ctx, cb);
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
static inline long skep_SSL_CTX_set_tlsext_status_cb(SSL_CTX *ctx, int (*cb)(SSL *, void *)) {
    return SSL_CTX_set_tlsext_status_cb(ctx, cb);
}
/* Hands `der` (OPENSSL_malloc'ed; OpenSSL frees it) to the handshake as the stapled response. */
static inline long skep_SSL_set_tlsext_status_ocsp_resp(SSL *ssl, unsigned char *der, long length) {
    return SSL_set_tlsext_status_ocsp_resp(ssl, der, length);
}
static inline void *skep_OPENSSL_malloc(size_t size) { return OPENSSL_malloc(size); }
static inline void skep_OPENSSL_free(void *pointer) { OPENSSL_free(pointer); }

/* The first OCSP responder URL in the certificate's Authority Information Access, as a
   copy to free with skep_OPENSSL_free; NULL when it names none. */
static inline char *skep_first_ocsp_url(X509 *certificate) {
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(certificate);
    char *first = NULL;
    if (urls != NULL && sk_OPENSSL_STRING_num(urls) > 0) first = OPENSSL_strdup(sk_OPENSSL_STRING_value(urls, 0));
    X509_email_free(urls);
    return first;
}

/* The certificate in `certs` (the context's chain) that issued `subject`, or NULL. */
static inline X509 *skep_find_issuer(STACK_OF(X509) *certs, X509 *subject) {
    for (int i = 0; certs != NULL && i < sk_X509_num(certs); i++) {
        X509 *candidate = sk_X509_value(certs, i);
        if (X509_check_issued(candidate, subject) == X509_V_OK) return candidate;
    }
    return NULL;
}
/* The subject alternative names' stack, typed macros Swift cannot import. */
static inline int skep_sk_GENERAL_NAME_num(const STACK_OF(GENERAL_NAME) *names) { return sk_GENERAL_NAME_num(names); }
static inline GENERAL_NAME *skep_sk_GENERAL_NAME_value(const STACK_OF(GENERAL_NAME) *names, int index) {
    return sk_GENERAL_NAME_value(names, index);
}

static inline int skep_sk_X509_num(const STACK_OF(X509) *certificates) { return sk_X509_num(certificates); }
static inline X509 *skep_sk_X509_value(const STACK_OF(X509) *certificates, int index) { return sk_X509_value(certificates, index); }

/* Makes the first (or next) certificate of `ctx` current; 1 while there is one. */
static inline long skep_SSL_CTX_select_certificate(SSL_CTX *ctx, int first) {
    return SSL_CTX_set_current_cert(ctx, first ? SSL_CERT_SET_FIRST : SSL_CERT_SET_NEXT);
}
static inline long skep_SSL_CTX_get0_chain_certs(SSL_CTX *ctx, STACK_OF(X509) **chain) {
    return SSL_CTX_get0_chain_certs(ctx, chain);
}

// Option and name-printing flags: OpenSSL 3 builds them with SSL_OP_BIT and casts.
static const uint64_t skep_SSL_OP_NO_COMPRESSION = SSL_OP_NO_COMPRESSION;
static const uint64_t skep_SSL_OP_NO_RENEGOTIATION = SSL_OP_NO_RENEGOTIATION;
static const uint64_t skep_SSL_OP_CIPHER_SERVER_PREFERENCE = SSL_OP_CIPHER_SERVER_PREFERENCE;
static const uint64_t skep_SSL_OP_NO_TICKET = SSL_OP_NO_TICKET;
static const unsigned long skep_XN_FLAG_RFC2253 = XN_FLAG_RFC2253;

// SSLSessionTicketKeyFile: Apache's 48-byte file (a key name, an HMAC secret and an AES key,
// 16 bytes each), used as mod_ssl uses it: tickets sealed with AES-128-CBC and HMAC-SHA256
// by OpenSSL's own ciphers. The keys live in the context's ex_data (freed with it).
#include <openssl/rand.h>
#include <openssl/core_names.h>
#include <string.h>

static inline void skep_free_ticket_keys(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
    if (ptr != NULL) OPENSSL_clear_free(ptr, 48);
}

/* The ex_data slot of the keys, taken once (the master makes the contexts, before any thread). */
static inline int skep_ticket_keys_index(void) {
    static int index = -1;
    if (index < 0) index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, skep_free_ticket_keys);
    return index;
}

static inline int skep_ticket_key_callback(SSL *ssl, unsigned char *name, unsigned char *iv,
                                           EVP_CIPHER_CTX *cipher, EVP_MAC_CTX *mac, int encrypt) {
    const unsigned char *keys = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), skep_ticket_keys_index());
    if (keys == NULL) return -1;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)(keys + 16), 16),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (encrypt) {
        memcpy(name, keys, 16);
        if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_128_cbc())) != 1) return -1;
        if (EVP_EncryptInit_ex(cipher, EVP_aes_128_cbc(), NULL, keys + 32, iv) != 1) return -1;
        if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
        return 1;
    }
    if (memcmp(name, keys, 16) != 0) return 0;  /* another key's ticket: a full handshake */
    if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
    if (EVP_DecryptInit_ex(cipher, EVP_aes_128_cbc(), NULL, keys + 32, iv) != 1) return -1;
    return 1;
}

/* Installs the 48 bytes of an SSLSessionTicketKeyFile on `ctx`; 1 on success. */
static inline int skep_SSL_CTX_use_ticket_keys(SSL_CTX *ctx, const unsigned char *keys) {
    unsigned char *copy = OPENSSL_malloc(48);
    if (copy == NULL) return 0;
    memcpy(copy, keys, 48);
    if (SSL_CTX_set_ex_data(ctx, skep_ticket_keys_index(), copy) != 1) {
        OPENSSL_clear_free(copy, 48);
        return 0;
    }
    return (int)SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, skep_ticket_key_callback);
}

#endif
