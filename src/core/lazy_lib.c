/* dlopen at first use: see lazy_lib.h. A library is never unloaded: its
 * objects (curl handles, PostgreSQL connections, keys) may live until exit. */
#include "core/lazy_lib.h"

#include <dlfcn.h>

#include "core/log.h"

static int load_locked(lazy_lib_t *lib)
{
    /* RTLD_LOCAL: rhonabwy's own libcurl (the GnuTLS one) and ours never
     * see each other's symbols. */
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *why = dlerror();
        log_msg(LOG_LEVEL_ERROR, "%s could not be loaded: %s", lib->soname, why ? why : "?");
        return -1;
    }
    for (size_t i = 0; i < lib->nfn; i++) {
        dlerror();
        lib->fn[i] = dlsym(h, lib->names[i]);
        if (lib->fn[i] == NULL) {
            log_msg(LOG_LEVEL_ERROR, "%s has no %s", lib->soname, lib->names[i]);
            dlclose(h);
            return -1;
        }
    }
    lib->handle = h;
    if (lib->on_load != NULL && lib->on_load() != 0) {
        log_msg(LOG_LEVEL_ERROR, "%s could not be initialised", lib->soname);
        return -1; /* its functions are resolved but unusable: left loaded */
    }
    return 0;
}

int lazy_lib_load(lazy_lib_t *lib)
{
    int st = atomic_load_explicit(&lib->state, memory_order_acquire);
    if (st != 0)
        return st > 0 ? 0 : -1;
    pthread_mutex_lock(&lib->mu);
    st = atomic_load_explicit(&lib->state, memory_order_relaxed);
    if (st == 0) {
        st = load_locked(lib) == 0 ? 1 : -1;
        /* release: lib->fn is written before any thread sees "loaded" */
        atomic_store_explicit(&lib->state, st, memory_order_release);
    }
    pthread_mutex_unlock(&lib->mu);
    return st > 0 ? 0 : -1;
}

int lazy_lib_loaded(lazy_lib_t *lib)
{
    return atomic_load_explicit(&lib->state, memory_order_acquire) > 0;
}
