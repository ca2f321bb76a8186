/* The entry point libFuzzer (or driver.c) calls: declared once, so that
 * each target's definition has its prototype (-Wmissing-prototypes). */
#ifndef AGENTOS_FUZZ_TARGET_H
#define AGENTOS_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
