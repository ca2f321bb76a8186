/* CPU per HS256 verification over 10,000 distinct tokens (every one a
 * token-cache miss), on the Release library: bench/tokens.sh builds it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rhonabwy.h>

#include "auth/jwt.h"

#define BENCH_TOKENS 10000
#define BENCH_ROUNDS 5

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char **mint_all(const unsigned char *secret, size_t secret_len, time_t now)
{
    char **toks = calloc(BENCH_TOKENS, sizeof *toks);
    for (int i = 0; toks != NULL && i < BENCH_TOKENS; i++) {
        char sub[32];
        snprintf(sub, sizeof sub, "user-%d", i);
        toks[i] = jwt_mint_hs256(secret, secret_len, sub, "ws-1", "u@example.com", "U", 3600, now);
        if (toks[i] == NULL)
            exit(1);
    }
    return toks;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : BENCH_ROUNDS;
    static const unsigned char secret[] = "bench-secret-bench-secret-bench-secret!!";
    if (r_global_init() != RHN_OK)
        return 1;
    time_t now = time(NULL);
    jwt_config_t cfg = {.secret = secret,
                        .secret_len = sizeof secret - 1,
                        .algorithms = JWT_ALG_HS256,
                        .leeway_s = 30};
    jwt_verifier_t *v = jwt_verifier_new(&cfg);
    char **toks = mint_all(secret, sizeof secret - 1, now);
    if (v == NULL || toks == NULL)
        return 1;
    double t0 = cpu_now();
    long ok = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < BENCH_TOKENS; i++) {
            auth_tenant_t t;
            time_t exp;
            ok += jwt_verify(v, toks[i], strlen(toks[i]), now, &t, &exp) == JWT_OK;
        }
    }
    double dt = cpu_now() - t0;
    long n = (long)rounds * BENCH_TOKENS;
    printf("tokens: %d distinct, %ld verifications, %ld ok, %.2f us CPU per verification\n",
           BENCH_TOKENS, n, ok, dt * 1e6 / (double)n);
    for (int i = 0; i < BENCH_TOKENS; i++)
        free(toks[i]);
    free(toks);
    jwt_verifier_free(v);
    r_global_close();
    return ok == n ? 0 : 1;
}
