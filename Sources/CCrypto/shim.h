#ifndef VOLUMED_CCRYPTO_SHIM_H
#define VOLUMED_CCRYPTO_SHIM_H
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/opensslv.h>
#endif
