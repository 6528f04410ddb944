// files: file and directory operations on the directory preopened as /data.
//
// Reads, writes, appends, truncates, preads, creates and renames files and directories, removes
// them, checks the errors of a few failing calls (printed by name), makes symbolic links (and
// checks that none leads out of /data), and lists the resulting tree sorted by name so that
// runtimes that list a directory in different orders still agree.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *errname(int e) {
  switch (e) {
  case 0: return "ok";
  case ENOENT: return "ENOENT";
  case EEXIST: return "EEXIST";
  case ENOTEMPTY: return "ENOTEMPTY";
  case ENOTDIR: return "ENOTDIR";
  case EISDIR: return "EISDIR";
  case EBADF: return "EBADF";
  case EACCES: return "EACCES";
  case EPERM: return "EPERM";
  case EINVAL: return "EINVAL";
  case ENOTCAPABLE: return "ENOTCAPABLE";
  }
  static char other[32];
  snprintf(other, sizeof other, "errno %d", e);
  return other;
}

#define CHECK(what, call)                                                                      \
  do {                                                                                         \
    errno = 0;                                                                                 \
    int r_ = (call);                                                                           \
    printf("%s: %s\n", what, r_ < 0 ? errname(errno) : "ok");                                  \
  } while (0)

static void cat(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    printf("cat %s: %s\n", path, errname(errno));
    return;
  }
  char buf[256];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  printf("cat %s (%zu bytes): %s", path, n, buf);
  if (n == 0 || buf[n - 1] != '\n') printf("\n");
}

static void put(const char *path, const char *mode, const char *text) {
  FILE *f = fopen(path, mode);
  if (!f) {
    printf("fopen %s %s: %s\n", path, mode, errname(errno));
    return;
  }
  fputs(text, f);
  fclose(f);
}

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *dir, int depth) {
  DIR *d = opendir(dir);
  if (!d) {
    printf("opendir %s: %s\n", dir, errname(errno));
    return;
  }
  char *names[256];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 256) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp);
  for (int i = 0; i < n; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    struct stat st;
    if (lstat(path, &st) != 0) {
      printf("%*s%s: stat %s\n", depth * 2, "", names[i], errname(errno));
    } else if (S_ISLNK(st.st_mode)) {
      printf("%*s%s (symlink)\n", depth * 2, "", names[i]);
    } else if (S_ISDIR(st.st_mode)) {
      printf("%*s%s/\n", depth * 2, "", names[i]);
      list(path, depth + 1);
    } else {
      printf("%*s%s (%lld bytes)\n", depth * 2, "", names[i], (long long)st.st_size);
    }
    free(names[i]);
  }
}

int main(void) {
  cat("/data/in.txt");

  // pread and lseek on a descriptor.
  int fd = open("/data/in.txt", O_RDONLY);
  char buf[16] = {0};
  ssize_t n = pread(fd, buf, 4, 6);
  printf("pread(4 @ 6) = %zd: %.*s\n", n, (int)(n > 0 ? n : 0), buf);
  printf("lseek(0, SEEK_END) = %lld\n", (long long)lseek(fd, 0, SEEK_END));
  close(fd);

  put("/data/out.txt", "w", "written by C\n");
  put("/data/out.txt", "a", "appended\n");
  cat("/data/out.txt");
  fd = open("/data/out.txt", O_WRONLY);
  CHECK("ftruncate out.txt 7", ftruncate(fd, 7));
  close(fd);
  cat("/data/out.txt");

  CHECK("mkdir newdir", mkdir("/data/newdir", 0755));
  CHECK("mkdir newdir/inner", mkdir("/data/newdir/inner", 0755));
  CHECK("mkdir newdir again", mkdir("/data/newdir", 0755));
  put("/data/newdir/inner/deep.txt", "w", "deep\n");
  CHECK("rename out.txt -> newdir/moved.txt", rename("/data/out.txt", "/data/newdir/moved.txt"));
  CHECK("rename old -> renamed", rename("/data/old", "/data/renamed"));
  CHECK("unlink doomed.txt", unlink("/data/doomed.txt"));
  CHECK("open doomed.txt", open("/data/doomed.txt", O_RDONLY));
  CHECK("open missing/x.txt", open("/data/missing/x.txt", O_RDONLY));
  CHECK("rmdir sub (not empty)", rmdir("/data/sub"));
  CHECK("unlink sub/a.txt", unlink("/data/sub/a.txt"));
  CHECK("unlink sub/b.txt", unlink("/data/sub/b.txt"));
  CHECK("rmdir sub", rmdir("/data/sub"));
  CHECK("open newdir as a file for writing", open("/data/newdir", O_WRONLY));
  CHECK("open in.txt/x (not a dir)", open("/data/in.txt/x", O_RDONLY));
  CHECK("open exclusive in.txt", open("/data/in.txt", O_WRONLY | O_CREAT | O_EXCL, 0644));

  // Symbolic links: one inside the preopen works; none may lead out of it (the errno of a
  // refusal differs between runtimes, so only the outcome is printed).
  CHECK("symlink link.txt -> in.txt", symlink("in.txt", "/data/link.txt"));
  char target[64] = {0};
  ssize_t tn = readlink("/data/link.txt", target, sizeof target - 1);
  printf("readlink link.txt = %zd %s\n", tn, tn > 0 ? target : "");
  cat("/data/link.txt");
  int made = symlink("../outside.txt", "/data/up.txt") == 0;
  fd = open("/data/up.txt", O_RDONLY);
  printf("open through a ../ link: %s\n", fd < 0 ? "refused" : "OPENED");
  if (fd >= 0) close(fd);
  if (made) unlink("/data/up.txt");
  made = symlink("/etc/passwd", "/data/abs.txt") == 0;
  fd = open("/data/abs.txt", O_RDONLY);
  printf("open through an absolute link: %s\n", fd < 0 ? "refused" : "OPENED");
  if (fd >= 0) close(fd);
  if (made) unlink("/data/abs.txt");
  fd = open("/data/../data/in.txt", O_RDONLY);
  printf("open /data/../data/in.txt: %s\n", fd < 0 ? "refused" : "OPENED");
  if (fd >= 0) close(fd);
  fd = open("/data/newdir/../../etc/passwd", O_RDONLY);
  printf("open /data/newdir/../../etc/passwd: %s\n", fd < 0 ? "refused" : "OPENED");
  if (fd >= 0) close(fd);

  struct stat st;
  CHECK("stat in.txt", stat("/data/in.txt", &st));
  printf("in.txt: regular=%d size=%lld\n", S_ISREG(st.st_mode), (long long)st.st_size);
  CHECK("stat newdir", stat("/data/newdir", &st));
  printf("newdir: dir=%d\n", S_ISDIR(st.st_mode));

  printf("tree of /data:\n");
  list("/data", 1);
  return 0;
}
