#ifndef CTOKENAUDIT_OPENSSL_SHIM_H
#define CTOKENAUDIT_OPENSSL_SHIM_H
/* EVP only: hide the deprecated RSA_*, EC_KEY_* and HMAC_CTX_* APIs. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED 1
#include <openssl/evp.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>
#include <openssl/sha.h>

/* Macros and parameter names that do not import into Swift as usable C values.
 * Parameter names come from C static storage: OSSL_PARAM_BLD keeps the pointer (see swift-on-linux.md, gotcha 1). */
static inline void ctokenaudit_free(void *p) { OPENSSL_free(p); }
static inline int ctokenaudit_bn_num_bytes(const BIGNUM *b) { return BN_num_bytes(b); }
static inline int ctokenaudit_selection_public_key(void) { return EVP_PKEY_PUBLIC_KEY; }
static inline const char *ctokenaudit_param_rsa_n(void) { return OSSL_PKEY_PARAM_RSA_N; }
static inline const char *ctokenaudit_param_rsa_e(void) { return OSSL_PKEY_PARAM_RSA_E; }
static inline const char *ctokenaudit_param_group_name(void) { return OSSL_PKEY_PARAM_GROUP_NAME; }
static inline const char *ctokenaudit_param_pub_key(void) { return OSSL_PKEY_PARAM_PUB_KEY; }
static inline int ctokenaudit_bio_pending(BIO *b) { return (int)BIO_ctrl_pending(b); }
#endif
