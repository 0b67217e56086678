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
#endif
