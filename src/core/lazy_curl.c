/* libcurl at its first call (core/lazy_lib.h), initialised as it loads:
 * an idle service, or one whose agents never run, never loads it. */
/* Our definitions of curl_easy_setopt & co. are not the type-checking
 * macros curl.h puts over them with GCC. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <stdarg.h>

#include "core/lazy_lib.h"

#define LAZY_CURL(FN, FREE, VA)                                                                    \
    FN(CURLcode, curl_global_init, (long flags), (flags), CURLE_FAILED_INIT)                       \
    FREE(curl_global_cleanup, (void), ())                                                          \
    FN(CURL *, curl_easy_init, (void), (), NULL)                                                   \
    FREE(curl_easy_cleanup, (CURL * h), (h))                                                       \
    FN(CURLcode, curl_easy_pause, (CURL * h, int mask), (h, mask), CURLE_FAILED_INIT)              \
    FN(CURLcode, curl_easy_perform, (CURL * h), (h), CURLE_FAILED_INIT)                            \
    FN(const char *, curl_easy_strerror, (CURLcode c), (c), "libcurl could not be loaded")         \
    FREE(curl_free, (void *p), (p))                                                                \
    FN(time_t, curl_getdate, (const char *s, const time_t *unused), (s, unused), -1)               \
    FN(CURLM *, curl_multi_init, (void), (), NULL)                                                 \
    FN(CURLMcode, curl_multi_cleanup, (CURLM * m), (m), CURLM_BAD_HANDLE)                          \
    FN(CURLMcode, curl_multi_add_handle, (CURLM * m, CURL * h), (m, h), CURLM_BAD_HANDLE)          \
    FN(CURLMcode, curl_multi_remove_handle, (CURLM * m, CURL * h), (m, h), CURLM_BAD_HANDLE)       \
    FN(CURLMcode, curl_multi_assign, (CURLM * m, curl_socket_t s, void *p), (m, s, p),             \
       CURLM_BAD_HANDLE)                                                                           \
    FN(CURLMsg *, curl_multi_info_read, (CURLM * m, int *left), (m, left), NULL)                   \
    FN(CURLMcode, curl_multi_socket_action, (CURLM * m, curl_socket_t s, int ev, int *running),    \
       (m, s, ev, running), CURLM_BAD_HANDLE)                                                      \
    FN(const char *, curl_multi_strerror, (CURLMcode c), (c), "libcurl could not be loaded")       \
    FN(struct curl_slist *, curl_slist_append, (struct curl_slist * l, const char *s), (l, s),     \
       NULL)                                                                                       \
    FREE(curl_slist_free_all, (struct curl_slist * l), (l))                                        \
    FN(CURLU *, curl_url, (void), (), NULL)                                                        \
    FREE(curl_url_cleanup, (CURLU * u), (u))                                                       \
    FN(CURLUcode, curl_url_get, (CURLU * u, CURLUPart what, char **part, unsigned int flags),      \
       (u, what, part, flags), CURLUE_BAD_HANDLE)                                                  \
    FN(CURLUcode, curl_url_set, (CURLU * u, CURLUPart what, const char *part, unsigned int flags), \
       (u, what, part, flags), CURLUE_BAD_HANDLE)                                                  \
    VA(curl_easy_setopt)                                                                           \
    VA(curl_easy_getinfo)                                                                          \
    VA(curl_multi_setopt)

#define LAZY_VA_ENUM(name) LAZY_I_##name,
#define LAZY_VA_NAME(name) #name,

enum { LAZY_CURL(LAZY_ENUM, LAZY_FREE_ENUM, LAZY_VA_ENUM) LAZY_N };
static const char *const lazy_names[LAZY_N] = {LAZY_CURL(LAZY_NAME, LAZY_FREE_NAME, LAZY_VA_NAME)};
static void *lazy_fn[LAZY_N];

static int curl_on_load(void)
{
    CURLcode (*init)(long) = (CURLcode(*)(long))lazy_fn[LAZY_I_curl_global_init];
    return init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static lazy_lib_t lazy_lib =
    LAZY_LIB_INIT(AGENTOS_SONAME_CURL, lazy_names, lazy_fn, LAZY_N, curl_on_load);

LAZY_CURL(LAZY_DEFINE, LAZY_FREE_DEFINE, LAZY_NONE)

int lazy_curl_loaded(void)
{
    return lazy_lib_loaded(&lazy_lib);
}

/* ---- the variadic three: the last argument passed on with its own type ---- */

typedef void (*lazy_any_fn)(void);

/* curl reads a setopt's value by the option's range (CURLOPTTYPE_*): a
 * long, an object pointer (strings, lists, blobs), a function pointer, a
 * curl_off_t. It is read here once, by that range, and passed on. */
typedef struct setopt_value {
    long l;
    void *p;
    lazy_any_fn f;
    curl_off_t o;
} setopt_value_t;

typedef enum { OPT_LONG, OPT_POINTER, OPT_FUNCTION, OPT_OFF_T } opt_kind_t;

static opt_kind_t opt_kind(int opt)
{
    if (opt < CURLOPTTYPE_OBJECTPOINT)
        return OPT_LONG;
    if (opt >= CURLOPTTYPE_FUNCTIONPOINT && opt < CURLOPTTYPE_OFF_T)
        return OPT_FUNCTION;
    if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB)
        return OPT_OFF_T;
    return OPT_POINTER; /* objects, strings, lists, blobs */
}

static void read_value(opt_kind_t kind, va_list *ap, setopt_value_t *v)
{
    switch (kind) {
    case OPT_LONG:
        // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is just above (caller)
        v->l = va_arg(*ap, long);
        break;
    case OPT_FUNCTION:
        // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is just above (caller)
        v->f = va_arg(*ap, lazy_any_fn);
        break;
    case OPT_OFF_T:
        // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is just above (caller)
        v->o = va_arg(*ap, curl_off_t);
        break;
    case OPT_POINTER:
        // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is just above (caller)
        v->p = va_arg(*ap, void *);
        break;
    }
}

/* curl_easy_setopt and curl_multi_setopt differ only in their handle,
 * option and result types: one body for both (types cannot take the
 * parentheses macro arguments usually get). */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define LAZY_SETOPT(name, handle_t, opt_t, ret_t, fail)                                            \
    ret_t name(handle_t *h, opt_t opt, ...)                                                        \
    {                                                                                              \
        if (lazy_lib_load(&lazy_lib) != 0)                                                         \
            return fail;                                                                           \
        ret_t (*f)(handle_t *, opt_t, ...) =                                                       \
            (ret_t(*)(handle_t *, opt_t, ...))lazy_fn[LAZY_I_##name];                              \
        opt_kind_t kind = opt_kind((int)opt);                                                      \
        setopt_value_t v = {0};                                                                    \
        va_list ap;                                                                                \
        va_start(ap, opt);                                                                         \
        read_value(kind, &ap, &v);                                                                 \
        va_end(ap);                                                                                \
        switch (kind) {                                                                            \
        case OPT_LONG:                                                                             \
            return f(h, opt, v.l);                                                                 \
        case OPT_FUNCTION:                                                                         \
            return f(h, opt, v.f);                                                                 \
        case OPT_OFF_T:                                                                            \
            return f(h, opt, v.o);                                                                 \
        case OPT_POINTER:                                                                          \
            break;                                                                                 \
        }                                                                                          \
        return f(h, opt, v.p);                                                                     \
    }
/* NOLINTEND(bugprone-macro-parentheses) */

LAZY_SETOPT(curl_easy_setopt, CURL, CURLoption, CURLcode, CURLE_FAILED_INIT)
LAZY_SETOPT(curl_multi_setopt, CURLM, CURLMoption, CURLMcode, CURLM_BAD_HANDLE)

/* getinfo's last argument is always a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    if (lazy_lib_load(&lazy_lib) != 0)
        return CURLE_FAILED_INIT;
    CURLcode (*f)(CURL *, CURLINFO, ...) =
        (CURLcode(*)(CURL *, CURLINFO, ...))lazy_fn[LAZY_I_curl_easy_getinfo];
    va_list ap;
    va_start(ap, info);
    // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is just above (caller)
    void *out = va_arg(ap, void *);
    va_end(ap);
    return f(h, info, out);
}
