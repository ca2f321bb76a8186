/* Shared libraries loaded at their first use, not by the loader at exec
 * (issue 11): libcurl, libpq and rhonabwy (with gnutls and their ~40
 * dependencies) cost an idle service about 5 MiB of RSS and 4 ms of CPU
 * at every start while most configurations never call them. Each
 * core/lazy_<lib>.c defines the functions we call under their own names
 * (so callers are unchanged and the compiler checks each one against the
 * library's header); the first call dlopens the library and resolves all
 * of them at once. */
#ifndef AGENTOS_CORE_LAZY_LIB_H
#define AGENTOS_CORE_LAZY_LIB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

typedef struct lazy_lib {
    const char *soname;       /* what dlopen is given, e.g. "libcurl.so.4" */
    const char *const *names; /* the functions resolved, nfn of them */
    void **fn;                /* their addresses, in the same order */
    size_t nfn;
    int (*on_load)(void); /* the library's global init, 0 when it worked; or NULL */
    pthread_mutex_t mu;
    atomic_int state; /* 0 not tried, 1 loaded, -1 failed (logged once) */
    void *handle;
} lazy_lib_t;

#define LAZY_LIB_INIT(soname_, names_, fn_, nfn_, on_load_)                                        \
    {                                                                                              \
        .soname = (soname_), .names = (names_), .fn = (fn_), .nfn = (nfn_), .on_load = (on_load_), \
        .mu = PTHREAD_MUTEX_INITIALIZER, .state = 0, .handle = NULL                                \
    }

/* 0 once lib is loaded (the first caller loads it, others wait), -1 when
 * it cannot be: logged the first time, and every later call fails fast. */
int lazy_lib_load(lazy_lib_t *lib);
/* 1 when loaded: a free or cleanup function of a library never loaded
 * has nothing to do. */
int lazy_lib_loaded(lazy_lib_t *lib);

/* For the tests: 1 when the libraries are loaded in this process. */
int lazy_curl_loaded(void);
int lazy_pq_loaded(void);
int lazy_rhonabwy_loaded(void);

/* The X-macro rows of core/lazy_<lib>.c. LAZY_FN: a function that returns
 * fail when the library cannot be loaded. LAZY_FREE: a free or cleanup,
 * which does nothing unless the library was loaded. */
#define LAZY_ENUM(ret, name, params, args, fail) LAZY_I_##name,
#define LAZY_FREE_ENUM(name, params, args) LAZY_I_##name,
#define LAZY_NAME(ret, name, params, args, fail) #name,
#define LAZY_FREE_NAME(name, params, args) #name,
/* dlsym's void * to a function pointer: POSIX requires it to work. ret and
 * params are a type and a parameter list, which parentheses would break. */
// NOLINTBEGIN(bugprone-macro-parentheses)
#define LAZY_DEFINE(ret, name, params, args, fail)                                                 \
    ret name params                                                                                \
    {                                                                                              \
        if (lazy_lib_load(&lazy_lib) != 0)                                                         \
            return fail;                                                                           \
        return ((ret(*) params)lazy_fn[LAZY_I_##name])args;                                        \
    }
#define LAZY_FREE_DEFINE(name, params, args)                                                       \
    void name params                                                                               \
    {                                                                                              \
        if (lazy_lib_loaded(&lazy_lib))                                                            \
            ((void(*) params)lazy_fn[LAZY_I_##name]) args;                                         \
    }
// NOLINTEND(bugprone-macro-parentheses)
#define LAZY_NONE(...)

#endif
