// stdio: args, environment, stdin, stdout and stderr, and the exit code.
//
// Prints argc and every argument, the environment sorted by name, the bytes read from stdin
// (count, then the text upper-cased), one line to stderr, and exits with the code named by the
// environment variable EXIT_CODE (0 when unset) through exit(), that is proc_exit.
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv) {
  printf("argc=%d\n", argc);
  for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);

  size_t n = 0;
  while (environ[n]) n++;
  char **env = calloc(n + 1, sizeof *env);
  memcpy(env, environ, n * sizeof *env);
  qsort(env, n, sizeof *env, cmp);
  printf("environ: %zu\n", n);
  for (size_t i = 0; i < n; i++) printf("  %s\n", env[i]);
  free(env);
  const char *greeting = getenv("GREETING");
  printf("getenv(GREETING)=%s\n", greeting ? greeting : "(unset)");
  printf("getenv(MISSING)=%s\n", getenv("MISSING") ? "set" : "(unset)");

  char buf[4096];
  size_t total = 0, got;
  char *text = NULL;
  while ((got = fread(buf, 1, sizeof buf, stdin)) > 0) {
    text = realloc(text, total + got + 1);
    memcpy(text + total, buf, got);
    total += got;
  }
  printf("stdin: %zu bytes\n", total);
  for (size_t i = 0; i < total; i++) putchar(toupper((unsigned char)text[i]));
  if (total > 0 && text[total - 1] != '\n') putchar('\n');
  free(text);

  fprintf(stderr, "stderr: %d argument(s)\n", argc - 1);
  const char *code = getenv("EXIT_CODE");
  int status = code ? atoi(code) : 0;
  printf("exiting with %d\n", status);
  exit(status);
}
