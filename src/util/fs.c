/* fs: see fs.h. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"

int
cg_fs_read(char **out, size_t *out_len, const char *path, size_t max, cg_err *err)
{
    int rc = CG_OK;
    char *data = NULL;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = cg_err_set(err, errno == ENOENT ? CG_ENOTFOUND : CG_EIO, "open(%s): %s", path,
                        strerror(errno));
        goto done;
    }
    if (fstat(fd, &st) != 0) {
        rc = cg_err_set(err, CG_EIO, "fstat(%s): %s", path, strerror(errno));
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = cg_err_set(err, CG_EINVAL, "%s: is a directory", path);
        goto done;
    }
    if ((unsigned long long)st.st_size > max) {
        rc = cg_err_set(err, CG_ETOOBIG, "%s: %lld bytes exceeds the limit of %zu bytes", path,
                        (long long)st.st_size, max);
        goto done;
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    data = cg_xmalloc(cap);
    for (;;) {
        if (len + 1 == cap) {
            if (cap - 1 >= max) {
                char probe;
                ssize_t m = read(fd, &probe, 1);
                if (m > 0) {
                    rc = cg_err_set(err, CG_ETOOBIG, "%s: exceeds the limit of %zu bytes", path, max);
                    goto done;
                }
                break;
            }
            cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            data = cg_xrealloc(data, cap);
        }
        ssize_t n = read(fd, data + len, cap - 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = cg_err_set(err, CG_EIO, "read(%s): %s", path, strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    data[len] = '\0';
    *out = data;
    *out_len = len;
    data = NULL;
done:
    free(data);
    if (fd >= 0)
        close(fd);
    return rc;
}

int
cg_fs_write_atomic(const char *path, const void *data, size_t len, cg_err *err)
{
    int rc = CG_OK;
    char *tmp = cg_xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = cg_err_set(err, CG_EIO, "open(%s): %s", tmp, strerror(errno));
        goto done;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = cg_err_set(err, CG_EIO, "write(%s): %s", tmp, strerror(errno));
            goto done;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0) {
        rc = cg_err_set(err, CG_EIO, "fsync(%s): %s", tmp, strerror(errno));
        goto done;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = cg_err_set(err, CG_EIO, "close(%s): %s", tmp, strerror(errno));
        goto done;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = cg_err_set(err, CG_EIO, "rename(%s, %s): %s", tmp, path, strerror(errno));
        goto done;
    }
done:
    if (fd >= 0)
        close(fd);
    if (rc != CG_OK)
        unlink(tmp);
    free(tmp);
    return rc;
}

int
cg_fs_mkdirs(const char *path, cg_err *err)
{
    char *p = cg_xstrdup(path);
    int rc = CG_OK;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                rc = cg_err_set(err, CG_EIO, "mkdir(%s): %s", p, strerror(errno));
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    if (rc == CG_OK && !cg_fs_is_dir(path))
        rc = cg_err_set(err, CG_EIO, "%s: not a directory", path);
    free(p);
    return rc;
}

int
cg_fs_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
cg_fs_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int
cg_fs_copy(const char *src, const char *dst, size_t max, cg_err *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = cg_fs_read(&data, &len, src, max, err);
    if (rc == CG_OK)
        rc = cg_fs_write_atomic(dst, data, len, err);
    free(data);
    return rc;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int
cg_fs_remove_tree(const char *path, cg_err *err)
{
    if (!cg_fs_is_dir(path))
        return CG_OK;
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return cg_err_set(err, CG_EIO, "remove(%s): %s", path, strerror(errno));
    return CG_OK;
}

char *
cg_fs_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    if (la > 0 && a[la - 1] == '/')
        return cg_xasprintf("%s%s", a, b);
    return cg_xasprintf("%s/%s", a, b);
}
