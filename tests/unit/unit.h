/*
 * Helpers shared by the unit tests: a scratch directory for the files a test
 * writes, and a way to read what a call logged on stderr (configuration
 * errors must name the file and the key). Include after <cmocka.h>.
 */
#ifndef SW_TESTS_UNIT_H
#define SW_TESTS_UNIT_H

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Room for the scratch directory's path, well below PATH_MAX so that paths
 * of files in it always fit a PATH_MAX buffer. */
#define UNIT_DIR_MAX 256

/* Create a fresh directory under $TMPDIR (or /tmp) into `dir`. */
static inline int unit_tmpdir(char *dir, size_t len)
{
    const char *base = getenv("TMPDIR");
    int n = snprintf(dir, len, "%s/sw-unit-XXXXXX", base && *base ? base : "/tmp");
    if (n < 0 || (size_t)n >= len)
        return -1;
    return mkdtemp(dir) ? 0 : -1;
}

/* Remove `dir` and everything under it. */
static inline void unit_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_MAX];
    struct stat st;

    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        if (!lstat(path, &st) && S_ISDIR(st.st_mode))
            unit_rmtree(path);
        else
            unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* Write `text` to DIR/NAME and put that path into `path`. */
static inline void unit_write(const char *dir, const char *name, const char *text, char *path,
                              size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Redirects stderr into DIR/stderr.txt between start and stop. Assertions
 * must wait until stop, or their report would land in the file. */
typedef struct unit_capture {
    int saved;
    char path[PATH_MAX];
} unit_capture;

static inline void unit_capture_start(unit_capture *c, const char *dir)
{
    snprintf(c->path, sizeof c->path, "%s/stderr.txt", dir);
    fflush(stderr);
    c->saved = dup(STDERR_FILENO);
    int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(c->saved >= 0 && fd >= 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

/* Restore stderr and return what was written meanwhile in `out`. */
static inline void unit_capture_stop(unit_capture *c, char *out, size_t len)
{
    fflush(stderr);
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    FILE *f = fopen(c->path, "r");
    size_t n = f ? fread(out, 1, len - 1, f) : 0;
    out[n] = 0;
    if (f)
        fclose(f);
    unlink(c->path);
}

#endif
