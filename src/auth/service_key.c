#include "auth/service_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "core/secret.h"

#define SERVICE_KEY_DIGEST_LEN 32

static int digest(const char *s, size_t len, unsigned char out[SERVICE_KEY_DIGEST_LEN])
{
    unsigned int n = 0;
    return EVP_Digest(s, len, out, &n, EVP_sha256(), NULL) == 1 && n == SERVICE_KEY_DIGEST_LEN ? 0
                                                                                               : -1;
}

int service_key_matches(const char *key, const char *bearer, size_t len)
{
    if (key == NULL || key[0] == '\0' || bearer == NULL || len == 0)
        return 0;
    unsigned char a[SERVICE_KEY_DIGEST_LEN], b[SERVICE_KEY_DIGEST_LEN];
    int ok = digest(key, strlen(key), a) == 0 && digest(bearer, len, b) == 0 &&
             CRYPTO_memcmp(a, b, sizeof a) == 0;
    /* The digests identify the key: wipe them like the key itself. */
    secret_wipe(a, sizeof a);
    secret_wipe(b, sizeof b);
    return ok;
}
