/* A stand-in for libFuzzer where there is no clang (gcc builds): runs
 * LLVMFuzzerTestOneInput over the files, and the files in the directories,
 * named on the command line. Each input also runs as every prefix and with
 * single bytes replaced, so that a seed corpus reaches the truncation and
 * delimiter edges without a fuzzing engine. An input that fails is written
 * to crash-driver-input in the working directory, to replay with the same
 * binary (give -exact to run files as they are, without variants). */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_target.h"

/* The sanitizers exit through their own path, not abort(): this hook,
 * when the runtime has it, saves the input then too. */
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

#define DRIVER_MAX_INPUT (64 * 1024)

static uint8_t current[DRIVER_MAX_INPUT];
static size_t current_len;

static void save_current(void)
{
    int fd = open("crash-driver-input", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    ssize_t w = write(fd, current, current_len);
    (void)w;
    close(fd);
    static const char msg[] = "fuzz driver: failing input saved to crash-driver-input\n";
    w = write(2, msg, sizeof msg - 1);
    (void)w;
}

static void on_signal(int sig)
{
    save_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Copied so that an overread past size is the sanitizer's to see. */
static void run(const uint8_t *data, size_t size)
{
    memcpy(current, data, size);
    current_len = size;
    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL)
        abort();
    memcpy(copy, data, size);
    LLVMFuzzerTestOneInput(copy, size);
    free(copy);
}

static void run_variants(const uint8_t *data, size_t size)
{
    static const uint8_t swaps[] = {0x00, 0xff, 0x80, '\r', '\n', '"', '-', ':'};
    uint8_t *v = malloc(size ? size : 1);
    if (v == NULL)
        abort();
    for (size_t n = 0; n < size; n++)
        run(data, n);
    for (size_t i = 0; i < size; i++) {
        memcpy(v, data, size);
        for (size_t k = 0; k < sizeof swaps; k++) {
            v[i] = swaps[k];
            run(v, size);
        }
    }
    free(v);
}

static int run_file(const char *path, int exact)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    static uint8_t buf[DRIVER_MAX_INPUT];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    run(buf, n);
    if (!exact)
        run_variants(buf, n);
    return 0;
}

static int run_dir(const char *path, int exact, int *count)
{
    DIR *d = opendir(path);
    if (d == NULL) {
        perror(path);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    /* One thread, one DIR: readdir is safe here, and glibc deprecates readdir_r. */
    /* cppcheck-suppress readdirCalled */
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        rc = run_file(file, exact);
        (*count)++;
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(save_current);
    signal(SIGABRT, on_signal);
    signal(SIGSEGV, on_signal);
    int exact = 0, count = 0, rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        struct stat st;
        if (strcmp(argv[i], "-exact") == 0)
            exact = 1;
        else if (argv[i][0] == '-')
            continue; /* libFuzzer flags mean nothing here */
        else if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            rc = run_dir(argv[i], exact, &count);
        else if ((rc = run_file(argv[i], exact)) == 0)
            count++;
    }
    if (rc == 0 && count == 0) {
        fprintf(stderr, "usage: %s [-exact] FILE|DIR...\n", argv[0]);
        return 2;
    }
    if (rc == 0)
        printf("fuzz driver: %d inputs and their variants passed\n", count);
    return rc == 0 ? 0 : 1;
}
