/* Turns the error replies h2o makes itself (413 for an oversized body, 400
 * for a broken chunked body, ...) into our JSON {"detail","code"} shape. */
#ifndef AGENTOS_HTTP_ERROR_FILTER_H
#define AGENTOS_HTTP_ERROR_FILTER_H

#include <h2o.h>

void error_filter_register(h2o_pathconf_t *pathconf);

#endif
